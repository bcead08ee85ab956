"""Cell-level page editing: insert/drop cells, freeblocks, fragments, defragment, sizes."""

import random
import sqlite3

from limbodb.storage.btree_page import (
    PageInfo, build_page, capacity, cell_size, cells_of, decode_page, defragment, drop_cell, free_space,
    init_page, insert_cell, parse_cell, replace_cell,
)
from limbodb.storage.ondisk import (
    PAGE_INDEX_INTERIOR, PAGE_INDEX_LEAF, PAGE_TABLE_INTERIOR, PAGE_TABLE_LEAF, U16, local_payload_size,
    put_varint,
)
from limbodb.storage.page_cache import Page
from limbodb.storage.record import encode_record

USABLE = 1024


def table_cell(rowid, payload):
    return put_varint(len(payload)) + put_varint(rowid) + payload


def coverage(page, info):
    """Bytes of the content area not covered by a cell or freeblock, and overlap (SQLite's check)."""
    data = page.data
    hdr = info.hdr
    spans = [(off, off + cell_size(data, off, info.ptype, USABLE)) for off in info.ptrs]
    blk = U16.unpack_from(data, hdr + 1)[0]
    while blk:
        spans.append((blk, blk + U16.unpack_from(data, blk + 2)[0]))
        blk = U16.unpack_from(data, blk)[0]
    spans.sort()
    top = U16.unpack_from(data, hdr + 5)[0] or 65536
    gaps = 0
    prev = top
    for a, b in spans:
        assert a >= prev, "overlapping cells/freeblocks"
        gaps += a - prev
        prev = b
    return gaps + USABLE - prev


def check_page(page, model):
    info = decode_page(page)
    assert cells_of(page, info, USABLE) == model
    assert coverage(page, info) == page.data[info.hdr + 7]
    used = sum(max(4, len(c)) + 2 for c in model)
    assert free_space(page.data, info) == capacity(info.hdr, info.ptype, USABLE) - used
    return info


def test_random_inserts_and_drops_keep_cells_and_free_space_exact():
    rnd = random.Random(7)
    for pgno in (1, 2):
        page = Page(pgno, bytearray(USABLE))
        init_page(page, PAGE_TABLE_LEAF, USABLE)
        model = []
        rowids = []
        for step in range(3000):
            info = page.aux or decode_page(page)
            if model and (rnd.random() < 0.45 or len(model) > 40):
                i = rnd.randrange(len(model))
                info = drop_cell(page, info, i, USABLE)
                del model[i]
                del rowids[i]
            else:
                rowid = rnd.choice((step, -step))
                cell = table_cell(rowid, bytes(rnd.randrange(0, 60)))
                i = rnd.randint(0, len(model))
                new = insert_cell(page, info, i, cell, USABLE)
                if new is not None:
                    info = new
                    model.insert(i, cell + bytes(max(0, 4 - len(cell))))
                    rowids.insert(i, rowid)
            assert info.keys == rowids  # the cached view stays exact across edits
            check_page(page, model)


def test_random_replacements_in_place_keep_cells_free_space_and_view_exact():
    rnd = random.Random(11)
    outcomes = {"smaller": 0, "fragment": 0, "gap": 0, "refused": 0}
    for pgno in (1, 2):
        page = Page(pgno, bytearray(USABLE))
        init_page(page, PAGE_TABLE_LEAF, USABLE)
        model = []
        for step in range(4000):
            info = page.aux or decode_page(page)
            free_space(page.data, info)  # so replace_cell keeps info.free up to date
            r = rnd.random()
            if model and r < 0.5:
                i = rnd.randrange(len(model))
                rowid = info.keys[i]
                old = model[i]
                cell = table_cell(rowid, bytes([step & 0xFF]) * rnd.randrange(0, 60))
                padded = cell + bytes(max(0, 4 - len(cell)))
                before = bytes(page.data)
                first = U16.unpack_from(page.data, info.hdr + 1)[0]
                if replace_cell(page, info, i, cell, len(old)) is None:
                    outcomes["refused"] += 1
                    assert bytes(page.data) == before
                    continue
                outcomes["smaller" if len(old) - len(padded) >= 4 else "fragment" if len(padded) <= len(old)
                         else "gap"] += 1
                assert first == 0 or len(padded) <= len(old)  # the gap is only used with no freeblock
                model[i] = padded
            elif model and (r < 0.7 or len(model) > 40):
                i = rnd.randrange(len(model))
                drop_cell(page, info, i, USABLE)
                del model[i]
            else:
                cell = table_cell(step, bytes(rnd.randrange(0, 60)))
                i = rnd.randint(0, len(model))
                if insert_cell(page, info, i, cell, USABLE) is not None:
                    model.insert(i, cell + bytes(max(0, 4 - len(cell))))
            cached = page.aux
            fresh = check_page(page, model)
            assert (cached.ptrs, cached.keys) == (fresh.ptrs, fresh.keys)
            # None only after an insert that defragmented (a fresh decode counts it on demand).
            assert cached.free in (None, fresh.free)
    assert all(outcomes.values()), outcomes  # every branch of replace_cell ran


