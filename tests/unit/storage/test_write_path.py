"""The write path's shortcuts keep the tree what the general code would make of it.

Splits leave room (balance.SPLIT_FILL) and ascending index inserts split off the new
entry alone, the free byte count a page keeps (PageInfo.free) equals a recount of
its freeblocks (also after content slid over them to make room), index search bisects cached sort keys in C only when no key on the
page is shorter than the one sought, and the unrolled WAL checksum equals SQLite's
pairwise definition.
"""

import os
import random
import struct

from limbodb.storage import btree, btree_page
from limbodb.storage.balance import SPLIT_FILL, _distribute
from limbodb.storage.btree import SEEK_EQ, SEEK_GE, SEEK_GT, SEEK_LE, SEEK_LT
from limbodb.storage.btree_page import capacity, decode_page, free_space
from limbodb.storage.ondisk import PAGE_INDEX_LEAF
from limbodb.storage.record import KeyInfo, decode_record, encode_record
from limbodb.storage.wal import wal_checksum

from .btree_util import Driven, assert_sound, new_tree, open_pager, scan


def _count_balances(monkeypatch):
    calls = []
    real = btree.balance

    def counting(*args):
        calls.append(1)
        return (yield from real(*args))

    monkeypatch.setattr(btree, "balance", counting)
    return calls


def test_a_split_fills_no_page_beyond_split_fill_when_the_cells_allow():
    cap = 4088
    sizes = [12] * 1030  # three and a bit pages of small cells
    for consume in (False, True):
        plan = _distribute(sizes, cap, consume, True)
        assert all(sum(sizes[s:e]) <= cap * SPLIT_FILL for s, e in plan)
        assert plan[0][0] == 0 and plan[-1][1] == len(sizes)
        # Without a split (a delete rebalancing) the fewest pages that hold the cells.
        assert len(_distribute(sizes, cap, consume, False)) == 4
    # Two cells too big to leave that much room still go one per page.
    assert _distribute([933, 933], 1016, False, True) == [(0, 1), (1, 2)]


def test_random_index_inserts_rebalance_rarely(monkeypatch):
    calls = _count_balances(monkeypatch)
    io, pager = open_pager(page_size=4096)
    ki = KeyInfo([None])
    root, cur = new_tree(io, pager, ki)
    keys = random.Random(2).sample(range(40_000), 6000)
    for rowid, k in enumerate(keys, 1):
        cur.insert(encode_record([k, rowid]), None)
    # Pages split to the brim rebalanced about once per 40 inserts here.
    assert len(calls) < 6000 / 150
    assert scan(cur) == [encode_record([k, r]) for k, r in sorted((k, r) for r, k in enumerate(keys, 1))]
    assert_sound(io, pager, [root], {root: ki})


def _leaf_pages(pager, io, root):
    from limbodb.io import run_sync
    leaves = []
    stack = [root]
    while stack:
        page = run_sync(io, pager.read_page, stack.pop())
        info = page.aux or decode_page(page)
        if info.leaf:
            leaves.append((page, info))
        else:
            stack.extend(info.children)
    return leaves


