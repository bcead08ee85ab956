"""ANALYZE (sqlite_stat1 exactly as SQLite writes it) and REINDEX, against sqlite3."""

import sqlite3

import pytest

import limbodb

SETUP = [
    "CREATE TABLE t(a, b, c UNIQUE)",
    "CREATE INDEX tab ON t(a, b COLLATE NOCASE)",
    "CREATE TABLE e(x)",
    "CREATE INDEX ex ON e(x)",
    "CREATE TABLE n(x)",
    "CREATE TABLE z(x)",
    "CREATE TABLE w(k PRIMARY KEY, v) WITHOUT ROWID",
    "CREATE INDEX wv ON w(v)",
    "INSERT INTO t VALUES(1, 'x', 1), (1, 'X', 2), (2, 'y', 3), (2, 'y', 4), (3, 'z', 5)",
    "INSERT INTO n VALUES(1), (2)",
    "INSERT INTO w VALUES(1, 2), (2, 2), (3, 3)",
]
STAT = "SELECT tbl, idx, stat FROM sqlite_stat1 ORDER BY tbl, idx"


def _run(mod, path, script):
    c = mod.connect(str(path), isolation_level=None)
    out = []
    for s in script:
        try:
            out.append((s, c.execute(s).fetchall()))
        except mod.Error as e:
            out.append((s, type(e).__name__, str(e)))
    out.append(c.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema").fetchall())
    c.close()
    return out


def _same(tmp_path, script):
    assert _run(limbodb, tmp_path / "l.db", script) == _run(sqlite3, tmp_path / "s.db", script)
    check = sqlite3.connect(tmp_path / "l.db")
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()


def test_analyze_writes_sqlite_stat1_like_sqlite(tmp_path):
    _same(tmp_path, SETUP + [
        "ANALYZE nosuch", "ANALYZE t", STAT, "ANALYZE", STAT,
        "INSERT INTO t VALUES(9, 9, 9)", "INSERT INTO z VALUES(1)", "ANALYZE tab", STAT,
        "ANALYZE z", STAT, "ANALYZE main", STAT, "ANALYZE main.n", STAT,
    ])


def test_analyze_statistics_of_many_rows(tmp_path):
    _same(tmp_path, [
        "CREATE TABLE t(a, b, c)", "CREATE INDEX i3 ON t(a, b, c)", "CREATE INDEX i1 ON t(c)",
        "WITH RECURSIVE s(x) AS (VALUES(0) UNION ALL SELECT x + 1 FROM s WHERE x < 999) "
        "INSERT INTO t SELECT x % 7, x % 100, x FROM s",
        "INSERT INTO t SELECT a, b, 5 FROM t WHERE c < 40",
        "ANALYZE", STAT,
    ])


def test_sqlite3_reads_the_statistics_limbodb_wrote(tmp_path):
    path = tmp_path / "l.db"
    c = limbodb.connect(str(path))
    for s in SETUP:
        c.execute(s)
    c.execute("ANALYZE")
    c.commit()
    c.close()
    s = sqlite3.connect(path)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert s.execute("SELECT * FROM t WHERE a = 2 AND b = 'y'").fetchall() == [(2, "y", 3), (2, "y", 4)]
    s.execute("ANALYZE")
    theirs = s.execute(STAT).fetchall()
    s.close()
    mine = limbodb.connect(str(path))
    assert mine.execute(STAT).fetchall() == theirs
    mine.close()


def test_reindex_forms_and_errors_like_sqlite(tmp_path):
    _same(tmp_path, SETUP + [
        "CREATE TABLE d(a)", "INSERT INTO d VALUES(1), (2)", "ALTER TABLE d ADD b DEFAULT 'dflt'",
        "CREATE INDEX db ON d(b, a)",
        "REINDEX", "REINDEX t", "REINDEX tab", "REINDEX nosuch", "REINDEX nocase", "REINDEX main.tab",
        "REINDEX w", "REINDEX d", "REINDEX main.nosuch",
        "SELECT * FROM t WHERE a = 2", "SELECT * FROM w WHERE v = 2", "SELECT b, a FROM d WHERE b = 'dflt'",
        "PRAGMA integrity_check",
    ])


def test_reindex_rebuilds_an_index_after_its_collation_changed(tmp_path):
    path = str(tmp_path / "l.db")
    c = limbodb.connect(path)
    c.create_collation("rev", lambda x, y: (x < y) - (x > y))
    c.execute("CREATE TABLE t(a COLLATE rev)")
    c.execute("CREATE INDEX ta ON t(a)")
    c.executemany("INSERT INTO t VALUES(?)", [(s,) for s in "dbeac"])
    c.commit()
    c.close()
    c = limbodb.connect(path)
    c.create_collation("rev", lambda x, y: (x > y) - (x < y))
    c.execute("REINDEX rev")
    c.commit()
    assert c.execute("SELECT a FROM t ORDER BY a").fetchall() == [(x,) for x in "abcde"]
    assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    c.close()


@pytest.mark.parametrize("sql", ["ANALYZE", "REINDEX"])
def test_maintenance_statements_inside_a_transaction_roll_back(tmp_path, sql):
    c = limbodb.connect(str(tmp_path / "l.db"), isolation_level=None)
    for s in SETUP:
        c.execute(s)
    c.execute("BEGIN")
    c.execute(sql)
    c.execute("ROLLBACK")
    assert c.execute("SELECT name FROM sqlite_schema WHERE name = 'sqlite_stat1'").fetchall() == []
    assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    c.close()


def test_analyze_counts_the_table_when_only_partial_indexes_cover_it(tmp_path):
    _same(tmp_path, [
        "CREATE TABLE t(a, b)", "CREATE INDEX tp ON t(a) WHERE b > 1",
        "INSERT INTO t VALUES(1, 1), (2, 2), (3, 3), (3, 4)",
        "ANALYZE", STAT, "ANALYZE tp", STAT, "ANALYZE t", STAT,
    ])
