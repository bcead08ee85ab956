"""The planner: join order and one access path per loop level.

Access paths, cheapest first (no statistics: every table is assumed large):
rowid equality (SeekRowid), rowid IN (a loop over the sorted, distinct
values), index equality on leading columns optionally followed by a range
on the next one (SeekGE/SeekGT + IdxGT/IdxGE), index IN on the first
column, rowid range, a full index scan (for ORDER BY or a covering index)
and a full table scan. An index that holds every column the query reads of
a table is *covering*: the table is not read at all. Inner joins try every
order of up to five tables and keep the one with the smallest estimated
cost; LEFT JOIN keeps the written order. Every WHERE/ON conjunct is still
tested at the innermost level it reads, so a path only narrows the rows
visited. A single-table plan may deliver ORDER BY order (rowid or index
order, forwards or backwards), so no sorter is needed. Each level adds
SQLite's EXPLAIN QUERY PLAN line. LEFT JOIN: a match flag per level and a
NULL row (NullRow) when the right side matched nothing. RIGHT and FULL
JOIN keep the written order too; their matched sets and no-match passes are
in translate/right_join.py. A WITHOUT ROWID table is its PRIMARY KEY index;
its secondary index entries end with the PRIMARY KEY columns, so a lookup
through one seeks the table by that key (NotFound) unless the entry holds
every column the query reads.
Mirrors sqlite src/where.c, wherecode.c and whereexpr.c.
"""

from itertools import permutations

from limbodb.errors import OperationalError
from limbodb.functions import SCALAR
from limbodb.parser import ast
from limbodb.schema import HIDDEN_VIRTUAL
from limbodb.storage.record import KeyInfo
from limbodb.translate import index_keys, right_join
from limbodb.translate.right_join import null_row
from limbodb.translate.expr import (
    AFF_NONE, binary_collation, code_expr, code_if_false, expr_affinity, expr_collation, walk,
)
from limbodb.vdbe.insn import (
    MAKERECORD_UNPACKED, OP_Affinity, OP_Column, OP_Copy, OP_Gosub, OP_Goto, OP_IdxGE, OP_IdxGT, OP_IdxInsert,
    OP_IdxLE, OP_IdxLT, OP_IdxRowid, OP_IfPos, OP_InitCoroutine, OP_Integer, OP_IsNull, OP_Last, OP_Le, OP_Lt,
    OP_MakeRecord, OP_Next, OP_NotExists, OP_NotFound, OP_Null, OP_OpenEphemeral, OP_OpenRead,
    OP_Prev, OP_Rewind, OP_Rowid, OP_SeekGE, OP_SeekGT, OP_SeekLE, OP_SeekLT, OP_SeekRowid,
    OP_Yield, SQLITE_JUMPIFNULL,
)

_FLIP = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
# Assumed rows per table and the cost of one B-tree descent, as log-free units.
_N = 1_000_000
_SEEK = 20

SCAN = 0
ROWID_EQ = 1
ROWID_IN = 2
ROWID_RANGE = 3
INDEX = 4          # equality prefix and/or range on an index, or a full index scan
INDEX_IN = 5


class Path:
    """How one level reads its table."""

    __slots__ = ("kind", "index", "eq", "lower", "upper", "in_term", "covering", "desc", "rows",
                 "cost", "consumed")

    def __init__(self, kind, rows, cost):
        self.kind = kind
        self.index = None
        self.eq = []
        self.lower = None
        self.upper = None
        self.in_term = None
        self.covering = False
        self.desc = False
        self.rows = rows
        self.cost = cost
        # Equality/IN terms the seek implements exactly: not tested again.
        self.consumed = []


class _Level:
    __slots__ = ("src", "join", "left", "right", "rj", "on_terms", "terms", "path", "index_cursor",
                 "list_cursor", "flag", "labels", "advance")

    def __init__(self, src, join):
        self.src = src
        self.join = join
        self.left = bool(join[0] & ast.JT_LEFT)
        # RIGHT or FULL: the level's rows no left row matched come out in a second pass.
        self.right = bool(join[0] & ast.JT_RIGHT)
        self.rj = None
        self.on_terms = []
        self.terms = []
        self.path = None
        self.index_cursor = None
        self.list_cursor = None


