"""Secondary indexes of WITHOUT ROWID tables in the planner, against sqlite3.

The index entry ends with the PRIMARY KEY columns (in the PRIMARY KEY's own order and
collation), so a lookup through it seeks the table by that key, or reads nothing else
when the entry holds every column the query needs (COVERING INDEX). Results and the
EXPLAIN QUERY PLAN lines must be SQLite's. Also: a DESC range over a DESC index column,
and files sqlite3 wrote with a DESC PRIMARY KEY stay consistent after limbodb writes.
"""

import random
import sqlite3

import pytest

import limbodb

SETUP = [
    "CREATE TABLE t1(a TEXT, b INT, c, d, e REAL, PRIMARY KEY(a DESC, b)) WITHOUT ROWID",
    "CREATE INDEX t1c ON t1(c)",
    "CREATE INDEX t1dc ON t1(d DESC, c)",
    "CREATE INDEX t1la ON t1(lower(a))",
    "CREATE INDEX t1e ON t1(e) WHERE e > 0",
    "CREATE UNIQUE INDEX t1bc ON t1(b, c)",
    "CREATE TABLE t2(x INTEGER PRIMARY KEY, y)",
    "CREATE TABLE t3(m, n COLLATE NOCASE, PRIMARY KEY(n)) WITHOUT ROWID",
    "CREATE INDEX t3m ON t3(m)",
    "CREATE TABLE t4(a, b, c AS (a * 2), PRIMARY KEY(a)) WITHOUT ROWID",
    "CREATE INDEX t4b ON t4(b)",
]

QUERIES = [
    "SELECT * FROM t1 WHERE c = 3",
    "SELECT a, b FROM t1 WHERE c = '3'",
    "SELECT a, b, c FROM t1 WHERE c = 3",
    "SELECT count(*) FROM t1 WHERE c = 3",
    "SELECT * FROM t1 WHERE c IN (3, 4.5, 'x')",
    "SELECT b FROM t1 WHERE c > 2 ORDER BY c",
    "SELECT * FROM t1 WHERE c BETWEEN 1 AND 3",
    "SELECT * FROM t1 WHERE d = 4 AND c = 3",
    "SELECT a, b, c, d FROM t1 WHERE d > 5 ORDER BY d DESC",
    "SELECT * FROM t1 WHERE d < 3 ORDER BY d",
    "SELECT * FROM t1 WHERE d >= 2 AND d < 7 ORDER BY d DESC",
    "SELECT * FROM t1 WHERE lower(a) = 'k7'",
    "SELECT b FROM t1 WHERE e > 1 AND e > 0",
    "SELECT * FROM t1 WHERE b = 5 AND c = 3",
    "SELECT * FROM t1 ORDER BY c LIMIT 9",
    "SELECT c FROM t1 ORDER BY c DESC LIMIT 7",
    "SELECT c, a FROM t1 ORDER BY c",
    "SELECT t2.x, t1.b FROM t2 JOIN t1 ON t1.c = t2.y",
    "SELECT * FROM t2 LEFT JOIN t1 ON t1.d = t2.y AND t1.c = 1",
    "SELECT m, n FROM t3 WHERE m = 3 ORDER BY n",
    "SELECT * FROM t3 WHERE m IN (1, 2) ORDER BY n",
    "SELECT n FROM t3 WHERE m > 2 ORDER BY m, n",
    "SELECT count(*) FROM t1 WHERE d = 4",
    "SELECT * FROM t1 WHERE c = 3 AND d = 4 ORDER BY b",
    "SELECT * FROM t1 WHERE a = 'k3'",
    "SELECT a, c FROM t4 WHERE b = 2",
    "SELECT a, b FROM t4 WHERE b = 2",
    "SELECT b FROM t4 WHERE b > 5 ORDER BY b",
]


def _fill(con):
    for s in SETUP:
        con.execute(s)
    rnd = random.Random(1)
    for i in range(300):
        row = ("k%d" % rnd.randint(0, 50), i, rnd.choice([None, 1, 2, 3, "3", 4.5, "x"]), rnd.randint(0, 9),
               rnd.choice([None, -1.5, 0.0, 2.5, 7.0]))
        con.execute("INSERT INTO t1 VALUES (?, ?, ?, ?, ?)", row)
    for i in range(30):
        con.execute("INSERT INTO t2 VALUES (?, ?)", (i, i % 7))
        con.execute("INSERT INTO t3 VALUES (?, ?)", (i % 5, "N%d" % i))
        con.execute("INSERT INTO t4(a, b) VALUES (?, ?)", (i, i % 9))


@pytest.fixture(scope="module")
def pair():
    lite = sqlite3.connect(":memory:")
    limbo = limbodb.connect(":memory:")
    _fill(lite)
    _fill(limbo)
    return lite, limbo


