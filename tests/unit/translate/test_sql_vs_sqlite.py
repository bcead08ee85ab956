"""End-to-end SQL through limbodb compared with the stdlib sqlite3 (rows, types, errors)."""

import sqlite3

import pytest

from limbodb.connection import Connection
from limbodb.io import run_sync
from limbodb.vdbe import DONE, IO, ROW


class Limbo:
    def __init__(self):
        self.conn = Connection(":memory:")
        run_sync(self.conn.io, self.conn.open)

    def run(self, sql):
        st, _ = self.conn.prepare(sql)
        rows = []
        while True:
            r = st.step()
            if r == ROW:
                rows.append(st.row())
            elif r == DONE:
                return rows
            elif r == IO:
                while not st.completion.finished():
                    self.conn.io.run_once()


def _both(script, queries):
    lim = Limbo()
    ref = sqlite3.connect(":memory:")
    for s in script:
        lim.run(s)
        ref.execute(s)
    for q in queries:
        want = ref.execute(q).fetchall()
        got = lim.run(q)
        assert [tuple((type(v), v) for v in r) for r in got] == \
               [tuple((type(v), v) for v in r) for r in want], q


SETUP = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT, c REAL, d)",
    "INSERT INTO t1 VALUES(1, 'one', 1.5, 10), (2, 'two', NULL, 'x'), (3, 'three', 3, NULL)",
    "INSERT INTO t1(b, c, d) VALUES('four', '4.0', 4), ('five', 5, x'00ff')",
    "CREATE TABLE t2(a, b UNIQUE, c NOT NULL DEFAULT 7)",
    "INSERT INTO t2(a, b) VALUES(1, 'one'), (2, 'uno'), (5, NULL), (NULL, 'z')",
    "CREATE INDEX i1 ON t2(a)",
]


@pytest.mark.parametrize("query", [
    "SELECT * FROM t1",
    "SELECT a, b FROM t1 WHERE c > 2 ORDER BY a DESC",
    "SELECT b, c FROM t1 ORDER BY c, b DESC",
    "SELECT b FROM t1 ORDER BY c DESC NULLS FIRST",
    "SELECT * FROM t1 LIMIT 2 OFFSET 1",
    "SELECT a + 1, a * 2.0, b || '!', -a, a / 2, a % 2, 7 / 0 FROM t1",
    "SELECT typeof(c), typeof(d), length(b), upper(b) FROM t1",
    "SELECT a FROM t1 WHERE a = 3",
    "SELECT a FROM t1 WHERE a > 1 AND a <= 4",
    "SELECT a FROM t1 WHERE b LIKE 't%' OR d IS NULL",
    "SELECT a FROM t1 WHERE c BETWEEN 1 AND 3.5",
    "SELECT a FROM t1 WHERE a IN (1, 3, NULL)",
    "SELECT a NOT IN (1, 2), a IN (NULL) FROM t1",
    "SELECT CASE WHEN a < 2 THEN 'lo' WHEN a < 4 THEN 'mid' ELSE 'hi' END FROM t1",
    "SELECT CAST(c AS INTEGER), CAST(a AS TEXT), CAST('12abc' AS INTEGER) FROM t1",
    "SELECT * FROM t2 WHERE a = 2",
    "SELECT * FROM t2 WHERE b = 'uno'",
    "SELECT * FROM t1, t2 WHERE t1.a = t2.a",
    "SELECT t1.b, t2.b FROM t1 LEFT JOIN t2 ON t1.a = t2.a",
    "SELECT * FROM t1 JOIN t2 USING (a)",
    "SELECT a FROM t1 WHERE a IN (SELECT a FROM t2)",
    "SELECT a FROM t1 WHERE EXISTS (SELECT 1 FROM t2 WHERE t2.a = t1.a)",
    "SELECT (SELECT b FROM t2 WHERE t2.a = t1.a), a FROM t1",
    "SELECT DISTINCT c IS NULL FROM t1",
    "SELECT a FROM t1 UNION SELECT a FROM t2",
    "SELECT a FROM t1 UNION ALL SELECT a FROM t2 ORDER BY 1",
    "SELECT a FROM t1 INTERSECT SELECT a FROM t2",
    "SELECT a FROM t1 EXCEPT SELECT a FROM t2",
    "SELECT x.b FROM (SELECT b, a FROM t1 WHERE a > 2) AS x ORDER BY x.a",
    "SELECT c, max(c, 0), a FROM t2 GROUP BY c HAVING c > 0",
    "VALUES (1, 'a'), (2, 'b')",
    "SELECT 1 = 1.0, 'a' < 'b', NULL = NULL, 1 IS NULL, 2 IS NOT 3",
])
def test_select_matches_sqlite(query):
    _both(SETUP, [query])


