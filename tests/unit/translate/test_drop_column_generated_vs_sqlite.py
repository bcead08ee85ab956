"""ALTER TABLE DROP COLUMN on tables with generated columns, against sqlite3.

SQLite drops any column no generated column (or other schema object) reads,
including a generated column itself; records lose the column only when it was
stored (VIRTUAL columns are not in the record). The schema text, the rows and
integrity_check must agree, and a file written by limbodb must open in sqlite3.
"""

import sqlite3

import pytest

import limbodb

CASES = [
    ("CREATE TABLE t1(a, b, c AS (a * 2), d)", "d"),
    ("CREATE TABLE t1(a, b, c AS (a * 2) STORED, d)", "b"),
    ("CREATE TABLE t1(a, b, c AS (a * 2) STORED, d)", "c"),
    ("CREATE TABLE t1(a, b, c AS (a * 2), d)", "c"),
    ("CREATE TABLE t1(a, b, e AS (a + 1), d, f AS (d || 'x') STORED)", "e"),
    ("CREATE TABLE t1(a, b, e AS (a + 1), d, f AS (d || 'x') STORED)", "f"),
    ("CREATE TABLE t1(a, b, e AS (a + 1), d, f AS (d || 'x') STORED)", "d"),
    ("CREATE TABLE t1(a INTEGER PRIMARY KEY, b, e AS (a + 1), d, f AS (d || 'x') STORED)", "b"),
    ("CREATE TABLE t1(a INTEGER PRIMARY KEY, b, e AS (a + 1) STORED, d, f AS (d || 'x'))", "e"),
    ("CREATE TABLE t1(a, b, c AS (a + b) VIRTUAL, d, PRIMARY KEY(d, a)) WITHOUT ROWID", "c"),
    ("CREATE TABLE t1(a, b, c AS (a + 1) STORED, d, PRIMARY KEY(d, a)) WITHOUT ROWID", "b"),
    ("CREATE TABLE t1(a, b, c AS (a + 1) STORED, d, PRIMARY KEY(d, a)) WITHOUT ROWID", "c"),
    ("CREATE TABLE t1(a, b, c AS (a * 2), d)", "a"),
    ("CREATE TABLE t1(a, b, c AS (b * 2) STORED, d)", "b"),
]


def _run(conn, create, column):
    conn.execute(create)
    conn.execute("INSERT INTO t1(a, b, d) VALUES (1, 2, 3), (4, 5, 6), (7, NULL, 'z')")
    try:
        conn.execute(f"ALTER TABLE t1 DROP COLUMN {column}")
    except Exception as e:  # both engines' errors: compared by message
        return ("error", str(e))
    sql = conn.execute("SELECT sql FROM sqlite_schema WHERE name = 't1'").fetchall()
    rows = conn.execute("SELECT * FROM t1 ORDER BY 1, 2").fetchall()
    check = conn.execute("PRAGMA integrity_check").fetchall()
    return sql, [tuple(r) for r in rows], check


@pytest.mark.parametrize("create,column", CASES)
def test_drop_column_with_generated_columns_matches_sqlite(tmp_path, create, column):
    expect = _run(sqlite3.connect(":memory:"), create, column)
    path = str(tmp_path / "t.db")
    db = limbodb.connect(path)
    assert _run(db, create, column) == expect
    db.commit()
    db.close()
    if expect[0] != "error":
        # The rewritten file reads the same in SQLite.
        other = sqlite3.connect(path)
        assert [tuple(r) for r in other.execute("SELECT * FROM t1 ORDER BY 1, 2")] == expect[1]
        assert other.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
