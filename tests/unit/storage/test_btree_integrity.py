"""integrity_check against sqlite3's PRAGMA integrity_check on the same damaged files; check_tree."""

import sqlite3
import struct

import pytest

from limbodb.io import BlockingIO, run_sync
from limbodb.storage.btree import BTreeCursor
from limbodb.storage.btree_page import parse_cell
from limbodb.storage.integrity import check_tree, integrity_check
from limbodb.storage.ondisk import PAGE_TABLE_LEAF
from limbodb.storage.pager import Database, Pager
from limbodb.storage.record import KeyInfo, encode_record

from .btree_util import new_tree, open_pager

PS = 1024


def make_db(path):
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA page_size={PS}")
    con.execute("CREATE TABLE t1(a, b)")
    con.executemany("INSERT INTO t1 VALUES(?, ?)", [(i, "x" * (i % 50)) for i in range(300)])
    con.execute("CREATE TABLE t2(a)")
    con.execute("INSERT INTO t2 VALUES(zeroblob(3000))")
    con.commit()
    con.close()


def u16(data, off):
    return struct.unpack_from(">H", data, off)[0]


def u32(data, off):
    return struct.unpack_from(">I", data, off)[0]


def page_off(pgno):
    return (pgno - 1) * PS


def first_child(data, pgno):
    base = page_off(pgno)
    return u32(data, base + u16(data, base + 12))


def corrupt_freelist_count(data):
    struct.pack_into(">I", data, 36, 3)


def corrupt_right_child(data):
    base = page_off(2)
    struct.pack_into(">I", data, base + 8, first_child(data, 2))


def corrupt_fragment_count(data):
    data[page_off(first_child(data, 2)) + 7] = 5


def corrupt_overflow_chain(data, roots):
    # t2's only row spills to overflow pages; end its chain after the first page.
    leaf = page_off(roots["t2"])
    page = data[leaf:leaf + PS]
    first = parse_cell(page, u16(page, 8), PAGE_TABLE_LEAF, PS)[3]
    struct.pack_into(">I", data, page_off(first), 0)


def corrupt_cell_offset(data):
    base = page_off(first_child(data, 2))
    struct.pack_into(">H", data, base + 8, 5)


CASES = {
    "freelist count": corrupt_freelist_count,
    "right child twice": corrupt_right_child,
    "fragment count": corrupt_fragment_count,
    "cell offset": corrupt_cell_offset,
    "short overflow chain": corrupt_overflow_chain,
}


def sqlite_messages(path):
    con = sqlite3.connect(path)
    rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
    con.close()
    text = "\n".join(rows)
    prefix = "*** in database main ***\n"
    return text[len(prefix):].split("\n") if text.startswith(prefix) else rows


@pytest.mark.parametrize("name", [None] + list(CASES))
def test_messages_match_sqlite_on_damaged_files(tmp_path, name):
    path = tmp_path / "d.db"
    make_db(path)
    con = sqlite3.connect(path)
    roots = dict(con.execute("SELECT name, rootpage FROM sqlite_schema"))
    con.close()
    if name is not None:
        data = bytearray(path.read_bytes())
        fn = CASES[name]
        fn(data, roots) if fn is corrupt_overflow_chain else fn(data)
        path.write_bytes(bytes(data))
    want = sqlite_messages(path)
    io = BlockingIO()
    db = Database.open(io, str(path))
    run_sync(io, db.open)
    pager = Pager(db)
    run_sync(io, pager.begin_read_tx)
    got = run_sync(io, integrity_check, pager, [1, roots["t1"], roots["t2"]])
    run_sync(io, pager.close)
    assert got == want
    assert (got == ["ok"]) is (name is None)


def test_check_tree_finds_index_entries_out_of_collation_order():
    io, pager = open_pager(page_size=512)
    ki = KeyInfo(["NOCASE", None])
    root, cur = new_tree(io, pager, ki)
    for i in range(300):
        cur.insert(encode_record([f"k{i:04d}", i]), None)
    assert run_sync(io, check_tree, pager, root, ki) == []
    # Under DESC the same tree is out of order everywhere.
    assert run_sync(io, check_tree, pager, root, KeyInfo(["NOCASE", None], [True, False]))
    # Swap two cells' pointers on a leaf: integrity_check's page accounting stays fine,
    # the walker sees the order break.
    leaf = BTreeCursor(pager, root, ki)
    assert run_sync(io, leaf.first)
    page = leaf._page
    ptrs = page.aux.ptrs
    pager.mark_dirty(page)
    struct.pack_into(">HH", page.data, 8, ptrs[1], ptrs[0])
    page.aux = None
    assert run_sync(io, integrity_check, pager, [1, root]) == ["ok"]
    problems = run_sync(io, check_tree, pager, root, ki)
    assert problems and "out of order" in problems[0]
