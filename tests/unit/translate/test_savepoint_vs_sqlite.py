"""SAVEPOINT / RELEASE / ROLLBACK TO and statement rollback: the same as sqlite3, and file interop."""

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import limbodb


def _typed(rows):
    return [tuple((type(v).__name__, v) for v in r) for r in rows]


def _run(mod, path, script):
    c = mod.connect(str(path), isolation_level=None)
    out = []
    for s in script:
        try:
            out.append((s, _typed(c.execute(s).fetchall()), c.in_transaction))
        except mod.Error as e:
            out.append((s, type(e).__name__, str(e), getattr(e, "sqlite_errorcode", None), c.in_transaction))
    if c.in_transaction:
        c.execute("ROLLBACK")
    out.append(c.execute("SELECT type, name, sql FROM sqlite_schema ORDER BY name").fetchall())
    c.close()
    return out


def _same(tmp_path, script):
    mine = _run(limbodb, tmp_path / "l.db", script)
    theirs = _run(sqlite3, tmp_path / "s.db", script)
    for m, t in zip(mine, theirs):
        assert m == t
    check = sqlite3.connect(tmp_path / "l.db")
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()
    for p in tmp_path.iterdir():
        p.unlink()
    return mine


def _series(n, expr="x"):
    return f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x<{n}) SELECT {expr} FROM c"


