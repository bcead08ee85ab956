"""An aggregate in a subquery whose arguments name only outer columns belongs to the outer query.

SQLite attaches such a call to the outer query (NC_UAggInfo), which becomes an aggregate
query; in the outer WHERE it is "misuse of aggregate". Rows, types and errors vs sqlite3.
"""

import sqlite3

import pytest

import limbodb

SETUP = [
    "CREATE TABLE t1(a, c TEXT)",
    "INSERT INTO t1 VALUES(1, 'x'), (2, 'y'), (3, 'x'), (4, 'z'), (2, 'y')",
    "CREATE TABLE t2(b)",
    "INSERT INTO t2 VALUES(1)",
    "CREATE TABLE t3(b)",
    "INSERT INTO t3 VALUES(1), (2)",
]


def _run(mod, path, sql):
    c = mod.connect(str(path), isolation_level=None)
    for s in SETUP:
        c.execute(s)
    try:
        return c.execute(sql).fetchall()
    except mod.Error as e:
        return type(e).__name__, str(e)
    finally:
        c.close()


@pytest.mark.parametrize("sql", [
    "SELECT (SELECT sum(t1.a) FROM t2) FROM t1",
    "SELECT (SELECT sum(a) FROM t2) FROM t1",
    "SELECT (SELECT sum(t1.a) FROM t2), typeof((SELECT avg(t1.a) FROM t2)) FROM t1",
    "SELECT (SELECT count(t1.a) FROM t2 WHERE b = 1) FROM t1 GROUP BY a",
    "SELECT a, (SELECT sum(t1.a) + b FROM t2) FROM t1 GROUP BY a ORDER BY a",
    "SELECT c, (SELECT group_concat(t1.a) FROM t3 WHERE b = 1) FROM t1 GROUP BY c ORDER BY c",
    "SELECT (SELECT max(a) FROM t2), min(a) FROM t1",
    "SELECT count(*) FROM t1 HAVING (SELECT sum(a) FROM t2) > 3",
    "SELECT c FROM t1 GROUP BY c ORDER BY (SELECT sum(t1.a) FROM t2), c",
    "SELECT (SELECT sum(a) FROM t2 AS x) FROM t1 WHERE a > 10",
    "SELECT (SELECT total(t1.a) FROM t3) FROM t1",
    "SELECT EXISTS (SELECT sum(t1.a) FROM t2) FROM t1",
    "SELECT a IN (SELECT sum(t1.a) FROM t2) FROM t1",
    "SELECT c, 12 IN (SELECT sum(t1.a) * b FROM t3) FROM t1 GROUP BY c ORDER BY c",
    "SELECT (SELECT sum(t1.a) FROM t2 WHERE t1.a > 1) FROM t1",
    "SELECT (SELECT sum(t1.rowid) FROM t2) FROM t1",
    "SELECT a FROM t1 GROUP BY a HAVING (SELECT sum(t1.a) FROM t2) > 2 ORDER BY a",
    # Not outer aggregates: an inner column, or no column at all, is read.
    "SELECT (SELECT sum(b) FROM t2) FROM t1",
    "SELECT (SELECT sum(t1.a + b) FROM t3) FROM t1 ORDER BY 1",
    "SELECT (SELECT count(*) FROM t3) FROM t1",
    # Misuse: the outer query's WHERE cannot hold its own aggregate.
    "SELECT a FROM t1 WHERE (SELECT sum(t1.a) FROM t2) > 1",
    "SELECT a FROM t1 WHERE (SELECT count(a) FROM t2) > 1",
    "SELECT a FROM t1 WHERE a IN (SELECT sum(t1.a) FROM t2)",
    # ... but an EXISTS there is not looked into.
    "SELECT a FROM t1 WHERE EXISTS (SELECT sum(t1.a) FROM t2)",
])
def test_same_as_sqlite(tmp_path, sql):
    mine = _run(limbodb, tmp_path / "l.db", sql)
    theirs = _run(sqlite3, tmp_path / "s.db", sql)
    assert mine == theirs
    if isinstance(theirs, list):
        assert [[type(v) for v in r] for r in mine] == [[type(v) for v in r] for r in theirs]
