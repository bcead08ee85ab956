"""Record encoding/decoding against sqlite3's bytes, lazy columns, and value order."""

import math
import sqlite3

import pytest

from limbodb.errors import CorruptError, OperationalError
from limbodb.storage.record import (
    COLLATIONS,
    KeyInfo,
    Record,
    compare_record,
    compare_records,
    compare_values,
    decode_record,
    encode_record,
    real_storage_value,
)

from .sqlite_pages import sqlite_records

INTS = [0, 1, -1, 2, 127, 128, -128, -129, 32767, 32768, -32768, -32769, 2**23 - 1, 2**23,
        -(2**23), -(2**23) - 1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**47 - 1, 2**47,
        -(2**47), -(2**47) - 1, 2**63 - 1, -(2**63)]
FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 1e308, -1e-308, 5e-324, math.inf, -math.inf, 2.0**63]
TEXTS = ["", "a", "héllo wörld", "日本語", "\U0001f600", "x" * 200, "nul\x00inside"]
BLOBS = [b"", b"\x00", b"\xff" * 3, bytes(range(256))]


@pytest.mark.parametrize("value", INTS + FLOATS + TEXTS + BLOBS + [None])
def test_single_value_record_equals_sqlite_bytes(tmp_path, value):
    (raw,) = sqlite_records(tmp_path, "a", [(value,)])
    assert encode_record([value]) == raw
    (back,) = decode_record(raw)
    assert type(back) is type(value) and (back == value or back is value)
    if isinstance(value, float):
        assert math.copysign(1.0, back) == math.copysign(1.0, value)


def test_mixed_rows_equal_sqlite_bytes(tmp_path):
    rows = [tuple((INTS + FLOATS + TEXTS + BLOBS + [None])[(i * 7 + j) % 49] for j in range(6))
            for i in range(30)]
    raws = sqlite_records(tmp_path, "a, b, c, d, e, f", rows)
    for row, raw in zip(rows, raws):
        assert encode_record(row) == raw
        assert decode_record(raw) == list(row)


def test_wide_record_with_multibyte_header_equals_sqlite_bytes(tmp_path):
    # 150 columns make the header larger than 127 bytes, so its size is a 2-byte varint;
    # a 100-char text needs a 2-byte serial type.
    row = tuple(["x" * 100] + list(range(149)))
    (raw,) = sqlite_records(tmp_path, ", ".join(f"c{i}" for i in range(150)), [row])
    assert encode_record(row) == raw
    assert Record(raw).ncols == 150
    assert decode_record(raw) == list(row)


def test_real_affinity_storage_matches_sqlite(tmp_path):
    values = [1.0, 2.5, -3.0, 0.0, -0.0, 7, 2**47 - 1, 2**47, -(2**47), -(2**47) - 1,
              float(2**47), float(2**47 - 1), 1e20, 2**60]
    raws = sqlite_records(tmp_path, "a REAL", [(v,) for v in values])
    for v, raw in zip(values, raws):
        assert encode_record([real_storage_value(v)]) == raw, v


def test_bool_and_subclasses_encode_as_their_base_types():
    assert encode_record([True, False]) == encode_record([1, 0])
    assert encode_record([bytearray(b"ab"), memoryview(b"cd")]) == encode_record([b"ab", b"cd"])


def test_nan_is_stored_as_null_and_huge_ints_are_rejected():
    assert encode_record([math.nan]) == encode_record([None])
    with pytest.raises(OverflowError):
        encode_record([2**63])
    with pytest.raises(TypeError):
        encode_record([object()])


def test_record_columns_and_serial_types():
    rec = Record(encode_record([None, 0, 1, 300, 1.5, "ab", b"xyz"]))
    assert rec.ncols == 7
    assert [rec.serial_type(i) for i in range(7)] == [0, 8, 9, 2, 7, 17, 18]
    assert rec.column(3) == 300 and rec.column(5) == "ab" and rec.column(6) == b"xyz"
    assert rec.values() == [None, 0, 1, 300, 1.5, "ab", b"xyz"]


