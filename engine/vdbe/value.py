"""SQLite's value semantics on Python values: affinity, conversion, arithmetic, comparison.

Values are None, int (64-bit signed), float, str and bytes. This module owns the
rules SQLite applies to them: column and comparison affinity, CAST, the numeric
interpretation of text (sqlite3AtoF / sqlite3Atoi64, including their return
codes, which decide between INTEGER and REAL), arithmetic with NULL propagation
and integer overflow to REAL, three-valued logic, LIKE and GLOB. Text renderings
of REAL values come from ``limbodb.vdbe.realfmt`` (SQLite's "%!.15g").
A NaN result of arithmetic becomes NULL, as in SQLite.
Mirrors sqlite src/vdbemem.c, src/vdbe.c (OP_Add…OP_Compare), src/util.c,
src/func.c (patternCompare); Turso core/types.rs, core/vdbe/insn.rs.
"""

import re

from limbodb.errors import OperationalError
from limbodb.vdbe.realfmt import atof_value, str_of_real

# Affinity codes are SQLite's characters ('A'..'E'), so EXPLAIN can print them.
AFF_NONE = 0x40      # an expression with no affinity (literals, most expressions)
AFF_BLOB = 0x41      # a column with no declared type (the docs' "NONE")
AFF_TEXT = 0x42
AFF_NUMERIC = 0x43
AFF_INTEGER = 0x44
AFF_REAL = 0x45

MAX_INT64 = 0x7FFFFFFFFFFFFFFF
MIN_INT64 = -0x8000000000000000
_MAX_AS_DOUBLE = 9.223372036854775807e18
_MIN_AS_DOUBLE = -9.223372036854775808e18
_TWO51 = 2251799813685248

__all__ = [
    "AFF_NONE", "AFF_BLOB", "AFF_TEXT", "AFF_NUMERIC", "AFF_INTEGER", "AFF_REAL", "MAX_INT64", "MIN_INT64",
    "atof", "atoi64",
    "affinity_of_type", "apply_affinity", "apply_compare_affinity", "comparison_affinity",
    "cast", "cast_affinity", "to_text", "to_blob", "real_value", "int_value", "numeric_value",
    "str_of_real", "real_to_text", "add", "sub", "mul", "div", "mod", "bit_and", "bit_or", "shift_left",
    "shift_right", "bit_not", "negate", "concat", "compare", "truth", "and3", "or3", "not3",
    "like", "glob",
]


def affinity_of_type(decl):
    """Column affinity of a declared type (sqlite3AffinityType), e.g. 'VARCHAR(10)' -> AFF_TEXT."""
    if not decl:
        return AFF_BLOB
    aff = AFF_NUMERIC
    h = ""
    for ch in decl.lower():
        h = (h + ch)[-4:]
        if h == "char" or h == "clob" or h == "text":
            aff = AFF_TEXT
        elif h == "blob" and (aff == AFF_NUMERIC or aff == AFF_REAL):
            aff = AFF_BLOB
        elif (h == "real" or h == "floa" or h == "doub") and aff == AFF_NUMERIC:
            aff = AFF_REAL
        elif h[-3:] == "int":
            return AFF_INTEGER
    return aff


# ---------------------------------------------------------------- text -> number

_WS = " \t\n\v\f\r"
_ATOF_RE = re.compile(r"[ \t\n\v\f\r]*([-+]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([-+]?)([0-9]*))?[ \t\n\v\f\r]*")
_LIMIT_S = (MAX_INT64 - 9) // 10


def atof(z):
    """sqlite3AtoF on a str: (rc, value).

    rc is 1 for a whole-string integer, 2 or 3 for a whole-string real (with '.'
    or 'e'; 3 with both), -1 when only a prefix that has '.' or 'e' is a number,
    0 otherwise. ``value`` is the double of the longest numeric prefix (0.0 if none).
    """
    m = _ATOF_RE.match(z)
    sign_s, idigits, fdigits, esign_s, edigits = m.groups()
    etype = 1
    has_dot = fdigits is not None
    if has_dot:
        etype += 1
    else:
        fdigits = ""
    has_e = edigits is not None
    evalid = True
    if has_e:
        etype += 1
        evalid = edigits != ""
    ndigit = len(idigits) + len(fdigits)
    if ndigit > 17:
        s, d = _long_significand(idigits, fdigits)
    else:
        s = int(idigits + fdigits) if ndigit else 0
        d = -len(fdigits)
    e = 0
    if has_e and evalid:
        # SQLite stops growing the exponent once it passes 10000.
        edigits = edigits.lstrip("0") or "0"
        e = int(edigits) if len(edigits) < 6 else 10000
        if esign_s == "-":
            e = -e
    value = atof_value(-1 if sign_s == "-" else 1, s, e + d)
    if m.end() == len(z) and ndigit > 0 and evalid:
        return etype, value
    if etype >= 2 and (etype == 3 or evalid) and ndigit > 0:
        return -1, value
    return 0, value


