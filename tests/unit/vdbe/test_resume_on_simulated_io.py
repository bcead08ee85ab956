"""Whole statements on SimulatedIO (every read waits, completions finish out of order) give
the same results as on MemoryIO: every handler resumes after IO without repeating effects."""

import pytest

from limbodb.connection import Connection
from limbodb.io import MemoryIO, run_sync
from limbodb.io.sim import SimulatedIO
from limbodb.vdbe import DONE, IO, ROW

SCRIPT = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT, c)",
    "CREATE INDEX i1 ON t1(c)",
    "CREATE TABLE t2(x UNIQUE, y)",
    "INSERT INTO t1(b, c) VALUES" + ", ".join(f"('row {i} {'x' * (i % 50)}', {i % 17})" for i in range(300)),
    "INSERT INTO t2 SELECT c, count(*) FROM t1 GROUP BY c",
    "UPDATE t1 SET b = upper(b) WHERE c IN (3, 5, 7)",
    "DELETE FROM t1 WHERE a % 4 = 0",
    "INSERT OR REPLACE INTO t2 VALUES(3, -1)",
    "CREATE INDEX i2 ON t1(b)",
]
QUERIES = [
    "SELECT count(*), sum(c), max(b) FROM t1",
    "SELECT * FROM t1 WHERE c = 5 ORDER BY a DESC LIMIT 7",
    "SELECT t2.x, t2.y, count(t1.a) FROM t2 LEFT JOIN t1 ON t1.c = t2.x GROUP BY t2.x",
    "SELECT b FROM t1 WHERE b > 'ROW 2' ORDER BY b LIMIT 5",
    "SELECT a FROM t1 WHERE a IN (SELECT y FROM t2) OR a = 290",
    "PRAGMA integrity_check",
]


def _run(conn, sql):
    st, _ = conn.prepare(sql)
    rows = []
    waits = 0
    while True:
        r = st.step()
        if r == ROW:
            rows.append(st.row())
        elif r == DONE:
            return rows, waits
        else:
            assert r == IO
            waits += 1
            while not st.completion.finished():
                conn.io.run_once()


def _results(io):
    conn = Connection("db", io)
    run_sync(io, conn.open)
    total_waits = 0
    for s in SCRIPT:
        total_waits += _run(conn, s)[1]
    out = []
    for q in QUERIES:
        rows, waits = _run(conn, q)
        out.append(rows)
        total_waits += waits
    return out, total_waits


@pytest.mark.parametrize("seed", [1, 7])
def test_statements_resumed_after_io_match_memory_io(seed):
    want, _ = _results(MemoryIO())
    got, waits = _results(SimulatedIO(seed))
    assert waits > 0
    assert got == want