def test_columns_past_the_end_read_as_null():
    rec = Record(encode_record([1, 2]))
    assert rec.column(2) is None and rec.column(50) is None
    assert rec.serial_type(9) == 0


def test_record_reads_memoryview_and_bytearray_payloads():
    payload = encode_record([-5, "t", b"b", 2.25, 2**40])
    for p in (memoryview(payload), bytearray(payload), memoryview(b"??" + payload)[2:]):
        assert Record(p).values() == [-5, "t", b"b", 2.25, 2**40]
        assert decode_record(p) == [-5, "t", b"b", 2.25, 2**40]


def test_invalid_utf8_text_decodes_without_error_and_reencodes_exactly():
    body = b"ok\xff\xfe\xc3"
    payload = bytes([2, 13 + 2 * len(body)]) + body
    text = Record(payload).column(0)
    assert text.startswith("ok")
    assert encode_record([text]) == payload


def test_reserved_serial_types_read_as_null():
    assert decode_record(bytes([3, 10, 11])) == [None, None]


def test_empty_payload_has_no_columns():
    assert Record(b"").ncols == 0 and decode_record(b"") == []


@pytest.mark.parametrize("payload", [
    bytes([5, 1]),                 # header longer than the payload
    bytes([2, 6, 0, 0]),           # 8-byte int body cut short
    bytes([3, 0x81]),              # header size beyond the payload
    bytes([3, 0, 0x81]),           # serial type varint running off the payload
    bytes([2, 0x81, 0x00]),        # serial type varint running past the header
    bytes([0]),                    # header size smaller than itself
])
def test_malformed_records_raise_corrupt(payload):
    with pytest.raises(CorruptError):
        Record(payload).values()


class _SliceLog(bytes):
    """A payload that records which body byte ranges were sliced out of it."""

    def __getitem__(self, key):
        hsize = bytes.__getitem__(self, 0)
        if isinstance(key, slice) and key.start is not None and key.start >= hsize:
            self.log.append((key.start, key.stop))
        return bytes.__getitem__(self, key)


def test_column_access_decodes_only_that_column():
    values = ["first", b"second", "third" * 10, 2**40]
    payload = _SliceLog(encode_record(values))
    payload.log = []
    rec = Record(payload)
    assert rec.column(2) == "third" * 10
    hsize = payload[0]
    start = hsize + len("first") + len(b"second")
    assert payload.log == [(start, start + 50)]
    payload.log.clear()
    assert rec.column(1) == b"second"
    assert payload.log == [(hsize + 5, hsize + 11)]


def test_cached_header_still_rejects_a_truncated_body():
    payload = encode_record([2**40, "abc"])
    assert decode_record(payload) == [2**40, "abc"]
    with pytest.raises(CorruptError):
        decode_record(payload[:-1])


def test_header_is_parsed_once():
    rec = Record(encode_record([1, "a", b"b"]))
    rec.column(0)
    types = rec._types
    rec.column(2)
    rec.values()
    assert rec._types is types


# --- Order --------------------------------------------------------------------------------


def test_storage_classes_order_null_numbers_text_blob():
    ordered = [None, -(2**63), -1.5, 0, 0.5, 1, 2**63 - 1, math.inf, "", "A", "a", b"", b"\x00"]
    for i, a in enumerate(ordered):
        for j, b in enumerate(ordered):
            assert compare_values(a, b) == (i > j) - (i < j), (a, b)


def test_int_float_comparison_is_exact_near_2_63():
    big = 2**63 - 1
    assert compare_values(big, 2.0**63) == -1
    assert compare_values(2.0**63, big) == 1
    assert compare_values(2**53 + 1, float(2**53)) == 1
    assert compare_values(float(2**53), 2**53 + 1) == -1
    assert compare_values(2**53, float(2**53)) == 0
    assert compare_values(-(2**63), -(2.0**63)) == 0
    assert compare_values(3, 3.5) == -1


