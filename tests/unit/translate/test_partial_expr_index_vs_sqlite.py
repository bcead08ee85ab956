"""Partial indexes and indexes on expressions: maintained by INSERT/UPDATE/DELETE/REPLACE so that
sqlite3's integrity_check (which compares index contents with the table) passes, used by the planner
as SQLite uses them, with SQLite's schema text, rows and UNIQUE errors."""

import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

import limbodb

SCHEMA = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b INT, c TEXT, d REAL)",
    "CREATE INDEX t1_part ON t1(b) WHERE c IS NOT NULL",
    "CREATE INDEX t1_expr ON t1(b + d, lower(c) DESC)",
    "CREATE UNIQUE INDEX t1_uexpr ON t1(upper(c)) WHERE b > 0",
    "CREATE UNIQUE INDEX t1_upart ON t1(d) WHERE b < 0",
]

QUERIES = [
    "SELECT a FROM t1 WHERE b + d = 5 ORDER BY a",
    "SELECT a, c FROM t1 WHERE lower(c) = 'x' ORDER BY a",
    "SELECT a FROM t1 WHERE b + d BETWEEN 1 AND 6 ORDER BY a",
    "SELECT a FROM t1 WHERE b = 2 AND c IS NOT NULL ORDER BY a",
    "SELECT count(*) FROM t1 WHERE upper(c) = 'Y' AND b > 0",
    "SELECT a FROM t1 INDEXED BY t1_expr WHERE b + d > 3 ORDER BY a",
]

PLANS = [
    ("SELECT a FROM t1 WHERE b + d = 5", "SEARCH t1 USING INDEX t1_expr (<expr>=?)"),
    ("SELECT a FROM t1 WHERE b = 2 AND c IS NOT NULL", "SEARCH t1 USING INDEX t1_part (b=?)"),
    ("SELECT a FROM t1 WHERE b = 2", "SCAN t1"),
    ("SELECT a FROM t1 WHERE upper(c) = 'Y' AND b > 0", "SEARCH t1 USING INDEX t1_uexpr (<expr>=?)"),
]

row = st.tuples(st.integers(1, 12), st.one_of(st.none(), st.integers(-3, 3)),
                st.one_of(st.none(), st.sampled_from(["x", "X", "y", "Y", "z"])),
                st.one_of(st.none(), st.integers(0, 4), st.sampled_from([1.5, 2.5])))
op = st.one_of(
    st.tuples(st.just("INSERT OR REPLACE INTO t1 VALUES (?, ?, ?, ?)"), row),
    st.tuples(st.just("INSERT INTO t1 VALUES (?, ?, ?, ?)"), row),
    st.tuples(st.just("UPDATE t1 SET b = ?, c = ? WHERE a = ?"),
              st.tuples(st.integers(-3, 3), st.sampled_from(["x", "Y", None]), st.integers(1, 12))),
    st.tuples(st.just("UPDATE t1 SET d = d + ? WHERE b > ?"), st.tuples(st.integers(0, 2), st.integers(-3, 3))),
    st.tuples(st.just("DELETE FROM t1 WHERE a % ? = 0"), st.tuples(st.integers(2, 5))),
    st.tuples(st.just("UPDATE OR IGNORE t1 SET c = ? WHERE a > ?"),
              st.tuples(st.sampled_from(["q", "Q", None]), st.integers(1, 12))),
)


def _apply(c, mod, ops):
    out = []
    for sql, params in ops:
        try:
            c.execute(sql, params)
            out.append(None)
        except mod.Error as e:
            out.append((type(e).__name__, str(e)))
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(op, max_size=25))
def test_random_writes_keep_indexes_like_sqlite(tmp_path_factory, ops):
    path = tmp_path_factory.mktemp("idx") / "l.db"
    mine = limbodb.connect(str(path), isolation_level=None)
    theirs = sqlite3.connect(":memory:", isolation_level=None)
    for s in SCHEMA:
        mine.execute(s)
        theirs.execute(s)
    assert _apply(mine, limbodb, ops) == _apply(theirs, sqlite3, ops)
    for q in QUERIES:
        assert mine.execute(q).fetchall() == theirs.execute(q).fetchall(), q
    mine.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    for q in QUERIES:
        assert check.execute(q).fetchall() == theirs.execute(q).fetchall(), q
    check.close()


