"""JSON5 input (SQLite 3.42+) against apsw, which bundles a current SQLite (the stdlib's 3.40 rejects JSON5).

JSON5 text is accepted wherever JSON is and rendered as canonical JSON; jsonb() keeps
JSON5 spellings as INT5/FLOAT5/TEXT5 elements byte for byte as SQLite does;
json_valid(X, FLAGS) and json_error_position() report what SQLite reports, for text
(positions in characters) and for blobs (JSONB validity, positions in bytes).
"""

import random

import pytest

from .apsw_oracle import connections, run_both


@pytest.fixture(scope="module")
def dbs():
    return connections()


JSON5_TEXTS = [
    "{a:1}", "{'a':'b'}", "[1,2,]", '{"a":1,}', "/*c*/[1]//x\n", "[1]/* end */", "0x1F", "[0xff, -0x10, +0X1a]",
    "[Infinity,-Infinity,+Infinity,NaN]", "[inf, -INF, infinity, nan, QNaN, snan]", "[.5, 5., +3, -.5, +.5e1, 5.e-3]",
    "'a\\\nb'", "'a\\\r\nb'", "'a\\\u2028b'", "\u00a0[1]\ufeff", "[\x0b1\x0c]", "['\\x41']", '["\\v\\0"]',
    "{$a_b:1}", "{\\u0061b:1}", "{é:1}", "['a\"b']", '["\\\'"]', '["a\x01b"]', "{a\u00a0:1}",
    "[0xffffffffffffffff, 0x7fffffffffffffff, -0x8000000000000000]", "[0x1ffffffffffffffffff]",
    "{nullx:1, truey:2, falsez:3}", "[1 /* c */ , // d\n 2]", "{'k' /*x*/ : /*y*/ 'v' /*z*/ }",
]
MALFORMED = [
    "", " ", "[1] x", "1 x", "[1,,2]", '{"a" 1}', "{ 1:2}", "[1 2]", '{"a":1 "b"}', "nul", "[0x]", "01", "-",
    "'\\q'", "{a b:1}", "/* x", "[1]/*", "{true:1}", "-infinityX", "[.e1]", "1.2.3", '"\\u00g"', '["a\\01"]',
    "{,}", "[,]", "{a:}", "{:1}", "[1,]]", "'unterminated", "[\"\x00\"]", "{'a':1,,}", "[.]", "+", "0x",
]


@pytest.mark.parametrize("text", JSON5_TEXTS + MALFORMED)
def test_json5_text_reads_like_sqlite(dbs, text):
    run_both(dbs, "SELECT json(?)", (text,))
    run_both(dbs, "SELECT hex(jsonb(?))", (text,))
    run_both(dbs, "SELECT json_error_position(?)", (text,))
    run_both(dbs, "SELECT " + ", ".join(f"json_valid(?1, {f})" for f in range(1, 16)), (text,))
    run_both(dbs, "SELECT json_valid(?)", (text,))
    run_both(dbs, "SELECT json_type(?1), json_type(?1, '$[0]'), json_extract(?1, '$[0]'), "
                  "typeof(json_extract(?1, '$[0]')), json_extract(?1, '$.a')", (text,))
    run_both(dbs, "SELECT json(jsonb(?1)), json_valid(jsonb(?1), 8), json_error_position(jsonb(?1))", (text,))


@pytest.mark.parametrize("text", JSON5_TEXTS[:12])
def test_json5_values_in_each_and_edits_match_sqlite(dbs, text):
    run_both(dbs, "SELECT key, value, type, atom, fullkey FROM json_tree(?)", (text,))
    run_both(dbs, "SELECT json_set(?1, '$[0]', 9), hex(jsonb_set(?1, '$.k', 'z')), json_array_length(?1)", (text,))


@pytest.mark.parametrize("flags", [0, 16, -1, None])
def test_json_valid_flags_out_of_range_fail_like_sqlite(dbs, flags):
    run_both(dbs, "SELECT json_valid('[1]', ?)", (flags,))


def test_json_valid_with_flags_of_null_is_null(dbs):
    run_both(dbs, "SELECT json_valid(NULL, 3), json_error_position(NULL), json_error_position(x'')")


_ATOMS = ["1", "-2", "1.5", "-0.5e3", "0x1F", "-0xAb", "+7", ".5", "5.", "Infinity", "-Infinity", "NaN", "true",
          "false", "null", '"a"', "'b'", '"\\u0041\\n"', "'\\x41\\v\\0'", "'a\"b'", "'\\\nz'", '"tab\there"',
          "'é'", "00", "1..2", "-", "0x", "'\\q'", "tru", "infinit"]
_WS = ["", " ", "\n", "/*c*/", "//x\n", "\u00a0", "\ufeff", "\x0b", "\u2028", "/* open", "\r\n"]
_KEYS = ['"k"', "'k'", "k", "$k_1", "\\u0061b", "é", "1", "true", '"a b"']


def _random_json5(r, depth=0):
    x = r.random()
    if depth > 3 or x < 0.5:
        return r.choice(_ATOMS)

    def ws():
        return r.choice(_WS) if r.random() < 0.3 else ""
    if x < 0.75:
        items = [ws() + _random_json5(r, depth + 1) + ws() for _ in range(r.randint(0, 3))]
        return "[" + ",".join(items) + ("," if items and r.random() < 0.2 else "") + "]"
    items = [ws() + r.choice(_KEYS) + ws() + ":" + ws() + _random_json5(r, depth + 1) + ws()
             for _ in range(r.randint(0, 3))]
    return "{" + ",".join(items) + ("," if items and r.random() < 0.2 else "") + "}"


def _mutated(r, s):
    if s and r.random() < 0.3:
        k = r.randrange(len(s))
        s = s[:k] + r.choice(",:]}x '\"\\/\x01") + s[k + r.randint(0, 1):]
    return s


@pytest.mark.parametrize("seed", range(300))
def test_random_json5_matches_sqlite(dbs, seed):
    r = random.Random(seed)
    text = _mutated(r, _random_json5(r))
    run_both(dbs, "SELECT json(?1), hex(jsonb(?1)), json_error_position(?1), json_valid(?1, 1), json_valid(?1, 2)",
             (text,))
    run_both(dbs, "SELECT json_extract(?1, '$[0]'), json_type(?1, '$.k'), json(jsonb(?1))", (text,))


_BLOB_SEEDS = ["[1,2.5,'x',{a:0x1F,b:[.5,\"\\u0041\"]}]", '{"k":[true,false,null,-3e2]}', "'a\\x41\\v'",
               "[5.,-.5,Infinity]", "{}", "[]", "12", '"str"', "'\\\nz'"]


@pytest.mark.parametrize("seed", range(400))
def test_jsonb_validity_and_error_position_match_sqlite(dbs, seed):
    r = random.Random(seed)
    oracle, _ = dbs
    b = bytearray(oracle.execute("SELECT jsonb(?)", (r.choice(_BLOB_SEEDS),)).fetchone()[0])
    for _ in range(r.randint(1, 3)):
        if not b:
            break
        k = r.randrange(len(b))
        op = r.random()
        if op < 0.5:
            b[k] = r.randrange(256)
        elif op < 0.75:
            del b[k]
        else:
            b.insert(k, r.randrange(256))
    run_both(dbs, "SELECT json_valid(?1, 4), json_valid(?1, 8), json_valid(?1, 1), json_valid(?1, 2), "
                  "json_valid(?1, 12), json_error_position(?1)", (bytes(b),))
