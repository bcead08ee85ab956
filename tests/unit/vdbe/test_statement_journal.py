"""One-row writes in a transaction run without a statement savepoint, safely.

SQLite opens a statement journal only when a statement may fail after writing
(usesStmtJournal); limbodb decides the same from the program (needs_journal). A
statement without one that fails before writing leaves the transaction as it was;
one that fails after writing (an I/O error) rolls the whole transaction back, as
sqlite3VdbeHalt does.
"""

import sqlite3

import pytest

import limbodb
from limbodb.errors import SQLITE_IOERR_WRITE, OperationalError
from limbodb.storage import btree
from limbodb.storage.pager import Pager
from limbodb.vdbe.execute_savepoint import needs_journal

_SCHEMA = ("CREATE TABLE t1(a INTEGER PRIMARY KEY, b INTEGER, c TEXT)",
           "CREATE INDEX t1b ON t1(b)",
           "CREATE TABLE t2(a INTEGER PRIMARY KEY, b UNIQUE, c TEXT NOT NULL)")


def _connect(path):
    con = limbodb.connect(str(path), isolation_level=None)
    for sql in _SCHEMA:
        con.execute(sql)
    return con


def _program(con, sql):
    return con._engine.prepare(sql, 0)[0].program.insns


@pytest.mark.parametrize("sql, journal", [
    ("INSERT INTO t1 VALUES(?, ?, ?)", False),
    ("UPDATE t1 SET b = b + 1, c = ? WHERE a = ?", False),
    ("DELETE FROM t1 WHERE a = ?", False),
    ("INSERT INTO t1 VALUES(1, 2, 'x'), (3, 4, 'y')", True),   # two rows
    ("INSERT INTO t1 SELECT * FROM t1", True),                  # a loop
    ("DELETE FROM t1 WHERE b = ?", True),                       # any number of rows
    ("INSERT INTO t2 VALUES(?, ?, ?)", True),                   # checks after a write
])
def test_only_one_row_writes_go_without_a_journal(tmp_path, sql, journal):
    con = _connect(tmp_path / "t.db")
    assert needs_journal(_program(con, sql)) is journal


def test_one_row_writes_in_a_transaction_open_no_pager_savepoint(tmp_path, monkeypatch):
    con = _connect(tmp_path / "t.db")
    opened = []
    real = Pager.open_savepoint
    monkeypatch.setattr(Pager, "open_savepoint", lambda self: opened.append(1) or real(self))
    con.execute("BEGIN")
    con.executemany("INSERT INTO t1 VALUES(?, ?, ?)", [(i, i * 7, "v%d" % i) for i in range(50)])
    con.executemany("UPDATE t1 SET b = b + 1, c = ? WHERE a = ?", [("u", i) for i in range(0, 50, 3)])
    con.executemany("DELETE FROM t1 WHERE a = ?", [(i,) for i in range(0, 50, 5)])
    assert opened == []
    con.execute("DELETE FROM t1 WHERE b > 300")
    assert opened == [1]
    con.execute("COMMIT")
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_failure_before_writing_keeps_the_transaction_as_sqlite_does(tmp_path):
    out = []
    for mod in (sqlite3, limbodb):
        con = mod.connect(str(tmp_path / (mod.__name__ + ".db")), isolation_level=None)
        for sql in _SCHEMA:
            con.execute(sql)
        con.execute("BEGIN")
        con.execute("INSERT INTO t1 VALUES(1, 10, 'a')")
        with pytest.raises(mod.IntegrityError):
            con.execute("INSERT INTO t1 VALUES(1, 20, 'b')")
        con.execute("INSERT INTO t1 VALUES(2, 30, 'c')")
        out.append((con.in_transaction, con.execute("SELECT * FROM t1 ORDER BY a").fetchall(),
                    con.execute("SELECT b FROM t1 ORDER BY b").fetchall()))
        con.execute("COMMIT")
    assert out[0] == out[1]


def test_a_failure_after_writing_rolls_the_transaction_back(tmp_path, monkeypatch):
    con = _connect(tmp_path / "t.db")
    con.execute("INSERT INTO t1 VALUES(1, 10, 'committed')")
    con.execute("BEGIN")
    con.execute("INSERT INTO t1 VALUES(2, 20, 'in the transaction')")
    real = btree.BTreeCursor.insert

    def failing(self, key, payload, values=None):
        if self.key_info is None and key == 3:
            # The index entry of row 3 is in: the table write fails as a disk would.
            raise OperationalError("disk I/O error", SQLITE_IOERR_WRITE)
        return real(self, key, payload, values)

    monkeypatch.setattr(btree.BTreeCursor, "insert", failing)
    with pytest.raises(OperationalError, match="disk I/O error"):
        con.execute("INSERT INTO t1 VALUES(3, 30, 'fails')")
    monkeypatch.undo()
    assert not con.in_transaction
    assert con.execute("SELECT * FROM t1").fetchall() == [(1, 10, "committed")]
    assert con.execute("SELECT a FROM t1 WHERE b = 30").fetchall() == []
    con.execute("INSERT INTO t1 VALUES(3, 30, 'again')")
    assert con.execute("SELECT a FROM t1 WHERE b >= 0 ORDER BY b").fetchall() == [(1,), (3,)]
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
