"""Outer WHERE terms and shared CTEs run where, and as often as, sqlite3 (3.40) runs them.

SQLite runs an outer WHERE term that reads one FROM subquery only inside that
subquery, before its result columns (flattened, or pushed down by
select.c pushDownWhereTerms), and computes a CTE named twice once. A result
column that overflows (abs() of the smallest integer) shows which rows a
subquery computed; a counting function shows how often a term or a CTE ran.
"""

import random
import sqlite3

import pytest

import limbodb

SETUP = """
CREATE TABLE t1(a, b);
INSERT INTO t1 VALUES (-9223372036854775808, 1), (2, 3), (5, 3), (7, NULL);
CREATE TABLE t2(a, b);
INSERT INTO t2 VALUES (1, 1), (3, 2), (NULL, 3);
CREATE VIEW v1 AS SELECT abs(a) AS c, b AS d FROM t1;
CREATE VIEW v2 AS SELECT abs(a) AS c, b AS d FROM t1 GROUP BY b;
"""


def _connect(mod, deterministic=True):
    c = mod.connect(":memory:")
    c.executescript(SETUP)
    calls = []

    def f(x):
        calls.append(x)
        return x
    c.create_function("f", 1, f, deterministic=deterministic)
    return c, calls


def _outcome(conn, sql):
    try:
        return sorted(conn.execute(sql).fetchall(), key=repr)
    except (sqlite3.Error, limbodb.Error) as e:
        return f"error: {e}"


@pytest.mark.parametrize("sql", [
    # A CTE named twice runs once; NOT MATERIALIZED, once per subquery naming it.
    "WITH c(x) AS (SELECT f(b) FROM t1) SELECT (SELECT max(x) FROM c), (SELECT min(x) FROM c)",
    "WITH c(x) AS (SELECT f(b) FROM t1) SELECT (SELECT max(x) FROM c), (SELECT min(x) FROM c) FROM t2",
    "WITH c(x) AS NOT MATERIALIZED (SELECT f(b) FROM t1) SELECT (SELECT max(x) FROM c), (SELECT min(x) FROM c)",
    "WITH c(x) AS MATERIALIZED (SELECT f(b) FROM t1) SELECT (SELECT max(x) FROM c) FROM t2",
    "WITH c(x) AS (SELECT f(a) FROM t1) SELECT count(*) FROM c AS p JOIN c AS q ON p.x = q.x",
    "WITH c(x) AS (SELECT f(b) FROM t1) SELECT * FROM t2 WHERE b IN (SELECT x FROM c) AND a NOT IN (SELECT x FROM c)",
    "WITH c(x) AS (SELECT f(b) FROM t1) SELECT count(*) FROM t1 WHERE 0 AND EXISTS (SELECT * FROM c AS p, c AS q)",
    "WITH RECURSIVE c(x) AS (SELECT f(1) UNION ALL SELECT f(x + 1) FROM c WHERE x < 3) "
    "SELECT count(*) FROM c AS p, c AS q",
    # The first use fills the CTE where its loops start; a later one where it is named.
    "WITH c(x) AS (SELECT f(b) FROM t1) SELECT count(*) FROM c AS p JOIN c AS q ON p.x = q.x WHERE 0",
    "WITH c(x) AS MATERIALIZED (SELECT f(b) FROM t1) SELECT * FROM c WHERE 0",
    "WITH c(x) AS (SELECT f(b) FROM t1) SELECT (SELECT max(x) FROM c WHERE 0), (SELECT min(x) FROM c)",
    # A CTE reading the row of the query around it runs again for each row.
    "SELECT (WITH c(x) AS (SELECT f(b + t.b) FROM t1) SELECT (SELECT max(x) FROM c) + (SELECT min(x) FROM c)) "
    "FROM t1 AS t",
    "WITH c(x) AS (SELECT f(b) FROM t1) SELECT (SELECT max(x + t.b) FROM c), (SELECT min(x) FROM c) FROM t1 AS t",
    # A view or NOT MATERIALIZED CTE named twice in one FROM, kept a subquery: computed once.
    "WITH c(x) AS NOT MATERIALIZED (SELECT DISTINCT f(b) FROM t1) "
    "SELECT count(*) FROM c AS p, c AS q, c AS r WHERE p.x = q.x AND q.x = r.x",
    # A term moved into a flattened subquery runs once per row; a pushed one also outside.
    "SELECT c FROM (SELECT abs(a) AS c, f(b) AS d FROM t1) WHERE d > 2",
    "SELECT c FROM (SELECT abs(a) AS c, b AS d FROM t1) WHERE f(d) > 2",
    "SELECT * FROM (SELECT abs(a) AS c, b AS d FROM t1) WHERE f(d) > 2",
    "SELECT c FROM (SELECT abs(a) AS c, f(b) AS d FROM t1 GROUP BY b) WHERE d > 2",
    "SELECT c FROM (SELECT DISTINCT abs(a) AS c, b AS d FROM t1) WHERE f(d) > 2",
])
def test_a_counted_call_runs_as_often_as_in_sqlite(sql):
    want_conn, want_calls = _connect(sqlite3)
    want = _outcome(want_conn, sql)
    got_conn, got_calls = _connect(limbodb)
    got = _outcome(got_conn, sql)
    assert got == want
    assert len(got_calls) == len(want_calls), sql


