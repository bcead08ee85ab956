"""Table-valued functions in FROM: a Source whose rows a VFilter call produces.

``open_source`` turns ``json_each(x) AS j`` into a ``TvfSource``: the
function's columns (its HIDDEN argument columns are left out of '*'), read
from a cursor that VFilter (vdbe/execute_tvf.py) fills. The planner's loop for
such a level calls ``emit_filter`` instead of Rewind, so the arguments are
evaluated at that level: they may read tables to their left in the FROM list
or the outer query (a correlated call is re-run for each outer row).
Functions are looked up in functions/table_valued.py; an unknown name is
"no such table", as SQLite reports a missing eponymous virtual table.
Mirrors sqlite src/where.c's virtual-table loop (VFilter/VNext).
"""

from limbodb.errors import OperationalError
from limbodb.parser import ast
from limbodb.functions.table_valued import TableFunction, lookup, too_many_args
from limbodb.translate.expr import AFF_BLOB, Source, code_expr, walk
from limbodb.vdbe.insn import OP_VFilter
from limbodb.vdbe.value import to_text


class TvfSource(Source):
    """A FROM item read from a table-valued function's rows."""

    __slots__ = ("fn", "args", "hidden_cols")

    @property
    def plan_detail(self):
        """SQLite's EXPLAIN QUERY PLAN line: idxNum is json1's bit per argument (1: json,
        2: path) or series.c's (1: start, 2: stop, 4: step); the pragma functions report 0."""
        idx = 0 if self.fn.name.startswith("pragma_") else (1 << len(self.args)) - 1
        return f"SCAN {self.name} VIRTUAL TABLE INDEX {idx}:"

    def emit_filter(self, b, scope, done_label):
        """Evaluate the arguments and fill/position the cursor; jump to ``done_label`` when empty."""
        n = len(self.args)
        first = b.alloc_reg(max(n, 1))
        for k, a in enumerate(self.args):
            code_expr(b, scope, a, first + k)
        b.emit(OP_VFilter, self.cursor, done_label, first, self.fn, n)


def _foreign_key_rows(conn, args):
    from limbodb.translate.fkey import foreign_key_list
    arg = args[0] if args else None
    rows = foreign_key_list(conn, to_text(arg) if arg is not None else None)
    return [(k + 1, list(r) + [arg, None]) for k, r in enumerate(rows)]


# Pragma functions whose rows come from translate-level code (the functions layer cannot import it).
_PRAGMA_FUNCTIONS = {f.name: f for f in (
    TableFunction("pragma_foreign_key_list", ["id", "seq", "table", "from", "to", "on_update", "on_delete",
                                              "match", "arg", "schema"], 8, _foreign_key_rows),
)}


def open_source(b, item):
    """The TvfSource for a FunctionRef FROM item."""
    fn = lookup(item.name) or _PRAGMA_FUNCTIONS.get(item.name.lower())
    if fn is None or (item.schema is not None and item.schema.lower() != "main"):
        raise OperationalError(f"no such table: {item.name}")
    args = list(item.args or ())
    if len(args) > fn.max_args:
        raise too_many_args(fn)
    ncols = len(fn.columns)
    src = TvfSource(item.alias or fn.name, b.alloc_cursor(), list(fn.columns), [AFF_BLOB] * ncols,
                    [None] * ncols, None, None, True)
    src.fn = fn
    src.args = args
    src.hidden_cols = frozenset(range(fn.nvisible, ncols))
    return src


def dependency_order(scope, levels):
    """The join order for a FROM list with table-valued functions: the written order, except that
    a function moves after the (inner-joined) items its arguments read, as SQLite's planner must."""
    n = len(levels)
    written = list(range(n))
    if any(lv.join[0] & (ast.JT_LEFT | ast.JT_RIGHT) for lv in levels):
        return written
    sources = [lv.src for lv in levels]
    needs = []
    for src in sources:
        deps = set()
        for a in getattr(src, "args", ()):
            for node in walk(a):
                if node.__class__ is ast.Column:
                    try:
                        r = scope.resolve(node)
                    except OperationalError:
                        continue
                    if r is not None and r[0] is scope and r[1] is not None and r[1] is not src:
                        deps.add(sources.index(r[1]))
        needs.append(deps)
    order = []
    pending = written[:]
    while pending:
        ready = next((i for i in pending if needs[i] <= set(order)), None)
        if ready is None:
            return written
        pending.remove(ready)
        order.append(ready)
    return order
