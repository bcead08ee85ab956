"""Foreign keys match child rows with SQLite's comparison rules, against sqlite3.

Counting violations compares the parent value, carrying the parent column's affinity and
collation, with the child column (fkScanChildren); the actions' generated triggers compare
``old.<parent column>`` (no affinity, an INTEGER PRIMARY KEY's INTEGER) with it; a child
insert looks the parent up with the parent's affinity applied to the child value. A matrix
of declared parent and child types (with a NOCASE collation, with and without an index on
the child column) × stored values × every action, for DELETE and UPDATE of the parent and
INSERT of the child: statement results and errors, final contents, and the limbodb file's
sqlite3 integrity_check and foreign_key_check.
"""

import shutil
import sqlite3

import pytest

import limbodb

PARENT_TYPES = ["INTEGER PRIMARY KEY", "INTEGER UNIQUE", "TEXT UNIQUE", "REAL UNIQUE", "NUMERIC UNIQUE",
                "BLOB UNIQUE", "UNIQUE", "TEXT COLLATE NOCASE UNIQUE"]
CHILD_TYPES = ["", "TEXT", "INTEGER", "REAL", "NUMERIC", "BLOB", "TEXT COLLATE NOCASE"]
PARENT_VALUES = ["1", "'1'", "1.0", "'A'", "x'31'", "' 1'", "1.5", "'1.5'"]
CHILD_VALUES = ["1", "'1'", "1.0", "'a'", "'A'", "x'31'", "'1.0'", "' 1'", "'01'", "1.5", "'1.5'", "NULL"]
ACTIONS = ["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"]
# The value UPDATE gives the parent key (an INTEGER PRIMARY KEY takes integers only).
NEW_KEY = "7"


def _pairs(ptype):
    """(table suffix, parent value, action, statement kind) for every table pair of a database."""
    values = PARENT_VALUES
    if ptype.startswith("INTEGER PRIMARY KEY"):
        values = ["1", "'1'", "1.0", "' 1'"]
    return [(f"{i}_{j}_{op}", pv, action, op) for i, pv in enumerate(values) for j, action in enumerate(ACTIONS)
            for op in ("del", "upd")]


def _script(ptype, ctype, indexed):
    # One transaction each: a commit per statement would spend the test's time in fsync. A
    # failed statement is rolled back to its savepoint (_run): SQLite writes a CASCADE or SET
    # NULL statement without a statement journal, so inside a transaction it would keep what it
    # did before failing.
    setup = ["BEGIN"]
    work = ["PRAGMA foreign_keys=ON", "BEGIN"]
    for suffix, pv, action, op in _pairs(ptype):
        clause = f"ON DELETE {action}" if op == "del" else f"ON UPDATE {action}"
        setup += [f"CREATE TABLE p{suffix}(a {ptype})",
                  f"CREATE TABLE c{suffix}(k INTEGER PRIMARY KEY, x {ctype} DEFAULT 'd' "
                  f"REFERENCES p{suffix}(a) {clause})",
                  f"INSERT INTO p{suffix}(a) VALUES({pv})"]
        if indexed:
            setup.append(f"CREATE INDEX i{suffix} ON c{suffix}(x)")
        setup += [f"INSERT INTO c{suffix}(x) VALUES({cv})" for cv in CHILD_VALUES]
        if op == "del":
            work.append(f"DELETE FROM p{suffix}")
        else:
            work.append(f"UPDATE p{suffix} SET a = {NEW_KEY}")
        work.append(f"SELECT k, x, typeof(x) FROM c{suffix} ORDER BY k")
    return setup + ["COMMIT"], work + ["COMMIT"]


def _inserts(ptype, ctype):
    """A child insert per parent value × child value: found or "FOREIGN KEY constraint failed"."""
    setup = ["BEGIN"]
    work = ["PRAGMA foreign_keys=ON", "BEGIN"]
    values = [pv for _, pv, _, op in _pairs(ptype) if op == "del"][::len(ACTIONS)]
    for i, pv in enumerate(values):
        setup += [f"CREATE TABLE q{i}(a {ptype})", f"CREATE TABLE r{i}(x {ctype} REFERENCES q{i}(a))",
                  f"INSERT INTO q{i}(a) VALUES({pv})"]
        work += [f"INSERT INTO r{i} VALUES({cv})" for cv in CHILD_VALUES]
    return setup + ["COMMIT"], work + ["COMMIT"]


