"""JSONB: SQLite's binary JSON (3.45+) and the jsonb_* functions.

Owns the blob codec (``decode_blob``: JSONB bytes -> JNode; ``encode``: JNode,
with its json_set/json_patch edits, -> JSONB bytes) and the jsonb forms of the
JSON functions, which reuse json.py's logic and encode the result instead of
rendering it. Element header: the low nibble is the type, the high nibble the
payload size (0-11) or 12/13/14/15 for a 1/2/4/8-byte big-endian size after it.
Like SQLite, text from SQL values and labels added by a path are stored as
TEXTRAW, strings parsed from JSON text as TEXT (no escapes), TEXTJ or (JSON5
escapes) TEXT5, numbers keep their source text (INT5 and FLOAT5 for JSON5's hex
and '.5'/'5.' forms). A blob is read only when jsonbValidityCheck passes; that
check also answers json_valid(X, 8) and json_error_position(). Mirrors sqlite src/json.c (3.45+: jsonbPayloadSize,
jsonTranslateBlobToText, jsonTranslateTextToBlob).
"""

from limbodb.errors import OperationalError
from limbodb.functions import AGGREGATE
from limbodb.functions import json as J
from limbodb.vdbe.value import to_text

JB_NULL, JB_TRUE, JB_FALSE, JB_INT, JB_INT5, JB_FLOAT, JB_FLOAT5 = range(7)
JB_TEXT, JB_TEXTJ, JB_TEXT5, JB_TEXTRAW, JB_ARRAY, JB_OBJECT = range(7, 13)
_MAX_DEPTH = 1000

# ---------------------------------------------------------------- decoding


class _Bad(Exception):
    pass


def _text(b, start, stop):
    try:
        return b[start:stop].decode("utf-8")
    except UnicodeDecodeError:
        raise _Bad from None


def _payload_size(b, i):
    """jsonbPayloadSize: (header bytes, payload size) of the element at ``b[i]``, or (0, 0)
    when its size field or payload runs past the blob (an 8-byte size must fit in 32 bits)."""
    end = len(b)
    s = b[i] >> 4
    if s <= 11:
        n, sz = 1, s
    else:
        n = 1 + (1 << (s - 12))
        if i + n > end or (s == 15 and any(b[i + 1:i + 5])):
            return 0, 0
        sz = int.from_bytes(b[i + 1:i + n], "big")
    if i + n + sz > end:
        return 0, 0
    return n, sz


def might_be_jsonb(b):
    """jsonFuncArgMightBeBinary: the blob is one element whose header fits it exactly."""
    if not b or (b[0] & 0x0F) > JB_OBJECT:
        return False
    n, sz = _payload_size(b, 0)
    return n > 0 and n + sz == len(b) and ((b[0] & 0x0F) > JB_FALSE or sz == 0)


def looks_like_jsonb(b):
    """jsonArgIsJsonb: might_be_jsonb, checked strictly when the blob could as well be JSON
    text ('{', '[' or a digit first)."""
    if not might_be_jsonb(b):
        return False
    c = b[0]
    return (c != 0x7B and c != 0x5B and not 0x30 <= c <= 0x39) or validity_error(b) == 0


def validity_error(b):
    """0 if the blob is well-formed JSONB, else the 1-based byte position of the first
    error (jsonbValidityCheck of the whole blob)."""
    n, sz = _payload_size(b, 0) if b else (0, 0)
    if n == 0 or n + sz != len(b):
        return 1
    return _check(b, 0, len(b), 1)


_TEXT_BAD = frozenset(list(range(0x20)) + [0x22, 0x5C])
_DIGIT_BYTES = frozenset(b"0123456789")
_HEX_BYTES = frozenset(b"0123456789abcdefABCDEF")