def _long_significand(idigits, fdigits):
    """SQLite keeps at most ~18 significant digits, dropping the rest into the exponent."""
    s = 0
    d = 0
    i = 0
    n = len(idigits)
    while i < n:
        s = s * 10 + ord(idigits[i]) - 48
        i += 1
        if s >= _LIMIT_S:
            d += n - i
            i = n
    for ch in fdigits:
        if s < _LIMIT_S:
            s = s * 10 + ord(ch) - 48
            d -= 1
    return s, d


_ATOI_RE = re.compile(r"[ \t\n\v\f\r]*([-+]?)0*([0-9]*)")


def atoi64(z):
    """sqlite3Atoi64 on a str: (rc, value) with value clamped to 64 bits.

    rc: 0 fits, 1 extra non-space text after the integer, 2 too large,
    3 exactly 9223372036854775808 (positive), -1 no digits at all.
    """
    m = _ATOI_RE.match(z)
    neg = m.group(1) == "-"
    digits = m.group(2)
    end = m.end()
    u = int(digits) if digits else 0
    rc = 0
    if end == m.end(1):
        rc = -1
    elif end < len(z) and z[end:].strip(_WS):
        rc = 1
    if u > MAX_INT64:
        value = MIN_INT64 if neg else MAX_INT64
        if neg and u == MAX_INT64 + 1:
            return rc, MIN_INT64
        return (3 if u == MAX_INT64 + 1 else 2), value
    return rc, (-u if neg else u)


def _as_str(v):
    """Text of a str or bytes value (blobs are read as UTF-8 text, as sqlite3_value_text does)."""
    return v if v.__class__ is str else v.decode("utf-8", "replace")


def real_value(v):
    """sqlite3VdbeRealValue: the REAL a value converts to (NULL -> 0.0, text by prefix)."""
    cls = v.__class__
    if cls is float:
        return v
    if cls is int:
        return float(v)
    if v is None:
        return 0.0
    return atof(_as_str(v))[1]


def int_value(v):
    """sqlite3VdbeIntValue: the INTEGER a value converts to (reals clamp, text by prefix)."""
    cls = v.__class__
    if cls is int:
        return v
    if cls is float:
        return _double_to_int64(v)
    if v is None:
        return 0
    return atoi64(_as_str(v))[1]


def _double_to_int64(r):
    if r <= _MIN_AS_DOUBLE:
        return MIN_INT64
    if r >= _MAX_AS_DOUBLE:
        return MAX_INT64
    if r != r:
        return 0
    return int(r)


def _real_same_as_int(r, i):
    return r == 0.0 or (r == float(i) and -_TWO51 <= i < _TWO51)


def numeric_value(v):
    """The number arithmetic sees for a value (computeNumericType); None stays None.

    Text: a whole-string integer that fits, or a numeric prefix without '.'/'e',
    gives an INTEGER ('12abc' -> 12, 'abc' -> 0); anything else the REAL prefix.
    """
    cls = v.__class__
    if cls is int or cls is float or v is None:
        return v
    z = _as_str(v)
    if 0 < len(z) < 19 and z.isdigit() and z.isascii():
        return int(z)
    rc, r = atof(z)
    if rc <= 0:
        if rc == 0:
            irc, ix = atoi64(z)
            if irc <= 1:
                return ix
        return r
    if rc == 1:
        irc, ix = atoi64(z)
        if irc == 0:
            return ix
    return r


def _numerify(v):
    """sqlite3VdbeMemNumerify (CAST AS NUMERIC): text -> INTEGER when it is one or is integral."""
    z = _as_str(v)
    rc, r = atof(z)
    if rc == 0 or rc == 1:
        irc, ix = atoi64(z)
        if irc <= 1:
            return ix
    ix = _double_to_int64(r) if r == r else 0
    if _real_same_as_int(r, ix):
        return ix
    return r


def to_text(v):
    """Text form of a value as SQLite renders it (None stays None)."""
    cls = v.__class__
    if cls is str or v is None:
        return v
    if cls is int:
        return str(v)
    if cls is float:
        return str_of_real(v)
    return v.decode("utf-8", "replace")


