"""Differential tests of the JSON functions against sqlite3 (3.40 json1)."""

import json as pyjson
import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

from limbodb.errors import Error
from limbodb.functions import FUNCTIONS


@pytest.fixture(scope="module")
def db():
    conn = sqlite3.connect(":memory:")
    yield conn
    conn.close()


def call(name, *args):
    return FUNCTIONS.lookup(name, len(args)).fn(*args)


def check(db, name, *args):
    if name in ("->", "->>"):
        sql = f"SELECT ? {name} ?"
    else:
        sql = f"SELECT {name}({', '.join('?' * len(args))})"
    try:
        expect = db.execute(sql, args).fetchone()[0]
    except sqlite3.Error as e:
        with pytest.raises(Error) as info:
            call(name, *args)
        assert str(info.value) == str(e), f"{name}{args!r}"
        return
    got = call(name, *args)
    assert got == expect and type(got) is type(expect), f"{name}{args!r}: limbodb {got!r} sqlite3 {expect!r}"


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False,
                         allow_infinity=False), st.text(max_size=4))
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(["a", "b", "c d", "é", ""]), children, max_size=3)),
    max_leaves=8,
)
json_texts = st.one_of(
    json_values.map(pyjson.dumps),
    json_values.map(lambda v: pyjson.dumps(v, indent=1, ensure_ascii=False)),
    # RFC 8259 texts and texts no SQLite reads; JSON5 (3.42+, which 3.40 rejects) is tested
    # against apsw in test_json5_vs_apsw.py.
    st.sampled_from(['{"a":1,"a":2}', '[1,,]', '{"a":1,,}', '01', '-0', '1..', '..5', '1e5', '1E+2', '-1.5e-3', 'tru',
                     'true1', '"\\u0041\\ud83d\\ude00"', '"\\x"', '"a\\u0000b"', ' [ ] ', '{}', '', 'null', '"\x00"',
                     '[1,2,[3,{"x":[4]}]]', '{"a b":{"c":[1,{"d":null}]}}', '99999999999999999999',
                     '9223372036854775807', '-9223372036854775809', '"\\"\\\\\\/\\b\\f\\n\\r\\t"', '1 2']),
)
paths = st.sampled_from(["$", "$.a", "$.b", '$."c d"', "$.é", "$[0]", "$[1]", "$[2]", "$[#]", "$[#-1]", "$[#-5]",
                         "$.a[0]", "$.a.b", "$.a[1].x", "a", "$.", "$[", "$[x]", '$."a', "$[0].a", "$.x.y", None,
                         "$[0][0]", "$.a[#]"])
sql_values = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False), st.text(max_size=4),
                       st.sampled_from(['[1,2]', '{"k":true}', b"\xff"]))  # not JSONB (3.45+ embeds JSONB)


@settings(max_examples=300, deadline=None)
@given(json_texts, paths)
def test_read_functions_match_sqlite(db, text, path):
    check(db, "json", text)
    check(db, "json_valid", text)
    check(db, "json_type", text)
    check(db, "json_array_length", text)
    check(db, "json_extract", text, path)
    check(db, "json_extract", text, path, "$[0]")
    check(db, "json_type", text, path)
    check(db, "json_array_length", text, path)
    check(db, "->", text, path)
    check(db, "->>", text, path)


@settings(max_examples=300, deadline=None)
@given(json_texts, paths, sql_values, paths, sql_values)
def test_edit_functions_match_sqlite(db, text, p1, v1, p2, v2):
    for name in ("json_set", "json_insert", "json_replace"):
        check(db, name, text, p1, v1)
        check(db, name, text, p1, v1, p2, v2)
    check(db, "json_remove", text, p1)
    check(db, "json_remove", text, p1, p2)


@settings(max_examples=200, deadline=None)
@given(json_texts, json_texts)
def test_json_patch_matches_sqlite(db, a, b):
    check(db, "json_patch", a, b)


@settings(max_examples=200, deadline=None)
@given(st.lists(sql_values, max_size=4))
def test_constructors_match_sqlite(db, values):
    check(db, "json_array", *values)
    check(db, "json_quote", values[0] if values else None)
    keys = [v if i % 2 == 0 else v for i, v in enumerate(values)]
    check(db, "json_object", *keys)
    check(db, "json_object", *[x for v in values for x in ("k", v)])


def test_arrow_operators_accept_abbreviated_paths(db):
    for path in ["a", "0", 1, "[1]", "$.a", "$[0]", -1, "$", "c d", '"a"']:
        for text in ['{"a":[1,2],"0":3,"c d":4}', "[10,20]", '"s"']:
            check(db, "->", text, path)
            check(db, "->>", text, path)


def test_nested_json_results_are_not_quoted(db):
    expect = db.execute("SELECT json_array(json('[1, 2]'), json_object('a', json_array(1, 'x')), "
                        "json_extract('{\"b\":{\"c\":1}}', '$.b'), '[3]', json_quote('q'))").fetchone()[0]
    got = call("json_array", call("json", "[1, 2]"), call("json_object", "a", call("json_array", 1, "x")),
               call("json_extract", '{"b":{"c":1}}', "$.b"), "[3]", call("json_quote", "q"))
    assert got == expect
    expect = db.execute("SELECT json_set('{}', '$.a', json('[1]'), '$.b', '[2]')").fetchone()[0]
    assert call("json_set", "{}", "$.a", call("json", "[1]"), "$.b", "[2]") == expect


def test_group_aggregates_match_sqlite(db):
    db.execute("CREATE TABLE jt(k, v)")
    rows = [("a", 1), ("b", None), ("c", "x"), (None, 2.5), ("d", '{"z":1}')]
    db.executemany("INSERT INTO jt VALUES (?, ?)", rows)
    for sql, name, nargs in (("json_group_array(v)", "json_group_array", 1),
                             ("json_group_object(k, v)", "json_group_object", 2)):
        expect = db.execute(f"SELECT {sql} FROM jt").fetchone()[0]
        acc = FUNCTIONS.lookup(name, nargs).fn()
        for row in rows:
            acc.step(*row[2 - nargs:] if nargs == 1 else row)
        assert acc.finalize() == expect
    assert FUNCTIONS.lookup("json_group_array", 1).fn().finalize() == "[]"


def test_json_argument_text_is_not_marked_as_json(db):
    text = '"abc"'
    assert call("json", text) == text
    expect = db.execute("SELECT json_array(?)", (text,)).fetchone()[0]
    assert call("json_array", text) == expect == '["\\"abc\\""]'
