"""Typical uses of the standard sqlite3 module, run unchanged with ``import limbodb as sqlite3``.

Every pattern runs twice, once with the real ``sqlite3`` and once with
``limbodb`` (the ``sqlite3`` fixture), and checks the same results, so the
expectations are proven against the real module too. Files written by one are
read by the other.
"""

import datetime
import sqlite3 as stdlib_sqlite3

import pytest

import limbodb


@pytest.fixture(params=["sqlite3", "limbodb"])
def sqlite3(request):
    return stdlib_sqlite3 if request.param == "sqlite3" else limbodb


@pytest.fixture
def conn(sqlite3):
    c = sqlite3.connect(":memory:")
    yield c
    c.close()


def test_module_globals(sqlite3):
    assert sqlite3.apilevel == "2.0"
    assert sqlite3.paramstyle == "qmark"
    assert sqlite3.threadsafety in (1, 3)
    assert sqlite3.sqlite_version_info >= (3, 35, 0)
    assert sqlite3.sqlite_version == ".".join(map(str, sqlite3.sqlite_version_info))
    assert issubclass(sqlite3.IntegrityError, sqlite3.DatabaseError)
    assert issubclass(sqlite3.DatabaseError, sqlite3.Error)
    assert sqlite3.PARSE_DECLTYPES == 1 and sqlite3.PARSE_COLNAMES == 2


def test_create_insert_select_with_context_manager(conn):
    with conn:
        conn.execute("CREATE TABLE stocks(date TEXT, trans TEXT, symbol TEXT, qty REAL, price REAL)")
        conn.execute("INSERT INTO stocks VALUES ('2006-01-05', 'BUY', 'RHAT', 100, 35.14)")
    assert not conn.in_transaction
    rows = conn.execute("SELECT * FROM stocks ORDER BY price").fetchall()
    assert rows == [("2006-01-05", "BUY", "RHAT", 100.0, 35.14)]


def test_context_manager_rolls_back_on_exception(conn):
    conn.execute("CREATE TABLE t(a)")
    with pytest.raises(ZeroDivisionError):
        with conn:
            conn.execute("INSERT INTO t VALUES (1)")
            assert conn.in_transaction
            1 / 0
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_executemany_with_list_and_generator(conn):
    conn.execute("CREATE TABLE t(a INTEGER, b TEXT)")
    cur = conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, "a"), (2, "b")])
    assert cur.rowcount == 2
    cur = conn.executemany("INSERT INTO t VALUES (?, ?)", ((i, str(i)) for i in range(3, 6)))
    assert cur.rowcount == 3
    cur = conn.executemany("UPDATE t SET b = upper(b) WHERE a = :a", [{"a": 1}, {"a": 2}, {"a": 99}])
    assert cur.rowcount == 2
    assert conn.execute("SELECT group_concat(b, ',') FROM (SELECT b FROM t ORDER BY a)").fetchone() == ("A,B,3,4,5",)


def test_executemany_rejects_select(conn, sqlite3):
    with pytest.raises(sqlite3.ProgrammingError, match="executemany\\(\\) can only execute DML statements."):
        conn.executemany("SELECT ?", [(1,)])


def test_named_and_numbered_parameters(conn):
    assert conn.execute("SELECT :a, :b, :a", {"a": 1, "b": "x"}).fetchone() == (1, "x", 1)
    assert conn.execute("SELECT ?2, ?1", ("one", "two")).fetchone() == ("two", "one")


def test_row_factory_row(conn, sqlite3):
    conn.row_factory = sqlite3.Row
    conn.execute("CREATE TABLE t(Name TEXT, age INTEGER)")
    conn.execute("INSERT INTO t VALUES ('ann', 31)")
    row = conn.execute("SELECT name, age FROM t").fetchone()
    assert isinstance(row, sqlite3.Row)
    assert row.keys() == ["Name", "age"]  # a plain column reference is named as the table declares it
    assert row["name"] == row["NAME"] == row[0] == "ann"
    assert row[-1] == 31 and row[0:2] == ("ann", 31)
    assert len(row) == 2 and list(row) == ["ann", 31] and tuple(row) == ("ann", 31)
    assert dict(zip(row.keys(), row)) == {"Name": "ann", "age": 31}
    assert row == conn.execute("SELECT name, age FROM t").fetchone()
    with pytest.raises(IndexError):
        row["missing"]


