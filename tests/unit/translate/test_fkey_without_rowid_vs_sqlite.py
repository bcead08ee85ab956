"""Foreign keys where the parent or the child is a WITHOUT ROWID table, against sqlite3: every
action, RESTRICT, deferred constraints, composite keys, self-reference, upsert, UPDATE FROM,
DROP TABLE and PRAGMA foreign_key_check; the parent key's collation in actions, and generated
child columns. The result file passes sqlite3's integrity_check."""

import sqlite3

import pytest

import limbodb


def _run(mod, path, script):
    c = mod.connect(str(path), isolation_level=None)
    out = []
    for s in script:
        try:
            out.append((s, c.execute(s).fetchall(), c.in_transaction))
        except mod.Error as e:
            out.append((s, type(e).__name__, str(e), c.in_transaction))
    if c.in_transaction:
        c.execute("ROLLBACK")
    c.close()
    return out


ON = ["PRAGMA foreign_keys=ON"]

SCRIPTS = {
    "cascade-both-without-rowid": ON + [
        "CREATE TABLE p(a PRIMARY KEY, b) WITHOUT ROWID",
        "CREATE TABLE c(x REFERENCES p ON DELETE CASCADE ON UPDATE CASCADE, y PRIMARY KEY) WITHOUT ROWID",
        "INSERT INTO p VALUES(1,1),(2,2)", "INSERT INTO c VALUES(1,1),(1,2),(2,3)", "INSERT INTO c VALUES(5,9)",
        "DELETE FROM p WHERE a=1", "SELECT * FROM c", "UPDATE p SET a=10", "SELECT * FROM c",
        "SELECT changes(), total_changes()", "DELETE FROM p", "SELECT * FROM c", "PRAGMA foreign_key_check"],
    "composite-parent-set-null-set-default-rowid-child": ON + [
        "CREATE TABLE p(a, b, c, PRIMARY KEY(a,b)) WITHOUT ROWID",
        "CREATE TABLE c(x DEFAULT 0, y DEFAULT 0, z PRIMARY KEY, "
        "FOREIGN KEY(x,y) REFERENCES p ON DELETE SET NULL ON UPDATE SET DEFAULT)",
        "INSERT INTO p VALUES(1,1,0),(2,2,0),(0,0,0)", "INSERT INTO c VALUES(1,1,1),(2,2,2)",
        "DELETE FROM p WHERE a=1", "SELECT * FROM c", "UPDATE p SET a=5 WHERE a=2", "SELECT * FROM c",
        "INSERT INTO c VALUES(7,7,7)", "DELETE FROM p WHERE a=0", "SELECT * FROM c"],
    "restrict-on-rowid-parent-without-rowid-child": ON + [
        "CREATE TABLE p(a PRIMARY KEY, b)",
        "CREATE TABLE c(x REFERENCES p ON DELETE RESTRICT, y, z, PRIMARY KEY(y,z)) WITHOUT ROWID",
        "INSERT INTO p VALUES(1,1)", "INSERT INTO c VALUES(1,1,1)", "DELETE FROM p", "INSERT INTO c VALUES(3,1,2)",
        "UPDATE c SET x=2", "DELETE FROM c", "DELETE FROM p", "SELECT * FROM p"],
    "deferred": ON + [
        "CREATE TABLE p(a PRIMARY KEY, b) WITHOUT ROWID",
        "CREATE TABLE c(x REFERENCES p DEFERRABLE INITIALLY DEFERRED, y PRIMARY KEY) WITHOUT ROWID",
        "BEGIN", "INSERT INTO c VALUES(1,1)", "INSERT INTO p VALUES(1,1)", "COMMIT", "BEGIN", "DELETE FROM p",
        "COMMIT", "SELECT * FROM c", "ROLLBACK", "SELECT * FROM c, p", "PRAGMA defer_foreign_keys=ON",
        "INSERT INTO c VALUES(2,2)", "BEGIN", "PRAGMA defer_foreign_keys=ON", "INSERT INTO c VALUES(3,3)",
        "INSERT INTO p VALUES(3,3)", "COMMIT", "SELECT * FROM c"],
    "foreign-key-check": [
        "CREATE TABLE p(a PRIMARY KEY, b) WITHOUT ROWID",
        "CREATE TABLE c(x REFERENCES p, y PRIMARY KEY) WITHOUT ROWID",
        "CREATE TABLE d(k INTEGER PRIMARY KEY, v, w, FOREIGN KEY(w, v) REFERENCES e(f, g))",
        "CREATE TABLE e(f, g, h, PRIMARY KEY(g, f)) WITHOUT ROWID",
        "INSERT INTO c VALUES(1,1),(2,2),(NULL,3)", "INSERT INTO p VALUES(1,1)", "INSERT INTO e VALUES(1,2,0)",
        "INSERT INTO d VALUES(1,2,1),(2,1,2)", "PRAGMA foreign_key_check(c)",
        "PRAGMA foreign_key_check(d)"],
    "self-reference": ON + [
        "CREATE TABLE t(id PRIMARY KEY, parent REFERENCES t ON DELETE CASCADE ON UPDATE CASCADE) WITHOUT ROWID",
        "INSERT INTO t VALUES(1,NULL),(2,1),(3,2),(4,4)", "UPDATE t SET id=40 WHERE id=4", "SELECT * FROM t",
        "DELETE FROM t WHERE id=1", "SELECT * FROM t", "INSERT INTO t VALUES(5,6)",
        "INSERT OR REPLACE INTO t VALUES(40, 40)", "SELECT * FROM t", "DELETE FROM t", "SELECT * FROM t"],
    "unique-parent-key-child-indexes-upsert-update-from-drop": ON + [
        "CREATE TABLE p(a, b, u UNIQUE, PRIMARY KEY(b,a)) WITHOUT ROWID",
        "CREATE TABLE c(k PRIMARY KEY, x DEFAULT 0, y DEFAULT 0, "
        "w REFERENCES p(u) ON UPDATE CASCADE ON DELETE SET NULL, "
        "FOREIGN KEY(y,x) REFERENCES p(a,b) ON DELETE SET DEFAULT ON UPDATE CASCADE) WITHOUT ROWID",
        "CREATE INDEX cxy ON c(y,x)", "CREATE INDEX cw ON c(w)",
        "INSERT INTO p VALUES(0,0,'z'),(1,2,'a'),(3,4,'b')", "INSERT INTO c VALUES(1,2,1,'a'),(2,4,3,'b'),(3,2,1,NULL)",
        "INSERT INTO c VALUES(4,1,2,NULL)", "UPDATE p SET u='q' WHERE u='a'", "SELECT * FROM c ORDER BY k",
        "UPDATE p SET a=9 WHERE a=1", "SELECT * FROM c ORDER BY k", "DELETE FROM p WHERE u='b'",
        "SELECT * FROM c ORDER BY k", "DELETE FROM p WHERE a=0", "SELECT changes(), total_changes()",
        "PRAGMA foreign_key_check", "INSERT INTO p VALUES(9,2,'q') ON CONFLICT(u) DO UPDATE SET u='r'",
        "SELECT * FROM c ORDER BY k", "SELECT * FROM p ORDER BY a", "CREATE TABLE m(o, n)",
        "INSERT INTO m VALUES('r','s')", "UPDATE p SET u=m.n FROM m WHERE p.u=m.o", "SELECT * FROM c ORDER BY k",
        "DROP TABLE p", "SELECT * FROM c ORDER BY k", "DELETE FROM c WHERE k=1", "DROP TABLE c"],
    "delete-all-rows-of-a-without-rowid-parent": ON + [
        "CREATE TABLE p(a PRIMARY KEY) WITHOUT ROWID", "CREATE TABLE c(x REFERENCES p)",
        "INSERT INTO p VALUES(1),(2)", "INSERT INTO c VALUES(2)", "DELETE FROM p", "SELECT * FROM p",
        "DELETE FROM c", "DELETE FROM p", "SELECT * FROM p"],
    "parent-key-collation-in-actions": ON + [
        "CREATE TABLE p(a TEXT COLLATE NOCASE PRIMARY KEY) WITHOUT ROWID",
        "CREATE TABLE c(x TEXT REFERENCES p ON UPDATE CASCADE ON DELETE SET NULL, id INTEGER PRIMARY KEY)",
        "CREATE TABLE q(a TEXT COLLATE NOCASE PRIMARY KEY)",
        "CREATE TABLE d(x TEXT REFERENCES q ON UPDATE CASCADE, id PRIMARY KEY) WITHOUT ROWID",
        "INSERT INTO p VALUES('A')", "INSERT INTO c(x) VALUES('a'),('A')", "INSERT INTO c(x) VALUES('b')",
        "UPDATE p SET a='B'", "SELECT * FROM c", "DELETE FROM p", "SELECT * FROM c",
        "INSERT INTO q VALUES('k')", "INSERT INTO d VALUES('K', 1), ('k', 2)", "UPDATE q SET a='m'",
        "SELECT * FROM d"],
    "replace-upsert-and-restrict-on-update": ON + [
        "CREATE TABLE p(a PRIMARY KEY, b UNIQUE) WITHOUT ROWID",
        "CREATE TABLE c(x REFERENCES p ON DELETE CASCADE, y PRIMARY KEY) WITHOUT ROWID",
        "CREATE TABLE q(a PRIMARY KEY, b) WITHOUT ROWID",
        "CREATE TABLE d(x REFERENCES q ON UPDATE RESTRICT, y PRIMARY KEY) WITHOUT ROWID",
        "INSERT INTO p VALUES(1,1),(2,2)", "INSERT INTO c VALUES(1,1),(2,2)", "INSERT OR REPLACE INTO p VALUES(1,5)",
        "SELECT * FROM c", "REPLACE INTO p VALUES(3,2)", "SELECT * FROM c", "INSERT INTO c VALUES(3,3)",
        "REPLACE INTO c VALUES(1,3)", "SELECT * FROM c", "INSERT INTO p VALUES(3, 9) ON CONFLICT DO NOTHING",
        "UPDATE OR REPLACE p SET a=3 WHERE a=1", "SELECT * FROM p ORDER BY a", "SELECT * FROM c",
        "INSERT INTO q VALUES(1,1),(2,2)", "INSERT INTO d VALUES(1,1)", "UPDATE q SET a=a+10", "UPDATE q SET b=7",
        "SELECT * FROM q ORDER BY a", "BEGIN", "PRAGMA defer_foreign_keys=1", "DELETE FROM q WHERE a=1",
        "INSERT INTO q VALUES(1,0)", "COMMIT", "SELECT * FROM q ORDER BY a"],
    "generated-child-columns": ON + [
        "CREATE TABLE p(a PRIMARY KEY)",
        "CREATE TABLE c(v AS (y*10) VIRTUAL, y, z, x AS (y+1) REFERENCES p, s AS (z) STORED REFERENCES p)",
        "CREATE TABLE w(y PRIMARY KEY, z, x AS (y+1) REFERENCES p ON DELETE RESTRICT, v AS (z) VIRTUAL) WITHOUT ROWID",
        "INSERT INTO p VALUES(1),(2),(3)", "INSERT INTO c(y, z) VALUES(1, 3)", "INSERT INTO c(y, z) VALUES(5, 3)",
        "INSERT INTO w(y, z) VALUES(2, 0)", "INSERT INTO w(y, z) VALUES(7, 0)", "DELETE FROM p WHERE a=2",
        "DELETE FROM p WHERE a=3", "DELETE FROM p WHERE a=1", "SELECT * FROM p", "PRAGMA foreign_keys=OFF",
        "INSERT INTO c(y, z) VALUES(8, 9)", "INSERT INTO w(y, z) VALUES(8, 9)", "PRAGMA foreign_key_check(c)",
        "PRAGMA foreign_key_check(w)"],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_foreign_keys_on_without_rowid_tables_match_sqlite(tmp_path, name):
    script = SCRIPTS[name]
    mine = _run(limbodb, tmp_path / "l.db", script)
    theirs = _run(sqlite3, tmp_path / "s.db", script)
    assert mine == theirs
    check = sqlite3.connect(tmp_path / "l.db")
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()


def test_cascade_through_a_chain_of_without_rowid_tables_matches_sqlite():
    script = ON + [
        "CREATE TABLE a(k PRIMARY KEY) WITHOUT ROWID",
        "CREATE TABLE b(k PRIMARY KEY, ak REFERENCES a ON DELETE CASCADE ON UPDATE CASCADE) WITHOUT ROWID",
        "CREATE TABLE c(k PRIMARY KEY, bk REFERENCES b ON DELETE CASCADE ON UPDATE SET NULL) WITHOUT ROWID",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<20) "
        "INSERT INTO a SELECT i FROM n",
        "INSERT INTO b SELECT k*10, k FROM a", "INSERT INTO c SELECT k*10, k FROM b",
        "UPDATE a SET k=k+100 WHERE k%3=0", "UPDATE b SET k=k+1 WHERE ak>100",
        "DELETE FROM a WHERE k%2=0", "SELECT count(*), sum(k) FROM a", "SELECT * FROM b ORDER BY k",
        "SELECT * FROM c ORDER BY k", "PRAGMA foreign_key_check"]
    mine = _run(limbodb, ":memory:", script)
    assert mine == _run(sqlite3, ":memory:", script)
