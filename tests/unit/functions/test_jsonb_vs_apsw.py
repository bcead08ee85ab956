"""JSONB (SQLite 3.45+) against apsw, which bundles a current SQLite: the stdlib sqlite3 (3.40) has no JSONB.

Blobs are compared byte for byte (hex), so header sizes and element types
(TEXT, TEXTJ, TEXTRAW, INT, FLOAT) must match SQLite's. Inputs are RFC 8259
JSON here; JSON5 input (INT5, FLOAT5, TEXT5) is in test_json5_vs_apsw.py.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .apsw_oracle import connections, run_both


@pytest.fixture(scope="module")
def dbs():
    return connections()


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=4))
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(["a", "b", "c d", "é", ""]), children, max_size=3)),
    max_leaves=8)
json_texts = st.one_of(
    json_values.map(lambda v: __import__("json").dumps(v, ensure_ascii=False)),
    # Unescaped labels only: 3.45+ matches path keys to decoded labels, limbodb (like 3.40) to raw ones.
    json_values.map(lambda v: __import__("json").dumps(v, indent=1, ensure_ascii=False)),
    st.sampled_from(['1.0', '-0', '1e5', '1E+2', '-1.5e-3', '"a\\u0041\\n"', '"\\"q\\""', '[1, [2, [3]]]',
                     '{"a":{"b":{"c":[1,2,{"d":null}]}}}', '"' + "x" * 300 + '"', "[" + ",".join(["1"] * 100) + "]"]))
paths = st.sampled_from(["$", "$.a", "$.b", '$."c d"', "$.é", "$[0]", "$[1]", "$[#]", "$[#-1]", "$.a[0]",
                         "$.a.b", "$.a.b.c[2].d", "$[1][0]", "$.new"])
# Reals are quarters: SQLite 3.40 and 3.45+ render other reals differently (%.15g vs shortest round trip).
sql_values = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1), st.integers(-10**6, 10**6).map(lambda i: i / 4),
                       st.text(max_size=4), st.sampled_from(['x"y', "tab\there", "é"]))


@settings(max_examples=150, deadline=None)
@given(json_texts)
def test_jsonb_encodes_like_sqlite_and_round_trips(dbs, text):
    run_both(dbs, "SELECT hex(jsonb(?)), json(jsonb(?)), json_type(jsonb(?)), json_valid(jsonb(?))",
             (text, text, text, text))


@settings(max_examples=150, deadline=None)
@given(json_texts, paths)
def test_jsonb_extract_and_json_readers_on_jsonb_match_sqlite(dbs, text, path):
    run_both(dbs, "SELECT quote(jsonb_extract(?1, ?2)), json_extract(jsonb(?1), ?2), json_type(jsonb(?1), ?2), "
                  "json_array_length(jsonb(?1), ?2), json(jsonb(?1) -> ?2), jsonb(?1) ->> ?2", (text, path))


@settings(max_examples=150, deadline=None)
@given(json_texts, paths, sql_values, paths, sql_values)
def test_jsonb_editors_match_sqlite(dbs, text, p1, v1, p2, v2):
    # json_set() text of a replaced root is the value itself in 3.40 (limbodb's model), JSON text in 3.45+.
    reader = "json_{}(jsonb(?1), ?2, ?3, ?4, ?5)" if "$" not in (p1, p2) else "NULL"
    for fn in ("set", "insert", "replace"):
        run_both(dbs, f"SELECT hex(jsonb_{fn}(?1, ?2, ?3, ?4, ?5)), " + reader.format(fn), (text, p1, v1, p2, v2))
    run_both(dbs, "SELECT hex(jsonb_remove(?1, ?2)), json_remove(jsonb(?1), ?2)", (text, p1))


@settings(max_examples=100, deadline=None)
@given(json_texts, json_texts)
def test_jsonb_patch_matches_sqlite(dbs, target, patch):
    run_both(dbs, "SELECT hex(jsonb_patch(?1, ?2)), json_patch(jsonb(?1), jsonb(?2))", (target, patch))


@settings(max_examples=100, deadline=None)
@given(st.lists(sql_values, max_size=4))
def test_jsonb_constructors_match_sqlite(dbs, values):
    marks = ", ".join("?" * len(values))
    run_both(dbs, f"SELECT hex(jsonb_array({marks}))", values)
    pairs = [x for i, v in enumerate(values) for x in (f"k{i}", v)]
    run_both(dbs, f"SELECT hex(jsonb_object({', '.join('?' * len(pairs))}))", pairs)


def test_jsonb_aggregates_match_sqlite(dbs):
    for db in dbs:
        db.execute("CREATE TABLE t1(a, b)")
        db.execute("INSERT INTO t1 VALUES ('x', 1), ('y\"', 2.5), ('z', NULL), ('w', '[1]'), ('v', 'é')")
    run_both(dbs, "SELECT hex(jsonb_group_array(b)), hex(jsonb_group_object(a, b)) FROM t1")
    run_both(dbs, "SELECT hex(jsonb_group_array(json(b))) FROM t1 WHERE b = '[1]'")
    run_both(dbs, "SELECT json(jsonb_group_array(a) OVER (ORDER BY a ROWS 1 PRECEDING)) FROM t1")


def test_jsonb_blobs_nest_in_json_functions_like_sqlite(dbs):
    run_both(dbs, "SELECT json_array(jsonb('[1,2]'), jsonb('\"s\"')), json_object('a', jsonb('{\"b\":true}')), "
                  "hex(jsonb_array(jsonb('{}'), json('[3]'))), json_set('{}', '$.x', jsonb('[9]'))")
    run_both(dbs, "SELECT json_quote(jsonb('[1,\"a\"]')), json_group_array(jsonb('[1]')), "
                  "json_group_object('k', jsonb('2')), json_insert(jsonb('[1]'), '$[#]', jsonb('{}')), "
                  "json_patch('{}', jsonb('{\"a\":null,\"b\":2}'))")
    run_both(dbs, "SELECT key, value, type, atom FROM json_each(jsonb('{\"a\":1,\"b\":[2,\"c\"],\"d\":null}'))")
    run_both(dbs, "SELECT fullkey, type FROM json_tree(jsonb('{\"a\":{\"b\":[1,2]}}'))")


def test_blobs_that_are_not_jsonb_behave_like_sqlite(dbs):
    run_both(dbs, "SELECT json(x'3132'), json_valid(jsonb('1'))")
    run_both(dbs, "SELECT json(x'ff')")
    run_both(dbs, "SELECT json_array(x'ff')")
