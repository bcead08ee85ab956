"""CDC of changes made inside trigger bodies, against pyturso.

Turso captures the rows a trigger body inserts, updates or deletes, in the
firing statement's transaction; in autocommit mode each body statement also
writes a COMMIT row. An INSERT's own row comes after its AFTER triggers' rows. Each workload runs on
pyturso and limbodb and the turso_cdc rows must be equal (change_time aside);
the file limbodb leaves must pass sqlite3's integrity check with the CDC
AUTOINCREMENT counter at the last change_id.
"""

import sqlite3

import pytest

import limbodb

turso = pytest.importorskip("turso")

SETUP = [
    "CREATE TABLE a (x INTEGER PRIMARY KEY, y)",
    "CREATE TABLE b (x INTEGER PRIMARY KEY, y)",
    "CREATE TABLE log (n INTEGER PRIMARY KEY, what TEXT)",
    "{pragma}",
]

WORKLOAD = [
    "INSERT INTO a VALUES (1, 'p'), (2, 'z')",
    "INSERT INTO a VALUES (3, 'w')",
    "UPDATE a SET y = 'q'",
    "UPDATE a SET y = 'r' WHERE x = 3",
    "BEGIN",
    "DELETE FROM a WHERE x = 1",
    "INSERT INTO a VALUES (4, 'v')",
    "COMMIT",
    "BEGIN",
    "UPDATE a SET y = 'gone' WHERE x = 2",
    "ROLLBACK",
    "INSERT INTO a VALUES (2, 'duplicate')",
    "DELETE FROM a",
    "INSERT INTO b VALUES (100, 'direct')",
    "SELECT x, y FROM b ORDER BY x",
    "SELECT n, what FROM log ORDER BY n",
]


def triggers(when):
    return [
        f"CREATE TRIGGER ti {when} INSERT ON a BEGIN INSERT INTO b VALUES (new.x, new.y); "
        "INSERT INTO log (what) VALUES ('ins ' || new.x); END",
        f"CREATE TRIGGER tu {when} UPDATE ON a WHEN new.y <> 'r' BEGIN UPDATE b SET y = new.y WHERE x = new.x; END",
        f"CREATE TRIGGER td {when} DELETE ON a BEGIN DELETE FROM b WHERE x = old.x; "
        "INSERT INTO log (what) VALUES ('del ' || old.x); END",
    ]


def run(module, statements, path):
    conn = module.connect(path, isolation_level=None)
    cur = conn.cursor()
    outcomes = []
    for sql in statements:
        try:
            outcomes.append(("ok", cur.execute(sql).fetchall()))
        except Exception:
            outcomes.append(("error",))
    rows = cur.execute("SELECT change_id, change_txn_id, change_type, table_name, id, before, after, updates "
                       "FROM turso_cdc WHERE change_id > (SELECT coalesce(max(change_id), 0) FROM turso_cdc "
                       "WHERE table_name = 'sqlite_schema') ORDER BY change_id").fetchall()
    conn.close()
    return outcomes, rows


@pytest.mark.parametrize("mode", ["id", "before", "after", "full"])
@pytest.mark.parametrize("when", ["AFTER", "BEFORE"])
def test_trigger_body_changes_match_turso(tmp_path, mode, when):
    pragma = f"PRAGMA capture_data_changes_conn('{mode}')"
    script = [s.replace("{pragma}", pragma) for s in SETUP] + triggers(when) + WORKLOAD
    t_out, t_rows = run(turso, script, ":memory:")
    path = str(tmp_path / "db")
    l_out, l_rows = run(limbodb, script, path)
    assert l_out == t_out
    assert l_rows == t_rows
    assert {r[3] for r in l_rows} >= {"a", "b", "log"}
    ref = sqlite3.connect(path)
    assert ref.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert ref.execute("SELECT seq FROM sqlite_sequence WHERE name = 'turso_cdc'").fetchall() == \
        ref.execute("SELECT max(change_id) FROM turso_cdc").fetchall()
    ref.close()


def test_nested_triggers_match_turso():
    script = SETUP[:3] + [
        "PRAGMA capture_data_changes_conn('full')",
        "CREATE TRIGGER t1 AFTER INSERT ON a BEGIN INSERT INTO b VALUES (new.x, new.y); END",
        "CREATE TRIGGER t2 AFTER INSERT ON b BEGIN INSERT INTO log (what) VALUES (new.y); END",
        "CREATE TRIGGER t3 BEFORE DELETE ON b BEGIN UPDATE log SET what = 'deleted' WHERE what = old.y; END",
        "INSERT INTO a VALUES (1, 'one'), (2, 'two')",
        "DELETE FROM b WHERE x = 1",
        "SELECT * FROM log ORDER BY n",
    ]
    t_out, t_rows = run(turso, script, ":memory:")
    l_out, l_rows = run(limbodb, script, ":memory:")
    assert l_out == t_out
    assert l_rows == t_rows
    # Each body statement run in autocommit mode writes a COMMIT row, as in Turso.
    assert [r[2] for r in l_rows].count(2) == 7
    assert {r[3] for r in l_rows} == {"a", "b", "log", None}
