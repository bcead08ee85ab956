"""Table-valued functions: generate_series, json_each, json_tree and the pragma_* functions.

Each ``TableFunction`` names its columns (visible ones, then the HIDDEN ones
its arguments bind to, as SQLite's eponymous virtual tables declare them) and
produces its rows from the argument values: ``rows(conn, args)`` returns an
iterable of ``(rowid, values)`` pairs, values covering every column; the VM's
VFilter (vdbe/execute_tvf.py) walks them with a forward-only cursor.
Mirrors sqlite ext/misc/series.c, src/json.c (json_each/json_tree, 3.40)
and src/pragma.c (pragma virtual tables).
"""

from limbodb.errors import OperationalError
from limbodb.functions import FUNCTIONS as BUILTINS
from limbodb.functions import SCALAR
from limbodb.functions import json as J
from limbodb.functions.window import WINDOW
from limbodb.vdbe.value import int_value, to_text

_SERIES_STOP = 0xFFFFFFFF


class TableFunction:
    """One table-valued function: ``columns`` (all), ``nvisible`` of them shown by '*'."""

    __slots__ = ("name", "columns", "nvisible", "rows")

    def __init__(self, name, columns, nvisible, rows):
        self.name = name
        self.columns = columns
        self.nvisible = nvisible
        self.rows = rows

    @property
    def max_args(self):
        return len(self.columns) - self.nvisible


# ---------------------------------------------------------------- generate_series

def _series_rows(conn, args):
    """series.c (3.40): a NULL argument gives no rows; step 0 counts as 1; a negative step
    walks the same values from the top down."""
    if any(a is None for a in args):
        return
    start = int_value(args[0]) if args else 0
    stop = int_value(args[1]) if len(args) > 1 else _SERIES_STOP
    step = int_value(args[2]) if len(args) > 2 else 1
    desc = step < 0
    step = abs(step) or 1
    values = range(start, stop + 1, step)
    for v in (reversed(values) if desc else values):
        yield v, [v, start, stop, step]


# ---------------------------------------------------------------- json_each / json_tree

def _flatten(root):
    """SQLite's parse array: (JNode, is_label) in document order (a member's label precedes
    its value) and each entry's container index (``aUp``)."""
    nodes = []
    up = []
    stack = [(root, False, 0)]
    while stack:
        node, is_label, parent = stack.pop()
        i = len(nodes)
        nodes.append((node, is_label))
        up.append(parent)
        if is_label:
            continue
        if node.type == J.J_ARRAY:
            stack.extend((x, False, i) for x in reversed(node.items))
        elif node.type == J.J_OBJECT:
            for label, v in reversed(node.items):
                stack.append((v, False, i))
                stack.append((label, True, i))
    return nodes, up


def _object_step(label):
    """jsonAppendObjectPathElement: ``.name``, quoted unless it is alphanumeric."""
    z = label.raw if label.raw_label else label.raw[1:-1]
    if z and z[0].isascii() and z[0].isalpha() and all(c.isascii() and c.isalnum() for c in z):
        return "." + z
    return '."' + z + '"'