def to_blob(v):
    """Blob form of a value (text as UTF-8; None stays None)."""
    cls = v.__class__
    if cls is bytes or v is None:
        return v
    return to_text(v).encode("utf-8")


# The CLI's name for the same rendering.
real_to_text = str_of_real


# ---------------------------------------------------------------- affinity

def _numeric_affinity(z, try_for_int):
    """applyNumericAffinity on text: a number if the whole text is one, else None."""
    if 0 < len(z) < 19 and z.isdigit() and z.isascii():
        return int(z)
    rc, r = atof(z)
    if rc <= 0:
        return None
    if rc == 1:
        ix = _double_to_int64(r)
        if _real_same_as_int(r, ix):
            return ix
        irc, ix = atoi64(z)
        if irc == 0:
            return ix
    if try_for_int:
        return _integer_affinity(r)
    return r


def _integer_affinity(r):
    """sqlite3VdbeIntegerAffinity: an integral REAL strictly inside the int64 range becomes INTEGER."""
    ix = _double_to_int64(r)
    if r == ix and MIN_INT64 < ix < MAX_INT64:
        return ix
    return r


def apply_affinity(v, aff):
    """The value SQLite stores (and reads back) for ``v`` in a column of affinity ``aff``."""
    cls = v.__class__
    if v is None or cls is bytes:
        return v
    if aff >= AFF_NUMERIC:
        if cls is str:
            n = _numeric_affinity(v, True)
            if n is None:
                return v
            v = n
            cls = v.__class__
        if cls is float:
            v = _integer_affinity(v)
        # A REAL column stores an integral value as an integer and reads it back
        # as REAL, which is how -0.0 comes back as 0.0.
        return float(v) if aff == AFF_REAL else v
    if aff == AFF_TEXT and cls is not str:
        return to_text(v)
    return v


def comparison_affinity(aff_left, aff_right):
    """Affinity applied to both operands of a comparison (sqlite3CompareAffinity).

    Pass each operand's expression affinity (AFF_NONE for a literal or an
    expression without one). Returns AFF_NUMERIC, AFF_TEXT or AFF_BLOB/AFF_NONE
    (no conversion) for apply_compare_affinity().
    """
    if aff_left > AFF_NONE and aff_right > AFF_NONE:
        if aff_left >= AFF_NUMERIC or aff_right >= AFF_NUMERIC:
            return AFF_NUMERIC
        return AFF_BLOB
    if aff_left <= AFF_NONE:
        return aff_right if aff_right > AFF_NONE else AFF_NONE
    return aff_left


def apply_compare_affinity(v, aff):
    """Convert one comparison operand as OP_Eq..OP_Ge do before comparing."""
    cls = v.__class__
    if aff >= AFF_NUMERIC:
        if cls is str:
            n = _numeric_affinity(v, False)
            return v if n is None else n
        return v
    if aff == AFF_TEXT and (cls is int or cls is float):
        return to_text(v)
    return v


def cast_affinity(v, aff):
    """CAST(v AS <type with affinity aff>) (sqlite3VdbeMemCast)."""
    if v is None:
        return None
    cls = v.__class__
    if aff == AFF_TEXT:
        return to_text(v)
    if aff == AFF_INTEGER:
        return int_value(v)
    if aff == AFF_REAL:
        return real_value(v)
    if aff == AFF_NUMERIC:
        if cls is int or cls is float:
            return v
        return _numerify(v)
    return to_blob(v)


def cast(v, type_name):
    """CAST(v AS type_name) with SQLite's rules ('12abc' -> 12, '1e3' -> 1 as INTEGER, 1000 as NUMERIC)."""
    return cast_affinity(v, affinity_of_type(type_name))


# ---------------------------------------------------------------- arithmetic

def _fp_result(r):
    # SQLite's "fp_math" path re-reads the original operands with sqlite3VdbeRealValue,
    # so '-0' and 0 differ there; a NaN result is NULL.
    return None if r != r else r


def add(a, b):
    """a + b: NULL if either is NULL; integer overflow gives REAL."""
    if a is None or b is None:
        return None
    x = a if a.__class__ is int else numeric_value(a)
    y = b if b.__class__ is int else numeric_value(b)
    if x.__class__ is int and y.__class__ is int:
        r = x + y
        if MIN_INT64 <= r <= MAX_INT64:
            return r
    return _fp_result(real_value(a) + real_value(b))


