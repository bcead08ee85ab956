"""PRAGMA wal_autocheckpoint reads and sets the automatic checkpoint threshold, as sqlite3 does."""

import sqlite3

import limbodb


def test_wal_autocheckpoint_matches_sqlite3(tmp_path):
    queries = ["PRAGMA wal_autocheckpoint", "PRAGMA wal_autocheckpoint=500", "PRAGMA wal_autocheckpoint",
               "PRAGMA wal_autocheckpoint=-5", "PRAGMA wal_autocheckpoint"]
    ours = limbodb.connect(str(tmp_path / "a.db"))
    theirs = sqlite3.connect(str(tmp_path / "b.db"))
    assert [ours.execute(q).fetchall() for q in queries] == [theirs.execute(q).fetchall() for q in queries]


def test_setting_it_changes_when_the_wal_is_checkpointed(tmp_path):
    path = tmp_path / "c.db"
    con = limbodb.connect(str(path), isolation_level=None)
    con.execute("PRAGMA wal_autocheckpoint=2")
    con.execute("CREATE TABLE t1(a)")
    for i in range(6):
        con.execute("INSERT INTO t1 VALUES (?)", (i,))
    # Each autocommit insert commits a few frames; with a threshold of 2 the WAL is
    # backfilled into the database file as it goes (with the default it would not be).
    assert path.stat().st_size >= 2 * 4096
    con.close()
