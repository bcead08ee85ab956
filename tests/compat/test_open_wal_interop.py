"""A database limbodb has open (its data still in the -wal) is readable by sqlite3.

SQLite deletes a -wal that sits beside an empty database file, so limbodb's first
commit of a new database writes page 1 to the database file before any WAL frame.
"""

import shutil
import sqlite3

import limbodb


def test_sqlite3_reads_a_new_database_whose_data_is_only_in_the_wal(tmp_path):
    src = tmp_path / "live.db"
    con = limbodb.connect(str(src))
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT)")
    con.executemany("INSERT INTO t1(b) VALUES (?)", [("x",), ("y",)])
    con.commit()
    assert src.stat().st_size > 0
    # Copy the files as a crash would leave them: the connection never closed.
    copy = tmp_path / "copy.db"
    shutil.copy(src, copy)
    shutil.copy(str(src) + "-wal", str(copy) + "-wal")
    con.close()
    other = sqlite3.connect(str(copy))
    assert other.execute("SELECT a, b FROM t1").fetchall() == [(1, "x"), (2, "y")]
    assert other.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    other.close()
