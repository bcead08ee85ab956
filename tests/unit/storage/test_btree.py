"""B-tree cursors: seek ops, iteration, insert/replace/delete, overflow, balancing, whole trees."""

import bisect
import functools
import random

import pytest

from limbodb.errors import InternalError, IOError_
from limbodb.io import run_sync
from limbodb.io.sim import SimulatedIO
from limbodb.storage.btree import (
    SEEK_EQ, SEEK_GE, SEEK_GT, SEEK_LE, SEEK_LT, BTreeCursor, clear_btree, create_btree, drop_btree,
)
from limbodb.storage.integrity import check_tree, integrity_check
from limbodb.storage.record import KeyInfo, compare_record, compare_records, decode_record, encode_record

from .btree_util import Driven, assert_sound, commit, new_tree, open_pager, scan, scan_back

OPS = (SEEK_EQ, SEEK_GE, SEEK_GT, SEEK_LE, SEEK_LT)


def expected_position(n, lower, upper, op):
    """Index into a sorted list of n entries a seek lands on (or None), given the bounds of the key."""
    if op == SEEK_EQ:
        return lower if lower < upper else None
    if op == SEEK_GE:
        return lower if lower < n else None
    if op == SEEK_GT:
        return upper if upper < n else None
    if op == SEEK_LE:
        return upper - 1 if upper > 0 else None
    return lower - 1 if lower > 0 else None


def test_empty_trees_have_no_entries():
    io, pager = open_pager()
    for ki in (None, KeyInfo([None])):
        root, cur = new_tree(io, pager, ki)
        assert cur.first() is False and cur.last() is False
        assert cur.next() is False and cur.prev() is False
        for op in OPS:
            assert cur.seek(5 if ki is None else [5], op) is False
        assert cur.count() == 0
    assert_sound(io, pager, [2, 3])


def test_table_seek_ops_match_a_sorted_model():
    io, pager = open_pager(page_size=512)
    root, cur = new_tree(io, pager)
    rnd = random.Random(3)
    keys = sorted(rnd.sample(range(-3000, 3000), 1500) + [-(1 << 63), (1 << 63) - 1])
    for k in rnd.sample(keys, len(keys)):
        cur.insert(k, encode_record([k]))
    assert scan(cur) == keys and scan_back(cur) == keys[::-1]
    # Float probes too: the VM may seek a rowid table with a REAL key.
    probes = rnd.sample(range(-3100, 3100), 400) + [k + 0.5 for k in rnd.sample(keys, 50)]
    for probe in probes + [-(1 << 63), (1 << 63) - 1]:
        lo = bisect.bisect_left(keys, probe)
        hi = bisect.bisect_right(keys, probe)
        for op in OPS:
            want = expected_position(len(keys), lo, hi, op)
            got = cur.seek(probe, op)
            if want is None:
                assert got is False, (probe, op)
            else:
                assert got is True and cur.rowid() == keys[want], (probe, op)
                assert decode_record(cur.payload()) == [keys[want]]
    assert_sound(io, pager, [root])


def test_index_seek_ops_with_prefix_keys_nocase_and_desc():
    io, pager = open_pager(page_size=1024)
    ki = KeyInfo(["NOCASE", None], [True, False])
    root, cur = new_tree(io, pager, ki)
    rnd = random.Random(5)
    words = ["a", "A", "b", "B", "bb", "c", "C ", "d", ""]
    recs = set()
    for rowid in range(1200):
        text = rnd.choice(words) * rnd.choice((1, 2, 40))
        rec = encode_record([text, rowid])
        recs.add(rec)
        cur.insert(rec, None)
    model = sorted(recs, key=functools.cmp_to_key(lambda a, b: compare_records(a, b, ki)))
    assert scan(cur) == model and scan_back(cur) == model[::-1]
    assert cur.count() == len(model)
    for text in set(decode_record(r)[0] for r in model) | {"aa", "zz", "0"}:
        for key in ([text], [text.upper(), 600]):
            lo = sum(1 for r in model if compare_record(r, key, ki) < 0)
            hi = sum(1 for r in model if compare_record(r, key, ki) <= 0)
            for op in OPS:
                want = expected_position(len(model), lo, hi, op)
                got = cur.seek(key, op)
                if want is None:
                    assert got is False, (key, op)
                else:
                    assert got is True and cur.payload() == model[want], (key, op)
                    assert cur.rowid() == decode_record(model[want])[1]
    assert_sound(io, pager, [root], {root: ki})


