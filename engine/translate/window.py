"""Window functions in a SELECT: checks, and the rewrite into inner query + OP_Window + outer query.

A core whose result columns or ORDER BY use ``f(...) OVER (...)`` runs in
three steps, as sqlite3WindowRewrite arranges: the inner query (FROM, WHERE,
GROUP BY, HAVING) produces the window-free result columns followed by every
value the windows need (arguments, FILTER, PARTITION BY and ORDER BY keys, and
the window-free parts of the remaining expressions) into an ephemeral table;
``OP_Window`` appends each window function's value to every row; the outer
query reads that table and computes the result columns, DISTINCT, ORDER BY
and LIMIT. Named windows (WINDOW clause, ``OVER w``, ``OVER (w ORDER BY ...)``)
are resolved here with SQLite's error messages; so are misplaced window
functions. Mirrors sqlite src/window.c (sqlite3WindowRewrite, windowCheckValue)
and resolve.c; the evaluation itself is in vdbe/execute_window.py.

SQLite keeps a subquery of the result columns or ORDER BY in the outer query
unless it sits inside a window function its last pass computes, so an
aggregate there that belongs to this query is never computed: "misuse of
aggregate" (``_uncomputed_subqueries``).
"""

from limbodb.errors import OperationalError
from limbodb.functions import AGGREGATE, FUNCTIONS
from limbodb.functions.window import WINDOW
from limbodb.parser import ast
from limbodb.translate.expr import Scope, code_expr, walk
from limbodb.translate.resolve import raise_uncomputed_aggregate
from limbodb.vdbe import execute_window as W
from limbodb.vdbe.execute_sort import collated_minmax
from limbodb.vdbe.insn import OP_Insert, OP_MakeRecord, OP_NewRowid, OP_OpenEphemeral, OP_Window

_UNITS = {"ROWS": W.ROWS, "RANGE": W.RANGE, "GROUPS": W.GROUPS}
_BOUNDS = {"UNBOUNDED PRECEDING": W.UNBOUNDED_PRECEDING, "PRECEDING": W.PRECEDING,
           "CURRENT ROW": W.CURRENT_ROW, "FOLLOWING": W.FOLLOWING,
           "UNBOUNDED FOLLOWING": W.UNBOUNDED_FOLLOWING}
_EXCLUDE = {None: W.EXCLUDE_NO_OTHERS, "NO OTHERS": W.EXCLUDE_NO_OTHERS, "CURRENT ROW": W.EXCLUDE_CURRENT_ROW,
            "GROUP": W.EXCLUDE_GROUP, "TIES": W.EXCLUDE_TIES}
# min()/max() as built in: given a collated column they compare with its collation.
_BUILTIN_MINMAX = {name: FUNCTIONS.get(name, 1).fn for name in ("min", "max")}


# Built-in window functions whose frame SQLite fixes (window.c sqlite3WindowUpdate): they
# share a pass only with windows of that frame.
_FIXED_FRAME = {"row_number": ("ROWS", "UNBOUNDED PRECEDING", "CURRENT ROW"),
                "dense_rank": ("RANGE", "UNBOUNDED PRECEDING", "CURRENT ROW"),
                "rank": ("RANGE", "UNBOUNDED PRECEDING", "CURRENT ROW"),
                "percent_rank": ("GROUPS", "CURRENT ROW", "UNBOUNDED FOLLOWING"),
                "cume_dist": ("GROUPS", "FOLLOWING", "UNBOUNDED FOLLOWING"),
                "ntile": ("ROWS", "CURRENT ROW", "UNBOUNDED FOLLOWING"),
                "lead": ("ROWS", "UNBOUNDED PRECEDING", "UNBOUNDED FOLLOWING"),
                "lag": ("ROWS", "UNBOUNDED PRECEDING", "CURRENT ROW")}


class OrderOnlyColumn(ast.ResultColumn):
    """A value of the inner query that only the ORDER BY reads: it does not make the
    query an aggregate one (select.py counts it with the ORDER BY)."""

    __slots__ = ()


def _is_window_call(n):
    return n.__class__ is ast.FunctionCall and n.over is not None


def _contains_window(e):
    return any(_is_window_call(n) for n in walk(e))


