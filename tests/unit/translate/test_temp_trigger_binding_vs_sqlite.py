"""An unqualified CREATE TEMP TRIGGER ... ON t stays bound to the database t was found in when
the trigger was created, as SQLite binds it (pTabSchema), against sqlite3: another database
gaining a table t later does not fire it, dropping that other t keeps it, and DETACH of its
database binds it to temp."""

import sqlite3

import pytest

import limbodb


def _run(mod, script):
    c = mod.connect(":memory:", isolation_level=None)
    out = []
    for s in script:
        try:
            out.append((s, c.execute(s).fetchall()))
        except mod.Error as e:
            out.append((s, type(e).__name__, str(e)))
    c.close()
    return out


def _log(tag):
    return f"INSERT INTO log VALUES('{tag}:'||new.a)"


SCRIPTS = {
    "main-table-created-later": [
        "ATTACH ':memory:' AS aux", "CREATE TABLE aux.t(a)", "CREATE TABLE log(x)",
        f"CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN {_log('aux')}; END",
        "SELECT name, tbl_name, sql FROM sqlite_temp_master", "INSERT INTO t VALUES(1)", "CREATE TABLE main.t(a)",
        "INSERT INTO t VALUES(2)", "INSERT INTO aux.t VALUES(3)", "INSERT INTO main.t VALUES(4)",
        "SELECT * FROM log", "DROP TABLE main.t", "SELECT name FROM sqlite_temp_master",
        "INSERT INTO aux.t VALUES(5)", "SELECT * FROM log", "DROP TABLE aux.t", "SELECT name FROM sqlite_temp_master",
        "CREATE TABLE main.t(a)", "INSERT INTO t VALUES(6)", "SELECT * FROM log"],
    "detach-binds-to-temp": [
        "ATTACH ':memory:' AS aux", "CREATE TABLE aux.t(a)", "CREATE TABLE log(x)",
        f"CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN {_log('aux')}; END", "DETACH aux",
        "SELECT name FROM sqlite_temp_master", "CREATE TABLE t(a)", "INSERT INTO t VALUES(1)", "SELECT * FROM log",
        "ATTACH ':memory:' AS aux", "CREATE TABLE aux.t(a)", "INSERT INTO aux.t VALUES(2)", "SELECT * FROM log"],
    "temp-table-created-later": [
        "ATTACH ':memory:' AS aux", "CREATE TABLE aux.t(a)", "CREATE TABLE log(x)",
        f"CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN {_log('aux')}; END", "CREATE TEMP TABLE t(a)",
        "INSERT INTO t VALUES(1)", "INSERT INTO aux.t VALUES(2)", "SELECT * FROM log"],
    "bound-to-main-and-temp": [
        "CREATE TABLE t(a)", "CREATE TABLE log(x)", "CREATE TEMP TABLE t(a)",
        f"CREATE TEMP TRIGGER tr AFTER INSERT ON main.t BEGIN {_log('main')}; END",
        f"CREATE TEMP TRIGGER tr2 AFTER INSERT ON t BEGIN {_log('temp')}; END",
        "ATTACH ':memory:' AS aux", "CREATE TABLE aux.t(a)", f"CREATE TEMP TRIGGER tr3 AFTER INSERT ON aux.t "
        f"BEGIN {_log('aux')}; END", "INSERT INTO temp.t VALUES(1)", "INSERT INTO main.t VALUES(2)",
        "INSERT INTO aux.t VALUES(3)", "SELECT * FROM log"],
    "drop-of-a-temp-table-keeps-triggers-bound-elsewhere": [
        "ATTACH ':memory:' AS aux", "CREATE TABLE aux.t(a)", "CREATE TABLE log(x)",
        f"CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN {_log('aux')}; END", "CREATE TEMP TABLE t(a)",
        f"CREATE TEMP TRIGGER tr2 AFTER INSERT ON t BEGIN {_log('temp')}; END",
        "INSERT INTO temp.t VALUES(1)", "DROP TABLE temp.t", "SELECT name FROM sqlite_temp_master ORDER BY 1",
        "INSERT INTO aux.t VALUES(2)", "SELECT * FROM log"],
    "drop-of-a-main-table-keeps-triggers-bound-elsewhere": [
        "CREATE TABLE t(a)", "CREATE TABLE log(x)", "CREATE TEMP TABLE t(a)",
        f"CREATE TEMP TRIGGER tr AFTER INSERT ON main.t BEGIN {_log('main')}; END",
        f"CREATE TEMP TRIGGER tr2 AFTER INSERT ON t BEGIN {_log('temp')}; END",
        "DROP TABLE temp.t", "SELECT name FROM sqlite_temp_master", "INSERT INTO main.t VALUES(3)",
        "DROP TABLE main.t", "SELECT name FROM sqlite_temp_master", "SELECT * FROM log"],
    "rolled-back-creation": [
        "CREATE TABLE log(x)", "ATTACH ':memory:' AS aux", "CREATE TABLE aux.t(a)", "BEGIN",
        f"CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN {_log('x')}; END", "ROLLBACK", "CREATE TABLE t(a)",
        f"CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN {_log('x')}; END", "INSERT INTO aux.t VALUES(1)",
        "INSERT INTO main.t VALUES(2)", "SELECT * FROM log"],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_temp_trigger_stays_bound_to_its_tables_database(name):
    assert _run(limbodb, SCRIPTS[name]) == _run(sqlite3, SCRIPTS[name])