class Plan:
    """The loops chosen for one query core; ``emit`` writes them around a body."""

    def __init__(self, levels, pre_terms, scope, order_satisfied):
        self.levels = levels
        self.pre_terms = pre_terms
        self.scope = scope
        self.order_satisfied = order_satisfied
        # (return register, address) of each subroutine filling a FROM subquery's table,
        # run once the terms before the loops pass (translate/select.py open_sources).
        self.fills = ()

    def emit(self, b, body, break_label):
        scope = self.scope
        outer_skip = b.new_label()
        for t in self.pre_terms:
            code_if_false(b, scope, t, outer_skip, True)
        for ret, addr in self.fills:
            b.emit(OP_Gosub, ret, addr)
        co_level = self._coroutine_level()
        for lv in self.levels:
            src = lv.src
            path = lv.path
            if src.coroutine is not None and lv is not co_level:
                src.coroutine.fill(b, src.cursor)
            if src.table is not None and src.table.without_rowid:
                # The table B-tree is needed unless a secondary index covers the query.
                if lv.index_cursor in (None, src.cursor) or not path.covering:
                    pk = next(i for i in src.table.indexes if i.origin == "pk")
                    b.emit(OP_OpenRead, src.cursor, src.table.root, src.table.db, pk.key_info(), 0,
                           src.table.name)
            elif src.table is not None and not (path is not None and path.covering):
                b.emit(OP_OpenRead, src.cursor, src.table.root, src.table.db, len(src.table.columns), 0,
                       src.table.name)
            if lv.index_cursor is not None and lv.index_cursor != src.cursor:
                b.emit(OP_OpenRead, lv.index_cursor, path.index.root, path.index.db, path.index.key_info(), 0,
                       path.index.name)
            if lv.rj is not None:
                lv.rj.open(b)
        start = b.addr
        for lv in self.levels:
            self._open_level(b, lv, lv is co_level)
        body()
        for lv in reversed(self.levels):
            next_l, done_l, body_l = lv.labels
            b.resolve(next_l)
            if lv.rj is not None:
                lv.rj.end_interior(b)
            lv.advance()
            b.resolve(done_l)
            if lv.left:
                after = b.new_label()
                b.emit(OP_IfPos, lv.flag, after, 0)
                null_row(b, lv)
                b.emit(OP_Integer, 1, lv.flag)
                b.emit(OP_Goto, 0, body_l)
                b.resolve(after)
        # Outer passes first: a RIGHT JOIN's no-match rows may match a later one's table.
        for k, lv in enumerate(self.levels):
            if lv.rj is not None:
                lv.rj.no_match_pass(b, self.scope, lv, self.levels[:k])
        if co_level is not None:
            co_level.src.coroutine.to_copies(b, co_level.src.cursor, start)
        b.resolve(outer_skip)

    def _coroutine_level(self):
        """The outermost level, if it reads a co-routine (translate/materialize.py Coroutine)
        by a plain scan, once: no RIGHT JOIN pass reads its rows again."""
        lv = self.levels[0] if self.levels else None
        if lv is None or lv.src.coroutine is None or lv.right or lv.rj is not None \
                or (lv.path is not None and lv.path.kind != SCAN) or lv.index_cursor is not None:
            return None
        return lv

    def _open_level(self, b, lv, coroutine=False):
        scope = self.scope
        src = lv.src
        cur = src.cursor
        next_l = b.new_label()
        done_l = b.new_label()
        if lv.left:
            lv.flag = b.alloc_reg()
            b.emit(OP_Integer, 0, lv.flag)
        path = lv.path
        kind = path.kind if path is not None else SCAN
        lv.advance = lambda: None
        if kind == ROWID_EQ:
            r = b.alloc_reg()
            code_expr(b, scope, path.eq[0], r)
            b.emit(OP_SeekRowid, cur, done_l, r)
        elif kind == ROWID_IN:
            lst, val, top = self._open_list(b, lv, path, done_l, None, None)
            b.emit(OP_SeekRowid, cur, next_l, val)
            lv.advance = lambda: b.emit(OP_Next, lst, top)
        elif kind == ROWID_RANGE:
            self._rowid_range(b, lv, path, cur, next_l, done_l)
        elif kind == INDEX or kind == INDEX_IN:
            self._index(b, lv, path, cur, next_l, done_l)
        elif coroutine:
            co = src.coroutine
            b.emit(OP_InitCoroutine, co.reg, 0, co.entry)
            top = b.emit(OP_Yield, co.reg, done_l)
            lv.advance = lambda: b.emit(OP_Goto, 0, top)
        elif getattr(src, "emit_filter", None) is not None:
            src.emit_filter(b, scope, done_l)
            top = b.addr
            lv.advance = lambda: b.emit(OP_Next, cur, top)
        else:
            if src.table is None or not path.desc:
                b.emit(OP_Rewind, cur, done_l)
                top = b.addr
                lv.advance = lambda: b.emit(OP_Next, cur, top)
            else:
                b.emit(OP_Last, cur, done_l)
                top = b.addr
                lv.advance = lambda: b.emit(OP_Prev, cur, top)
        for t in lv.on_terms:
            code_if_false(b, scope, t, next_l, True, lv.left or lv.right)
        body_l = b.new_label()
        if lv.left:
            b.emit(OP_Integer, 1, lv.flag)
        if lv.rj is not None:
            lv.rj.record(b, src)
        b.resolve(body_l)
        for t in lv.terms:
            code_if_false(b, scope, t, next_l, True)
        lv.labels = (next_l, done_l, body_l)

    def _open_list(self, b, lv, path, done_l, aff, coll):
        """Fill an ephemeral index with the IN values (distinct, sorted) and start a loop over it.

        Returns (list cursor, register of the current value, loop top address).
        """
        scope = self.scope
        lst = lv.list_cursor
        term = path.in_term
        b.emit(OP_OpenEphemeral, lst, 0, 0, KeyInfo([coll]))
        rec = b.alloc_reg()
        val = b.alloc_reg()

        def add(bb, reg):
            skip = bb.new_label()
            bb.emit(OP_IsNull, reg, skip)
            if aff is not None:
                bb.emit(OP_Affinity, reg, 1, 0, aff)
            bb.emit(OP_MakeRecord, reg, 1, rec, None, MAKERECORD_UNPACKED)
            bb.emit(OP_IdxInsert, lst, rec)
            bb.resolve(skip)
        if term.items is not None:
            for item in term.items:
                code_expr(b, scope, item, val)
                add(b, val)
        else:
            from limbodb.translate.expr import Scope
            from limbodb.translate.select import compile_select

            def sink(bb, first, n):
                if n != 1:
                    raise OperationalError(f"sub-select returns {n} columns - expected 1")
                add(bb, first)
            parent = b.plan_parent
            b.plan_parent = b.add_plan(f"LIST SUBQUERY {b.next_subquery()}", parent)
            outer = Scope([], scope.parent)
            outer.ctes = scope.ctes  # the WITH of this query is visible in the list
            compile_select(b, term.select, outer, sink)
            b.plan_parent = parent
        b.emit(OP_Rewind, lst, done_l)
        top = b.addr
        b.emit(OP_Column, lst, 0, val)
        return lst, val, top

    def _rowid_range(self, b, lv, path, cur, next_l, done_l):
        scope = self.scope
        desc = path.desc
        start, stop = (path.upper, path.lower) if desc else (path.lower, path.upper)
        if start is not None:
            op, e = start
            r = b.alloc_reg()
            code_expr(b, scope, e, r)
            seek = {">": OP_SeekGT, ">=": OP_SeekGE, "<": OP_SeekLT, "<=": OP_SeekLE}[op]
            b.emit(seek, cur, done_l, r, 1)
        else:
            b.emit(OP_Last if desc else OP_Rewind, cur, done_l)
        if stop is not None:
            # Evaluated once per entry into the loop, not per row: it reads no column of this level.
            op, e = stop
            bound = b.alloc_reg()
            code_expr(b, scope, e, bound)
        top = b.addr
        if stop is not None:
            rid = b.alloc_reg()
            b.emit(OP_Rowid, cur, rid)
            # Leave the loop once the rowid passes the bound (a NULL bound: no rows).
            exit_op = {"<=": OP_Lt, "<": OP_Le, ">=": OP_Lt, ">": OP_Le}[op]
            if op in ("<=", "<"):
                b.emit(exit_op, rid, done_l, bound, None, 0x43 | SQLITE_JUMPIFNULL)
            else:
                b.emit(exit_op, bound, done_l, rid, None, 0x43 | SQLITE_JUMPIFNULL)
        lv.advance = lambda: b.emit(OP_Prev if desc else OP_Next, cur, top)

    def _index(self, b, lv, path, cur, next_l, done_l):
        scope = self.scope
        src = lv.src
        idx = path.index
        icur = lv.index_cursor
        cols = idx.columns
        neq = len(path.eq)
        nkey = neq + (1 if path.kind == INDEX_IN else 0)
        key = b.alloc_reg(nkey + 1)
        affs = [chr(src.col_affs[c.col]) if c.col >= 0 else "A" for c in cols[:nkey + 1]]
        first_eq = 1 if path.kind == INDEX_IN else 0
        for k, e in enumerate(path.eq):
            affs[first_eq + k] = _key_affinity(scope, affs[first_eq + k], e)
        affs = "".join(affs)
        list_top = None
        inner_done = done_l
        if path.kind == INDEX_IN:
            inner_done = b.new_label()
            lst, val, list_top = self._open_list(b, lv, path, done_l, affs[0], cols[0].collation)
            b.emit(OP_Copy, val, key)
        for k, e in enumerate(path.eq):
            r = key + k + (1 if path.kind == INDEX_IN else 0)
            code_expr(b, scope, e, r)
            # "col = NULL" matches nothing, though NULL keys are stored in the index.
            b.emit(OP_IsNull, r, inner_done)
        if nkey:
            b.emit(OP_Affinity, key, nkey, 0, affs[:nkey])
        desc = path.desc
        # Ranges are on column nkey; an index column stored DESC swaps their roles.
        lower, upper = path.lower, path.upper
        col_desc = nkey < len(cols) and cols[nkey].desc
        if col_desc:
            lower, upper = _swap_bounds(upper), _swap_bounds(lower)
        start, stop = (upper, lower) if desc else (lower, upper)
        # NULLs sort first in an ASC column: the walk meets them first going forwards over an
        # ASC column or backwards over a DESC one, and last otherwise.
        nulls_first = col_desc == desc
        rk = key + nkey
        if start is not None:
            op, e = start
            code_expr(b, scope, e, rk)
            b.emit(OP_Affinity, rk, 1, 0, _key_affinity(scope, affs[nkey], e))
            seek = {">": OP_SeekGT, ">=": OP_SeekGE, "<": OP_SeekLT, "<=": OP_SeekLE}[op]
            b.emit(seek, icur, inner_done, key, nkey + 1)
        elif stop is not None and nulls_first:
            # Skip the NULLs the walk meets first: the range excludes them.
            b.emit(OP_Null, 0, rk)
            b.emit(OP_SeekLT if desc else OP_SeekGT, icur, inner_done, key, nkey + 1)
        elif nkey:
            b.emit(OP_SeekLE if desc else OP_SeekGE, icur, inner_done, key, nkey)
        else:
            b.emit(OP_Last if desc else OP_Rewind, icur, inner_done)
        top = b.addr
        if stop is not None:
            op, e = stop
            code_expr(b, scope, e, rk)
            b.emit(OP_Affinity, rk, 1, 0, _key_affinity(scope, affs[nkey], e))
            test = {"<": OP_IdxGE, "<=": OP_IdxGT, ">": OP_IdxLE, ">=": OP_IdxLT}[op]
            b.emit(test, icur, inner_done, key, nkey + 1)
            if start is None and not nulls_first:
                # Only a limit where the walk ends, and the NULLs come after it: they end it.
                b.emit(OP_Null, 0, rk)
                b.emit(OP_IdxLE if desc else OP_IdxGE, icur, inner_done, key, nkey + 1)
        elif nkey:
            b.emit(OP_IdxLT if desc else OP_IdxGT, icur, inner_done, key, nkey)
        if icur != cur and src.table.without_rowid:
            if not path.covering:
                from limbodb.translate.without_rowid import index_entry_columns, pk_index
                # The entry ends with the PRIMARY KEY: seek the table's row by it.
                entry = index_entry_columns(src.table, idx)
                pk = [ic.col for ic in pk_index(src.table).columns]
                keyr = b.alloc_reg(len(pk))
                for k, c in enumerate(pk):
                    b.emit(OP_Column, icur, entry.index(c), keyr + k)
                b.emit(OP_NotFound, cur, next_l, keyr, len(pk))
        elif not path.covering:
            rid = b.alloc_reg()
            b.emit(OP_IdxRowid, icur, rid)
            b.emit(OP_NotExists, cur, next_l, rid)
        step = OP_Prev if desc else OP_Next

        def advance():
            b.emit(step, icur, top)
            if list_top is not None:
                b.resolve(inner_done)
                b.emit(OP_Next, lv.list_cursor, list_top)
        lv.advance = advance



