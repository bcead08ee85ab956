"""JSON SQL functions (SQLite 3.40's json1): json, json_valid, json_extract, ->, ->>, json_array,
json_object, json_type, json_insert/replace/set/remove, json_patch, json_array_length, json_quote,
and the json_group_array/json_group_object aggregates. json_each/json_tree (table-valued) are not here;
JSONB blobs are accepted wherever JSON text is (decoded by jsonb.py, which holds the jsonb_* forms).

Parsing keeps each number's and string's source text, so json() re-renders
literals exactly as written (1.0 stays 1.0, escapes stay escaped), object keys
keep their order and duplicates, and paths match keys by their raw text, as
SQLite 3.40 does. Text may be JSON5 as SQLite 3.42+ reads it (comments, unquoted
labels, single quotes, trailing commas, hex, Infinity/NaN, ...): JSON5 spellings
are kept too and rendered as canonical JSON; json_valid(X, FLAGS) and
json_error_position() are 3.45+'s. SQLite marks JSON-valued results with a subtype so that
json_array(json('[1]')) nests instead of quoting; limbodb remembers the
identity of its recent JSON-valued result strings (``_subtype``), which covers
direct nesting inside one expression. Mirrors sqlite src/json.c (3.40).
"""

import re

from limbodb.errors import OperationalError
from limbodb.functions import AGGREGATE
from limbodb.vdbe.value import MAX_INT64, MIN_INT64, atof, int_value, to_text

J_NULL, J_TRUE, J_FALSE, J_INT, J_REAL, J_STRING, J_ARRAY, J_OBJECT = range(8)
_TYPE_NAMES = ("null", "true", "false", "integer", "real", "text", "array", "object")
_MAX_DEPTH = 2000
_HEX = frozenset("0123456789abcdefABCDEF")

# ---------------------------------------------------------------- JSON subtype

_SUBTYPE_IDS = {}
_SUBTYPE_ORDER = []
_SUBTYPE_LIMIT = 256


def _json_result(s):
    """Return ``s`` marked as JSON text (SQLite's JSON_SUBTYPE) for the next function that reads it.

    The mark goes on a private copy: ``s`` may be shared (an interned constant such
    as "null", or the caller's own argument returned by a one-piece join).
    One-character strings are never marked: CPython shares them with ordinary text.
    """
    if len(s) > 1:
        s = "".join((s, ""))
        if len(_SUBTYPE_ORDER) >= _SUBTYPE_LIMIT:
            _SUBTYPE_IDS.pop(_SUBTYPE_ORDER.pop(0), None)
        _SUBTYPE_IDS[id(s)] = s
        _SUBTYPE_ORDER.append(id(s))
    return s


def _is_json(v):
    return _SUBTYPE_IDS.get(id(v)) is v


# ---------------------------------------------------------------- nodes and parser


class JNode:
    """A parsed JSON value; scalars keep their source text in ``raw``."""

    __slots__ = ("type", "raw", "items", "escaped", "removed", "replace", "patch", "raw_label", "chunks", "j5")

    def __init__(self, type_, raw="", items=None, escaped=False):
        self.type = type_
        self.raw = raw
        # ARRAY: list of JNode; OBJECT: list of [label JNode, value JNode].
        self.items = items
        self.escaped = escaped
        self.removed = False
        self.replace = None     # (sql value,) set by json_set/json_replace/json_insert
        self.patch = None       # JNode rendered instead of this one (json_patch)
        self.raw_label = False  # a label added from a path: ``raw`` is unescaped text
        self.chunks = None      # ARRAY: indexes where elements appended by json_set/insert start
        # A JSON5 spelling SQLite keeps as written (JSONB INT5, FLOAT5, TEXT5): ``raw`` is
        # hex digits, a number missing a digit beside its '.', or a string with JSON5
        # escapes; it is made canonical JSON only when rendered (_json5_text).
        self.j5 = False


# ---------------------------------------------------------------- text parser (JSON and JSON5)
#
# A port of SQLite's jsonTranslateTextToBlob, building JNodes instead of JSONB. It keeps
# SQLite's bookkeeping exactly, because json_error_position() reports it: ``err`` is the
# index SQLite's iErr holds when the parse fails, and ``nonstd`` is its hasNonstd (a JSON5
# form was seen, so the text is not RFC 8259 JSON). The text is padded with NULs, standing
# for C's terminator, so lookahead never runs off its end.

