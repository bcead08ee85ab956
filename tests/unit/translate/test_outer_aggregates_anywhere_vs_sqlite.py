"""An aggregate call belongs to the innermost query whose FROM its arguments read, wherever it is written.

SQLite (resolve.c) walks out from the query a call is written in while its
arguments name none of that query's sources; the query it stops at computes
the call, so the subqueries between only read its value. These cases put the
call in derived tables, compounds, CTEs, views, table-valued functions, WHERE
clauses and two or three levels deep, and compare rows (values, types and row
counts) or the error with SQLite. Where the stdlib sqlite3 (3.40) still
rejects a form that current SQLite accepts, apsw's bundled SQLite is the oracle.
"""

import sqlite3

import pytest

import limbodb

SETUP = [
    "CREATE TABLE t1(a, c TEXT)",
    "INSERT INTO t1 VALUES(1, 'x'), (2, 'y'), (3, 'x'), (4, 'z'), (2.5, 'y')",
    "CREATE TABLE t2(b)",
    "INSERT INTO t2 VALUES(10), (20)",
    "CREATE TABLE t3(d)",
    "INSERT INTO t3 VALUES(100)",
    "CREATE VIEW v2 AS SELECT b FROM t2",
]


def _run(mod, sql):
    """The rows of ``sql`` over SETUP with a DB-API module (limbodb or sqlite3), or its error."""
    c = mod.connect(":memory:", isolation_level=None)
    for s in SETUP:
        c.execute(s)
    try:
        return c.execute(sql).fetchall()
    except mod.Error as e:
        return type(e).__name__, str(e)


def _apsw(sql):
    import apsw  # a native extension: not in Pyodide, where this test is excluded
    c = apsw.Connection(":memory:")
    for s in SETUP:
        c.execute(s)
    try:
        return [tuple(r) for r in c.execute(sql)]
    except apsw.SQLError as e:
        return "OperationalError", str(e)


def _same(mine, theirs):
    assert mine == theirs
    if isinstance(theirs, list):
        assert [[type(v) for v in r] for r in mine] == [[type(v) for v in r] for r in theirs]


@pytest.mark.parametrize("sql", [
    # Compounds: the call is in one arm; the outer query becomes an aggregate (one row).
    "SELECT (SELECT max(t1.a) FROM t2 UNION ALL SELECT 5) FROM t1",
    "SELECT (SELECT 5 UNION ALL SELECT max(t1.a) FROM t2) FROM t1",
    "SELECT (SELECT 5 UNION ALL SELECT max(t1.a) FROM t2 ORDER BY 1) FROM t1",
    "SELECT (SELECT max(t1.a) FROM t2 WHERE b = 10 UNION SELECT min(t1.a) FROM t2 ORDER BY 1 DESC) FROM t1",
    # Views, table-valued functions and FROM subqueries as the inner query's sources.
    "SELECT (SELECT max(t1.a) FROM v2) FROM t1",
    "SELECT (SELECT max(t1.a) FROM json_each('[1,2]')) FROM t1",
    "SELECT (SELECT max(t1.a) FROM (SELECT 1)) FROM t1",
    "SELECT (SELECT max(t1.a) FROM (SELECT * FROM t2)) FROM t1",
    "SELECT (SELECT count(*) FROM (SELECT max(t1.a) FROM t2)) FROM t1",
    # Two and three levels deep: the innermost query named by the arguments owns the call.
    "SELECT (SELECT (SELECT max(t1.a) FROM t3) FROM t2) FROM t1",
    "SELECT (SELECT (SELECT max(t1.a) FROM t3) FROM t2 LIMIT 1) FROM t1",
    "SELECT (SELECT (SELECT max(t1.a + t2.b) FROM t3) FROM t2) FROM t1",
    "SELECT (SELECT (SELECT max(t2.b) FROM t3) FROM t2) FROM t1",
    "SELECT (SELECT (SELECT max(t1.a) + max(t2.b) FROM t3) FROM t2) FROM t1",
    "SELECT (SELECT (SELECT max(t1.a) + count(*) FROM t3) FROM t2) FROM t1",
    "SELECT (SELECT (SELECT (SELECT sum(t1.a) FROM t3) FROM t3) FROM t2) FROM t1",
    "SELECT c, (SELECT (SELECT count(t1.a) FROM t3) FROM t2) FROM t1 GROUP BY c ORDER BY c",
    "SELECT (SELECT (SELECT max(t1.a) FROM t3) FROM t2) FROM t1 WHERE a > 1",
    "SELECT (SELECT count(*) FROM t2 WHERE b > (SELECT max(t1.a) FROM t3)) FROM t1",
    "SELECT (SELECT max(t1.a) FROM t3 WHERE (SELECT 1 FROM t2)) FROM t1",
    # Columns of a subquery inside the arguments count as the outer reference they are.
    "SELECT (SELECT max((SELECT t1.a)) FROM t2) FROM t1",
    "SELECT (SELECT max((SELECT t1.a FROM t3)) FROM t2) FROM t1",
    "SELECT (SELECT max((SELECT d FROM t3)) FROM t2) FROM t1",
    # In an aggregate inner query's WHERE an outer call is allowed; elsewhere it is misuse.
    "SELECT (SELECT sum(b) FROM t2 WHERE max(t1.a) > 2) FROM t1",
    "SELECT (SELECT 1 FROM t2 WHERE max(t1.a) > 0 GROUP BY b) FROM t1",
    "SELECT (SELECT sum(b) FROM t2 WHERE b > max(t1.a) * 4) FROM t1 GROUP BY c ORDER BY c",
    "SELECT (SELECT 1 FROM t2 WHERE max(t1.a) > 0) FROM t1",
    "SELECT a FROM t1 WHERE (SELECT (SELECT max(t1.a) FROM t3) FROM t2) > 1",
    "SELECT (SELECT max(a) FROM t2) FROM t1 JOIN t3 ON (SELECT max(t1.a) FROM t2) > 1",
    "SELECT count(*) FROM t1 GROUP BY (SELECT max(t1.a) FROM t2)",
    # EXISTS in a WHERE is coded without its result columns, so a call only there is not misuse.
    "SELECT a FROM t1 WHERE EXISTS (SELECT max(t1.a) FROM t3 WHERE d > 1000)",
    "SELECT a FROM t1 WHERE EXISTS (SELECT (SELECT max(t1.a) FROM t2) FROM t3)",
    "SELECT a FROM t1 WHERE 1 IN (SELECT EXISTS (SELECT max(t1.a) FROM t3 WHERE d > 1000))",
    "SELECT a FROM t1 WHERE EXISTS (SELECT 1 FROM t3 WHERE (SELECT max(t1.a) FROM t2) > 0)",
    "SELECT (SELECT 1 WHERE EXISTS (SELECT max(t1.a) FROM t3 WHERE d > 1000)) FROM t1",
    "SELECT (SELECT count(*) FROM t2 WHERE EXISTS (SELECT max(t1.a) FROM t3 WHERE d > 1000)) FROM t1",
    "SELECT EXISTS (SELECT max(t1.a) FROM t3 WHERE d > 1000) FROM t1",
    # Several outer calls, HAVING and ORDER BY, aliases.
    "SELECT (SELECT max(t1.a) FROM t2), (SELECT max(t1.a) FROM t3) FROM t1",
    "SELECT a, (SELECT count(t1.a) FROM t2) FROM t1 GROUP BY a HAVING (SELECT sum(t1.a) FROM t2) > 2 "
    "ORDER BY (SELECT min(t1.a) FROM t2)",
    "SELECT x.a, (SELECT max(x.a) FROM t2) FROM t1 AS x GROUP BY c ORDER BY 1",
    "SELECT * FROM (SELECT (SELECT max(t1.a) FROM t2) AS m FROM t1)",
    "SELECT (SELECT max(x.a) FROM t2) FROM (SELECT * FROM t1) AS x",
    "SELECT (SELECT max(a) FROM t2) FROM (SELECT a FROM t1 UNION ALL SELECT 7)",
    "SELECT 0 UNION ALL SELECT (SELECT max(a) FROM t2) FROM t1",
    # A window call is not an aggregate of any query.
    "SELECT (SELECT max(t1.a) OVER () FROM t2) FROM t1",
])
def test_same_as_sqlite(sql):
    _same(_run(limbodb, sql), _run(sqlite3, sql))


