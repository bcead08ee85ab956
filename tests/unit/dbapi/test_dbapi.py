"""The DB-API layer's own behaviour: busy handling, schema changes, caching, tracing, modes and checks."""

import sqlite3
import threading
import time

import pytest

import limbodb
from limbodb.errors import SQLITE_BUSY


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "t.db")


def test_busy_writer_times_out_with_database_is_locked(path):
    a = limbodb.connect(path, isolation_level=None)
    b = limbodb.connect(path, isolation_level=None, timeout=0.1)
    a.execute("CREATE TABLE t(x)")
    a.execute("BEGIN IMMEDIATE")
    a.execute("INSERT INTO t VALUES (1)")
    start = time.monotonic()
    with pytest.raises(limbodb.OperationalError, match="^database is locked$") as e:
        b.execute("INSERT INTO t VALUES (2)")
    assert time.monotonic() - start >= 0.1
    assert e.value.sqlite_errorcode == SQLITE_BUSY
    assert b.execute("SELECT x FROM t").fetchall() == []  # readers still see the last commit
    a.execute("COMMIT")
    b.execute("INSERT INTO t VALUES (2)")
    assert a.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (2,)]


def test_busy_is_retried_until_the_writer_commits(path, monkeypatch):
    a = limbodb.connect(path, isolation_level=None)
    b = limbodb.connect(path, isolation_level=None, timeout=5)
    a.execute("CREATE TABLE t(x)")
    a.execute("BEGIN IMMEDIATE")
    sleeps = []

    def commit_on_third_sleep(seconds):
        # The busy loop sleeps between attempts: let the other writer finish meanwhile.
        sleeps.append(seconds)
        if len(sleeps) == 3:
            a.execute("COMMIT")

    monkeypatch.setattr(time, "sleep", commit_on_third_sleep)
    b.execute("INSERT INTO t VALUES (1)")
    assert len(sleeps) == 3
    assert a.execute("SELECT x FROM t").fetchall() == [(1,)]


def test_schema_change_by_another_connection_reprepares(path):
    a = limbodb.connect(path, isolation_level=None)
    b = limbodb.connect(path, isolation_level=None)
    a.execute("CREATE TABLE t(x)")
    a.execute("INSERT INTO t VALUES (1)")
    cur = b.execute("SELECT * FROM t")
    assert cur.fetchall() == [(1,)] and [d[0] for d in cur.description] == ["x"]
    a.execute("DROP TABLE t")
    a.execute("CREATE TABLE t(p, q)")
    a.execute("INSERT INTO t VALUES (7, 8)")
    cur = b.execute("SELECT * FROM t")
    assert cur.fetchall() == [(7, 8)]
    assert [d[0] for d in cur.description] == ["p", "q"]


def test_table_created_by_another_connection_is_found(path):
    a = limbodb.connect(path, isolation_level=None)
    b = limbodb.connect(path, isolation_level=None)
    b.execute("SELECT 1").fetchall()
    a.execute("CREATE TABLE late(x)")
    assert b.execute("SELECT count(*) FROM late").fetchone() == (0,)


def test_programs_are_cached_until_the_schema_changes():
    conn = limbodb.connect(":memory:", isolation_level=None)
    engine = conn._engine
    conn.execute("CREATE TABLE t(x)")
    first, _ = engine.prepare("SELECT x FROM t")
    again, _ = engine.prepare("SELECT x FROM t")
    assert again.program is first.program
    conn.execute("CREATE TABLE u(y)")
    after, _ = engine.prepare("SELECT x FROM t")
    assert after.program is not first.program


