"""limbodb.schema against sqlite3: rowid aliases, autoindexes, affinity, collations, CHECK labels, errors."""

import sqlite3

import pytest

from limbodb.errors import CorruptError, OperationalError
from limbodb.parser import parse_one
from limbodb.schema import HIDDEN_STORED, HIDDEN_VIRTUAL, Schema, build_table
from limbodb.vdbe.value import affinity_of_type

TABLES = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b)",
    "CREATE TABLE t1(a integer primary key desc, b)",
    "CREATE TABLE t1(a INTEGER, b, PRIMARY KEY(a DESC))",
    "CREATE TABLE t1(a INT PRIMARY KEY, b)",
    "CREATE TABLE t1(a INTEGER(8) PRIMARY KEY, b)",
    "CREATE TABLE t1(a UNIQUE, b UNIQUE, UNIQUE(a), UNIQUE(b, a), PRIMARY KEY(a, b))",
    "CREATE TABLE t1(a TEXT PRIMARY KEY COLLATE NOCASE, b UNIQUE, UNIQUE(b COLLATE NOCASE))",
    "CREATE TABLE t1(a INTEGER PRIMARY KEY UNIQUE, b)",
    "CREATE TABLE t1(a TEXT PRIMARY KEY, b UNIQUE) WITHOUT ROWID",
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b UNIQUE) WITHOUT ROWID",
    "CREATE TABLE t1(a, b UNIQUE, PRIMARY KEY(b, a)) WITHOUT ROWID",
    'CREATE TABLE "odd name"("a b" TEXT, [c] INT, `d`, PRIMARY KEY("a b"))',
    "CREATE TABLE t1(a, b, PRIMARY KEY(a, a), UNIQUE('b'))",
]


def _sqlite_facts(sql):
    """(rowid alias column or None, {index name: (origin, [column names])}) as sqlite3 sees them."""
    db = sqlite3.connect(":memory:")
    db.execute(sql)
    (name,) = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchone()
    q = '"' + name.replace('"', '""') + '"'
    info = db.execute(f"PRAGMA table_info({q})").fetchall()
    (without_rowid,) = db.execute("SELECT wr FROM pragma_table_list WHERE name = ?", (name,)).fetchone()
    alias = None
    pk = [r for r in info if r[5]]
    if len(pk) == 1 and not without_rowid:
        # An alias makes the inserted key the rowid; otherwise the rowid is 1.
        values = ", ".join("5" if r[5] else "NULL" for r in info)
        db.execute(f"INSERT INTO {q} VALUES ({values})")
        if db.execute(f"SELECT rowid FROM {q}").fetchone()[0] == 5:
            alias = pk[0][1]
    indexes = {}
    for _seq, iname, _unique, origin, _partial in db.execute(f"PRAGMA index_list({q})"):
        cols = [r[2] for r in db.execute(f'PRAGMA index_info("{iname}")')]
        indexes[iname] = (origin, cols)
    return alias, indexes


def _build(sql, root=2):
    stmt, _ = parse_one(sql, 0)
    return build_table(stmt, root)


@pytest.mark.parametrize("sql", TABLES)
def test_rowid_alias_and_autoindexes_match_sqlite(sql):
    alias, indexes = _sqlite_facts(sql)
    t = _build(sql)
    assert (t.columns[t.rowid_alias].name if t.rowid_alias is not None else None) == alias
    mine = {i.name: (i.origin, [t.columns[c.col].name for c in i.columns]) for i in t.indexes}
    assert mine == indexes


def test_without_rowid_primary_key_index_uses_table_root():
    t = _build("CREATE TABLE t1(a TEXT PRIMARY KEY, b UNIQUE) WITHOUT ROWID", root=7)
    pk = [i for i in t.indexes if i.origin == "pk"]
    assert [i.root for i in pk] == [7]
    assert t.without_rowid and t.rowid_alias is None


def test_column_affinity_collation_default_and_notnull():
    t = _build("CREATE TABLE t1(a VARCHAR(10) NOT NULL, b DOUBLE DEFAULT -1.5, c COLLATE nocase, "
               "d BLOB DEFAULT (1 + 2), e)")
    a, b, c, d, e = t.columns
    assert [x.affinity for x in t.columns] == [affinity_of_type(x) for x in ("VARCHAR(10)", "DOUBLE", "", "BLOB", "")]
    assert a.notnull and not b.notnull
    assert b.default_text == "-1.5" and b.default is not None
    assert d.default_text == "1 + 2"
    assert c.collation.upper() == "NOCASE"
    assert e.default is None and e.decl_type == ""
    assert t.column_index("C") == 2 and t.column_index("zz") == -1


def test_check_labels_are_names_or_expression_text():
    t = _build("CREATE TABLE t1(a CHECK( a > 0 ), b CONSTRAINT bpos CHECK(b>0), "
               "c CHECK (c IN ('x(', ')')))")
    assert t.check_names == ["a > 0", "bpos", "c IN ('x(', ')')"]
    assert len(t.checks) == 3
    db = sqlite3.connect(":memory:")
    db.execute(t.sql)
    with pytest.raises(sqlite3.IntegrityError, match=r"CHECK constraint failed: c IN \('x\(', '\)'\)"):
        db.execute("INSERT INTO t1 VALUES (1, 1, 'y')")


