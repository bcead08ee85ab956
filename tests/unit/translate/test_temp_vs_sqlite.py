"""The temp schema: CREATE TEMP objects, temp.-qualified names, sqlite_temp_schema, differential against sqlite3."""

import sqlite3

import limbodb


def _run(module, path, statements):
    conn = module.connect(str(path), isolation_level=None)
    out = []
    try:
        for sql in statements:
            try:
                rows = conn.execute(sql).fetchall()
                out.append([tuple(v.replace(str(path.parent), "{dir}") if isinstance(v, str) else v
                                  for v in row) for row in rows])
            except module.Error as e:
                out.append(f"{type(e).__name__}: {e}")
    finally:
        conn.close()
    return out


def _same(tmp_path, statements):
    # The same file name in two folders, so PRAGMA database_list rows compare equal.
    (tmp_path / "oracle").mkdir()
    (tmp_path / "limbo").mkdir()
    want = _run(sqlite3, tmp_path / "oracle" / "main.db", statements)
    got = _run(limbodb, tmp_path / "limbo" / "main.db", statements)
    for sql, w, g in zip(statements, want, got):
        assert g == w, sql
    return got


def test_temp_objects_and_their_schema_table(tmp_path):
    _same(tmp_path, [
        "CREATE TABLE t1(a INTEGER PRIMARY KEY, b)",
        "INSERT INTO t1 VALUES (1, 'main')",
        "PRAGMA database_list",
        "CREATE TEMP TABLE t2(x INTEGER PRIMARY KEY AUTOINCREMENT, y UNIQUE)",
        "CREATE TEMPORARY VIEW v2 AS SELECT y FROM t2 WHERE x > 1",
        "CREATE INDEX t2_y_x ON t2(y, x)",
        "CREATE TABLE temp.t3(c)",
        "CREATE INDEX temp.t3_c ON t3(c)",
        "PRAGMA database_list",
        "INSERT INTO t2(y) SELECT b FROM t1",
        "INSERT INTO t2(y) VALUES ('two'), ('three')",
        "INSERT INTO temp.t3 SELECT y FROM t2",
        "SELECT * FROM t2 ORDER BY x",
        "SELECT * FROM v2 ORDER BY y",
        "SELECT * FROM temp.t3 WHERE c = 'two'",
        "SELECT type, name, tbl_name, sql FROM sqlite_temp_schema ORDER BY name",
        "SELECT type, name, tbl_name FROM sqlite_temp_master ORDER BY name",
        "SELECT name FROM temp.sqlite_schema ORDER BY name",
        "SELECT name FROM temp.sqlite_master ORDER BY name",
        "SELECT name FROM sqlite_schema ORDER BY name",
        "SELECT * FROM temp.sqlite_sequence",
        "PRAGMA temp.table_info(t2)",
        "PRAGMA table_info(t3)",
        "PRAGMA temp.index_list(t2)",
        "PRAGMA temp.integrity_check",
        "UPDATE t2 SET y = upper(y) WHERE x = 2",
        "DELETE FROM temp.t2 WHERE x = 1",
        "SELECT * FROM t2 ORDER BY x",
        "DROP VIEW v2",
        "DROP INDEX temp.t3_c",
        "DROP TABLE temp.t3",
        "SELECT name FROM sqlite_temp_master ORDER BY name",
    ])


def test_temp_table_shadows_main_table_of_the_same_name(tmp_path):
    _same(tmp_path, [
        "CREATE TABLE t1(a)",
        "INSERT INTO t1 VALUES ('main')",
        "CREATE VIEW v1 AS SELECT a FROM t1",
        "CREATE TEMP TABLE t1(a)",
        "INSERT INTO t1 VALUES ('temp')",
        "SELECT a FROM t1",
        "SELECT a FROM main.t1",
        "SELECT a FROM v1",
        "UPDATE t1 SET a = a || '!'",
        "SELECT (SELECT a FROM main.t1), (SELECT a FROM temp.t1)",
        "DROP TABLE t1",
        "SELECT a FROM t1",
    ])


def test_temp_ddl_errors_match_sqlite(tmp_path):
    _same(tmp_path, [
        "ATTACH ':memory:' AS aux",
        "CREATE TEMP TABLE aux.t1(a)",
        "CREATE TEMP TABLE main.t1(a)",
        "CREATE TEMP VIEW aux.v AS SELECT 1",
        "CREATE TEMP TABLE t1(a)",
        "CREATE TEMP TABLE t1(a)",
        "CREATE TEMP TABLE IF NOT EXISTS t1(a)",
        "CREATE TEMP TABLE sqlite_x(a)",
        "DROP TABLE temp.nosuch",
        "SELECT * FROM main.sqlite_temp_schema",
    ])


