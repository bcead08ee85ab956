"""Hypothesis: varint/record round-trips, byte equality with sqlite3, and sqlite3's ORDER BY."""

import functools
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from limbodb.storage import ondisk
from limbodb.storage.ondisk import get_varint, get_varint_signed, put_varint, varint_len
from limbodb.storage.record import (
    KeyInfo,
    Record,
    compare_record,
    compare_records,
    compare_values,
    decode_record,
    encode_record,
)

I64 = st.integers(-(2**63), 2**63 - 1)
INTS = st.one_of(
    I64,
    st.integers(-300, 300),
    st.sampled_from([2**63 - 1, 2**63 - 2, -(2**63), -(2**63) + 1, 2**53, 2**53 + 1, -(2**53) - 1]),
)
FLOATS = st.one_of(
    st.floats(allow_nan=False),
    st.sampled_from([2.0**63, -(2.0**63), 9.223372036854775e18, 2.0**53, -0.0, 0.5, 1.0]),
)
# Case pairs, spaces, NUL and non-ASCII exercise NOCASE and RTRIM; the wide alphabet the rest.
TEXTS = st.one_of(
    st.text(alphabet="aAbBzZ _\x00é\u00c9", max_size=5),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=6),
)
BLOBS = st.binary(max_size=6)
VALUES = st.one_of(st.none(), INTS, FLOATS, TEXTS, BLOBS)


def _same(a, b):
    return [(type(x), x) for x in a] == [(type(y), y) for y in b]


@given(st.integers(0, 2**64 - 1))
def test_varint_round_trips(v):
    enc = put_varint(v)
    assert len(enc) == varint_len(v)
    assert get_varint(enc, 0) == (v, len(enc))


@given(I64)
def test_signed_varint_round_trips(v):
    assert get_varint_signed(put_varint(v), 0) == (v, varint_len(v))


@given(st.lists(VALUES, max_size=12))
def test_record_round_trips(values):
    payload = encode_record(values)
    assert _same(decode_record(payload), values)
    rec = Record(payload)
    assert rec.ncols == len(values)
    for i in reversed(range(len(values))):
        assert _same([rec.column(i)], [values[i]])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(VALUES, min_size=3, max_size=3), min_size=1, max_size=8))
def test_records_equal_sqlite_bytes(rows):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "t.db"
        con = sqlite3.connect(path)
        con.execute("PRAGMA page_size=4096")
        con.execute("CREATE TABLE t1(a, b, c)")
        con.executemany("INSERT INTO t1 VALUES(?, ?, ?)", rows)
        con.commit()
        con.close()
        page = path.read_bytes()[4096:8192]
    ncells = ondisk.U16.unpack_from(page, ondisk.HDR_NCELLS)[0]
    assert ncells == len(rows)
    for i, row in enumerate(rows):
        off = ondisk.U16.unpack_from(page, ondisk.LEAF_HEADER_SIZE + 2 * i)[0]
        size, n = get_varint(page, off)
        off += n
        off += get_varint(page, off)[1]
        assert encode_record(row) == page[off:off + size]


def _sqlite_order(values, collation, desc=False):
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t1(a)")
    con.executemany("INSERT INTO t1 VALUES(?)", [(v,) for v in values])
    order = "DESC" if desc else "ASC"
    rows = con.execute(f"SELECT a FROM t1 ORDER BY a COLLATE {collation} {order}, rowid").fetchall()
    con.close()
    return [r[0] for r in rows]


@settings(max_examples=150)
@given(st.lists(VALUES, max_size=20), st.sampled_from(["BINARY", "NOCASE", "RTRIM"]))
def test_compare_values_orders_like_sqlite(values, collation):
    key = functools.cmp_to_key(lambda a, b: compare_values(a, b, collation))
    assert _same(sorted(values, key=key), _sqlite_order(values, collation))


@settings(max_examples=100)
@given(
    st.lists(st.tuples(VALUES, VALUES), max_size=15),
    st.sampled_from(["BINARY", "NOCASE", "RTRIM"]),
    st.booleans(),
    st.booleans(),
)
def test_index_records_order_like_sqlite(pairs, collation, desc_a, desc_b):
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t1(a, b)")
    con.executemany("INSERT INTO t1 VALUES(?, ?)", pairs)
    order = (f"a COLLATE {collation} {'DESC' if desc_a else 'ASC'}, "
             f"b {'DESC' if desc_b else 'ASC'}, rowid")
    expect = con.execute(f"SELECT a, b, rowid FROM t1 ORDER BY {order}").fetchall()
    con.close()
    ki = KeyInfo([collation, None, None], [desc_a, desc_b, False])
    records = [encode_record([a, b, rowid]) for rowid, (a, b) in enumerate(pairs, 1)]
    got = sorted(records, key=functools.cmp_to_key(lambda x, y: compare_records(x, y, ki)))
    assert _same([v for r in got for v in decode_record(r)], [v for row in expect for v in row])
    for r in records:
        a, b, rowid = decode_record(r)
        assert compare_record(r, [a, b], ki) == 0
        assert compare_record(r, [a, b, rowid], ki) == 0
