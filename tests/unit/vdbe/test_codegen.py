"""Loops compiled to Python (vdbe/codegen.py) run exactly as the per-instruction closures do:
same rows as with compilation off and as sqlite3, the same resumes after IO, and the
read-path shortcuts that ride on them (top-N sorter, index sort keys) keep SQLite's answers."""

import random
import sqlite3

import pytest

import limbodb
from limbodb.connection import Connection
from limbodb.io import MemoryIO, run_sync
from limbodb.io.sim import SimulatedIO
from limbodb.vdbe import codegen
from limbodb.vdbe.insn import OP_Next
from limbodb.vdbe.sorter import Sorter, SortSpec

from .test_resume_on_simulated_io import _run

SETUP = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b INTEGER, c TEXT)",
    "CREATE TABLE t2(a INTEGER PRIMARY KEY, b, c TEXT COLLATE NOCASE)",
    "CREATE INDEX t2b ON t2(b)",
]
QUERIES = [
    ("SELECT count(*), sum(a) FROM t1 WHERE b BETWEEN ? AND ?", (100, 900)),
    ("SELECT b % 7, count(*), sum(a), max(c), min(b) FROM t1 GROUP BY 1", ()),
    ("SELECT a, b, c FROM t1 WHERE a > ? ORDER BY c LIMIT 15", (40,)),
    ("SELECT a, b, c FROM t1 ORDER BY c, b DESC LIMIT 30", ()),
    ("SELECT c, a FROM t2 ORDER BY c LIMIT 25", ()),
    ("SELECT count(*), sum(t2.a) FROM t1 JOIN t2 ON t2.b = t1.b WHERE t1.a <= ?", (300,)),
    ("SELECT t1.a, t2.a FROM t1 LEFT JOIN t2 ON t2.b = t1.b WHERE t1.a < 60 ORDER BY 1, 2", ()),
    ("SELECT a, b FROM t2 WHERE b BETWEEN 10 AND 20.5 ORDER BY a", ()),
    ("SELECT a FROM t2 WHERE b >= 'm' ORDER BY b, a", ()),
    ("SELECT a FROM t1 WHERE b > '500' AND c < 'm'", ()),
    ("SELECT a, d FROM t1 WHERE d IS NOT NULL OR a % 50 = 0", ()),
    ("SELECT a FROM t1 WHERE (b > 400) AND NOT (c IS NULL)", ()),
    ("SELECT a, b FROM t1 ORDER BY a DESC LIMIT 10", ()),
]


def _fill(con):
    rnd = random.Random(3)
    for s in SETUP:
        con.execute(s)
    rows1 = [(i, rnd.choice([None, rnd.randrange(1000), rnd.randrange(-5, 5), 10 ** 12 + i]),
              rnd.choice([None, "w%d" % rnd.randrange(300), "W%d" % rnd.randrange(50)])) for i in range(1, 700)]
    rows2 = [(i, rnd.choice([None, rnd.randrange(1000), rnd.random() * 30, "t%d" % rnd.randrange(40),
                             "M", b"\x01"]), rnd.choice(["Ab", "aB", "ab", "b", None]))
             for i in range(1, 500)]
    con.executemany("INSERT INTO t1 VALUES(?, ?, ?)", rows1)
    con.executemany("INSERT INTO t2 VALUES(?, ?, ?)", rows2)
    # Rows written before the column existed read its default.
    con.execute("ALTER TABLE t1 ADD COLUMN d DEFAULT 'dflt'")
    con.execute("UPDATE t1 SET d = NULL WHERE a % 3 = 0")


def _answers(con):
    return [con.execute(sql, params).fetchall() for sql, params in QUERIES]


@pytest.fixture
def oracle():
    con = sqlite3.connect(":memory:")
    _fill(con)
    return _answers(con)


def test_compiled_loops_return_the_rows_of_the_closures_and_of_sqlite(oracle, monkeypatch):
    con = limbodb.connect(":memory:")
    _fill(con)
    compiled = _answers(con)
    monkeypatch.setattr(codegen, "ENABLED", False)
    plain = limbodb.connect(":memory:")
    _fill(plain)
    assert _answers(plain) == oracle
    assert compiled == oracle