def test_insert_replaces_an_equal_rowid_and_frees_its_old_overflow_pages():
    io, pager = open_pager(page_size=1024)
    root, cur = new_tree(io, pager)
    for k in range(200):
        cur.insert(k, encode_record([k, b"x" * 5000]))
    assert_sound(io, pager, [root])
    for k in range(0, 200, 2):
        cur.insert(k, encode_record([k, "small"]))
        assert cur.rowid() == k and decode_record(cur.payload()) == [k, "small"]
    for k in range(1, 200, 2):
        cur.insert(k, encode_record([k, b"y" * 9000]))
    assert_sound(io, pager, [root])
    assert cur.count() == 200
    for k in range(200):
        assert cur.seek(k, SEEK_EQ)
        want = [k, "small"] if k % 2 == 0 else [k, b"y" * 9000]
        assert cur.record().values() == want


def test_delete_then_next_and_prev_continue_from_the_deleted_entry():
    io, pager = open_pager(page_size=512)
    root, cur = new_tree(io, pager)
    for k in range(3000):
        cur.insert(k, encode_record([k, "v" * (k % 70)]))
    # Delete every other entry during a forward scan.
    ok = cur.first()
    seen = []
    while ok:
        k = cur.rowid()
        seen.append(k)
        if k % 2 == 0:
            cur.delete()
        ok = cur.next()
    assert seen == list(range(3000))
    assert scan(cur) == list(range(1, 3000, 2))
    assert_sound(io, pager, [root])
    # prev() after a delete lands on the entry before the deleted one.
    assert cur.seek(1501, SEEK_EQ)
    cur.delete()
    assert cur.prev() is True and cur.rowid() == 1499
    # Delete everything from the back; the root ends as an empty leaf.
    ok = cur.last()
    while ok:
        cur.delete()
        ok = cur.prev()
    assert cur.first() is False and cur.count() == 0
    assert_sound(io, pager, [root])
    assert pager.header_field("freelist_count") == pager.db_size - 2


def test_index_delete_of_interior_entries_keeps_order_and_frees_pages():
    io, pager = open_pager(page_size=512)
    ki = KeyInfo([None, None])
    root, cur = new_tree(io, pager, ki)
    recs = [encode_record([f"{i:05d}" * 8, i]) for i in range(1500)]
    for r in recs:
        cur.insert(r, None)
    rnd = random.Random(9)
    alive = set(recs)
    for r in rnd.sample(recs, 1400):
        assert cur.seek(decode_record(r), SEEK_EQ)
        cur.delete()
        alive.discard(r)
    assert scan(cur) == sorted(alive)
    assert_sound(io, pager, [root], {root: ki})


def test_big_payloads_spill_to_overflow_pages_and_read_back():
    io, pager = open_pager(page_size=1024)
    root, cur = new_tree(io, pager)
    rnd = random.Random(1)
    rows = {}
    for k in range(150):
        size = rnd.choice((0, 100, 990, 1000, 3000, 100_000))
        rows[k] = encode_record([k, rnd.randbytes(size)])
        cur.insert(k, rows[k])
    ok = cur.first()
    while ok:
        assert cur.payload() == rows[cur.rowid()]
        ok = cur.next()
    assert_sound(io, pager, [root])
    iroot, icur = new_tree(io, pager, KeyInfo([None, None]))
    for k in range(60):
        icur.insert(encode_record([rnd.randbytes(rnd.choice((10, 500, 5000))), k]), None)
    assert_sound(io, pager, [root, iroot], {iroot: KeyInfo([None, None])})
    assert len(scan(icur)) == 60


