"""Trigger bodies and foreign key actions run as frames of their statement (execute_trigger.py):
on SimulatedIO, where reads wait, a statement that returns IO from inside a frame resumes there,
and every result equals MemoryIO's."""

import pytest

from limbodb.connection import Connection
from limbodb.io import MemoryIO, run_sync
from limbodb.io.sim import SimulatedIO
from limbodb.vdbe import DONE, IO, ROW

SCRIPT = [
    "PRAGMA cache_size = 4",
    "PRAGMA recursive_triggers = 1",
    "PRAGMA foreign_keys = 1",
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT)",
    "INSERT INTO t1 SELECT value, printf('%0400d', value) FROM generate_series(1, 400)",
    "CREATE TABLE t2(n, b)",
    # Each level reads a row of t1 far from the last one's page, then recurses.
    "CREATE TRIGGER r2 AFTER INSERT ON t2 WHEN new.n < 300 BEGIN "
    "INSERT INTO t2 VALUES (new.n + 1, (SELECT b FROM t1 WHERE a = (new.n * 137) % 400 + 1)); END",
    "INSERT INTO t2 VALUES (1, NULL)",
    "CREATE TABLE p(id INTEGER PRIMARY KEY, parent REFERENCES p(id) ON DELETE CASCADE, pad TEXT)",
    "CREATE INDEX p_parent ON p(parent)",
    "INSERT INTO p SELECT value, nullif(value - 1, 0), printf('%0300d', value) FROM generate_series(1, 300)",
    "DELETE FROM p WHERE id = 1",
]
QUERIES = [
    "SELECT count(*), max(n), sum(length(b)) FROM t2",
    "SELECT count(*) FROM p",
    "PRAGMA integrity_check",
]


def _run(conn, sql):
    """(rows, how many IO waits came from inside a frame)."""
    st, _ = conn.prepare(sql)
    rows = []
    in_frames = 0
    while True:
        r = st.step()
        if r == ROW:
            rows.append(st.row())
        elif r == DONE:
            return rows, in_frames
        else:
            assert r == IO
            if st.vm.frames:
                in_frames += 1
            while not st.completion.finished():
                conn.io.run_once()


def _results(io):
    conn = Connection("db", io)
    run_sync(io, conn.open)
    waits = 0
    for s in SCRIPT:
        waits += _run(conn, s)[1]
    return [_run(conn, q)[0] for q in QUERIES], waits


@pytest.mark.parametrize("seed", [3, 11])
def test_frames_resume_after_io_and_match_memory_io(seed):
    want, _ = _results(MemoryIO())
    got, waits = _results(SimulatedIO(seed))
    assert waits > 0
    assert got == want
    assert want == [[(300, 300, 299 * 400)], [(0,)], [("ok",)]]
