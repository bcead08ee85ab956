"""A FROM subquery's unused result columns run exactly where sqlite3 (3.40) runs them.

SQLite flattens a subquery into the query around it when its restrictions allow,
and an unused column then never runs; otherwise every column does. A column
that overflows (abs() of the smallest integer) or calls a counting function
shows which happened. Random subquery and outer-query shapes must raise, or
not, as sqlite3 does.
"""

import random
import sqlite3

import pytest

import limbodb

SETUP = """
CREATE TABLE t1(a, b);
INSERT INTO t1 VALUES (-9223372036854775808, 1), (2, 3), (5, 3);
CREATE TABLE t2(a, b);
INSERT INTO t2 VALUES (1, 1), (3, 2);
"""


def _connect(mod):
    c = mod.connect(":memory:")
    c.executescript(SETUP)
    return c


def _outcome(conn, sql):
    try:
        return sorted(conn.execute(sql).fetchall(), key=repr)
    except (sqlite3.Error, limbodb.Error) as e:
        return f"error: {e}"


def _counting(conn):
    calls = []

    def f(x):
        calls.append(x)
        return x
    conn.create_function("f", 1, f)
    return calls


@pytest.mark.parametrize("sql", [
    "SELECT b FROM (SELECT f(a) AS c, b FROM t1)",
    "WITH s AS (SELECT f(a) AS c, b FROM t1) SELECT b FROM s",
    "SELECT count(*) FROM (SELECT f(a) AS c, b FROM t1 UNION ALL SELECT f(a), b FROM t2)",
    "SELECT b FROM (SELECT f(a) AS c, b FROM t1 UNION ALL SELECT f(a), b FROM t2)",
    "SELECT b FROM (SELECT DISTINCT f(a) AS c, b FROM t1)",
    "SELECT c FROM (SELECT f(a) AS c, b FROM t1)",
    "SELECT s.b FROM (SELECT f(a) AS c, b FROM t1 LIMIT 9) AS s, t2",
])
def test_a_function_in_an_unused_column_is_called_as_sqlite_calls_it(sql):
    want_conn = _connect(sqlite3)
    want_calls = _counting(want_conn)
    want = _outcome(want_conn, sql)
    got_conn = _connect(limbodb)
    got_calls = _counting(got_conn)
    got = _outcome(got_conn, sql)
    assert got == want
    assert len(got_calls) == len(want_calls), sql


_TRAP = "abs(a) AS c, b AS d"


def _subquery(rng):
    if rng.random() < 0.08:
        return "SELECT abs(-9223372036854775808) AS c, 1 AS d"
    distinct = rng.choice(["", "", "", "DISTINCT "])
    group = rng.choice(["", "", "", "", " GROUP BY b"])
    where = rng.choice(["", "", " WHERE b > 0", " WHERE a > 0"])
    sql = f"SELECT {distinct}{_TRAP} FROM t1{where}{group}"
    op = rng.choice([None, None, None, "UNION ALL", "UNION ALL", "UNION"])
    if op is not None:
        sql += f" {op} SELECT {rng.choice(['abs(a), b', 'abs(a), b', 'a, b', 'abs(a), +b'])} FROM t2"
    sql += rng.choice(["", "", "", " ORDER BY d", " ORDER BY c", " ORDER BY 2"])
    sql += rng.choice(["", "", "", " LIMIT 5", " LIMIT 5 OFFSET 0"])
    return sql


def _query(rng):
    sub = _subquery(rng)
    src = rng.choice(["<s>", "<s>", "<s>, t2", "t2 LEFT JOIN <s> ON s.d = t2.a", "<s> JOIN t2 ON s.d = t2.b",
                      "t2, <s>"])
    cols = rng.choice(["s.d", "s.d", "s.c", "count(*)", "max(s.d)", "sum(s.d)", "s.d + 1 AS z",
                       "s.d, row_number() OVER (ORDER BY s.d)", "s.d, count(*) OVER ()", "(SELECT s.d)"])
    distinct = rng.choice(["", "", "", "DISTINCT "])
    # (A WHERE that reads the right side of a LEFT JOIN makes it an inner join in SQLite first.)
    where = rng.choice(["", "", " WHERE s.d > 0" if "LEFT" not in src else " WHERE t2.b > 0"])
    order = rng.choice(["", "", " ORDER BY 1"])
    # (Which rows a LIMIT keeps from an unordered join depends on the join order each planner picks.)
    limit = rng.choice(["", "", " LIMIT 3"]) if "t2" not in src else ""
    group = rng.choice(["", "", "", " GROUP BY s.d"]) if "OVER" not in cols else ""
    outer = f"SELECT {distinct}{cols} FROM {src}{where}{group}{order}{limit}"
    if not order and not limit and rng.random() < 0.2:
        arm = "SELECT 9" + ", 9" * cols.count(",")
        op = rng.choice([" UNION ALL ", " UNION ", " EXCEPT "])
        outer = (outer + op + arm) if rng.random() < 0.5 else (arm + op + outer)
        outer += rng.choice(["", " ORDER BY 1"])
    form = rng.choice(["subquery", "subquery", "cte", "cte twice", "not materialized", "nested", "star"])
    if form == "subquery":
        return outer.replace("<s>", f"({sub}) AS s")
    outer = outer.replace("<s>", "s")
    if form in ("nested", "star"):
        inner = f"SELECT {'*' if form == 'star' else 'c, d'} FROM ({sub}) AS s0"
        return f"WITH s AS ({inner}) {outer}"
    if form == "cte twice":
        return f"WITH s AS ({sub}) {outer.replace(' FROM ', ' FROM (SELECT 1 FROM s LIMIT 1) AS one, ', 1)}"
    hint = "NOT MATERIALIZED " if form == "not materialized" else ""
    return f"WITH s AS {hint}({sub}) {outer}"


@pytest.mark.parametrize("seed", range(6))
def test_random_subquery_shapes_raise_where_sqlite_raises(seed):
    rng = random.Random(seed)
    want_conn = _connect(sqlite3)
    got_conn = _connect(limbodb)
    for _ in range(150):
        sql = _query(rng)
        want = _outcome(want_conn, sql)
        got = _outcome(got_conn, sql)
        assert got == want, sql