@pytest.mark.parametrize("sql", QUERIES)
def test_rows_and_query_plan_match_sqlite(pair, sql):
    lite, limbo = pair
    want = lite.execute(sql).fetchall()
    got = [tuple(r) for r in limbo.execute(sql).fetchall()]
    if "ORDER BY" not in sql:
        want.sort(key=repr)
        got.sort(key=repr)
    assert got == want
    plan = [r[3] for r in lite.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
    assert [r[3] for r in limbo.execute("EXPLAIN QUERY PLAN " + sql).fetchall()] == plan


@pytest.mark.parametrize("sql,detail", [
    ("SELECT * FROM t1 WHERE c = 3", "SEARCH t1 USING INDEX t1c (c=?)"),
    ("SELECT a FROM t1 WHERE c = 3", "SEARCH t1 USING COVERING INDEX t1c (c=?)"),
    ("SELECT c FROM t1 ORDER BY c", "SCAN t1 USING COVERING INDEX t1c"),
])
def test_secondary_index_is_chosen(pair, sql, detail):
    _, limbo = pair
    assert [r[3] for r in limbo.execute("EXPLAIN QUERY PLAN " + sql).fetchall()] == [detail]


def test_updates_and_deletes_through_a_secondary_index_match_sqlite():
    lite = sqlite3.connect(":memory:")
    limbo = limbodb.connect(":memory:")
    for con in (lite, limbo):
        _fill(con)
        con.execute("UPDATE t1 SET e = 9.5 WHERE c = 3")
        con.execute("DELETE FROM t1 WHERE d = 4 AND c = 'x'")
        con.execute("UPDATE t3 SET m = m + 10 WHERE m IN (1, 2)")
    for sql in ("SELECT * FROM t1 ORDER BY a, b", "SELECT * FROM t3 ORDER BY n"):
        assert [tuple(r) for r in limbo.execute(sql).fetchall()] == lite.execute(sql).fetchall()
    assert limbo.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_file_with_a_desc_primary_key_stays_consistent(tmp_path):
    path = str(tmp_path / "wr.db")
    lite = sqlite3.connect(path)
    lite.execute("CREATE TABLE t1(a, b, c, PRIMARY KEY(a DESC)) WITHOUT ROWID")
    lite.execute("CREATE INDEX t1c ON t1(c)")
    lite.executemany("INSERT INTO t1 VALUES (?, ?, ?)", [(i, i, i % 2) for i in range(200)])
    lite.commit()
    lite.close()
    limbo = limbodb.connect(path)
    limbo.execute("DELETE FROM t1 WHERE a IN (3, 4, 5, 100)")
    limbo.execute("INSERT INTO t1 VALUES (1000, 1, 1), (-5, 1, 1)")
    limbo.commit()
    got = limbo.execute("SELECT a FROM t1 WHERE c = 1 LIMIT 5").fetchall()
    limbo.close()
    lite = sqlite3.connect(path)
    assert lite.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    # Equal index keys are ordered by the PRIMARY KEY, here descending.
    assert [tuple(r) for r in got] == lite.execute("SELECT a FROM t1 WHERE c = 1 LIMIT 5").fetchall()
    assert got[0][0] == 1000
    lite.close()


@pytest.mark.parametrize("wr", ["", " WITHOUT ROWID"])
@pytest.mark.parametrize("sql", [
    "SELECT a, d FROM t1 WHERE d > 5 ORDER BY d DESC",
    "SELECT a, d FROM t1 WHERE d > 5 ORDER BY d",
    "SELECT a, d FROM t1 WHERE d < 3 ORDER BY d",
    "SELECT a, d FROM t1 WHERE d < 3 ORDER BY d DESC",
    "SELECT a, d FROM t1 WHERE d <= 4 AND d > 1 ORDER BY d DESC",
])
def test_range_on_a_desc_index_column_matches_sqlite(wr, sql):
    lite = sqlite3.connect(":memory:")
    limbo = limbodb.connect(":memory:")
    for con in (lite, limbo):
        con.execute("CREATE TABLE t1(a, b, c, d, PRIMARY KEY(a, b))" + wr)
        con.execute("CREATE INDEX t1d ON t1(d DESC, c)")
        for i in range(20):
            con.execute("INSERT INTO t1 VALUES (?, ?, ?, ?)", ("k%d" % i, i, i % 3, None if i % 7 == 0 else i % 10))
    assert [tuple(r) for r in limbo.execute(sql).fetchall()] == lite.execute(sql).fetchall()
    plan = [r[3] for r in lite.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
    assert [r[3] for r in limbo.execute("EXPLAIN QUERY PLAN " + sql).fetchall()] == plan
