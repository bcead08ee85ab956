"""BTreeCursor.column: a table leaf's decoded columns, cached in its PageInfo, give exactly
what the row's Record gives, stay aligned with the cells across inserts and deletes, and
leave overflow cells, damaged cells and extra columns to the Record path."""

import random

import pytest

from limbodb.errors import CorruptError
from limbodb.storage.btree import MAX_CACHED_COLUMNS, SEEK_EQ
from limbodb.storage.btree_page import UNDECODED
from limbodb.storage.record import Record, column_at, encode_record

from .btree_util import assert_sound, new_tree, open_pager


def _value(rnd, i):
    return rnd.choice([None, 0, 1, rnd.randrange(-200, 200), rnd.randrange(-2 ** 40, 2 ** 40),
                       -2 ** 63, 2 ** 63 - 1, rnd.random() * 1e6, "s%d" % i, "é" * rnd.randrange(4),
                       bytes(rnd.randrange(5)), "x" * rnd.randrange(60)])


def _row(rnd, i, big=False):
    # Short rows end early: their missing columns read as NULL (ALTER TABLE ADD COLUMN).
    vals = [_value(rnd, i) for _ in range(rnd.randrange(1, 6))]
    if big:
        vals.append("o" * 3000)
    return vals


def _tree(nrows=600, seed=1):
    io, pager = open_pager(page_size=1024)
    root, cur = new_tree(io, pager)
    rnd = random.Random(seed)
    rows = {}
    for i in rnd.sample(range(1, 5 * nrows), nrows):
        rows[i] = _row(rnd, i, big=rnd.random() < 0.02)
        cur.insert(i, encode_record(rows[i]))
    return io, pager, root, cur, rows


def _expected(rows, rowid, i):
    vals = rows[rowid]
    return vals[i] if i < len(vals) else None


def _check_scan(cur, rows, ncols=MAX_CACHED_COLUMNS):
    """Every row's columns through column(): the row's values, UNDECODED only with overflow."""
    ok = cur.first()
    seen = 0
    while ok:
        rowid = cur.rowid()
        rec = cur.record()
        for i in range(ncols):
            v = cur.cursor.column(i)
            if v is UNDECODED:
                assert len(rec.payload) > 1024 - 35
            else:
                assert v == rec.column(i) == _expected(rows, rowid, i)
                assert v.__class__ is rec.column(i).__class__
        seen += 1
        ok = cur.next()
    assert seen == len(rows)


def test_column_gives_the_records_values_and_fills_each_leaf_it_enters():
    io, pager, root, cur, rows = _tree()
    _check_scan(cur, rows)
    # The scan entered every leaf at its first cell: all its cells were decoded at once.
    assert cur.first()
    info = cur.cursor._info
    assert set(info.cols) == set(range(MAX_CACHED_COLUMNS))
    assert all(len(values) == info.ncells for values in info.cols.values())
    # A second scan reads the same answers from the filled lists.
    _check_scan(cur, rows)


def test_a_cursor_seeking_into_a_leaf_decodes_only_its_own_cell():
    io, pager, root, cur, rows = _tree()
    key = sorted(rows)[300]
    assert cur.seek(key, SEEK_EQ)
    info = cur.cursor._info
    ci = cur.cursor._ci
    assert ci > 0
    assert cur.cursor.column(0) == _expected(rows, key, 0)
    values = info.cols[0]
    assert [j for j, v in enumerate(values) if v is not UNDECODED] == [ci]


def test_a_leaf_keeps_at_most_the_bounded_number_of_column_lists():
    io, pager, root, cur, rows = _tree(nrows=50)
    assert cur.first()
    for i in range(MAX_CACHED_COLUMNS):
        cur.cursor.column(i)
    assert cur.cursor.column(MAX_CACHED_COLUMNS) is UNDECODED
    assert len(cur.cursor._info.cols) == MAX_CACHED_COLUMNS


def test_inserts_replacements_and_deletes_keep_the_cached_columns_aligned():
    io, pager, root, cur, rows = _tree(seed=3)
    rnd = random.Random(8)
    for _ in range(40):
        _check_scan(cur, rows)
        # Few edits between scans: most leave their leaf in place, cached columns and all.
        for _ in range(10):
            op = rnd.random()
            if op < 0.4 or not rows:
                # New rows and replacements, in place or splitting pages.
                key = rnd.randrange(1, 4000)
                rows[key] = _row(rnd, key, big=rnd.random() < 0.02)
                cur.insert(key, encode_record(rows[key]))
            else:
                key = rnd.choice(sorted(rows))
                assert cur.seek(key, SEEK_EQ)
                cur.delete()
                del rows[key]
    _check_scan(cur, rows)
    # Last: the checker decodes every page afresh, which drops the caches.
    assert_sound(io, pager, [root])


def test_a_scan_that_replaces_each_row_keeps_reading_cached_values():
    # UPDATE's pattern: read the row, then replace it through the same cursor.
    io, pager, root, cur, rows = _tree(nrows=300, seed=5)
    _check_scan(cur, rows)
    ok = cur.first()
    while ok:
        rowid = cur.rowid()
        v = cur.cursor.column(0)
        if v is not UNDECODED:
            assert v == _expected(rows, rowid, 0)
            new = [v + 1 if v.__class__ is int and -2 ** 62 < v < 2 ** 62 else 7] + rows[rowid][1:]
            rows[rowid] = new
            cur.insert(rowid, encode_record(new))
        ok = cur.next()
    _check_scan(cur, rows)


def test_a_damaged_cell_fails_only_when_its_row_is_read():
    io, pager, root, cur, rows = _tree(nrows=40)
    assert cur.first()
    page = cur.cursor._page
    info = cur.cursor._info
    assert info.leaf and info.ncells > 3
    # Cell 2's record header claims more bytes than the record has.
    off = info.ptrs[2]
    data = page.data
    size = data[off]
    start = off + 2 if data[off + 1] < 0x80 else off + 3
    data[start] = 0x7F
    assert size < 0x7F
    assert cur.cursor.column(0) == _expected(rows, cur.rowid(), 0)
    assert info.cols[0][2] is UNDECODED
    cur.next()
    cur.next()
    with pytest.raises(CorruptError):
        cur.cursor.column(0)
    with pytest.raises(CorruptError):
        cur.record().column(0)


@pytest.mark.parametrize("seed", range(4))
def test_column_at_reads_a_record_inside_a_larger_buffer_as_record_does(seed):
    rnd = random.Random(seed)
    for n in range(300):
        vals = _row(rnd, n)
        payload = encode_record(vals)
        before = bytes(rnd.randrange(20))
        buf = bytearray(before + payload + bytes(rnd.randrange(12)))
        start = len(before)
        rec = Record(bytes(payload))
        for i in range(len(vals) + 2):
            got = column_at(buf, start, start + len(payload), i)
            assert got == rec.column(i) and got.__class__ is rec.column(i).__class__
    assert column_at(bytearray(b"\x00\x00"), 1, 1, 0) is None


def test_the_cached_values_of_all_leaves_stay_within_the_budget(monkeypatch):
    from limbodb.storage import btree
    monkeypatch.setattr(btree, "MAX_CACHED_VALUES", 150)
    io, pager, root, cur, rows = _tree(nrows=600, seed=9)
    for _ in range(2):
        _check_scan(cur, rows)
        live = [(d, v) for d in {id(d): d for d, _ in btree._COLUMN_LISTS}.values() for v in d.values()]
        assert 0 < sum(len(v) for d, v in live) <= 150
    # Dropped lists leave their leaves to fill again: a later scan still reads right.
    _check_scan(cur, rows)