def _check(b, i, end, depth):
    """jsonbValidityCheck of the element at ``b[i:end]``: 0 or the 1-based error position."""
    if depth > _MAX_DEPTH:
        return i + 1
    n, sz = _payload_size(b, i)
    x = b[i] & 0x0F
    j = i + n
    k = j + sz
    if x <= JB_FALSE:
        return 0 if n + sz == 1 else i + 1
    if x == JB_INT:
        if sz < 1:
            return i + 1
        if b[j] == 0x2D:
            j += 1
            if sz < 2:
                return i + 1
        for m in range(j, k):
            if b[m] not in _DIGIT_BYTES:
                return m + 1
        return 0
    if x == JB_INT5:
        if sz < 3:
            return i + 1
        if b[j] == 0x2D:
            if sz < 4:
                return i + 1
            j += 1
        if b[j] != 0x30:
            return i + 1
        if b[j + 1] not in b"xX":
            return j + 2
        for m in range(j + 2, k):
            if b[m] not in _HEX_BYTES:
                return m + 1
        return 0
    if x == JB_FLOAT or x == JB_FLOAT5:
        return _check_float(b, i, j, k, sz, x)
    if x == JB_TEXT:
        for m in range(j, k):
            if b[m] in _TEXT_BAD:
                return m + 1
        return 0
    if x == JB_TEXTJ or x == JB_TEXT5:
        return _check_escaped_text(b, j, k, x)
    if x == JB_TEXTRAW:
        return 0
    if x == JB_ARRAY or x == JB_OBJECT:
        count = 0
        while j < k:
            n, sz = _payload_size(b, j)
            if n == 0 or j + n + sz > k:
                return j + 1
            if x == JB_OBJECT and count % 2 == 0 and not JB_TEXT <= (b[j] & 0x0F) <= JB_TEXTRAW:
                return j + 1
            sub = _check(b, j, j + n + sz, depth + 1)
            if sub:
                return sub
            count += 1
            j += n + sz
        return j + 1 if x == JB_OBJECT and count % 2 else 0
    return i + 1


def _check_float(b, i, j, k, sz, x):
    seen = 0  # 1: '.' seen, 2: 'e' seen
    if sz < 2:
        return i + 1
    if b[j] == 0x2D:
        j += 1
        if sz < 3:
            return i + 1
    if b[j] == 0x2E:
        if x == JB_FLOAT or j + 1 >= k or b[j + 1] not in _DIGIT_BYTES:
            return j + 1
        j += 2
        seen = 1
    elif b[j] == 0x30 and x == JB_FLOAT:
        if j + 3 > k:
            return j + 1
        if b[j + 1] not in b".eE":
            return j + 1
        j += 1
    while j < k:
        c = b[j]
        if c in _DIGIT_BYTES:
            j += 1
            continue
        if c == 0x2E:
            if seen > 0:
                return j + 1
            if x == JB_FLOAT and (j == k - 1 or b[j + 1] not in _DIGIT_BYTES):
                return j + 1
            seen = 1
        elif c in b"eE":
            if seen == 2 or j == k - 1:
                return j + 1
            if b[j + 1] in b"+-":
                j += 1
                if j == k - 1:
                    return j + 1
            seen = 2
        else:
            return j + 1
        j += 1
    return i + 1 if seen == 0 else 0


def _check_escaped_text(b, j, k, x):
    while j < k:
        c = b[j]
        if c in _TEXT_BAD:
            if c == 0x22 or c < 0x20:
                # A '"' or a control character is allowed in a JSON5 string only.
                if x == JB_TEXTJ:
                    return j + 1
            elif j + 1 >= k:
                return j + 1
            elif b[j + 1] in b'"\\/bfnrt\x00':
                # NUL too: SQLite tests the byte with strchr(), which finds the terminator.
                j += 1
            elif b[j + 1] == 0x75:
                if j + 5 >= k or any(h not in _HEX_BYTES for h in b[j + 2:j + 6]):
                    return j + 1
                j += 1
            elif x != JB_TEXT5:
                return j + 1
            else:
                size = _json5_escape_size(b, j, k)
                if not size:
                    return j + 1
                j += size - 1
        j += 1
    return 0


