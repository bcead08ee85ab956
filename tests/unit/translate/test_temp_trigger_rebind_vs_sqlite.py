"""TEMP triggers after ALTER TABLE, against sqlite3.

A temp trigger stays bound to the database its table was in when it was created. SQLite's
ALTER TABLE parses each temp trigger afresh (its ON clause resolves by the search order,
whatever the trigger was bound to) to decide whether a RENAME rewrites it, then reloads
temp's schema, which binds every temp trigger again by the search order: after any ALTER,
RENAME or not, of any table. Checked: temp's schema rows and which table each trigger fires on.
"""

import sqlite3

import pytest

import limbodb

_BASE = [
    "ATTACH ':memory:' AS aux", "CREATE TABLE aux.t(a)", "CREATE TEMP TABLE log(x)",
    "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES('tr:' || new.a); END",
]
_ROWS = "SELECT type, name, tbl_name, sql FROM temp.sqlite_master WHERE type = 'trigger' ORDER BY name"

SCRIPTS = {
    # tr is bound to aux.t; afresh, its ON t finds main.t: the RENAME leaves it alone, and it
    # fires on main.t afterwards.
    "rename-of-bound-table-when-main-shadows-it": _BASE + [
        "CREATE TABLE main.t(a)", "ALTER TABLE aux.t RENAME TO u", _ROWS,
        "INSERT INTO main.t VALUES(1)", "INSERT INTO aux.u VALUES(2)", "SELECT * FROM log"],
    "rename-of-bound-table-alone": _BASE + [
        "ALTER TABLE aux.t RENAME TO u", _ROWS, "INSERT INTO aux.u VALUES(2)", "SELECT * FROM log"],
    # Afresh, tr's ON t is main.t: renaming main.t rewrites tr, which then fires on main.v.
    "rename-of-shadowing-table-rewrites-the-trigger": _BASE + [
        "CREATE TABLE main.t(a)", "ALTER TABLE main.t RENAME TO v", _ROWS,
        "INSERT INTO main.v VALUES(1)", "INSERT INTO aux.t VALUES(2)", "SELECT * FROM log"],
    "rename-there-and-back": _BASE + [
        "CREATE TABLE main.t(a)", "ALTER TABLE aux.t RENAME TO u", "ALTER TABLE aux.u RENAME TO t", _ROWS,
        "INSERT INTO main.t VALUES(1)", "INSERT INTO aux.t VALUES(2)", "SELECT * FROM log"],
    # An ON clause naming its database resolves there whatever else exists.
    "qualified-on-clause-follows-its-table": [
        "ATTACH ':memory:' AS aux", "CREATE TABLE aux.t(a)", "CREATE TEMP TABLE log(x)",
        "CREATE TEMP TRIGGER tq AFTER INSERT ON aux.t BEGIN INSERT INTO log VALUES('tq:' || new.a); END",
        "CREATE TABLE main.t(a)", "ALTER TABLE aux.t RENAME TO u", _ROWS,
        "INSERT INTO main.t VALUES(1)", "INSERT INTO aux.u VALUES(2)", "SELECT * FROM log"],
    "rename-column-of-the-bound-table-when-main-shadows-it": _BASE + [
        "CREATE TABLE main.t(a)", "ALTER TABLE aux.t RENAME COLUMN a TO z", _ROWS,
        "INSERT INTO main.t VALUES(1)", "INSERT INTO aux.t VALUES(2)", "SELECT * FROM log"],
    "add-column-of-another-table-rebinds": _BASE + [
        "CREATE TABLE main.t(a)", "CREATE TABLE main.x(a)", "INSERT INTO aux.t VALUES(0)",
        "ALTER TABLE main.x ADD COLUMN b", "INSERT INTO main.t VALUES(1)", "INSERT INTO aux.t VALUES(2)",
        "SELECT * FROM log"],
    "drop-column-of-another-table-rebinds": _BASE + [
        "CREATE TABLE main.t(a)", "CREATE TABLE main.x(a, b)", "ALTER TABLE main.x DROP COLUMN b",
        "INSERT INTO main.t VALUES(1)", "INSERT INTO aux.t VALUES(2)", "SELECT * FROM log"],
    "rename-of-another-attached-table-rebinds": _BASE + [
        "CREATE TABLE main.t(a)", "CREATE TABLE aux.q(a)", "ALTER TABLE aux.q RENAME TO q2",
        "INSERT INTO main.t VALUES(1)", "INSERT INTO aux.t VALUES(2)", "SELECT * FROM log"],
    # Rebound to aux.t (the only t), the trigger stays there when main gains a t afterwards.
    "rebound-trigger-stays-bound": [
        "ATTACH ':memory:' AS aux", "CREATE TABLE main.t(a)", "CREATE TABLE aux.t(a)", "CREATE TEMP TABLE log(x)",
        "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES('tr:' || new.a); END",
        "ALTER TABLE main.t RENAME TO v", _ROWS, "CREATE TABLE main.t(a)", "INSERT INTO main.t VALUES(1)",
        "INSERT INTO main.v VALUES(2)", "INSERT INTO aux.t VALUES(3)", "SELECT * FROM log"],
    "two-triggers-bound-apart": _BASE + [
        "CREATE TABLE main.t(a)",
        "CREATE TEMP TRIGGER tm AFTER INSERT ON t BEGIN INSERT INTO log VALUES('tm:' || new.a); END",
        "INSERT INTO main.t VALUES(1)", "INSERT INTO aux.t VALUES(2)",
        "ALTER TABLE aux.t RENAME TO u", _ROWS,
        "INSERT INTO main.t VALUES(3)", "INSERT INTO aux.u VALUES(4)", "SELECT * FROM log"],
}


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


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_temp_trigger_after_alter_as_sqlite(name):
    assert _run(limbodb, SCRIPTS[name]) == _run(sqlite3, SCRIPTS[name])
