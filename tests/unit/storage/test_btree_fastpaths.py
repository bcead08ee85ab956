"""The B-tree's fast paths give the answers of the general ones.

Index search by cached sort keys (vs compare_record order), the direct row read of
record(), count() from leaf headers, insert reusing a missed seek, and in-place edits
while other cursors stand on the same page.
"""

import functools
import random

from hypothesis import given, settings, strategies as st

from limbodb.io import run_sync
from limbodb.storage import btree
from limbodb.storage.btree import SEEK_EQ, SEEK_GE, SEEK_GT, SEEK_LE, SEEK_LT, BTreeCursor
from limbodb.storage.record import (
    KeyInfo, compare_record, compare_values, decode_record, encode_record, sort_key,
)

from .btree_util import Driven, assert_sound, commit, new_tree, open_pager, scan

_values = st.one_of(
    st.none(),
    st.integers(-(2 ** 63), 2 ** 63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=6),
    st.binary(max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_values, min_size=1, max_size=3), st.lists(_values, min_size=1, max_size=3))
def test_sort_key_orders_values_as_sqlite_binary_does(a, b):
    n = min(len(a), len(b))
    expect = 0
    for x, y in zip(a[:n], b[:n]):
        expect = compare_values(x, y)
        if expect:
            break
    ka = sort_key(a[:n])
    kb = sort_key(b[:n])
    assert ((ka > kb) - (ka < kb)) == expect


def test_sort_key_refuses_values_python_would_misorder():
    assert sort_key([float("nan")]) is None
    assert sort_key(["a\udc80"]) is None  # a surrogate escape of an invalid UTF-8 byte
    assert sort_key([bytearray(b"x")]) is None
    assert sort_key(["é", 1]) == (2, "é", 1, 1)


def _model_seek(model, key, op, ki):
    """Index of the entry seek(key, op) lands on in sorted ``model`` (records), or None."""
    cmp = [compare_record(r, key, ki) for r in model]
    if op == SEEK_EQ or op == SEEK_GE:
        hits = [i for i, c in enumerate(cmp) if c >= 0]
        if not hits or (op == SEEK_EQ and cmp[hits[0]] != 0):
            return None
        return hits[0]
    if op == SEEK_GT:
        hits = [i for i, c in enumerate(cmp) if c > 0]
        return hits[0] if hits else None
    if op == SEEK_LE:
        hits = [i for i, c in enumerate(cmp) if c <= 0]
    else:
        hits = [i for i, c in enumerate(cmp) if c < 0]
    return hits[-1] if hits else None


def _mixed_value(rnd):
    kind = rnd.randrange(7)
    if kind == 0:
        return None
    if kind == 1:
        return rnd.randrange(-50, 50)
    if kind == 2:
        return rnd.randrange(-50, 50) / 4
    if kind == 3:
        return rnd.choice(["a", "B", "ab", "é", "zz", "a\udc80", ""])
    if kind == 4:
        return rnd.choice([b"", b"\x00", b"ab", b"\xff"])
    if kind == 5:
        return "x" * rnd.choice((1, 3, 900))  # 900 bytes spill to overflow pages
    return 2 ** 40 + rnd.randrange(3)


def test_index_seeks_agree_with_compare_record_order():
    rnd = random.Random(5)
    for ki in (KeyInfo([None, None]), KeyInfo(["NOCASE", None], [True, False])):
        io, pager = open_pager(page_size=1024)
        root, cur = new_tree(io, pager, ki)
        model = []
        for rowid in range(400):
            rec = encode_record([_mixed_value(rnd), rowid])
            cur.insert(rec, None)
            model.append(rec)
            if rowid % 7 == 0:
                # Deletes keep the pages' cached sort keys in step.
                victim = model.pop(rnd.randrange(len(model)))
                assert cur.seek(decode_record(victim), SEEK_EQ)
                cur.delete()
        ordered = sorted(model, key=functools.cmp_to_key(
            lambda x, y: compare_record(x, decode_record(y), ki)))
        assert scan(cur) == ordered
        for _ in range(300):
            rec = rnd.choice(ordered)
            vals = decode_record(rec)
            key = vals[:1] if rnd.random() < 0.5 else vals
            if rnd.random() < 0.3:
                key = [_mixed_value(rnd)]
            op = rnd.choice((SEEK_EQ, SEEK_GE, SEEK_GT, SEEK_LE, SEEK_LT))
            want = _model_seek(ordered, key, op, ki)
            got = cur.seek(key, op)
            assert got is (want is not None), (key, op)
            if got:
                assert cur.payload() == ordered[want]
        assert_sound(io, pager, [root], {root: ki})