def test_insert_update_delete_match_sqlite():
    _both(SETUP + [
        "UPDATE t1 SET c = c * 2, b = upper(b) WHERE a >= 2",
        "DELETE FROM t1 WHERE d IS NULL",
        "INSERT INTO t1 SELECT a + 10, b, c, d FROM t1",
        "UPDATE t2 SET a = a + 100",
        "DELETE FROM t2 WHERE b = 'one'",
    ], ["SELECT * FROM t1", "SELECT * FROM t2", "SELECT * FROM t2 WHERE a = 102"])


def test_schema_rows_match_sqlite():
    _both(["CREATE TABLE t1(a PRIMARY KEY, b UNIQUE, c)", "CREATE INDEX i1 ON t1(c, b)",
           "CREATE TABLE t2(a INTEGER PRIMARY KEY, b)", "DROP TABLE t2"],
          ["SELECT type, name, tbl_name, sql FROM sqlite_schema"])


def test_index_built_over_existing_rows_is_used():
    _both(["CREATE TABLE t1(a, b)", "INSERT INTO t1 VALUES(1, 'x'), (2, 'y'), (2, 'z')",
           "CREATE INDEX i1 ON t1(a)"], ["SELECT b FROM t1 WHERE a = 2"])


@pytest.mark.parametrize("stmt", [
    "INSERT INTO t2(a, b) VALUES(9, 'one')",
    "INSERT INTO t2(a, b, c) VALUES(9, 'new', NULL)",
    "INSERT INTO t1(a, b) VALUES(1, 'dup')",
    "INSERT INTO t3 VALUES(-1)",
    "SELECT nosuch FROM t1",
    "SELECT * FROM nosuch",
    "CREATE TABLE t1(x)",
    "INSERT INTO t1 VALUES(1)",
])
def test_errors_match_sqlite(stmt):
    setup = SETUP + ["CREATE TABLE t3(x CHECK (x > 0))"]
    lim = Limbo()
    ref = sqlite3.connect(":memory:")
    for s in setup:
        lim.run(s)
        ref.execute(s)
    with pytest.raises(sqlite3.Error) as want:
        ref.execute(stmt)
    with pytest.raises(Exception) as got:
        lim.run(stmt)
    assert str(got.value) == str(want.value)
    assert type(got.value).__name__ == type(want.value).__name__


def test_or_ignore_and_or_replace_match_sqlite():
    _both(SETUP + ["INSERT OR IGNORE INTO t2(a, b) VALUES(8, 'one')",
                   "INSERT OR REPLACE INTO t2(a, b) VALUES(9, 'uno')",
                   "INSERT OR REPLACE INTO t1(a, b) VALUES(2, 'deux')"],
          ["SELECT * FROM t2 ORDER BY a", "SELECT * FROM t1"])


