"""RIGHT/FULL JOIN cases the stdlib sqlite3 (3.40.1) cannot be the oracle for, and the
seek-key affinity fix found by the join generator.

SQLite 3.40 drops the matches of a RIGHT JOIN whose right side is a table-valued
function; 3.41+ (checked with 3.54.1) returns the rows expected here.
"""

import sqlite3

import limbodb

SETUP = """
CREATE TABLE t1(a, b);
INSERT INTO t1 VALUES (1, 1), (2, 2), (3, NULL);
"""


def _rows(sql, setup=SETUP):
    conn = limbodb.connect(":memory:")
    conn.executescript(setup)
    return sorted(conn.execute(sql).fetchall(), key=repr)


def test_right_join_of_a_table_valued_function_keeps_its_matches():
    assert _rows("SELECT t1.a, j.value FROM t1 RIGHT JOIN json_each('[1,2,9]') AS j ON j.value = t1.a") == \
        [(1, 1), (2, 2), (None, 9)]


def test_full_join_of_a_table_valued_function():
    assert _rows("SELECT t1.a, j.value FROM t1 FULL JOIN json_each('[1,2,9]') AS j ON j.value = t1.a") == \
        [(1, 1), (2, 2), (3, None), (None, 9)]


def test_index_seek_key_gets_no_affinity_when_the_comparison_applies_none():
    # t1.a has BLOB affinity and t2.a TEXT: the comparison applies neither, so 1 <> '1'
    # even when the lookup goes through t2's index, which would make the key '1'.
    setup = """
    CREATE TABLE t1(a, d);
    INSERT INTO t1 VALUES (1, 0);
    CREATE TABLE t2(a TEXT, d NUMERIC);
    CREATE INDEX t2a ON t2(a);
    INSERT INTO t2 VALUES ('1', 0);
    """
    for sql in ("SELECT * FROM t1 JOIN t2 ON t1.a = t2.a",
                "SELECT * FROM t1 JOIN t2 USING (d, a)",
                "SELECT * FROM t1 JOIN t2 ON t2.a > t1.a"):
        ora = sqlite3.connect(":memory:")
        ora.executescript(setup)
        assert _rows(sql, setup) == sorted(ora.execute(sql).fetchall(), key=repr), sql
