"""A double-quoted name of no column is a string; the column it makes is named as SQLite names it.

SQLite names a result column by its expression's text when the expression is not a
column: ``"q"`` keeps its quotes (sqlite3GenerateColumnNames). That holds too for a
name only a result alias has, as the result columns are resolved before the aliases
are names. A FROM subquery or CTE names its columns before resolving them, so there
``"q"`` is still the identifier ``q``; a view resolves first. The column names
(cursor.description), values and types are compared with sqlite3.
"""

import sqlite3

import pytest

import limbodb

SETUP = [
    "CREATE TABLE t1(a, b)",
    "INSERT INTO t1 VALUES(1, 2)",
    "CREATE VIEW v1 AS SELECT 5 AS q, \"q\", \"zz\" FROM t1",
]


def _run(mod, sql):
    c = mod.connect(":memory:", isolation_level=None)
    for s in SETUP:
        c.execute(s)
    cur = c.execute(sql)
    rows = cur.fetchall()
    return [d[0] for d in cur.description], rows, [[type(v) for v in r] for r in rows]


@pytest.mark.parametrize("sql", [
    'SELECT "zz" FROM t1',
    'SELECT "zz", "a", "A" FROM t1',
    'SELECT 5 AS q, "q" FROM t1',
    'SELECT 5 AS q, ("q") FROM t1',
    'SELECT "Q", 5 AS q FROM t1',
    'SELECT a AS q, "q" FROM t1 WHERE q = 1 ORDER BY "q"',
    'SELECT 5 AS q, "q" FROM t1 UNION ALL SELECT 6, 7',
    'SELECT * FROM (SELECT 5 AS q, "q" FROM t1)',
    'SELECT * FROM (SELECT "zz", count(*) FROM t1)',
    'WITH c AS (SELECT 5 AS q, ("q") FROM t1) SELECT * FROM c',
    'SELECT zz FROM (SELECT "zz" FROM t1)',
    "SELECT * FROM v1",
])
def test_a_quoted_string_column_is_named_as_sqlite_names_it(sql):
    assert _run(limbodb, sql) == _run(sqlite3, sql)