def test_create_index_on_existing_rows_and_schema_text(tmp_path):
    script = ["CREATE TABLE t1(a INTEGER PRIMARY KEY, b INT, c TEXT, d REAL)",
              "INSERT INTO t1(b, c, d) VALUES (1, 'x', 1.5), (2, NULL, 3), (-1, 'X', 2), (3, 'y', 0)"] + SCHEMA[1:]
    out = []
    for mod, p in ((limbodb, tmp_path / "l.db"), (sqlite3, tmp_path / "s.db")):
        c = mod.connect(str(p), isolation_level=None)
        for s in script:
            c.execute(s)
        out.append((c.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name").fetchall(),
                    [c.execute(q).fetchall() for q in QUERIES],
                    c.execute("SELECT * FROM pragma_index_list('t1') ORDER BY name").fetchall()))
        c.close()
    assert out[0] == out[1]
    check = sqlite3.connect(tmp_path / "l.db")
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


@pytest.mark.parametrize("script", [
    ["CREATE TABLE t1(a, b)", "INSERT INTO t1 VALUES (1, 'A'), (2, 'a')", "CREATE UNIQUE INDEX i1 ON t1(lower(b))"],
    ["CREATE TABLE t1(a, b)", "CREATE UNIQUE INDEX i1 ON t1(lower(b))", "INSERT INTO t1 VALUES (1, 'A'), (2, 'a')"],
    ["CREATE TABLE t1(a, b)", "CREATE UNIQUE INDEX i1 ON t1(b) WHERE a > 0", "INSERT INTO t1 VALUES (-1, 'A'), (-2, 'A')",
     "INSERT INTO t1 VALUES (1, 'A')", "INSERT INTO t1 VALUES (2, 'A')"],
    ["CREATE TABLE t1(a, b)", "INSERT INTO t1 VALUES (1, 'A'), (2, 'A')", "CREATE UNIQUE INDEX i1 ON t1(b) WHERE a > 1",
     "CREATE UNIQUE INDEX i2 ON t1(b) WHERE a > 0"],
    ["CREATE TABLE t1(a, b)", "CREATE UNIQUE INDEX i1 ON t1(a + 0)", "INSERT INTO t1 VALUES (1, 1)",
     "INSERT OR REPLACE INTO t1 VALUES (1.0, 2)", "SELECT * FROM t1", "UPDATE t1 SET a = 5",
     "INSERT INTO t1 VALUES (5, 9)"],
    ["CREATE TABLE t1(a, b, c)", "CREATE UNIQUE INDEX i1 ON t1(lower(c))", "CREATE UNIQUE INDEX i2 ON t1(a) WHERE b > 0",
     "INSERT INTO t1 VALUES (1, 1, 'X')",
     "INSERT INTO t1 VALUES (2, 2, 'x') ON CONFLICT (lower(c)) DO UPDATE SET b = excluded.b + 100",
     "INSERT INTO t1 VALUES (1, 5, 'q') ON CONFLICT (a) WHERE b > 0 DO UPDATE SET c = 'upd'",
     "INSERT INTO t1 VALUES (1, 5, 'r') ON CONFLICT (a) DO NOTHING",
     "INSERT INTO t1 VALUES (1, 5, 'r') ON CONFLICT (a) WHERE b > 0 AND c > '' DO NOTHING",
     "INSERT INTO t1 VALUES (1, 5, 'r') ON CONFLICT (a) WHERE b > 1 DO NOTHING",
     "INSERT INTO t1 VALUES (3, 5, 'X') ON CONFLICT DO NOTHING", "SELECT * FROM t1 ORDER BY a"],
])
def test_unique_errors_match_sqlite(script):
    def run(mod):
        c = mod.connect(":memory:", isolation_level=None)
        out = []
        for s in script:
            try:
                out.append(c.execute(s).fetchall())
            except mod.Error as e:
                out.append((type(e).__name__, str(e)))
        return out
    assert run(limbodb) == run(sqlite3)


@pytest.mark.parametrize("sql, plan", PLANS)
def test_planner_uses_matching_expression_and_partial_indexes(sql, plan):
    for mod in (limbodb, sqlite3):
        c = mod.connect(":memory:")
        for s in SCHEMA:
            c.execute(s)
        assert [r[3] for r in c.execute("EXPLAIN QUERY PLAN " + sql)] == [plan], mod.__name__


