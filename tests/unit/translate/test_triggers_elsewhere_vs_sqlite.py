"""Triggers in attached and temp databases, against sqlite3.

A trigger lives in its table's database and fires for DML on that table
however the statement names it; its body's unqualified names resolve in that
database (a temp trigger's in the search order). The attached file limbodb
writes must open in sqlite3 with the same schema.
"""

import sqlite3

import limbodb

SCRIPT = [
    "CREATE TABLE aux.t1(a, b)",
    "CREATE TABLE aux.log(x)",
    "CREATE TABLE log(x)",
    "CREATE TRIGGER aux.tr1 AFTER INSERT ON t1 BEGIN INSERT INTO log VALUES ('aux:' || new.a); END",
    "CREATE TRIGGER aux.tr2 BEFORE UPDATE OF b ON t1 WHEN new.b > 10 "
    "BEGIN INSERT INTO log VALUES ('upd:' || old.b || '>' || new.b); END",
    "CREATE TRIGGER aux.tr3 AFTER DELETE ON t1 BEGIN DELETE FROM log WHERE x = 'aux:' || old.a; END",
    "INSERT INTO aux.t1 VALUES (1, 2), (3, 4)",
    "UPDATE t1 SET b = b + 10",
    "DELETE FROM aux.t1 WHERE a = 1",
    "CREATE TABLE aux.w1(k PRIMARY KEY, v) WITHOUT ROWID",
    "CREATE TRIGGER aux.tr4 AFTER UPDATE ON w1 BEGIN INSERT INTO log VALUES ('w:' || old.v || '>' || new.v); END",
    "INSERT INTO w1 VALUES (1, 'p'), (2, 'q')",
    "INSERT INTO w1 VALUES (1, 'r') ON CONFLICT(k) DO UPDATE SET v = excluded.v",
    "UPDATE aux.w1 SET v = v || '!' FROM (SELECT 2 AS k2) WHERE k = k2",
    "CREATE TEMP TABLE tt(a)",
    "CREATE TEMP TABLE tlog(x)",
    "CREATE TEMP TRIGGER tr5 AFTER INSERT ON tt BEGIN INSERT INTO tlog VALUES (new.a * 2); "
    "INSERT INTO log VALUES ('temp'); END",
    "CREATE TRIGGER tr6 AFTER INSERT ON tt BEGIN INSERT INTO tlog VALUES (-new.a); END",
    "INSERT INTO tt VALUES (5)",
    "CREATE TRIGGER aux.tr7 BEFORE INSERT ON t1 BEGIN SELECT RAISE(ABORT, 'nope') WHERE new.a < 0; END",
    "INSERT INTO aux.t1 VALUES (-1, 0)",
    "DROP TRIGGER aux.tr7",
    "INSERT INTO aux.t1 VALUES (-1, 0)",
    "DROP TRIGGER tr5",
    "INSERT INTO tt VALUES (6)",
    "CREATE TRIGGER aux.tr8 AFTER INSERT ON t1 BEGIN INSERT INTO main.log VALUES (1); END",
    "CREATE TRIGGER aux.tr9 AFTER INSERT ON t1 BEGIN INSERT INTO nosuch VALUES (1); END",
    "INSERT INTO aux.t1 VALUES (9, 9)",
    "DROP TRIGGER aux.tr9",
    "CREATE TRIGGER aux.tr1 AFTER INSERT ON t1 BEGIN SELECT 1; END",
    "SELECT * FROM aux.log ORDER BY 1",
    "SELECT * FROM main.log ORDER BY 1",
    "SELECT * FROM tlog ORDER BY 1",
    "SELECT type, name, tbl_name, sql FROM aux.sqlite_schema ORDER BY name",
    "SELECT type, name, tbl_name, sql FROM temp.sqlite_schema ORDER BY name",
]


def _run(module, path):
    conn = module.connect(":memory:")
    conn.execute(f"ATTACH '{path}' AS aux")
    out = []
    for sql in SCRIPT:
        try:
            out.append([tuple(r) for r in conn.execute(sql).fetchall()])
        except (sqlite3.Error, limbodb.Error) as e:
            out.append(("error", str(e)))
    conn.commit()
    conn.close()
    return out


def test_triggers_in_attached_and_temp_databases_match_sqlite(tmp_path):
    expect = _run(sqlite3, str(tmp_path / "s.db"))
    got = _run(limbodb, str(tmp_path / "l.db"))
    for sql, e, g in zip(SCRIPT, expect, got):
        assert g == e, sql
    # The attached file limbodb wrote reads the same in SQLite.
    other = sqlite3.connect(str(tmp_path / "l.db"))
    assert other.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert other.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name").fetchall() == \
        expect[SCRIPT.index("SELECT type, name, tbl_name, sql FROM aux.sqlite_schema ORDER BY name")]
    other.execute("INSERT INTO t1 VALUES (7, 7)")
    assert ("aux:7",) in other.execute("SELECT * FROM log").fetchall()
