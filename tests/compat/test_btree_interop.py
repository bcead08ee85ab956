"""B-tree files both ways: trees limbodb writes are read by sqlite3, and the reverse.

limbodb → sqlite3: tables and indexes built with BTreeCursor (sqlite_schema rows written
by hand into page 1's tree) pass sqlite3's PRAGMA integrity_check, which also checks that
every index matches its table, and SELECT returns exactly the rows.
sqlite3 → limbodb: databases sqlite3 made (many rows, overflow rows, several indexes,
deletes, with and without VACUUM, several page sizes) read back entry for entry.
"""

import random
import sqlite3

import pytest

from limbodb.io import BlockingIO, run_sync
from limbodb.io.completion import IO
from limbodb.storage.btree import SEEK_EQ, SEEK_GE, BTreeCursor, create_btree
from limbodb.storage.integrity import check_tree, integrity_check
from limbodb.storage.pager import Database, Pager
from limbodb.storage.record import KeyInfo, decode_record, encode_record


def open_file(path, page_size=None):
    io = BlockingIO()
    db = Database.open(io, str(path))
    run_sync(io, db.open)
    if page_size is not None:
        db.set_page_size(page_size)
    return io, Pager(db)


def drive(io, fn, *args):
    r = fn(*args)
    # Re-entrant calls may simply be called again after a wait.
    return run_sync(io, fn, *args) if r.__class__ is IO else r


def close(io, pager):
    drive(io, pager.close)


def entries(io, cur, index):
    out = []
    ok = drive(io, cur.first)
    while ok:
        out.append(tuple(drive(io, cur.record).values()) if index else
                   (cur.rowid(), *drive(io, cur.record).values()))
        ok = drive(io, cur.next)
    return out


def value(rnd, i):
    kind = i % 6
    if kind == 0:
        return None
    if kind == 1:
        return rnd.randrange(-10**12, 10**12)
    if kind == 2:
        return rnd.random() * 1000
    if kind == 3:
        return rnd.choice(["abc", "ABC", "Abd", "b", "B", "é"]) * rnd.randrange(1, 30)
    if kind == 4:
        return rnd.randbytes(rnd.randrange(0, 40))
    return "x" * rnd.choice((10, 2000, 9000))


@pytest.mark.parametrize("page_size", [1024, 4096])
def test_tables_and_indexes_limbodb_writes_pass_sqlite_integrity_check(tmp_path, page_size):
    path = tmp_path / "w.db"
    io, pager = open_file(path, page_size)
    drive(io, pager.begin_write_tx)
    rnd = random.Random(page_size)
    troot = drive(io, create_btree, pager, False)
    iroot = drive(io, create_btree, pager, True)
    i2root = drive(io, create_btree, pager, True)
    ki = KeyInfo([None, None])
    ki2 = KeyInfo(["NOCASE", None], [True, False])
    schema = BTreeCursor(pager, 1)
    rows = [
        ("table", "t1", "t1", troot, "CREATE TABLE t1(a,b,c)"),
        ("index", "i1", "t1", iroot, "CREATE INDEX i1 ON t1(b)"),
        ("index", "i2", "t1", i2root, "CREATE INDEX i2 ON t1(c COLLATE NOCASE DESC)"),
    ]
    for n, row in enumerate(rows, 1):
        drive(io, schema.insert, n, encode_record(list(row)))
    table = BTreeCursor(pager, troot)
    idx = BTreeCursor(pager, iroot, ki)
    idx2 = BTreeCursor(pager, i2root, ki2)
    data = {}
    for rowid in rnd.sample(range(1, 30000), 2500):
        a, b, c = value(rnd, rowid), value(rnd, rowid + 1), value(rnd, rowid + 3)
        data[rowid] = (a, b, c)
        drive(io, table.insert, rowid, encode_record([a, b, c]))
        drive(io, idx.insert, encode_record([b, rowid]), None)
        drive(io, idx2.insert, encode_record([c, rowid]), None)
    pager.set_header_field("schema_cookie", 1)
    drive(io, pager.commit)
    # Delete a third of the rows (table and index entries) in a second transaction.
    drive(io, pager.begin_write_tx)
    for rowid in rnd.sample(sorted(data), 1000):
        a, b, c = data.pop(rowid)
        assert drive(io, table.seek, rowid, SEEK_EQ)
        drive(io, table.delete)
        assert drive(io, idx.seek, [b, rowid], SEEK_EQ)
        drive(io, idx.delete)
        assert drive(io, idx2.seek, [c, rowid], SEEK_EQ)
        drive(io, idx2.delete)
    assert drive(io, integrity_check, pager, [1, troot, iroot, i2root]) == ["ok"]
    assert drive(io, check_tree, pager, i2root, ki2) == []
    mine_i1 = entries(io, idx, True)
    mine_i2 = entries(io, idx2, True)
    drive(io, pager.commit)
    close(io, pager)

    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    got = con.execute("SELECT rowid, a, b, c FROM t1").fetchall()
    assert got == [(r, *data[r]) for r in sorted(data)]
    assert mine_i1 == con.execute("SELECT b, rowid FROM t1 ORDER BY b, rowid").fetchall()
    assert mine_i2 == con.execute("SELECT c, rowid FROM t1 ORDER BY c COLLATE NOCASE DESC, rowid").fetchall()
    con.close()


