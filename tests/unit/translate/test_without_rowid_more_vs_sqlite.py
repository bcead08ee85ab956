"""WITHOUT ROWID tables: REPLACE on secondary UNIQUE indexes, upsert, RETURNING, expression and
partial indexes, UPDATE ... FROM and ORDER BY/LIMIT, the same as sqlite3 (files pass its integrity_check)."""

import sqlite3

import pytest

import limbodb


def _run(mod, path, script):
    c = mod.connect(str(path), isolation_level=None)
    out = []
    for s in script:
        try:
            rows = c.execute(s).fetchall()
            out.append((s, [tuple((v, type(v).__name__) for v in r) for r in rows], c.total_changes))
        except mod.Error as e:
            out.append((s, type(e).__name__, str(e)))
    c.close()
    return out


def _same(tmp_path, script):
    mine = _run(limbodb, tmp_path / "l.db", script)
    theirs = _run(sqlite3, tmp_path / "s.db", script)
    assert mine == theirs
    check = sqlite3.connect(tmp_path / "l.db")
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()


REPLACE = [
    "CREATE TABLE t1(a PRIMARY KEY, b UNIQUE, c) WITHOUT ROWID",
    "INSERT INTO t1 VALUES(1, 'x', 1), (2, 'y', 2), (3, 'z', 3)",
    "REPLACE INTO t1 VALUES(4, 'x', 4)",
    "SELECT * FROM t1",
    "INSERT OR REPLACE INTO t1 VALUES(5, 'y', 5), (3, 'q', 6)",
    "SELECT * FROM t1",
    "UPDATE OR REPLACE t1 SET b = 'q' WHERE a = 4",
    "SELECT * FROM t1",
    "SELECT a FROM t1 WHERE b = 'q'",
    "CREATE TABLE t2(a, b, c, d, PRIMARY KEY(b, a), UNIQUE(c, d) ON CONFLICT REPLACE) WITHOUT ROWID",
    "INSERT INTO t2 VALUES(1, 1, 'c', 1), (1, 2, 'c', 2), (2, 1, 'c', 1)",
    "INSERT INTO t2 VALUES(3, 3, 'c', 2)",
    "SELECT * FROM t2",
    "UPDATE t2 SET d = 1 WHERE a = 3",
    "SELECT * FROM t2",
]


def test_replace_on_a_secondary_unique_index(tmp_path):
    _same(tmp_path, REPLACE)


UPSERT = [
    "CREATE TABLE t1(a PRIMARY KEY, b UNIQUE, c) WITHOUT ROWID",
    "INSERT INTO t1 VALUES(1, 'x', 1), (2, 'y', 2), (3, 'z', 3) RETURNING *",
    "INSERT INTO t1 VALUES(1, 'q', 9) ON CONFLICT DO NOTHING RETURNING *",
    "INSERT INTO t1 VALUES(1, 'q', 9) ON CONFLICT(a) DO UPDATE SET c = excluded.c + c RETURNING *",
    "INSERT INTO t1 VALUES(7, 'y', 9) ON CONFLICT(b) DO UPDATE SET c = excluded.c * 2, a = 20 RETURNING a, b, c",
    "INSERT INTO t1 VALUES(8, 'z', 9) ON CONFLICT(a) DO UPDATE SET c = 0",
    "INSERT INTO t1 VALUES(8, 'z', 9) ON CONFLICT(b) DO UPDATE SET c = 0 WHERE c > 100",
    "INSERT INTO t1 VALUES(9, 'x', 9) ON CONFLICT(b) DO UPDATE SET b = 'y'",
    "INSERT INTO t1 VALUES(9, 'w', 9) ON CONFLICT(c) DO NOTHING",
    "INSERT INTO t1 VALUES(3, 'x', 0) ON CONFLICT(a) DO NOTHING ON CONFLICT DO UPDATE SET c = -1",
    "SELECT * FROM t1",
    "UPDATE t1 SET c = c + 1 WHERE a < 5 RETURNING a, c",
    "UPDATE t1 SET c = 7 WHERE a = 99 RETURNING *",
    "DELETE FROM t1 WHERE a = 20 RETURNING *, c * 2",
    "DELETE FROM t1 RETURNING b",
    "SELECT count(*) FROM t1",
]


def test_upsert_and_returning(tmp_path):
    _same(tmp_path, UPSERT)


