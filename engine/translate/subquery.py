"""Subqueries in expressions: scalar ``(SELECT ...)``, ``EXISTS``, and ``IN``.

Scalar and EXISTS subqueries are emitted inline where they are used, with
the enclosing scope as parent, so correlated ones read the outer cursors;
an uncorrelated one is computed once per statement (OP_Once guards it).
``x IN (list)`` compares item by item with the left side's affinity and
collation; an IN subquery fills an ephemeral index once (unless correlated)
and probes it with Found, remembering whether it held a NULL or any row, for SQLite's
three-valued result. Each subquery adds its EXPLAIN QUERY PLAN line
("SCALAR SUBQUERY n", "CORRELATED ...", "LIST SUBQUERY n").
Mirrors sqlite src/expr.c (sqlite3CodeSubselect, sqlite3ExprCodeIN).
"""

from limbodb.errors import OperationalError
from limbodb.parser import ast
from limbodb.storage.record import KeyInfo
from limbodb.translate.expr import (
    Scope, code_temp, expr_affinity, expr_collation, walk,
)
from limbodb.translate.flatten import has_aggregate, has_window
from limbodb.vdbe.insn import (
    MAKERECORD_UNPACKED, OP_Affinity, OP_Copy, OP_Eq, OP_Found, OP_Goto, OP_IdxInsert, OP_If,
    OP_Integer, OP_IsNull, OP_MakeRecord, OP_Not, OP_NotNull, OP_Null, OP_Once, OP_OpenEphemeral,
)


def _select_with_limit_one(sel):
    """The subquery with LIMIT 1 when it has none (SQLite adds it to scalar subqueries)."""
    if sel.limit is not None:
        return sel
    return ast.Select(sel.with_, sel.cores, sel.ops, sel.order_by, ast.Literal(1), None)


def _exists_select(b, sel, scope):
    """What an EXISTS subquery computes in SQLite, whose rows go to SRT_Exists: no ORDER BY
    (IgnorableOrderby) and, in a single query or UNION ALL arms, no DISTINCT
    (IgnorableDistinct) and no result column but those holding aggregate or window
    calls (selectInnerLoop codes none for SRT_Exists). Names are resolved first, so an
    error there stands."""
    simple = all(op == "UNION ALL" for op in sel.ops)
    cores = [_exists_core(b, core) for core in sel.cores] if simple else sel.cores
    if not sel.order_by and all(new is old for new, old in zip(cores, sel.cores)):
        return sel
    from limbodb.translate.select import result_columns
    result_columns(b, sel, probe(scope))
    return ast.Select(sel.with_, cores, sel.ops, None, sel.limit, sel.offset)


def _exists_core(b, core):
    if core.__class__ is not ast.SelectCore:
        return core
    # WHERE, GROUP BY and HAVING may name a result column by its alias: that one stays.
    named = {n.name.lower() for e in (core.where, core.having, *(core.group_by or ())) for n in walk(e)
             if n.__class__ is ast.Column and n.table is None}
    # A column with an aggregate keeps the query an aggregate one (its calls are computed).
    cols = [rc if rc.expr.__class__ is ast.Literal or has_aggregate(b, [rc.expr]) or has_window(rc.expr)
            or (rc.alias is not None and rc.alias.lower() in named)
            else ast.ResultColumn(ast.Literal(None), rc.alias, "NULL") for rc in core.columns]
    if not core.distinct and all(new.expr is old.expr for new, old in zip(cols, core.columns)):
        return core
    return ast.SelectCore(False, cols, core.from_, core.where, core.group_by, core.having, core.windows)


