"""BEGIN CONCURRENT on an MVCC database: snapshot isolation, conflicts, rebase, durability."""

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

import limbodb
from limbodb.errors import SQLITE_BUSY

CONFLICT = "Write-write conflict"


def _open(path):
    return limbodb.connect(str(path), isolation_level=None)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "m.db"
    a = _open(path)
    assert a.execute("PRAGMA journal_mode = mvcc").fetchall() == [("mvcc",)]
    a.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b)")
    a.execute("INSERT INTO t1 VALUES(1, 10), (2, 20)")
    yield path, a
    a.close()


def _sqlite3(path):
    """sqlite3 on a copy of a checkpointed MVCC database with header bytes 18/19 set back to 1:
    its B-trees are SQLite's, only the mode bytes (255, Turso's) keep sqlite3 out."""
    data = bytearray(open(path, "rb").read())
    assert data[18] == data[19] == 255
    data[18] = data[19] = 1
    plain = str(path) + ".plain"
    with open(plain, "wb") as f:
        f.write(data)
    return sqlite3.connect(plain)


def _conflict(fn):
    with pytest.raises(limbodb.OperationalError) as e:
        fn()
    assert str(e.value) == CONFLICT
    assert e.value.sqlite_errorcode == SQLITE_BUSY


def test_journal_mode_pragma_matches_pyturso(tmp_path):
    turso = pytest.importorskip("turso")
    results = []
    for mod, name in ((turso, "t.db"), (limbodb, "l.db")):
        c = mod.connect(str(tmp_path / name), isolation_level=None)
        rows = [c.execute("PRAGMA journal_mode").fetchall(),
                c.execute("PRAGMA journal_mode = experimental_mvcc").fetchall(),
                c.execute("PRAGMA journal_mode").fetchall()]
        c.execute("CREATE TABLE t1(a)")
        c.execute("BEGIN CONCURRENT")
        try:
            c.execute("CREATE TABLE t2(a)")
        except Exception as e:
            rows.append(str(e))
        c.execute("COMMIT")
        c.execute("INSERT INTO t1 VALUES(1)")
        d = mod.connect(str(tmp_path / name), isolation_level=None)
        c.execute("BEGIN CONCURRENT")
        d.execute("BEGIN CONCURRENT")
        c.execute("UPDATE t1 SET a = 2")
        try:
            d.execute("UPDATE t1 SET a = 3")
        except Exception as e:
            rows.append((str(e), d.in_transaction))
        c.execute("COMMIT")
        rows.append(d.execute("SELECT a FROM t1").fetchall())
        d.close()
        rows.append(c.execute("PRAGMA journal_mode = wal").fetchall())
        try:
            c.execute("BEGIN CONCURRENT")
        except Exception as e:
            rows.append(str(e))
        c.close()
        results.append(rows)
    assert results[0] == results[1]
    assert (CONFLICT, False) in results[1] and [("mvcc",)] in results[1]


def test_lost_update_prevented(db):
    path, a = db
    b = _open(path)
    a.execute("BEGIN CONCURRENT")
    b.execute("BEGIN CONCURRENT")
    a.execute("UPDATE t1 SET b = b + 1 WHERE a = 1")
    _conflict(lambda: b.execute("UPDATE t1 SET b = b + 1 WHERE a = 1"))
    assert not b.in_transaction
    a.execute("COMMIT")
    # A transaction whose snapshot predates a commit of the row cannot write it either.
    b.execute("BEGIN CONCURRENT")
    assert b.execute("SELECT b FROM t1 WHERE a = 1").fetchall() == [(11,)]
    a.execute("UPDATE t1 SET b = b + 1 WHERE a = 1")
    _conflict(lambda: b.execute("UPDATE t1 SET b = b + 1 WHERE a = 1"))
    assert a.execute("SELECT b FROM t1 WHERE a = 1").fetchall() == [(12,)]
    b.close()