def _swap_bounds(bound):
    if bound is None:
        return None
    return (_FLIP[bound[0]], bound[1])


# ------------------------------------------------------------------ analysis

def _term_sources(scope, term, nsrc):
    """Indexes of this scope's sources a term reads (all of them if it has a subquery)."""
    used = set()
    for n in walk(term):
        cls = n.__class__
        if cls in (ast.Subquery, ast.Exists) or (cls is ast.In and n.select is not None):
            return set(range(nsrc))
        if cls is ast.Column:
            try:
                r = scope.resolve(n)
            except OperationalError:
                return set(range(nsrc))
            if r is None or r[0] is not scope or r[1] is None:
                continue
            for i, s in enumerate(scope.sources):
                if s is r[1]:
                    used.add(i)
    return used


def _hoistable(b, scope, term):
    """True for a term that reads nothing of this query (result aliases included) and calls
    only deterministic functions: its value is the same for every row."""
    for n in walk(term):
        cls = n.__class__
        if cls in (ast.Subquery, ast.Exists) or (cls is ast.In and n.select is not None):
            return False
        if cls is ast.Column:
            try:
                r = scope.resolve(n)
            except OperationalError:
                return False
            if r is None or r[0] is scope:
                return False
        elif cls is ast.FunctionCall:
            fd = b.conn.functions.get(n.name, len(n.args or ()))
            if fd is None or not fd.deterministic or fd.kind != SCALAR:
                return False
    return True


