"""Generated columns and ``x IN table``: rows, types, errors and files the same as sqlite3's."""

import sqlite3

import pytest

import limbodb


def _run(mod, path, script):
    c = mod.connect(str(path), isolation_level=None)
    out = []
    for s in script:
        try:
            rows = c.execute(s).fetchall()
            out.append((s, [tuple((v, type(v).__name__) for v in r) for r in rows]))
        except mod.Error as e:
            out.append((s, type(e).__name__, str(e)))
    out.append(c.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema").fetchall())
    c.close()
    return out


def _same(tmp_path, script):
    mine = _run(limbodb, tmp_path / "l.db", script)
    theirs = _run(sqlite3, tmp_path / "s.db", script)
    assert mine == theirs
    check = sqlite3.connect(tmp_path / "l.db")
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()
    return mine


BASIC = [
    "CREATE TABLE t1(a INTEGER, b AS (typeof(a) || a), c AS (a * 2) STORED, d TEXT)",
    "INSERT INTO t1 VALUES(1, 'x')",
    "INSERT INTO t1 VALUES('3', 'y')",
    "INSERT INTO t1(d, a) VALUES('z', 4.0)",
    "INSERT INTO t1(d) VALUES('n')",
    "SELECT * FROM t1",
    "SELECT b, c, typeof(c) FROM t1 WHERE c > 2 ORDER BY b",
    "SELECT a FROM t1 WHERE b = 'integer3'",
    "SELECT t1.*, rowid FROM t1",
    "PRAGMA table_xinfo(t1)",
    "PRAGMA table_info(t1)",
    "INSERT INTO t1(a, b) VALUES(1, 2)",
    "INSERT INTO t1(a, c) VALUES(1, 2)",
    "INSERT INTO t1 VALUES(1, 2, 3, 4)",
    "UPDATE t1 SET b = 1",
    "UPDATE t1 SET c = 1",
    "UPDATE t1 SET a = a + 10 WHERE d = 'x'",
    "SELECT * FROM t1",
    "INSERT INTO t1 VALUES(7, 'r') RETURNING *",
    "UPDATE t1 SET a = 8 WHERE a = 7 RETURNING b, c",
    "DELETE FROM t1 WHERE c = 16 RETURNING *",
    "SELECT count(*) FROM t1",
]


def test_virtual_and_stored_columns_read_and_write_like_sqlite(tmp_path):
    _same(tmp_path, BASIC)


INDEXES = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b, c AS (b || '-' || a), d AS (length(b)) STORED)",
    "INSERT INTO t1(b) VALUES('x'), ('yy'), ('zzz'), ('yy')",
    "CREATE INDEX t1c ON t1(c)",
    "CREATE INDEX t1d ON t1(d)",
    "CREATE UNIQUE INDEX t1cd ON t1(c, d)",
    "INSERT INTO t1(b) VALUES('w'), (NULL)",
    "SELECT a, c FROM t1 WHERE c = 'yy-2'",
    "SELECT c FROM t1 WHERE c > 'x' ORDER BY c",
    "SELECT a FROM t1 WHERE d = 2 ORDER BY a",
    "UPDATE t1 SET b = 'long' WHERE a = 2",
    "SELECT * FROM t1 WHERE d = 4",
    "SELECT a, c FROM t1 WHERE c = 'long-2'",
    "UPDATE t1 SET a = 20 WHERE a = 3",
    "SELECT * FROM t1 ORDER BY a",
    "DELETE FROM t1 WHERE c = 'x-1'",
    "REPLACE INTO t1(a, b) VALUES(4, 'r')",
    "SELECT * FROM t1 ORDER BY a",
    "PRAGMA integrity_check",
]


def test_indexes_on_generated_columns_are_kept_in_step(tmp_path):
    _same(tmp_path, INDEXES)


CONSTRAINTS = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b AS (a * 10) NOT NULL, c AS (b + 1) CHECK (c < 100))",
    "INSERT INTO t1 VALUES(5)",
    "INSERT INTO t1 VALUES(NULL)",
    "INSERT INTO t1 VALUES(50)",
    "INSERT OR IGNORE INTO t1 VALUES(60)",
    "SELECT rowid, * FROM t1",
    "UPDATE t1 SET a = 40 WHERE a = 5",
    "CREATE TABLE t2(a, b AS (a) NOT NULL)",
    "INSERT INTO t2 VALUES(NULL)",
    "CREATE TABLE t3(a, b AS (c), c AS (b))",
    "SELECT a FROM t3",
    "SELECT b FROM t3",
    "SELECT c FROM t3",
    "INSERT INTO t3 VALUES(1)",
    "CREATE TABLE t4(a, b, c AS (a + b) UNIQUE)",
    "INSERT INTO t4 VALUES(1, 2), (2, 2)",
    "INSERT INTO t4 VALUES(2, 1)",
    "INSERT INTO t4 VALUES(3, 1) ON CONFLICT(c) DO UPDATE SET b = excluded.b + 10",
    "INSERT INTO t4 VALUES(3, 1) ON CONFLICT DO UPDATE SET c = 1",
    "SELECT * FROM t4 ORDER BY a",
]