def _json_rows(tree):
    """jsonEachFilter/Next/Column (3.40), including its quirks: a json_tree started below an
    array reports that array's position as [0] in paths, since the array was never walked."""
    def rows(conn, args):
        if not args or args[0] is None:
            return []
        json_arg = args[0]
        root = J._parse_arg(json_arg)
        zroot = None
        target = root
        if len(args) > 1:
            if args[1] is None:
                return []
            zroot = to_text(args[1])
            target = J.lookup(root, zroot)
            if target is None:
                return []
        nodes, up = _flatten(root)
        index = {id(n): k for k, (n, lab) in enumerate(nodes) if not lab}
        ikey = [0] * len(nodes)
        root_text = "$" if zroot is None else zroot

        def path_of(i):
            parts = []
            while i:
                u = up[i]
                if nodes[u][0].type == J.J_ARRAY:
                    parts.append(f"[{ikey[u]}]")
                else:
                    parts.append(_object_step(nodes[i][0] if nodes[i][1] else nodes[i - 1][0]))
                i = u
            return "$" + "".join(reversed(parts))

        def row(i, etype, rowid, begin):
            node, is_label = nodes[i]
            this = nodes[i + 1][0] if is_label else node
            t = this.type
            value = J.sql_value(this)
            key = None
            if i != 0:
                if etype == J.J_OBJECT:
                    key = J.sql_value(node)
                elif etype == J.J_ARRAY:
                    key = (ikey[up[i]] if rowid else None) if tree else rowid
            if tree:
                parent = up[i] if i > begin else None
                fullkey = path_of(i)
                path = path_of(up[i])
            else:
                parent = None
                fullkey = root_text
                if etype == J.J_ARRAY:
                    fullkey += f"[{rowid}]"
                elif etype == J.J_OBJECT:
                    fullkey += _object_step(node)
                path = root_text
            return [key, value, J._TYPE_NAMES[t], None if t >= J.J_ARRAY else value,
                    i + (1 if is_label else 0), parent, fullkey, path, json_arg, root_text]

        i = begin = index[id(target)]
        etype = target.type
        if etype < J.J_ARRAY:
            return [(0, row(i, etype, 0, begin))]
        end = i + _size(target)
        out = []
        if tree:
            etype = nodes[up[i]][0].type if i else etype
            if i > 0 and nodes[i - 1][1]:
                i -= 1
            while i < end:
                out.append((len(out), row(i, etype, len(out), begin)))
                if nodes[i][1]:
                    i += 1
                i += 1
                if i < end:
                    u = up[i]
                    etype = nodes[u][0].type
                    if etype == J.J_ARRAY:
                        ikey[u] = 0 if u == i - 1 else ikey[u] + 1
            return out
        i += 1
        while i < end:
            out.append((len(out), row(i, etype, len(out), begin)))
            i += _size(nodes[i + 1][0]) + 1 if nodes[i][1] else _size(nodes[i][0])
        return out
    return rows


def _size(node):
    """Entries a value spans in the parse array (itself and its descendants)."""
    if node.type == J.J_ARRAY:
        return 1 + sum(_size(x) for x in node.items)
    if node.type == J.J_OBJECT:
        return 1 + sum(1 + _size(v) for _, v in node.items)
    return 1


# ---------------------------------------------------------------- pragma_* functions

_STANDARD_TYPES = frozenset(("INT", "INTEGER", "REAL", "TEXT", "BLOB", "ANY"))


def _table_info(extended):
    def rows(conn, args):
        t = conn.schema.get_table(to_text(args[0])) if args and args[0] is not None else None
        out = []
        if t is None:
            return out
        pk = {c: k + 1 for k, c in enumerate(t.primary_key)}
        cid = 0
        for i, c in enumerate(t.columns):
            if c.hidden and not extended:
                continue
            decl = c.decl_type
            notnull = c.notnull or (t.without_rowid and i in t.primary_key)
            row = [cid if not extended else i, c.name, decl.upper() if decl.upper() in _STANDARD_TYPES else decl,
                   int(bool(notnull)), c.default_text, pk.get(i, 0)]
            if extended:
                row.append(c.hidden)
            out.append((len(out) + 1, row + [args[0], None]))
            cid += 1
        return out
    return rows


def _index_list(conn, args):
    t = conn.schema.get_table(to_text(args[0])) if args and args[0] is not None else None
    if t is None:
        return []
    return [(seq + 1, [seq, idx.name, int(bool(idx.unique)), idx.origin, int(idx.where is not None),
                       args[0], None])
            for seq, idx in enumerate(reversed(list(t.indexes)))]


