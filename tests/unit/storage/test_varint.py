"""Varints, page constants and payload spill sizes (limbodb.storage.ondisk)."""

import sqlite3

import pytest

from limbodb.storage import ondisk
from limbodb.storage.ondisk import (
    get_varint,
    get_varint_signed,
    local_payload_size,
    overflow_page_count,
    put_varint,
    varint_len,
)

# (value, encoded length): each boundary where the encoding grows by a byte.
BOUNDARIES = [
    (0, 1), (127, 1), (128, 2), (240, 2), (2287, 2), (16383, 2), (16384, 3),
    (67823, 3), (2**21 - 1, 3), (2**21, 4), (2**28 - 1, 4), (2**28, 5),
    (2**35 - 1, 5), (2**35, 6), (2**42 - 1, 6), (2**42, 7), (2**49 - 1, 7),
    (2**49, 8), (2**56 - 1, 8), (2**56, 9), (2**63 - 1, 9), (2**64 - 1, 9),
]


@pytest.mark.parametrize("value,length", BOUNDARIES)
def test_varint_round_trips_at_each_length_boundary(value, length):
    enc = put_varint(value)
    assert len(enc) == length == varint_len(value)
    assert get_varint(enc, 0) == (value, length)
    # Decoding at an offset, inside a larger buffer, reads only the varint.
    assert get_varint(b"\xff\xff" + enc + b"\xff", 2) == (value, length)


def test_varint_known_encodings_match_sqlite_spec():
    assert put_varint(0x7F) == b"\x7f"
    assert put_varint(0x80) == b"\x81\x00"
    assert put_varint(0x3FFF) == b"\xff\x7f"
    # Nine bytes: the last byte holds a full 8 bits.
    assert put_varint(2**64 - 1) == b"\xff" * 9
    assert put_varint(2**56) == b"\x80\xc0" + b"\x80" * 6 + b"\x00"


@pytest.mark.parametrize("rowid", [-1, -2, -(2**63), -(2**31), -128])
def test_negative_rowids_round_trip_as_nine_byte_varints(rowid):
    enc = put_varint(rowid)
    assert len(enc) == 9 == varint_len(rowid)
    assert get_varint(enc, 0) == (rowid & (2**64 - 1), 9)
    assert get_varint_signed(enc, 0) == (rowid, 9)


def test_signed_read_of_positive_values_is_unchanged():
    for v in (0, 1, 2**63 - 1):
        assert get_varint_signed(put_varint(v), 0) == (v, varint_len(v))


def test_varint_reads_from_memoryview_and_bytearray():
    enc = put_varint(123456789)
    assert get_varint(memoryview(enc), 0) == (123456789, len(enc))
    assert get_varint(bytearray(enc), 0) == (123456789, len(enc))


def test_page_header_structs_have_sqlite_sizes():
    assert ondisk.LEAF_HEADER.size == ondisk.header_size(ondisk.PAGE_TABLE_LEAF) == 8
    assert ondisk.INTERIOR_HEADER.size == ondisk.header_size(ondisk.PAGE_INDEX_INTERIOR) == 12
    assert ondisk.is_leaf(ondisk.PAGE_INDEX_LEAF) and not ondisk.is_leaf(ondisk.PAGE_TABLE_INTERIOR)


def test_spill_formulas_for_4096_byte_pages():
    u = 4096
    assert ondisk.max_local(True, u) == 4061
    assert ondisk.max_local(False, u) == 1002
    assert ondisk.min_local(u) == 489
    assert local_payload_size(True, 4061, u) == 4061
    assert local_payload_size(False, 1002, u) == 1002
    # Just over the limit: K = M + (P - M) % (U - 4) fits, so K bytes stay.
    assert local_payload_size(True, 4092 + 600, u) == 600
    assert local_payload_size(False, 4092 + 600, u) == 600
    # K too large: only M stays.
    assert local_payload_size(True, 4062, u) == 489
    assert local_payload_size(False, 1003, u) == 489
    assert overflow_page_count(True, 4061, u) == 0
    assert overflow_page_count(True, 10000, u) == 2