def _column_of(scope, e, src):
    """Column index (-1 rowid) if ``e`` is a plain reference to a column of ``src``, else None."""
    if e.__class__ is not ast.Column:
        return None
    try:
        r = scope.resolve(e)
    except OperationalError:
        return None
    if r is None or r[0] is not scope or r[1] is not src:
        return None
    i = r[2]
    if i is not None and i == src.rowid_alias:
        return -1
    return i


class _Constraint:
    """``column op expr`` usable by a level: op in = < <= > >= IN."""

    __slots__ = ("col", "op", "expr", "term", "needs", "coll")

    def __init__(self, col, op, expr, term, needs, coll):
        self.col = col
        self.op = op
        self.expr = expr
        self.term = term
        self.needs = needs
        # The comparison's collation: an index helps only if its column uses the same one.
        self.coll = (coll or "BINARY").upper()


def _constraints(scope, src, terms, nsrc):
    """The constraints ``terms`` put on ``src``'s columns, with the sources their values need."""
    out = []
    k = scope.sources.index(src)
    for t in terms:
        cls = t.__class__
        if cls is ast.Binary and t.op in _FLIP:
            for a, other, op in ((t.left, t.right, t.op), (t.right, t.left, _FLIP[t.op])):
                c = _column_of(scope, a, src)
                if c is None:
                    c = index_keys.expression_key(scope, a, src)
                if c is None:
                    continue
                needs = _term_sources(scope, other, nsrc)
                if k in needs:
                    continue
                if c >= 0 and not _affinity_ok(scope, src, c, other):
                    continue
                out.append(_Constraint(c, op, other, t, needs, binary_collation(scope, t.left, t.right)))
        elif cls is ast.Between and not t.negated:
            c = _column_of(scope, t.expr, src)
            if c is None:
                c = index_keys.expression_key(scope, t.expr, src)
            if c is None:
                continue
            for op, other in ((">=", t.low), ("<=", t.high)):
                needs = _term_sources(scope, other, nsrc)
                if k in needs or (c >= 0 and not _affinity_ok(scope, src, c, other)):
                    continue
                out.append(_Constraint(c, op, other, t, needs, binary_collation(scope, t.expr, other)))
        elif cls is ast.In and not t.negated and (t.items is not None or t.select is not None):
            c = _column_of(scope, t.expr, src)
            if c is None:
                continue
            needs = set()
            if t.items is not None:
                for it in t.items:
                    needs |= _term_sources(scope, it, nsrc)
            elif _select_reads_scope(scope, t.select):
                continue
            if k in needs:
                continue
            out.append(_Constraint(c, "IN", None, t, needs, expr_collation(scope, t.expr)))
    return out