def sub(a, b):
    """a - b."""
    if a is None or b is None:
        return None
    x = a if a.__class__ is int else numeric_value(a)
    y = b if b.__class__ is int else numeric_value(b)
    if x.__class__ is int and y.__class__ is int:
        r = x - y
        if MIN_INT64 <= r <= MAX_INT64:
            return r
    return _fp_result(real_value(a) - real_value(b))


def mul(a, b):
    """a * b."""
    if a is None or b is None:
        return None
    x = a if a.__class__ is int else numeric_value(a)
    y = b if b.__class__ is int else numeric_value(b)
    if x.__class__ is int and y.__class__ is int:
        r = x * y
        if MIN_INT64 <= r <= MAX_INT64:
            return r
    return _fp_result(real_value(a) * real_value(b))


def div(a, b):
    """a / b: integer division truncates toward zero; division by zero is NULL."""
    if a is None or b is None:
        return None
    x = a if a.__class__ is int else numeric_value(a)
    y = b if b.__class__ is int else numeric_value(b)
    if x.__class__ is int and y.__class__ is int:
        if y == 0:
            return None
        if not (x == MIN_INT64 and y == -1):
            q = abs(x) // abs(y)
            return -q if (x < 0) != (y < 0) else q
    fy = real_value(b)
    if fy == 0.0:
        return None
    return _fp_result(real_value(a) / fy)


def mod(a, b):
    """a % b: remainder of the operands as integers, sign of the dividend; REAL if either is REAL."""
    if a is None or b is None:
        return None
    x = a if a.__class__ is int else numeric_value(a)
    y = b if b.__class__ is int else numeric_value(b)
    is_int = x.__class__ is int and y.__class__ is int
    if not is_int:
        # SQLite re-reads the original operands as integers here: '1e3' is 1.
        x = int_value(a)
        y = int_value(b)
    if y == 0:
        return None
    if y == -1:
        y = 1
    r = abs(x) % abs(y)
    if x < 0:
        r = -r
    return r if is_int else float(r)


def _int_operands(a, b):
    return int_value(a), int_value(b)


def bit_and(a, b):
    """a & b on the operands' integer values."""
    if a is None or b is None:
        return None
    x, y = _int_operands(a, b)
    return x & y


def bit_or(a, b):
    """a | b."""
    if a is None or b is None:
        return None
    x, y = _int_operands(a, b)
    return x | y


def _shift(x, n, left):
    if n < 0:
        left = not left
        n = -n if n > -64 else 64
    if n >= 64:
        return 0 if (x >= 0 or left) else -1
    if left:
        r = (x << n) & 0xFFFFFFFFFFFFFFFF
        return r - (1 << 64) if r > MAX_INT64 else r
    return x >> n


def shift_left(a, b):
    """a << b (a negative count shifts right; 64 or more gives 0 or -1)."""
    if a is None or b is None:
        return None
    x, n = _int_operands(a, b)
    return _shift(x, n, True)


def shift_right(a, b):
    """a >> b (arithmetic shift)."""
    if a is None or b is None:
        return None
    x, n = _int_operands(a, b)
    return _shift(x, n, False)


def bit_not(a):
    """~a."""
    if a is None:
        return None
    return ~int_value(a)


def negate(a):
    """-a, which SQLite computes as 0 - a ('abc' -> 0, -MIN_INT64 -> REAL)."""
    return sub(0, a)


def concat(a, b):
    """a || b: text of both operands; NULL if either is NULL."""
    if a is None or b is None:
        return None
    if a.__class__ is bytes or b.__class__ is bytes:
        # SQLite joins the bytes, so a UTF-8 sequence split across two blobs survives.
        return (to_blob(a) + to_blob(b)).decode("utf-8", "replace")
    return (a if a.__class__ is str else to_text(a)) + (b if b.__class__ is str else to_text(b))


# ---------------------------------------------------------------- comparison and logic

def _type_rank(v):
    cls = v.__class__
    if cls is int or cls is float:
        return 1
    if cls is str:
        return 2
    return 3


def compare(a, b, collation=None):
    """-1, 0 or 1 in SQLite's order (numbers < text < blob); None if either is NULL.

    ``collation`` is None (BINARY) or a function(str, str) -> int used for text.
    Apply comparison affinity first (apply_compare_affinity) when the operands
    come from columns; this function converts nothing.
    """
    if a is None or b is None:
        return None
    ra = _type_rank(a)
    rb = _type_rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == 2 and collation is not None:
        c = collation(a, b)
        return -1 if c < 0 else (1 if c > 0 else 0)
    if a == b:
        return 0
    return -1 if a < b else 1


