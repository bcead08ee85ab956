"""A cursor dropped before its rows were read releases its statement and snapshot, as in sqlite3."""

import sqlite3

import pytest

import limbodb


@pytest.mark.parametrize("module", [sqlite3, limbodb], ids=["sqlite3", "limbodb"])
def test_a_dropped_cursor_does_not_pin_an_old_snapshot(tmp_path, module):
    path = str(tmp_path / "t.db")
    a = module.connect(path, isolation_level=None)
    b = module.connect(path, isolation_level=None)
    a.execute("PRAGMA journal_mode=wal")
    a.execute("CREATE TABLE t1(x)")
    a.execute("INSERT INTO t1 VALUES (1), (2)")
    a.execute("SELECT x FROM t1")  # dropped with rows still to read
    b.execute("INSERT INTO t1 VALUES (3)")
    assert a.execute("SELECT count(*) FROM t1").fetchone() == (3,)
    a.close()
    b.close()


def test_readme_mvcc_example_keeps_both_commits(tmp_path):
    path = str(tmp_path / "f.db")
    a = limbodb.connect(path, isolation_level=None)
    b = limbodb.connect(path, isolation_level=None)
    a.execute("CREATE TABLE acct(id INTEGER PRIMARY KEY, n)")
    a.execute("INSERT INTO acct VALUES (1, 10), (2, 10)")
    a.execute("PRAGMA journal_mode = mvcc")
    a.execute("BEGIN CONCURRENT")
    b.execute("BEGIN CONCURRENT")
    a.execute("UPDATE acct SET n = n - 1 WHERE id = 1")
    b.execute("UPDATE acct SET n = n + 1 WHERE id = 2")
    a.execute("COMMIT")
    b.execute("COMMIT")
    assert a.execute("SELECT * FROM acct").fetchall() == [(1, 9), (2, 11)]
    a.close()
    b.close()