def _select_reads_scope(scope, sel):
    """True if a subquery names any column it might share with this query (possible correlation)."""
    names = {n.lower() for s in scope.sources for n in s.col_names} | {
        s.name.lower() for s in scope.sources if s.name}
    for core in sel.cores:
        stack = [core]
        while stack:
            n = stack.pop()
            if isinstance(n, ast.Column):
                if (n.table or "").lower() in names:
                    return True
                continue
            if isinstance(n, ast.Node):
                for f in n._fields:
                    v = getattr(n, f, None)
                    if isinstance(v, ast.Node):
                        stack.append(v)
                    elif isinstance(v, (list, tuple)):
                        stack.extend(x for x in v if isinstance(x, ast.Node))
                        for x in v:
                            if isinstance(x, tuple):
                                stack.extend(y for y in x if isinstance(y, ast.Node))
    return False


def _key_affinity(scope, col_aff, other):
    """The affinity a seek key compared with ``other`` gets: none when the comparison applies
    none (both sides have an affinity and neither is numeric), else the column's."""
    oth = expr_affinity(scope, other)
    if oth > AFF_NONE and ord(col_aff) < 0x43 and oth < 0x43:
        return "A"
    return col_aff


def _affinity_ok(scope, src, col, other):
    """An index on a column compares like the term only when the column's affinity applies."""
    aff = src.col_affs[col]
    oth = expr_affinity(scope, other)
    if oth <= AFF_NONE:
        return True
    # Both sides have affinity: the comparison uses NUMERIC if either is numeric, else none.
    if aff >= 0x43 or oth >= 0x43:
        return aff >= 0x43
    return True