def test_a_scan_loop_becomes_one_region_entered_at_its_head():
    conn = Connection(":memory:", MemoryIO())
    run_sync(conn.io, conn.open)
    _run(conn, "CREATE TABLE t1(a INTEGER PRIMARY KEY, b, c)")
    st, _ = conn.prepare("SELECT count(*), sum(a), max(c) FROM t1 WHERE b BETWEEN 5 AND 10")
    program = st.vm.program
    nexts = [(pc, i.p2) for pc, i in enumerate(program.insns) if i.opcode == OP_Next]
    assert [(r.first, r.last) for r in program.regions] == [(head, pc) for pc, head in nexts]
    region = program.regions[0]
    assert region.first in region.starts
    # Block starts enter the region; the other pcs inside keep closures of their own.
    entries = [pc for pc in range(region.first, region.last + 1)
               if st.vm.ops[pc].__name__ == "enter_region"]
    assert entries == region.starts
    assert len(entries) < region.last + 1 - region.first


def test_a_loop_calls_its_fused_insert_runs_whole():
    conn = Connection(":memory:", MemoryIO())
    run_sync(conn.io, conn.open)
    _run(conn, "CREATE TABLE t1(a INTEGER PRIMARY KEY, b, c)")
    _run(conn, "CREATE TABLE t2(a INTEGER PRIMARY KEY, b, c)")
    _run(conn, "CREATE INDEX t2b ON t2(b)")
    st, _ = conn.prepare("INSERT INTO t2 SELECT a, b, c FROM t1 WHERE b > 0")
    program = st.vm.program
    fused = {pc for pc, factory, _ in program.proto if factory.__name__ in ("idx_insert_run", "insert_run")}
    assert len(fused) == 2
    assert {pc for region in program.regions for pc in region.fused} == fused


def test_programs_without_loops_compile_nothing():
    conn = Connection(":memory:", MemoryIO())
    run_sync(conn.io, conn.open)
    st, _ = conn.prepare("SELECT 1 + 2")
    assert st.vm.program.regions == []


def _sim_results(io):
    conn = Connection("db", io)
    run_sync(io, conn.open)
    # A small page cache: the loops read pages again, so their reads wait mid-loop.
    _run(conn, "PRAGMA cache_size = 4")
    _run(conn, "CREATE TABLE t1(a INTEGER PRIMARY KEY, b, c)")
    _run(conn, "CREATE INDEX t1b ON t1(b)")
    values = ", ".join("(%d, %d, '%s')" % (i, i * 37 % 101, "x" * (i % 300)) for i in range(1, 400))
    _run(conn, "INSERT INTO t1 VALUES " + values)
    out = []
    waits = 0
    for sql in ("SELECT count(*), sum(length(c)) FROM t1 WHERE b BETWEEN 20 AND 70",
                "SELECT b % 5, count(*), max(c) FROM t1 GROUP BY 1",
                "SELECT a, length(c) FROM t1 WHERE a > 100 ORDER BY c DESC, a LIMIT 7",
                "SELECT count(*) FROM t1 AS x JOIN t1 AS y ON y.b = x.b WHERE x.a < 200"):
        rows, w = _run(conn, sql)
        out.append(rows)
        waits += w
    # A loop that writes: its MakeRecord+IdxInsert and MakeRecord+Insert are fused runs the
    # region calls whole, and their B-tree writes wait mid-run.
    _run(conn, "CREATE TABLE t3(a INTEGER PRIMARY KEY, b, c)")
    _run(conn, "CREATE INDEX t3bc ON t3(b, c)")
    _, w = _run(conn, "INSERT INTO t3 SELECT a, b, c FROM t1 WHERE a % 3 <> 0")
    waits += w
    for sql in ("SELECT b, a FROM t3 ORDER BY b, c, a", "PRAGMA integrity_check"):
        rows, w = _run(conn, sql)
        out.append(rows)
        waits += w
    return out, waits