def test_write_skew_is_allowed_under_snapshot_isolation(db):
    path, a = db
    b = _open(path)
    a.execute("BEGIN CONCURRENT")
    b.execute("BEGIN CONCURRENT")
    # Each reads both rows, then writes the row the other did not.
    assert a.execute("SELECT sum(b) FROM t1").fetchone() == (30,)
    assert b.execute("SELECT sum(b) FROM t1").fetchone() == (30,)
    a.execute("UPDATE t1 SET b = b - 30 WHERE a = 1")
    b.execute("UPDATE t1 SET b = b - 30 WHERE a = 2")
    a.execute("COMMIT")
    b.execute("COMMIT")
    assert a.execute("SELECT * FROM t1 ORDER BY a").fetchall() == [(1, -20), (2, -10)]
    b.close()


def test_dirty_and_non_repeatable_reads_prevented(db):
    path, a = db
    b = _open(path)
    a.execute("BEGIN CONCURRENT")
    a.execute("UPDATE t1 SET b = 99 WHERE a = 1")
    b.execute("BEGIN CONCURRENT")
    assert b.execute("SELECT b FROM t1 WHERE a = 1").fetchall() == [(10,)]
    a.execute("COMMIT")
    assert b.execute("SELECT b FROM t1 WHERE a = 1").fetchall() == [(10,)]
    b.execute("COMMIT")
    assert b.execute("SELECT b FROM t1 WHERE a = 1").fetchall() == [(99,)]
    b.close()


def test_disjoint_rows_both_commit_with_indexes(db):
    path, a = db
    a.execute("CREATE TABLE t2(a INTEGER PRIMARY KEY, b UNIQUE, c)")
    a.execute("CREATE INDEX t2c ON t2(c)")
    a.execute("INSERT INTO t2 VALUES(1, 'x', 1), (2, 'y', 2)")
    b = _open(path)
    a.execute("BEGIN CONCURRENT")
    b.execute("BEGIN CONCURRENT")
    a.execute("UPDATE t2 SET c = 10 WHERE a = 1")
    b.execute("UPDATE t2 SET c = 20 WHERE a = 2")
    b.execute("INSERT INTO t2 VALUES(7, 'z', 3)")
    b.execute("DELETE FROM t1 WHERE a = 2")
    b.execute("COMMIT")
    a.execute("INSERT INTO t1 VALUES(5, 50)")
    a.execute("COMMIT")  # rebased onto b's commit
    a.close()
    b.close()
    s = _sqlite3(path)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert s.execute("SELECT * FROM t2 ORDER BY a").fetchall() == [(1, "x", 10), (2, "y", 20), (7, "z", 3)]
    assert s.execute("SELECT * FROM t1 ORDER BY a").fetchall() == [(1, 10), (5, 50)]
    assert s.execute("SELECT a FROM t2 WHERE c = 20").fetchall() == [(2,)]
    s.close()


def test_equal_values_of_a_non_unique_index_do_not_conflict(db):
    path, a = db
    a.execute("CREATE INDEX t1b ON t1(b)")
    b = _open(path)
    a.execute("BEGIN CONCURRENT")
    b.execute("BEGIN CONCURRENT")
    a.execute("INSERT INTO t1 VALUES(3, 'same')")
    b.execute("INSERT INTO t1 VALUES(4, 'same')")
    a.execute("COMMIT")
    b.execute("COMMIT")
    assert a.execute("SELECT a FROM t1 WHERE b = 'same' ORDER BY a").fetchall() == [(3,), (4,)]
    assert a.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    b.close()


def test_unique_key_inserted_by_two_transactions_conflicts(db):
    path, a = db
    a.execute("CREATE TABLE t2(a INTEGER PRIMARY KEY, b UNIQUE)")
    b = _open(path)
    a.execute("BEGIN CONCURRENT")
    b.execute("BEGIN CONCURRENT")
    a.execute("INSERT INTO t2 VALUES(1, 'k')")
    _conflict(lambda: b.execute("INSERT INTO t2 VALUES(2, 'k')"))
    a.execute("COMMIT")
    assert a.execute("SELECT * FROM t2").fetchall() == [(1, "k")]
    b.close()


