"""Rowid read from an index entry whose record spills onto overflow pages."""

import sqlite3

import limbodb
from limbodb.io.sim import SimulatedIO


def _build(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b, c)")
    con.execute("CREATE INDEX i1 ON t1(b)")
    con.executemany("INSERT INTO t1 VALUES (?, ?, ?)",
                    [(i, f"{i:04d}" + "b" * 3000, "c" * 6000) for i in range(20)])
    con.commit()
    con.close()


def test_rowid_from_an_overflowing_index_entry_under_simulated_io(tmp_path):
    path = str(tmp_path / "t.db")
    _build(path)
    with open(path, "rb") as f:
        data = f.read()
    io = SimulatedIO(seed=3, files={"t.db": data})
    con = limbodb.connect("t.db", io=io)
    got = con.execute("SELECT rowid FROM t1 INDEXED BY i1 WHERE b > '0010'").fetchall()
    assert got == [(i,) for i in range(10, 20)]
    con.execute("DELETE FROM t1 WHERE a % 3 = 0")
    con.commit()
    assert con.execute("SELECT count(*) FROM t1").fetchone() == (13,)
    con.close()