def test_changes_and_last_insert_rowid_follow_statements():
    lim = Limbo()
    lim.run("CREATE TABLE t1(a INTEGER PRIMARY KEY, b)")
    lim.run("INSERT INTO t1(b) VALUES(1), (2), (3)")
    assert (lim.conn.changes, lim.conn.last_insert_rowid) == (3, 3)
    lim.run("UPDATE t1 SET b = 0 WHERE a > 1")
    assert lim.conn.changes == 2
    lim.run("DELETE FROM t1")
    assert lim.conn.changes == 3
    assert lim.conn.total_changes == 8


def test_explicit_transaction_rollback_discards_rows():
    lim = Limbo()
    lim.run("CREATE TABLE t1(a)")
    lim.run("BEGIN")
    lim.run("INSERT INTO t1 VALUES(1)")
    assert lim.run("SELECT * FROM t1") == [(1,)]
    lim.run("ROLLBACK")
    assert lim.run("SELECT * FROM t1") == []
    lim.run("BEGIN")
    lim.run("INSERT INTO t1 VALUES(2)")
    lim.run("COMMIT")
    assert lim.run("SELECT * FROM t1") == [(2,)]


def test_autoincrement_keeps_sqlite_sequence_like_sqlite():
    _both(["CREATE TABLE t1(a INTEGER PRIMARY KEY AUTOINCREMENT, b)",
           "INSERT INTO t1(b) VALUES(1), (2), (3)",
           "DELETE FROM t1 WHERE a = 3",
           "INSERT INTO t1(b) VALUES(4)",
           "INSERT INTO t1 VALUES(10, 5)",
           "DELETE FROM t1",
           "INSERT INTO t1(b) VALUES(6)"],
          ["SELECT * FROM t1", "SELECT * FROM sqlite_sequence",
           "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_schema"])


PRAGMAS = [
    "table_info(t1)", "table_xinfo(t1)", "index_list(t1)", "index_info(i1)", "index_xinfo(i1)",
    "database_list", "user_version", "page_size", "schema_version", "freelist_count",
    "application_id", "encoding", "integrity_check", "foreign_keys", "synchronous",
    "table_info(nosuch)", "nosuch_pragma", "user_version = 7", "user_version", "cache_size = 100",
    "cache_size", "synchronous = NORMAL", "synchronous", "foreign_keys = ON", "foreign_keys",
    "journal_mode",
]


def test_pragmas_return_what_sqlite_returns():
    lim = Limbo()
    ref = sqlite3.connect(":memory:", isolation_level=None)
    setup = ["CREATE TABLE t1(a integer PRIMARY KEY, b text NOT NULL DEFAULT 'x', c UNIQUE, d varchar(9))",
             "CREATE INDEX i1 ON t1(b DESC, c)", "INSERT INTO t1 VALUES(1, 'a', 2, 'q')"]
    for s in setup:
        lim.run(s)
        ref.execute(s)
    for p in PRAGMAS:
        cur = ref.execute("PRAGMA " + p)
        want = cur.fetchall()
        st, _ = lim.conn.prepare("PRAGMA " + p)
        assert lim.run("PRAGMA " + p) == want, p
        if cur.description:
            assert st.column_names == [d[0] for d in cur.description], p


def test_returning_and_upsert_match_sqlite():
    setup = ["CREATE TABLE t1(a INTEGER PRIMARY KEY, b UNIQUE, c)",
             "INSERT INTO t1 VALUES(1, 'x', 10), (2, 'y', 20)"]
    for stmt in [
        "INSERT INTO t1(b, c) VALUES('z', 30) RETURNING a, b, c * 2",
        "INSERT INTO t1(b, c) VALUES('x', 5) ON CONFLICT(b) DO UPDATE SET c = c + excluded.c RETURNING *",
        "INSERT INTO t1(b, c) VALUES('y', 5) ON CONFLICT DO NOTHING RETURNING a",
        "INSERT INTO t1 VALUES(2, 'q', 1) ON CONFLICT(a) DO UPDATE SET c = -1 WHERE c > 100 RETURNING *",
        "UPDATE t1 SET c = c + 1 WHERE a >= 2 RETURNING a, c",
        "DELETE FROM t1 WHERE b = 'y' RETURNING b, c",
    ]:
        lim = Limbo()
        ref = sqlite3.connect(":memory:")
        for s in setup:
            lim.run(s)
            ref.execute(s)
        assert sorted(lim.run(stmt)) == sorted(ref.execute(stmt).fetchall()), stmt
        assert lim.run("SELECT * FROM t1") == ref.execute("SELECT * FROM t1").fetchall(), stmt


