"""The Python half of the JS binding (limbodb.io.opfs.bridge), on CPython with MemoryIO and BlockingIO.

The bridge imports nothing from Pyodide, so its id bookkeeping, row batches
and error reports are checked here directly; the JS tests cover it in Pyodide.
"""

import sqlite3

import pytest

from limbodb.errors import Error
from limbodb.io import BlockingIO
from limbodb.io.opfs.bridge import RANGE, SQLITE, TYPE, Bridge


@pytest.fixture
def bridge():
    return Bridge()


@pytest.fixture
def cid(bridge):
    cid = bridge.open(":memory:")
    yield cid
    bridge.close(cid)


def error_of(bridge, fn, *args):
    with pytest.raises(BaseException):
        fn(*args)
    return bridge.take_error()


def test_prepare_reports_an_id_and_the_columns_with_declared_types(bridge, cid):
    bridge.exec(cid, "create table t(a integer primary key, b text)")
    sid, cols = bridge.prepare(cid, "select a, b, a + 1 as c from t")
    assert isinstance(sid, int)
    assert cols == [["a", "integer"], ["b", "text"], ["c", None]]


def test_run_reports_changes_and_last_insert_rowid(bridge, cid):
    bridge.exec(cid, "create table t(a integer primary key, b text)")
    sid, _ = bridge.prepare(cid, "insert into t(b) values (?)")
    assert bridge.run(sid, ["x"]) == [1, 1]
    assert bridge.run(sid, ["y"]) == [1, 2]
    sid2, _ = bridge.prepare(cid, "select * from t")
    assert bridge.run(sid2, None) == [0, 2]


def test_rows_come_in_batches_until_done(bridge, cid):
    bridge.exec(cid, "create table t(n); " + "; ".join(f"insert into t values ({i})" for i in range(10)))
    sid, _ = bridge.prepare(cid, "select n from t order by n")
    rows, done = bridge.rows(sid, None, 4, False)
    assert (rows, done) == ([(0,), (1,), (2,), (3,)], False)
    rows, done = bridge.more(sid, 4, False)
    assert [r[0] for r in rows] == [4, 5, 6, 7] and not done
    rows, done = bridge.more(sid, 4, False)
    assert [r[0] for r in rows] == [8, 9] and done
    assert bridge.rows(sid, None, 0, False) == [[(i,) for i in range(10)], True]
    assert bridge.rows(sid, None, 1, False) == [[(0,)], True]


def test_named_parameters_bind_from_a_mapping(bridge, cid):
    sid, _ = bridge.prepare(cid, "select :a, @b, $c")
    assert bridge.rows(sid, {"a": 1, "b": "x", "c": None}, 0, False) == [[(1, "x", None)], True]


def test_safe_integers_pass_every_integer_through_bigint():
    b = Bridge(bigint=lambda v: ("big", v))
    cid = b.open(":memory:")
    sid, _ = b.prepare(cid, "select 1, 2.5, 'x'")
    assert b.rows(sid, None, 0, True) == [[[("big", 1), 2.5, "x"]], True]


def test_sqlite_errors_report_their_code_name_and_number(bridge, cid):
    bridge.exec(cid, "create table t(a unique)")
    bridge.exec(cid, "insert into t values (1)")
    sid, _ = bridge.prepare(cid, "insert into t values (1)")
    assert error_of(bridge, bridge.run, sid, None) == [SQLITE, "UNIQUE constraint failed: t.a",
                                                        "SQLITE_CONSTRAINT_UNIQUE", 2067]
    assert error_of(bridge, bridge.prepare, cid, "selec 1") == [SQLITE, 'near "selec": syntax error',
                                                                 "SQLITE_ERROR", 1]
    assert bridge.take_error() is None


def test_parameter_mistakes_and_statement_counts_are_range_errors(bridge, cid):
    sid, _ = bridge.prepare(cid, "select ?, ?")
    assert error_of(bridge, bridge.rows, sid, [1], 0, False)[0] == RANGE
    assert error_of(bridge, bridge.rows, sid, [1, 2 ** 63], 0, False)[0] == RANGE
    assert error_of(bridge, bridge.prepare, cid, "select 1; select 2")[0] == RANGE
    assert error_of(bridge, bridge.prepare, cid, "  -- nothing")[0] == RANGE


def test_other_failures_are_type_errors(bridge, cid):
    assert error_of(bridge, bridge.exec, 999, "select 1") == [TYPE, "KeyError: 999", None, None]


def test_exec_runs_every_statement_and_in_transaction_follows(bridge, cid):
    bridge.exec(cid, "create table t(x); begin; insert into t values (1)")
    assert bridge.in_transaction(cid)
    bridge.exec(cid, "rollback")
    assert not bridge.in_transaction(cid)
    sid, _ = bridge.prepare(cid, "select x from t")
    assert bridge.rows(sid, None, 0, False) == [[], True]


def test_closing_finalizes_the_connections_statements(bridge):
    cid = bridge.open(":memory:")
    sid, _ = bridge.prepare(cid, "select 1")
    bridge.close(cid)
    with pytest.raises(KeyError):
        bridge.rows(sid, None, 0, False)


def test_a_file_database_through_the_bridge_is_valid_for_sqlite3(tmp_path):
    b = Bridge(file_io=BlockingIO())
    path = str(tmp_path / "b.db")
    cid = b.open(path)
    b.exec(cid, "create table t(a, b); insert into t values (1, 'one')")
    b.close(cid)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert conn.execute("select * from t").fetchall() == [(1, "one")]
    finally:
        conn.close()


def test_opening_fails_cleanly_without_a_file_backend_or_a_missing_file(bridge, tmp_path):
    assert error_of(bridge, bridge.open, str(tmp_path / "x.db"))[2] == "SQLITE_CANTOPEN"
    b = Bridge(file_io=BlockingIO())
    assert error_of(b, b.open, str(tmp_path / "x.db"), False, True)[2] == "SQLITE_CANTOPEN"
    assert not (tmp_path / "x.db").exists()


def test_errors_are_limbodb_errors_for_python_callers(bridge, cid):
    with pytest.raises(Error):
        bridge.exec(cid, "select * from nowhere")


def test_user_functions_get_sql_values_and_return_them(bridge, cid):
    seen = []

    def fn(*args):
        seen.append(args)
        return sum(a for a in args if isinstance(a, int))

    bridge.create_function(cid, "f", -1, fn, True)
    sid, _ = bridge.prepare(cid, "select f(1, 2, 'x', x'00')")
    assert bridge.rows(sid, None, 0, False) == [[(3,)], True]
    assert seen == [(1, 2, "x", b"\x00")]


def test_user_aggregates_fold_each_group(bridge, cid):
    bridge.exec(cid, "create table t(g, x); insert into t values (1, 1), (1, 2), (2, 5)")
    bridge.create_aggregate(cid, "total", 1, lambda: 0, lambda acc, x: acc + x, lambda acc: acc * 10)
    sid, _ = bridge.prepare(cid, "select g, total(x) from t group by g order by g")
    assert bridge.rows(sid, None, 0, False) == [[(1, 30), (2, 50)], True]