INDEXES = [
    "CREATE TABLE t1(a PRIMARY KEY, b, c) WITHOUT ROWID",
    "INSERT INTO t1 VALUES(1, 'x', 1), (2, 'Y', 2), (3, 'z', 3), (4, NULL, 4)",
    "CREATE INDEX t1l ON t1(lower(b))",
    "CREATE UNIQUE INDEX t1u ON t1(lower(b), c) WHERE c > 1",
    "CREATE UNIQUE INDEX t1u2 ON t1(c * 2) WHERE b IS NOT NULL",
    "CREATE INDEX t1p ON t1(b) WHERE c < 3",
    "INSERT INTO t1 VALUES(5, 'y', 5)",
    "INSERT INTO t1 VALUES(6, 'q', 2)",
    "INSERT INTO t1 VALUES(6, 'q', 10)",
    "UPDATE t1 SET c = 3 WHERE a = 6",
    "UPDATE t1 SET b = upper(b)",
    "SELECT * FROM t1",
    "SELECT a FROM t1 WHERE lower(b) = 'y'",
    "SELECT a FROM t1 WHERE b = 'X' AND c < 3",
    "DELETE FROM t1 WHERE a IN (1, 5)",
    "REPLACE INTO t1 VALUES(7, 'n', 4)",
    "INSERT OR REPLACE INTO t1 VALUES(8, 'N', 4)",
    "SELECT * FROM t1",
]


def test_expression_and_partial_indexes(tmp_path):
    _same(tmp_path, INDEXES)


UPDATE_FROM_LIMIT = [
    "CREATE TABLE t1(a, b, c, PRIMARY KEY(a, b)) WITHOUT ROWID",
    "CREATE TABLE t2(a PRIMARY KEY, c) WITHOUT ROWID",
    "CREATE TABLE s(x, y)",
    "INSERT INTO t1 VALUES(1, 1, 1), (1, 2, 2), (2, 1, 3), (3, 3, 0), (4, 1, 5)",
    "INSERT INTO t2 VALUES(1, 1), (2, 2), (3, 3), (4, 0)",
    "INSERT INTO s VALUES(1, 10), (2, 20), (5, 50)",
    "UPDATE t1 SET c = s.y + c FROM s WHERE s.x = t1.a AND t1.b = 1 RETURNING *",
    "UPDATE t1 AS q SET c = y FROM s WHERE x = q.b",
    "UPDATE t1 SET b = 9 FROM s WHERE s.x = t1.a AND s.x = 2",
    "SELECT * FROM t1",
    "DELETE FROM t1 WHERE c > 0 ORDER BY c DESC LIMIT 2",
    "SELECT * FROM t1",
    "UPDATE t1 SET c = c + 10 ORDER BY a DESC LIMIT 1",
    "UPDATE t1 SET c = -c ORDER BY b, a LIMIT 2 OFFSET 1",
    "SELECT * FROM t1",
    "DELETE FROM t2 ORDER BY c LIMIT 2 OFFSET 1",
    "UPDATE t2 SET c = c * 100 ORDER BY a DESC LIMIT 1",
    "SELECT * FROM t2",
    "DELETE FROM t2 LIMIT 1",
    "SELECT * FROM t2",
]


def test_update_from_and_order_by_limit(tmp_path):
    _same(tmp_path, UPDATE_FROM_LIMIT)


@pytest.mark.parametrize("seed", range(4))
def test_random_replace_and_upsert_match_sqlite(tmp_path, seed):
    import random
    rnd = random.Random(seed)
    script = ["CREATE TABLE t1(a PRIMARY KEY, b UNIQUE, c, d) WITHOUT ROWID",
              "CREATE UNIQUE INDEX t1cd ON t1(c, d)"]
    for _ in range(40):
        a, b, c, d = (rnd.randint(0, 8) for _ in range(4))
        script.append(rnd.choice([
            f"REPLACE INTO t1 VALUES({a}, {b}, {c}, {d})",
            f"INSERT INTO t1 VALUES({a}, {b}, {c}, {d}) ON CONFLICT DO NOTHING",
            f"INSERT INTO t1 VALUES({a}, {b}, {c}, {d}) ON CONFLICT(b) DO UPDATE SET d = d + 1",
            f"UPDATE OR REPLACE t1 SET c = {c} WHERE a = {a}",
            f"DELETE FROM t1 WHERE b = {b} RETURNING a",
        ]))
    script.append("SELECT * FROM t1")
    _same(tmp_path, script)
