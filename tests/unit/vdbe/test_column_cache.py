"""Compiled scans read table columns from the leaves' column caches (BTreeCursor.column):
answers stay sqlite3's when the rows change between and during scans, in this connection
or another, across rollback, and when the reads wait under a small page cache."""

import random
import sqlite3

import pytest

import limbodb
from limbodb.connection import Connection
from limbodb.io import MemoryIO, run_sync
from limbodb.io.sim import SimulatedIO
from limbodb.storage.btree_page import UNDECODED
from limbodb.vdbe import codegen

from .test_resume_on_simulated_io import _run

SCANS = [
    "SELECT count(*), sum(a), sum(b), total(length(c)) FROM t1 WHERE b BETWEEN 100 AND 700",
    "SELECT a, b, c FROM t1 WHERE a > 20 ORDER BY c, a LIMIT 12",
    "SELECT b % 9, count(*), max(c), min(b) FROM t1 GROUP BY 1",
    "SELECT count(*), sum(t2.a) FROM t1 JOIN t2 ON t2.a = t1.b WHERE t1.a <= 400",
]
# Each step changes rows between scans: in place, growing past the page, deleting, and
# statements that scan the very table they write.
CHANGES = [
    "UPDATE t1 SET b = b + 1 WHERE a % 5 = 0",
    "UPDATE t1 SET c = c || c || c || 'grown' WHERE a % 17 = 3",
    "DELETE FROM t1 WHERE b % 11 = 4",
    "INSERT INTO t1(b, c) SELECT b * 2, 'copy ' || c FROM t1 WHERE a % 13 = 1",
    "UPDATE t1 SET b = NULL, c = 7.5 WHERE a % 23 = 2",
    "UPDATE t1 SET b = b - 3",
]


def _fill(con):
    rnd = random.Random(7)
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b INTEGER, c TEXT)")
    con.execute("CREATE TABLE t2(a INTEGER PRIMARY KEY, b)")
    con.executemany("INSERT INTO t1 VALUES(?, ?, ?)",
                    [(i, rnd.choice([rnd.randrange(1000), None, -rnd.randrange(50)]),
                      rnd.choice(["w%d" % rnd.randrange(400), None, "x" * rnd.randrange(40)]))
                     for i in range(1, 900)])
    con.executemany("INSERT INTO t2 VALUES(?, ?)", [(i, i * 3) for i in range(1, 600)])


def _history(con):
    out = [[con.execute(s).fetchall() for s in SCANS]]
    for change in CHANGES:
        con.execute(change)
        # Twice: the second scan reads what the first one cached.
        out.append([con.execute(s).fetchall() for s in SCANS])
        out.append([con.execute(s).fetchall() for s in SCANS])
    return out


def _cached_leaves(con):
    pages = con._engine.pager.cache.lru.values()
    return [p for p in pages if p.aux is not None and p.aux.cols]


def test_scans_match_sqlite_while_rows_change_between_them():
    want = sqlite3.connect(":memory:")
    _fill(want)
    con = limbodb.connect(":memory:")
    _fill(con)
    assert _history(con) == _history(want)


def test_a_scan_leaves_its_columns_cached_in_the_leaves_it_read():
    con = limbodb.connect(":memory:")
    _fill(con)
    con.execute(SCANS[0]).fetchall()
    leaves = _cached_leaves(con)
    assert leaves
    for page in leaves:
        info = page.aux
        # b is read for every row, each leaf's at once; c only for the rows that pass.
        bs = info.cols[1]
        assert len(bs) == info.ncells and UNDECODED not in bs
        cs = info.cols.get(2, [UNDECODED] * info.ncells)
        assert [c is not UNDECODED for c in cs] == [b is not None and 100 <= b <= 700 for b in bs]


def test_the_same_answers_with_compiled_loops_off(monkeypatch):
    con = limbodb.connect(":memory:")
    _fill(con)
    compiled = _history(con)
    monkeypatch.setattr(codegen, "ENABLED", False)
    plain = limbodb.connect(":memory:")
    _fill(plain)
    assert _history(plain) == compiled


def test_a_rollback_brings_back_the_rows_a_scan_cached_before_it():
    con = limbodb.connect(":memory:", isolation_level=None)
    _fill(con)
    before = [con.execute(s).fetchall() for s in SCANS]
    con.execute("BEGIN")
    con.execute("UPDATE t1 SET b = b * 7, c = 'changed'")
    changed = [con.execute(s).fetchall() for s in SCANS]
    assert changed != before
    con.execute("ROLLBACK")
    assert [con.execute(s).fetchall() for s in SCANS] == before


def test_a_scan_sees_rows_another_connection_committed(tmp_path):
    path = str(tmp_path / "t.db")
    con = limbodb.connect(path, isolation_level=None)
    _fill(con)
    other = limbodb.connect(path, isolation_level=None)
    want = sqlite3.connect(":memory:")
    _fill(want)
    for change in CHANGES:
        assert [con.execute(s).fetchall() for s in SCANS] == [want.execute(s).fetchall() for s in SCANS]
        other.execute(change)
        want.execute(change)
    assert [con.execute(s).fetchall() for s in SCANS] == [want.execute(s).fetchall() for s in SCANS]
    other.close()
    con.close()


def _sim_history(io):
    conn = Connection("db", io)
    run_sync(io, conn.open)
    # A small page cache: leaves are read again mid-scan (and lose their caches).
    _run(conn, "PRAGMA cache_size = 5")
    _run(conn, "CREATE TABLE t1(a INTEGER PRIMARY KEY, b, c)")
    values = ", ".join("(%d, %d, '%s')" % (i, i * 37 % 101, "y" * (i % 90)) for i in range(1, 500))
    _run(conn, "INSERT INTO t1 VALUES " + values)
    out = []
    waits = 0
    for change in ("UPDATE t1 SET b = b + 2 WHERE a % 3 = 0", "DELETE FROM t1 WHERE b % 7 = 1",
                   "UPDATE t1 SET c = c || 'zz' WHERE b > 50"):
        for _ in range(2):
            for sql in ("SELECT count(*), sum(b), sum(length(c)) FROM t1 WHERE b BETWEEN 20 AND 70",
                        "SELECT a, b FROM t1 WHERE a > 50 ORDER BY c DESC, a LIMIT 9"):
                rows, w = _run(conn, sql)
                out.append(rows)
                waits += w
        waits += _run(conn, change)[1]
    return out, waits


@pytest.mark.parametrize("seed", [3, 19])
def test_cached_column_reads_resume_exactly_after_io(seed):
    want, _ = _sim_history(MemoryIO())
    got, waits = _sim_history(SimulatedIO(seed))
    assert waits > 0
    assert got == want
