"""Planner paths (rowid/index lookups, ranges, IN, covering and ordered scans, join order):
same rows as sqlite3, and the same EXPLAIN QUERY PLAN lines."""

import random
import sqlite3

import pytest

from limbodb.connection import Connection
from limbodb.io import run_sync
from limbodb.vdbe import DONE, ROW

SCHEMA = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b, c TEXT, d REAL)",
    "CREATE INDEX i1 ON t1(b)",
    "CREATE INDEX i2 ON t1(c, d)",
    "CREATE TABLE t2(x, y, z)",
    "CREATE UNIQUE INDEX i3 ON t2(y)",
]


def _rows(seed):
    rnd = random.Random(seed)
    out = []
    for a in range(1, 60):
        b = rnd.choice([None, rnd.randint(0, 20), str(rnd.randint(0, 20)), rnd.random() * 20])
        c = rnd.choice([None, "x", "y", "Y", "z", str(rnd.randint(0, 5))])
        d = rnd.choice([None, rnd.randint(-5, 5), rnd.random()])
        out.append(f"INSERT INTO t1 VALUES({a}, {_lit(b)}, {_lit(c)}, {_lit(d)})")
    for y in range(40):
        out.append(f"INSERT INTO t2 VALUES({rnd.randint(0, 30)}, {y}, {_lit(rnd.choice([None, 'p', 'q']))})")
    return out


def _lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, str):
        return "'" + v + "'"
    return repr(v)


def _limbo(script):
    conn = Connection(":memory:")
    run_sync(conn.io, conn.open)

    def run(sql):
        st, _ = conn.prepare(sql)
        rows = []
        while True:
            r = st.step()
            if r == ROW:
                rows.append(st.row())
            elif r == DONE:
                return rows
            else:
                while not st.completion.finished():
                    conn.io.run_once()
    for s in script:
        run(s)
    return run


QUERIES = [
    "SELECT * FROM t1 WHERE a = 7",
    "SELECT * FROM t1 WHERE a = '7'",
    "SELECT * FROM t1 WHERE a = 7.5",
    "SELECT * FROM t1 WHERE a IN (3, 5, 5, 99, NULL)",
    "SELECT * FROM t1 WHERE a > 10 AND a <= 20",
    "SELECT * FROM t1 WHERE a >= 55 ORDER BY a DESC",
    "SELECT * FROM t1 WHERE a < 4.5",
    "SELECT a FROM t1 WHERE b = 3",
    "SELECT a FROM t1 WHERE b = '3'",
    "SELECT a, b FROM t1 WHERE b > 5 AND b < 12",
    "SELECT a, b FROM t1 WHERE b < 5",
    "SELECT a, b FROM t1 WHERE b >= 15",
    "SELECT * FROM t1 WHERE b IN (1, 2, '3', 4.0)",
    "SELECT * FROM t1 WHERE c = 'y' AND d > 0",
    "SELECT c, d FROM t1 WHERE c = 'x' ORDER BY d",
    "SELECT c, d FROM t1 WHERE c = 'x' ORDER BY d DESC",
    "SELECT * FROM t1 ORDER BY b",
    "SELECT * FROM t1 ORDER BY b DESC",
    "SELECT c FROM t1 ORDER BY c",
    "SELECT b FROM t1",
    "SELECT * FROM t1 WHERE b IN (SELECT x FROM t2)",
    "SELECT * FROM t1 WHERE a IN (SELECT y FROM t2 WHERE z = 'p')",
    "SELECT t1.a, t2.y FROM t1, t2 WHERE t1.a = t2.x",
    "SELECT t1.a, t2.y FROM t1 JOIN t2 ON t2.y = t1.b",
    "SELECT t1.a, t2.y FROM t1 LEFT JOIN t2 ON t2.y = t1.a WHERE t1.a < 10",
    "SELECT t1.a, t2.y FROM t1 LEFT JOIN t2 ON t2.y = t1.a WHERE t2.z IS NULL",
    "SELECT u.a, v.a FROM t1 u, t1 v WHERE u.a = v.b",
]


@pytest.mark.parametrize("seed", [1, 2])
def test_planned_queries_return_sqlites_rows(seed):
    script = SCHEMA + _rows(seed)
    ref = sqlite3.connect(":memory:")
    for s in script:
        ref.execute(s)
    run = _limbo(script)
    for q in QUERIES:
        want = ref.execute(q).fetchall()
        got = run(q)
        if "ORDER BY" not in q:
            want = sorted(want, key=repr)
            got = sorted(got, key=repr)
        assert got == want, q


@pytest.mark.parametrize("query", [q for q in QUERIES if "IN (SELECT" not in q] + [
    "SELECT count(*) FROM t1", "SELECT * FROM t1 WHERE d = 1", "SELECT max(b) FROM t1",
    "SELECT min(c) FROM t1", "SELECT max(a), c FROM t1", "SELECT count(*), max(b) FROM t1",
    "SELECT * FROM t1 WHERE a = 1 AND b = 2", "SELECT DISTINCT c FROM t1",
])
def test_query_plan_lines_match_sqlite(query):
    ref = sqlite3.connect(":memory:")
    for s in SCHEMA:
        ref.execute(s)
    run = _limbo(SCHEMA)
    want = [r[3] for r in ref.execute("EXPLAIN QUERY PLAN " + query)]
    got = [r[3] for r in run("EXPLAIN QUERY PLAN " + query)]
    assert got == want


def test_explain_lists_every_instruction_like_sqlite():
    run = _limbo(SCHEMA)
    rows = run("EXPLAIN SELECT c FROM t1 WHERE a = 1")
    assert [r[0] for r in rows] == list(range(len(rows)))
    names = [r[1] for r in rows]
    assert names[0] == "Init" and "SeekRowid" in names and "ResultRow" in names and "Halt" in names
    assert all(len(r) == 8 for r in rows)
    tx = rows[rows[0][3]]
    assert tx[1] == "Transaction"


def _plan_tree(rows):
    """(detail, its parent's detail or None) per EXPLAIN QUERY PLAN row: ids are addresses."""
    detail = {r[0]: r[3] for r in rows}
    return [(r[3], detail.get(r[1])) for r in rows]


@pytest.mark.parametrize("query", [
    "SELECT count(*) FROM t1 AS x, (SELECT a FROM t1 LIMIT 3)",
    "SELECT * FROM t1 AS x, (SELECT DISTINCT b FROM t1 LIMIT 3) AS s",
    "SELECT * FROM t1 AS x LEFT JOIN (t1 AS y JOIN t1 AS z ON y.a = z.b) ON 1",
    "SELECT * FROM (SELECT a FROM t1 LIMIT 3) AS s, (SELECT b FROM t1 LIMIT 2) AS u WHERE s.a = u.b",
])
def test_materialized_subqueries_are_named_and_nested_as_sqlite_shows_them(query):
    ref = sqlite3.connect(":memory:")
    for s in SCHEMA:
        ref.execute(s)
    run = _limbo(SCHEMA)
    want = _plan_tree(ref.execute("EXPLAIN QUERY PLAN " + query).fetchall())
    got = _plan_tree(run("EXPLAIN QUERY PLAN " + query))
    assert sorted(got, key=repr) == sorted(want, key=repr)
