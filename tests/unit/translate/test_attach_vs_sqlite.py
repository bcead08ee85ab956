"""ATTACH/DETACH and schema-qualified names, differential against sqlite3 on database files."""

import sqlite3

import pytest

import limbodb


def _run(module, folder, statements):
    """Each statement's rows (or its error, as "Class: message") on a main file in ``folder``;
    file names in the statements are relative to ``folder``."""
    folder.mkdir(exist_ok=True)
    conn = module.connect(str(folder / "main.db"), isolation_level=None)
    out = []
    try:
        for sql in statements:
            sql = sql.replace("{dir}", str(folder))
            try:
                rows = conn.execute(sql).fetchall()
                out.append([tuple(str(v).replace(str(folder), "{dir}") if isinstance(v, str) else v
                                  for v in row) for row in rows])
            except module.Error as e:
                out.append(f"{type(e).__name__}: {e}")
    finally:
        conn.close()
    return out


def _same(tmp_path, statements):
    want = _run(sqlite3, tmp_path / "oracle", statements)
    got = _run(limbodb, tmp_path / "limbo", statements)
    for sql, w, g in zip(statements, want, got):
        assert g == w, sql
    return got


def test_database_list_names_files_in_attach_order(tmp_path):
    _same(tmp_path, [
        "ATTACH '{dir}/a.db' AS aux",
        "ATTACH DATABASE ':memory:' AS mem",
        "PRAGMA database_list",
        "DETACH aux",
        "PRAGMA database_list",
        "ATTACH '{dir}/a.db' AS again",
        "PRAGMA database_list",
    ])


def test_attach_and_detach_errors_match_sqlite(tmp_path):
    got = _same(tmp_path, [
        "ATTACH '{dir}/a.db' AS aux",
        "ATTACH '{dir}/b.db' AS aux",
        "ATTACH '{dir}/b.db' AS AUX",
        "ATTACH '{dir}/b.db' AS main",
        "ATTACH '{dir}/b.db' AS temp",
        "DETACH nosuch",
        "DETACH main",
        "DETACH temp",
        "SELECT * FROM nosuch.t1",
        "CREATE TABLE nosuch.t1(a)",
        "CREATE INDEX nosuch.i1 ON t1(a)",
        "DROP TABLE nosuch.t1",
        "DROP TABLE IF EXISTS nosuch.t1",
        "DROP TABLE aux.t1",
        "PRAGMA nosuch.user_version",
    ])
    assert got[1] == "OperationalError: database aux is already in use"


def test_detach_inside_a_writing_transaction_is_refused(tmp_path):
    _same(tmp_path, [
        "ATTACH '{dir}/a.db' AS aux",
        "CREATE TABLE aux.t1(a)",
        "BEGIN",
        "INSERT INTO aux.t1 VALUES (1)",
        "DETACH aux",
        "COMMIT",
        "DETACH aux",
        "ATTACH '{dir}/a.db' AS aux",
        "SELECT * FROM aux.t1",
    ])


def test_qualified_names_in_every_statement(tmp_path):
    _same(tmp_path, [
        "ATTACH '{dir}/a.db' AS aux",
        "CREATE TABLE t1(a INTEGER PRIMARY KEY, b)",
        "CREATE TABLE aux.t1(a INTEGER PRIMARY KEY AUTOINCREMENT, b UNIQUE)",
        "CREATE INDEX aux.t1_b2 ON t1(b DESC)",
        "CREATE VIEW aux.v1 AS SELECT b FROM t1",
        "INSERT INTO main.t1 VALUES (1, 'x'), (2, 'y')",
        "INSERT INTO aux.t1(b) SELECT b FROM main.t1",
        "INSERT INTO aux.t1(b) VALUES ('x')",
        "UPDATE aux.t1 SET b = b || '!' WHERE a = 2",
        "DELETE FROM aux.t1 WHERE b = 'x'",
        "SELECT * FROM aux.t1 ORDER BY a",
        "SELECT * FROM aux.v1 ORDER BY b",
        "SELECT * FROM aux.sqlite_sequence",
        "SELECT type, name, tbl_name, sql FROM aux.sqlite_schema ORDER BY name",
        "SELECT type, name FROM aux.sqlite_master WHERE type = 'index' ORDER BY name",
        "SELECT b FROM aux.t1 WHERE b = 'y!'",
        "PRAGMA aux.table_info(t1)",
        "PRAGMA aux.index_list(t1)",
        "PRAGMA aux.index_info(t1_b2)",
        "PRAGMA aux.user_version = 7",
        "PRAGMA aux.user_version",
        "PRAGMA user_version",
        "PRAGMA aux.integrity_check",
        "SELECT m.b, x.b FROM main.t1 m JOIN aux.t1 x ON x.a = m.a ORDER BY 1",
        "SELECT (SELECT count(*) FROM aux.t1), (SELECT count(*) FROM t1)",
        "DROP INDEX aux.t1_b2",
        "DROP VIEW aux.v1",
        "DELETE FROM aux.t1",
        "SELECT count(*) FROM aux.t1",
        "DROP TABLE aux.t1",
        "SELECT name FROM aux.sqlite_schema ORDER BY name",
    ])