_SPACES = frozenset(" \t\n\r")
# JSON5 whitespace beyond JSON's (json5Whitespace), as code points.
_WS5 = frozenset("\x0b\x0c\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                 "\u2028\u2029\u202f\u205f\u3000\ufeff")
_WS5_START = _WS5 | {"/"}
_DIGITS = frozenset("0123456789")
_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# Characters a string literal holds without a second look (jsonIsOk).
_STRING_STOP = frozenset([chr(c) for c in range(0x20)] + ['"', "'", "\\"])
# JSON5 and SQLite's extra names for non-finite numbers: (name, value node type).
_NAN_INF = (("inf", J_REAL), ("infinity", J_REAL), ("nan", J_NULL), ("qnan", J_NULL), ("snan", J_NULL))
_PAD = "\x00" * 12
_NUMBER_START = frozenset("+-.0123456789")


class _Parse:
    """One parse of JSON text: the padded text, SQLite's iErr and hasNonstd, the nesting
    depth, and the node the last successful step produced."""

    __slots__ = ("z", "err", "nonstd", "depth", "node")

    def __init__(self, z):
        self.z = z
        self.err = 0
        self.nonstd = False
        self.depth = 0
        self.node = None


def _ws5(z, n):
    """json5Whitespace: how many characters of whitespace and comments start at ``z[n]``
    (an unterminated block comment is not whitespace)."""
    start = n
    while True:
        c = z[n]
        if c in _SPACES or c in _WS5:
            n += 1
        elif c == "/" and z[n + 1] == "*" and z[n + 2] != "\x00":
            end = z.find("*/", n + 2)
            if end < 0:
                break
            n = end + 2
        elif c == "/" and z[n + 1] == "/":
            j = n + 2
            while z[j] not in "\x00\n\r\u2028\u2029":
                j += 1
            n = j + 1 if z[j] != "\x00" else j
        else:
            break
    return n - start


def _is_hex(z, i, n):
    return all(c in _HEX for c in z[i:i + n]) and len(z[i:i + n]) == n


def _id_start(c):
    """sqlite3JsonId1: a character that may begin an unquoted JSON5 label."""
    return c in _ALNUM and c not in _DIGITS or c == "_" or c == "$" or c >= "\x80"


def _id_char(c):
    """sqlite3JsonId2, less the JSON5 whitespace characters it would take."""
    return c in _ALNUM or c == "_" or c == "$" or (c >= "\x80" and c not in _WS5)


def _tx(p, i):
    """jsonTranslateTextToBlob: parse the element at ``z[i]`` into ``p.node``.

    Returns the index after it, 0 at the end of the text, -1 on an error (``p.err`` says
    where), or -2/-3/-4/-5 on '}' ']' ',' ':' (``p.err`` is its index)."""
    z = p.z
    while True:
        c = z[i]
        if c in _SPACES:
            i += 1
            while z[i] in _SPACES:
                i += 1
            continue
        if c in _WS5_START:
            k = _ws5(z, i)
            if k:
                i += k
                p.nonstd = True
                continue
            p.err = i
            return -1
        break
    if c == "{":
        return _tx_object(p, i)
    if c == "[":
        return _tx_array(p, i)
    if c == '"' or c == "'":
        return _tx_string(p, i, c)
    if c in _NUMBER_START:
        return _tx_number(p, i, c)
    if c == "t":
        if z.startswith("true", i) and z[i + 4] not in _ALNUM:
            p.node = JNode(J_TRUE)
            return i + 4
        p.err = i
        return -1
    if c == "f":
        if z.startswith("false", i) and z[i + 5] not in _ALNUM:
            p.node = JNode(J_FALSE)
            return i + 5
        p.err = i
        return -1
    if c == "}":
        p.err = i
        return -2
    if c == "]":
        p.err = i
        return -3
    if c == ",":
        p.err = i
        return -4
    if c == ":":
        p.err = i
        return -5
    if c == "\x00":
        return 0
    if c == "n" and z.startswith("null", i) and z[i + 4] not in _ALNUM:
        p.node = JNode(J_NULL)
        return i + 4
    for name, t in _NAN_INF:
        nn = len(name)
        if z[i:i + nn].lower() == name and z[i + nn] not in _ALNUM:
            p.node = JNode(J_REAL, "9e999") if t == J_REAL else JNode(J_NULL)
            p.nonstd = True
            return i + nn
    p.err = i
    return -1


def _skip_spaces(z, j):
    while z[j] in _SPACES:
        j += 1
    return j


def _tx_object(p, i):
    z = p.z
    items = []
    p.depth += 1
    if p.depth > _MAX_DEPTH:
        p.err = i
        return -1
    j = i + 1
    while True:
        x = _tx(p, j)
        if x <= 0:
            if x == -2:
                j = p.err
                if items:
                    p.nonstd = True
                break
            # Not a value: a JSON5 label without quotes, or an error.
            j += _ws5(z, j)
            escaped = z[j] == "\\" and z[j + 1] == "u" and _is_hex(z, j + 2, 4)
            if not (_id_start(z[j]) or escaped):
                if x != -1:
                    p.err = j
                return -1
            k = j + 1
            while True:
                c = z[k]
                if _id_char(c):
                    k += 1
                elif c == "\\" and z[k + 1] == "u" and _is_hex(z, k + 2, 4):
                    escaped = True
                    k += 1
                else:
                    break
            label = JNode(J_STRING, '"' + z[j:k] + '"', escaped=escaped)
            p.nonstd = True
            x = k
        else:
            label = p.node
            if label.type != J_STRING:
                p.err = j
                return -1
        j = x
        if z[j] == ":":
            j += 1
        else:
            if z[j] in _SPACES:
                j = _skip_spaces(z, j + 1)
            if z[j] == ":":
                j += 1
            else:
                x = _tx(p, j)
                if x != -5:
                    if x != -1:
                        p.err = j
                    return -1
                j = p.err + 1
        x = _tx(p, j)
        if x <= 0:
            if x != -1:
                p.err = j
            return -1
        items.append([label, p.node])
        more, j = _after_item(p, x, "}", -2)
        if more < 0:
            return -1
        if not more:
            break
    p.depth -= 1
    p.node = JNode(J_OBJECT, items=items)
    return j + 1


def _tx_array(p, i):
    z = p.z
    items = []
    p.depth += 1
    if p.depth > _MAX_DEPTH:
        p.err = i
        return -1
    j = i + 1
    while True:
        x = _tx(p, j)
        if x <= 0:
            if x == -3:
                j = p.err
                if items:
                    p.nonstd = True
                break
            if x != -1:
                p.err = j
            return -1
        items.append(p.node)
        more, j = _after_item(p, x, "]", -3)
        if more < 0:
            return -1
        if not more:
            break
    p.depth -= 1
    p.node = JNode(J_ARRAY, items=items)
    return j + 1


def _after_item(p, j, close, close_code):
    """What follows an element or member ending at ``z[j]``: (1, where the next one starts)
    after a ',', (0, the index of ``close``) at the end, (-1, j) on an error (``p.err`` set)."""
    z = p.z
    c = z[j]
    if c in _SPACES:
        j = _skip_spaces(z, j + 1)
        c = z[j]
    if c == ",":
        return 1, j + 1
    if c == close:
        return 0, j
    x = _tx(p, j)
    if x == -4:
        return 1, p.err + 1
    if x == close_code:
        return 0, p.err
    p.err = j
    return -1, j


def _tx_string(p, i, delim):
    """A string in double or (JSON5) single quotes; JSON5 escapes, control characters and
    a '"' inside single quotes make it a JSON5 string (TEXT5), other escapes TEXTJ."""
    z = p.z
    if delim == "'":
        p.nonstd = True
    escaped = j5 = False
    j = i + 1
    while True:
        c = z[j]
        if c not in _STRING_STOP:
            j += 1
            continue
        if c == delim:
            break
        if c == "\\":
            j += 1
            c = z[j]
            if c in '"\\/bfnrt' or (c == "u" and _is_hex(z, j + 1, 4)):
                escaped = True
            elif c in "'v\n\u2028\u2029" or (c == "0" and z[j + 1] not in _DIGITS) or (
                    c == "x" and _is_hex(z, j + 1, 2)):
                j5 = p.nonstd = True
            elif c == "\r":
                if z[j + 1] == "\n":
                    j += 1
                j5 = p.nonstd = True
            else:
                p.err = j
                return -1
        elif c < " ":
            if c == "\x00":
                p.err = j
                return -1
            j5 = p.nonstd = True
        elif c == '"':
            j5 = True
        j += 1
    node = p.node = JNode(J_STRING, '"' + z[i + 1:j] + '"', escaped=escaped or j5)
    node.j5 = j5
    return j + 1


def _tx_number(p, i, c):
    """A number: JSON's, or JSON5's hex integers, leading '+', a missing digit beside the
    '.', and [+-]Infinity (SQLite also takes any case and "inf"). ``c`` is ``z[i]``."""
    z = p.z
    j5 = is_float = False
    if c == ".":
        if z[i + 1] not in _DIGITS:
            p.err = i
            return -1
        p.nonstd = j5 = is_float = True
    else:
        if c == "+":
            p.nonstd = True
        if c == "0":
            if z[i + 1] in "xX" and z[i + 2] in _HEX:
                j = i + 3
                while z[j] in _HEX:
                    j += 1
                p.nonstd = True
                return _number_node(p, z, i, j, True, False)
            if z[i + 1] in _DIGITS:
                p.err = i + 1
                return -1
        elif c != "." and c < "0":
            d = z[i + 1]
            if d not in _DIGITS:
                if z[i + 1:i + 4].lower() == "inf":
                    p.nonstd = True
                    p.node = JNode(J_REAL, "-9e999" if c == "-" else "9e999")
                    return i + (9 if z[i + 4:i + 9].lower() == "inity" else 4)
                if d == ".":
                    p.nonstd = j5 = True
                else:
                    p.err = i
                    return -1
            elif d == "0":
                if z[i + 2] in _DIGITS:
                    p.err = i + 1
                    return -1
                if z[i + 2] in "xX" and z[i + 3] in _HEX:
                    j = i + 4
                    while z[j] in _HEX:
                        j += 1
                    p.nonstd = True
                    return _number_node(p, z, i, j, True, False)
    seen_e = False
    j = i + 1
    while True:
        c = z[j]
        if c in _DIGITS:
            j += 1
            continue
        if c == ".":
            if is_float:
                p.err = j
                return -1
            is_float = True
            j += 1
            continue
        if c == "e" or c == "E":
            if z[j - 1] < "0":
                if z[j - 1] == "." and j - 2 >= i and z[j - 2] in _DIGITS:
                    p.nonstd = j5 = True
                else:
                    p.err = j
                    return -1
            if seen_e:
                p.err = j
                return -1
            is_float = seen_e = True
            c = z[j + 1]
            if c == "+" or c == "-":
                j += 1
                c = z[j + 1]
            if c not in _DIGITS:
                p.err = j
                return -1
            j += 1
            continue
        break
    if z[j - 1] < "0":
        if z[j - 1] == "." and j - 2 >= i and z[j - 2] in _DIGITS:
            p.nonstd = j5 = True
        else:
            p.err = j
            return -1
    return _number_node(p, z, i, j, j5, is_float)


def _number_node(p, z, i, j, j5, is_float):
    if z[i] == "+":
        i += 1
    node = p.node = JNode(J_REAL if is_float else J_INT, z[i:j])
    node.j5 = j5
    return j


def parse_text(text):
    """jsonConvertTextToBlob: (root JNode or None, JSON5 seen, error index) of JSON or JSON5
    text; text after a NUL character is ignored, as SQLite reads a C string."""
    nul = text.find("\x00")
    if nul >= 0:
        text = text[:nul]
    p = _Parse(text + _PAD)
    try:
        i = _tx(p, 0)
    except RecursionError:
        return None, p.nonstd, p.err
    if i <= 0:
        return None, p.nonstd, p.err
    z = p.z
    i = _skip_spaces(z, i)
    if z[i] != "\x00":
        i += _ws5(z, i)
        if z[i] != "\x00":
            return None, p.nonstd, p.err
        p.nonstd = True
    return p.node, p.nonstd, 0


def parse(text):
    """The root JNode of a JSON (or JSON5) text, or None if it is malformed."""
    return parse_text(text)[0]


def _parse_arg(v):
    """Parse a function's JSON argument; None for NULL; raises "malformed JSON"."""
    if v is None:
        return None
    if v.__class__ is bytes:
        node = decode_blob(v)
        if node is not None:
            return node
    node = parse(to_text(v))
    if node is None:
        raise OperationalError("malformed JSON")
    return node


# ---------------------------------------------------------------- rendering


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def quote_string(s):
    """jsonAppendString: a JSON string literal for text ``s``."""
    out = ['"']
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch < " ":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _value_json(v):
    """jsonAppendValue: JSON text for an SQL value."""
    if v is None:
        return "null"
    cls = v.__class__
    if cls is int or cls is float:
        return to_text(v)
    if cls is str:
        return v if _is_json(v) else quote_string(v)
    node = decode_blob(v)
    if node is not None:
        return to_json(node)
    raise OperationalError("JSON cannot hold BLOB values")


def render(node, out):
    """Append the JSON text of ``node`` (with edits applied) to list ``out``."""
    if node.replace is not None:
        out.append(_value_json(node.replace[0]))
        return
    if node.patch is not None:
        node = node.patch
    t = node.type
    if t == J_NULL:
        out.append("null")
    elif t == J_TRUE:
        out.append("true")
    elif t == J_FALSE:
        out.append("false")
    elif t == J_STRING and node.raw_label:
        out.append(quote_string(node.raw))
    elif t <= J_STRING:
        out.append(_json5_text(node) if node.j5 else node.raw)
    elif t == J_ARRAY:
        out.append("[")
        first = True
        for item in node.items:
            if not item.removed:
                if not first:
                    out.append(",")
                first = False
                render(item, out)
        out.append("]")
    else:
        out.append("{")
        first = True
        for label, value in node.items:
            if not value.removed:
                if not first:
                    out.append(",")
                first = False
                render(label, out)
                out.append(":")
                render(value, out)
        out.append("}")


def _json5_text(node):
    """jsonTranslateBlobToText for INT5, FLOAT5 and TEXT5: the canonical JSON spelling."""
    raw = node.raw
    t = node.type
    if t == J_INT:
        # Hex: SQLite prints the unsigned value, or 9.0e999 once it passes 64 bits.
        sign = "-" if raw[0] == "-" else ""
        digits = raw[len(sign) + 2:]
        u = 0
        for h in digits:
            if u >> 60:
                return sign + "9.0e999"
            u = u * 16 + int(h, 16)
        return sign + str(u)
    if t == J_REAL:
        out = []
        k = 0
        if raw[0] == "-":
            out.append("-")
            k = 1
        if raw[k] == ".":
            out.append("0")
        n = len(raw)
        while k < n:
            c = raw[k]
            out.append(c)
            if c == "." and (k + 1 == n or raw[k + 1] not in _DIGITS):
                out.append("0")
            k += 1
        return "".join(out)
    return '"' + _TEXT5_ESCAPE_RE.sub(_text5_escape, raw[1:-1]) + '"'


def _text5_escape(m):
    """One piece of a JSON5 string that JSON spells differently."""
    x = m.group()
    if x == '"':
        return '\\"'
    if x[0] != "\\":
        return quote_string(x)[1:-1]
    c = x[1]
    if c == "'":
        return "'"
    if c == "v":
        return "\\u000b"
    if c == "0":
        return "\\u0000"
    if c == "x":
        return "\\u00" + x[2:]
    if c in "\r\n\u2028\u2029":
        # A line continuation: nothing.
        return ""
    return x


def to_json(node):
    out = []
    render(node, out)
    return "".join(out)


def _unescape5(raw):
    """The text of a JSON5 string literal (TEXT5): JSON's escapes and JSON5's; a NUL stays."""
    return _UNESCAPE5_RE.sub(_unescape5_one, raw[1:-1])


def _unescape5_one(m):
    x = m.group()
    c = x[1]
    if c in "\r\n\u2028\u2029" and m.end() == len(m.string):
        # jsonUnescapeOneChar: line continuations that end the string leave a NUL.
        return "\x00"
    if c == "u":
        v = int(x[2:6], 16)
        if len(x) == 12:
            v = ((v & 0x3FF) << 10) + (int(x[8:], 16) & 0x3FF) + 0x10000
        return "\ufffd" if 0xD800 <= v <= 0xDFFF else chr(v)
    if c == "x":
        return chr(int(x[2:], 16))
    return _JSON5_ESCAPES.get(c, c)


_JSON5_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\x0b", "0": "\x00",
                  "\n": "", "\r": "", "\u2028": "", "\u2029": ""}