def test_replace_refuses_a_larger_cell_when_the_gap_lacks_room():
    page = Page(2, bytearray(USABLE))
    init_page(page, PAGE_TABLE_LEAF, USABLE)
    model = []
    for i in range(3):
        cell = table_cell(i, bytes(300))
        insert_cell(page, page.aux or decode_page(page), i, cell, USABLE)
        model.append(cell)
    info = page.aux
    before = bytes(page.data)
    assert replace_cell(page, info, 1, table_cell(1, bytes(400)), len(model[1])) is None
    assert bytes(page.data) == before
    small = table_cell(1, bytes(10))
    assert replace_cell(page, info, 1, small, len(model[1])) is info
    model[1] = small
    check_page(page, model)


def test_insert_reports_no_room_without_changing_the_page():
    page = Page(2, bytearray(USABLE))
    init_page(page, PAGE_TABLE_LEAF, USABLE)
    big = table_cell(1, bytes(600))
    assert insert_cell(page, decode_page(page), 0, big, USABLE) is not None
    before = bytes(page.data)
    assert insert_cell(page, decode_page(page), 1, table_cell(2, bytes(600)), USABLE) is None
    assert bytes(page.data) == before


def test_fragmented_page_is_defragmented_when_a_cell_needs_the_space():
    page = Page(2, bytearray(USABLE))
    init_page(page, PAGE_TABLE_LEAF, USABLE)
    model = []
    for i in range(30):
        cell = table_cell(i, bytes(25))
        insert_cell(page, page.aux or decode_page(page), i, cell, USABLE)
        model.append(cell)
    for i in range(0, 30, 2):
        drop_cell(page, page.aux or decode_page(page), i // 2 + (i % 2), USABLE)
    model = [c for k, c in enumerate(model) if k % 2]
    check_page(page, model)
    big = table_cell(100, bytes(300))
    assert insert_cell(page, page.aux or decode_page(page), len(model), big, USABLE) is not None
    model.append(big)
    check_page(page, model)


def test_defragment_packs_cells_at_the_end():
    page = Page(2, bytearray(USABLE))
    init_page(page, PAGE_INDEX_LEAF, USABLE)
    cells = [put_varint(len(r)) + r for r in (encode_record([f"k{i}", i]) for i in range(20))]
    for i, c in enumerate(cells):
        insert_cell(page, page.aux or decode_page(page), i, c, USABLE)
    for i in (3, 7, 11):
        drop_cell(page, page.aux or decode_page(page), i, USABLE)
        del cells[i]
    defragment(page, page.aux or decode_page(page), USABLE)
    info = check_page(page, cells)
    assert page.data[1:3] == b"\0\0" and page.data[7] == 0
    assert min(info.ptrs) == U16.unpack_from(page.data, 5)[0]


def test_cell_sizes_and_payload_split_match_the_file_format():
    usable = 4096
    for ptype, is_table_leaf in ((PAGE_TABLE_LEAF, True), (PAGE_INDEX_LEAF, False), (PAGE_INDEX_INTERIOR, False)):
        for n in (0, 10, 1000, 4061, 4062, 5000, 100000):
            local = local_payload_size(is_table_leaf, n, usable)
            head = b"\0\0\0\x07" if ptype == PAGE_INDEX_INTERIOR else b""
            head += put_varint(n) + (put_varint(-5) if is_table_leaf else b"")
            cell = head + bytes(local) + (b"\0\0\0\x09" if local < n else b"")
            data = bytearray(usable)
            data[100:100 + len(cell)] = cell
            size, start, got_local, ovfl = parse_cell(data, 100, ptype, usable)
            assert (size, start, got_local, ovfl) == (n, 100 + len(head), local, 9 if local < n else 0)
            assert cell_size(data, 100, ptype, usable) == max(4, len(cell))
    data = bytearray(64)
    data[10:10 + 4 + 9] = b"\0\0\0\x02" + put_varint(-1)
    assert cell_size(data, 10, PAGE_TABLE_INTERIOR, 64) == 13


def test_build_page_writes_a_page_sqlite_reads(tmp_path):
    # A one-page table written by build_page into a database sqlite3 made: same rows back.
    path = tmp_path / "t.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size=1024")
    con.execute("CREATE TABLE t1(a, b)")
    con.commit()
    con.close()
    raw = bytearray(path.read_bytes())
    page = Page(2, bytearray(1024))
    rows = [(i, f"v{i}" * i) for i in range(1, 20)]
    cells = [table_cell(i, encode_record([i, v])) for i, v in rows]
    build_page(page, PAGE_TABLE_LEAF, cells, 0, 1024)
    assert isinstance(decode_page(page), PageInfo)
    raw[1024:2048] = page.data
    path.write_bytes(bytes(raw))
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert con.execute("SELECT a, b FROM t1").fetchall() == rows
    con.close()