def test_unqualified_names_search_main_then_attached_in_order(tmp_path):
    _same(tmp_path, [
        "ATTACH '{dir}/a.db' AS a1",
        "ATTACH '{dir}/b.db' AS a2",
        "CREATE TABLE a2.t2(x)",
        "CREATE TABLE a1.t2(y)",
        "INSERT INTO a2.t2 VALUES ('in a2')",
        "INSERT INTO t2 VALUES ('unqualified')",
        "SELECT * FROM a1.t2",
        "SELECT * FROM a2.t2",
        "CREATE TABLE t2(z)",
        "SELECT count(*) FROM t2",
        "CREATE TABLE a2.only2(v)",
        "INSERT INTO only2 VALUES (5)",
        "UPDATE only2 SET v = v + 1",
        "SELECT * FROM only2",
        "PRAGMA table_info(only2)",
        "DROP TABLE t2",
        "SELECT * FROM t2",
    ])


def test_transaction_over_two_files_commits_and_rolls_back_both(tmp_path):
    _same(tmp_path, [
        "ATTACH '{dir}/a.db' AS aux",
        "CREATE TABLE t1(a)",
        "CREATE TABLE aux.t1(a)",
        "BEGIN",
        "INSERT INTO main.t1 VALUES (1)",
        "INSERT INTO aux.t1 VALUES (2)",
        "ROLLBACK",
        "SELECT (SELECT count(*) FROM main.t1), (SELECT count(*) FROM aux.t1)",
        "BEGIN",
        "INSERT INTO main.t1 VALUES (3)",
        "INSERT INTO aux.t1 VALUES (4)",
        "COMMIT",
        "SELECT (SELECT sum(a) FROM main.t1), (SELECT sum(a) FROM aux.t1)",
    ])
    # What was committed is in both files, for sqlite3 to read.
    check = sqlite3.connect(str(tmp_path / "limbo" / "main.db"))
    assert check.execute("SELECT a FROM t1").fetchall() == [(3,)]
    check.execute(f"ATTACH '{tmp_path / 'limbo' / 'a.db'}' AS aux")
    assert check.execute("SELECT a FROM aux.t1").fetchall() == [(4,)]
    check.close()


def test_failed_statement_rolls_back_the_attached_database(tmp_path):
    _same(tmp_path, [
        "ATTACH '{dir}/a.db' AS aux",
        "CREATE TABLE aux.t1(a UNIQUE)",
        "INSERT INTO aux.t1 VALUES (1)",
        "INSERT INTO aux.t1 VALUES (2), (1)",
        "SELECT a FROM aux.t1",
    ])


def test_attached_file_written_by_limbodb_passes_sqlite_integrity_check(tmp_path):
    conn = limbodb.connect(str(tmp_path / "main.db"), isolation_level=None)
    conn.execute(f"ATTACH '{tmp_path / 'aux.db'}' AS aux")
    conn.execute("CREATE TABLE aux.t1(a INTEGER PRIMARY KEY, b TEXT)")
    conn.execute("CREATE INDEX aux.t1_b ON t1(b)")
    conn.executemany("INSERT INTO aux.t1(b) VALUES (?)", [(f"row {i} " * 20,) for i in range(300)])
    conn.execute("DELETE FROM aux.t1 WHERE a % 3 = 0")
    conn.close()
    check = sqlite3.connect(str(tmp_path / "aux.db"))
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert check.execute("SELECT count(*) FROM t1").fetchone() == (200,)
    check.close()
    main = sqlite3.connect(str(tmp_path / "main.db"))
    assert main.execute("SELECT count(*) FROM sqlite_schema").fetchone() == (0,)
    main.close()