def _json5_escape_size(b, j, k):
    """jsonUnescapeOneChar for the escapes only JSON5 has, at ``b[j]`` (a backslash): the
    bytes the escape takes, or 0 if it is not one. Like SQLite, ``\\x`` takes the next two
    bytes whatever they are, and a line continuation takes the character after it too."""
    c = b[j + 1]
    if c in b"'v":
        return 2
    if c == 0x30:
        # "\0" followed by a digit is not JSON5 (SQLite 3.50+).
        return 0 if j + 2 < k and b[j + 2] in _DIGIT_BYTES else 2
    if c == 0x78:
        return 4 if j + 4 <= k else 0
    if c in b"\r\n\xe2":
        skip = _line_continuations(b, j, k)
        if skip == 0:
            return 0
        m = j + skip
        if m == k:
            return skip
        if b[m] == 0x5C:
            if m + 1 >= k:
                return 0
            if b[m + 1] in b'"\\/bfnrt':
                return skip + 2
            if b[m + 1] == 0x75:
                return skip + 6 if m + 6 <= k else 0
            more = _json5_escape_size(b, m, k)
            return skip + more if more else 0
        size = 1
        while m + size < k and 0x80 <= b[m + size] < 0xC0 and b[m] >= 0xC0:
            size += 1
        return skip + size
    return 0


def _line_continuations(b, j, k):
    """jsonBytesToBypass: the bytes of the backslash-newline sequences starting at ``b[j]``."""
    i = j
    while i + 1 < k:
        if b[i] != 0x5C:
            break
        c = b[i + 1]
        if c == 0x0A:
            i += 2
        elif c == 0x0D:
            i += 3 if i + 2 < k and b[i + 2] == 0x0A else 2
        elif c == 0xE2 and i + 3 < k and b[i + 2] == 0x80 and b[i + 3] in (0xA8, 0xA9):
            i += 4
        else:
            break
    return i - j


def _decode(b, i, depth):
    """The JNode of the (valid) element at ``b[i]`` and the index after it."""
    n, sz = _payload_size(b, i)
    t = b[i] & 0x0F
    start = i + n
    stop = start + sz
    if t <= JB_FALSE:
        return J.JNode((J.J_NULL, J.J_TRUE, J.J_FALSE)[t]), stop
    if t <= JB_FLOAT5:
        node = J.JNode(J.J_INT if t <= JB_INT5 else J.J_REAL, b[start:stop].decode("ascii"))
        node.j5 = t == JB_INT5 or t == JB_FLOAT5
        return node, stop
    if t == JB_TEXTRAW:
        node = J.JNode(J.J_STRING, _text(b, start, stop))
        node.raw_label = True
        return node, stop
    if t <= JB_TEXT5:
        node = J.JNode(J.J_STRING, '"' + _text(b, start, stop) + '"', escaped=t != JB_TEXT)
        node.j5 = t == JB_TEXT5
        return node, stop
    items = []
    k = start
    if t == JB_ARRAY:
        while k < stop:
            item, k = _decode(b, k, depth + 1)
            items.append(item)
        return J.JNode(J.J_ARRAY, items=items), stop
    while k < stop:
        label, k = _decode(b, k, depth + 1)
        value, k = _decode(b, k, depth + 1)
        items.append([label, value])
    return J.JNode(J.J_OBJECT, items=items), stop


def decode_blob(b):
    """The JNode a JSONB blob holds, or None if ``b`` is not well-formed JSONB."""
    if not might_be_jsonb(b) or validity_error(b):
        return None
    try:
        return _decode(b, 0, 0)[0]
    except (_Bad, RecursionError):
        return None


# ---------------------------------------------------------------- encoding


def _append(out, t, payload):
    n = len(payload)
    if n <= 11:
        out.append(bytes(((n << 4) | t,)))
    elif n <= 0xFF:
        out.append(bytes((0xC0 | t, n)))
    elif n <= 0xFFFF:
        out.append(bytes((0xD0 | t,)) + n.to_bytes(2, "big"))
    else:
        out.append(bytes((0xE0 | t,)) + n.to_bytes(4, "big"))
    out.append(payload)