def code_scalar_subquery(b, scope, e, target):
    result = b.alloc_reg()
    done = b.new_label()

    def sink(bb, first, n):
        if n != 1:
            raise OperationalError(f"sub-select returns {n} columns - expected 1")
        bb.emit(OP_Copy, first, result)
        bb.emit(OP_Goto, 0, done)
    inner = Scope([], scope)
    flag = _begin_cached(b)
    b.emit(OP_Null, 0, result)
    _compile_sub(b, _select_with_limit_one(e.select), scope, inner, sink, "SCALAR SUBQUERY")
    b.resolve(done)
    _end_cached(b, flag, inner.correlated)
    b.emit(OP_Copy, result, target)


def code_exists(b, scope, e, target):
    result = b.alloc_reg()
    done = b.new_label()

    def sink(bb, first, n):
        bb.emit(OP_Integer, 1, result)
        bb.emit(OP_Goto, 0, done)
    inner = Scope([], scope)
    flag = _begin_cached(b)
    b.emit(OP_Integer, 0, result)
    _compile_sub(b, _exists_select(b, e.select, scope), scope, inner, sink, "SCALAR SUBQUERY")
    b.resolve(done)
    _end_cached(b, flag, inner.correlated)
    if e.negated:
        b.emit(OP_Not, result, target)
    else:
        b.emit(OP_Copy, result, target)


class _Probe(Scope):
    """The parent scope seen by a subquery: resolving through it marks the subquery correlated."""

    def __init__(self, outer, marker):
        super().__init__(outer.sources, outer.parent)
        self.overrides = outer.overrides
        self.aliases = outer.aliases
        self.agg_ok = outer.agg_ok
        self.ctes = outer.ctes
        self._outer = outer
        self._marker = marker

    def resolve(self, col):
        r = self._outer.resolve(col)
        self._marker.correlated = True
        return r


def probe(scope):
    """A parent scope for compiling a subquery of ``scope``'s query apart from its code."""
    return _Probe(scope, Scope([], scope))


def correlation_probe(scope):
    """(parent scope, marker) for compiling a query under ``scope`` that learns whether it
    read ``scope``'s query (``marker.correlated``); (None, None) at the top level."""
    if scope is None:
        return None, None
    marker = Scope([], scope)
    return _Probe(scope, marker), marker


def _compile_sub(b, sel, scope, inner, sink, what):
    """Compile a subquery under its own EXPLAIN QUERY PLAN line ("CORRELATED ..." when it is)."""
    from limbodb.translate.select import compile_select
    parent = b.plan_parent
    line = len(b.plan)
    pid = b.add_plan(f"{what} {b.next_subquery()}")
    b.plan_parent = pid
    try:
        compile_select(b, sel, _Probe(scope, inner), sink)
    finally:
        b.plan_parent = parent
    if inner.correlated:
        i, par, detail = b.plan[line]
        b.plan[line] = (i, par, "CORRELATED " + detail)


def _begin_cached(b):
    """Start a block that runs once per statement unless found correlated: returns its Once addr."""
    return b.emit(OP_Once, 0, 0)


def _end_cached(b, once_addr, correlated):
    insn = b.insns[once_addr]
    if correlated:
        insn.opcode = OP_Goto
        insn.p2 = once_addr + 1
    else:
        insn.p2 = b.addr


def _comparison_affinity(a, b):
    """sqlite3CompareAffinity for two affinity letters (0x40: none)."""
    if a > 0x40 and b > 0x40:
        return 0x43 if a >= 0x43 or b >= 0x43 else 0x41
    if a <= 0x40 and b <= 0x40:
        return 0x41
    return a if a > 0x40 else b