def test_exclusive_transaction_blocks_concurrent_commit(db):
    path, a = db
    b = _open(path)
    a.execute("BEGIN IMMEDIATE")
    b.execute("BEGIN CONCURRENT")
    b.execute("UPDATE t1 SET b = 0 WHERE a = 2")
    _conflict(lambda: b.execute("COMMIT"))
    assert not b.in_transaction
    a.execute("UPDATE t1 SET b = 1 WHERE a = 1")
    a.execute("COMMIT")
    assert b.execute("SELECT * FROM t1 ORDER BY a").fetchall() == [(1, 1), (2, 20)]
    b.close()


def test_autocommit_write_after_snapshot_conflicts_at_commit(db):
    path, a = db
    b = _open(path)
    b.execute("BEGIN CONCURRENT")
    b.execute("UPDATE t1 SET b = 7 WHERE a = 1")
    a.execute("UPDATE t1 SET b = 8 WHERE a = 1")
    _conflict(lambda: b.execute("COMMIT"))
    assert a.execute("SELECT b FROM t1 WHERE a = 1").fetchall() == [(8,)]
    b.close()


def test_snapshot_older_than_begin_concurrent_cannot_lose_an_update(db):
    path, a = db
    b = _open(path)
    reader = a.execute("SELECT * FROM t1")  # unfinished: keeps a's snapshot
    reader.fetchone()
    b.execute("UPDATE t1 SET b = 77 WHERE a = 1")
    a.execute("BEGIN CONCURRENT")
    assert a.execute("SELECT b FROM t1 WHERE a = 1").fetchall() == [(10,)]
    a.execute("UPDATE t1 SET b = b + 1 WHERE a = 1")
    _conflict(lambda: a.execute("COMMIT"))
    reader.close()
    assert a.execute("SELECT b FROM t1 WHERE a = 1").fetchall() == [(77,)]
    b.close()


def _bank(connect, seed, steps=600):
    """Interleave transfers of many connections; returns the final balances and the model."""
    setup = connect()
    setup.execute("PRAGMA journal_mode = mvcc").fetchall()
    setup.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b INTEGER)")
    setup.execute("CREATE INDEX t1b ON t1(b)")
    n_accounts, total = 12, 12 * 100
    setup.executemany("INSERT INTO t1 VALUES(?, 100)", [(i,) for i in range(n_accounts)])
    rng = random.Random(seed)
    conns = [connect() for _ in range(6)]
    # Each connection's pending transfer: [from, to, amount, steps done].
    pending = [None] * len(conns)
    model = [100] * n_accounts
    committed = conflicts = 0
    for _ in range(steps):
        i = rng.randrange(len(conns))
        c, p = conns[i], pending[i]
        try:
            if p is None:
                src, dst = rng.sample(range(n_accounts), 2)
                c.execute("BEGIN CONCURRENT")
                pending[i] = [src, dst, rng.randrange(1, 30), 0]
            elif p[3] == 0:
                c.execute("UPDATE t1 SET b = b - ? WHERE a = ?", (p[2], p[0]))
                p[3] = 1
            elif p[3] == 1:
                c.execute("UPDATE t1 SET b = b + ? WHERE a = ?", (p[2], p[1]))
                p[3] = 2
            else:
                c.execute("COMMIT")
                model[p[0]] -= p[2]
                model[p[1]] += p[2]
                pending[i] = None
                committed += 1
        except limbodb.OperationalError as e:
            assert str(e) == CONFLICT
            assert not c.in_transaction
            pending[i] = None
            conflicts += 1
        assert setup.execute("SELECT sum(b) FROM t1").fetchone() == (total,)
    assert committed > 20 and conflicts > 0
    for c in conns:
        if c.in_transaction:
            c.execute("ROLLBACK")
        c.close()
    balances = [b for (b,) in setup.execute("SELECT b FROM t1 ORDER BY a")]
    setup.close()
    return balances, model


def test_randomized_bank_transfers_keep_the_total(tmp_path):
    path = str(tmp_path / "bank.db")
    balances, model = _bank(lambda: _open(path), 1234)
    assert balances == model
    s = _sqlite3(path)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert s.execute("SELECT b FROM t1 ORDER BY a").fetchall() == [(v,) for v in model]
    s.close()