def make_sqlite_db(path, page_size, nrows, vacuum, seed):
    rnd = random.Random(seed)
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA page_size={page_size}")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("CREATE TABLE t1(a INTEGER, b TEXT, c BLOB)")
    con.execute("CREATE INDEX i1 ON t1(b)")
    con.execute("CREATE INDEX i2 ON t1(b COLLATE NOCASE DESC, a)")
    con.execute("CREATE INDEX i3 ON t1(c)")
    rows = []
    for i in range(nrows):
        size = 5000 if i % 997 == 0 else rnd.randrange(0, 40)
        rows.append((rnd.randrange(-10**6, 10**6), rnd.choice(["k", "K", "q", "Q"]) + str(rnd.randrange(1000)),
                     rnd.randbytes(size)))
    con.executemany("INSERT INTO t1 VALUES(?, ?, ?)", rows)
    con.commit()
    con.execute("DELETE FROM t1 WHERE a % 5 = 0")
    con.commit()
    if vacuum:
        con.execute("VACUUM")
    con.close()


@pytest.mark.parametrize("page_size,nrows,vacuum", [
    (4096, 100_000, False),
    (1024, 20_000, True),
    (65536, 20_000, False),
])
def test_sqlite_made_databases_read_back_entry_for_entry(tmp_path, page_size, nrows, vacuum):
    path = tmp_path / "r.db"
    make_sqlite_db(path, page_size, nrows, vacuum, seed=page_size)
    con = sqlite3.connect(path)
    roots = dict(con.execute("SELECT name, rootpage FROM sqlite_schema"))
    want_rows = con.execute("SELECT rowid, a, b, c FROM t1").fetchall()
    want_i1 = con.execute("SELECT b, rowid FROM t1 ORDER BY b, rowid").fetchall()
    want_i2 = con.execute("SELECT b, a, rowid FROM t1 ORDER BY b COLLATE NOCASE DESC, a, rowid").fetchall()
    want_i3 = con.execute("SELECT c, rowid FROM t1 ORDER BY c, rowid").fetchall()
    con.close()

    io, pager = open_file(path)
    drive(io, pager.begin_read_tx)
    table = BTreeCursor(pager, roots["t1"])
    assert entries(io, table, False) == want_rows
    assert drive(io, table.count) == len(want_rows)
    i1 = BTreeCursor(pager, roots["i1"], KeyInfo([None, None]))
    assert entries(io, i1, True) == want_i1
    ki2 = KeyInfo(["NOCASE", None, None], [True, False, False])
    i2 = BTreeCursor(pager, roots["i2"], ki2)
    assert entries(io, i2, True) == want_i2
    i3 = BTreeCursor(pager, roots["i3"], KeyInfo([None, None]))
    assert entries(io, i3, True) == want_i3
    # Point lookups through both kinds of tree.
    rnd = random.Random(1)
    for rowid, a, b, c in rnd.sample(want_rows, 200):
        assert drive(io, table.seek, rowid, SEEK_EQ)
        assert drive(io, table.record).values() == [a, b, c]
        assert drive(io, i2.seek, [b, a, rowid], SEEK_EQ)
        assert drive(io, i2.seek, [b.upper()], SEEK_GE)
        assert decode_record(drive(io, i2.payload))[0].lower() == b.lower()
    roots_all = [1] + sorted(roots.values())
    assert drive(io, integrity_check, pager, roots_all) == ["ok"]
    if nrows <= 20_000:
        assert drive(io, check_tree, pager, roots["i2"], ki2) == []
    close(io, pager)