def uses_windows(b, sel, core):
    """True when ``core`` calls window functions where SQLite allows them (result
    columns, ORDER BY); raises SQLite's errors for window functions anywhere else
    and for window-only functions called without OVER."""
    funcs = b.conn.functions
    found = False

    def check(e, allowed):
        nonlocal found
        for n in walk(e):
            if n.__class__ is not ast.FunctionCall:
                continue
            fd = funcs.get(n.name, len(n.args or ()))
            if n.over is None:
                if fd is not None and fd.kind == WINDOW:
                    raise OperationalError(f"misuse of window function {n.name}()")
                continue
            if fd is None:
                funcs.lookup(n.name, len(n.args or ()))
            # An aggregate without value() (a sqlite3 create_aggregate class) has no window form.
            if fd.kind != WINDOW and (fd.kind != AGGREGATE or not hasattr(fd.fn, "value")):
                raise OperationalError(f"{n.name}() may not be used as a window function")
            if not allowed:
                raise OperationalError(f"misuse of window function {n.name}()")
            found = True

    for rc in core.columns:
        check(rc.expr, True)
    if len(sel.cores) == 1:
        for t in sel.order_by or ():
            check(t.expr, True)
    for e in (core.where, core.having):
        if e is not None:
            check(e, False)
    for e in core.group_by or ():
        check(e, False)
    for e in _join_conditions(core.from_):
        check(e, False)
    return found


def _join_conditions(items):
    for it in items or ():
        if it.on is not None:
            yield it.on
        if it.__class__ is ast.JoinGroup:
            yield from _join_conditions(it.items)


class _Rewriter:
    """Splits expressions between the inner query (``extras``) and the outer one."""

    def __init__(self, b, core, winname):
        self.b = b
        self.winname = winname
        self.named = {nw.name.lower(): nw for nw in core.windows or ()}
        self.extras = []
        self.extra_ix = {}
        self.calls = []
        self.call_ix = {}
        self.specs = []
        self.spec_ix = {}
        self.offsets = []
        # Set before the second pass: where the extras and call values sit, their collations.
        self.nbase = 0
        self.colls = None

    def extra(self, e):
        key = ast.dump(e)
        k = self.extra_ix.get(key)
        if k is None:
            k = self.extra_ix[key] = len(self.extras)
            self.extras.append(e)
        return k

    def ref(self, pos, coll=None):
        col = ast.Column(f"c{pos}", self.winname)
        return ast.Collate(col, coll) if coll else col

    def rewrite(self, e):
        """The outer query's form of ``e``."""
        if not _contains_window(e):
            if e.__class__ is ast.Literal:
                return e
            k = self.extra(e)
            return self.ref(self.nbase + k, self.colls[k] if self.colls else None)
        if _is_window_call(e):
            return self.ref(self.nbase + len(self.extras) + self.call(e))
        if e.__class__ is ast.FunctionCall:
            fd = self.b.conn.functions.get(e.name, len(e.args or ()))
            if fd is not None and fd.kind == AGGREGATE:
                inner = next(n for n in walk(e) if _is_window_call(n))
                raise OperationalError(f"misuse of window function {inner.name}()")
        new = e.__class__.__new__(e.__class__)
        for f in e._fields:
            setattr(new, f, self._rewrite_field(getattr(e, f, None)))
        return new

    def _rewrite_field(self, v):
        if isinstance(v, ast.Expr):
            return self.rewrite(v)
        if isinstance(v, list):
            return [self._rewrite_field(x) for x in v]
        if isinstance(v, tuple):
            return tuple(self._rewrite_field(x) for x in v)
        return v

    def call(self, e):
        k = self.call_ix.get(id(e))
        if k is not None:
            return k
        args = e.args or []
        if any(_contains_window(a) for a in args) or (e.filter is not None and _contains_window(e.filter)):
            inner = next(n for a in args + [e.filter] if a is not None for n in walk(a) if _is_window_call(n))
            raise OperationalError(f"misuse of window function {inner.name}()")
        fd = self.b.conn.functions.lookup(e.name, len(args))
        if fd.kind == WINDOW:
            if e.filter is not None:
                raise OperationalError("FILTER clause may only be used with aggregate window functions")
            make, builtin = fd.fn.window, True
        else:
            if e.distinct:
                raise OperationalError("DISTINCT is not supported for window functions")
            make, builtin = fd.fn, False
        wc = W.WindowCall(e.name, make, builtin, [self.extra(a) for a in args],
                          -1 if e.filter is None else self.extra(e.filter))
        spec = self.spec(self.window_def(e.over))
        k = self.call_ix[id(e)] = len(self.calls)
        wc.out = k
        spec.calls.append(wc)
        self.calls.append(wc)
        return k

    def window_def(self, over):
        if over.__class__ is str:
            nw = self.named.get(over.lower())
            if nw is None:
                raise OperationalError(f"no such window: {over}")
            return self.window_def(nw.window)
        if over.base is None:
            return over
        nw = self.named.get(over.base.lower())
        if nw is None:
            raise OperationalError(f"no such window: {over.base}")
        base = self.window_def(nw.window)
        if over.partition_by:
            raise OperationalError(f"cannot override PARTITION clause of window: {over.base}")
        if base.order_by and over.order_by:
            raise OperationalError(f"cannot override ORDER BY clause of window: {over.base}")
        if base.frame is not None:
            raise OperationalError(f"cannot override frame specification of window: {over.base}")
        return ast.WindowDef(None, base.partition_by, over.order_by or base.order_by, over.frame)

    def spec(self, wd):
        key = ast.dump(wd)
        s = self.spec_ix.get(key)
        if s is not None:
            return s
        order = wd.order_by or []
        for e in list(wd.partition_by or ()) + [t.expr for t in order]:
            if _contains_window(e):
                inner = next(n for n in walk(e) if _is_window_call(n))
                raise OperationalError(f"misuse of window function {inner.name}()")
        fr = wd.frame
        if fr is None:
            units, start, end, exclude = W.RANGE, W.UNBOUNDED_PRECEDING, W.CURRENT_ROW, W.EXCLUDE_NO_OTHERS
            start_e = end_e = None
        else:
            units = _UNITS[fr.units]
            start = _BOUNDS[fr.start.kind]
            start_e = fr.start.expr
            end = W.CURRENT_ROW if fr.end is None else _BOUNDS[fr.end.kind]
            end_e = None if fr.end is None else fr.end.expr
            exclude = _EXCLUDE[fr.exclude]
            if (start == W.CURRENT_ROW and end == W.PRECEDING) or (
                    start == W.FOLLOWING and end in (W.PRECEDING, W.CURRENT_ROW)):
                raise OperationalError("unsupported frame specification")
            if units == W.RANGE and len(order) != 1 and {start, end} & {W.PRECEDING, W.FOLLOWING}:
                raise OperationalError("RANGE with offset PRECEDING/FOLLOWING requires one ORDER BY expression")
        s = W.WindowSpec([self.extra(e) for e in wd.partition_by or ()], [],
                         [self.extra(t.expr) for t in order], [], [bool(t.desc) for t in order],
                         [t.nulls == ast.NULLS_FIRST or (t.nulls != ast.NULLS_LAST and not t.desc) for t in order],
                         units, start, self.offset(start_e), end, self.offset(end_e), exclude)
        self.spec_ix[key] = s
        self.specs.append(s)
        return s

    def offset(self, e):
        if e is None:
            return 0
        reg = self.b.alloc_reg()
        self.offsets.append((e, reg))
        return reg