SCRIPTS = {
    "nested-rollback-to-and-release": [
        "CREATE TABLE t1(a PRIMARY KEY, b)", "SAVEPOINT s1", "INSERT INTO t1 VALUES(1,2)", "SAVEPOINT s2",
        "INSERT INTO t1 VALUES(2,3)", "ROLLBACK TO s2", "SELECT * FROM t1", "INSERT INTO t1 VALUES(3,4)",
        "RELEASE s1", "SELECT * FROM t1", "ROLLBACK TO s1"],
    "savepoint-starts-and-release-commits": [
        "CREATE TABLE t1(x)", "SAVEPOINT a", "INSERT INTO t1 VALUES(1)", "RELEASE SAVEPOINT a",
        "SELECT * FROM t1"],
    "rollback-to-keeps-transaction-open": [
        "CREATE TABLE t1(x)", "SAVEPOINT a", "INSERT INTO t1 VALUES(1)", "ROLLBACK TRANSACTION TO SAVEPOINT a",
        "SELECT * FROM t1", "INSERT INTO t1 VALUES(2)", "ROLLBACK TO a", "RELEASE a", "SELECT count(*) FROM t1"],
    "release-inside-begin-does-not-commit": [
        "CREATE TABLE t1(x)", "BEGIN", "INSERT INTO t1 VALUES(1)", "SAVEPOINT a", "INSERT INTO t1 VALUES(2)",
        "RELEASE a", "ROLLBACK", "SELECT * FROM t1"],
    "commit-releases-everything": [
        "CREATE TABLE t1(x)", "SAVEPOINT a", "SAVEPOINT b", "INSERT INTO t1 VALUES(1)", "COMMIT",
        "RELEASE a", "SELECT * FROM t1"],
    "rollback-ends-savepoint-transaction": [
        "CREATE TABLE t1(x)", "SAVEPOINT a", "INSERT INTO t1 VALUES(1)", "ROLLBACK", "SELECT * FROM t1",
        "ROLLBACK TO a"],
    "no-such-savepoint": [
        "RELEASE x", "ROLLBACK TO x", "SAVEPOINT x", "RELEASE y", "ROLLBACK TO y", "RELEASE x", "SELECT 1"],
    "names-are-case-insensitive-latest-wins": [
        "CREATE TABLE t1(x)", "SAVEPOINT A", "INSERT INTO t1 VALUES(1)", "SAVEPOINT a",
        "INSERT INTO t1 VALUES(2)", "ROLLBACK TO A", "SELECT * FROM t1", "RELEASE a", "SELECT * FROM t1",
        "RELEASE a"],
    "rollback-to-undoes-ddl": [
        "SAVEPOINT a", "CREATE TABLE t1(x)", "CREATE INDEX i1 ON t1(x)", "INSERT INTO t1 VALUES(1)",
        "ROLLBACK TO a", "SELECT name FROM sqlite_schema", "CREATE TABLE t2(y)", "RELEASE a",
        "SELECT name FROM sqlite_schema"],
    "rollback-to-before-first-write": [
        "CREATE TABLE t1(x)", "SAVEPOINT a", "SAVEPOINT b", _series(2000).replace("WITH", "INSERT INTO t1 WITH", 1),
        "ROLLBACK TO a", "SELECT count(*) FROM t1", "INSERT INTO t1 VALUES(7)", "RELEASE b", "RELEASE a",
        "SELECT count(*) FROM t1", "PRAGMA integrity_check"],
    "rollback-to-restores-freed-pages": [
        "CREATE TABLE t1(x)", "INSERT INTO t1 " + _series(300, "randomblob(300)"), "BEGIN",
        "DELETE FROM t1 WHERE rowid % 2", "SAVEPOINT q", "DELETE FROM t1",
        "INSERT INTO t1 VALUES(zeroblob(5000))", "ROLLBACK TO q", "SELECT count(*) FROM t1", "COMMIT",
        "PRAGMA integrity_check", "SELECT count(*), sum(length(x)) FROM t1"],
    "statement-abort-keeps-earlier-statements": [
        "CREATE TABLE t1(a UNIQUE, b)", "BEGIN", "INSERT INTO t1 VALUES(1,1)", "INSERT INTO t1 VALUES(1,2)",
        "INSERT INTO t1 VALUES(2,2)", "COMMIT", "SELECT * FROM t1"],
    "multi-row-insert-failing-keeps-none": [
        "CREATE TABLE t1(a UNIQUE, b)", "BEGIN", "INSERT INTO t1 VALUES(5,1)",
        "INSERT INTO t1 VALUES(1,1),(2,2),(5,3)", "COMMIT", "SELECT * FROM t1"],
    "or-fail-keeps-rows-before-the-error": [
        "CREATE TABLE t1(a UNIQUE, b)", "BEGIN", "INSERT OR FAIL INTO t1 VALUES(1,1),(2,2),(1,3)", "COMMIT",
        "SELECT * FROM t1"],
    "or-rollback-ends-transaction": [
        "CREATE TABLE t1(a UNIQUE, b)", "BEGIN", "INSERT INTO t1 VALUES(9,9)",
        "INSERT OR ROLLBACK INTO t1 VALUES(1,1),(1,3)", "SELECT * FROM t1"],
    "failed-update-in-savepoint": [
        "CREATE TABLE t1(a UNIQUE, b)", "INSERT INTO t1 " + _series(50, "x, x"), "SAVEPOINT s",
        "UPDATE t1 SET b = b + 100", "UPDATE t1 SET a = a + 1", "SELECT sum(a), sum(b) FROM t1",
        "ROLLBACK TO s", "SELECT sum(a), sum(b) FROM t1", "RELEASE s"],
    "statements-after-rollback-to-see-the-old-schema": [
        "CREATE TABLE t0(a)", "SAVEPOINT a", "CREATE TABLE t1(x)", "INSERT INTO t1 VALUES(1)", "ROLLBACK TO a",
        "SELECT * FROM t1", "INSERT INTO t1 VALUES(2)", "CREATE TABLE t1(y)", "INSERT INTO t1 VALUES(3)",
        "SELECT * FROM t1", "RELEASE a", "SELECT * FROM t1"],
    "rollback-to-undoes-drop-and-alter": [
        "CREATE TABLE t0(a)", "BEGIN", "INSERT INTO t0 VALUES(1)", "SAVEPOINT a", "DROP TABLE t0",
        "ROLLBACK TO a", "SELECT * FROM t0", "ALTER TABLE t0 ADD COLUMN b", "SELECT * FROM t0",
        "ROLLBACK TO a", "SELECT * FROM t0", "COMMIT", "SELECT * FROM t0"],
    "failed-statement-after-ddl-in-transaction": [
        "BEGIN", "CREATE TABLE t1(a UNIQUE)", "INSERT INTO t1 VALUES(1)", "INSERT INTO t1 VALUES(2),(1)",
        "COMMIT", "SELECT * FROM t1"],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_savepoint_script_matches_sqlite(tmp_path, name):
    _same(tmp_path, SCRIPTS[name])


_OPS = st.sampled_from([
    "SAVEPOINT a", "SAVEPOINT b", "RELEASE a", "RELEASE b", "ROLLBACK TO a", "ROLLBACK TO b", "BEGIN",
    "COMMIT", "ROLLBACK", "INSERT INTO t1 VALUES(abs(random()) % 40, randomblob(200))",
    "DELETE FROM t1 WHERE a % 3 = 0", "UPDATE t1 SET b = zeroblob(900) WHERE a % 2 = 0",
    "INSERT INTO t1 SELECT a + 40, b FROM t1 WHERE a < 40", "DELETE FROM t1 WHERE a > 60",
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_OPS, max_size=25))
def test_random_savepoint_sequences_match_sqlite(tmp_path, ops):
    script = ["CREATE TABLE t1(a, b)", "CREATE INDEX i1 ON t1(a)"] + ops + [
        "SELECT count(*), sum(a), sum(length(b)) FROM t1", "PRAGMA integrity_check"]
    # random() differs between engines: the values come from a deterministic sequence instead.
    seq = iter(range(10 ** 6))
    script = [s.replace("abs(random()) % 40", str(next(seq) * 7 % 40)) if "random()" in s else s
              for s in script]
    script = [s.replace("randomblob(200)", "zeroblob(200)") for s in script]
    _same(tmp_path, script)


def test_in_transaction_follows_savepoints():
    c = limbodb.connect(":memory:", isolation_level=None)
    assert not c.in_transaction
    c.execute("SAVEPOINT x")
    assert c.in_transaction
    c.execute("SAVEPOINT y")
    c.execute("RELEASE y")
    assert c.in_transaction
    c.execute("RELEASE x")
    assert not c.in_transaction


def test_savepoint_database_reopens_in_sqlite(tmp_path):
    path = tmp_path / "t.db"
    c = limbodb.connect(str(path), isolation_level=None)
    c.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b)")
    c.execute("SAVEPOINT one")
    c.execute("INSERT INTO t1 " + _series(500, "x, randomblob(100)"))
    c.execute("SAVEPOINT two")
    c.execute("DELETE FROM t1 WHERE a > 100")
    c.execute("ROLLBACK TO two")
    c.execute("DELETE FROM t1 WHERE a > 400")
    c.execute("RELEASE one")
    c.close()
    s = sqlite3.connect(path)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert s.execute("SELECT count(*), max(a) FROM t1").fetchall() == [(400, 400)]
    s.execute("SAVEPOINT x")
    s.execute("DELETE FROM t1 WHERE a <= 200")
    s.execute("RELEASE x")
    s.commit()
    s.close()
    c = limbodb.connect(str(path))
    assert c.execute("SELECT count(*), min(a) FROM t1").fetchall() == [(200, 201)]
    c.close()