def test_custom_row_factory(conn):
    def dict_factory(cursor, row):
        return {col[0]: row[i] for i, col in enumerate(cursor.description)}
    conn.row_factory = dict_factory
    assert conn.execute("SELECT 1 AS a, 'x' AS b").fetchone() == {"a": 1, "b": "x"}


def test_fetch_methods_and_iteration(conn):
    conn.execute("CREATE TABLE t(a)")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(7)])
    cur = conn.execute("SELECT a FROM t ORDER BY a")
    assert cur.fetchone() == (0,)
    assert cur.fetchmany(2) == [(1,), (2,)]
    cur.arraysize = 3
    assert cur.fetchmany() == [(3,), (4,), (5,)]
    assert cur.fetchall() == [(6,)]
    assert cur.fetchone() is None and cur.fetchall() == []
    assert [a for (a,) in conn.execute("SELECT a FROM t WHERE a > 4 ORDER BY a")] == [5, 6]


def test_description_rowcount_lastrowid(conn):
    cur = conn.cursor()
    assert cur.description is None and cur.rowcount == -1 and cur.lastrowid is None
    cur.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v)")
    assert cur.description is None and cur.rowcount == -1
    cur.execute("INSERT INTO t(v) VALUES ('a')")
    assert cur.lastrowid == 1 and cur.rowcount == 1 and cur.description is None
    cur.execute("INSERT INTO t(v) VALUES ('b'), ('c')")
    assert cur.lastrowid == 3 and cur.rowcount == 2
    cur.execute("UPDATE t SET v = v || v")
    assert cur.rowcount == 3
    cur.execute("DELETE FROM t WHERE id > 1")
    assert cur.rowcount == 2
    cur.execute("SELECT id, v AS value FROM t")
    assert cur.rowcount == -1
    assert cur.description == (("id", None, None, None, None, None, None),
                               ("value", None, None, None, None, None, None))
    assert cur.connection is conn


def test_isolation_level_none_is_autocommit(sqlite3, tmp_path):
    path = str(tmp_path / "t.db")
    a = sqlite3.connect(path, isolation_level=None)
    a.execute("CREATE TABLE t(x)")
    a.execute("INSERT INTO t VALUES (1)")
    assert not a.in_transaction
    b = sqlite3.connect(path)
    assert b.execute("SELECT x FROM t").fetchall() == [(1,)]
    b.close()
    a.close()


def test_legacy_implicit_begin_and_commit(sqlite3, tmp_path):
    path = str(tmp_path / "t.db")
    a = sqlite3.connect(path)
    a.execute("CREATE TABLE t(x)")
    assert not a.in_transaction
    a.execute("INSERT INTO t VALUES (1)")
    assert a.in_transaction
    a.execute("SELECT * FROM t").fetchall()
    assert a.in_transaction
    a.commit()
    assert not a.in_transaction
    a.execute("INSERT INTO t VALUES (2)")
    a.rollback()
    assert a.execute("SELECT x FROM t").fetchall() == [(1,)]
    a.close()


def test_explicit_transactions_with_isolation_none(conn):
    conn.isolation_level = None
    conn.execute("CREATE TABLE t(x)")
    conn.execute("BEGIN")
    assert conn.in_transaction
    conn.execute("INSERT INTO t VALUES (1)")
    conn.execute("ROLLBACK")
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_isolation_level_values(conn):
    assert conn.isolation_level == ""
    conn.isolation_level = "IMMEDIATE"
    assert conn.isolation_level == "IMMEDIATE"
    with pytest.raises(ValueError):
        conn.isolation_level = "SOMETIMES"
    conn.isolation_level = None
    assert conn.isolation_level is None


