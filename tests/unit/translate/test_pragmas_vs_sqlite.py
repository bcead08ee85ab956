"""The remaining user-facing PRAGMAs against sqlite3: same column names, same rows.

compile_options is limbodb's own list (checked for shape), function_list is
compared on the functions both engines have (its flags column is left out:
SQLite's INNOCUOUS/DIRECTONLY bits are per function).
"""

import sqlite3

import pytest

import limbodb

SCHEMA = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT COLLATE NOCASE, c, d AS (a + 1))",
    "CREATE INDEX i1 ON t1(b DESC, c)",
    "CREATE INDEX i2 ON t1(c + 1)",
    "CREATE INDEX i3 ON t1(c COLLATE RTrim, b COLLATE binary)",
    "CREATE TABLE t2(a, b COLLATE nocase, c COLLATE rtrim, d, PRIMARY KEY(d DESC, b)) WITHOUT ROWID",
    "CREATE INDEX i4 ON t2(c, b COLLATE NoCase, a COLLATE binary)",
    "CREATE INDEX i5 ON t2(c + 1)",
    "CREATE TABLE t3(a, b, PRIMARY KEY(a, b)) WITHOUT ROWID",
]


@pytest.fixture
def dbs():
    oracle = sqlite3.connect(":memory:", timeout=2.5)
    db = limbodb.connect(":memory:", timeout=2.5)
    for sql in SCHEMA:
        oracle.execute(sql)
        db.execute(sql)
    return oracle, db


def run(conn, sql):
    cur = conn.execute(sql)
    return [d[0] for d in cur.description or []], [tuple(r) for r in cur.fetchall()]


def same(dbs, *statements):
    for sql in statements:
        assert run(dbs[1], sql) == run(dbs[0], sql), sql


def test_busy_timeout_reads_and_sets_the_connection_timeout_like_sqlite(dbs):
    same(dbs, "PRAGMA busy_timeout", "PRAGMA busy_timeout = 100", "PRAGMA busy_timeout",
         "PRAGMA busy_timeout = -5", "PRAGMA main.busy_timeout")
    dbs[1].execute("PRAGMA busy_timeout = 250")
    assert dbs[1]._engine.busy_timeout == 250


def test_dbapi_timeout_is_the_busy_timeout(tmp_path):
    db = limbodb.connect(str(tmp_path / "t.db"), timeout=0.75)
    assert db.execute("PRAGMA busy_timeout").fetchall() == [(750,)]


def test_temp_store_accepts_numbers_and_names_like_sqlite(dbs):
    same(dbs, "PRAGMA temp_store")
    for value in ("2", "memory", "FILE", "default", "1", "0", "7", "bogus", "MEMORY"):
        same(dbs, f"PRAGMA temp_store = {value}", "PRAGMA temp_store", "PRAGMA temp.temp_store")


@pytest.mark.parametrize("index", ["i1", "i2", "i3", "i4", "i5", "sqlite_autoindex_t2_1", "sqlite_autoindex_t3_1"])
def test_index_info_and_xinfo_match_sqlite(dbs, index):
    same(dbs, f"PRAGMA index_info({index})", f"PRAGMA index_xinfo({index})",
         f"SELECT * FROM pragma_index_xinfo('{index}')")


def test_table_xinfo_schema_version_freelist_and_encoding_match_sqlite(dbs):
    same(dbs, "PRAGMA table_xinfo(t1)", "PRAGMA table_xinfo(t2)", "PRAGMA schema_version",
         "PRAGMA main.schema_version", "PRAGMA freelist_count", "PRAGMA main.freelist_count", "PRAGMA encoding")
    for conn in dbs:
        conn.execute("CREATE TABLE t4(x)")
        conn.execute("DROP TABLE t4")
    same(dbs, "PRAGMA schema_version", "PRAGMA encoding = 'UTF-8'", "PRAGMA encoding")


def test_quick_check_and_flag_pragmas_match_sqlite(dbs):
    same(dbs, "PRAGMA quick_check", "PRAGMA quick_check(1)", "PRAGMA main.quick_check",
         "PRAGMA recursive_triggers", "PRAGMA recursive_triggers = 1", "PRAGMA recursive_triggers",
         "PRAGMA defer_foreign_keys", "PRAGMA defer_foreign_keys = on", "PRAGMA defer_foreign_keys",
         "PRAGMA defer_foreign_keys = 0", "PRAGMA defer_foreign_keys")


def test_function_list_matches_sqlite_for_shared_functions(dbs):
    for conn in dbs:
        conn.create_function("f1", 2, lambda a, b: a, deterministic=True)
        conn.create_aggregate("a1", 1, type("A", (), {"step": lambda s, x: None, "finalize": lambda s: 1}))
    query = "SELECT name, builtin, type, enc, narg FROM pragma_function_list() ORDER BY 1, 5"
    oracle = set(run(dbs[0], query)[1])
    ours = set(run(dbs[1], query)[1])
    names = {r[0] for r in oracle} & {r[0] for r in ours}
    assert {"abs", "count", "max", "row_number", "json_extract", "f1", "a1", "->>"} <= names
    # Arities newer SQLite added (json_valid(X, FLAGS), 3.45) are not in the 3.40 oracle.
    arities = {(r[0], r[4]) for r in oracle}
    assert {r for r in ours if r[0] in names and (r[0], r[4]) in arities} == {r for r in oracle if r[0] in names}
    cols, rows = run(dbs[1], "PRAGMA function_list")
    assert cols == ["name", "builtin", "type", "enc", "narg", "flags"]
    assert {r[:5] for r in rows} == ours


def test_compile_options_are_rows_of_sqlite_option_names(dbs):
    cols, rows = run(dbs[1], "PRAGMA compile_options")
    assert cols == run(dbs[0], "PRAGMA compile_options")[0] == ["compile_options"]
    names = [r[0] for r in rows]
    assert names == sorted(names) and "THREADSAFE=1" in names and "TEMP_STORE=1" in names
    assert all(n == n.upper() and not n.startswith("SQLITE_") for n in names)
