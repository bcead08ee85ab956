"""Change data capture against pyturso: the same workload gives the same turso_cdc rows.

Each workload runs on a pyturso connection and a limbodb one (autocommit
mode, explicit BEGIN/COMMIT/ROLLBACK); then the CDC tables are compared row
for row: change_id, change_txn_id, change_type, table_name, id, and the
before/after/updates records byte for byte. change_time is left out (checked
to be the current unix time instead). sqlite_schema rows differ in one known
way: pyturso's AUTOINCREMENT keeps an extra internal table per AUTOINCREMENT
table, the CDC table included, so rowids and root pages of schema objects
created later are shifted; for those rows the id and the rootpage column are
left out and the rest of the records compared.
"""

import time

import pytest

import limbodb
from limbodb.storage.record import decode_record, encode_record

turso = pytest.importorskip("turso")

MODES = ["off", "id", "before", "after", "full"]

DML = [
    "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c REAL, d)",
    "CREATE TABLE u (x, y)",
    "{pragma}",
    "INSERT INTO t VALUES (1, 'one', 1.5, x'00ff')",
    "INSERT INTO t VALUES (2, 'two', 2, NULL), (3, 'three', -0.5, 42), (NULL, 'four', NULL, 'text')",
    "INSERT INTO u VALUES ('p', 1), ('q', 2.25)",
    "UPDATE t SET b = upper(b) WHERE a >= 3",
    "UPDATE t SET c = c * 2, d = 'x' WHERE a = 1",
    "UPDATE t SET b = b WHERE a = 2",
    "UPDATE t SET b = 'none' WHERE a = 99",
    "DELETE FROM t WHERE a = 2",
    "UPDATE u SET y = y + 1",
    "BEGIN",
    "INSERT INTO t VALUES (10, 'ten', 10, 10)",
    "UPDATE u SET x = 'r' WHERE y = 2",
    "INSERT INTO t VALUES (10, 'duplicate', 0, 0)",
    "DELETE FROM u WHERE x = 'p'",
    "COMMIT",
    "BEGIN",
    "INSERT INTO t VALUES (20, 'rolled back', 0, 0)",
    "DELETE FROM t",
    "ROLLBACK",
    "BEGIN",
    "SELECT count(*) FROM t",
    "COMMIT",
    "INSERT INTO t VALUES (30, 'a', 0, 0), (1, 'fails', 0, 0)",
    "INSERT OR REPLACE INTO t VALUES (1, 'replaced', 7.25, NULL)",
    "UPDATE t SET a = a + 100 WHERE a = 3",
    "DELETE FROM u",
    "DELETE FROM t",
]

DDL = [
    "{pragma}",
    "CREATE TABLE t (a INTEGER PRIMARY KEY, b UNIQUE, c)",
    "CREATE INDEX tc ON t (c)",
    "INSERT INTO t VALUES (1, 2.5, 'x'), (2, 'it''s', -3)",
    "ALTER TABLE t ADD COLUMN d DEFAULT 7",
    "UPDATE t SET d = 8 WHERE a = 1",
    "DROP INDEX tc",
    "ALTER TABLE t DROP COLUMN c",
    "BEGIN",
    "CREATE TABLE v (x)",
    "INSERT INTO v VALUES (1)",
    "ROLLBACK",
    "BEGIN",
    "CREATE TABLE w (x)",
    "INSERT INTO w VALUES (1)",
    "COMMIT",
    "DROP TABLE w",
    "DROP TABLE t",
]


def run(module, statements, pragma, cdc_table="turso_cdc"):
    """Run ``statements`` ({pragma} stands for ``pragma``); returns (outcomes, CDC rows)."""
    conn = module.connect(":memory:", isolation_level=None)
    cur = conn.cursor()
    outcomes = []
    for sql in statements:
        sql = sql.replace("{pragma}", pragma)
        try:
            outcomes.append(("ok", cur.execute(sql).fetchall()))
        except Exception as e:
            outcomes.append(("error", str(e).split(": ")[-1] if "UNIQUE" in str(e) else None))
    rows = []
    if "off" not in pragma:
        rows = cur.execute(f"SELECT change_id, change_time, change_txn_id, change_type, table_name, id, "
                           f"before, after, updates FROM {cdc_table} ORDER BY change_id").fetchall()
    conn.close()
    return outcomes, rows


def normalized(rows):
    out = []
    for change_id, _time, txn, kind, table, rid, before, after, updates in rows:
        if table == "sqlite_schema":
            before, after = (None if r is None else decode_record(r)[:3] + decode_record(r)[4:]
                             for r in (before, after))
            updates = None if updates is None else decode_record(updates)
            rid = "schema rowid"
        out.append((change_id, txn, kind, table, rid, before, after, updates))
    return out


