"""Issue #8: CREATE TRIGGER's ON table may only name the trigger's own database (or any
database for a temp trigger), with sqlite3's exact error; compared against sqlite3."""
import sqlite3

import pytest

import limbodb

SETUP = [
    "ATTACH ':memory:' AS aux",
    "CREATE TABLE t1(a)",
    "CREATE TABLE aux.t2(a)",
    "CREATE TEMP TABLE tt(a)",
]


def _outcome(mod, stmts):
    c = mod.connect(":memory:", isolation_level=None)
    out = []
    for s in SETUP + stmts:
        try:
            out.append(c.execute(s).fetchall())
        except sqlite3.Error as e:
            out.append(("error", str(e)))
        except limbodb.Error as e:
            out.append(("error", str(e)))
    c.close()
    return out


@pytest.mark.parametrize("ddl", [
    "CREATE TRIGGER aux.tr AFTER INSERT ON main.t1 BEGIN SELECT 1; END",
    "CREATE TRIGGER main.tr AFTER INSERT ON aux.t2 BEGIN SELECT 1; END",
    "CREATE TRIGGER tr AFTER INSERT ON aux.t2 BEGIN SELECT 1; END",
    "CREATE TRIGGER main.tr AFTER INSERT ON temp.tt BEGIN SELECT 1; END",
    "CREATE TRIGGER aux.tr AFTER INSERT ON aux.t2 BEGIN SELECT 1; END",
    "CREATE TRIGGER tr AFTER INSERT ON main.t1 BEGIN SELECT 1; END",
    "CREATE TRIGGER main.tr AFTER INSERT ON main.t1 BEGIN SELECT 1; END",
    "CREATE TRIGGER tr AFTER INSERT ON temp.tt BEGIN SELECT 1; END",
    "CREATE TRIGGER temp.tr AFTER INSERT ON temp.tt BEGIN SELECT 1; END",
])
def test_on_table_schema_matches_sqlite(ddl):
    listing = ["SELECT type, name, tbl_name FROM %s.sqlite_master WHERE type = 'trigger'" % s
               for s in ("main", "aux", "temp")]
    assert _outcome(limbodb, [ddl] + listing) == _outcome(sqlite3, [ddl] + listing)


def test_rejected_trigger_leaves_no_row():
    stmts = ["CREATE TRIGGER aux.tr AFTER INSERT ON main.t1 BEGIN SELECT 1; END",
             "INSERT INTO t1 VALUES (1)",
             "SELECT count(*) FROM aux.sqlite_master WHERE type = 'trigger'"]
    got = _outcome(limbodb, stmts)
    assert got == _outcome(sqlite3, stmts)
    assert got[len(SETUP)] == ("error", "trigger tr cannot reference objects in database main")


VIEW_SETUP = [
    "CREATE TABLE t(a, b)",
    "CREATE VIEW v AS SELECT a, b, a + b AS s FROM t",
    "CREATE TABLE r(x REAL, y TEXT)",
    "CREATE VIEW w(p, q) AS SELECT x, y FROM r",
    "CREATE VIEW plain AS SELECT a, b FROM t",
]
VIEW_TRIGGERS = [
    "CREATE TRIGGER vi INSTEAD OF INSERT ON v BEGIN"
    " SELECT raise(ignore) WHERE new.a = 0; INSERT INTO t VALUES (new.a, new.b); END",
    "CREATE TRIGGER vu INSTEAD OF UPDATE ON v BEGIN UPDATE t SET a = new.a WHERE b = old.b; END",
    "CREATE TRIGGER vd INSTEAD OF DELETE ON v BEGIN DELETE FROM t WHERE b = old.b; END",
    "CREATE TRIGGER wi INSTEAD OF INSERT ON w BEGIN INSERT INTO r VALUES (new.p, new.q); END",
    "CREATE TRIGGER wu INSTEAD OF UPDATE ON w WHEN new.q IS NOT NULL BEGIN"
    " UPDATE r SET x = new.p WHERE y = old.q; END",
    "CREATE TRIGGER wd INSTEAD OF DELETE ON w BEGIN"
    " SELECT raise(ignore) WHERE old.q = 'b'; DELETE FROM r WHERE y = old.q; END",
]


def _view_outcome(mod, stmts):
    c = mod.connect(":memory:", isolation_level=None)
    out = []
    for s in VIEW_SETUP + VIEW_TRIGGERS + stmts:
        try:
            rows = c.execute(s).fetchall()
            # repr: 1 and 1.0 must not compare equal here.
            out.append(repr(rows))
        except (sqlite3.Error, limbodb.Error) as e:
            out.append(("error", str(e)))
    c.close()
    return out