def test_user_functions_aggregates_collations(conn, sqlite3):
    conn.create_function("double", 1, lambda x: x * 2, deterministic=True)

    class Product:
        def __init__(self):
            self.p = 1

        def step(self, v):
            self.p *= v

        def finalize(self):
            return self.p

    conn.create_aggregate("product", 1, Product)
    conn.create_collation("reverse", lambda a, b: (a < b) - (a > b))
    conn.execute("CREATE TABLE t(x)")
    conn.executemany("INSERT INTO t VALUES (?)", [("a",), ("c",), ("b",)])
    assert conn.execute("SELECT double(21), double('ab')").fetchone() == (42, "abab")
    assert conn.execute("SELECT product(v) FROM (SELECT 2 AS v UNION ALL SELECT 3 UNION ALL SELECT 7)").fetchone() \
        == (42,)
    assert conn.execute("SELECT x FROM t ORDER BY x COLLATE reverse").fetchall() == [("c",), ("b",), ("a",)]

    def boom(x):
        raise ValueError("no")
    conn.create_function("boom", 1, boom)
    with pytest.raises(sqlite3.OperationalError, match="user-defined function raised exception"):
        conn.execute("SELECT boom(1)").fetchall()


def test_error_classes_and_messages(conn, sqlite3):
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, u TEXT UNIQUE NOT NULL)")
    conn.execute("INSERT INTO t VALUES (1, 'a')")
    with pytest.raises(sqlite3.IntegrityError, match="^UNIQUE constraint failed: t.u$"):
        conn.execute("INSERT INTO t VALUES (2, 'a')")
    with pytest.raises(sqlite3.IntegrityError, match="^NOT NULL constraint failed: t.u$"):
        conn.execute("INSERT INTO t VALUES (3, NULL)")
    with pytest.raises(sqlite3.OperationalError, match="^no such table: nope$"):
        conn.execute("SELECT * FROM nope")
    with pytest.raises(sqlite3.OperationalError, match='^near "SELEC": syntax error$'):
        conn.execute("SELEC 1")
    with pytest.raises(sqlite3.ProgrammingError, match="one statement at a time"):
        conn.execute("SELECT 1; SELECT 2")
    try:
        conn.execute("INSERT INTO t VALUES (1, 'z')")
    except sqlite3.IntegrityError as e:
        assert e.sqlite_errorname == "SQLITE_CONSTRAINT_PRIMARYKEY"
        assert e.sqlite_errorcode == 1555


def test_closed_cursor_and_connection(sqlite3):
    c = sqlite3.connect(":memory:")
    cur = c.cursor()
    cur.close()
    with pytest.raises(sqlite3.ProgrammingError, match="Cannot operate on a closed cursor."):
        cur.execute("SELECT 1")
    c.close()
    with pytest.raises(sqlite3.ProgrammingError, match="Cannot operate on a closed database."):
        c.execute("SELECT 1")
    c.close()


def test_executescript(conn):
    conn.executescript("""
        CREATE TABLE t(a, b);  -- a comment
        INSERT INTO t VALUES (1, 'x');
        /* another */ INSERT INTO t VALUES (2, 'y;z');
    """)
    assert conn.execute("SELECT b FROM t ORDER BY a").fetchall() == [("x",), ("y;z",)]


def test_detect_types_with_default_converters(sqlite3):
    c = sqlite3.connect(":memory:", detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES)
    c.execute("CREATE TABLE t(d date, ts timestamp)")
    today = datetime.date(2024, 2, 29)
    now = datetime.datetime(2024, 2, 29, 13, 45, 7, 125000)
    c.execute("INSERT INTO t VALUES (?, ?)", (today, now))
    assert c.execute("SELECT d, ts FROM t").fetchone() == (today, now)
    row = c.execute('SELECT d AS "d [date]", ts AS "t [timestamp]", \'2020-01-02\' AS "x [date]" FROM t').fetchone()
    assert row == (today, now, datetime.date(2020, 1, 2))
    c.close()


def test_register_adapter_and_converter(sqlite3):
    class Point:
        def __init__(self, x, y):
            self.x, self.y = x, y

    sqlite3.register_adapter(Point, lambda p: f"{p.x};{p.y}")
    sqlite3.register_converter("point", lambda b: Point(*map(float, b.split(b";"))))
    c = sqlite3.connect(":memory:", detect_types=sqlite3.PARSE_DECLTYPES)
    c.execute("CREATE TABLE t(p point)")
    c.execute("INSERT INTO t VALUES (?)", (Point(4.0, -3.2),))
    p = c.execute("SELECT p FROM t").fetchone()[0]
    assert (p.x, p.y) == (4.0, -3.2)
    assert c.execute("SELECT typeof(p) FROM t").fetchone() == ("text",)
    c.close()


