"""JSONB: SQLite's binary JSON (3.45+) and the jsonb_* functions.

Owns the blob codec (``decode_blob``: JSONB bytes -> JNode; ``encode``: JNode,
with its json_set/json_patch edits, -> JSONB bytes) and the jsonb forms of the
JSON functions, which reuse json.py's logic and encode the result instead of
rendering it. Element header: the low nibble is the type, the high nibble the
payload size (0-11) or 12/13/14/15 for a 1/2/4/8-byte big-endian size after it.
Like SQLite, text from SQL values and labels added by a path are stored as
TEXTRAW, strings parsed from JSON text as TEXT (no escapes) or TEXTJ, numbers
keep their source text. Mirrors sqlite src/json.c (3.45+: jsonbPayloadSize,
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


def _header(b, i, end):
    """(type, payload start, payload end) of the element at ``i``; raises _Bad."""
    if i >= end:
        raise _Bad
    x = b[i]
    t = x & 0x0F
    s = x >> 4
    if s <= 11:
        start = i + 1
        size = s
    else:
        n = 1 << (s - 12)
        start = i + 1 + n
        if start > end:
            raise _Bad
        size = int.from_bytes(b[i + 1:start], "big")
    stop = start + size
    if stop > end or t > JB_OBJECT:
        raise _Bad
    return t, start, stop


def _text(b, start, stop):
    try:
        return b[start:stop].decode("utf-8")
    except UnicodeDecodeError:
        raise _Bad from None


def _decode(b, i, end, depth):
    t, start, stop = _header(b, i, end)
    if depth > _MAX_DEPTH:
        raise _Bad
    if t <= JB_FALSE:
        if stop != start:
            raise _Bad
        return J.JNode((J.J_NULL, J.J_TRUE, J.J_FALSE)[t]), stop
    if t == JB_INT or t == JB_FLOAT:
        raw = _text(b, start, stop)
        node, k = J._parse_number(raw, 0) if raw else (None, 0)
        if node is None or k != len(raw) or (t == JB_INT) != (node.type == J.J_INT):
            raise _Bad
        return node, stop
    if t == JB_TEXT or t == JB_TEXTJ:
        node = J.parse('"' + _text(b, start, stop) + '"')
        if node is None or node.type != J.J_STRING:
            raise _Bad
        return node, stop
    if t == JB_TEXTRAW:
        node = J.JNode(J.J_STRING, _text(b, start, stop))
        node.raw_label = True
        return node, stop
    if t == JB_ARRAY:
        items = []
        k = start
        while k < stop:
            item, k = _decode(b, k, stop, depth + 1)
            items.append(item)
        return J.JNode(J.J_ARRAY, items=items), stop
    if t == JB_OBJECT:
        items = []
        k = start
        while k < stop:
            label, k = _decode(b, k, stop, depth + 1)
            if label.type != J.J_STRING:
                raise _Bad
            value, k = _decode(b, k, stop, depth + 1)
            items.append([label, value])
        return J.JNode(J.J_OBJECT, items=items), stop
    # INT5, FLOAT5 and TEXT5 (JSON5 forms) are never produced by limbodb; treat them as not JSONB.
    raise _Bad


def decode_blob(b):
    """The JNode a JSONB blob holds, or None if ``b`` is not well-formed JSONB."""
    try:
        node, k = _decode(b, 0, len(b), 0)
    except (_Bad, RecursionError):
        return None
    return node if k == len(b) else None


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
        _append(out, JB_INT, node.raw.encode())
    elif t == J.J_REAL:
        _append(out, JB_FLOAT, node.raw.encode())
    elif t == J.J_STRING:
        if node.raw_label:
            _append(out, JB_TEXTRAW, node.raw.encode("utf-8"))
        else:
            _append(out, JB_TEXTJ if node.escaped else JB_TEXT, node.raw[1:-1].encode("utf-8"))
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