def test_attach_accepts_a_bound_file_name_and_a_string_name(tmp_path):
    path = str(tmp_path / "p.db")
    conn = limbodb.connect(":memory:", isolation_level=None)
    conn.execute("ATTACH ? AS 'aux'", (path,))
    conn.execute("CREATE TABLE aux.t1(a)")
    conn.execute("INSERT INTO aux.t1 VALUES (1)")
    assert conn.execute("PRAGMA database_list").fetchall() == [(0, "main", ""), (2, "aux", path)]
    conn.close()
    check = sqlite3.connect(path)
    assert check.execute("SELECT a FROM t1").fetchall() == [(1,)]
    check.close()


@pytest.mark.parametrize("n", [10])
def test_too_many_attached_databases(n):
    conn = limbodb.connect(":memory:", isolation_level=None)
    ref = sqlite3.connect(":memory:", isolation_level=None)
    for i in range(n):
        conn.execute(f"ATTACH ':memory:' AS a{i}")
        ref.execute(f"ATTACH ':memory:' AS a{i}")
    with pytest.raises(sqlite3.OperationalError) as want:
        ref.execute("ATTACH ':memory:' AS one_more")
    with pytest.raises(limbodb.OperationalError) as got:
        conn.execute("ATTACH ':memory:' AS one_more")
    assert str(got.value) == str(want.value)
    conn.close()


def test_alter_table_and_create_table_as_in_attached_database(tmp_path):
    _same(tmp_path, [
        "ATTACH '{dir}/a.db' AS aux",
        "CREATE TABLE t1(a, b)",
        "INSERT INTO t1 VALUES (1, 'one'), (2, 'two')",
        "CREATE TABLE aux.t1(a)",
        "INSERT INTO aux.t1 VALUES (7)",
        "ALTER TABLE aux.t1 ADD COLUMN c DEFAULT 'new'",
        "ALTER TABLE aux.t1 RENAME TO t9",
        "ALTER TABLE aux.nosuch RENAME TO t3",
        "ALTER TABLE nosuch.t1 ADD COLUMN d",
        "SELECT * FROM aux.t9",
        "SELECT name, sql FROM aux.sqlite_schema",
        "SELECT sql FROM main.sqlite_schema",
        "CREATE TABLE aux.copy AS SELECT a * 10 AS x, b FROM t1 UNION ALL SELECT a, c FROM aux.t9",
        "SELECT * FROM aux.copy ORDER BY x",
        "SELECT sql FROM aux.sqlite_schema WHERE name = 'copy'",
        "PRAGMA aux.integrity_check",
    ])


def test_detach_is_refused_while_the_database_is_read(tmp_path):
    _same(tmp_path, [
        "ATTACH '{dir}/a.db' AS aux",
        "CREATE TABLE aux.t1(a)",
        "INSERT INTO aux.t1 VALUES (1), (2)",
        "BEGIN",
        "SELECT * FROM aux.t1",
        "DETACH aux",
        "COMMIT",
        "DETACH aux",
    ])
    # A statement still stepping also holds it.
    for module, folder in ((sqlite3, "oracle"), (limbodb, "limbo")):
        conn = module.connect(str(tmp_path / folder / "main.db"), isolation_level=None)
        conn.execute(f"ATTACH '{tmp_path / folder / 'a.db'}' AS aux")
        cur = conn.execute("SELECT * FROM aux.t1")
        cur.fetchone()
        with pytest.raises(module.OperationalError, match="database aux is locked"):
            conn.execute("DETACH aux")
        cur.close()
        conn.execute("DETACH aux")
        conn.close()


def test_failed_statement_inside_a_transaction_undoes_only_its_own_changes(tmp_path):
    _same(tmp_path, [
        "ATTACH '{dir}/a.db' AS aux",
        "CREATE TABLE aux.t1(a UNIQUE)",
        "CREATE TEMP TABLE t2(a UNIQUE)",
        "INSERT INTO aux.t1 VALUES (1)",
        "BEGIN",
        "INSERT INTO aux.t1 VALUES (2), (1)",
        "INSERT INTO t2 VALUES (5), (6), (5)",
        "INSERT INTO aux.t1 VALUES (3)",
        "INSERT INTO t2 VALUES (7)",
        "COMMIT",
        "SELECT a FROM aux.t1 ORDER BY a",
        "SELECT a FROM t2",
    ])