def test_temp_changes_follow_the_transaction(tmp_path):
    _same(tmp_path, [
        "CREATE TABLE t1(a)",
        "CREATE TEMP TABLE t2(a)",
        "BEGIN",
        "INSERT INTO t1 VALUES (1)",
        "INSERT INTO t2 VALUES (2)",
        "CREATE TEMP TABLE t3(a)",
        "ROLLBACK",
        "SELECT (SELECT count(*) FROM t1), (SELECT count(*) FROM t2)",
        "SELECT name FROM sqlite_temp_master",
        "BEGIN",
        "INSERT INTO t1 VALUES (3)",
        "INSERT INTO t2 VALUES (4)",
        "COMMIT",
        "SELECT (SELECT sum(a) FROM t1), (SELECT sum(a) FROM t2)",
        "INSERT INTO t2 VALUES (4), (5)",
        "SELECT sum(a) FROM t2",
    ])


def test_temp_objects_never_reach_the_main_file_and_end_with_the_connection(tmp_path):
    path = str(tmp_path / "main.db")
    conn = limbodb.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE keep(a)")
    conn.execute("CREATE TEMP TABLE scratch(a, b)")
    conn.execute("CREATE INDEX scratch_b ON scratch(b)")
    conn.executemany("INSERT INTO scratch VALUES (?, ?)", [(i, "x" * 500) for i in range(200)])
    conn.execute("INSERT INTO keep SELECT count(*) FROM scratch")
    conn.close()
    check = sqlite3.connect(path)
    assert check.execute("SELECT name FROM sqlite_schema").fetchall() == [("keep",)]
    assert check.execute("SELECT a FROM keep").fetchall() == [(200,)]
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()
    again = limbodb.connect(path, isolation_level=None)
    assert again.execute("PRAGMA database_list").fetchall() == [(0, "main", path)]
    assert again.execute("SELECT count(*) FROM sqlite_temp_schema").fetchone() == (0,)
    again.close()


def test_each_connection_has_its_own_temp_database(tmp_path):
    path = str(tmp_path / "main.db")
    a = limbodb.connect(path, isolation_level=None)
    b = limbodb.connect(path, isolation_level=None)
    a.execute("CREATE TEMP TABLE t1(x)")
    a.execute("INSERT INTO t1 VALUES (1)")
    b.execute("CREATE TEMP TABLE t1(y)")
    assert a.execute("SELECT * FROM t1").fetchall() == [(1,)]
    assert b.execute("SELECT * FROM t1").fetchall() == []
    assert b.execute("SELECT sql FROM sqlite_temp_schema").fetchall() == [("CREATE TABLE t1(y)",)]
    a.close()
    b.close()


def test_temp_trigger_on_a_main_table_fires(tmp_path):
    conn = limbodb.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t1(a)")
    conn.execute("CREATE TEMP TABLE t2(a)")
    # Issue #8: stored in temp, fired by DML on main.t1.
    conn.execute("CREATE TEMP TRIGGER tm AFTER INSERT ON t1 BEGIN INSERT INTO t2 VALUES (new.a * 10); END")
    # A trigger on a temp table is a temp trigger, and fires.
    conn.execute("CREATE TRIGGER tr AFTER INSERT ON t2 BEGIN INSERT INTO t1 VALUES (new.a + 1); END")
    conn.execute("INSERT INTO t2 VALUES (1)")
    assert conn.execute("SELECT a FROM t1").fetchall() == [(2,)]
    assert conn.execute("SELECT a FROM t2").fetchall() == [(1,), (20,)]
    conn.close()


def test_create_temp_table_as_select_reads_main(tmp_path):
    _same(tmp_path, [
        "CREATE TABLE t1(a INTEGER, b TEXT)",
        "INSERT INTO t1 VALUES (1, 'x'), (2, 'y')",
        "CREATE TEMP TABLE snap AS SELECT a, b || '!' AS c FROM t1 WHERE a > 1",
        "SELECT * FROM snap",
        "SELECT sql FROM sqlite_temp_schema",
        "ALTER TABLE snap ADD COLUMN d",
        "ALTER TABLE snap RENAME TO snap2",
        "SELECT sql FROM sqlite_temp_schema",
        "SELECT * FROM snap2",
    ])
