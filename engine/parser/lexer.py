"""The tokenizer: SQL text to ``(type, value, start, end)`` tuples.

Mirrors sqlite src/tokenize.c (sqlite3GetToken) with one compiled master
pattern: whitespace and both comment styles are skipped (an unterminated
``/*`` comment runs to the end, as in SQLite), identifiers come in four quote
styles, a number glued to identifier characters is one illegal token
("123abc"), hex literals stop at the last hex digit ("0x1g" is 0x1 then g),
and unterminated strings or bad blobs are illegal tokens spanning what SQLite
reports in ``unrecognized token: "..."``. Scanning stops after each ``;`` so a
parser reads one statement at a time (``scan``).
"""

import re

from .tokens import (
    KEYWORDS, TK_BITAND, TK_BITNOT, TK_BITOR, TK_BLOB, TK_COMMA, TK_CONCAT, TK_DOT, TK_EOF, TK_EQ,
    TK_FLOAT, TK_GE, TK_GT, TK_ID, TK_ILLEGAL, TK_INTEGER, TK_LE, TK_LP, TK_LSHIFT, TK_LT, TK_MINUS,
    TK_NE, TK_PLUS, TK_PTR, TK_REM, TK_RP, TK_RSHIFT, TK_SEMI, TK_SLASH, TK_STAR, TK_STRING,
    TK_VARIABLE,
)

# sqlite3Isspace: what SQLite trims from the ends of a span of source text.
SPACES = " \t\n\f\r\v"

_IDCHAR = r"[A-Za-z0-9_$\u0080-\U0010ffff]"

# Whitespace (\v only continues a run, as in tokenize.c) and comments.
_SKIP = r"(?:[ \t\n\f\r][ \t\n\f\r\v]*|--[^\n]*|/\*(?s:.*?)(?:\*/|\Z))*+"  # possessive: never rescan

# One token after optional skipped text; group numbers are the dispatch keys in scan().
_MASTER = re.compile(
    _SKIP
    + r"(?:([A-Za-z_\u0080-\U0010ffff]" + _IDCHAR + r"*)"              # 1 word
    r"|(->>|->|\|\||<<|>>|<=|>=|<>|!=|==|[-+*/%&|~()<>=,;]|\.(?![0-9]))"  # 2 operator
    r"|(0[xX][0-9a-fA-F]+)"                                            # 3 hex
    r"|((?:[0-9]+(?:(\.)[0-9]*)?|(\.)[0-9]+)((?:[eE][+-]?[0-9]+)?)(" + _IDCHAR + r"*))"
    # 4 number (5/6 dot, 7 exponent, 8 trailing identifier chars make it illegal)
    r"|'([^']*(?:''[^']*)*)(')?"                                       # 9 string, 10 close
    r'|"([^"]*(?:""[^"]*)*)(")?'                                       # 11 "id", 12 close
    r"|\[([^\]]*)(\])?"                                                # 13 [id], 14 close
    r"|`([^`]*(?:``[^`]*)*)(`)?"                                       # 15 `id`, 16 close
    r"|(\?[0-9]*|[:@$#](?:" + _IDCHAR + r"|::)*))"                     # 17 variable
)
_SKIP_ONLY = re.compile(_SKIP)
_BLOB = re.compile(r"[xX]'([^']*)('?)")

_OPERATORS = {
    "->>": TK_PTR, "->": TK_PTR, "||": TK_CONCAT, "<<": TK_LSHIFT, ">>": TK_RSHIFT, "<=": TK_LE,
    ">=": TK_GE, "<>": TK_NE, "!=": TK_NE, "==": TK_EQ, "-": TK_MINUS, "+": TK_PLUS, "*": TK_STAR,
    "/": TK_SLASH, "%": TK_REM, "&": TK_BITAND, "|": TK_BITOR, "~": TK_BITNOT, "(": TK_LP,
    ")": TK_RP, "<": TK_LT, ">": TK_GT, "=": TK_EQ, ",": TK_COMMA, ";": TK_SEMI, ".": TK_DOT,
}

_HEXDIGITS = frozenset("0123456789abcdefABCDEF")


def scan(sql, pos, out):
    """Append the tokens of ``sql`` from ``pos`` to ``out`` up to and including
    the next ``;`` (or a final TK_EOF token); returns the offset after it."""
    match = _MASTER.match
    keywords = KEYWORDS
    n = len(sql)
    while True:
        m = match(sql, pos)
        if m is None:
            pos = _SKIP_ONLY.match(sql, pos).end()
            if pos >= n:
                break
            # No rule applies (e.g. "!" alone, or \v): one illegal character.
            out.append((TK_ILLEGAL, sql[pos], pos, pos + 1))
            return pos + 1
        g = m.lastindex
        start = m.start(g)
        end = m.end()
        if g == 1:
            word = m[1]
            if (word == "x" or word == "X") and sql[end:end + 1] == "'":
                # A blob literal; SQLite's token runs to the closing quote (or the end).
                b = _BLOB.match(sql, start)
                body = b[1]
                end = b.end()
                if not b[2] or len(body) % 2 or not _HEXDIGITS.issuperset(body):
                    out.append((TK_ILLEGAL, b[0], start, end))
                else:
                    out.append((TK_BLOB, bytes.fromhex(body), start, end))
            else:
                out.append((keywords.get(word.upper(), TK_ID), word, start, end))
        elif g == 2:
            text = m[2]
            tk = _OPERATORS[text]
            out.append((tk, text, start, end))
            if tk == TK_SEMI:
                return end
        elif g == 4:
            if m[8]:
                out.append((TK_ILLEGAL, m[4], start, end))
            else:
                out.append((TK_FLOAT if (m[5] or m[6] or m[7]) else TK_INTEGER, m[4], start, end))
        elif g == 3:
            out.append((TK_INTEGER, m[3], start, end))
        elif g == 17:
            text = m[17]
            out.append((TK_VARIABLE if len(text) > 1 or text == "?" else TK_ILLEGAL, text, start, end))
        elif g % 2 == 1:
            # Unterminated quote: SQLite reports everything up to the end.
            out.append((TK_ILLEGAL, sql[start - 1:end], start - 1, end))
        else:
            # A closed quote: the token starts at the opening quote before the body group.
            start = m.start(g - 1) - 1
            if g == 10:
                out.append((TK_STRING, m[9].replace("''", "'"), start, end))
            elif g == 12:
                out.append((TK_ID, m[11].replace('""', '"'), start, end))
            elif g == 14:
                out.append((TK_ID, m[13], start, end))
            else:
                out.append((TK_ID, m[15].replace("``", "`"), start, end))
        pos = end
    out.append((TK_EOF, "", n, n))
    return n


def tokenize(sql):
    """Every token of ``sql`` (ending with TK_EOF); for tests and tools."""
    out = []
    pos = 0
    while True:
        pos = scan(sql, pos, out)
        if out[-1][0] == TK_EOF:
            return out
