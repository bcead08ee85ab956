"""The per-row shortcuts of a plain INSERT ... VALUES(?, ?, ?) keep SQLite's results.

Consecutive parameters load in one fused closure (execute_data.variable_run), a row
of plain values binds with one slice copy (Statement.bind_plain), the row's record is
encoded and inserted by one fused closure (execute_cursor.insert_run), and a table whose
row nobody reads after the write (no triggers, RETURNING, foreign keys, CHECK, CDC,
generated columns or expression indexes) never copies the rowid into its INTEGER
PRIMARY KEY register. Where something does read it, the register still holds the
rowid, which the trigger and RETURNING cases check.
"""

import sqlite3

import pytest

import limbodb
from limbodb.dbapi import _NO_ADAPT
from limbodb.vdbe.execute_data import variable_run


def _ops(con, sql, params):
    return [(r[1], r[2], r[3]) for r in con.execute("EXPLAIN " + sql, params)]


def test_consecutive_parameters_load_through_one_fused_closure():
    con = limbodb.connect(":memory:")
    con.execute("CREATE TABLE t(a, b, c, d)")
    stmt = con._prepare_one("INSERT INTO t VALUES(?, ?, ?, 5)")
    first = next(pc for pc, insn in enumerate(stmt.program.insns) if insn.name == "Variable")
    entry = stmt.program.proto[first]
    assert entry[1] is variable_run and [i.p1 for i in entry[2]] == [1, 2, 3]
    con.executemany("INSERT INTO t VALUES(?, ?, ?, 5)", [(1, "x", None), (2.5, b"y", -7)])
    # Out of order (?2, ?1) is not one run; named parameters keep their numbers.
    con.execute("INSERT INTO t(b, a, c) VALUES(?2, ?1, ?3)", (3, "z", 9))
    con.execute("INSERT INTO t VALUES(:p, :q, :p, :q)", {"p": 4, "q": "w"})
    assert con.execute("SELECT * FROM t").fetchall() == [
        (1, "x", None, 5), (2.5, b"y", -7, 5), (3, "z", 9, None), (4, "w", 4, "w")]


def test_plain_rows_bind_by_one_copy_and_others_by_the_checked_path():
    con = limbodb.connect(":memory:")
    con.execute("CREATE TABLE t(a, b, c)")
    stmt = con._prepare_one("INSERT INTO t VALUES(?, ?, ?)")
    assert stmt.bind_plain((1, "two", None), _NO_ADAPT)
    assert stmt.vm.params == [None, 1, "two", None]
    assert stmt.bind_plain((b"\x00", bytearray(b"ab"), 1.5), _NO_ADAPT)
    assert stmt.vm.params[1:] == [b"\x00", b"ab", 1.5] and stmt.vm.params[2].__class__ is bytes
    assert not stmt.bind_plain((1, 2), _NO_ADAPT)
    with pytest.raises(OverflowError):
        stmt.bind_plain((1, 2, 1 << 63), _NO_ADAPT)
    with pytest.raises(OverflowError):
        con.executemany("INSERT INTO t VALUES(?, ?, ?)", [(1, 2, 3), (1, 2, -(1 << 63) - 1)])


def test_a_plain_insert_leaves_the_rowid_out_of_the_ipk_register():
    con = limbodb.connect(":memory:")
    con.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER, c TEXT)")
    con.execute("CREATE INDEX tb ON t(b, a)")
    ops = _ops(con, "INSERT INTO t VALUES(?, ?, ?)", (1, 2, "x"))
    ipk = next(p2 for op, p1, p2 in ops if op == "Variable" and p1 == 1)
    # The register of column a is only ever NULLed for the record; nothing copies into it.
    assert not [o for o in ops if o[0] == "Copy" and o[2] == ipk]
    rows = [(1, 5, "a"), (None, 6, "b"), ("7", 7, "c"), (9.0, 8, "d"), (None, None, None)]
    ref = sqlite3.connect(":memory:")
    ref.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER, c TEXT)")
    ref.execute("CREATE INDEX tb ON t(b, a)")
    for c in (con, ref):
        c.executemany("INSERT INTO t VALUES(?, ?, ?)", rows)
    for q in ("SELECT a, typeof(a), b, c FROM t", "SELECT b, a FROM t INDEXED BY tb ORDER BY b, a"):
        assert con.execute(q).fetchall() == ref.execute(q).fetchall()
    for c, mod in ((con, limbodb), (ref, sqlite3)):
        with pytest.raises(mod.IntegrityError, match=r"UNIQUE constraint failed: t\.a"):
            c.execute("INSERT INTO t VALUES(7, 0, 'dup')")


@pytest.mark.parametrize("setup, sql", [
    ("CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES(new.a, new.b); END",
     "INSERT INTO t VALUES(?, ?, ?)"),
    ("", "INSERT INTO t VALUES(?, ?, ?) RETURNING a, b"),
    ("CREATE INDEX te ON t(a + b)", "INSERT INTO t VALUES(?, ?, ?)"),
])
def test_readers_of_the_row_still_see_the_rowid_in_the_ipk_column(setup, sql):
    out = []
    for mod in (sqlite3, limbodb):
        con = mod.connect(":memory:")
        con.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER, c TEXT)")
        con.execute("CREATE TABLE log(x, y)")
        if setup:
            con.execute(setup)
        got = []
        for row in [(None, 1, "p"), ("5", 2, "q"), (None, 3, "r")]:
            got += con.execute(sql, row).fetchall()
        out.append((got, con.execute("SELECT * FROM log").fetchall(), con.execute("SELECT * FROM t").fetchall()))
    assert out[0] == out[1]


def test_a_table_row_is_encoded_and_inserted_by_one_fused_closure():
    from limbodb.vdbe.execute_cursor import insert_run
    sql = "INSERT INTO t(r, x) VALUES(?, ?)"
    rows = [(1, "a"), (2.5, None), ("3", b"b"), (None, "d")]
    con = limbodb.connect(":memory:")
    oracle = sqlite3.connect(":memory:")
    for db in (con, oracle):
        db.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, r REAL, x TEXT)")
    stmt = con._prepare_one(sql)
    make = next(pc for pc, insn in enumerate(stmt.program.insns) if insn.name == "MakeRecord")
    entry = stmt.program.proto[make]
    assert entry[1] is insert_run and [i.name for i in entry[2]] == ["MakeRecord", "Insert"]
    for db in (con, oracle):
        db.executemany(sql, rows)
        db.execute("INSERT INTO t VALUES(10, 4, 'e')")
    query = "SELECT a, r, typeof(r), x, typeof(x), last_insert_rowid(), total_changes() FROM t"
    assert con.execute(query).fetchall() == oracle.execute(query).fetchall()