def test_a_function_not_declared_deterministic_is_not_pushed():
    # (SQLite runs this lone subquery as a co-routine, so f() runs on its first row before
    # the error: only the error is compared.)
    sql = "SELECT c FROM (SELECT abs(a) AS c, b AS d FROM t1 GROUP BY b) WHERE f(d) > 2"
    want_conn, _ = _connect(sqlite3, deterministic=False)
    got_conn, _ = _connect(limbodb, deterministic=False)
    assert _outcome(got_conn, sql) == _outcome(want_conn, sql) == "error: integer overflow"


def test_a_function_not_declared_deterministic_still_runs_first_in_a_flattened_subquery():
    sql = "SELECT c FROM (SELECT abs(a) AS c, b AS d FROM t1) WHERE f(d) > 2"
    want_conn, want_calls = _connect(sqlite3, deterministic=False)
    want = _outcome(want_conn, sql)
    got_conn, got_calls = _connect(limbodb, deterministic=False)
    assert _outcome(got_conn, sql) == want
    assert len(got_calls) == len(want_calls)


_TERMS = ["s.d > 2", "d > 2", "s.d IS NULL", "s.d IS NOT NULL", "f(s.d) > 2", "s.d > 2 + random() * 0",
          "s.d > (SELECT 2)", "s.c > 0", "s.d > 2 OR s.c > 0", "s.d BETWEEN 2 AND 9", "s.d IN (1, 3)",
          "coalesce(s.d, 0) > 2", "CASE WHEN s.d > 2 THEN 1 END", "s.d > 2 COLLATE nocase",
          "likely(s.d > 2)", "s.d > 2 AND s.d < 9"]
_JOIN_TERMS = ["s.d = t2.a", "s.d + t2.b > 3", "t2.b > 1"]


def _subquery(rng, joined):
    # (A subquery SQLite flattens into a join computes its columns for the joined rows only:
    # limbodb computes them for every row, so joins get subqueries SQLite keeps.)
    kept = joined or rng.random() < 0.4
    distinct = rng.choice(["", "DISTINCT "]) if kept else ""
    group = rng.choice(["", " GROUP BY b", " GROUP BY b HAVING count(*) > 0"]) if kept else ""
    where = rng.choice(["", "", " WHERE b > 0", " WHERE a > 0"])
    cols = rng.choice(["abs(a) AS c, b AS d", "abs(a) AS c, b AS d", "abs(a) AS c, f(b) AS d",
                       "abs(a) AS c, b+0 AS d", "abs(a) AS c, b AS d, row_number() OVER (PARTITION BY b) AS w",
                       "abs(a) AS c, b AS d, row_number() OVER () AS w"])
    if "OVER" in cols:
        group = ""
    elif kept and not distinct and not group:
        group = " GROUP BY b"
    sql = f"SELECT {distinct}{cols} FROM t1{where}{group}"
    op = rng.choice([None, None, "UNION ALL", "UNION", "EXCEPT"])
    if op is not None:
        sql += f" {op} SELECT {rng.choice(['abs(a), b', 'a, b', 'abs(a), +b'])}{', 0' if 'w' in cols else ''} FROM t2"
    sql += rng.choice(["", "", " ORDER BY d", " ORDER BY 1"])
    sql += rng.choice(["", "", "", " LIMIT 5"])
    return sql


def _query(rng):
    src = rng.choice(["<s>", "<s>", "<s>", "<s>, t2", "t2 LEFT JOIN <s> ON s.d > 2", "<s> JOIN t2 ON s.d = t2.b",
                      "<s> JOIN t2 ON s.d > 2", "t2, <s>", "<s> LEFT JOIN t2 ON s.d > 2"])
    joined = "t2" in src
    sub = _subquery(rng, joined)
    terms = [rng.choice(_TERMS + (_JOIN_TERMS if joined else [])) for _ in range(rng.choice([1, 1, 2, 3]))]
    cols = rng.choice(["s.d", "s.c", "*", "count(*)", "s.d, s.c"])
    outer = f"SELECT {cols} FROM {src} WHERE {' AND '.join(terms)}"
    form = rng.choice(["subquery", "subquery", "cte", "cte twice", "not materialized", "view"])
    if form == "view" and not joined:
        return outer.replace("<s>", f"{rng.choice(['v1', 'v2'])} AS s")
    if form in ("subquery", "view"):
        return outer.replace("<s>", f"({sub}) AS s")
    outer = outer.replace("<s>", "s")
    if form == "cte twice":
        return f"WITH s AS ({sub}) {outer.replace(' FROM ', ' FROM (SELECT 1 FROM s LIMIT 1) AS one, ', 1)}"
    hint = "NOT MATERIALIZED " if form == "not materialized" else ""
    return f"WITH s AS {hint}({sub}) {outer}"


@pytest.mark.parametrize("seed", range(6))
def test_random_outer_terms_reject_rows_where_sqlite_does(seed):
    rng = random.Random(seed)
    deterministic = seed % 3 != 2
    want_conn, _ = _connect(sqlite3, deterministic)
    got_conn, _ = _connect(limbodb, deterministic)
    for _ in range(150):
        sql = _query(rng)
        assert _outcome(got_conn, sql) == _outcome(want_conn, sql), sql