def _encode_sql_value(v, out):
    """jsonFunctionArgToBlob: an SQL value as a JSONB element."""
    if v is None:
        out.append(b"\x00")
        return
    cls = v.__class__
    if cls is int:
        _append(out, JB_INT, str(v).encode())
    elif cls is float:
        node = J.parse(to_text(v))
        if node is not None:
            _encode_node(node, out)
        elif v != v:
            out.append(b"\x00")
        else:
            # Infinity has no JSON spelling: SQLite writes 9e999.
            _append(out, JB_FLOAT, b"-9e999" if v < 0 else b"9e999")
    elif cls is str:
        if J._is_json(v):
            node = J.parse(v)
            if node is not None:
                _encode_node(node, out)
                return
        _append(out, JB_TEXTRAW, v.encode("utf-8"))
    else:
        node = decode_blob(v)
        if node is None:
            raise OperationalError("JSON cannot hold BLOB values")
        out.append(bytes(v))


def _widen(old_size, new):
    """jsonBlobOverwrite: ``new`` with its header widened to fill ``old_size`` bytes, when it can be.

    SQLite edits a blob in place; a replacement 1-8 bytes shorter than the element it
    overwrites gets a wider size field (2, 3, 5 or 9 header bytes) instead of a memmove.
    """
    d = old_size - len(new)
    if d < 1 or d > 8 or (new[0] & 0x0F) <= JB_FALSE:
        return new
    s = new[0] >> 4
    hdr = 1 if s <= 11 else 1 + (1 << (s - 12))
    wide = hdr + d
    if wide not in (2, 3, 5, 9):
        return new
    payload = new[hdr:]
    return bytes((_WIDE_SIZE[wide] | (new[0] & 0x0F),)) + len(payload).to_bytes(wide - 1, "big") + payload


_WIDE_SIZE = {2: 0xC0, 3: 0xD0, 5: 0xE0, 9: 0xF0}


def _replace(node, v):
    """Replace an existing ``node`` by SQL value ``v``, keeping SQLite's in-place header widening."""
    old = len(encode(node))
    out = []
    _encode_sql_value(v, out)
    node.replace = (v, _widen(old, b"".join(out)))


def _encode_node(node, out):
    if node.replace is not None:
        if len(node.replace) == 2:
            out.append(node.replace[1])
        else:
            _encode_sql_value(node.replace[0], out)
        return
    if node.patch is not None:
        patch = node.patch
        if patch.type != J.J_OBJECT:
            node.patch = None
            old = len(encode(node))
            node.patch = patch
            out.append(_widen(old, encode(patch)))
            return
        node = patch
    t = node.type
    if t == J.J_NULL:
        out.append(b"\x00")
    elif t == J.J_TRUE:
        out.append(b"\x01")
    elif t == J.J_FALSE:
        out.append(b"\x02")
    elif t == J.J_INT:
        _append(out, JB_INT5 if node.j5 else JB_INT, node.raw.encode())
    elif t == J.J_REAL:
        _append(out, JB_FLOAT5 if node.j5 else JB_FLOAT, node.raw.encode())
    elif t == J.J_STRING:
        if node.raw_label:
            _append(out, JB_TEXTRAW, node.raw.encode("utf-8"))
        else:
            kind = JB_TEXT5 if node.j5 else JB_TEXTJ if node.escaped else JB_TEXT
            _append(out, kind, node.raw[1:-1].encode("utf-8"))
    else:
        body = []
        if t == J.J_ARRAY:
            for item in node.items:
                if not item.removed:
                    _encode_node(item, body)
        else:
            for label, value in node.items:
                if not value.removed:
                    _encode_node(label, body)
                    _encode_node(value, body)
        _append(out, JB_ARRAY if t == J.J_ARRAY else JB_OBJECT, b"".join(body))


