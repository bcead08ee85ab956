"""Result column names over parenthesized joins, as SQLite 3.40 gives them.

SQLite makes a parenthesized join after the first FROM item a subquery and names the
result columns before it flattens it: '*' lists that subquery's columns, made unique
with ":N" (a USING column first, before the columns of the item on its left, the
columns a USING merges left out), and a qualified column reading one is named as the
subquery's column. A bare name finds the subquery's column of that very name. A FROM
subquery reading such a column is named as written. The column names
(cursor.description), values and types are compared with sqlite3.
"""

import sqlite3

import pytest

import limbodb

SETUP = [
    "CREATE TABLE t1(a, b)",
    "CREATE TABLE t2(a, c)",
    "CREATE TABLE t3(a, d)",
    "INSERT INTO t1 VALUES(1, 2)",
    "INSERT INTO t2 VALUES(1, 3)",
    "INSERT INTO t3 VALUES(1, 4), (2, 5)",
]


def _run(mod, sql):
    c = mod.connect(":memory:", isolation_level=None)
    for s in SETUP:
        c.execute(s)
    cur = c.execute(sql)
    rows = sorted(cur.fetchall(), key=repr)
    return [d[0] for d in cur.description], rows, [[type(v) for v in r] for r in rows]


@pytest.mark.parametrize("sql", [
    "SELECT * FROM t1 JOIN (t2 RIGHT JOIN t3 ON t2.a = t3.a) ON t1.a = t3.a",
    "SELECT * FROM t1, (t2 RIGHT JOIN t3 ON t2.a = t3.a)",
    "SELECT * FROM t1 JOIN (t2 JOIN t3 ON t2.c = 3) ON t1.a = t2.a",
    "SELECT * FROM t1 LEFT JOIN (t2 JOIN t3 ON t2.c = 3) ON t1.a = t2.a",
    "SELECT * FROM t1 JOIN (t2 LEFT JOIN t3 ON t2.a = t3.a) ON t1.a = t3.a",
    "SELECT * FROM (t2 RIGHT JOIN t3 ON t2.a = t3.a) JOIN t1 ON t1.a = t3.a",
    "SELECT * FROM t1 JOIN (t2 JOIN t3 ON 1) ON t1.a = t3.a RIGHT JOIN t3 AS t4 ON 1",
    "SELECT * FROM t1, (t2, (t3, t1 AS t4))",
    "SELECT * FROM t1, (t2 JOIN t3 USING (a))",
    "SELECT * FROM t2 AS x JOIN (t2 JOIN t3 USING (a)) USING (c)",
    "SELECT * FROM t1 JOIN (t2 JOIN t3 ON 1 JOIN t1 AS t4 ON 1) USING (a)",
    "SELECT * FROM t2 AS x, (t1 JOIN t1 AS y USING (b) JOIN t3 ON 1)",
    "SELECT * FROM t1 NATURAL JOIN (t2 JOIN t3 ON 1 JOIN t1 AS t4 ON 1)",
    "SELECT * FROM t1 JOIN (t2 NATURAL JOIN t3) ON 1",
    "SELECT t2.a, t3.a, t2.*, t3.* FROM t1, (t2 JOIN t3 USING (a))",
    "SELECT t3.a, t4.a FROM t1, (t2, (t3, t1 AS t4))",
    "SELECT t3.a FROM t1, (t2 JOIN t3 ON 1) ORDER BY t3.a",
    "SELECT t3.a, max(t2.a) FROM t1, (t2 JOIN t3 ON 1)",
    "SELECT t3.a FROM t1, (t2 JOIN t3 ON 1) UNION ALL SELECT 1",
    "SELECT t3.a + 0, t3.a AS q, (t3.a), t3.a COLLATE nocase FROM t1, (t2 JOIN t3 ON 1)",
    "SELECT c, D FROM t1, (t2 JOIN t3 ON 1)",
    "SELECT * FROM (SELECT t3.a FROM t1, (t2 JOIN t3 ON 1))",
    "SELECT * FROM (SELECT * FROM t1, (t2 JOIN t3 ON 1))",
    "SELECT t3.a FROM (t2 JOIN t3 ON 1)",
])
def test_parenthesized_join_names_match_sqlite(sql):
    assert _run(limbodb, sql) == _run(sqlite3, sql)


@pytest.mark.parametrize("sql", [
    "SELECT a, typeof(a) FROM t1 FULL JOIN t2 USING (a)",
    "SELECT * FROM t1 FULL JOIN t3 USING (a)",
    "SELECT a, * FROM t1 NATURAL FULL JOIN t2",
])
def test_full_join_using_column_names_match_sqlite(sql):
    assert _run(limbodb, sql) == _run(sqlite3, sql)