def code_in(b, scope, e, target):
    """target = x IN (...) with SQLite's NULL rules (negated for NOT IN)."""
    end = b.new_label()
    true_l = b.new_label()
    x_expr = e.expr
    if x_expr.__class__ is ast.Vector:
        raise OperationalError("row value misused")
    x = code_temp(b, scope, x_expr)
    b.emit(OP_Null, 0, target)
    if e.items is not None:
        if not e.items:
            b.emit(OP_Integer, 1 if e.negated else 0, target)
            return
        has_null = b.alloc_reg()
        b.emit(OP_Integer, 0, has_null)
        null_x = b.new_label()
        b.emit(OP_IsNull, x, null_x)
        # IN (list) compares with the left side's affinity and collation only (comparisonAffinity).
        aff = expr_affinity(scope, x_expr)
        aff = aff if aff > 0x40 else 0x41
        coll = expr_collation(scope, x_expr)
        for item in e.items:
            r = code_temp(b, scope, item)
            nn = b.new_label()
            b.emit(OP_NotNull, r, nn)
            b.emit(OP_Integer, 1, has_null)
            b.resolve(nn)
            b.emit(OP_Eq, r, true_l, x, coll, aff)
        b.emit(OP_If, has_null, end)
        b.emit(OP_Integer, 1 if e.negated else 0, target)
        b.emit(OP_Goto, 0, end)
        b.resolve(null_x)
        b.resolve(true_l)
        # x NULL leaves NULL; a match sets the result.
        b.emit(OP_IsNull, x, end)
        b.emit(OP_Integer, 0 if e.negated else 1, target)
        b.resolve(end)
        return
    if e.select is None:
        # SQLite reads ``x IN t`` as ``x IN (SELECT * FROM t)`` (a one-column table or function).
        e.select = ast.Select(None, [ast.SelectCore(False, [ast.ResultColumn(ast.Star(None), None, "*")],
                                                    [e.table], None, None, None, None)], [], None, None, None)
    # Subquery: fill an ephemeral index (once unless correlated), then probe it.
    from limbodb.translate.select import result_columns
    cursor = b.alloc_cursor()
    has_null = b.alloc_reg()
    has_row = b.alloc_reg()
    rec = b.alloc_reg()
    cols = result_columns(b, e.select, probe(scope))
    if len(cols) != 1:
        raise OperationalError(f"sub-select returns {len(cols)} columns - expected 1")
    aff = _comparison_affinity(expr_affinity(scope, x_expr), cols[0].affinity)
    coll = expr_collation(scope, x_expr)

    def sink(bb, first, n):
        if n != 1:
            raise OperationalError(f"sub-select returns {n} columns - expected 1")
        nn = bb.new_label()
        bb.emit(OP_Integer, 1, has_row)
        bb.emit(OP_NotNull, first, nn)
        bb.emit(OP_Integer, 1, has_null)
        bb.resolve(nn)
        if aff > 0x41:
            bb.emit(OP_Affinity, first, 1, 0, chr(aff))
        bb.emit(OP_MakeRecord, first, 1, rec, None, MAKERECORD_UNPACKED)
        bb.emit(OP_IdxInsert, cursor, rec)
    inner = Scope([], scope)
    flag = _begin_cached(b)
    b.emit(OP_OpenEphemeral, cursor, 0, 0, KeyInfo([coll]))
    b.emit(OP_Integer, 0, has_null)
    b.emit(OP_Integer, 0, has_row)
    _compile_sub(b, e.select, scope, inner, sink, "LIST SUBQUERY")
    _end_cached(b, flag, inner.correlated)
    # A NULL x is in no set, so the result is NULL, except for an empty one: then it is false.
    not_null = b.new_label()
    b.emit(OP_NotNull, x, not_null)
    b.emit(OP_If, has_row, end)
    b.emit(OP_Integer, 1 if e.negated else 0, target)
    b.emit(OP_Goto, 0, end)
    b.resolve(not_null)
    key = b.alloc_reg()
    b.emit(OP_Copy, x, key)
    if aff > 0x41:
        b.emit(OP_Affinity, key, 1, 0, chr(aff))
    b.emit(OP_Found, cursor, true_l, key, 1)
    b.emit(OP_If, has_null, end)
    b.emit(OP_Integer, 1 if e.negated else 0, target)
    b.emit(OP_Goto, 0, end)
    b.resolve(true_l)
    b.emit(OP_Integer, 0 if e.negated else 1, target)
    b.resolve(end)