def compile_window_select(b, sel, core, parent, sink, ctes):
    """Emit a single-core SELECT that uses window functions; returns its output columns."""
    from limbodb.translate.materialize import CteRow
    from limbodb.translate.select import compile_select
    # The outer query scans the rows as SQLite's EXPLAIN QUERY PLAN names them.
    winname = f"(subquery-{b.next_subquery() + 1})"
    rw = _Rewriter(b, core, winname)
    base = []
    for rc in core.columns:
        if rc.expr.__class__ is not ast.Star and _contains_window(rc.expr):
            base.append(ast.ResultColumn(ast.Literal(None), None, "NULL"))
        else:
            base.append(rc)
    aliases = {rc.alias.lower() for rc in core.columns if rc.alias is not None}
    window_cols = [rc for rc in core.columns if rc.expr.__class__ is not ast.Star and _contains_window(rc.expr)]

    def order_terms():
        out = []
        for t in sel.order_by or ():
            e = t.expr
            if not (e.__class__ is ast.Column and e.table is None and e.name.lower() in aliases):
                e = rw.rewrite(e)
            out.append(ast.OrderingTerm(e, t.desc, t.nulls, t.asc_written))
        return out or None

    # First pass: collect the extras and the calls; the outer expressions come later.
    for rc in window_cols:
        rw.rewrite(rc.expr)
    nresult = len(rw.extras)
    order_terms()

    def inner_select():
        cols = base + [(ast.ResultColumn if k < nresult else OrderOnlyColumn)(e, None, f"w{k}")
                       for k, e in enumerate(rw.extras)]
        return ast.Select(None, [ast.SelectCore(False, cols, core.from_, core.where, core.group_by, core.having,
                                                None)], [], None, None, None)
    cursor = b.alloc_cursor()
    b.emit(OP_OpenEphemeral, cursor, 0)
    rec = b.alloc_reg()
    rowid = b.alloc_reg()

    def insert(bb, first, n):
        bb.emit(OP_MakeRecord, first, n, rec)
        bb.emit(OP_NewRowid, cursor, rowid)
        bb.emit(OP_Insert, cursor, rec, rowid)
    outer_parent = b.plan_parent
    b.plan_parent = b.add_plan(f"CO-ROUTINE {winname}")
    inner_cols = compile_select(b, inner_select(), parent, insert, ctes)
    raise_uncomputed_aggregate(b, core.from_, parent, ctes, _uncomputed_subqueries(rw, sel, core))
    if any(s.part_cols or s.order_cols for s in rw.specs):
        b.add_plan("USE TEMP B-TREE FOR ORDER BY")
    b.plan_parent = outer_parent
    nbase = len(inner_cols) - len(rw.extras)
    base_cols = inner_cols[:nbase]
    colls = [getattr(c, "collation", None) for c in inner_cols]
    for s in rw.specs:
        s.part_cols = [nbase + k for k in s.part_cols]
        s.order_cols = [nbase + k for k in s.order_cols]
        s.part_colls = [colls[k] for k in s.part_cols]
        s.order_colls = [colls[k] for k in s.order_cols]
    for c in rw.calls:
        c.arg_cols = [nbase + k for k in c.arg_cols]
        if c.make is _BUILTIN_MINMAX.get(c.name.lower()):
            c.minmax = 1 if c.name.lower() == "max" else -1
            c.collation = colls[c.arg_cols[0]]
            if c.collation is not None:
                c.make = collated_minmax(c.name, c.collation).fn
        if c.filter_col >= 0:
            c.filter_col += nbase
    scope = Scope([], parent)
    for e, reg in rw.offsets:
        code_expr(b, scope, e, reg)
    b.emit(OP_Window, cursor, 0, 0, W.WindowPlan(rw.specs, len(rw.calls)))

    # Second pass: the outer query over the rows OP_Window left in ``cursor``.
    rw.nbase = nbase
    rw.colls = colls[nbase:]
    outer = []
    passthrough = []
    pos = 0
    for k, rc in enumerate(core.columns):
        if rc.expr.__class__ is ast.Star:
            nxt = next((r.expr for r in base[k + 1:] if r.expr.__class__ is not ast.Star), None)
            while pos < nbase and base_cols[pos].expr is not nxt:
                outer.append(ast.ResultColumn(rw.ref(pos, colls[pos]), base_cols[pos].name, base_cols[pos].name))
                passthrough.append((len(outer) - 1, pos))
                pos += 1
            continue
        if base[k] is rc:
            outer.append(ast.ResultColumn(rw.ref(pos, colls[pos]), base_cols[pos].name, base_cols[pos].name))
            passthrough.append((len(outer) - 1, pos))
        else:
            outer.append(ast.ResultColumn(rw.rewrite(rc.expr), rc.alias or rc.text, rc.text))
        pos += 1
    names = [f"c{i}" for i in range(len(inner_cols) + len(rw.calls))]
    outer_sel = ast.Select(None, [ast.SelectCore(core.distinct, outer, [ast.TableRef(winname)], None, None, None,
                                                 None)], [], order_terms(), sel.limit, sel.offset)
    inner_ctes = dict(ctes or {})
    inner_ctes[winname.lower()] = CteRow(cursor, names)
    cols = compile_select(b, outer_sel, parent, sink, inner_ctes)
    for i, p in passthrough:
        cols[i].decltype = inner_cols[p].decltype
    return cols


