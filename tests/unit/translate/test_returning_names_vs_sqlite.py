"""RETURNING columns are named as SQLite names them (cursor.description, values, types vs sqlite3).

A column keeps its declared spelling; a rowid reference (rowid, oid, _rowid_, quoted or
not) takes the name of the rowid's alias column, else "rowid"; a double-quoted name of no
column is a string named by its text, quotes included.
"""

import sqlite3

import pytest

import limbodb

SETUP = [
    "CREATE TABLE t1(a, b)",
    "CREATE TABLE t2(a INTEGER PRIMARY KEY, oid)",
    "CREATE TABLE t3(a PRIMARY KEY, b) WITHOUT ROWID",
    "INSERT INTO t1 VALUES(1, 2)",
    "INSERT INTO t2 VALUES(1, 2)",
    "INSERT INTO t3 VALUES(1, 2)",
]


def _run(mod, sql):
    c = mod.connect(":memory:", isolation_level=None)
    for s in SETUP:
        c.execute(s)
    try:
        cur = c.execute(sql)
        rows = cur.fetchall()
    except sqlite3.Error if mod is sqlite3 else limbodb.Error as e:
        return "error", str(e)
    return [d[0] for d in cur.description], rows, [[type(v) for v in r] for r in rows]


@pytest.mark.parametrize("sql", [
    'INSERT INTO t1 VALUES(3, 4) RETURNING "zz", "a", "A", a + 1, "b" AS x',
    'INSERT INTO t1 VALUES(3, 4) RETURNING _rowid_, ROWID, "OID", t1.rowid, t1.a',
    'INSERT INTO t2 VALUES(5, 6) RETURNING rowid, oid, _rowid_, "Rowid", "zz"',
    'INSERT INTO t3 VALUES(5, 6) RETURNING "rowid", a, "B"',
    'INSERT INTO t3 VALUES(7, 8) RETURNING rowid',
    'UPDATE t1 SET a = 5 RETURNING "zz", oid, "a"',
    'DELETE FROM t2 RETURNING "zz", "oid", rowid',
])
def test_returning_columns_are_named_as_sqlite_names_them(sql):
    assert _run(limbodb, sql) == _run(sqlite3, sql)