def test_another_cursor_keeps_its_place_while_the_tree_is_rebalanced():
    io, pager = open_pager(page_size=512)
    root, writer = new_tree(io, pager)
    model = list(range(0, 4000, 2))
    for k in model:
        writer.insert(k, encode_record([k]))
    reader = Driven(io, pager, root)
    ki = KeyInfo([None, None])
    iroot, iwriter = new_tree(io, pager, ki)
    for k in model:
        iwriter.insert(encode_record([k, k]), None)
    ireader = Driven(io, pager, iroot, ki)
    ok = reader.first() and ireader.first()
    rnd = random.Random(2)
    steps = 0
    while ok:
        here = reader.rowid()
        assert ireader.rowid() == here
        # Change the tree around the readers: inserts behind and ahead, deletes ahead.
        for _ in range(3):
            k = rnd.randrange(-100, 4100)
            if k not in model:
                bisect.insort(model, k)
                writer.insert(k, encode_record([k, "z" * 50]))
                iwriter.insert(encode_record([k, k]), None)
            gone = here + rnd.randrange(1, 40)
            if gone in model:
                model.remove(gone)
                assert writer.seek(gone, SEEK_EQ) and iwriter.seek([gone, gone], SEEK_EQ)
                writer.delete()
                iwriter.delete()
        ok = reader.next()
        assert ireader.next() is ok
        after = model[bisect.bisect_right(model, here):]
        if ok:
            assert reader.rowid() == after[0]
        else:
            assert after == []
        steps += 1
    assert steps > 500
    assert_sound(io, pager, [root, iroot], {iroot: ki})


def test_page_one_schema_tree_grows_and_shrinks_under_the_file_header():
    io, pager = open_pager(page_size=512)
    cur = Driven(io, pager, 1)
    for k in range(1, 400):
        cur.insert(k, encode_record(["table", f"t{k}", f"t{k}", 0, "CREATE TABLE x(a)" + " " * (k % 50)]))
    assert_sound(io, pager, [])
    assert pager.page1().data[100] == 5  # page 1 became an interior page
    ok = cur.first()
    while ok:
        cur.delete()
        ok = cur.next()
    assert cur.count() == 0
    assert_sound(io, pager, [])


def test_clear_and_drop_return_every_page_to_the_freelist():
    io, pager = open_pager(page_size=1024)
    r1, c1 = new_tree(io, pager)
    r2, c2 = new_tree(io, pager, KeyInfo([None]))
    for k in range(2000):
        c1.insert(k, encode_record([k, b"p" * (k % 1500)]))
        c2.insert(encode_record([k, k]), None)
    assert_sound(io, pager, [r1, r2], {r2: KeyInfo([None])})
    run_sync(io, clear_btree, pager, r1)
    assert c1.count() == 0 and c1.first() is False
    assert_sound(io, pager, [r1, r2], {r2: KeyInfo([None])})
    run_sync(io, drop_btree, pager, r2)
    assert_sound(io, pager, [r1])
    assert pager.header_field("freelist_count") == pager.db_size - 2
    c1.insert(5, encode_record([5]))
    assert scan(c1) == [5]


