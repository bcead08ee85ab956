"""Tokenizer: token kinds, values and SQLite's illegal-token spans."""

import pytest

from limbodb.parser import tokens as T
from limbodb.parser.lexer import scan, tokenize


def kinds(sql):
    return [(t[0], t[1]) for t in tokenize(sql)[:-1]]


def test_keywords_are_case_insensitive_and_keep_their_text():
    assert kinds("select SeLeCt") == [(T.TK_SELECT, "select"), (T.TK_SELECT, "SeLeCt")]


def test_temporary_is_the_temp_keyword():
    assert kinds("TEMPORARY temp") == [(T.TK_TEMP, "TEMPORARY"), (T.TK_TEMP, "temp")]


def test_window_over_filter_are_identifiers():
    assert [k for k, _ in kinds("window over filter")] == [T.TK_ID] * 3


def test_identifiers_in_four_quote_styles_are_dequoted():
    assert kinds('a "b c" [d e] `f` "g""h" `i``j`') == [
        (T.TK_ID, "a"), (T.TK_ID, "b c"), (T.TK_ID, "d e"), (T.TK_ID, "f"), (T.TK_ID, 'g"h'),
        (T.TK_ID, "i`j")]


def test_non_ascii_characters_are_identifier_characters():
    assert kinds("Séléct £") == [(T.TK_ID, "Séléct"), (T.TK_ID, "£")]


def test_strings_unescape_doubled_quotes():
    assert kinds("'it''s' ''") == [(T.TK_STRING, "it's"), (T.TK_STRING, "")]


def test_blob_literals_decode_hex():
    assert kinds("x'00fF' X''") == [(T.TK_BLOB, b"\x00\xff"), (T.TK_BLOB, b"")]


@pytest.mark.parametrize("sql, illegal", [
    ("x'abc'", "x'abc'"), ("X'zz'", "X'zz'"), ("x'ab", "x'ab"), ("'abc", "'abc"), ('"ab', '"ab'),
    ("[ab", "[ab"), ("`ab", "`ab"), ("123abc", "123abc"), ("0x", "0x"), ("1e", "1e"), ("1e+", "1e"),
    (".5e3x", ".5e3x"), ("1_000", "1_000"), (":", ":"), ("@", "@"), ("$", "$"), ("!", "!"),
])
def test_illegal_tokens_span_what_sqlite_reports(sql, illegal):
    toks = tokenize(sql)
    assert toks[0][0] == T.TK_ILLEGAL
    assert toks[0][1] == illegal


def test_numbers():
    assert kinds("1 1.5 .5 1. 1e10 1.5E-3 0x1F") == [
        (T.TK_INTEGER, "1"), (T.TK_FLOAT, "1.5"), (T.TK_FLOAT, ".5"), (T.TK_FLOAT, "1."),
        (T.TK_FLOAT, "1e10"), (T.TK_FLOAT, "1.5E-3"), (T.TK_INTEGER, "0x1F")]


def test_hex_stops_at_last_hex_digit_and_dots_split_numbers():
    assert kinds("0x1g 1.5.3") == [(T.TK_INTEGER, "0x1"), (T.TK_ID, "g"), (T.TK_FLOAT, "1.5"),
                                    (T.TK_FLOAT, ".3")]


def test_variables():
    assert kinds("? ?12 :a @b $c #d :a::b ?1a") == [
        (T.TK_VARIABLE, "?"), (T.TK_VARIABLE, "?12"), (T.TK_VARIABLE, ":a"), (T.TK_VARIABLE, "@b"),
        (T.TK_VARIABLE, "$c"), (T.TK_VARIABLE, "#d"), (T.TK_VARIABLE, ":a::b"),
        (T.TK_VARIABLE, "?1"), (T.TK_ID, "a")]


def test_operators():
    ops = "-> ->> || << >> <= >= <> != == = < > - + * / % & | ~ ( ) , ; ."
    assert [k for k, _ in kinds(ops)] == [
        T.TK_PTR, T.TK_PTR, T.TK_CONCAT, T.TK_LSHIFT, T.TK_RSHIFT, T.TK_LE, T.TK_GE, T.TK_NE,
        T.TK_NE, T.TK_EQ, T.TK_EQ, T.TK_LT, T.TK_GT, T.TK_MINUS, T.TK_PLUS, T.TK_STAR, T.TK_SLASH,
        T.TK_REM, T.TK_BITAND, T.TK_BITOR, T.TK_BITNOT, T.TK_LP, T.TK_RP, T.TK_COMMA, T.TK_SEMI,
        T.TK_DOT]


def test_comments_are_skipped_and_unterminated_block_comment_runs_to_end():
    assert kinds("a -- x\n b /* y */ c /* z") == [(T.TK_ID, "a"), (T.TK_ID, "b"), (T.TK_ID, "c")]


def test_vertical_tab_is_space_only_inside_a_whitespace_run():
    assert kinds("a \x0b b") == [(T.TK_ID, "a"), (T.TK_ID, "b")]
    assert kinds("a\x0b")[1] == (T.TK_ILLEGAL, "\x0b")


def test_token_offsets():
    assert [(t[2], t[3]) for t in tokenize("ab  'c'")] == [(0, 2), (4, 7), (7, 7)]


def test_scan_stops_after_each_semicolon():
    out = []
    end = scan("a; b", 0, out)
    assert end == 2
    assert [t[0] for t in out] == [T.TK_ID, T.TK_SEMI]
    scan("a; b", end, out)
    assert [t[0] for t in out] == [T.TK_ID, T.TK_SEMI, T.TK_ID, T.TK_EOF]


def test_every_keyword_round_trips():
    for word, code in T.KEYWORDS.items():
        assert tokenize(word.lower())[0][0] == code
