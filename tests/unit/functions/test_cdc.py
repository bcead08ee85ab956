"""The CDC SQL functions on their own: record decoding to JSON, column lists, internal names."""

import json
import math

import pytest
from hypothesis import given, settings, strategies as st

import limbodb
from limbodb.errors import OperationalError
from limbodb.functions.cdc import bin_record_json_object
from limbodb.storage.record import encode_record

values = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1),
                   st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))


@settings(max_examples=150, deadline=None)
@given(st.lists(values, min_size=1, max_size=8))
def test_record_decodes_to_the_json_object_of_its_values(row):
    names = [f"c{i}" for i in range(len(row))]
    obj = json.loads(bin_record_json_object(json.dumps(names), encode_record(row)))
    assert list(obj) == names
    for got, want in zip(obj.values(), row):
        if isinstance(want, float):
            assert got == want and math.copysign(1, got) == math.copysign(1, want)
        else:
            assert got == want and type(got) is type(want)


def test_blob_values_and_short_records_are_refused():
    with pytest.raises(OperationalError, match="BLOB values"):
        bin_record_json_object('["a"]', encode_record([b"\x00"]))
    with pytest.raises(OperationalError, match="fewer columns"):
        bin_record_json_object('["a","b"]', encode_record([1]))
    with pytest.raises(OperationalError, match="malformed binary record"):
        bin_record_json_object('["a"]', b"\x02\x10")
    assert bin_record_json_object('["a"]', None) is None


def test_table_columns_and_internal_functions_from_sql():
    conn = limbodb.connect(":memory:")
    conn.execute('CREATE TABLE t (a, "b""q" TEXT, c)')
    assert conn.execute("SELECT table_columns_json_array('t')").fetchone() == ('["a","b\\"q","c"]',)
    with pytest.raises(limbodb.OperationalError, match="table nope doesn't exists"):
        conn.execute("SELECT table_columns_json_array('nope')")
    for call in ("conn_txn_id(1)", "is_autocommit()"):
        with pytest.raises(limbodb.OperationalError, match="internal function used by CDC"):
            conn.execute(f"SELECT {call}")