def test_constraints_on_generated_columns_and_loops(tmp_path):
    _same(tmp_path, CONSTRAINTS)


CREATE_ERRORS = [
    "CREATE TABLE t1(a AS (b), b AS (a))",
    "CREATE TABLE t1(a, b AS (a) DEFAULT 5)",
    "CREATE TABLE t1(a, b AS (rowid))",
    "CREATE TABLE t1(a, b AS (a) PRIMARY KEY)",
    "CREATE TABLE t1(a, b AS (a), PRIMARY KEY(b))",
    "CREATE TABLE t1(a, b AS (max(a)))",
    "CREATE TABLE t1(a, b AS (c))",
    "CREATE TABLE t1(a, b AS ((SELECT 1)))",
    "CREATE TABLE t1(a, b AS (random()))",
    "CREATE TABLE t1(a DEFAULT (b), b)",
    "CREATE TABLE t1(a DEFAULT (random()), b AS (abs(a)) STORED)",
]


def test_create_table_rejects_what_sqlite_rejects(tmp_path):
    _same(tmp_path, CREATE_ERRORS)


WITHOUT_ROWID = [
    "CREATE TABLE t1(a PRIMARY KEY, b AS (a || 'x'), c AS (a + 1) STORED, d) WITHOUT ROWID",
    "INSERT INTO t1 VALUES('k', 5), (3, 5)",
    "SELECT * FROM t1",
    "CREATE INDEX t1b ON t1(b)",
    "CREATE INDEX t1c ON t1(c, d)",
    "SELECT a FROM t1 WHERE b = 'kx'",
    "UPDATE t1 SET d = 7 WHERE a = 3",
    "UPDATE t1 SET a = 4 WHERE a = 3",
    "SELECT * FROM t1",
    "DELETE FROM t1 WHERE b = 'kx'",
    "SELECT * FROM t1",
]


def test_generated_columns_of_without_rowid_tables(tmp_path):
    _same(tmp_path, WITHOUT_ROWID)


def test_files_with_generated_columns_interoperate_with_sqlite3(tmp_path):
    schema = ("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT, c AS (upper(b)), d INT AS (a * 3) STORED, "
              "e AS (d + 1), f)")
    rows = [(1, "ab", "x"), (2, None, 2.5), (3, "é", None)]
    mine = tmp_path / "l.db"
    c = limbodb.connect(str(mine))
    c.execute(schema)
    c.executemany("INSERT INTO t1(a, b, f) VALUES(?, ?, ?)", rows)
    c.commit()
    c.close()
    theirs = tmp_path / "s.db"
    s = sqlite3.connect(theirs)
    s.execute(schema)
    s.executemany("INSERT INTO t1(a, b, f) VALUES(?, ?, ?)", rows)
    s.commit()
    s.close()
    # The table's leaf page is byte-for-byte SQLite's (VIRTUAL columns absent, STORED in place).
    assert _root_page(mine) == _root_page(theirs)
    s = sqlite3.connect(mine)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    expected = s.execute("SELECT * FROM t1").fetchall()
    assert expected == [(1, "ab", "AB", 3, 4, "x"), (2, None, None, 6, 7, 2.5), (3, "é", "é", 9, 10, None)]
    s.execute("INSERT INTO t1(a, b, f) VALUES(4, 'q', 1)")
    s.commit()
    s.close()
    c = limbodb.connect(str(mine))
    assert c.execute("SELECT * FROM t1 WHERE a < 4").fetchall() == expected
    assert c.execute("SELECT c, d, e FROM t1 WHERE a = 4").fetchall() == [("Q", 12, 13)]
    assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    c.close()


def _root_page(path):
    s = sqlite3.connect(path)
    root, size = s.execute("SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM sqlite_schema "
                           "WHERE name = 't1'").fetchone()
    s.close()
    data = path.read_bytes()
    return data[(root - 1) * size:root * size]