def encode(node):
    """The JSONB blob of ``node`` with its edits applied."""
    out = []
    _encode_node(node, out)
    return b"".join(out)


def _from_text_result(v):
    """A json_* result (JSON text, NULL, or an SQL value replacing the root) as JSONB."""
    if v is None:
        return None
    out = []
    if v.__class__ is str and J._is_json(v):
        _encode_node(J.parse(v), out)
    else:
        _encode_sql_value(v, out)
    return b"".join(out)


# ---------------------------------------------------------------- functions


def jsonb_(x):
    node = J._parse_arg(x)
    return None if node is None else encode(node)


def jsonb_array(*args):
    # SQLite builds the JSON text and parses it, so strings come out as TEXT/TEXTJ, not TEXTRAW.
    return _from_text_result(J.json_array(*args))


def jsonb_object(*args):
    return _from_text_result(J.json_object(*args))


def jsonb_extract(x, *paths):
    root = J._parse_arg(x)
    if root is None or not paths:
        return None
    if len(paths) == 1:
        if paths[0] is None:
            return None
        node = J.lookup(root, to_text(paths[0]))
        if node is None:
            return None
        # Only arrays and objects come back as JSONB; scalars are plain SQL values.
        return encode(node) if node.type >= J.J_ARRAY else J.sql_value(node)
    return _from_text_result(J.json_extract(x, *paths))


def _editor(mode, name):
    def edit(*args):
        if not args:
            return None
        if len(args) % 2 == 0:
            raise OperationalError(f"jsonb_{name}() needs an odd number of arguments")
        root = J._parse_arg(args[0])
        if root is None:
            return None
        for i in range(1, len(args), 2):
            path = None if args[i] is None else to_text(args[i])
            appended = [False]
            node = J.lookup(root, path, appended if mode else None)
            if node is None:
                continue
            if appended[0]:
                node.replace = (args[i + 1],)
            elif mode != 1:
                _replace(node, args[i + 1])
        return encode(root)
    return edit


def jsonb_remove(x, *paths):
    root = J._parse_arg(x)
    if root is None:
        return None
    for p in paths:
        if p is None:
            return None
        node = J.lookup(root, to_text(p))
        if node is not None:
            node.removed = True
    return None if root.removed else encode(root)


def jsonb_patch(x, p):
    target = J._parse_arg(x)
    patch = J._parse_arg(p)
    if target is None or patch is None:
        return None
    merged = J._merge_patch(target, patch)
    if merged.type != J.J_OBJECT:
        # A non-object patch replaces the whole target in place.
        return _widen(len(encode(target)), encode(merged))
    return encode(merged)


class JsonbGroupArray(J.JsonGroupArray):
    """jsonb_group_array(X): json_group_array's array as JSONB."""

    __slots__ = ()

    def value(self):
        return _from_text_result(super().value())

    finalize = value


class JsonbGroupObject(J.JsonGroupObject):
    """jsonb_group_object(K, V): json_group_object's object as JSONB."""

    __slots__ = ()

    def value(self):
        return _from_text_result(super().value())

    finalize = value


def register_all(reg):
    """Add the jsonb_* functions (called from json.register_all)."""
    r = reg.register
    r("jsonb", 1, jsonb_)
    r("jsonb_array", -1, jsonb_array)
    r("jsonb_object", -1, jsonb_object)
    r("jsonb_extract", -1, jsonb_extract)
    r("jsonb_set", -1, _editor(2, "set"))
    r("jsonb_insert", -1, _editor(1, "insert"))
    r("jsonb_replace", -1, _editor(0, "replace"))
    r("jsonb_remove", -1, jsonb_remove)
    r("jsonb_patch", 2, jsonb_patch)
    r("jsonb_group_array", 1, JsonbGroupArray, AGGREGATE)
    r("jsonb_group_object", 2, JsonbGroupObject, AGGREGATE)