def test_create_table_as_select_writes_sqlites_definition():
    _both(["CREATE TABLE t1(a integer, b text, c, d real, e numeric, \"odd name\" varchar(3))",
           "INSERT INTO t1 VALUES(1, 2, 3, 4, 5, 6), (7, 8, 9, 10, 11, 12)",
           "CREATE TABLE t2 AS SELECT a, b, c, d, e, \"odd name\", a + 1, 1 AS k FROM t1 WHERE a > 1"],
          ["SELECT sql FROM sqlite_schema WHERE name = 't2'", "SELECT * FROM t2"])


def test_views_and_ctes_match_sqlite():
    _both(SETUP + ["CREATE VIEW v1 AS SELECT a, b FROM t1 WHERE a > 1",
                   "CREATE VIEW v2(x, y) AS SELECT b, count(*) FROM t2 GROUP BY b"],
          ["SELECT * FROM v1 ORDER BY a DESC", "SELECT x FROM v2 WHERE y = 1",
           "SELECT v1.b, t2.c FROM v1 JOIN t2 ON t2.a = v1.a",
           "WITH w AS (SELECT a * 2 AS d FROM t1) SELECT d FROM w WHERE d > 4",
           "WITH RECURSIVE cnt(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM cnt WHERE x < 7) "
           "SELECT x, x * x FROM cnt",
           "WITH RECURSIVE r(x) AS (SELECT 1 UNION SELECT x % 4 + 1 FROM r) SELECT x FROM r",
           "WITH RECURSIVE f(n, v) AS (SELECT 1, 1 UNION ALL SELECT n + 1, v * 3 FROM f LIMIT 5) "
           "SELECT * FROM f"])


def test_rows_older_than_added_columns_read_their_defaults(tmp_path):
    path = str(tmp_path / "alter.db")
    ref = sqlite3.connect(path)
    ref.execute("CREATE TABLE t1(a)")
    ref.execute("INSERT INTO t1 VALUES(1)")
    ref.commit()
    ref.execute("ALTER TABLE t1 ADD COLUMN b DEFAULT 7")
    ref.execute("ALTER TABLE t1 ADD COLUMN c TEXT DEFAULT -2.5")
    ref.commit()
    want = ref.execute("SELECT *, b = 7 FROM t1").fetchall()
    ref.close()
    conn = Connection(path)
    run_sync(conn.io, conn.open)
    lim = Limbo.__new__(Limbo)
    lim.conn = conn
    assert lim.run("SELECT *, b = 7 FROM t1") == want
    conn.close()


def test_count_star_uses_the_btree_count():
    lim = Limbo()
    lim.run("CREATE TABLE t1(a, b)")
    lim.run("INSERT INTO t1 VALUES" + ",".join(f"({i}, {i % 3})" for i in range(250)))
    assert lim.run("SELECT count(*) FROM t1") == [(250,)]
    ops = [r[1] for r in lim.run("EXPLAIN SELECT count(*) FROM t1")]
    assert "Count" in ops and "Next" not in ops
    lim.run("CREATE INDEX i1 ON t1(b)")
    assert lim.run("SELECT count(*) FROM t1") == [(250,)]
    assert lim.run("EXPLAIN QUERY PLAN SELECT count(*) FROM t1")[0][3] == "SCAN t1 USING COVERING INDEX i1"