def test_ascending_index_inserts_leave_full_pages_behind():
    io, pager = open_pager(page_size=1024)
    ki = KeyInfo([None])
    root, cur = new_tree(io, pager, ki)
    for k in range(5000):
        cur.insert(encode_record([k * 3, k]), None)
    leaves = _leaf_pages(pager, io, root)
    cap = capacity(0, PAGE_INDEX_LEAF, 1024)
    used = sum(cap - free_space(p.data, info) for p, info in leaves)
    # Every leaf but the last is as full as the next cell allowed (balance_quick's effect).
    assert len(leaves) <= -(-used // cap) + 1
    assert_sound(io, pager, [root], {root: ki})


def test_cached_free_space_matches_a_recount_after_every_kind_of_edit(monkeypatch):
    compactions = []
    real_compact = btree_page._compact

    def counting(*args):
        compactions.append(1)
        return real_compact(*args)

    monkeypatch.setattr(btree_page, "_compact", counting)
    rnd = random.Random(7)
    io, pager = open_pager(page_size=1024)
    root, cur = new_tree(io, pager)
    present = set()
    for step in range(3000):
        k = rnd.randrange(400)
        if k in present and rnd.random() < 0.4:
            assert cur.seek(k, SEEK_EQ)
            cur.delete()
            present.discard(k)
        else:
            # Sizes vary so replacements grow and shrink cells, leaving freeblocks and fragments.
            cur.insert(k, encode_record([k, "x" * rnd.choice((0, 1, 2, 3, 5, 30, 90))]))
            present.add(k)
        if step % 50 == 0:
            for page in list(pager.cache.dirty.values()):
                info = page.aux
                if info is None or info.free is None:
                    continue
                kept = info.free
                info.free = None
                assert free_space(page.data, info) == kept, (step, page.pgno)
    # Cells that outgrew every freeblock slid the content over them instead of a rebuild.
    assert len(compactions) > 20
    assert scan(cur) == sorted(present)
    assert_sound(io, pager, [root])


def test_index_search_with_a_record_shorter_than_the_key_agrees_with_compare_record():
    io, pager = open_pager(page_size=4096)
    ki = KeyInfo([None])
    root, cur = new_tree(io, pager, ki)
    for k in range(0, 300, 3):
        cur.insert(encode_record([k, k + 1000]), None)
    # A record with only the indexed column, which compare_record finds equal to any key
    # it prefixes: tuple order would put it before them.
    cur.insert(encode_record([150]), None)
    plain = Driven(io, pager, root, ki)
    plain.cursor._sk = False  # searches by compare_record alone
    rnd = random.Random(3)
    for _ in range(300):
        k = rnd.choice((150, 150, rnd.randrange(-3, 303)))
        key = [k, rnd.choice((k + 1000, 0, 5000))]
        op = rnd.choice((SEEK_EQ, SEEK_GE, SEEK_GT, SEEK_LE, SEEK_LT))
        got = cur.seek(key, op)
        want = plain.seek(key, op)
        assert got is want, (key, op)
        if got:
            assert cur.payload() == plain.payload(), (key, op)


def _pairwise_checksum(data, s0, s1, big_endian):
    words = struct.unpack(("<>"[big_endian]) + "I" * (len(data) // 4), data)
    for a, b in zip(words[0::2], words[1::2]):
        s0 = (s0 + a + s1) & 0xFFFFFFFF
        s1 = (s1 + b + s0) & 0xFFFFFFFF
    return s0, s1


def test_wal_checksum_equals_the_pairwise_definition():
    rnd = random.Random(11)
    # Lengths around the 64-byte unrolled turn, and whole pages; all-ones data carries the most.
    for n in (8, 24, 56, 64, 72, 120, 512, 4096, 65536):
        for big_endian in (False, True):
            for data in (os.urandom(n), b"\xff" * n):
                s0, s1 = rnd.getrandbits(32), rnd.getrandbits(32)
                assert wal_checksum(data, s0, s1, big_endian) == _pairwise_checksum(data, s0, s1, big_endian)


def test_appended_rows_go_on_new_leaves_without_a_rebalance(monkeypatch):
    calls = _count_balances(monkeypatch)
    io, pager = open_pager(page_size=1024)
    root, cur = new_tree(io, pager)
    reader = Driven(io, pager, root)
    for k in range(1, 3001):
        cur.insert(k, encode_record([k, "row %d" % k]))
        if k == 500:
            assert reader.seek(500, SEEK_EQ)
    leaves = _leaf_pages(pager, io, root)
    # Only the root's first split (balance_deeper) rebalances; every later full leaf
    # just gets a new right-hand sibling (balance_quick).
    assert len(leaves) > 40 and len(calls) == 1
    # A cursor standing on a leaf that was split away from finds its row again.
    assert reader.rowid() == 500 and reader.next() and reader.rowid() == 501
    assert scan(cur) == list(range(1, 3001))
    assert_sound(io, pager, [root])
    # Once the parent is full, the general balance takes over (here: the root splits).
    for k in range(3001, 12001):
        cur.insert(k, encode_record([k, "row %d" % k]))
    assert len(calls) > 1
    assert scan(cur) == list(range(1, 12001))
    assert_sound(io, pager, [root])


def test_replacing_a_row_with_one_that_fits_rewrites_its_cell_in_place(monkeypatch):
    drops = []
    real_drop = btree.drop_cell

    def counting(*args):
        drops.append(1)
        return real_drop(*args)

    monkeypatch.setattr(btree, "drop_cell", counting)
    io, pager = open_pager(page_size=1024)
    root, cur = new_tree(io, pager)
    for k in range(200):
        cur.insert(k, encode_record([k, "x" * 20]))
    rnd = random.Random(3)
    expected = {k: "x" * 20 for k in range(200)}
    for _ in range(600):
        k = rnd.randrange(200)
        # The same size, or smaller by a freeblock's worth (fragments are capped per page).
        n = len(expected[k])
        expected[k] = "y" * rnd.choice((n, n // 2 if n >= 8 else n))
        cur.insert(k, encode_record([k, expected[k]]))
        assert cur.rowid() == k
    assert drops == []  # no replacement went through drop + insert
    rows = []
    ok = cur.first()
    while ok:
        rows.append(tuple(decode_record(cur.payload())))
        ok = cur.next()
    assert rows == [(k, expected[k]) for k in range(200)]
    assert_sound(io, pager, [root])