def _uncomputed_subqueries(rw, sel, core):
    """The subqueries that SQLite's rewrite leaves where this query's aggregates are not
    computed, in the order SQLite codes them.

    sqlite3WindowRewrite moves into the inner query only columns, aggregate calls and the
    window functions of one pass (those sharing the first one's window, window.c
    sqlite3WindowLink); the rest of the result columns and ORDER BY stays outside, and
    the other window functions move whole into the inner query, which is rewritten the
    same way. So only the last pass's window functions read the aggregate query; the
    arguments, FILTER and window of an earlier pass's, coded before the outer query,
    are as outside as the result columns. An ORDER BY term naming a result column (by
    alias, number or an equal expression) holds copies of its window functions that
    start a pass of their own.
    """
    order_by = sel.order_by or () if len(sel.cores) == 1 else ()
    aliases = {rc.alias.lower(): rc.expr for rc in core.columns if rc.alias is not None}
    entries = [(c, True, False) for rc in core.columns for c in _window_calls(rc.expr)]
    terms = []
    for t in order_by:
        ref = _result_ref(t.expr, core.columns, aliases)
        if ref is None:
            terms.append(t.expr)
            entries.extend((c, True, False) for c in _window_calls(t.expr))
        else:
            entries.extend((c, False, True) for c in _window_calls(ref))
    keys = [_pass_key(rw, c) for c, _, _ in entries]
    passes = []
    pending = list(range(len(entries)))
    while pending:
        # Only the first pass leaves out unlinked copies; the inner query links all it gets.
        linked = [i for i in pending if entries[i][1]] if not passes else pending
        head = keys[linked[0]]
        now = [i for i in linked if keys[i] == head]
        passes.append(now)
        pending = [i for i in pending if i not in now]
    out = []
    for now in reversed(passes[:-1]):
        for i in reversed(now):
            call, _, copy = entries[i]
            if copy:
                continue
            wd = rw.window_def(call.over)
            for e in [*(wd.partition_by or ()), *(t.expr for t in wd.order_by or ()), *(call.args or ()),
                      call.filter]:
                out.extend(_subqueries(e))
    for rc in core.columns:
        out.extend(_subqueries(rc.expr))
    for e in terms:
        out.extend(_subqueries(e))
    return out