def truth(v):
    """Truth value for WHERE/AND/OR/NOT: True, False, or None for NULL ('abc' and '0' are false)."""
    cls = v.__class__
    if cls is int or cls is float:
        return v != 0
    if v is None:
        return None
    return atof(_as_str(v))[1] != 0.0


def and3(a, b):
    """Three-valued AND of truth values (True/False/None)."""
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def or3(a, b):
    """Three-valued OR of truth values."""
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def not3(a):
    """Three-valued NOT of a truth value."""
    return None if a is None else not a


# ---------------------------------------------------------------- LIKE and GLOB

_LIKE_CACHE = {}
_GLOB_CACHE = {}
_CACHE_LIMIT = 512
_NEVER = re.compile(r"(?!)")


def c_text(s):
    """``s`` up to its first NUL: the string C code sees through sqlite3_value_text()."""
    i = s.find("\0")
    return s if i < 0 else s[:i]


def _like_regex(pattern, escape, case_sensitive):
    parts = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == escape:
            if i >= n:
                # A trailing escape character can match nothing (patternCompare).
                return _NEVER
            c = pattern[i]
            i += 1
        elif c == "%":
            parts.append(".*")
            continue
        elif c == "_":
            parts.append(".")
            continue
        if not case_sensitive and c < "\x80" and c.isalpha():
            parts.append("[" + c.lower() + c.upper() + "]")
        else:
            parts.append(re.escape(c))
    return re.compile("".join(parts), re.DOTALL)


def like(pattern, s, escape=None, case_sensitive=False):
    """SQLite's LIKE: ``s LIKE pattern [ESCAPE escape]`` -> 1, 0, or None if an operand is NULL.

    '%' and '_' are wildcards; case folding covers ASCII letters only.
    ``escape`` None means no ESCAPE clause.
    """
    if pattern is None or s is None:
        return None
    if escape is not None:
        escape = c_text(to_text(escape))
        if len(escape) != 1:
            raise OperationalError("ESCAPE expression must be a single character")
    pattern = c_text(to_text(pattern))
    key = (pattern, escape, case_sensitive)
    rx = _LIKE_CACHE.get(key)
    if rx is None:
        if len(_LIKE_CACHE) >= _CACHE_LIMIT:
            _LIKE_CACHE.clear()
        rx = _LIKE_CACHE[key] = _like_regex(pattern, escape, case_sensitive)
    return 1 if rx.fullmatch(c_text(to_text(s))) is not None else 0


def _glob_set(pattern, i):
    """Regex class for the '[...]' starting after '[' at ``i``: (regex or None, next index)."""
    n = len(pattern)
    invert = False
    if i < n and pattern[i] == "^":
        invert = True
        i += 1
    ranges = []
    if i < n and pattern[i] == "]":
        ranges.append(("]", "]"))
        i += 1
    prior = None
    while i < n and pattern[i] != "]":
        c = pattern[i]
        i += 1
        if c == "-" and i < n and pattern[i] != "]" and prior is not None:
            hi = pattern[i]
            i += 1
            ranges.append((prior, hi))
            prior = None
        else:
            ranges.append((c, c))
            prior = c
    if i >= n:
        return None, n
    items = "".join(re.escape(lo) if lo == hi else re.escape(lo) + "-" + re.escape(hi)
                    for lo, hi in ranges if lo <= hi)
    if not items:
        return ("." if invert else "(?!)"), i + 1
    return ("[^" if invert else "[") + items + "]", i + 1


def _glob_regex(pattern):
    parts = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            parts.append(".*")
        elif c == "?":
            parts.append(".")
        elif c == "[":
            cls, i = _glob_set(pattern, i)
            if cls is None:
                return _NEVER
            parts.append(cls)
        else:
            parts.append(re.escape(c))
    return re.compile("".join(parts), re.DOTALL)


def glob(pattern, s):
    """SQLite's GLOB: ``s GLOB pattern`` -> 1, 0, or None; '*', '?', '[a-z]', '[^...]', case-sensitive."""
    if pattern is None or s is None:
        return None
    pattern = c_text(to_text(pattern))
    rx = _GLOB_CACHE.get(pattern)
    if rx is None:
        if len(_GLOB_CACHE) >= _CACHE_LIMIT:
            _GLOB_CACHE.clear()
        rx = _GLOB_CACHE[pattern] = _glob_regex(pattern)
    return 1 if rx.fullmatch(c_text(to_text(s))) is not None else 0
