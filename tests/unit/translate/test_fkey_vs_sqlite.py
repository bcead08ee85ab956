"""Foreign keys: enforcement, actions, deferred checks and the pragmas, the same as sqlite3; file interop."""

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import limbodb
from limbodb.errors import SQLITE_CONSTRAINT_FOREIGNKEY


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
    return mine


ON = ["PRAGMA foreign_keys=ON"]

SCRIPTS = {
    "no-action-insert-update-delete": ON + [
        "CREATE TABLE p(a PRIMARY KEY, b)", "CREATE TABLE c(x REFERENCES p(a), y)",
        "INSERT INTO p VALUES(1,1),(2,2)", "INSERT INTO c VALUES(1,1)", "INSERT INTO c VALUES(3,1)",
        "INSERT INTO c VALUES(NULL,1)", "SELECT * FROM c", "DELETE FROM p WHERE a=1", "DELETE FROM p WHERE a=2",
        "SELECT * FROM p", "UPDATE c SET x=2 WHERE y=1", "UPDATE c SET x=5", "UPDATE p SET a=7 WHERE a=2",
        "UPDATE p SET b=9", "SELECT * FROM c", "PRAGMA foreign_key_check"],
    "off-by-default": [
        "CREATE TABLE p(a PRIMARY KEY)", "CREATE TABLE c(x REFERENCES p)", "INSERT INTO c VALUES(1)",
        "PRAGMA foreign_keys", "PRAGMA foreign_key_check", "PRAGMA foreign_key_check(c)"],
    "cascade-delete-and-update": ON + [
        "CREATE TABLE p(a INTEGER PRIMARY KEY, b)",
        "CREATE TABLE c(x REFERENCES p ON DELETE CASCADE ON UPDATE CASCADE, y)",
        "INSERT INTO p VALUES(1,1),(2,2)", "INSERT INTO c VALUES(1,1),(1,2),(2,3)", "DELETE FROM p WHERE a=1",
        "SELECT * FROM c", "UPDATE p SET a=10", "SELECT * FROM c", "SELECT changes()", "DELETE FROM p",
        "SELECT * FROM c"],
    "set-null-and-set-default": ON + [
        "CREATE TABLE p(a, b, PRIMARY KEY(a, b))",
        "CREATE TABLE c(x DEFAULT 2, y DEFAULT 2, z, FOREIGN KEY(x, y) REFERENCES p "
        "ON DELETE SET NULL ON UPDATE SET DEFAULT)",
        "INSERT INTO p VALUES(1,1),(2,2),(3,3)", "INSERT INTO c VALUES(1,1,0),(2,2,0),(3,3,0)",
        "DELETE FROM p WHERE a=1", "SELECT * FROM c", "UPDATE p SET a=4 WHERE a=3", "SELECT * FROM c",
        "UPDATE p SET a=5 WHERE a=2", "SELECT * FROM c"],
    "restrict-fails-at-once": ON + [
        "CREATE TABLE p(a PRIMARY KEY)", "CREATE TABLE c(x REFERENCES p ON DELETE RESTRICT)",
        "INSERT INTO p VALUES(1)", "INSERT INTO c VALUES(1)", "DELETE FROM p", "BEGIN", "DELETE FROM p",
        "COMMIT", "SELECT * FROM p"],
    "deferred-checked-at-commit": ON + [
        "CREATE TABLE p(a PRIMARY KEY)", "CREATE TABLE c(x REFERENCES p DEFERRABLE INITIALLY DEFERRED)",
        "BEGIN", "INSERT INTO c VALUES(1)", "COMMIT", "INSERT INTO p VALUES(1)", "COMMIT", "SELECT * FROM c",
        "INSERT INTO c VALUES(2)", "SELECT * FROM c", "SAVEPOINT s", "INSERT INTO c VALUES(3)", "RELEASE s",
        "DELETE FROM c WHERE x=3", "RELEASE s"],
    "deferred-rolled-back-with-savepoint": ON + [
        "CREATE TABLE p(a PRIMARY KEY)", "CREATE TABLE c(x REFERENCES p DEFERRABLE INITIALLY DEFERRED)",
        "BEGIN", "SAVEPOINT s", "INSERT INTO c VALUES(1)", "ROLLBACK TO s", "COMMIT", "SELECT * FROM c"],
    "deferred-count-restored-after-failed-statement": ON + [
        "CREATE TABLE p(a PRIMARY KEY)", "CREATE TABLE c(x REFERENCES p DEFERRABLE INITIALLY DEFERRED, y UNIQUE)",
        "BEGIN", "INSERT INTO c VALUES(5, 1), (6, 1)", "COMMIT", "BEGIN", "INSERT INTO c VALUES(5, 1)",
        "INSERT INTO c VALUES(NULL, 1)", "COMMIT", "DELETE FROM c", "COMMIT", "SELECT * FROM c"],
    "defer-foreign-keys-pragma": ON + [
        "CREATE TABLE p(a PRIMARY KEY)", "CREATE TABLE c(x REFERENCES p)", "PRAGMA defer_foreign_keys=1",
        "BEGIN", "PRAGMA defer_foreign_keys", "INSERT INTO c VALUES(1)", "INSERT INTO p VALUES(1)", "COMMIT",
        "PRAGMA defer_foreign_keys", "SELECT * FROM c"],
    "self-referencing-table": ON + [
        "CREATE TABLE t(id INTEGER PRIMARY KEY, pid REFERENCES t ON DELETE CASCADE)",
        "INSERT INTO t VALUES(1,NULL),(2,1),(3,2),(4,4)", "DELETE FROM t WHERE id=1", "SELECT * FROM t",
        "UPDATE t SET id=5 WHERE id=4", "SELECT * FROM t", "INSERT INTO t VALUES(7,6),(6,NULL)",
        "SELECT * FROM t"],
    "drop-table-deletes-rows-first": ON + [
        "CREATE TABLE p(a PRIMARY KEY)", "CREATE TABLE c(x REFERENCES p)", "INSERT INTO p VALUES(1)",
        "INSERT INTO c VALUES(1)", "DROP TABLE p", "SELECT * FROM p", "DELETE FROM c", "DROP TABLE p",
        "SELECT * FROM c"],
    "drop-table-cascades": ON + [
        "CREATE TABLE p(a PRIMARY KEY)", "CREATE TABLE c(x REFERENCES p ON DELETE CASCADE)",
        "INSERT INTO p VALUES(1),(2)", "INSERT INTO c VALUES(1),(2),(NULL)", "DROP TABLE p", "SELECT * FROM c"],
    "drop-table-fires-child-triggers-only": ON + [
        "CREATE TABLE p(a PRIMARY KEY)", "CREATE TABLE c(x REFERENCES p ON DELETE CASCADE)", "CREATE TABLE log(m)",
        "CREATE TRIGGER tp AFTER DELETE ON p BEGIN INSERT INTO log VALUES('p ' || old.a); END",
        "CREATE TRIGGER tc AFTER DELETE ON c BEGIN INSERT INTO log VALUES('c ' || old.x); END",
        "INSERT INTO p VALUES(1),(2)", "INSERT INTO c VALUES(1),(2)", "DROP TABLE p", "SELECT * FROM log",
        "SELECT * FROM c"],
    "mismatch-errors": ON + [
        "CREATE TABLE c(x REFERENCES p(a))", "INSERT INTO c VALUES(1)", "INSERT INTO c VALUES(NULL)",
        "CREATE TABLE p(a, b)", "INSERT INTO c VALUES(1)", "DELETE FROM p", "PRAGMA foreign_key_check",
        "PRAGMA foreign_key_list(c)", "CREATE TABLE c4(x REFERENCES c4)", "INSERT INTO c4 VALUES(1)"],
    "unique-index-parent-key": ON + [
        "CREATE TABLE p(a, b, UNIQUE(b, a))", "CREATE TABLE c(x, y, FOREIGN KEY(x, y) REFERENCES p(a, b))",
        "INSERT INTO p VALUES(1, 'one')", "INSERT INTO c VALUES(1, 'one')", "INSERT INTO c VALUES(1, 'two')",
        "INSERT INTO c VALUES(NULL, 'two')", "DELETE FROM p", "SELECT * FROM c"],
    "affinity-of-parent-key": ON + [
        "CREATE TABLE p(a INTEGER PRIMARY KEY, b TEXT UNIQUE)", "CREATE TABLE c(x REFERENCES p, y REFERENCES p(b))",
        "INSERT INTO p VALUES(1, '1')", "INSERT INTO c VALUES('1', 1)", "INSERT INTO c VALUES(1.0, '1')",
        "INSERT INTO c VALUES('x', NULL)", "INSERT INTO c VALUES(1e300, NULL)", "INSERT INTO c VALUES(x'31', NULL)",
        "INSERT INTO c VALUES(-0.0, NULL)", "SELECT x, typeof(x), y, typeof(y) FROM c"],
    "foreign-key-list-rows": [
        "CREATE TABLE p(a PRIMARY KEY, b, UNIQUE(a, b))",
        "CREATE TABLE c(x REFERENCES p, y REFERENCES p(a) ON UPDATE CASCADE ON DELETE SET DEFAULT MATCH FULL,"
        " z, FOREIGN KEY(y, z) REFERENCES p(a, b) ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED)",
        "PRAGMA foreign_key_list(c)", "PRAGMA foreign_key_list(p)", "PRAGMA foreign_key_list(nosuch)",
        "INSERT INTO c VALUES(1, 2, 3)", "PRAGMA foreign_key_check", "PRAGMA foreign_key_check(c)",
        "PRAGMA foreign_key_check(p)"],
    "pragma-foreign-keys-inside-transaction-is-ignored": [
        "PRAGMA foreign_keys", "PRAGMA foreign_keys=1", "PRAGMA foreign_keys", "BEGIN", "PRAGMA foreign_keys=0",
        "PRAGMA foreign_keys", "COMMIT", "PRAGMA foreign_keys=off", "PRAGMA foreign_keys"],
    "failed-statement-keeps-transaction": ON + [
        "CREATE TABLE p(a PRIMARY KEY)", "CREATE TABLE c(x REFERENCES p)", "BEGIN", "INSERT INTO p VALUES(1)",
        "INSERT INTO c VALUES(1),(2)", "INSERT INTO c VALUES(1)", "COMMIT", "SELECT * FROM c"],
    "child-rows-found-through-an-index": ON + [
        "CREATE TABLE p(a PRIMARY KEY COLLATE NOCASE, b)", "CREATE TABLE c(x REFERENCES p ON UPDATE CASCADE, y)",
        "CREATE INDEX cx ON c(x COLLATE NOCASE DESC, y)", "CREATE TABLE d(x REFERENCES p ON DELETE SET NULL)",
        "CREATE INDEX dx ON d(x)", "INSERT INTO p VALUES('A', 1), ('b', 2)",
        "INSERT INTO c VALUES('a', 1), ('A', 2), ('B', 3)", "INSERT INTO d VALUES('a'), ('b')",
        "UPDATE p SET a = 'z' WHERE b = 1", "SELECT * FROM c ORDER BY y", "DELETE FROM p WHERE b = 2",
        "DELETE FROM c WHERE y = 3", "DELETE FROM p WHERE b = 2", "SELECT quote(x) FROM d ORDER BY rowid"],
    "cascade-chain": ON + [
        "CREATE TABLE a(id INTEGER PRIMARY KEY)",
        "CREATE TABLE b(id INTEGER PRIMARY KEY, aid REFERENCES a ON DELETE CASCADE)",
        "CREATE TABLE c(bid REFERENCES b ON DELETE CASCADE)", "INSERT INTO a VALUES(1),(2)",
        "INSERT INTO b VALUES(10,1),(20,2)", "INSERT INTO c VALUES(10),(20),(20)", "DELETE FROM a WHERE id=2",
        "SELECT * FROM b", "SELECT * FROM c", "SELECT changes(), total_changes()"],
    "triggers-and-actions": ON + [
        "CREATE TABLE p(a PRIMARY KEY)", "CREATE TABLE c(x REFERENCES p ON DELETE CASCADE)", "CREATE TABLE log(m)",
        "CREATE TRIGGER tc AFTER DELETE ON c BEGIN INSERT INTO log VALUES('c ' || old.x); END",
        "CREATE TRIGGER tp AFTER INSERT ON p BEGIN INSERT INTO c VALUES(new.a); END",
        "INSERT INTO p VALUES(1),(2)", "SELECT * FROM c", "DELETE FROM p WHERE a=1", "SELECT * FROM log",
        "SELECT * FROM c", "CREATE TRIGGER tq AFTER INSERT ON p BEGIN INSERT INTO c VALUES(new.a + 100); END",
        "INSERT INTO p VALUES(3)", "SELECT * FROM p"],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_foreign_key_script_matches_sqlite(tmp_path, name):
    _same(tmp_path, SCRIPTS[name])


def test_violation_has_foreignkey_code():
    c = limbodb.connect(":memory:", isolation_level=None)
    c.executescript("PRAGMA foreign_keys=ON; CREATE TABLE p(a PRIMARY KEY); CREATE TABLE c(x REFERENCES p);")
    with pytest.raises(limbodb.IntegrityError) as e:
        c.execute("INSERT INTO c VALUES(1)")
    assert str(e.value) == "FOREIGN KEY constraint failed"
    assert e.value.sqlite_errorcode == SQLITE_CONSTRAINT_FOREIGNKEY


def test_foreign_key_file_opens_in_sqlite_and_back(tmp_path):
    path = tmp_path / "fk.db"
    c = limbodb.connect(str(path), isolation_level=None)
    c.executescript("""
        PRAGMA foreign_keys=ON;
        CREATE TABLE p(a INTEGER PRIMARY KEY, b TEXT UNIQUE);
        CREATE TABLE c(x REFERENCES p ON DELETE CASCADE, y REFERENCES p(b) ON UPDATE CASCADE);
        INSERT INTO p VALUES(1, 'one'), (2, 'two');
        INSERT INTO c VALUES(1, 'one'), (2, 'two');
        DELETE FROM p WHERE a = 1;
    """)
    c.close()
    s = sqlite3.connect(path, isolation_level=None)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert s.execute("PRAGMA foreign_key_check").fetchall() == []
    assert s.execute("SELECT * FROM c").fetchall() == [(2, "two")]
    s.execute("PRAGMA foreign_keys=ON")
    s.execute("UPDATE p SET b = 'deux'")
    s.execute("INSERT INTO c VALUES(NULL, 'deux')")
    s.close()
    c = limbodb.connect(str(path), isolation_level=None)
    c.execute("PRAGMA foreign_keys=ON")
    assert c.execute("SELECT * FROM c").fetchall() == [(2, "deux"), (None, "deux")]
    with pytest.raises(limbodb.IntegrityError):
        c.execute("INSERT INTO c VALUES(3, NULL)")
    c.execute("DELETE FROM c WHERE x IS NULL")
    c.execute("DELETE FROM p")
    assert c.execute("SELECT count(*) FROM c").fetchall() == [(0,)]
    c.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_actions_and_savepoints_resume_under_simulated_io(seed):
    from limbodb.io import MemoryIO
    from limbodb.io.sim import SimulatedIO
    script = [
        "PRAGMA foreign_keys=ON",
        "CREATE TABLE p(a INTEGER PRIMARY KEY, b TEXT UNIQUE)",
        "CREATE TABLE c(x REFERENCES p ON DELETE CASCADE, y REFERENCES p(b) ON UPDATE CASCADE, z)",
        "INSERT INTO p SELECT value, 'k' || value FROM (WITH RECURSIVE s(value) AS "
        "(SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < 300) SELECT value FROM s)",
        "INSERT INTO c SELECT a, b, randomblob(50) FROM p", "CREATE INDEX cx ON c(x)",
        "BEGIN", "SAVEPOINT s", "DELETE FROM p WHERE a % 3 = 0", "UPDATE p SET b = b || 'x' WHERE a % 3 = 1",
        "ROLLBACK TO s", "DELETE FROM p WHERE a > 250", "RELEASE s", "COMMIT",
        "SELECT count(*), sum(x), count(DISTINCT y) FROM c", "PRAGMA foreign_key_check", "PRAGMA integrity_check",
    ]

    def run(io):
        con = limbodb.connect("t.db", io=io, isolation_level=None)
        out = [con.execute(s).fetchall() for s in script]
        con.close()
        return out
    assert run(SimulatedIO(seed)) == run(MemoryIO())


_FK_OPS = st.one_of(
    st.builds("INSERT INTO p VALUES({}, {})".format, st.integers(0, 6), st.integers(0, 3)),
    st.builds("INSERT INTO c VALUES({}, {})".format, st.sampled_from(["NULL", "0", "1", "2", "5"]),
              st.integers(0, 3)),
    st.builds("DELETE FROM p WHERE a = {}".format, st.integers(0, 6)),
    st.builds("DELETE FROM c WHERE y = {}".format, st.integers(0, 3)),
    st.builds("UPDATE p SET a = a + {} WHERE b = {}".format, st.integers(1, 3), st.integers(0, 3)),
    st.builds("UPDATE c SET x = {} WHERE y = {}".format, st.integers(0, 6), st.integers(0, 3)),
    st.sampled_from(["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT s", "ROLLBACK TO s", "RELEASE s",
                     "PRAGMA defer_foreign_keys=1", "PRAGMA foreign_key_check"]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["", "ON DELETE CASCADE ON UPDATE CASCADE", "ON DELETE SET NULL ON UPDATE SET DEFAULT",
                        "ON DELETE RESTRICT", "DEFERRABLE INITIALLY DEFERRED"]),
       st.lists(_FK_OPS, max_size=20))
def test_random_foreign_key_workloads_match_sqlite(tmp_path, action, ops):
    script = ON + ["CREATE TABLE p(a PRIMARY KEY, b)",
                   f"CREATE TABLE c(x DEFAULT 1 REFERENCES p {action}, y)", "CREATE INDEX cx ON c(x)"] + ops + [
        "SELECT * FROM p ORDER BY a", "SELECT * FROM c ORDER BY rowid", "PRAGMA foreign_key_check"]
    _same(tmp_path, script)
    for p in tmp_path.iterdir():
        p.unlink()