@pytest.mark.parametrize("sql", [
    # sqlite3 3.40 reports "misuse of aggregate" for these; SQLite since 3.41 gives the outer query the call.
    "SELECT (SELECT x FROM (SELECT max(t1.a) AS x FROM t2)) FROM t1",
    "SELECT (SELECT x FROM (SELECT max(t1.a) AS x FROM t2) WHERE x > 0) FROM t1",
    "SELECT (WITH w AS (SELECT max(t1.a) AS m FROM t2) SELECT m FROM w) FROM t1",
    "WITH w AS (SELECT max(t1.a) AS m FROM t2) SELECT (SELECT m FROM w) FROM t1",
    "SELECT (SELECT b FROM t2 ORDER BY max(t1.a)) FROM t1",
    "SELECT (SELECT group_concat(t1.a ORDER BY t2.b) FROM t2) FROM t1",
])
def test_same_as_current_sqlite(sql):
    _same(_run(limbodb, sql), _apsw(sql))


@pytest.mark.parametrize("sql", [
    "WITH w AS (SELECT 1 AS x) SELECT (SELECT x FROM w)",
    "WITH w AS (SELECT 1 AS x) SELECT (SELECT x FROM w) FROM t1",
    "WITH w AS (SELECT 1 AS x) SELECT a FROM t1 WHERE a IN (SELECT x FROM w)",
    "WITH w AS (SELECT 1 AS x) SELECT a FROM t1 WHERE rowid IN (SELECT x FROM w)",
    "WITH w AS (SELECT 1 AS x) SELECT a FROM t1 WHERE EXISTS (SELECT x FROM w WHERE x = a)",
    "WITH w AS (SELECT 2 AS x) SELECT (WITH w AS (SELECT 3 AS x) SELECT x FROM w), (SELECT x FROM w)",
    "WITH w AS (SELECT 2 AS x) VALUES ((SELECT x FROM w))",
    "WITH w(x) AS (SELECT 2), w2 AS (SELECT (SELECT x FROM w) AS y) SELECT * FROM w2",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT (SELECT sum(n) FROM r)",
    "WITH w AS (SELECT b FROM t2) SELECT (SELECT max(t1.a) FROM w) FROM t1",
    "SELECT (SELECT x FROM w) FROM (SELECT 1) AS w",
])
def test_subqueries_see_the_ctes_of_their_outer_queries(sql):
    _same(_run(limbodb, sql), _run(sqlite3, sql))