def _best_path(b, scope, lv, avail, nsrc, used_cols):
    """The cheapest Path for ``lv`` when the sources in ``avail`` are already positioned."""
    src = lv.src
    if src.table is None:
        return Path(SCAN, 1000, 1000)
    # An outer join's right table may only be looked up by its ON terms: WHERE terms must
    # still see (and reject) the NULL row, and decide nothing about which rows matched.
    outer = lv.left or lv.right
    usable = [c for c in _constraints(scope, src, lv.on_terms if outer else lv.terms, nsrc)
              if c.needs <= avail]
    eqs = {}
    ins = {}
    ranges = {}
    for c in usable:
        if c.op == "=":
            eqs.setdefault(c.col, c)
        elif c.op == "IN":
            ins.setdefault(c.col, c)
        else:
            lo_hi = ranges.setdefault(c.col, [None, None])
            if c.op in (">", ">=") and lo_hi[0] is None:
                lo_hi[0] = c
            elif c.op in ("<", "<=") and lo_hi[1] is None:
                lo_hi[1] = c
    if -1 in eqs:
        p = Path(ROWID_EQ, 1, _SEEK)
        p.eq = [eqs[-1].expr]
        p.consumed = [eqs[-1].term]
        return p
    candidates = []
    if -1 in ins:
        t = ins[-1].term
        n = len(t.items) if t.items is not None else 25
        p = Path(ROWID_IN, n, _SEEK * n)
        p.in_term = t
        p.consumed = [t]
        candidates.append(p)
    # SQLite reads a RIGHT JOIN's table in the loop nest, never only an index of it.
    cover_cols = used_cols.get(id(src)) if used_cols is not None and not lv.right else None
    for idx in _lookup_indexes(src.table) + index_keys.usable_indexes(scope, src, lv.on_terms if outer
                                                                      else lv.terms):
        covering = _covering(src, idx, cover_cols)
        eq = []
        eq_terms = []
        for ic in idx.columns:
            c = eqs.get(index_keys.column_key(src.table, ic))
            if c is None or not _coll_ok(src, ic, c):
                break
            eq.append(c.expr)
            eq_terms.append(c.term)
        lookup = 1 if covering else 4
        first = index_keys.column_key(src.table, idx.columns[0])
        if not eq and first in ins and _coll_ok(src, idx.columns[0], ins[first]):
            t = ins[first].term
            n = len(t.items) if t.items is not None else 25
            p = Path(INDEX_IN, n * 10, n * _SEEK + n * 10 * lookup)
            p.index = idx
            p.in_term = t
            p.covering = covering
            p.consumed = [t]
            candidates.append(p)
            continue
        k = len(eq)
        lower = upper = None
        if k < len(idx.columns):
            rng = ranges.get(index_keys.column_key(src.table, idx.columns[k]))
            if rng is not None and _coll_ok(src, idx.columns[k], rng[0] or rng[1]):
                lower = (rng[0].op, rng[0].expr) if rng[0] is not None else None
                upper = (rng[1].op, rng[1].expr) if rng[1] is not None else None
        if not eq and lower is None and upper is None:
            if covering and idx.origin != "pk":
                p = Path(INDEX, _N, _N * (0.5 + 0.1 * len(idx.columns)))
                p.index = idx
                p.covering = True
                candidates.append(p)
            continue
        unique_hit = idx.unique and k == len(idx.columns)
        rows = 1 if unique_hit else (10 if k else _N)
        if lower is not None and upper is not None:
            rows = max(1, rows // 64)
        elif lower is not None or upper is not None:
            rows = max(1, rows // 16)
        p = Path(INDEX, rows, _SEEK + rows * lookup - 0.5 * k)
        p.index = idx
        p.eq = eq
        p.consumed = eq_terms
        p.lower = lower
        p.upper = upper
        p.covering = covering
        candidates.append(p)
    if -1 in ranges:
        lo, hi = ranges[-1]
        rows = _N // 64 if lo is not None and hi is not None else _N // 16
        p = Path(ROWID_RANGE, rows, _SEEK + rows - 1)
        p.lower = (lo.op, lo.expr) if lo is not None else None
        p.upper = (hi.op, hi.expr) if hi is not None else None
        # The seek and the end test compare exactly as the terms do (numeric affinity, NULL: no
        # rows), so a term they implement whole is not tested again; a BETWEEN only if it gave both.
        for c in (lo, hi):
            t = c.term if c is not None else None
            if t is not None and t not in p.consumed and (
                    t.__class__ is not ast.Between or (lo is not None and hi is not None and lo.term is hi.term)):
                p.consumed.append(t)
        candidates.append(p)
    candidates.append(Path(SCAN, _N, _N))
    return min(candidates, key=lambda p: p.cost)


def _lookup_indexes(table):
    """Indexes a lookup may use (a WITHOUT ROWID table's PRIMARY KEY is the table itself)."""
    return [i for i in table.indexes
            if (i.root is not None or i.origin == "pk") and i.where is None and all(ic.col >= 0 for ic in i.columns)]


def _covering(src, idx, cover_cols):
    """Does ``idx`` hold every column of ``src`` the query reads (``cover_cols``; None: unknown)?"""
    table = src.table
    if table.without_rowid:
        if idx.origin == "pk":
            return True
        if cover_cols is None or any(table.columns[c].hidden == HIDDEN_VIRTUAL for c in cover_cols if c >= 0):
            # A VIRTUAL column is computed from the table's record (generated.code_column).
            return False
        from limbodb.translate.without_rowid import index_entry_columns
        held = set(index_entry_columns(table, idx))
        return all(c in held for c in cover_cols)
    if cover_cols is None:
        return False
    idx_cols = {ic.col for ic in idx.columns}
    return all(c == -1 or c == src.rowid_alias or c in idx_cols for c in cover_cols)


def _coll_ok(src, ic, c):
    """Does index column ``ic`` order values by the collation constraint ``c`` compares with?"""
    return (ic.collation or "BINARY").upper() == c.coll


def plan_loops(b, scope, sources, terms, order, used_cols=None):
    """Choose the join order and each level's path; returns a Plan.

    ``order``: ORDER BY terms (expr, collation, desc, nulls_first) or None.
    ``used_cols``: {id(source): set of column indexes read} for covering
    indexes, or None when unknown (a subquery might read any column).
    """
    from limbodb.translate.select import join_using_terms, split_and
    nsrc = len(sources)
    levels = [_Level(src, join) for src, join in sources]
    if nsrc > 1:
        right_join.simplify_left_joins(scope, levels, terms, nsrc, _term_sources)
    pool = list(terms)
    has_right = right_join.has_right(sources)
    # The level whose join result a pooled term filters: the last for WHERE, k for an inner ON.
    filters = {id(t): nsrc - 1 for t in terms}
    rj_using = right_join.using_terms(scope, sources) if has_right else None
    for k, lv in enumerate(levels):
        on = lv.join[1]
        extra = split_and(on) if on is not None else []
        if has_right:
            extra.extend(rj_using[k])
        else:
            extra.extend(join_using_terms(scope, sources, k))
        if lv.left or lv.right:
            lv.on_terms = extra
        else:
            pool.extend(extra)
            for t in extra:
                filters[id(t)] = right_join.inner_on_level(lv.src, k)
    if has_right or any(lv.left for lv in levels):
        right_join.check_on_terms(scope, levels, nsrc, _term_sources)
    pre = []
    term_src = []
    for t in pool:
        used = _term_sources(scope, t, nsrc)
        if not used:
            if nsrc:
                levels[0].terms.append(t)
            else:
                pre.append(t)
        else:
            term_src.append((t, used))
    # Each term is usable by any level it reads; it is tested once, at the innermost.
    for t, used in term_src:
        for i in used:
            if t not in levels[i].terms:
                levels[i].terms.append(t)
    order_idx = _choose_order(b, scope, levels, nsrc, used_cols)
    ordered = [levels[i] for i in order_idx]
    pos = {i: p for p, i in enumerate(order_idx)}
    for lv in levels:
        lv.terms = []
    const_terms = [t for t in pool if not _term_sources(scope, t, nsrc)] if nsrc else []
    # With a RIGHT JOIN (written order) a term that filters level j's join result is tested
    # at or inside the last RIGHT JOIN level up to j: that level's no-match pass must see it,
    # and it must not hide a matching row from the levels before.
    rights = [k for k, lv in enumerate(ordered) if lv.right] if has_right else []

    def floor(t):
        j = filters[id(t)]
        return max([k for k in rights if k <= j], default=0)
    for t in const_terms:
        # SQLite tests a deterministic term that reads no table once, before the loops
        # (sqlite3WhereBegin), so its errors happen even when a table is empty.
        if _hoistable(b, scope, t):
            pre.append(t)
        else:
            ordered[floor(t)].terms.append(t)
    for t, used in term_src:
        at = max(pos[i] for i in used)
        if rights:
            # An inner ON reads no later table (checked); one with a subquery stays at its join.
            at = max(min(at, filters[id(t)]), floor(t))
        ordered[at].terms.append(t)
    avail = set()
    for lv in ordered:
        lv.path = _best_path(b, scope, lv, avail, nsrc, used_cols)
        avail.add(scope.sources.index(lv.src))
    for lv in ordered:
        for t in lv.path.consumed:
            if t in lv.terms:
                lv.terms.remove(t)
            elif t in lv.on_terms:
                lv.on_terms.remove(t)
    satisfied = False
    if order is not None and nsrc == 1:
        satisfied = _order_by_path(scope, ordered[0], order, used_cols)
    for lv in ordered:
        _finish_level(b, lv)
    for lv in ordered:
        if lv.right:
            lv.rj = right_join.RightJoin(b, lv.src)
    return Plan(ordered, pre, scope, satisfied)


def _choose_order(b, scope, levels, nsrc, used_cols):
    if nsrc > 1 and any(getattr(lv.src, "args", None) for lv in levels):
        from limbodb.translate.tvf import dependency_order
        return dependency_order(scope, levels)
    if nsrc <= 1 or nsrc > 5 or any(lv.left or lv.right for lv in levels) or \
            any(lv.src.table is None for lv in levels):
        return list(range(nsrc))
    best = None
    for perm in permutations(range(nsrc)):
        avail = set()
        cost = 0
        rows = 1
        for i in perm:
            p = _best_path(b, scope, levels[i], avail, nsrc, used_cols)
            cost += rows * p.cost
            rows *= p.rows
            avail.add(i)
        if best is None or cost < best[0]:
            best = (cost, perm)
    return list(best[1])


def _order_by_path(scope, lv, order, used_cols):
    """Can this level's path deliver ``order``? May switch a scan to an index scan to do so."""
    src = lv.src
    if src.table is None:
        return False
    path = lv.path
    cols = []
    for e, coll, d, nf in order:
        c = _column_of(scope, e, src)
        # NULLs come first in index order, so only the default NULLS placement matches a walk.
        if c is None or nf != (not d):
            return False
        cols.append((c, (coll or "BINARY").upper(), d))
    full_scan = path.kind == SCAN or (path.kind == INDEX and not path.eq and path.lower is None
                                      and path.upper is None)
    if full_scan or path.kind in (ROWID_RANGE, ROWID_EQ):
        if cols[0][0] == -1:
            if len(cols) != 1:
                return False
            if full_scan and path.kind == INDEX:
                lv.path = path = Path(SCAN, _N, _N)
            if path.kind != ROWID_EQ:
                path.desc = cols[0][2]
            return True
        if not full_scan:
            return False
        # Scan an index whose leading columns give the order instead.
        for idx in _lookup_indexes(src.table):
            rel = _index_gives(idx, 0, cols)
            if rel is not None:
                p = Path(INDEX, _N, _N)
                p.index = idx
                p.desc = rel
                cover = used_cols.get(id(src)) if used_cols is not None else None
                p.covering = _covering(src, idx, cover)
                lv.path = p
                return True
        return False
    if path.kind == INDEX:
        rel = _index_gives(path.index, len(path.eq), cols)
        if rel is not None:
            path.desc = rel
            return True
    return False


def _index_gives(idx, k, cols):
    """None if index columns k.. (then the rowid, or a WITHOUT ROWID table's PRIMARY KEY
    columns) cannot give the ORDER BY ``cols``; else whether the index must be walked
    backwards to give them."""
    rel = None
    key = idx.columns if idx.pk_tail is None else idx.columns + idx.pk_tail
    for j, (c, coll, d) in enumerate(cols):
        if k + j >= len(key):
            # Past the key only the rowid follows, ascending among equal keys.
            if idx.pk_tail is not None or c != -1 or j != len(cols) - 1:
                return None
            this = d
        else:
            ic = key[k + j]
            if ic.col != c or ic.col < 0 or (ic.collation or "BINARY").upper() != coll:
                return None
            this = d != ic.desc
        if rel is None:
            rel = this
        elif rel != this:
            return None
    return rel


def _finish_level(b, lv):
    """Allocate cursors, point a covering source at its index, and add the EXPLAIN QUERY PLAN line."""
    src = lv.src
    path = lv.path
    if src.table is None:
        detail = getattr(src, "plan_detail", None) or f"SCAN {src.plan_name or src.name}"
        b.add_plan(detail + (" LEFT-JOIN" if lv.left else ""), b.plan_parent)
        return
    name = src.name
    kind = path.kind
    wr = src.table.without_rowid
    pk_path = wr and kind in (INDEX, INDEX_IN) and path.index.origin == "pk"
    if kind in (INDEX, INDEX_IN):
        if pk_path:
            lv.index_cursor = src.cursor
        else:
            lv.index_cursor = b.alloc_cursor()
            if path.covering:
                from limbodb.translate.without_rowid import index_entry_columns
                src.index_cursor = lv.index_cursor
                cols = index_entry_columns(src.table, path.index) if wr else [ic.col for ic in path.index.columns]
                src.index_map = {c: k for k, c in enumerate(cols)}
    if kind in (ROWID_IN, INDEX_IN):
        lv.list_cursor = b.alloc_cursor()
    if kind == ROWID_EQ or kind == ROWID_IN:
        detail = f"SEARCH {name} USING INTEGER PRIMARY KEY (rowid=?)"
    elif kind == ROWID_RANGE:
        parts = [f"rowid{bnd[0][0]}?" for bnd in (path.lower, path.upper) if bnd is not None]
        detail = f"SEARCH {name} USING INTEGER PRIMARY KEY ({' AND '.join(parts)})"
    elif kind in (INDEX, INDEX_IN):
        idx = path.index
        how = "COVERING INDEX" if path.covering else "INDEX"
        names = [src.col_names[ic.col] if ic.col >= 0 else "<expr>" for ic in idx.columns]
        parts = [f"{n}=?" for n in names[:len(path.eq) + (1 if kind == INDEX_IN else 0)]]
        k = len(parts)
        for bnd in (path.lower, path.upper):
            if bnd is not None:
                parts.append(f"{names[k]}{bnd[0][0]}?")
        if pk_path:
            detail = f"SEARCH {name} USING PRIMARY KEY ({' AND '.join(parts)})" if parts else f"SCAN {name}"
        elif parts:
            detail = f"SEARCH {name} USING {how} {idx.name} ({' AND '.join(parts)})"
        else:
            detail = f"SCAN {name} USING {how} {idx.name}"
    else:
        detail = f"SCAN {name}"
    if lv.left:
        detail += " LEFT-JOIN"
    b.read = True
    b.add_plan(detail, b.plan_parent)
    if src.index is not None:
        if not any(i.name.lower() == src.index.lower() for i in src.table.indexes):
            raise OperationalError(f"no such index: {src.index}")
