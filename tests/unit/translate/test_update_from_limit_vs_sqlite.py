"""UPDATE ... FROM and UPDATE/DELETE ... ORDER BY ... LIMIT: same rows, changes and errors as sqlite3
(whose stdlib build has SQLITE_ENABLE_UPDATE_DELETE_LIMIT)."""

import sqlite3

import pytest

import limbodb

SETUP = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b, c TEXT)",
    "CREATE INDEX t1c ON t1(c)",
    "INSERT INTO t1 VALUES (1, 10, 'x'), (2, 20, 'y'), (3, 30, 'x'), (4, 40, 'z'), (5, 50, 'y')",
    "CREATE TABLE t2(k, v, w)",
    "INSERT INTO t2 VALUES (1, 100, 'p'), (3, 300, 'q'), (5, 500, 'r'), (9, 900, 's')",
]

CASES = [
    ["UPDATE t1 SET b = t2.v FROM t2 WHERE t1.a = t2.k"],
    ["UPDATE t1 SET b = t2.v + t1.b, c = t2.w FROM t2 WHERE t2.k = t1.a AND t2.v > 100"],
    ["UPDATE t1 AS x SET b = y.v FROM t2 AS y WHERE x.a = y.k RETURNING a, b"],
    ["UPDATE t1 SET c = s.n FROM (SELECT k % 2 AS kk, sum(v) AS n FROM t2 GROUP BY 1) AS s WHERE s.kk = t1.a % 2"],
    # The FROM list reads the target: it sees the table as it was before the UPDATE.
    ["UPDATE t1 SET c = s.n FROM (SELECT c AS cc, count(*) AS n FROM t1 GROUP BY c) AS s WHERE s.cc = t1.c"],
    ["UPDATE t1 SET b = o.b + 1 FROM t1 AS o WHERE o.a = t1.a - 1"],
    ["WITH w(k) AS (SELECT 3) UPDATE t1 SET b = 0 FROM w WHERE t1.a = w.k"],
    ["CREATE TABLE log(x)", "CREATE TRIGGER tr AFTER UPDATE ON t1 BEGIN INSERT INTO log VALUES (new.b); END",
     "UPDATE t1 SET b = t2.v FROM t2 WHERE t1.a = t2.k", "SELECT x FROM log ORDER BY x"],
    ["UPDATE t1 SET a = t2.k + 10 FROM t2 WHERE t1.a = t2.k"],
    ["UPDATE t1 SET nope = 1 FROM t2"],
    ["UPDATE t1 SET b = -1 ORDER BY b DESC LIMIT 2"],
    ["UPDATE t1 SET b = -1 WHERE c = 'x' ORDER BY a LIMIT 1 OFFSET 1"],
    ["UPDATE t1 SET b = b + 1 LIMIT 3"],
    ["UPDATE t1 SET b = 0 LIMIT -1"],
    ["UPDATE t1 SET b = 0 ORDER BY a"],
    ["DELETE FROM t1 ORDER BY b LIMIT 2"],
    ["DELETE FROM t1 WHERE c <> 'z' ORDER BY c DESC, a LIMIT 2 OFFSET 1"],
    ["DELETE FROM t1 LIMIT 0"],
    ["DELETE FROM t1 ORDER BY a"],
    ["DELETE FROM t1 AS q ORDER BY q.b DESC LIMIT 1 RETURNING *"],
    ["UPDATE t1 SET b = t2.v FROM t2 WHERE t1.a = t2.k ORDER BY t2.v DESC LIMIT 1"],
    ["ALTER TABLE t2 ADD COLUMN b", "UPDATE t1 SET c = b FROM t2 WHERE t1.a = t2.k"],
    ["UPDATE t1 SET b = 1 FROM t2 AS x, t2 AS y WHERE x.k = t1.a AND y.k = x.k + 2 RETURNING a, b"],
]


def _run(mod, script):
    c = mod.connect(":memory:", isolation_level=None)
    for s in SETUP:
        c.execute(s)
    out = []
    for s in script:
        try:
            cur = c.execute(s)
            out.append((cur.fetchall(), c.total_changes))
        except mod.Error as e:
            out.append((type(e).__name__, str(e)))
    out.append(c.execute("SELECT * FROM t1 ORDER BY a").fetchall())
    out.append(c.execute("SELECT * FROM t1 INDEXED BY t1c WHERE c > '' ORDER BY c, a").fetchall())
    return out


@pytest.mark.parametrize("script", CASES)
def test_update_delete_extension_matches_sqlite(script):
    assert _run(limbodb, script) == _run(sqlite3, script)


def test_file_written_with_update_from_passes_sqlite_integrity_check(tmp_path):
    path = str(tmp_path / "l.db")
    c = limbodb.connect(path)
    script = ["UPDATE t1 SET b = t2.v FROM t2 WHERE t1.a = t2.k", "UPDATE t1 SET b = -1 ORDER BY b DESC LIMIT 2",
              "DELETE FROM t1 ORDER BY b LIMIT 2"]
    for s in SETUP + script:
        c.execute(s)
    c.commit()
    c.close()
    s = sqlite3.connect(path)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert s.execute("SELECT * FROM t1 ORDER BY a").fetchall() == _run(sqlite3, script)[-2]