IN_TABLE = [
    "CREATE TABLE t1(a)",
    "CREATE TABLE t2(x, y)",
    "INSERT INTO t1 VALUES(1), (2), (NULL)",
    "INSERT INTO t2 VALUES(1, 'p'), (3, 'q')",
    "SELECT 1 IN t1, 3 IN t1, 3 NOT IN t1, NULL IN t1",
    "SELECT x, x IN t1, x NOT IN main.t1 FROM t2",
    "SELECT * FROM t2 WHERE x IN t1",
    "SELECT 1 IN t2",
    "SELECT 1 IN nosuch",
    "DELETE FROM t1 WHERE a IS NULL",
    "SELECT * FROM t2 WHERE x NOT IN t1",
]


def test_in_with_a_table_name(tmp_path):
    _same(tmp_path, IN_TABLE)


@pytest.mark.parametrize("typ", ["", "INTEGER", "TEXT", "REAL", "NUMERIC", "BLOB"])
def test_generated_column_affinity(tmp_path, typ):
    _same(tmp_path, [
        f"CREATE TABLE t1(a, b {typ} AS (a), c {typ} AS (a) STORED)",
        "INSERT INTO t1 VALUES(1), ('2'), (3.0), ('x'), (x'00'), (NULL), ('4.5')",
        "SELECT a, b, c, typeof(b), typeof(c) FROM t1",
        "SELECT a FROM t1 WHERE b = 2 AND c = 2",
    ])


TRIGGERS_REINDEX_ALTER = [
    "CREATE TABLE t1(a, b AS (a * 2), c AS (a + 1) STORED)",
    "CREATE TABLE log(x, y, z)",
    "CREATE TRIGGER tb BEFORE INSERT ON t1 BEGIN INSERT INTO log VALUES('bi', new.b, new.c); END",
    "CREATE TRIGGER ta AFTER INSERT ON t1 BEGIN INSERT INTO log VALUES('ai', new.b, new.c); END",
    "CREATE TRIGGER tu AFTER UPDATE ON t1 BEGIN INSERT INTO log VALUES(old.b, new.b, new.c); END",
    "CREATE TRIGGER td BEFORE DELETE ON t1 BEGIN INSERT INTO log VALUES('bd', old.b, old.c); END",
    "INSERT INTO t1 VALUES(1), (2)",
    "UPDATE t1 SET a = 5 WHERE a = 1",
    "DELETE FROM t1 WHERE b = 4",
    "SELECT * FROM log",
    "CREATE INDEX t1b ON t1(b)",
    "REINDEX t1b",
    "REINDEX t1",
    "ALTER TABLE t1 ADD COLUMN d AS (a * 10)",
    "ALTER TABLE t1 ADD COLUMN e AS (a) STORED",
    "SELECT * FROM t1",
    "INSERT INTO t1(a) VALUES(7)",
    "SELECT * FROM t1 WHERE d = 70",
    "SELECT a FROM t1 WHERE b = 14",
    "CREATE VIEW v AS SELECT * FROM t1",
    "SELECT * FROM v",
    "CREATE TABLE w(a PRIMARY KEY, b AS (lower(a)), c) WITHOUT ROWID",
    "INSERT INTO w(a, c) VALUES('X', 1), ('Y', 2)",
    "CREATE INDEX wb ON w(upper(b)) WHERE c > 1",
    "CREATE INDEX wb2 ON w(b)",
    "REINDEX wb",
    "REINDEX w",
    "SELECT * FROM w WHERE b = 'x'",
    "UPDATE w SET a = 'Z' WHERE c = 2",
    "SELECT * FROM w",
]


def test_triggers_reindex_and_alter_with_generated_columns(tmp_path):
    _same(tmp_path, TRIGGERS_REINDEX_ALTER)


def test_generated_columns_on_the_null_row_of_a_left_join(tmp_path):
    _same(tmp_path, [
        "CREATE TABLE t1(x)",
        "CREATE TABLE t2(a, b AS (coalesce(a, 5)), c AS (coalesce(a, 6)) STORED)",
        "CREATE TABLE w(k PRIMARY KEY, b AS (coalesce(k, 5))) WITHOUT ROWID",
        "INSERT INTO t1 VALUES(1), (NULL)",
        "INSERT INTO t2 VALUES(NULL), (1)",
        "INSERT INTO w VALUES(1)",
        "SELECT * FROM t1 LEFT JOIN t2 ON 0",
        "SELECT x, b, c FROM t1 LEFT JOIN t2 ON a = x ORDER BY x",
        "SELECT * FROM t1 LEFT JOIN w ON 0",
        "SELECT * FROM t1 LEFT JOIN w ON k = x ORDER BY x",
        "SELECT b, count(*) FROM t2 GROUP BY b ORDER BY b",
        "SELECT (SELECT max(b) FROM t2 WHERE t2.a IS t1.x) FROM t1 ORDER BY x",
    ])