def run_workload(io, pager, seed):
    """Inserts, replaces and deletes with commits in between; returns what each step saw."""
    rnd = random.Random(seed)
    root, cur = new_tree(io, pager)
    ki = KeyInfo(["NOCASE", None], [False, True])
    iroot, icur = new_tree(io, pager, ki)
    commit(io, pager)
    log = []
    checks = []
    for batch in range(6):
        for _ in range(250):
            k = rnd.randrange(2000)
            if rnd.random() < 0.3 and cur.seek(k, SEEK_GE):
                log.append(("del", cur.rowid()))
                cur.delete()
            else:
                cur.insert(k, encode_record([k, b"b" * rnd.choice((1, 60, 3000))]))
            icur.insert(encode_record([rnd.choice("aAbBcC") * rnd.randrange(1, 200), k]), None)
            if rnd.random() < 0.2 and icur.seek([rnd.choice("abc") * rnd.randrange(1, 200)], SEEK_GE):
                log.append(("idel", icur.payload()))
                icur.delete()
        commit(io, pager)
        log.append(scan(cur))
        log.append(scan(icur))
        log.append((cur.count(), icur.count()))
        checks.append(run_sync(io, integrity_check, pager, [1, root, iroot]))
    return log, checks, cur.waits + icur.waits


@pytest.mark.parametrize("seed", [4, 5])
def test_operations_are_reentrant_under_simulated_io(seed):
    io, pager = open_pager(page_size=1024)
    want, checks, _ = run_workload(io, pager, 11)
    sim = SimulatedIO(seed=seed)
    io2, pager2 = open_pager(sim, path="sim.db", page_size=1024, cache_size=10)
    got, checks2, waits = run_workload(io2, pager2, 11)
    assert waits > 100
    assert got == want
    assert checks == checks2 == [["ok"]] * 6
    # Whole-tree operations wait too, and finish.
    run_sync(sim, clear_btree, pager2, 2)
    commit(sim, pager2)
    run_sync(sim, drop_btree, pager2, 3)
    assert_sound(sim, pager2, [2])
    assert pager2.header_field("freelist_count") == pager2.db_size - 2


def test_create_btree_makes_distinct_empty_roots():
    io, pager = open_pager()
    roots = [run_sync(io, create_btree, pager, i % 2 == 1) for i in range(4)]
    assert len(set(roots)) == 4 and 1 not in roots
    for i, r in enumerate(roots):
        assert pager.cached_page(r).data[0] == (10 if i % 2 else 13)
    assert_sound(io, pager, roots)
    with pytest.raises(InternalError):
        BTreeCursor(pager, roots[0]).delete()


def test_a_read_error_mid_mutation_leaves_the_tree_before_or_after_the_change():
    failing = {"on": False}
    rnd_fault = random.Random(8)

    def plan(index, op, path, offset):
        return "error" if failing["on"] and op == "read" and rnd_fault.random() < 0.05 else None

    sim = SimulatedIO(seed=3, fault_plan=plan)
    io, pager = open_pager(sim, path="f.db", page_size=1024, cache_size=10)
    root, cur = new_tree(io, pager)
    model = {}
    for k in range(0, 1500, 3):
        model[k] = encode_record([k, b"c" * (k % 1200)])
        cur.insert(k, model[k])
    commit(io, pager)
    committed = dict(model)
    rnd = random.Random(6)
    errors = 0
    for _ in range(400):
        k = rnd.randrange(1500)
        before = dict(model)
        after = dict(model)
        failing["on"] = True
        try:
            if k in model:
                after.pop(k)
                assert cur.seek(k, SEEK_EQ)
                cur.delete()
            else:
                after[k] = encode_record([k, b"d" * rnd.choice((5, 900, 2500))])
                cur.insert(k, after[k])
            model = after
        except IOError_:
            errors += 1
            failing["on"] = False
            rows = scan(cur)
            assert rows in (sorted(before), sorted(after))
            model = before if rows == sorted(before) else after
            assert run_sync(io, check_tree, pager, root, None) == []
        failing["on"] = False
    assert errors > 5
    assert scan(cur) == sorted(model)
    for k in rnd.sample(sorted(model), 50):
        assert cur.seek(k, SEEK_EQ) and cur.payload() == model[k]
    # Rolling back drops every change, leaked pages included.
    pager.rollback()
    run_sync(io, pager.begin_write_tx)
    cur = Driven(io, pager, root)
    assert scan(cur) == sorted(committed)
    assert_sound(io, pager, [root])