def test_finalized_statements_hand_their_vm_to_the_next_one():
    conn = limbodb.connect(":memory:", isolation_level=None)
    engine = conn._engine
    conn.execute("CREATE TABLE t(x)")
    first, _ = engine.prepare("INSERT INTO t VALUES (?)")
    first.bind((1,))
    vm = first.vm
    first.finalize()
    second, _ = engine.prepare("INSERT INTO t VALUES (?)")
    assert second.vm is vm and vm.params[1] is None
    other, _ = engine.prepare("INSERT INTO t VALUES (?)")
    assert other.vm is not vm
    # Repeated executions through the DB-API reuse it too, and still see their own parameters.
    for i in range(3):
        conn.execute("INSERT INTO t VALUES (?)", (i,))
    assert conn.execute("SELECT x FROM t").fetchall() == [(0,), (1,), (2,)]


def test_prepare_returns_the_tail():
    conn = limbodb.connect(":memory:")
    engine = conn._engine
    sql = "SELECT 1; SELECT 2;  -- done"
    stmt, end = engine.prepare(sql)
    assert stmt.sql == "SELECT 1;"
    stmt2, end2 = engine.prepare(sql, end)
    assert stmt2.sql == " SELECT 2;"
    assert engine.prepare(sql, end2)[0] is None


def _trace_log(module):
    c = module.connect(":memory:")
    log = []
    c.set_trace_callback(log.append)
    c.execute("CREATE TABLE t(x, y)")
    c.execute("INSERT INTO t VALUES (?, ?)", (1.5, "it's"))
    c.execute("INSERT INTO t VALUES (:a, :a || 'x')", {"a": 0.1})
    c.commit()
    c.executemany("INSERT INTO t VALUES (?, ?)", [(None, b"\x01"), (2, 3)])
    c.rollback()
    c.executescript("SELECT 1; SELECT 2;")
    c.set_trace_callback(None)
    c.execute("SELECT 3")
    return log


def test_trace_callback_sees_what_sqlite3_reports():
    assert _trace_log(limbodb) == _trace_log(sqlite3)


def _interrupt_outcome(module):
    c = module.connect(":memory:")
    cur = c.execute("SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3")
    first = cur.fetchone()
    c.interrupt()
    try:
        cur.fetchone()
        outcome = "no error"
    except module.OperationalError as e:
        outcome = str(e)
    return first, outcome, c.execute("SELECT 4").fetchone()


def test_interrupt_fails_the_running_statement_only():
    assert _interrupt_outcome(limbodb) == _interrupt_outcome(sqlite3)


def _colnames(module):
    c = module.connect(":memory:", detect_types=module.PARSE_COLNAMES)
    cur = c.execute('SELECT 1 AS "x [int]", 2 AS "y[z]", 3 AS "w [", 4 AS plain')
    return [d[0] for d in cur.description]


def test_parse_colnames_trims_descriptions():
    assert _colnames(limbodb) == _colnames(sqlite3)


def test_other_threads_are_refused():
    conn = limbodb.connect(":memory:")
    errors = []

    def use():
        try:
            conn.execute("SELECT 1")
        except limbodb.ProgrammingError as e:
            errors.append(str(e))

    t = threading.Thread(target=use)
    t.start()
    t.join()
    assert len(errors) == 1 and "same thread" in errors[0]
    shared = limbodb.connect(":memory:", check_same_thread=False)
    t = threading.Thread(target=lambda: shared.execute("SELECT 1").fetchall())
    t.start()
    t.join()


def test_read_only_uri(path):
    w = limbodb.connect(path)
    w.execute("CREATE TABLE t(x)")
    w.commit()
    w.close()
    r = limbodb.connect(f"file:{path}?mode=ro", uri=True)
    assert r.execute("SELECT count(*) FROM t").fetchone() == (0,)
    with pytest.raises(limbodb.OperationalError, match="attempt to write a readonly database"):
        r.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(limbodb.OperationalError, match="unable to open database file"):
        limbodb.connect(f"file:{path}-missing?mode=ro", uri=True)
    assert limbodb.connect("file::memory:?cache=shared", uri=True).execute("SELECT 1").fetchone() == (1,)