# In a TEXT5 body: an escape (a surrogate pair whole, CR LF as one), or a character JSON escapes.
_UNESCAPE5_RE = re.compile(r"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[0-9a-fA-F]{4}"
                           r"|x[0-9a-fA-F]{2}|\r\n|[\s\S])")
_TEXT5_ESCAPE_RE = re.compile(r'\\(?:x[0-9a-fA-F]{2}|\r\n|[\s\S])|["\x00-\x1f]')


def _unescape(raw):
    """The text of a JSON string literal (escapes decoded; \\u0000 ends it, as in SQLite)."""
    body = raw[1:-1]
    if "\\" not in body:
        return body
    out = []
    i = 0
    n = len(body)
    while i < n:
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        c = body[i + 1]
        i += 2
        if c == "u":
            v = int(body[i:i + 4], 16)
            i += 4
            if v == 0:
                break
            if 0xD800 <= v <= 0xDBFF and body[i:i + 2] == "\\u" and i + 6 <= n:
                lo = int(body[i + 2:i + 6], 16)
                if 0xDC00 <= lo <= 0xDFFF:
                    v = ((v & 0x3FF) << 10) + (lo & 0x3FF) + 0x10000
                    i += 6
            if 0xD800 <= v <= 0xDFFF:
                # A lone surrogate: SQLite writes invalid UTF-8 here.
                v = 0xFFFD
            out.append(chr(v))
        else:
            out.append({"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}.get(c, c))
    return "".join(out)


def _int_value(raw):
    """jsonReturn for an integer literal: INTEGER, or REAL if it does not fit."""
    v = int(raw)
    if MIN_INT64 <= v <= MAX_INT64:
        return v
    return atof(raw)[1]


def _hex_value(raw):
    """jsonReturnFromBlob for a hex integer: INTEGER, REAL past 2**63, and "malformed JSON"
    past 64 bits (sqlite3DecOrHexToI64 gives up there)."""
    neg = raw[0] == "-"
    digits = raw[3:] if neg else raw[2:]
    if len(digits.lstrip("0")) > 16:
        raise OperationalError("malformed JSON")
    v = int(digits, 16)
    if v > MAX_INT64:
        return -float(v) if neg else float(v)
    return -v if neg else v


def sql_value(node):
    """jsonReturn: the SQL value of a node (arrays and objects as JSON text)."""
    t = node.type
    if t == J_NULL:
        return None
    if t == J_TRUE:
        return 1
    if t == J_FALSE:
        return 0
    if t == J_INT:
        return _hex_value(node.raw) if node.j5 else _int_value(node.raw)
    if t == J_REAL:
        return atof(node.raw)[1]
    if t == J_STRING:
        if node.j5:
            return _unescape5(node.raw)
        return node.raw if node.raw_label else _unescape(node.raw)
    return _json_result(to_json(node))


# ---------------------------------------------------------------- paths


class _PathError(Exception):
    def __init__(self, near):
        super().__init__(near)
        self.near = near


def _label_matches(label, key):
    if label.raw_label:
        return label.raw == key
    return label.raw[1:-1] == key


def _lookup_step(node, path, append):
    """jsonLookupStep: the node at ``path`` below ``node``; append[0] becomes True when created."""
    if not path:
        return node
    if node.replace is not None:
        return None
    if path[0] == ".":
        if node.type != J_OBJECT:
            return None
        path = path[1:]
        if path[:1] == '"':
            end = path.find('"', 1)
            if end < 0:
                raise _PathError(path)
            key = path[1:end]
            rest = path[end + 1:]
        else:
            k = 0
            while k < len(path) and path[k] not in ".[":
                k += 1
            if k == 0:
                raise _PathError(path)
            key = path[:k]
            rest = path[k:]
        for label, value in node.items:
            if _label_matches(label, key):
                return _lookup_step(value, rest, append)
        if append is not None:
            new = _lookup_append(rest, append)
            if new is not None:
                label = JNode(J_STRING, key)
                label.raw_label = True
                node.items.append([label, new[0]])
                return new[1]
        return None
    if path[0] == "[":
        j = 1
        while j < len(path) and "0" <= path[j] <= "9":
            j += 1
        if j < 2 or j >= len(path) or path[j] != "]":
            if path[1:2] != "#":
                raise _PathError(path)
            if node.type != J_ARRAY:
                return None
            i = sum(1 for item in node.items if not item.removed)
            j = 2
            if path[2:3] == "-" and path[3:4].isdigit() and path[3:4].isascii():
                j = 3
                while j < len(path) and "0" <= path[j] <= "9":
                    j += 1
                x = int(path[3:j])
                if x > i:
                    return None
                i -= x
            if path[j:j + 1] != "]":
                raise _PathError(path)
        else:
            i = int(path[1:j])
        if node.type != J_ARRAY:
            return None
        rest = path[j + 1:]
        items = node.items
        # SQLite 3.40 walks the original elements and then each appended chunk,
        # restarting its position in every chunk: once an array has appended
        # elements, an index that lands in an earlier chunk resolves in the last one.
        bounds = [0] + (node.chunks or []) + [len(items)]
        k = end = 0
        for c in range(len(bounds) - 1):
            k, end = bounds[c], bounds[c + 1]
            while k < end and (i > 0 or items[k].removed):
                if not items[k].removed:
                    i -= 1
                k += 1
        if k < end:
            return _lookup_step(items[k], rest, append)
        if i == 0 and append is not None:
            new = _lookup_append(rest, append)
            if new is not None:
                if node.chunks is None:
                    node.chunks = []
                node.chunks.append(len(items))
                items.append(new[0])
                return new[1]
        return None
    raise _PathError(path)


def _lookup_append(path, append):
    """jsonLookupAppend: build the missing tail of a path; (new subtree, its target node) or None."""
    append[0] = True
    if not path:
        node = JNode(J_NULL)
        return node, node
    if path[0] == ".":
        root = JNode(J_OBJECT, items=[])
    elif path.startswith("[0]"):
        root = JNode(J_ARRAY, items=[])
    else:
        return None
    target = _lookup_step(root, path, append)
    return None if target is None else (root, target)


def lookup(root, path, append=None):
    """jsonLookup: the node at ``path`` ('$...'), None if absent; raises the path error."""
    if path is None:
        return None
    try:
        if path[:1] != "$":
            raise _PathError(path)
        return _lookup_step(root, path[1:], append)
    except _PathError as e:
        raise OperationalError(f"JSON path error near '{e.near}'") from None


# ---------------------------------------------------------------- scalar functions


def json_(x):
    node = _parse_arg(x)
    return None if node is None else _json_result(to_json(node))


def json_valid(x):
    if x is None:
        return 0
    return _valid(x, 1)


def json_valid2(x, flags):
    """json_valid(X, FLAGS) (3.45+): 1 RFC 8259 text, 2 JSON5 text, 4 a blob that looks like
    JSONB, 8 a blob that is strictly JSONB; any of the bits given."""
    f = int_value(flags)
    if f < 1 or f > 15:
        raise OperationalError("FLAGS parameter to json_valid() must be between 1 and 15")
    if x is None:
        return None
    return _valid(x, f)


def _valid(x, flags):
    if x.__class__ is bytes and jsonb.looks_like_jsonb(x):
        if flags & 4:
            return 1
        if flags & 8:
            return 1 if jsonb.validity_error(x) == 0 else 0
        return 0
    if not flags & 3:
        return 0
    node, nonstd, _ = parse_text(to_text(x))
    return 1 if node is not None and (flags & 2 or not nonstd) else 0


def json_error_position(x):
    """0 for well-formed JSON, JSON5 or JSONB; else the 1-based position of the first error:
    in characters for text, in bytes for a blob that looks like JSONB."""
    if x is None:
        return None
    if x.__class__ is bytes and jsonb.looks_like_jsonb(x):
        return jsonb.validity_error(x)
    # A blob read as text keeps its invalid UTF-8 as surrogate escapes, to count as SQLite does.
    text = x.decode("utf-8", "surrogateescape") if x.__class__ is bytes else to_text(x)
    node, _, err = parse_text(text)
    if node is not None:
        return 0
    # SQLite counts the characters before the error byte; bytes of invalid UTF-8 (here
    # surrogate escapes) that look like continuation bytes do not count.
    head = text[:err].encode("utf-8", "surrogateescape")
    return sum(1 for c in head if c & 0xC0 != 0x80) + 1


def json_extract(x, *paths):
    root = _parse_arg(x)
    if root is None or not paths:
        return None
    if len(paths) == 1:
        if paths[0] is None:
            return None
        node = lookup(root, to_text(paths[0]))
        return None if node is None else sql_value(node)
    out = []
    for p in paths:
        node = lookup(root, None if p is None else to_text(p))
        out.append("null" if node is None else to_json(node))
    return _json_result("[" + ",".join(out) + "]")


def _abbreviated_path(p):
    """The -> and ->> operators accept 'label', 'N' and '[N]' for '$.label' and '$[N]'."""
    path = to_text(p)
    if path[:1] == "$" and (len(path) == 1 or path[1] in ".["):
        return path
    if path[:1].isdigit() and path[:1].isascii():
        return "$[" + path + "]"
    return ("$" if path[:1] == "[" else "$.") + path


def json_arrow(x, p):
    """X -> P: the selected value as JSON text."""
    root = _parse_arg(x)
    if root is None or p is None:
        return None
    node = lookup(root, _abbreviated_path(p))
    return None if node is None else _json_result(to_json(node))


def json_arrow2(x, p):
    """X ->> P: the selected value as an SQL value."""
    root = _parse_arg(x)
    if root is None or p is None:
        return None
    node = lookup(root, _abbreviated_path(p))
    if node is None:
        return None
    v = sql_value(node)
    if v.__class__ is str:
        # ->> clears the subtype: its result is plain text.
        _SUBTYPE_IDS.pop(id(v), None)
    return v


def json_array(*args):
    return _json_result("[" + ",".join(_value_json(a) for a in args) + "]")


def json_object(*args):
    if len(args) % 2:
        raise OperationalError("json_object() requires an even number of arguments")
    parts = []
    blob_error = None
    for i in range(0, len(args), 2):
        key = args[i]
        if key.__class__ is not str:
            raise OperationalError("json_object() labels must be TEXT")
        try:
            parts.append(quote_string(key) + ":" + _value_json(args[i + 1]))
        except OperationalError as e:
            # SQLite records a BLOB error and keeps checking the remaining labels.
            blob_error = e
    if blob_error is not None:
        raise blob_error
    return _json_result("{" + ",".join(parts) + "}")


def json_quote(x):
    return _json_result(_value_json(x))


def _target(x, path, has_path):
    """The node a (X[, PATH]) pair names, or None (X is parsed, and may fail, first)."""
    root = _parse_arg(x)
    if root is None or not has_path:
        return root
    return lookup(root, None if path is None else to_text(path))


def json_type(x):
    node = _target(x, None, False)
    return None if node is None else _TYPE_NAMES[node.type]


def json_type2(x, path):
    node = _target(x, path, True)
    return None if node is None else _TYPE_NAMES[node.type]


def _array_length(node):
    if node is None:
        return None
    return len(node.items) if node.type == J_ARRAY else 0


def json_array_length(x):
    return _array_length(_target(x, None, False))


def json_array_length2(x, path):
    return _array_length(_target(x, path, True))


def _edit_result(root):
    # Replacing the root returns the new value itself, not JSON text (jsonSetFunc).
    if root.replace is not None:
        return root.replace[0]
    return _json_result(to_json(root))


def _editor(name, mode):
    """json_set (mode 2), json_insert (1), json_replace (0)."""
    def edit(*args):
        if not args:
            return None
        if len(args) % 2 == 0:
            raise OperationalError(f"json_{name}() needs an odd number of arguments")
        root = _parse_arg(args[0])
        if root is None:
            return None
        for i in range(1, len(args), 2):
            path = None if args[i] is None else to_text(args[i])
            appended = [False]
            node = lookup(root, path, appended if mode else None)
            if node is not None and (mode != 1 or appended[0]):
                node.replace = (args[i + 1],)
        return _edit_result(root)
    return edit


json_set = _editor("set", 2)
json_insert = _editor("insert", 1)
json_replace = _editor("replace", 0)


def json_remove(x, *paths):
    root = _parse_arg(x)
    if root is None:
        return None
    for p in paths:
        if p is None:
            return None
        node = lookup(root, to_text(p))
        if node is not None:
            node.removed = True
    if root.removed:
        return None
    return _json_result(to_json(root))


def _remove_all_nulls(node):
    for _, value in node.items:
        if value.type == J_NULL:
            value.removed = True
        elif value.type == J_OBJECT:
            _remove_all_nulls(value)


def _merge_patch(target, patch):
    """jsonMergePatch (RFC 7396) with SQLite's raw-label key matching."""
    if patch.type != J_OBJECT:
        return patch
    if target.type != J_OBJECT:
        _remove_all_nulls(patch)
        return patch
    # Only the target's original members are searched: SQLite appends new ones after its end marker.
    original = len(target.items)
    for plabel, pvalue in patch.items:
        for tlabel, tvalue in target.items[:original]:
            if tlabel.raw == plabel.raw:
                if tvalue.removed or tvalue.patch is not None:
                    break
                if pvalue.type == J_NULL:
                    tvalue.removed = True
                else:
                    new = _merge_patch(tvalue, pvalue)
                    if new is not tvalue:
                        tvalue.patch = new
                break
        else:
            if pvalue.type != J_NULL:
                _remove_all_nulls(patch)
                target.items.append([plabel, pvalue])
    return target


def json_patch(x, p):
    target = _parse_arg(x)
    patch = _parse_arg(p)
    if target is None or patch is None:
        return None
    return _json_result(to_json(_merge_patch(target, patch)))


# ---------------------------------------------------------------- aggregates


class JsonGroupArray:
    """json_group_array(X): a JSON array of every row's value (NULL included)."""

    __slots__ = ("parts",)

    def __init__(self):
        self.parts = []

    def step(self, x):
        self.parts.append(_value_json(x))

    def inverse(self, x):
        if self.parts:
            del self.parts[0]

    def value(self):
        return _json_result("[" + ",".join(self.parts) + "]")

    finalize = value


class JsonGroupObject:
    """json_group_object(K, V): a JSON object of the rows' key/value pairs."""

    __slots__ = ("parts",)

    def __init__(self):
        self.parts = []

    def step(self, k, v):
        # A NULL key writes nothing before the ':' (jsonAppendString of a NULL), as in SQLite.
        key = "" if k is None else quote_string(to_text(k))
        self.parts.append(key + ":" + _value_json(v))

    def inverse(self, k, v):
        if self.parts:
            del self.parts[0]

    def value(self):
        return _json_result("{" + ",".join(self.parts) + "}")

    finalize = value


def register_all(reg):
    """Add the JSON functions (and the '->' / '->>' operators, by those names)."""
    r = reg.register
    r("json", 1, json_)
    r("json_valid", 1, json_valid)
    r("json_valid", 2, json_valid2)
    r("json_error_position", 1, json_error_position)
    r("json_extract", -1, json_extract)
    r("->", 2, json_arrow)
    r("->>", 2, json_arrow2)
    r("json_array", -1, json_array)
    r("json_object", -1, json_object)
    r("json_quote", 1, json_quote)
    r("json_type", 1, json_type)
    r("json_type", 2, json_type2)
    r("json_array_length", 1, json_array_length)
    r("json_array_length", 2, json_array_length2)
    r("json_set", -1, json_set)
    r("json_insert", -1, json_insert)
    r("json_replace", -1, json_replace)
    r("json_remove", -1, json_remove)
    r("json_patch", 2, json_patch)
    r("json_group_array", 1, JsonGroupArray, AGGREGATE)
    r("json_group_object", 2, JsonGroupObject, AGGREGATE)
    jsonb.register_all(reg)


# jsonb.py builds on this module's parser and editors, so it is imported once they exist.
from limbodb.functions import jsonb  # noqa: E402
from limbodb.functions.jsonb import decode_blob  # noqa: E402
