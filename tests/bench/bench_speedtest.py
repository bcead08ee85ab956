"""speedtest1-like SQL benchmark of issue #4: limbodb beside sqlite3 in one run.

Run: python tests/bench/bench_speedtest.py [--scale 1.0] [--only NAME] [--repeat 3] [--memory]

Workloads (sizes at --scale 1.0; N = 50,000 rows, as speedtest1 --size 100):
  bulk_insert      N rows into t1(a INTEGER PRIMARY KEY, b INTEGER, c TEXT), one transaction
  indexed_insert   N rows into t2(a INTEGER PRIMARY KEY, b INTEGER, c TEXT) with index t2b(b)
  select_rowid     10,000 SELECT b, c FROM t1 WHERE a = ?
  select_index     10,000 SELECT a, c FROM t2 WHERE b = ? (index lookup, ~1 row each)
  filtered_scan    10 x SELECT count(*), sum(a) FROM t1 WHERE b BETWEEN ? AND ? (no index)
  group_by         SELECT b % 100, count(*), sum(a), max(c) FROM t1 GROUP BY 1
  order_by_limit   5 x SELECT a, b, c FROM t1 WHERE a > ? ORDER BY c LIMIT 20 (sort, no index)
  join             SELECT count(*), sum(t2.a) FROM t1 JOIN t2 ON t2.b = t1.b WHERE t1.a <= N/5
  update_by_key    10,000 UPDATE t1 SET b = b + 1, c = ? WHERE a = ?, one transaction
  delete_by_key    10,000 DELETE FROM t2 WHERE a = ?, one transaction (index maintained)
Answers (row counts, sums) must be equal on both engines or the run exits 1.
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import Workload, main, scaled  # noqa: E402

_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def sizes_for(scale):
    return {"rows": scaled(50_000, scale), "queries": scaled(10_000, scale)}


def _spell(n):
    # speedtest1 stores numbers spelled out: text of varied length whose order differs from b's.
    return " ".join(_WORDS[int(d)] for d in str(n))


def _rows(n, seed):
    rnd = random.Random(seed)
    # b is a random permutation-like value in [0, 4n): mostly unique, a few duplicates.
    return [(i, b, _spell(b)) for i, b in ((i, rnd.randrange(4 * n)) for i in range(1, n + 1))]


def _insert(ctx, table, index_sql, seed):
    con = ctx.con
    con.execute("DROP TABLE IF EXISTS " + table)
    con.execute("CREATE TABLE %s(a INTEGER PRIMARY KEY, b INTEGER, c TEXT)" % table)
    if index_sql:
        con.execute(index_sql)
    rows = _rows(ctx.sizes["rows"], seed)
    t0 = ctx.start()
    con.execute("BEGIN")
    con.executemany("INSERT INTO %s VALUES(?, ?, ?)" % table, rows)
    con.execute("COMMIT")
    seconds = ctx.stop(t0)
    return seconds, con.execute("SELECT count(*), sum(b), sum(length(c)) FROM " + table).fetchone()


def bulk_insert(ctx):
    return _insert(ctx, "t1", None, 1)


def indexed_insert(ctx):
    return _insert(ctx, "t2", "CREATE INDEX t2b ON t2(b)", 2)


def _point_queries(ctx, sql, keys):
    execute = ctx.con.execute
    t0 = ctx.start()
    found = [execute(sql, (k,)).fetchall() for k in keys]
    seconds = ctx.stop(t0)
    rows = [r for rs in found for r in rs]
    return seconds, (len(rows), sum(r[0] for r in rows), sum(len(r[1]) for r in rows))


def select_rowid(ctx):
    rnd = random.Random(5)
    n = ctx.sizes["rows"]
    keys = [rnd.randint(1, n) for _ in range(ctx.sizes["queries"])]
    return _point_queries(ctx, "SELECT b, c FROM t1 WHERE a = ?", keys)


def select_index(ctx):
    # Probe with b values that exist in t2 (drawn from the same generator), so every query finds rows.
    bs = [r[1] for r in _rows(ctx.sizes["rows"], 2)]
    rnd = random.Random(6)
    keys = [rnd.choice(bs) for _ in range(ctx.sizes["queries"])]
    return _point_queries(ctx, "SELECT a, c FROM t2 WHERE b = ?", keys)


def filtered_scan(ctx):
    n = ctx.sizes["rows"]
    rnd = random.Random(7)
    ranges = [(lo, lo + n // 10) for lo in (rnd.randrange(4 * n) for _ in range(10))]
    execute = ctx.con.execute
    sql = "SELECT count(*), sum(a) FROM t1 WHERE b BETWEEN ? AND ?"
    t0 = ctx.start()
    out = [execute(sql, r).fetchone() for r in ranges]
    seconds = ctx.stop(t0)
    return seconds, out


def group_by(ctx):
    t0 = ctx.start()
    rows = ctx.con.execute("SELECT b % 100, count(*), sum(a), max(c) FROM t1 GROUP BY 1").fetchall()
    seconds = ctx.stop(t0)
    return seconds, rows


def order_by_limit(ctx):
    n = ctx.sizes["rows"]
    execute = ctx.con.execute
    sql = "SELECT a, b, c FROM t1 WHERE a > ? ORDER BY c LIMIT 20"
    t0 = ctx.start()
    out = [execute(sql, (k,)).fetchall() for k in range(0, n, n // 5)]
    seconds = ctx.stop(t0)
    return seconds, out


def join(ctx):
    sql = "SELECT count(*), sum(t2.a) FROM t1 JOIN t2 ON t2.b = t1.b WHERE t1.a <= ?"
    t0 = ctx.start()
    row = ctx.con.execute(sql, (ctx.sizes["rows"] // 5,)).fetchone()
    seconds = ctx.stop(t0)
    return seconds, row


def update_by_key(ctx):
    rnd = random.Random(8)
    n = ctx.sizes["rows"]
    params = [(_spell(i), rnd.randint(1, n)) for i in range(ctx.sizes["queries"])]
    con = ctx.con
    t0 = ctx.start()
    con.execute("BEGIN")
    con.executemany("UPDATE t1 SET b = b + 1, c = ? WHERE a = ?", params)
    con.execute("COMMIT")
    seconds = ctx.stop(t0)
    return seconds, con.execute("SELECT count(*), sum(b), sum(length(c)) FROM t1").fetchone()


def delete_by_key(ctx):
    rnd = random.Random(9)
    n = ctx.sizes["rows"]
    params = [(rnd.randint(1, n),) for _ in range(ctx.sizes["queries"])]
    con = ctx.con
    t0 = ctx.start()
    con.execute("BEGIN")
    con.executemany("DELETE FROM t2 WHERE a = ?", params)
    con.execute("COMMIT")
    seconds = ctx.stop(t0)
    # The second count reads through index t2b, so a stale index entry would show here.
    rows = con.execute("SELECT count(*), sum(a), sum(b) FROM t2").fetchone()
    return seconds, (rows, con.execute("SELECT count(*) FROM t2 WHERE b >= 0").fetchone())


WORKLOADS = [
    Workload("bulk_insert", bulk_insert, writes=True),
    Workload("indexed_insert", indexed_insert, writes=True),
    Workload("select_rowid", select_rowid),
    Workload("select_index", select_index),
    Workload("filtered_scan", filtered_scan),
    Workload("group_by", group_by),
    Workload("order_by_limit", order_by_limit),
    Workload("join", join),
    Workload("update_by_key", update_by_key, writes=True),
    Workload("delete_by_key", delete_by_key, writes=True),
]


if __name__ == "__main__":
    sys.exit(main(__doc__.splitlines()[0], WORKLOADS, sizes_for))