@pytest.mark.parametrize("stmts", [
    ["INSERT INTO v(a, b) VALUES (5, 6), (0, 1), (1, 2) RETURNING a, b, s, a * 2, rowid",
     "SELECT * FROM t"],
    ["INSERT INTO v VALUES (1, 2, 99) RETURNING *",
     "UPDATE v SET a = a + 10 RETURNING *, rowid",
     "UPDATE v SET a = a + 10 WHERE b = 2 RETURNING a + b, s",
     "DELETE FROM v WHERE b = 2 RETURNING *, rowid", "SELECT * FROM t"],
    ["INSERT INTO w VALUES (1, 'a'), (2.5, 'b'), ('3', 'c') RETURNING p, typeof(p), q, rowid",
     "UPDATE w SET p = p + 1 RETURNING *, rowid, typeof(p)",
     "UPDATE w SET q = q RETURNING *",
     "DELETE FROM w RETURNING q, p, typeof(p)", "SELECT * FROM r"],
    ["INSERT INTO v(a, b) VALUES (1, 2) RETURNING count(*)",
     "INSERT INTO v(a, b) VALUES (1, 2) RETURNING nosuch",
     "INSERT INTO v(a, b) VALUES (1, 2) RETURNING (SELECT count(*) FROM t)"],
    # With no INSTEAD OF trigger, sqlite3 3.40 only returns the rows (RETURNING counts as a trigger).
    ["INSERT INTO t VALUES (1, 2), (3, 4)",
     "INSERT INTO plain VALUES (5, 6) RETURNING *", "UPDATE plain SET a = 9 RETURNING *",
     "DELETE FROM plain RETURNING *", "SELECT * FROM t", "INSERT INTO plain VALUES (5, 6)"],
])
def test_returning_on_view_matches_sqlite(stmts):
    assert _view_outcome(limbodb, stmts) == _view_outcome(sqlite3, stmts)


TEMP_STMTS = [
    "CREATE TABLE t1(a)",
    "CREATE TABLE log(x)",
    "CREATE VIEW v AS SELECT a FROM t1",
    "CREATE TRIGGER m1 AFTER INSERT ON t1 BEGIN INSERT INTO log VALUES ('m1 ' || new.a); END",
    "CREATE TEMP TRIGGER tt1 AFTER INSERT ON t1 BEGIN INSERT INTO log VALUES ('tt1 ' || new.a); END",
    "CREATE TEMP TABLE tl(x)",
    "CREATE TEMP TRIGGER tt2 BEFORE DELETE ON main.t1 BEGIN INSERT INTO tl VALUES (old.a); END",
    "CREATE TEMP TRIGGER tv INSTEAD OF INSERT ON v BEGIN INSERT INTO t1 VALUES (new.a * 10); END",
    "CREATE TEMP TRIGGER tt1 AFTER INSERT ON t1 BEGIN SELECT 1; END",
    "CREATE TEMP TRIGGER IF NOT EXISTS tt1 AFTER INSERT ON t1 BEGIN SELECT 1; END",
    "CREATE TEMP TRIGGER tx AFTER INSERT ON main.nosuch BEGIN SELECT 1; END",
    "CREATE TEMP TRIGGER tx INSTEAD OF INSERT ON t1 BEGIN SELECT 1; END",
    "INSERT INTO t1 VALUES (1), (2)",
    "INSERT INTO v VALUES (3)",
    "BEGIN",
    "DELETE FROM t1 WHERE a = 1",
    "SELECT * FROM tl",
    "ROLLBACK",
    "SELECT * FROM tl",
    "DELETE FROM t1 WHERE a = 2",
    "INSERT INTO t1 SELECT x FROM tl RETURNING a",
    "SELECT * FROM log",
    "SELECT * FROM t1",
    "SELECT type, name, tbl_name, sql FROM temp.sqlite_master ORDER BY name",
    "SELECT count(*) FROM main.sqlite_master WHERE type = 'trigger'",
    "DROP TRIGGER tt2",
    "DELETE FROM t1",
    "SELECT * FROM tl",
]


def _temp_outcome(mod, path):
    c = mod.connect(str(path), isolation_level=None)
    out = []
    for s in TEMP_STMTS:
        try:
            out.append(repr(c.execute(s).fetchall()))
        except (sqlite3.Error, limbodb.Error) as e:
            out.append(("error", str(e)))
    c.close()
    # Temp triggers vanish with the connection; main's stay.
    c = mod.connect(str(path), isolation_level=None)
    out.append(repr(c.execute("SELECT name FROM sqlite_temp_master").fetchall()))
    c.execute("INSERT INTO t1 VALUES (7)")
    out.append(repr(c.execute("SELECT * FROM log").fetchall()))
    c.close()
    return out


def test_temp_triggers_on_main_tables_match_sqlite(tmp_path):
    assert _temp_outcome(limbodb, tmp_path / "l.db") == _temp_outcome(sqlite3, tmp_path / "s.db")