def _chain(data, hdr):
    out = []
    blk = U16.unpack_from(data, hdr + 1)[0]
    while blk:
        out.append(blk)
        blk = U16.unpack_from(data, blk)[0]
    return out


def test_the_cached_freeblock_list_follows_the_chain_across_edits():
    # One PageInfo lives through thousands of edits, as on a page that stays cached: its
    # freeblock list must equal the chain in the bytes after every insert, drop and replace.
    rnd = random.Random(5)
    seen = {"blocks": 0, "merged into gap": 0, "cached": 0}
    for pgno in (1, 2):
        page = Page(pgno, bytearray(USABLE))
        init_page(page, PAGE_TABLE_LEAF, USABLE)
        model = []
        for step in range(6000):
            info = page.aux or decode_page(page)
            free_space(page.data, info)
            r = rnd.random()
            if model and r < 0.25:
                i = rnd.randrange(len(model))
                cell = table_cell(info.keys[i], bytes([step & 0xFF]) * rnd.randrange(0, 60))
                if replace_cell(page, info, i, cell, len(model[i])) is not None:
                    model[i] = cell + bytes(max(0, 4 - len(cell)))
            elif model and (r < 0.6 or len(model) > 45):
                i = rnd.randrange(len(model))
                top = U16.unpack_from(page.data, info.hdr + 5)[0]
                info = drop_cell(page, info, i, USABLE)
                del model[i]
                seen["merged into gap"] += U16.unpack_from(page.data, info.hdr + 5)[0] > top
            else:
                cell = table_cell(step, bytes(rnd.randrange(0, 60)))
                i = rnd.randint(0, len(model))
                new = insert_cell(page, info, i, cell, USABLE)
                if new is not None:
                    info = new
                    model.insert(i, cell + bytes(max(0, 4 - len(cell))))
            info = page.aux
            chain = _chain(page.data, info.hdr)
            assert info.fblocks is None or info.fblocks == chain
            seen["cached"] += info.fblocks is not None
            seen["blocks"] += len(chain)
            copy = Page(pgno, bytearray(page.data))
            fresh = check_page(copy, model)
            assert info.ptrs == fresh.ptrs
            # None only after an insert that defragmented (a fresh decode counts it on demand).
            assert info.free in (None, fresh.free)
    assert seen["blocks"] > 10000 and seen["merged into gap"] > 100 and seen["cached"] > 10000, seen


def test_a_drop_that_lists_the_freeblocks_first_keeps_the_free_count_exact():
    # The first drop on a freshly decoded page walks the chain mid-edit (its pointer is
    # already gone): the free count must take the cell and its pointer once.
    page = Page(2, bytearray(USABLE))
    init_page(page, PAGE_TABLE_LEAF, USABLE)
    model = []
    info = page.aux or decode_page(page)
    for k in range(20):
        cell = table_cell(k, bytes(10 + k))
        info = insert_cell(page, info, k, cell, USABLE)
        model.append(cell)
    info = drop_cell(page, info, 5, USABLE)  # leaves a freeblock
    del model[5]
    for i in (3, 10, 0):
        fresh = decode_page(page)
        assert fresh.free is None and fresh.fblocks is None
        free_space(page.data, fresh)
        info = decode_page(page)  # no count yet: the drop lists the chain itself
        info = drop_cell(page, info, i, USABLE)
        del model[i]
        assert info.free in (None, check_page(Page(2, bytearray(page.data)), model).free)
        if info.free is not None:
            assert info.free == free_space(page.data, decode_page(Page(2, bytearray(page.data))))