def test_generated_columns_are_hidden():
    t = _build("CREATE TABLE t1(a, b AS (a * 2), c GENERATED ALWAYS AS (a + 1) STORED)")
    assert [c.hidden for c in t.columns] == [0, HIDDEN_VIRTUAL, HIDDEN_STORED]


@pytest.mark.parametrize("sql", [
    "CREATE TABLE t1(a, a)",
    "CREATE TABLE t1(a, UNIQUE(x))",
    "CREATE TABLE t1(a, PRIMARY KEY(x))",
    "CREATE TABLE t1(a INTEGER PRIMARY KEY AUTOINCREMENT, b PRIMARY KEY)",
    "CREATE TABLE t1(a INT PRIMARY KEY AUTOINCREMENT)",
    "CREATE TABLE t1(a) WITHOUT ROWID",
    "CREATE TABLE t1(a INTEGER PRIMARY KEY AUTOINCREMENT) WITHOUT ROWID",
    "CREATE TABLE t1(a foo) STRICT",
    "CREATE TABLE t1(a) STRICT",
    "CREATE TABLE t1(a, UNIQUE(a + 1))",
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b, FOREIGN KEY(zz) REFERENCES t2(a))",
])
def test_invalid_definitions_raise_sqlite_messages(sql):
    with pytest.raises(sqlite3.OperationalError) as expected:
        sqlite3.connect(":memory:").execute(sql)
    with pytest.raises(OperationalError) as got:
        _build(sql)
    assert str(got.value) == str(expected.value)


def test_schema_from_sqlite_master_rows():
    db = sqlite3.connect(":memory:")
    db.executescript("""
        CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT UNIQUE, c);
        CREATE INDEX i1 ON t1(c DESC, b COLLATE NOCASE);
        CREATE UNIQUE INDEX i2 ON t1(lower(b)) WHERE c > 0;
        CREATE TABLE t2(x, y, PRIMARY KEY(x, y)) WITHOUT ROWID;
        CREATE VIEW v1(n) AS SELECT b FROM t1;
        CREATE TRIGGER tr1 AFTER INSERT ON t1 BEGIN SELECT 1; END;
    """)
    rows = db.execute("SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master").fetchall()
    roots = {r[1]: r[3] for r in rows}
    schema = Schema.from_rows(rows, cookie=6)
    assert schema.cookie == 6
    assert sorted(schema.tables) == ["t1", "t2"]
    t1 = schema.table("T1")
    assert t1.root == roots["t1"] and t1.rowid_alias == 0
    by_name = {i.name: i for i in t1.indexes}
    assert set(by_name) == {"sqlite_autoindex_t1_1", "i1", "i2"}
    assert all(i.root == roots[n] for n, i in by_name.items())
    i1 = by_name["i1"]
    assert [(c.col, c.desc, c.collation.upper()) for c in i1.columns] == [(2, True, "BINARY"), (1, False, "NOCASE")]
    assert i1.key_info().desc == [True, False, False]
    i2 = by_name["i2"]
    assert i2.unique and i2.where is not None and i2.columns[0].col == -1 and i2.columns[0].expr is not None
    assert by_name["sqlite_autoindex_t1_1"].sql is None and i1.sql.startswith("CREATE INDEX")
    t2 = schema.table("t2")
    assert [i.root for i in t2.indexes] == [roots["t2"]]
    assert schema.views["v1"].columns == ["n"]
    assert schema.triggers["tr1"].table == "t1" and schema.triggers["tr1"].event == "INSERT"
    assert schema.indexes.keys() == {"sqlite_autoindex_t1_1", "i1", "i2", "sqlite_autoindex_t2_1"}


def test_sqlite_schema_table_is_built_in():
    schema = Schema()
    for name in ("sqlite_schema", "sqlite_master", "SQLITE_MASTER"):
        t = schema.table(name)
        assert t.root == 1 and [c.name for c in t.columns] == ["type", "name", "tbl_name", "rootpage", "sql"]


def test_missing_table_message():
    with pytest.raises(OperationalError, match="^no such table: nope$"):
        Schema().table("nope")


def test_orphan_autoindex_row_is_corruption():
    rows = [("table", "t1", "t1", 2, "CREATE TABLE t1(a UNIQUE)")]
    with pytest.raises(CorruptError):
        Schema.from_rows(rows)


@pytest.mark.parametrize("rows", [
    [("table", "t1", "t1", 2, "CREATE TABLE t1(a, a)")],
    [("table", "t1", "t1", 2, "CREATE TABLE t1(a")],
    [("index", "i1", "nope", 3, "CREATE INDEX i1 ON nope(a)")],
])
def test_invalid_schema_entries_are_corruption(rows):
    with pytest.raises(CorruptError, match=r"^malformed database schema \("):
        Schema.from_rows(rows)