def check_same(statements, pragma, cdc_table="turso_cdc"):
    start = int(time.time())
    t_out, t_rows = run(turso, statements, pragma, cdc_table)
    l_out, l_rows = run(limbodb, statements, pragma, cdc_table)
    assert l_out == t_out
    assert normalized(l_rows) == normalized(t_rows)
    assert all(start <= r[1] <= int(time.time()) for r in l_rows)
    return l_rows


@pytest.mark.parametrize("mode", MODES)
def test_dml_rows_match_turso_in_every_mode(mode):
    rows = check_same(DML, f"PRAGMA capture_data_changes_conn('{mode}')")
    if mode != "off":
        kinds = {r[3] for r in rows}
        assert kinds == {-1, 0, 1, 2}


@pytest.mark.parametrize("mode", ["id", "full"])
def test_ddl_rows_match_turso(mode):
    rows = check_same(DDL, f"PRAGMA capture_data_changes_conn('{mode}')")
    assert any(r[4] == "sqlite_schema" and r[3] == 0 for r in rows)


def test_custom_table_and_old_pragma_name_match_turso():
    pragma = "PRAGMA unstable_capture_data_changes_conn('full,my_changes')"
    rows = check_same(DML, pragma, "my_changes")
    assert rows


def test_pragma_results_and_schema_match_turso():
    script = [
        "PRAGMA capture_data_changes_conn",
        "PRAGMA capture_data_changes_conn('before')",
        "PRAGMA capture_data_changes_conn",
        "PRAGMA unstable_capture_data_changes_conn('full')",
        "PRAGMA unstable_capture_data_changes_conn",
        "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE '__turso_internal%' "
        "ORDER BY name",
        "SELECT * FROM turso_cdc_version ORDER BY table_name",
        "PRAGMA capture_data_changes_conn('off')",
        "PRAGMA capture_data_changes_conn",
        "PRAGMA capture_data_changes_conn('sometimes')",
        "PRAGMA capture_data_changes_conn('full,a,b')",
    ]
    t_out, _ = run(turso, script, "")
    l_out, _ = run(limbodb, script, "")
    assert l_out == t_out
    assert l_out[2] == ("ok", [("before", "turso_cdc", "v2")])
    assert l_out[-1][0] == "error"


def test_second_cdc_table_is_created_and_registered():
    # pyturso leaves a second table uncreated (every write then fails): limbodb creates it.
    conn = limbodb.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA capture_data_changes_conn('id')")
    conn.execute("PRAGMA capture_data_changes_conn('after,audit')")
    conn.execute("CREATE TABLE t (a)")
    conn.execute("INSERT INTO t VALUES (5)")
    assert conn.execute("SELECT * FROM turso_cdc_version ORDER BY table_name").fetchall() == [
        ("audit", "v2"), ("turso_cdc", "v2")]
    assert conn.execute("SELECT count(*) FROM turso_cdc").fetchall() == [(0,)]
    assert conn.execute("SELECT change_type, table_name, id FROM audit").fetchall() == [
        (1, "sqlite_schema", 6), (2, None, None), (1, "t", 1), (2, None, None)]
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_pragma_column_names():
    conn = limbodb.connect(":memory:")
    cur = conn.execute("PRAGMA capture_data_changes_conn")
    assert [d[0] for d in cur.description] == ["mode", "table", "version"]


def test_cdc_table_own_changes_are_not_captured():
    # (pyturso 0.8.3 aborts the process on a DELETE from its CDC table: limbodb alone here.)
    conn = limbodb.connect(":memory:", isolation_level=None)
    for sql in ["PRAGMA capture_data_changes_conn('full')", "CREATE TABLE t (a)", "INSERT INTO t VALUES (1)",
                "DELETE FROM turso_cdc WHERE change_type = 2", "UPDATE turso_cdc SET change_time = 0",
                "INSERT INTO t VALUES (2)"]:
        conn.execute(sql)
    rows = conn.execute("SELECT change_id, change_txn_id, change_type, table_name, id, change_time > 0 "
                        "FROM turso_cdc").fetchall()
    # The DELETE and the UPDATE of turso_cdc left no rows of their own (no COMMIT rows either).
    assert rows == [(1, 1, 1, "sqlite_schema", 5, 0), (3, 3, 1, "t", 1, 0), (5, 5, 1, "t", 2, 1),
                    (6, 5, 2, None, None, 1)]


def test_mode_change_recompiles_cached_statements(tmp_path):
    conn = limbodb.connect(str(tmp_path / "db"), isolation_level=None)
    conn.execute("CREATE TABLE t (a)")
    insert = "INSERT INTO t VALUES (?)"
    conn.execute(insert, (1,))
    conn.execute("PRAGMA capture_data_changes_conn('id')")
    conn.execute(insert, (2,))
    conn.execute("PRAGMA capture_data_changes_conn('off')")
    conn.execute(insert, (3,))
    rows = conn.execute("SELECT change_type, table_name, id FROM turso_cdc").fetchall()
    assert rows == [(1, "t", 2), (2, None, None)]