def _run(mod, path, scripts):
    c = mod.connect(str(path), isolation_level=None)
    out = []
    for script in scripts:
        for s in script:
            if c.in_transaction:
                c.execute("SAVEPOINT stmt")
            try:
                out.append((s, c.execute(s).fetchall()))
            except mod.Error as e:
                out.append((s, type(e).__name__, str(e)))
                if c.in_transaction:
                    c.execute("ROLLBACK TO stmt")
            if c.in_transaction and s != "BEGIN":
                c.execute("RELEASE stmt")
    c.close()
    return out


class _Apsw:
    """apsw (current SQLite) behind the slice of the sqlite3 module _run uses.

    The oracle where sqlite3's SQLite (3.40; 3.39 in Pyodide) has a since-fixed bug: an integer
    in a REAL child column never finds its INTEGER PRIMARY KEY parent there (OP_MustBeInt
    read the MEM_IntReal the record maker left as a REAL), so an insert of 7 or a cascade
    to 7 fails. limbodb follows current SQLite."""

    class Error(Exception):
        pass

    class IntegrityError(Error):
        pass

    class OperationalError(Error):
        pass

    def __init__(self, path):
        import apsw
        self._apsw = apsw
        self._conn = apsw.Connection(path)

    @classmethod
    def connect(cls, path, isolation_level=None):
        return cls(path)

    @property
    def in_transaction(self):
        return self._conn.in_transaction

    def execute(self, sql):
        try:
            return _Rows(list(self._conn.execute(sql)))
        except self._apsw.ConstraintError as e:
            raise self.IntegrityError(str(e)) from e
        except self._apsw.Error as e:
            raise self.OperationalError(str(e)) from e

    def close(self):
        self._conn.close()


class _Rows(list):
    def fetchall(self):
        return list(self)


def _oracle(ptype, ctype):
    return _Apsw if ptype.startswith("INTEGER PRIMARY KEY") and ctype == "REAL" else sqlite3


def _checks(path):
    c = sqlite3.connect(str(path))
    try:
        return c.execute("PRAGMA integrity_check").fetchall(), sorted(c.execute("PRAGMA foreign_key_check"))
    finally:
        c.close()


def _compare(tmp_path, setup, work, oracle=sqlite3):
    """Build the tables (foreign keys off) with sqlite3 once, then run ``work`` on a copy with
    the oracle and on one with limbodb: same results, and the limbodb file checks as the other."""
    base = tmp_path / "base.db"
    _run(sqlite3, base, [setup])
    for name in ("want.db", "got.db"):
        shutil.copyfile(base, tmp_path / name)
    want = _run(oracle, tmp_path / "want.db", [work])
    got = _run(limbodb, tmp_path / "got.db", [work])
    for w, g in zip(want, got):
        assert g == w
    assert len(got) == len(want)
    checks = _checks(tmp_path / "got.db")
    assert checks[0] == [("ok",)]
    assert checks == _checks(tmp_path / "want.db")


@pytest.mark.parametrize("indexed", [False, True], ids=["scan", "indexed"])
@pytest.mark.parametrize("ctype", CHILD_TYPES, ids=lambda t: t or "none")
@pytest.mark.parametrize("ptype", PARENT_TYPES)
def test_parent_delete_and_update_match_children_as_sqlite(tmp_path, ptype, ctype, indexed):
    setup, work = _script(ptype, ctype, indexed)
    _compare(tmp_path, setup, work, _oracle(ptype, ctype))


@pytest.mark.parametrize("ctype", CHILD_TYPES, ids=lambda t: t or "none")
@pytest.mark.parametrize("ptype", PARENT_TYPES)
def test_child_insert_finds_its_parent_as_sqlite(tmp_path, ptype, ctype):
    setup, work = _inserts(ptype, ctype)
    _compare(tmp_path, setup, work, _oracle(ptype, ctype))