def test_sqlite_written_file_with_such_indexes_is_maintained_by_limbodb(tmp_path):
    path = str(tmp_path / "s.db")
    s = sqlite3.connect(path)
    for q in SCHEMA:
        s.execute(q)
    s.executemany("INSERT INTO t1 VALUES (?, ?, ?, ?)", [(i, i % 4 - 1, "xyz"[i % 3] + str(i), i / 2) for i in range(1, 10)])
    s.commit()
    s.close()
    c = limbodb.connect(path)
    c.execute("UPDATE t1 SET c = upper(c) || a, b = -b WHERE a % 2 = 0")
    c.execute("DELETE FROM t1 WHERE a = 3")
    c.commit()
    expected = [c.execute(q).fetchall() for q in QUERIES]
    c.close()
    s = sqlite3.connect(path)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert [s.execute(q).fetchall() for q in QUERIES] == expected


MAINTENANCE = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b INT, c TEXT, d REAL)",
    "INSERT INTO t1 VALUES (1, 1, 'x', 2), (2, -1, 'y', 3), (3, 2, NULL, 1)",
    "CREATE INDEX t1_part ON t1(b) WHERE c IS NOT NULL",
    "CREATE INDEX t1_expr ON t1(b + d, lower(c) DESC)",
    "CREATE INDEX t1_date ON t1(date(d))",
    "PRAGMA index_info(t1_expr)",
    "PRAGMA index_xinfo(t1_expr)",
    "SELECT * FROM pragma_index_xinfo('t1_expr')",
    "SELECT * FROM pragma_index_list('t1') ORDER BY name",
    "CREATE INDEX bad ON t1(random())",
    "CREATE INDEX bad ON t1(a) WHERE random() > 0",
    "CREATE INDEX bad ON t1((SELECT 1))",
    "CREATE INDEX bad ON t1(a) WHERE b IN (SELECT 1)",
    "CREATE INDEX bad ON t1(x + 1)",
    "CREATE INDEX bad ON t1(a) WHERE x > 1",
    "REINDEX",
    "REINDEX t1_part",
    "SELECT a FROM t1 WHERE b + d = 3 ORDER BY a",
    "VACUUM",
    "SELECT a FROM t1 WHERE b + d = 3 ORDER BY a",
    "ALTER TABLE t1 RENAME COLUMN b TO bb",
    "ALTER TABLE t1 DROP COLUMN d",
    "ALTER TABLE t1 RENAME TO t2",
    "INSERT INTO t2 VALUES (4, 5, 'Q', 0.5)",
    "SELECT a FROM t2 WHERE bb + d = 5.5",
    "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name",
]


def test_pragmas_errors_reindex_vacuum_and_alter_match_sqlite(tmp_path):
    out = []
    for mod, p in ((limbodb, tmp_path / "l.db"), (sqlite3, tmp_path / "s.db")):
        c = mod.connect(str(p), isolation_level=None)
        res = []
        for s in MAINTENANCE:
            try:
                res.append(c.execute(s).fetchall())
            except mod.Error as e:
                res.append((type(e).__name__, str(e)))
        c.close()
        out.append(res)
    assert out[0] == out[1]
    check = sqlite3.connect(tmp_path / "l.db")
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


@pytest.mark.parametrize("where", [
    "b = 2 AND c = 1", "b = 2 AND c > 1", "b = 2 AND c BETWEEN 1 AND 2", "b = 2 AND c IN (1, 2)",
    "b = 2 AND c IS 1", "b = 2 AND c != 1", "b = 2 AND c + 1 = 3", "b = 2 AND 1 < c", "b = 2 AND NOT c",
    "b = 2 AND c IS NOT NULL", "b = 2 AND -c = 1", "b = 2 AND c * 2 = 1", "b = 2 AND c || 1 = 1",
    "a = 1 AND b = 1", "a = 1 AND c = 2", "b = 2 AND c COLLATE NOCASE = 1", "b = 2 AND c AND 1",
    "b = 2 AND c IS NULL",
])
def test_partial_index_used_when_where_implies_its_condition(where):
    plans = []
    for mod in (limbodb, sqlite3):
        c = mod.connect(":memory:")
        c.execute("CREATE TABLE t1(a, b, c)")
        c.execute("CREATE INDEX i ON t1(b) WHERE c IS NOT NULL")
        c.execute("CREATE INDEX j ON t1(a) WHERE b = 1 OR c = 2")
        plans.append([r[3] for r in c.execute("EXPLAIN QUERY PLAN SELECT * FROM t1 WHERE " + where)])
    assert plans[0] == plans[1]