def test_binary_text_orders_by_utf8_bytes_even_for_invalid_utf8():
    # "\udcff" is the escaped byte 0xff, which sorts after every valid UTF-8 lead byte.
    invalid = Record(bytes([2, 15, 0xFF])).column(0)
    assert compare_values(invalid, "\uffff") == 1
    assert compare_values(invalid + "é", "\U0001f600") == 1
    assert compare_values("é", "\U0001f600") == -1


def test_nocase_folds_only_ascii():
    assert compare_values("ABC", "abc", "NOCASE") == 0
    assert compare_values("É", "é", "nocase") != 0
    assert compare_values("_", "A", "NOCASE") == -1  # 'A' folds to 0x61, after '_'
    assert compare_values("_", "A") == 1


@pytest.mark.parametrize("a,b", [
    ("a\x00b", "a\x00c"), ("a\x00b", "a\x00cc"), ("A\x00z", "a\x00b"), ("a\x00", "b"),
    ("\x00", "\x00x"), ("ab", "a\x00"), ("é\x00b", "é\x00a"),
])
def test_nocase_stops_at_nul_like_sqlite(a, b):
    # sqlite3StrNICmp stops at a NUL in the left string; only the lengths decide after it.
    con = sqlite3.connect(":memory:")
    sql = "SELECT ? < ? COLLATE NOCASE, ? = ? COLLATE NOCASE"
    lt, eq = con.execute(sql, (a, b, a, b)).fetchone()
    con.close()
    assert compare_values(a, b, "NOCASE") == (0 if eq else -1 if lt else 1)


def test_rtrim_ignores_only_trailing_spaces():
    assert compare_values("abc  ", "abc", "RTRIM") == 0
    assert compare_values(" abc", "abc", "RTRIM") == -1
    assert compare_values("abc\t", "abc", "RTRIM") == 1


def test_user_collation_registered_by_any_case_name():
    COLLATIONS["Reverse_Test"] = lambda a, b: (a < b) - (a > b)
    try:
        assert compare_values("a", "b", "REVERSE_TEST") == 1
        ki = KeyInfo(["reverse_test"], [False])
        assert compare_record(encode_record(["a", 1]), ["b"], ki) == 1
    finally:
        del COLLATIONS["REVERSE_TEST"]
    assert "reverse_test" not in COLLATIONS
    COLLATIONS["tmp_test"] = lambda a, b: 0
    assert COLLATIONS.pop("Tmp_Test") is not None and COLLATIONS.pop("TMP_TEST", None) is None


def test_unknown_collation_is_reported_like_sqlite():
    with pytest.raises(OperationalError, match="no such collation sequence: nope"):
        compare_record(encode_record(["a"]), ["a"], KeyInfo(["nope"]))


def test_compare_record_prefix_desc_and_collation():
    payload = encode_record(["Abc", 5, 100])
    ki = KeyInfo(["NOCASE", None, None], [False, True, False])
    assert compare_record(payload, ["abc"], ki) == 0
    assert compare_record(payload, ["abd"], ki) == -1
    assert compare_record(payload, ["abc", 4], ki) == -1  # DESC reverses 5 > 4
    assert compare_record(payload, ["abc", 5, 100], ki) == 0
    assert compare_record(payload, ["abc", 5, 101], ki) == -1
    assert compare_record(Record(payload), ["abc", 6], ki) == 1
    assert compare_record(payload, [], ki) == 0


def test_compare_record_stops_at_first_difference():
    payload = _SliceLog(encode_record([1, "never decoded"]))
    payload.log = []
    assert compare_record(payload, [2, "x"], KeyInfo([None, None])) == -1
    assert payload.log == []


def test_compare_records_uses_key_info():
    ki = KeyInfo(["RTRIM", None], [False, True])
    a = encode_record(["x  ", 1])
    b = encode_record(["x", 2])
    assert compare_records(a, b, ki) == 1
    assert compare_records(b, a, ki) == -1
    assert compare_records(a, encode_record(["x", 1, 99]), ki) == 0
    assert compare_records(Record(a), Record(a), KeyInfo([])) == 0
