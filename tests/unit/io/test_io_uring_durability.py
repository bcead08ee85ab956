"""Durability ordering of the engine's writes through io_uring, read from a trace of the ring.

Checked on every commit and checkpoint of a real workload: a sync is submitted
only once every write submitted before it to the same file has finished (WAL
frames are on disk before the commit's fsync), and the WAL is reset (rewritten
at offset 0 or truncated) only after the checkpoint's database writes were
synced. The pager orders these by waiting for completions between phases.
"""

import os
import sqlite3

import pytest

import limbodb
from limbodb.io.uring.choose import open_uring, uring_unavailable_reason

REASON = uring_unavailable_reason("ctypes")
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"io_uring unavailable: {REASON}")


def _tracing_io():
    io = open_uring(binding="ctypes")
    log = []
    queue_op, finish = io._queue_op, io._finish

    def traced_queue_op(op):
        log.append(("submit", op.completion.op, os.path.basename(op.file.path), op.offset, id(op.completion)))
        queue_op(op)

    def traced_finish(op, res):
        finish(op, res)
        if op.completion.finished():
            log.append(("done", op.completion.op, os.path.basename(op.file.path), op.offset, id(op.completion)))

    io._queue_op = traced_queue_op
    io._finish = traced_finish
    return io, log


def _check_ordering(log, db_name):
    wal_name = db_name + "-wal"
    pending = {}
    db_unsynced = False  # a database write submitted and not yet covered by a finished sync
    db_sync_ids = set()
    syncs = {db_name: 0, wal_name: 0}
    for kind, op, name, offset, cid in log:
        if kind == "done":
            pending.pop(cid, None)
            if cid in db_sync_ids:
                db_unsynced = False
            continue
        if op == "sync":
            assert not [p for p in pending.values() if p == ("write", name)], f"sync of {name} before its writes"
            syncs[name] += 1
            if name == db_name:
                db_sync_ids.add(cid)
        if op == "write" and name == db_name:
            db_unsynced = True
        if name == wal_name and (op == "truncate" or (op == "write" and offset == 0)):
            assert not db_unsynced, "WAL reset before the checkpointed pages were synced"
        pending[cid] = (op, name)
    return syncs


def test_commits_and_checkpoints_order_their_writes_and_syncs(tmp_path):
    path = str(tmp_path / "t1.db")
    io, log = _tracing_io()
    con = limbodb.connect(path, io=io)
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT)")
    con.commit()
    for batch in range(5):
        con.executemany("INSERT INTO t1(b) VALUES (?)", [(f"{batch}-{i}" * 40,) for i in range(200)])
        con.commit()
    con.execute("DELETE FROM t1 WHERE a % 3 = 0")
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    con.execute("UPDATE t1 SET b = 'z' WHERE a < 50")
    con.commit()
    con.close()

    syncs = _check_ordering(log, "t1.db")
    assert syncs["t1.db-wal"] >= 8 and syncs["t1.db"] >= 1
    # The checkpoint read and wrote its pages many at a time: batches, not one enter per page.
    assert io.enter_calls < sum(1 for e in log if e[0] == "submit")
    ref = sqlite3.connect(path)
    try:
        assert ref.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert ref.execute("SELECT count(*) FROM t1").fetchone() == (sum(1 for a in range(1, 1001) if a % 3),)
    finally:
        ref.close()


def test_the_checker_rejects_a_sync_before_its_write_and_an_early_wal_reset():
    early_sync = [("submit", "write", "t1.db-wal", 32, 1), ("submit", "sync", "t1.db-wal", None, 2)]
    with pytest.raises(AssertionError, match="sync of t1.db-wal before its writes"):
        _check_ordering(early_sync, "t1.db")
    early_reset = [("submit", "write", "t1.db", 0, 1), ("done", "write", "t1.db", 0, 1),
                   ("submit", "sync", "t1.db", None, 2), ("submit", "truncate", "t1.db-wal", 0, 3)]
    with pytest.raises(AssertionError, match="WAL reset before"):
        _check_ordering(early_reset, "t1.db")