SCRIPTS = {
    # The counting and the action disagree: a no-type parent's 1 does not count the TEXT
    # child '1', yet the cascade (old.a has no affinity, the child's TEXT applies) deletes it.
    "deferred-counter-and-cascade-disagree": [
        "PRAGMA foreign_keys=ON", "CREATE TABLE p(a UNIQUE)",
        "CREATE TABLE c(x TEXT REFERENCES p(a) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED)",
        "INSERT INTO p VALUES(1)", "PRAGMA foreign_keys=OFF", "INSERT INTO c VALUES('1'),('01')",
        "PRAGMA foreign_keys=ON", "BEGIN", "DELETE FROM p", "SELECT * FROM c", "COMMIT", "SELECT * FROM c"],
    "composite-key-mixed-affinities": [
        "PRAGMA foreign_keys=ON", "CREATE TABLE p(a INTEGER, b TEXT COLLATE NOCASE, UNIQUE(a, b))",
        "CREATE TABLE c(x TEXT, y, FOREIGN KEY(x, y) REFERENCES p(a, b) ON DELETE SET NULL ON UPDATE CASCADE)",
        "INSERT INTO p VALUES(1, 'A'), (2, 'b')", "PRAGMA foreign_keys=OFF",
        "INSERT INTO c VALUES('1', 'a'), ('1.0', 'A'), ('2', 'B'), (2, 'b'), ('x', 'b')",
        "PRAGMA foreign_keys=ON", "UPDATE p SET a = 3 WHERE a = 2", "SELECT rowid, * FROM c",
        "DELETE FROM p WHERE a = 1", "SELECT rowid, * FROM c", "PRAGMA foreign_key_check"],
    "without-rowid-child-by-its-key": [
        "PRAGMA foreign_keys=ON", "CREATE TABLE p(a INTEGER PRIMARY KEY)",
        "CREATE TABLE c(k TEXT COLLATE NOCASE PRIMARY KEY, x REFERENCES p ON DELETE CASCADE) WITHOUT ROWID",
        "CREATE INDEX ci ON c(x)", "INSERT INTO p VALUES(1), (2)", "PRAGMA foreign_keys=OFF",
        "INSERT INTO c VALUES('a', '1'), ('B', 1.0), ('c', 2), ('d', '1x')", "PRAGMA foreign_keys=ON",
        "DELETE FROM p WHERE a = 1", "SELECT * FROM c", "UPDATE p SET a = 5", "SELECT * FROM c"],
    "virtual-generated-child-column": [
        "PRAGMA foreign_keys=ON", "CREATE TABLE p(a INTEGER UNIQUE)",
        "CREATE TABLE c(v, x TEXT AS (v) VIRTUAL REFERENCES p(a) ON DELETE RESTRICT)",
        "CREATE TABLE d(v, x AS (v || '') REFERENCES p(a))",
        "INSERT INTO p VALUES(1), (2)", "INSERT INTO c(v) VALUES(1)", "INSERT INTO d(v) VALUES(2)",
        "DELETE FROM p WHERE a = 1", "DELETE FROM p WHERE a = 2", "SELECT * FROM p", "DELETE FROM d",
        "DELETE FROM p WHERE a = 2", "SELECT * FROM p"],
    # An ON UPDATE action fires WHEN NOT (old.a IS new.a), in the parent key's collation.
    "update-within-the-key-collation-fires-no-action": [
        "PRAGMA foreign_keys=ON", "CREATE TABLE p(a TEXT COLLATE NOCASE PRIMARY KEY)",
        "CREATE TABLE c(x REFERENCES p ON UPDATE CASCADE)", "CREATE TABLE d(x REFERENCES p ON UPDATE RESTRICT)",
        "CREATE TABLE e(x REFERENCES p)",
        "INSERT INTO p VALUES('a')", "INSERT INTO c VALUES('a')", "INSERT INTO d VALUES('A')",
        "INSERT INTO e VALUES('a')", "UPDATE p SET a = 'A'", "SELECT * FROM p, c, d, e"],
    # The old key's children count before the new key's resolve them (sqlite3FkCheck runs
    # before the write, and again after it).
    "update-moving-onto-orphans-resolves-them": [
        "CREATE TABLE p(a INTEGER PRIMARY KEY)", "CREATE TABLE c(x REFERENCES p)",
        "INSERT INTO p VALUES(1)", "INSERT INTO c VALUES(1), (2)", "PRAGMA foreign_keys=ON",
        "UPDATE p SET a = 2", "SELECT * FROM p", "PRAGMA foreign_key_check"],
    "self-reference-restrict-sees-the-updated-row": [
        "PRAGMA foreign_keys=ON",
        "CREATE TABLE t(id INTEGER PRIMARY KEY, p REFERENCES t ON UPDATE RESTRICT ON DELETE RESTRICT)",
        "INSERT INTO t VALUES(1, 1), (2, '1')", "UPDATE t SET id = 3 WHERE id = 2", "UPDATE t SET id = 4 WHERE id = 1",
        "DELETE FROM t WHERE id = 3", "DELETE FROM t WHERE id = 1", "SELECT * FROM t"],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_foreign_key_matching_case_against_sqlite(tmp_path, name):
    _compare(tmp_path, [], SCRIPTS[name])