def test_capture_is_per_connection(tmp_path):
    path = str(tmp_path / "db")
    a = limbodb.connect(path, isolation_level=None)
    b = limbodb.connect(path, isolation_level=None)
    a.execute("CREATE TABLE t (x)")
    a.execute("PRAGMA capture_data_changes_conn('full')")
    assert b.execute("PRAGMA capture_data_changes_conn").fetchall() == [("off", None, None)]
    b.execute("INSERT INTO t VALUES ('from b')")
    a.execute("INSERT INTO t VALUES ('from a')")
    rows = a.execute("SELECT change_type, id FROM turso_cdc").fetchall()
    assert rows == [(1, 2), (2, None)]
    a.close()
    b.close()


FUNCTION_QUERIES = [
    "SELECT table_columns_json_array('t')",
    "SELECT table_columns_json_array('T')",
    "SELECT table_columns_json_array('missing')",
    "SELECT table_columns_json_array(1)",
    "SELECT bin_record_json_object('[\"a\",\"b\"]', x'03090f78')",
    "SELECT bin_record_json_object('[\"a\"]', x'03090f78')",
    "SELECT bin_record_json_object('[\"a\",\"b\",\"c\"]', x'03090f78')",
    "SELECT bin_record_json_object('[\"a\",\"b\"]', NULL)",
    "SELECT bin_record_json_object('[\"a\"]', 'text')",
    "SELECT bin_record_json_object('[\"a\"]', x'0210')",
    "SELECT bin_record_json_object(table_columns_json_array('t'), after) FROM turso_cdc "
    "WHERE table_name = 't' ORDER BY change_id",
    "SELECT conn_txn_id(1)",
    "SELECT is_autocommit()",
]


def test_cdc_functions_match_turso():
    script = ["PRAGMA capture_data_changes_conn('full')",
              "CREATE TABLE t (a INTEGER PRIMARY KEY, \"b c\" REAL, d)",
              "INSERT INTO t VALUES (1, 2, 'x\"y\\z\n'), (2, 1.5, 1e300), (3, NULL, -0.0), (4, -7, 'é')"]
    t_out, _ = run(turso, script + FUNCTION_QUERIES, "")
    l_out, _ = run(limbodb, script + FUNCTION_QUERIES, "")
    assert l_out == t_out
    assert l_out[3 + 4] == ("ok", [('{"a":1,"b":"x"}',)])
    assert l_out[-1][0] == "error" and l_out[-2][0] == "error"


def test_internal_functions_keep_the_transaction_id():
    from limbodb.functions import cdc

    class Conn:
        autocommit = True
        cdc_txn_id = None
    conn = Conn()
    assert cdc.current_txn_id(conn) is None
    assert cdc.txn_id(conn, 7) == 7
    assert cdc.txn_id(conn, 9) == 7
    assert cdc.current_txn_id(conn) == 7
    assert cdc.autocommit(conn) == 1
    conn.autocommit = False
    assert cdc.autocommit(conn) == 0


def test_file_with_captured_changes_passes_sqlite3_integrity_check(tmp_path):
    import sqlite3
    path = str(tmp_path / "db")
    conn = limbodb.connect(path, isolation_level=None)
    for sql in DML:
        try:
            conn.execute(sql.replace("{pragma}", "PRAGMA capture_data_changes_conn('full')"))
        except limbodb.IntegrityError:
            pass
    want = conn.execute("SELECT * FROM turso_cdc").fetchall()
    conn.close()
    ref = sqlite3.connect(path)
    assert ref.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert ref.execute("SELECT * FROM turso_cdc").fetchall() == want
    assert ref.execute("SELECT seq FROM sqlite_sequence WHERE name = 'turso_cdc'").fetchall() == [(len(want),)]
    ref.close()


def test_reals_render_as_turso_renders_them():
    import random
    import struct
    rnd = random.Random(9)
    vals = [1000000000000001.0, 0.1 + 0.2, 1e-7, 1e-5, 1.5e-6, 1e15, 1e16, 9.5e15, 5e-324, -0.0, 0.0, 100.0,
            1.7976931348623157e308, -2.5e-300]
    vals += [struct.unpack("<d", rnd.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(400)]
    vals = [v for v in vals if v == v and abs(v) != float("inf")]
    sql = "SELECT bin_record_json_object('[\"a\"]', ?)"
    t, li = turso.connect(":memory:"), limbodb.connect(":memory:")
    for v in vals:
        rec = encode_record([v])
        assert li.execute(sql, (rec,)).fetchone() == t.execute(sql, (rec,)).fetchone(), v
