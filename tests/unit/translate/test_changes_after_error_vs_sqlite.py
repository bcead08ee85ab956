"""changes(), total_changes() and cursor.rowcount after an INSERT/UPDATE/DELETE fails, against
sqlite3: ABORT and ROLLBACK (and RAISE(ABORT)) leave changes() 0 and total_changes() as before;
OR FAIL and RAISE(FAIL) keep and count the rows written before the error."""

import sqlite3

import pytest

import limbodb


def _run(mod, script):
    c = mod.connect(":memory:", isolation_level=None)
    out = []
    for s in script:
        cur = c.cursor()
        try:
            out.append((s, cur.execute(s).fetchall(), cur.rowcount))
        except mod.Error as e:
            out.append((s, type(e).__name__, str(e), cur.rowcount))
        out.append((c.execute("SELECT changes(), total_changes()").fetchall(), c.total_changes,
                    c.in_transaction))
    c.close()
    return out


def _unique(*stmts):
    return ["CREATE TABLE t(a UNIQUE)", "INSERT INTO t VALUES(1)", *stmts]


SCRIPTS = {
    "abort-in-autocommit": _unique("INSERT INTO t VALUES(4),(1)", "SELECT * FROM t"),
    "abort-inside-begin": _unique("BEGIN", "INSERT INTO t VALUES(2)", "INSERT INTO t VALUES(4),(1)", "COMMIT"),
    "or-fail-keeps-earlier-rows": _unique("INSERT OR FAIL INTO t VALUES(5),(6),(1),(7)", "SELECT * FROM t"),
    "or-fail-inside-begin": _unique("BEGIN", "INSERT OR FAIL INTO t VALUES(5),(6),(1),(7)", "ROLLBACK"),
    "or-ignore": _unique("INSERT OR IGNORE INTO t VALUES(8),(1),(9)"),
    "update-and-delete": _unique(
        "INSERT INTO t VALUES(2),(3)", "UPDATE t SET a=a+1", "UPDATE OR FAIL t SET a=a+10 WHERE a<>2",
        "DELETE FROM t", "INSERT INTO t VALUES(1),(2),(3)", "BEGIN", "UPDATE OR ROLLBACK t SET a=3",
        "UPDATE OR FAIL t SET a=a*2 WHERE a>1", "UPDATE OR FAIL t SET a=4 WHERE a>1"),
    "raise-in-trigger": [
        "CREATE TABLE t(a)", "CREATE TABLE log(x)", "INSERT INTO t VALUES(1),(2),(3)",
        "CREATE TRIGGER tr BEFORE DELETE ON t BEGIN INSERT INTO log VALUES(old.a); "
        "SELECT raise(ABORT,'no') WHERE old.a=2; END", "DELETE FROM t", "DROP TRIGGER tr",
        "CREATE TRIGGER tr BEFORE DELETE ON t BEGIN INSERT INTO log VALUES(old.a); "
        "SELECT raise(FAIL,'stop') WHERE old.a=3; END", "DELETE FROM t", "SELECT * FROM t", "SELECT * FROM log"],
    "foreign-key-at-statement-end": [
        "PRAGMA foreign_keys=ON", "CREATE TABLE p(a PRIMARY KEY)", "CREATE TABLE c(x REFERENCES p)",
        "INSERT INTO p VALUES(1),(2)", "INSERT INTO c VALUES(1),(5)", "UPDATE p SET a=a+1",
        "INSERT OR FAIL INTO c VALUES(2),(6)", "SELECT * FROM c"],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_changes_after_a_failed_statement_match_sqlite(name):
    assert _run(limbodb, SCRIPTS[name]) == _run(sqlite3, SCRIPTS[name])


def test_a_failed_select_leaves_changes_alone():
    c = limbodb.connect(":memory:", isolation_level=None)
    c.execute("CREATE TABLE t(a)")
    c.execute("INSERT INTO t VALUES(1),(2)")
    with pytest.raises(limbodb.OperationalError):
        c.execute("SELECT * FROM t WHERE abs(-9223372036854775807-1)")
    assert c.execute("SELECT changes(), total_changes()").fetchall() == [(2, 2)]