@pytest.mark.parametrize("seed", [2, 11])
def test_compiled_loops_resume_exactly_after_io(seed):
    want, _ = _sim_results(MemoryIO())
    got, waits = _sim_results(SimulatedIO(seed))
    assert waits > 0
    assert got == want


@pytest.mark.parametrize("desc,collation", [(False, None), (True, None), (False, "BINARY"), (False, "NOCASE")])
def test_a_capped_sorter_keeps_the_rows_a_full_sort_puts_first(desc, collation):
    rnd = random.Random(5)
    values = [None, 0, -3, 2.5, -1e300, "a", "B", "b", "é", "", b"", b"\x00", b"z"]
    rows = [[rnd.choice(values + [rnd.randrange(50), "k%d" % rnd.randrange(30)]), i] for i in range(3000)]
    spec = SortSpec([collation], [desc])
    full = Sorter(spec)
    capped = Sorter(spec, cap=40)
    for r in rows:
        full.insert(list(r))
        capped.insert(list(r))
    full.sort()
    capped.sort()
    assert capped.rows[:40] == full.rows[:40]
    # One BINARY ascending key: the bound is compared split into (rank, value), no key tuples.
    assert (capped._brank is not None) == (not desc and collation != "NOCASE")


def test_order_by_limit_with_ties_matches_the_unlimited_order():
    con = limbodb.connect(":memory:")
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, c TEXT COLLATE NOCASE)")
    rnd = random.Random(9)
    con.executemany("INSERT INTO t1 VALUES(?, ?)",
                    [(i, rnd.choice(["a", "A", "b", None, "B", "c"])) for i in range(1, 2000)])
    every = con.execute("SELECT a, c FROM t1 ORDER BY c").fetchall()
    assert con.execute("SELECT a, c FROM t1 ORDER BY c LIMIT 50").fetchall() == every[:50]


def test_a_capped_sorter_drops_rows_that_sort_after_its_kept_rows():
    sorter = Sorter(SortSpec([None], [False]), cap=5)
    for i in range(256):
        sorter.insert([i, i])
    # The 256th row trimmed the rows to the first five in order.
    assert [r[0] for r in sorter.rows] == [0, 1, 2, 3, 4]
    sorter.insert([100, -1])
    # A tie with the last row kept would sort after it (the sort is stable): dropped too.
    sorter.insert([4, -2])
    assert len(sorter.rows) == 5
    sorter.insert([2, -3])
    assert len(sorter.rows) == 6
    sorter.sort()
    assert sorter.rows[:5] == [[0, 0], [1, 1], [2, 2], [2, -3], [3, 3]]


@pytest.mark.parametrize("seed", range(6))
def test_sorting_keys_of_one_storage_class_gives_sqlites_order(seed):
    # Columns of one class sort on the values themselves; mixed ones on rank tuples.
    from functools import cmp_to_key

    from limbodb.storage.record import compare_values
    rnd = random.Random(seed)
    pools = [lambda: rnd.randrange(-5, 5), lambda: rnd.choice([rnd.randrange(9), rnd.random() * 9]),
             lambda: rnd.choice("aAbBé"), lambda: bytes([rnd.randrange(3)]),
             lambda: rnd.choice([None, 1, "a", b"a", 0.5])]
    cols = [rnd.choice(pools) for _ in range(3)]
    desc = [rnd.random() < 0.5 for _ in cols]
    rows = [[c() for c in cols] + [i] for i in range(500)]

    def cmp(a, b):
        for i, d in enumerate(desc):
            x, y = a[i], b[i]
            r = 0 if x is None and y is None else -1 if x is None else 1 if y is None else compare_values(x, y)
            if r:
                # NULLs come first ascending and last descending, as SQLite's default.
                return -r if d else r
        return 0
    sorter = Sorter(SortSpec([None, "BINARY", None], desc))
    for r in rows:
        sorter.insert(list(r))
    sorter.sort()
    assert sorter.rows == sorted(rows, key=cmp_to_key(cmp))