def index_xinfo_rows(t, idx, extended):
    """PRAGMA index_info / index_xinfo rows (seqno, cid, name[, desc, coll, key]) of index ``idx`` on ``t``.

    index_xinfo adds the columns stored after the key: the rowid, or in a WITHOUT ROWID
    table the primary key columns the index lacks (the primary key index itself stores
    every other column there, always with BINARY). Collations show as written.
    """
    out = []
    for k, ic in enumerate(idx.columns):
        name = t.columns[ic.col].name if ic.col >= 0 else None
        row = [k, ic.col if ic.col >= 0 else -2, name]
        if extended:
            row += [int(bool(ic.desc)), ic.collation, 1]
        out.append(row)
    if not extended:
        return out
    if not t.without_rowid:
        out.append([len(out), -1, None, 0, "BINARY", 0])
        return out
    keyed = {ic.col for ic in idx.columns}
    if idx.origin == "pk":
        tail = [(i, 0, "BINARY") for i in range(len(t.columns)) if i not in keyed]
    else:
        pk_index = next(x for x in t.indexes if x.origin == "pk")
        tail = [(ic.col, int(bool(ic.desc)), ic.collation) for ic in pk_index.columns if ic.col not in keyed]
    for col, desc, coll in tail:
        out.append([len(out), col, t.columns[col].name, desc, coll, 0])
    return out


def _index_info(extended):
    def rows(conn, args):
        idx = conn.schema.indexes.get(to_text(args[0]).lower()) if args and args[0] is not None else None
        if idx is None:
            return []
        out = index_xinfo_rows(conn.schema.get_table(idx.table), idx, extended)
        return [(k + 1, r + [args[0], None]) for k, r in enumerate(out)]
    return rows


FUNCTION_LIST_COLUMNS = ["name", "builtin", "type", "enc", "narg", "flags"]
# sqlite3.h's SQLITE_DETERMINISTIC, as PRAGMA function_list reports it in "flags".
_DETERMINISTIC = 0x800


def function_list_rows(conn):
    """PRAGMA function_list rows: every function the connection can call (built-in or user)."""
    rows = []
    for (fname, nargs), fd in sorted(conn.functions.defs.items()):
        builtin = int(BUILTINS.defs.get((fname, nargs)) is fd)
        if fd.kind == SCALAR:
            kind = "s"
        else:
            # Every built-in aggregate also runs as a window function; a user one only with inverse().
            kind = "w" if builtin or fd.kind == WINDOW or hasattr(fd.fn, "inverse") else "a"
        rows.append((fname, builtin, kind, "utf8", nargs, _DETERMINISTIC if fd.deterministic else 0))
    return rows


def _function_list(conn, args):
    return [(k + 1, list(r)) for k, r in enumerate(function_list_rows(conn))]


_JSON_COLS = ["key", "value", "type", "atom", "id", "parent", "fullkey", "path", "json", "root"]
_TABLE_INFO = ["cid", "name", "type", "notnull", "dflt_value", "pk"]
_INDEX_XINFO = ["seqno", "cid", "name", "desc", "coll", "key"]

FUNCTIONS = {f.name: f for f in (
    TableFunction("generate_series", ["value", "start", "stop", "step"], 1, _series_rows),
    TableFunction("json_each", _JSON_COLS, 8, _json_rows(False)),
    TableFunction("json_tree", _JSON_COLS, 8, _json_rows(True)),
    TableFunction("pragma_table_info", _TABLE_INFO + ["arg", "schema"], 6, _table_info(False)),
    TableFunction("pragma_table_xinfo", _TABLE_INFO + ["hidden", "arg", "schema"], 7, _table_info(True)),
    TableFunction("pragma_index_list", ["seq", "name", "unique", "origin", "partial", "arg", "schema"], 5,
                  _index_list),
    TableFunction("pragma_index_info", _INDEX_XINFO[:3] + ["arg", "schema"], 3, _index_info(False)),
    TableFunction("pragma_index_xinfo", _INDEX_XINFO + ["arg", "schema"], 6, _index_info(True)),
    TableFunction("pragma_function_list", FUNCTION_LIST_COLUMNS, 6, _function_list),
)}


def lookup(name):
    """The TableFunction called ``name`` (case-insensitive), or None."""
    return FUNCTIONS.get(name.lower())


def too_many_args(fn):
    return OperationalError(f"too many arguments on {fn.name}() - max {fn.max_args}")