@pytest.mark.parametrize("seed", range(3))
def test_bank_transfers_under_simulated_io_yielding(seed):
    from limbodb.io.sim import SimulatedIO
    from limbodb.storage.database import Database
    io = SimulatedIO(seed)
    try:
        balances, model = _bank(lambda: limbodb.connect("bank.db", io=io, isolation_level=None), seed, 300)
        assert balances == model
    finally:
        for key, db in list(Database._registry.items()):
            if db.io is io:
                del Database._registry[key]


def test_asyncio_tasks_transfer_concurrently(tmp_path):
    import asyncio
    import limbodb.aio as aio
    path = str(tmp_path / "aio.db")
    setup = _open(path)
    setup.execute("PRAGMA journal_mode = mvcc").fetchall()
    setup.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b INTEGER)")
    setup.executemany("INSERT INTO t1 VALUES(?, 100)", [(i,) for i in range(5)])
    outcomes = []

    async def worker(seed):
        rng = random.Random(seed)
        async with aio.connect(path, isolation_level=None) as c:
            for _ in range(15):
                src, dst = rng.sample(range(5), 2)
                try:
                    await c.execute("BEGIN CONCURRENT")
                    await c.execute("UPDATE t1 SET b = b - 1 WHERE a = ?", (src,))
                    await asyncio.sleep(0)
                    await c.execute("UPDATE t1 SET b = b + 1 WHERE a = ?", (dst,))
                    await asyncio.sleep(0)
                    await c.execute("COMMIT")
                    outcomes.append((src, dst))
                except limbodb.OperationalError as e:
                    assert str(e) == CONFLICT
                    outcomes.append(None)

    async def main():
        await asyncio.gather(*(worker(i) for i in range(6)))

    asyncio.run(main())
    expected = [100] * 5
    for o in outcomes:
        if o is not None:
            expected[o[0]] -= 1
            expected[o[1]] += 1
    assert None in outcomes and any(outcomes)
    assert setup.execute("SELECT b FROM t1 ORDER BY a").fetchall() == [(v,) for v in expected]
    setup.close()


_CHILD = textwrap.dedent("""
    import sys, limbodb
    path = sys.argv[1]
    a = limbodb.connect(path, isolation_level=None)
    b = limbodb.connect(path, isolation_level=None)
    a.execute("PRAGMA journal_mode = mvcc").fetchall()
    a.execute("CREATE TABLE IF NOT EXISTS t1(a INTEGER PRIMARY KEY, b)")
    i = 0
    while True:
        i += 1
        a.execute("BEGIN CONCURRENT")
        b.execute("BEGIN CONCURRENT")
        a.execute("INSERT INTO t1 VALUES(?, 'a')", (2 * i,))
        b.execute("INSERT INTO t1 VALUES(?, 'b')", (2 * i + 1,))
        a.execute("COMMIT")
        b.execute("COMMIT")  # rebased onto a's commit
        sys.stdout.write("%d\\n" % i)
        sys.stdout.flush()
""")


def test_kill_during_commits_loses_no_acknowledged_commit(tmp_path):
    path = str(tmp_path / "k.db")
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, path], stdout=subprocess.PIPE, text=True)
    acked = 0
    try:
        for line in proc.stdout:
            acked = int(line)
            if acked >= 40:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert acked >= 40
    # The log alone (the WAL's commits are not fsynced) holds every acknowledged commit too.
    log_only = path + ".log-only.db"
    shutil.copy(path, log_only)
    shutil.copy(path + "-log", log_only + "-log")
    c = _open(log_only)
    assert set(range(2, 2 * acked + 2)) <= {r[0] for r in c.execute("SELECT a FROM t1")}
    assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    c.close()
    c = _open(path)
    rows = {r[0] for r in c.execute("SELECT a FROM t1")}
    c.close()
    assert set(range(2, 2 * acked + 2)) <= rows
    s = _sqlite3(path)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    s.close()