def _read_leaf_cells(path, page_size, pgno):
    """(payload size, rowid, local payload, first overflow pgno) of each cell on a table leaf."""
    with open(path, "rb") as f:
        data = f.read()
    page = data[(pgno - 1) * page_size:pgno * page_size]
    assert page[0] == ondisk.PAGE_TABLE_LEAF
    _, _, ncells, _, _ = ondisk.LEAF_HEADER.unpack_from(page, 0)
    cells = []
    for i in range(ncells):
        off = ondisk.U16.unpack_from(page, 8 + 2 * i)[0]
        size, n = get_varint(page, off)
        off += n
        rowid, n = get_varint_signed(page, off)
        off += n
        local = local_payload_size(True, size, page_size)
        ovfl = ondisk.U32.unpack_from(page, off + local)[0] if local < size else 0
        cells.append((size, rowid, page[off:off + local], ovfl, data))
    return cells


@pytest.mark.parametrize("blob_len", [100, 4061 - 4, 4062, 5000, 8190, 20000])
def test_local_payload_size_matches_sqlite_overflow_layout(tmp_path, blob_len):
    # sqlite3 writes a row whose payload spills; following our local size and the overflow
    # chain must give back exactly the payload sqlite3 stored.
    path = tmp_path / "t.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size=4096")
    con.execute("CREATE TABLE t1(a)")
    blob = bytes(range(256)) * (blob_len // 256 + 1)
    blob = blob[:blob_len]
    con.execute("INSERT INTO t1 VALUES(?)", (blob,))
    con.commit()
    con.close()
    ((size, rowid, local, ovfl, data),) = _read_leaf_cells(path, 4096, 2)
    assert rowid == 1
    payload = bytes(local)
    while ovfl:
        page = data[(ovfl - 1) * 4096:ovfl * 4096]
        ovfl = ondisk.U32.unpack_from(page, 0)[0]
        payload += page[4:4 + min(4092, size - len(payload))]
    assert len(payload) == size
    assert payload.endswith(blob)
    assert overflow_page_count(True, size, 4096) == len(data) // 4096 - 2


def test_negative_rowid_cell_written_by_sqlite_decodes(tmp_path):
    path = tmp_path / "t.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size=4096")
    con.execute("CREATE TABLE t1(a)")
    con.executemany("INSERT INTO t1(rowid, a) VALUES(?, 1)", [(-(2**63),), (-5,), (2**63 - 1,)])
    con.commit()
    con.close()
    assert [c[1] for c in _read_leaf_cells(path, 4096, 2)] == [-(2**63), -5, 2**63 - 1]


@pytest.mark.parametrize("blob_len", [500, 990, 1100, 3000, 9000])
def test_index_local_payload_size_matches_sqlite(tmp_path, blob_len):
    # The index on t1(a) lives on page 3; its single cell holds the record (a, rowid), spilling
    # by the index formula. Our local size plus the overflow chain must rebuild that record.
    from limbodb.storage.record import decode_record

    path = tmp_path / "t.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size=4096")
    con.execute("CREATE TABLE t1(a)")
    con.execute("CREATE INDEX i1 ON t1(a)")
    blob = bytes(range(256)) * (blob_len // 256 + 1)
    blob = blob[:blob_len]
    con.execute("INSERT INTO t1 VALUES(?)", (blob,))
    con.commit()
    (root,) = con.execute("SELECT rootpage FROM sqlite_schema WHERE name='i1'").fetchone()
    con.close()
    data = path.read_bytes()
    page = data[(root - 1) * 4096:root * 4096]
    assert page[0] == ondisk.PAGE_INDEX_LEAF
    off = ondisk.U16.unpack_from(page, 8)[0]
    size, n = get_varint(page, off)
    off += n
    local = local_payload_size(False, size, 4096)
    payload = page[off:off + local]
    ovfl = ondisk.U32.unpack_from(page, off + local)[0] if local < size else 0
    while ovfl:
        opage = data[(ovfl - 1) * 4096:ovfl * 4096]
        ovfl = ondisk.U32.unpack_from(opage, 0)[0]
        payload += opage[4:4 + min(4092, size - len(payload))]
    assert decode_record(payload) == [blob, 1]
