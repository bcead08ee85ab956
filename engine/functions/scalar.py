"""Built-in scalar SQL functions (SQLite's core functions, src/func.c).

Each function takes SQL values (None, int, float, str, bytes) and returns one,
with SQLite's conversions: text functions read numbers as their text
rendering and blobs as UTF-8; numeric functions read text by its numeric
prefix. Text is handled as Python code points, so an embedded NUL character
does not end a string as it does in a few SQLite functions (length, substr).
``register_all(registry)`` adds them to a FunctionRegistry.
Mirrors sqlite src/func.c; Turso core/function.rs, core/vdbe/execute.rs.
"""

import os
import random as _random

from limbodb.errors import SQLITE_TOOBIG, DataError, OperationalError
from limbodb.vdbe.realfmt import format_float
from limbodb.vdbe.value import (
    MIN_INT64, atof, c_text, compare, glob, int_value, like, real_value, to_blob, to_text, truth,
)

# The SQLite version whose semantics limbodb reproduces (and sqlite_version() reports):
# REAL rendering, parsing and function behaviour follow 3.40.1.
SQLITE_VERSION = "3.40.1"
SQLITE_SOURCE_ID = "limbodb (SQLite 3.40.1 compatible)"
# SQLITE_LIMIT_LENGTH's default: the longest string or blob.
MAX_LENGTH = 1000000000

_TYPE_NAMES = {type(None): "null", int: "integer", float: "real", str: "text", bytes: "blob"}


def _int32(v):
    """sqlite3_value_int: the 64-bit integer value truncated to a C int."""
    x = int_value(v) & 0xFFFFFFFF
    return x - 0x100000000 if x & 0x80000000 else x


def _too_big():
    raise DataError("string or blob too big", SQLITE_TOOBIG)


def sql_abs(x):
    cls = x.__class__
    if cls is int:
        if x == MIN_INT64:
            raise OperationalError("integer overflow")
        return -x if x < 0 else x
    if x is None:
        return None
    r = real_value(x)
    return -r if r < 0 else r


def coalesce(*args):
    for a in args:
        if a is not None:
            return a
    return None


def ifnull(a, b):
    return b if a is None else a


def iif(cond, a, b):
    return a if truth(cond) else b


def nullif(a, b):
    return None if compare(a, b) == 0 else a


def typeof(x):
    return _TYPE_NAMES[x.__class__]


def length(x):
    """Characters of text (up to a NUL, as func.c counts), bytes of a blob, characters of a
    number's text."""
    cls = x.__class__
    if cls is str:
        return len(c_text(x))
    if cls is bytes:
        return len(x)
    if x is None:
        return None
    return len(to_text(x))


def octet_length(x):
    cls = x.__class__
    if cls is bytes:
        return len(x)
    if x is None:
        return None
    return len(to_text(x).encode("utf-8"))


_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(65, 91)})
_UPPER = str.maketrans({chr(c + 32): chr(c) for c in range(65, 91)})


def lower(x):
    """ASCII-only lower case, as SQLite's lower() without ICU."""
    if x is None:
        return None
    return to_text(x).translate(_LOWER)


def upper(x):
    if x is None:
        return None
    return to_text(x).translate(_UPPER)


def _substr(x, start, count=None):
    if x is None or start is None:
        return None
    if count is None:
        p2 = MAX_LENGTH
        neg_p2 = False
    else:
        p2 = _int32(count)
        neg_p2 = p2 < 0
        if neg_p2:
            p2 = -p2
    p1 = _int32(start)
    if x.__class__ is not bytes:
        x = c_text(to_text(x))
    elif not x:
        # sqlite3_value_blob() of an empty blob is a NULL pointer, so the result is NULL.
        return None
    n = len(x)
    if p1 < 0:
        p1 += n
        if p1 < 0:
            p2 += p1
            if p2 < 0:
                p2 = 0
            p1 = 0
    elif p1 > 0:
        p1 -= 1
    elif p2 > 0:
        p2 -= 1
    if neg_p2:
        p1 -= p2
        if p1 < 0:
            p2 += p1
            p1 = 0
    return x[p1:p1 + p2]


def substr2(x, start):
    return _substr(x, start)


def substr3(x, start, count):
    if count is None:
        return None
    return _substr(x, start, count)


# Marks an omitted optional argument (None is SQL NULL).
_DEFAULT = object()