def test_path_like_and_bytes_paths(tmp_path):
    c = limbodb.connect(tmp_path / "p.db")
    c.execute("CREATE TABLE t(x)")
    c.commit()
    c.close()
    c = limbodb.connect(str(tmp_path / "p.db").encode())
    assert c.execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]


def test_execute_needs_a_str():
    c = limbodb.connect(":memory:")
    with pytest.raises(TypeError):
        c.execute(b"SELECT 1")


def test_autocommit_true_ignores_commit_and_rollback():
    c = limbodb.connect(":memory:", autocommit=True)
    c.execute("CREATE TABLE t(x)")
    c.execute("INSERT INTO t VALUES (1)")
    assert not c.in_transaction
    c.rollback()
    assert c.execute("SELECT x FROM t").fetchall() == [(1,)]
    c.execute("BEGIN")
    c.execute("INSERT INTO t VALUES (2)")
    c.execute("ROLLBACK")
    assert c.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_executescript_commits_a_pending_legacy_transaction(path):
    a = limbodb.connect(path)
    a.execute("CREATE TABLE t(x)")
    a.execute("INSERT INTO t VALUES (1)")
    assert a.in_transaction
    a.executescript("INSERT INTO t VALUES (2);")
    assert not a.in_transaction
    b = limbodb.connect(path)
    assert b.execute("SELECT count(*) FROM t").fetchone() == (2,)


def test_row_constructor_and_hash():
    c = limbodb.connect(":memory:")
    cur = c.execute("SELECT 1 AS a, 2 AS b")
    r1 = limbodb.Row(cur, (1, 2))
    r2 = limbodb.Row(cur, (1, 2))
    assert r1 == r2 and hash(r1) == hash(r2) and r1 != limbodb.Row(cur, (1, 3))
    with pytest.raises(TypeError):
        limbodb.Row(cur, [1, 2])
    with pytest.raises(TypeError):
        limbodb.Row(object(), (1, 2))


def test_closing_rolls_back_an_open_transaction(path):
    a = limbodb.connect(path)
    a.execute("CREATE TABLE t(x)")
    a.commit()
    a.execute("INSERT INTO t VALUES (1)")
    a.close()
    b = limbodb.connect(path)
    assert b.execute("SELECT count(*) FROM t").fetchone() == (0,)


def _workload(conn):
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT UNIQUE, n)")
    conn.executemany("INSERT INTO t(s, n) VALUES (?, ?)", [("k%03d" % i * 30, i * 1.5) for i in range(120)])
    conn.commit()
    conn.execute("UPDATE t SET n = n * 2 WHERE id % 3 = 0")
    conn.execute("DELETE FROM t WHERE id % 7 = 0")
    conn.commit()
    return conn.execute("SELECT id, substr(s, 1, 4), n FROM t WHERE s > 'k05' ORDER BY s DESC").fetchall()


def _second_connection(io):
    """A second connection on the same backend: loads the schema, sees DDL made by the first."""
    first = limbodb.connect("t.db", io=io, isolation_level=None)
    second = limbodb.connect("t.db", io=io, isolation_level=None)
    first.execute("CREATE INDEX t_n ON t(n)")
    first.execute("CREATE TABLE u(a, b UNIQUE)")
    first.execute("INSERT INTO u VALUES (1, 2)")
    return (second.execute("SELECT count(*) FROM t WHERE n > 30").fetchone(),
            second.execute("SELECT a, b FROM u").fetchall(),
            sorted(second._engine.schema.indexes))


@pytest.mark.parametrize("seed", range(3))
def test_dbapi_waits_on_simulated_io_and_gets_the_same_results(seed):
    from limbodb.io import MemoryIO
    from limbodb.io.sim import SimulatedIO
    memory, sim = MemoryIO(), SimulatedIO(seed)
    expected = _workload(limbodb.connect("t.db", io=memory))
    assert len(expected) > 50
    assert _workload(limbodb.connect("t.db", io=sim)) == expected
    assert _second_connection(sim) == _second_connection(memory)