def test_record_reads_rows_of_every_rowid_width_and_overflow_rows():
    io, pager = open_pager(page_size=512)
    root, cur = new_tree(io, pager)
    rows = {}
    for k in (-(2 ** 63), -1, 0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 35, 2 ** 63 - 1):
        rows[k] = [k, "v" * (k % 7), None, 1.5]
    rows[5] = [5, "long" * 400, b"\x01" * 300]
    for k, vals in rows.items():
        cur.insert(k, encode_record(vals))
    commit(io, pager)
    ok = cur.first()
    n = 0
    while ok:
        assert cur.record().values() == rows[cur.rowid()]
        n += 1
        ok = cur.next()
    assert n == len(rows)


def test_count_reads_leaf_headers_of_pages_loaded_afresh(tmp_path):
    path = str(tmp_path / "t.db")
    io, pager = open_pager(path=path, page_size=512)
    root, cur = new_tree(io, pager)
    iroot, icur = new_tree(io, pager, KeyInfo([None]))
    for k in range(3000):
        cur.insert(k * 3, encode_record([k]))
        icur.insert(encode_record([k % 97, k]), None)
    run_sync(io, pager.commit)
    run_sync(io, pager.close)
    io, pager = open_pager(io=io, path=path)
    assert Driven(io, pager, root).count() == 3000
    assert Driven(io, pager, iroot, KeyInfo([None])).count() == 3000


def test_insert_after_a_missed_seek_skips_the_descent(monkeypatch):
    io, pager = open_pager(page_size=512)
    root, cur = new_tree(io, pager)
    c = cur.cursor
    descents = []
    real = BTreeCursor._seek_leaf

    def counting(self, *args):
        descents.append(args[0])
        return real(self, *args)

    monkeypatch.setattr(btree.BTreeCursor, "_seek_leaf", counting)
    again = 0
    for k in range(1, 2000):
        assert c.seek(k, SEEK_EQ) is False
        n = len(descents)
        assert c.insert(k, encode_record([k])) is None
        again += len(descents) > n
    # Only an insert that splits the leaf descends again (to find its new place).
    assert again < 100
    assert scan(cur) == list(range(1, 2000))
    assert_sound(io, pager, [root])


def test_other_cursors_on_the_same_leaf_follow_in_place_changes():
    io, pager = open_pager()
    root, writer = new_tree(io, pager)
    for k in range(0, 100, 2):
        writer.insert(k, encode_record([k]))
    iroot, iwriter = new_tree(io, pager, KeyInfo([None]))
    for k in range(0, 100, 2):
        iwriter.insert(encode_record([k]), None)
    reader = Driven(io, pager, root)
    ireader = Driven(io, pager, iroot, KeyInfo([None]))
    assert reader.seek(40, SEEK_EQ) and ireader.seek([40], SEEK_EQ)
    writer.insert(11, encode_record([11]))  # before the readers: their index shifts
    iwriter.insert(encode_record([11]), None)
    assert reader.rowid() == 40 and ireader.payload() == encode_record([40])
    assert writer.seek(40, SEEK_EQ) and iwriter.seek([40], SEEK_EQ)
    writer.delete()  # the readers' own entries
    iwriter.delete()
    assert reader.next() and reader.rowid() == 42
    assert ireader.next() and ireader.payload() == encode_record([42])
    writer.insert(41, encode_record([41]))  # right behind the readers
    iwriter.insert(encode_record([41]), None)
    assert reader.prev() and reader.rowid() == 41
    assert ireader.prev() and ireader.payload() == encode_record([41])
    assert_sound(io, pager, [root, iroot], {iroot: KeyInfo([None])})
