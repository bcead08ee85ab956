"""JSON SQL functions (SQLite 3.40's json1): json, json_valid, json_extract, ->, ->>, json_array,
json_object, json_type, json_insert/replace/set/remove, json_patch, json_array_length, json_quote,
and the json_group_array/json_group_object aggregates. json_each/json_tree (table-valued) are not here;
JSONB blobs are accepted wherever JSON text is (decoded by jsonb.py, which holds the jsonb_* forms).

Parsing keeps each number's and string's source text, so json() re-renders
literals exactly as written (1.0 stays 1.0, escapes stay escaped), object keys
keep their order and duplicates, and paths match keys by their raw text, as
SQLite does. SQLite marks JSON-valued results with a subtype so that
json_array(json('[1]')) nests instead of quoting; limbodb remembers the
identity of its recent JSON-valued result strings (``_subtype``), which covers
direct nesting inside one expression. Mirrors sqlite src/json.c (3.40).
"""

from limbodb.errors import OperationalError
from limbodb.functions import AGGREGATE
from limbodb.vdbe.value import MAX_INT64, MIN_INT64, atof, to_text

J_NULL, J_TRUE, J_FALSE, J_INT, J_REAL, J_STRING, J_ARRAY, J_OBJECT = range(8)
_TYPE_NAMES = ("null", "true", "false", "integer", "real", "text", "array", "object")
_MAX_DEPTH = 2000
_WS = " \t\n\r"
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

    __slots__ = ("type", "raw", "items", "escaped", "removed", "replace", "patch", "raw_label", "chunks")

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


class _Malformed(Exception):
    pass


def _parse_value(z, i, depth):
    """(node, next index); raises _Malformed. Returns (None, -2/-3) at '}' / ']'."""
    n = len(z)
    while i < n and z[i] in _WS:
        i += 1
    if i >= n:
        raise _Malformed
    c = z[i]
    if c == "{":
        items = []
        j = i + 1
        while True:
            while j < n and z[j] in _WS:
                j += 1
            if depth + 1 > _MAX_DEPTH:
                raise _Malformed
            label, x = _parse_value(z, j, depth + 1)
            if label is None:
                if x == -2 and not items:
                    return JNode(J_OBJECT, items=items), j + 1
                raise _Malformed
            if label.type != J_STRING:
                raise _Malformed
            j = x
            while j < n and z[j] in _WS:
                j += 1
            if j >= n or z[j] != ":":
                raise _Malformed
            value, x = _parse_value(z, j + 1, depth + 1)
            if value is None:
                raise _Malformed
            items.append([label, value])
            j = x
            while j < n and z[j] in _WS:
                j += 1
            if j < n and z[j] == ",":
                j += 1
                continue
            if j >= n or z[j] != "}":
                raise _Malformed
            return JNode(J_OBJECT, items=items), j + 1
    if c == "[":
        items = []
        j = i + 1
        while True:
            while j < n and z[j] in _WS:
                j += 1
            if depth + 1 > _MAX_DEPTH:
                raise _Malformed
            value, x = _parse_value(z, j, depth + 1)
            if value is None:
                if x == -3 and not items:
                    return JNode(J_ARRAY, items=items), j + 1
                raise _Malformed
            items.append(value)
            j = x
            while j < n and z[j] in _WS:
                j += 1
            if j < n and z[j] == ",":
                j += 1
                continue
            if j >= n or z[j] != "]":
                raise _Malformed
            return JNode(J_ARRAY, items=items), j + 1
    if c == '"':
        j = i + 1
        escaped = False
        while True:
            if j >= n or z[j] < " ":
                raise _Malformed
            ch = z[j]
            if ch == "\\":
                j += 1
                e = z[j] if j < n else ""
                if e and e in '"\\/bfnrt' or (e == "u" and len(z) >= j + 5 and all(h in _HEX for h in z[j + 1:j + 5])):
                    escaped = True
                else:
                    raise _Malformed
            elif ch == '"':
                break
            j += 1
        return JNode(J_STRING, z[i:j + 1], escaped=escaped), j + 1
    if c == "n" and z.startswith("null", i) and not _isalnum(z, i + 4):
        return JNode(J_NULL), i + 4
    if c == "t" and z.startswith("true", i) and not _isalnum(z, i + 4):
        return JNode(J_TRUE), i + 4
    if c == "f" and z.startswith("false", i) and not _isalnum(z, i + 5):
        return JNode(J_FALSE), i + 5
    if c == "-" or "0" <= c <= "9":
        return _parse_number(z, i)
    if c == "}":
        return None, -2
    if c == "]":
        return None, -3
    raise _Malformed


def _isalnum(z, i):
    return i < len(z) and z[i] < "\x80" and z[i].isalnum()


def _parse_number(z, i):
    n = len(z)

    def at(k):
        return z[k] if k < n else "\x00"
    c = z[i]
    if c <= "0":
        j = i + 1 if c == "-" else i
        if at(j) == "0" and "0" <= at(j + 1) <= "9":
            raise _Malformed
    seen_dp = seen_e = False
    j = i + 1
    while True:
        c = at(j)
        if "0" <= c <= "9":
            j += 1
            continue
        if c == ".":
            if z[j - 1] == "-" or seen_dp:
                raise _Malformed
            seen_dp = True
            j += 1
            continue
        if c == "e" or c == "E":
            if z[j - 1] < "0" or seen_e:
                raise _Malformed
            seen_dp = seen_e = True
            c = at(j + 1)
            if c == "+" or c == "-":
                j += 1
                c = at(j + 1)
            if not "0" <= c <= "9":
                raise _Malformed
            j += 1
            continue
        break
    if z[j - 1] < "0":
        raise _Malformed
    return JNode(J_REAL if seen_dp else J_INT, z[i:j]), j


def parse(text):
    """The root JNode of a JSON text, or None if it is malformed."""
    nul = text.find("\x00")
    if nul >= 0:
        text = text[:nul]
    try:
        node, i = _parse_value(text, 0, 0)
    except (_Malformed, RecursionError):
        return None
    if node is None:
        return None
    n = len(text)
    while i < n and text[i] in _WS:
        i += 1
    return node if i == n else None


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
        out.append(node.raw)
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


def to_json(node):
    out = []
    render(node, out)
    return "".join(out)


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
        return _int_value(node.raw)
    if t == J_REAL:
        return atof(node.raw)[1]
    if t == J_STRING:
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
    if x.__class__ is bytes and decode_blob(x) is not None:
        # json_valid(X) accepts RFC 8259 text only; a blob that reads as JSONB is not that (3.45+).
        return 0
    return 0 if parse(to_text(x)) is None else 1


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
