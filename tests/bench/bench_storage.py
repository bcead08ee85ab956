"""Storage benchmark of issue #3 through the SQL API: limbodb beside sqlite3 in one run.

Run: python tests/bench/bench_storage.py [--scale 1.0] [--only NAME] [--repeat 3] [--memory]

Workloads (sizes at --scale 1.0):
  insert        100,000 rows into t1(a INTEGER PRIMARY KEY, b INTEGER, c TEXT), one transaction
  point_lookup  10,000 random SELECT b, c FROM t1 WHERE a = ? (rowid lookups)
  full_scan     SELECT a, b, c FROM t1, every row fetched
  open_count    close, connect to the file again and SELECT count(*) FROM t1 (cold Database object)
Each engine works on its own file in a temp dir; the answers (row counts, sums) must be equal
or the run exits 1. See README.md beside this file for how to read the table.
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import Workload, main, scaled  # noqa: E402


def sizes_for(scale):
    return {"rows": scaled(100_000, scale), "lookups": scaled(10_000, scale)}


def _rows(n):
    rnd = random.Random(3)
    return [(i, rnd.randint(-10**9, 10**9), "row %d %s" % (i, "x" * rnd.randint(0, 40))) for i in range(1, n + 1)]


def insert(ctx):
    con = ctx.con
    con.execute("DROP TABLE IF EXISTS t1")
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b INTEGER, c TEXT)")
    rows = _rows(ctx.sizes["rows"])
    t0 = ctx.start()
    con.execute("BEGIN")
    con.executemany("INSERT INTO t1 VALUES(?, ?, ?)", rows)
    con.execute("COMMIT")
    seconds = ctx.stop(t0)
    return seconds, con.execute("SELECT count(*), sum(b), sum(length(c)) FROM t1").fetchone()


def point_lookup(ctx):
    n = ctx.sizes["rows"]
    rnd = random.Random(4)
    keys = [rnd.randint(1, n) for _ in range(ctx.sizes["lookups"])]
    execute = ctx.con.execute
    sql = "SELECT b, c FROM t1 WHERE a = ?"
    t0 = ctx.start()
    found = [execute(sql, (k,)).fetchone() for k in keys]
    seconds = ctx.stop(t0)
    return seconds, (len(found), sum(r[0] for r in found), sum(len(r[1]) for r in found))


def full_scan(ctx):
    t0 = ctx.start()
    rows = ctx.con.execute("SELECT a, b, c FROM t1").fetchall()
    seconds = ctx.stop(t0)
    return seconds, (len(rows), sum(r[0] for r in rows), sum(r[1] for r in rows), sum(len(r[2]) for r in rows))


def open_count(ctx):
    ctx.con.close()
    t0 = ctx.start()
    con = ctx.connect()
    count = con.execute("SELECT count(*) FROM t1").fetchone()[0]
    seconds = ctx.stop(t0)
    return seconds, count


WORKLOADS = [
    Workload("insert", insert, writes=True),
    Workload("point_lookup", point_lookup),
    Workload("full_scan", full_scan),
    Workload("open_count", open_count, file_only=True),
]


if __name__ == "__main__":
    sys.exit(main(__doc__.splitlines()[0], WORKLOADS, sizes_for))
