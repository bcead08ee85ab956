"""A first FROM subquery the loops read outermost runs as a co-routine (no ephemeral
table); one the planner puts at another level is run into its table before the loops.
"""

import sqlite3

import limbodb
from limbodb.translate import planner

SETUP = """CREATE TABLE t1(a, b); INSERT INTO t1 VALUES (1, 2), (5, 3), (-9223372036854775808, 4);
CREATE TABLE t2(x INTEGER PRIMARY KEY, y); INSERT INTO t2 VALUES (5, 'five'), (6, 'six');"""


def _both(sql):
    con = limbodb.connect(":memory:")
    con.executescript(SETUP)
    oracle = sqlite3.connect(":memory:")
    oracle.executescript(SETUP)
    return con, con.execute(sql).fetchall(), oracle.execute(sql).fetchall()


def _opcodes(con, sql):
    return [r[1] for r in con.execute("EXPLAIN " + sql)]


def test_the_outermost_subquery_has_no_ephemeral_table():
    sql = "SELECT s.a, t2.y FROM (SELECT a FROM t1 UNION ALL SELECT 7) AS s LEFT JOIN t2 ON t2.x = s.a"
    con, got, want = _both(sql)
    assert got == want
    ops = _opcodes(con, sql)
    assert "OpenEphemeral" not in ops
    assert ops.count("InitCoroutine") == 2 and "EndCoroutine" in ops


def test_a_co_routine_the_planner_reads_at_an_inner_level_fills_a_table(monkeypatch):
    sql = "SELECT s.a, t2.y FROM (SELECT a FROM t1 WHERE a > 0 UNION ALL SELECT 7) AS s CROSS JOIN t2"
    monkeypatch.setattr(planner, "_choose_order", lambda b, scope, levels, nsrc, used: list(range(nsrc))[::-1])
    con, got, want = _both(sql)
    assert sorted(got) == sorted(want)
    assert "OpenEphemeral" in _opcodes(con, sql)
    plan = [r[3] for r in con.execute("EXPLAIN QUERY PLAN " + sql)]
    assert plan.index("SCAN t2") < plan.index("SCAN s")