def _trimmer(strip_left, strip_right):
    def trim(x, chars=_DEFAULT):
        if x is None or chars is None:
            return None
        s = to_text(x)
        cs = " " if chars is _DEFAULT else c_text(to_text(chars))
        if not cs:
            return s
        if strip_left and strip_right:
            return s.strip(cs)
        return s.lstrip(cs) if strip_left else s.rstrip(cs)
    return trim


trim = _trimmer(True, True)
ltrim = _trimmer(True, False)
rtrim = _trimmer(False, True)


def replace(x, pattern, rep):
    if x is None or pattern is None:
        return None
    p = to_text(pattern)
    if not p or p[0] == "\0":
        # An empty pattern as C sees it (zPattern[0]==0): SQLite returns the argument itself
        # after reading it as text, so a blob comes back as text.
        return to_text(x) if x.__class__ is bytes else x
    if rep is None:
        return None
    return to_text(x).replace(p, to_text(rep))


def instr(hay, needle):
    if hay is None or needle is None:
        return None
    if hay.__class__ is bytes and needle.__class__ is bytes:
        return hay.find(needle) + 1
    return to_text(hay).find(to_text(needle)) + 1


def sql_hex(x):
    if x is None:
        return ""
    return to_blob(x).hex().upper()


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def unhex(x, ignore=_DEFAULT):
    """unhex(X[, Y]): the blob spelled by hex digits X; characters of Y may separate digit pairs."""
    if x is None or ignore is None:
        return None
    s = to_text(x)
    skip = "" if ignore is _DEFAULT else to_text(ignore)
    out = bytearray()
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c in _HEX_DIGITS:
            if i + 1 >= n or s[i + 1] not in _HEX_DIGITS:
                return None
            out.append(int(s[i:i + 2], 16))
            i += 2
        elif c in skip:
            i += 1
        else:
            return None
    return bytes(out)


def quote(x):
    cls = x.__class__
    if x is None:
        return "NULL"
    if cls is int:
        return str(x)
    if cls is float:
        s = format_float(x, "g", 15, False, True, "")
        if atof(s)[1] != x:
            s = format_float(x, "e", 20, False, True, "")
        return s
    if cls is bytes:
        return "X'" + x.hex().upper() + "'"
    return "'" + c_text(x).replace("'", "''") + "'"


def sql_round(x, digits=_DEFAULT):
    if digits is _DEFAULT:
        n = 0
    else:
        if digits is None:
            return None
        n = _int32(digits)
        if n > 30:
            n = 30
        if n < 0:
            n = 0
    if x is None:
        return None
    r = real_value(x)
    if r < -4503599627370496.0 or r > 4503599627370496.0:
        return r
    if n == 0:
        return float(int(r + (-0.5 if r < 0 else 0.5)))
    return atof(format_float(r, "f", n, False, False, ""))[1]


def sql_random():
    return _random.getrandbits(64) - (1 << 63)


def randomblob(n):
    k = int_value(n) if n is not None else 1
    if k < 1:
        k = 1
    if k > MAX_LENGTH:
        _too_big()
    return os.urandom(k)


def zeroblob(n):
    k = int_value(n) if n is not None else 0
    if k < 0:
        k = 0
    if k > MAX_LENGTH:
        _too_big()
    return bytes(k)


def char(*args):
    out = []
    for a in args:
        c = int_value(a)
        if c < 0 or c > 0x10FFFF or 0xD800 <= c <= 0xDFFF:
            # Surrogates cannot be UTF-8 encoded; SQLite would write invalid UTF-8.
            c = 0xFFFD
        out.append(chr(c))
    return "".join(out)


def unicode(x):
    if x is None:
        return None
    if x.__class__ is bytes:
        return _utf8_read(x) if x and x[0] else None
    s = c_text(to_text(x))
    return ord(s[0]) if s else None


def _utf8_read(z):
    """sqlite3Utf8Read of the first character: lenient about malformed UTF-8."""
    c = z[0]
    if c < 0xC0:
        return c
    c &= 0x1F if c < 0xE0 else 0x0F if c < 0xF0 else 0x07 if c < 0xF8 else 0x03 if c < 0xFC else 0x01 if c < 0xFE else 0
    for b in z[1:]:
        if b & 0xC0 != 0x80:
            break
        c = (c << 6) + (b & 0x3F)
    if c < 0x80 or (c & 0xFFFFF800) == 0xD800 or (c & 0xFFFFFFFE) == 0xFFFE:
        return 0xFFFD
    return c


def _extreme(pick_min):
    def fn(*args):
        best = None
        for i, a in enumerate(args):
            if a is None:
                return None
            if i == 0:
                best = a
                continue
            c = compare(best, a)
            # Ties: min() keeps the later argument, max() the earlier one (func.c minmaxFunc).
            if (pick_min and c >= 0) or (not pick_min and c < 0):
                best = a
        return best
    return fn


