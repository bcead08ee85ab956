"""Cached index sort keys: carried through page splits, and index values passed to insert."""

import random
import sqlite3

import limbodb
from limbodb.io import run_sync
from limbodb.storage.btree_page import decode_page, index_sort_key
from limbodb.storage.record import KeyInfo, decode_record, encode_record, sort_key

from .btree_util import new_tree, open_pager, scan


def _tree_pages(io, pager, root):
    out = []
    todo = [root]
    while todo:
        page = run_sync(io, pager.read_page, todo.pop())
        info = page.aux or decode_page(page)
        out.append((page, info))
        if not info.leaf:
            todo.extend(info.children + [info.right])
    return out


def test_sort_keys_survive_splits_and_match_the_cells():
    io, pager = open_pager(page_size=1024)
    root, cur = new_tree(io, pager, KeyInfo([None, None]))
    rnd = random.Random(7)
    rows = [[rnd.choice([rnd.randrange(10 ** 6), "w" * rnd.randrange(1, 40), None, 2.5]), i]
            for i in range(3000)]
    # A few records too long for the page spill to overflow pages.
    rows += [["x" * 900 + str(i), 10 ** 6 + i] for i in range(5)]
    for vals in rows:
        cur.insert(encode_record(vals), None, list(vals))
    _assert_cached_keys_match(io, pager, root, len(rows) // 2)
    stored = scan(cur)
    assert len(stored) == len(rows)
    assert sorted(stored, key=lambda b: sort_key(decode_record(b))) == stored
    # Deleting two entries in three merges pages (and replaces interior entries).
    ok = cur.first()
    n = 0
    while ok:
        if n % 3:
            cur.delete()
        n += 1
        ok = cur.next()
    _assert_cached_keys_match(io, pager, root, len(rows) // 6)
    assert scan(cur) == stored[::3]


def _assert_cached_keys_match(io, pager, root, at_least):
    known = 0
    for page, info in _tree_pages(io, pager, root):
        sk = info.skeys
        if sk.__class__ is not list:
            continue
        for i, k in enumerate(sk):
            if k is None:
                continue
            known += 1
            sk[i] = None
            # Recomputed from the page's own bytes: what a search would have decoded.
            assert index_sort_key(page, info, i, pager.usable_size) == k
    assert known > at_least


def test_indexed_values_that_change_when_stored_match_sqlite(tmp_path):
    sql = [
        "CREATE TABLE t(a INTEGER PRIMARY KEY, r REAL, b BLOB, x)",
        "CREATE INDEX tr ON t(r)",
        "CREATE INDEX tb ON t(b, x)",
    ]
    rows = [(1, float("nan"), bytearray(b"ab"), 1), (2, 3, memoryview(b"a"), "3"), (3, "4.0", b"", 2.0),
            (4, None, bytearray(b"ab"), float("nan")), (5, -0.0, b"z", "\u00e9")]
    out = []
    for mod, path in ((sqlite3, tmp_path / "o.db"), (limbodb, tmp_path / "m.db")):
        con = mod.connect(str(path), isolation_level=None)
        for s in sql:
            con.execute(s)
        con.executemany("INSERT INTO t VALUES(?, ?, ?, ?)", rows)
        out.append([
            con.execute("SELECT a, r, typeof(r) FROM t INDEXED BY tr ORDER BY r").fetchall(),
            con.execute("SELECT a FROM t INDEXED BY tr WHERE r = 4").fetchall(),
            con.execute("SELECT a, b, x FROM t INDEXED BY tb ORDER BY b, x").fetchall(),
            con.execute("SELECT a FROM t INDEXED BY tb WHERE b = x'6162'").fetchall(),
            con.execute("PRAGMA integrity_check").fetchall(),
        ])
        con.close()
    assert out[0] == out[1]