def _result_ref(e, columns, aliases):
    """The result column expression an ORDER BY term stands for, or None."""
    if e.__class__ is ast.Column and e.table is None and e.name.lower() in aliases:
        return aliases[e.name.lower()]
    if e.__class__ is ast.Literal and e.kind == ast.LIT_VALUE and e.value.__class__ is int:
        if 1 <= e.value <= len(columns) and columns[e.value - 1].expr.__class__ is not ast.Star:
            return columns[e.value - 1].expr
        return None
    if _subqueries(e, True):
        return None
    key = ast.dump(e)
    return next((rc.expr for rc in columns if ast.dump(rc.expr) == key), None)


def _pass_key(rw, call):
    """What decides whether two window functions share a pass (sqlite3WindowCompare)."""
    wd = rw.window_def(call.over)
    order = wd.order_by or ()
    exprs = [*(wd.partition_by or ()), *(t.expr for t in order)]
    if any(_subqueries(e, True) for e in exprs):
        return object()  # sqlite3ExprCompare finds no two subqueries equal
    fr = wd.frame
    fixed = _FIXED_FRAME.get(call.name.lower())
    if fixed is not None:
        frame = (*fixed, None, None, None)
    elif fr is None:
        frame = ("RANGE", "UNBOUNDED PRECEDING", "CURRENT ROW", None, None, None)
    else:
        end = fr.end or ast.FrameBound("CURRENT ROW", None)
        frame = (fr.units, fr.start.kind, end.kind, _dump(fr.start.expr), _dump(end.expr),
                 None if fr.exclude == "NO OTHERS" else fr.exclude)
    return (tuple(ast.dump(e) for e in wd.partition_by or ()),
            tuple((ast.dump(t.expr), bool(t.desc),
                   t.nulls == ast.NULLS_FIRST or (t.nulls != ast.NULLS_LAST and not t.desc)) for t in order),
            frame)


def _dump(e):
    return None if e is None else ast.dump(e)


def _window_calls(e):
    """The window function calls of ``e`` (not of its subqueries), left to right."""
    return [n for n in _left_to_right(e) if _is_window_call(n)]


def _subqueries(e, inside_windows=False):
    """The subqueries of ``e`` (not nested ones), left to right; none inside a window
    function call unless ``inside_windows``."""
    return [n for n in _left_to_right(e, inside_windows)
            if n.__class__ in (ast.Subquery, ast.Exists) or (n.__class__ is ast.In and n.select is not None)]


def _left_to_right(e, inside_windows=True):
    """The nodes of ``e`` in evaluation order, not descending into subqueries (an IN
    subquery comes after its left operand)."""
    out = []
    stack = [(e, False)] if e is not None else []
    while stack:
        n, done = stack.pop()
        if done:
            out.append(n)
            continue
        cls = n.__class__
        if cls in (ast.Subquery, ast.Exists) or (cls is ast.In and n.select is not None):
            stack.append((n, True))
            if cls is ast.In:
                stack.append((n.expr, False))
            continue
        out.append(n)
        if not inside_windows and _is_window_call(n):
            continue
        kids = []
        for f in n._fields:
            v = getattr(n, f, None)
            for x in (v if isinstance(v, (list, tuple)) else (v,)):
                kids.extend(y for y in (x if isinstance(x, tuple) else (x,)) if isinstance(y, ast.Node))
        stack.extend((k, False) for k in reversed(kids))
    return out