sql_min = _extreme(True)
sql_max = _extreme(False)


def like2(pattern, s):
    return like(pattern, s)


def like3(pattern, s, escape):
    if escape is None:
        return None
    return like(pattern, s, escape)


def sign(x):
    """-1, 0 or 1 (INTEGER) for a number or numeric text; NULL otherwise."""
    cls = x.__class__
    if cls is int or cls is float:
        return (x > 0) - (x < 0)
    if cls is not str:
        return None
    rc, r = atof(x)
    if rc <= 0:
        return None
    return (r > 0) - (r < 0)


def likelihood(x, _p):
    return x


def passthrough(x):
    return x


def sqlite_version():
    return SQLITE_VERSION


def sqlite_source_id():
    return SQLITE_SOURCE_ID


def last_insert_rowid(conn):
    return conn.last_insert_rowid


def changes(conn):
    return conn.changes


def total_changes(conn):
    return conn.total_changes


# func.c's iCode table: the soundex digit of each ASCII letter (0 for vowels, H, W, Y).
_SOUNDEX_CODE = bytes(65) + bytes([0, 1, 2, 3, 0, 1, 2, 0, 0, 2, 2, 4, 5, 5, 0, 1, 2, 6, 2, 3, 0, 1, 0, 2, 0, 2]) + \
    bytes(6) + bytes([0, 1, 2, 3, 0, 1, 2, 0, 0, 2, 2, 4, 5, 5, 0, 1, 2, 6, 2, 3, 0, 1, 0, 2, 0, 2]) + bytes(5)


def soundex(x):
    """SQLite's soundex(), computed on UTF-8 bytes (a non-ASCII byte is looked up by its low 7 bits)."""
    z = b"" if x is None else to_blob(x).split(b"\0", 1)[0]
    i = 0
    n = len(z)
    while i < n and not (65 <= z[i] <= 90 or 97 <= z[i] <= 122):
        i += 1
    if i >= n:
        return "?000"
    out = [chr(z[i]).upper()]
    prev = _SOUNDEX_CODE[z[i] & 0x7F]
    while len(out) < 4 and i < n:
        code = _SOUNDEX_CODE[z[i] & 0x7F]
        if code:
            if code != prev:
                prev = code
                out.append(chr(48 + code))
        else:
            prev = 0
        i += 1
    return "".join(out).ljust(4, "0")


def register_all(reg):
    """Add the core scalar functions to ``reg``."""
    r = reg.register
    r("abs", 1, sql_abs)
    r("coalesce", -1, coalesce).min_args = 2
    r("ifnull", 2, ifnull)
    r("iif", 3, iif)
    r("nullif", 2, nullif)
    r("typeof", 1, typeof)
    r("length", 1, length)
    r("octet_length", 1, octet_length)
    r("lower", 1, lower)
    r("upper", 1, upper)
    for name in ("substr", "substring"):
        r(name, 2, substr2)
        r(name, 3, substr3)
    for name, fn in (("trim", trim), ("ltrim", ltrim), ("rtrim", rtrim)):
        r(name, 1, fn)
        r(name, 2, fn)
    r("replace", 3, replace)
    r("instr", 2, instr)
    r("hex", 1, sql_hex)
    r("unhex", 1, unhex)
    r("unhex", 2, unhex)
    r("quote", 1, quote)
    r("round", 1, sql_round)
    r("round", 2, sql_round)
    r("random", 0, sql_random, deterministic=False)
    r("randomblob", 1, randomblob, deterministic=False)
    r("zeroblob", 1, zeroblob)
    r("char", -1, char)
    r("unicode", 1, unicode)
    r("min", -1, sql_min).min_args = 2
    r("max", -1, sql_max).min_args = 2
    r("like", 2, like2)
    r("like", 3, like3)
    r("glob", 2, glob)
    r("sign", 1, sign)
    r("likelihood", 2, likelihood)
    r("likely", 1, passthrough)
    r("unlikely", 1, passthrough)
    r("soundex", 1, soundex)
    r("sqlite_version", 0, sqlite_version)
    r("sqlite_source_id", 0, sqlite_source_id)
    r("last_insert_rowid", 0, last_insert_rowid, deterministic=False, needs_context=True)
    r("changes", 0, changes, deterministic=False, needs_context=True)
    r("total_changes", 0, total_changes, deterministic=False, needs_context=True)