def test_text_factory(conn):
    conn.text_factory = bytes
    assert conn.execute("SELECT 'héllo', 1").fetchone() == ("héllo".encode(), 1)
    conn.text_factory = lambda b: b.decode().upper()
    assert conn.execute("SELECT 'abc'").fetchone() == ("ABC",)


def test_blobs_round_trip(conn, sqlite3):
    conn.execute("CREATE TABLE t(b BLOB)")
    for value in (b"\x00\x01", bytearray(b"ab"), memoryview(b"xyz"), sqlite3.Binary(b"\xff")):
        conn.execute("INSERT INTO t VALUES (?)", (value,))
    assert [r[0] for r in conn.execute("SELECT b FROM t")] == [b"\x00\x01", b"ab", b"xyz", b"\xff"]


def test_total_changes_and_complete_statement(conn, sqlite3):
    conn.execute("CREATE TABLE t(a)")
    conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
    conn.execute("DELETE FROM t WHERE a < 3")
    assert conn.total_changes == 5
    assert sqlite3.complete_statement("SELECT 1;")
    assert not sqlite3.complete_statement("SELECT 'a;")


def test_iterdump_matches(sqlite3):
    c = sqlite3.connect(":memory:")
    c.executescript("""
        CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL, b BLOB);
        INSERT INTO t VALUES (1, 'it''s', 1.5, x'00ff'), (2, NULL, -2.0, NULL);
        CREATE INDEX i ON t(name);
        CREATE VIEW w AS SELECT name FROM t;
    """)
    c.commit()
    assert list(c.iterdump()) == [
        "BEGIN TRANSACTION;",
        "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL, b BLOB);",
        "INSERT INTO \"t\" VALUES(1,'it''s',1.5,X'00FF');",
        "INSERT INTO \"t\" VALUES(2,NULL,-2.0,NULL);",
        "CREATE INDEX i ON t(name);",
        "CREATE VIEW w AS SELECT name FROM t;",
        "COMMIT;",
    ]
    c.close()


@pytest.mark.parametrize("writer,reader", [("limbodb", "sqlite3"), ("sqlite3", "limbodb")])
def test_files_are_interchangeable(tmp_path, writer, reader):
    mods = {"sqlite3": stdlib_sqlite3, "limbodb": limbodb}
    path = str(tmp_path / "x.db")
    w = mods[writer].connect(path)
    w.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT UNIQUE, r REAL)")
    w.executemany("INSERT INTO t(s, r) VALUES (?, ?)", [(f"row{i}" * 20, i / 4) for i in range(500)])
    w.commit()
    w.close()
    r = mods[reader].connect(path)
    assert r.execute("SELECT count(*), sum(r), max(s) FROM t").fetchone() == (500, sum(i / 4 for i in range(500)),
                                                                               "row9" * 20)
    assert r.execute("SELECT id FROM t WHERE s = ?", ("row42" * 20,)).fetchone() == (43,)
    if reader == "sqlite3":
        assert r.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    r.close()


def test_autocommit_attribute_pep249_mode():
    # Python 3.12's Connection.autocommit; the stdlib module here (3.11) predates it.
    c = limbodb.connect(":memory:", autocommit=False)
    assert c.autocommit is False and c.in_transaction
    c.execute("CREATE TABLE t(x)")
    c.execute("INSERT INTO t VALUES (1)")
    c.rollback()
    assert c.in_transaction
    assert c.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    c.autocommit = True
    assert not c.in_transaction
    c.execute("CREATE TABLE t(x)")
    c.commit()  # a no-op in autocommit mode
    assert c.autocommit is True
    with pytest.raises(ValueError):
        c.autocommit = "yes"
    assert limbodb.connect(":memory:").autocommit == limbodb.LEGACY_TRANSACTION_CONTROL
