"""FROM subqueries, views and CTEs made ephemeral tables: filled where the loops start
(or once per statement for a CTE SQLite materializes), shared by the uses SQLite
computes once, and WITH RECURSIVE run over a queue table. The first FROM item that
stays the outer loop is a co-routine instead, making its rows as the loop asks.

select.open_sources decides which FROM item becomes which; the rows come from
select.compile_select into a sink that appends them. Mirrors sqlite src/select.c
(the SRT_EphemTab subqueries, multi-use CTEs) and generateWithRecursiveQuery.
"""

from limbodb.errors import OperationalError
from limbodb.parser import ast
from limbodb.storage.record import KeyInfo
from limbodb.translate import flatten
from limbodb.translate.compound import copy_rows
from limbodb.translate.expr import AFF_BLOB, Scope, Source, code_expr
from limbodb.translate.select import _flatten, _unique_names, compile_select, result_columns
from limbodb.vdbe.insn import (
    MAKERECORD_UNPACKED, OP_Column, OP_Copy, OP_DecrJumpZero, OP_Delete, OP_EndCoroutine, OP_Found, OP_Gosub,
    OP_Goto, OP_IdxInsert, OP_IfNot, OP_InitCoroutine, OP_Insert, OP_MakeRecord, OP_MustBeInt, OP_NewRowid,
    OP_Once, OP_OpenEphemeral, OP_Return, OP_Rewind, OP_Yield,
)


def materialize(b, sel, alias, parent, ctes, resolved=False, kind="subquery", coroutine=False):
    """Run ``sel`` into a new ephemeral table (or a co-routine); a Source reading it.

    ``resolved``: a view, whose columns SQLite names after resolving them (as a query's).
    ``kind``: what EXPLAIN QUERY PLAN calls it without an alias ("(subquery-1)", "(join-1)").
    ``coroutine``: the first FROM item SQLite runs as a co-routine instead (Coroutine).
    """
    cursor = b.alloc_cursor()
    co = None
    if coroutine:
        co = Coroutine(b)
        sink = co.sink
    else:
        b.emit(OP_OpenEphemeral, cursor, 0)
        sink = ephemeral_sink(b, cursor)
    # Every subquery takes a number, shown where it has no alias.
    number = b.next_subquery()
    label = alias or f"({kind}-{number})"
    saved = b.plan_parent
    b.plan_parent = b.add_plan(f"{'CO-ROUTINE' if co else 'MATERIALIZE'} {label}")
    try:
        if co is None:
            cols = compile_select(b, sel, parent, sink, ctes)
        else:
            after = b.new_label()
            b.emit(OP_InitCoroutine, co.reg, after, b.addr + 1)
            co.entry = b.addr
            cols = compile_select(b, sel, parent, sink, ctes)
            b.emit(OP_EndCoroutine, co.reg)
            b.resolve(after)
    finally:
        b.plan_parent = saved
    names = _unique_names([c.name if resolved or c.ident is None else c.ident for c in cols])
    # A column has its expression's affinity, found in the subquery's own scope (a compound's
    # leftmost select, as SQLite 3.40 has it); an expression without one leaves it without.
    affs = [c.affinity for c in cols]
    src = Source(alias, cursor, names, affs, [None] * len(cols), None, None, False)
    src.plan_name = label
    src.coroutine = co
    return src


class Coroutine:
    """A FROM subquery run as a co-routine: each OP_Yield to it makes its next row, in
    registers ``result``.., until it ends at the Yield's P2. The loop over it (planner.py
    Plan.emit) reads them with the Column instructions on its Source's cursor made copies
    (to_copies); where the planner does not make it the outermost loop, ``fill`` runs it
    into an ephemeral table on that cursor instead. Mirrors sqlite src/select.c (viaCoroutine)
    and src/where.c translateColumnToCopy.
    """

    __slots__ = ("reg", "entry", "result", "n")

    def __init__(self, b):
        self.reg = b.alloc_reg()
        self.entry = None
        self.result = None
        self.n = 0

    def sink(self, b, first, n):
        """compile_select's sink: hand the row to the loop over the co-routine."""
        if self.result is None:
            self.result = b.alloc_reg(n)
            self.n = n
        b.emit(OP_Copy, first, self.result, n - 1)
        b.emit(OP_Yield, self.reg)

    def fill(self, b, cursor):
        """Run the co-routine to its end, each row appended to ephemeral table ``cursor``."""
        b.emit(OP_OpenEphemeral, cursor, self.n)
        b.emit(OP_InitCoroutine, self.reg, 0, self.entry)
        done = b.new_label()
        top = b.emit(OP_Yield, self.reg, done)
        ephemeral_sink(b, cursor)(b, self.result, self.n)
        b.emit(OP_Goto, 0, top)
        b.resolve(done)

    def to_copies(self, b, cursor, start):
        """From ``start`` on, read ``cursor``'s row from the co-routine's registers."""
        result = self.result
        for insn in b.insns[start:]:
            if insn.opcode == OP_Column and insn.p1 == cursor:
                insn.opcode = OP_Copy
                insn.p1 = result + insn.p2
                insn.p2 = insn.p3
                insn.p3 = 0
                insn.p4 = None
                insn.p5 = 0


def ephemeral_sink(b, cursor):
    """A sink (compile_select's) appending each row to ephemeral table ``cursor``."""
    rec = b.alloc_reg()
    rowid = b.alloc_reg()

    def sink(bb, first, n):
        bb.emit(OP_MakeRecord, first, n, rec, None, MAKERECORD_UNPACKED)
        bb.emit(OP_NewRowid, cursor, rowid)
        bb.emit(OP_Insert, cursor, rec, rowid)
    return sink


def deferred(b, fills, open_source):
    """``open_source()``, its code made a subroutine recorded in ``fills`` (None: inline).

    SQLite fills a FROM subquery's table when the loops reach it, after the WHERE terms
    that need no row (a false one, LIMIT 0: never)."""
    if fills is None:
        return open_source()
    ret = b.alloc_reg()
    after = b.new_label()
    b.emit(OP_Goto, 0, after)
    addr = b.addr
    src = open_source()
    b.emit(OP_Return, ret)
    b.resolve(after)
    fills.append((ret, addr))
    return src


def reused(b, reuse, ref, obj, alias):
    """A copy of the table an earlier FROM item naming view or CTE ``obj`` filled, where
    SQLite reads that one again (select.c isSelfJoinView), or None."""
    first = reuse.get(id(obj)) if reuse and reuse.get(id(ref)) else None
    return copied_source(b, first, alias) if first is not None else None


def remember(reuse, items, ref, obj, src):
    """``src``, kept in ``reuse`` for later FROM items naming ``obj`` where SQLite reads its
    table again: not the first item run as a co-routine (nothing but an outer or cross join
    follows it)."""
    if reuse and reuse.get(id(ref)) and not (ref is items[0] and (
            len(items) == 1 or (items[1].join_type or 0) & (ast.JT_OUTER | ast.JT_CROSS))):
        reuse.setdefault(id(obj), src)
    return src


def copied_source(b, first, alias):
    """A Source reading a new ephemeral table holding the rows of ``first``'s."""
    n = len(first.col_names)
    cursor = b.alloc_cursor()
    b.emit(OP_OpenEphemeral, cursor, n)
    copy_rows(b, first.cursor, n, ephemeral_sink(b, cursor))
    return Source(alias, cursor, list(first.col_names), list(first.col_affs), [None] * n, None, None, False)


def materialize_once(b, cte, alias, parent, fill, fills=None):
    """A Source for a CTE SQLite materializes once per statement: the first use emits a
    subroutine whose body (``fill(parent)``) runs once (OP_Once); each use calls it and
    copies the rows into a table of its own, so that uses read apart (a self-join). The
    first use calls it where its loops start (``fills``, as for any FROM subquery), a later
    one where its FROM item is opened, as SQLite's does. A body that reads the query around
    it runs again at each use, as SQLite's correlated one does.
    Mirrors sqlite src/select.c sqlite3Select (CteUse.addrM9e)."""
    key = ("materialized", id(cte))
    shared = b.flatten_facts.get(key)
    # result_columns() drops the code it compiled: a subroutine left there is gone.
    if shared is not None and shared[1] < len(b.insns) and b.insns[shared[1]] is shared[2]:
        b.emit(OP_Gosub, shared[3], shared[1])
        return copied_source(b, shared[4], alias)
    return deferred(b, fills, lambda: _fill_shared(b, cte, key, alias, parent, fill))


def _fill_shared(b, cte, key, alias, parent, fill):
    """The first use of a CTE materialize_once shares: its subroutine, then the copy."""
    from limbodb.translate.subquery import correlation_probe
    ret = b.alloc_reg()
    b.emit(OP_Gosub, ret, b.addr + 2)
    after = b.new_label()
    b.emit(OP_Goto, 0, after)
    once = b.emit(OP_Once, 0, 0)
    probe, marker = correlation_probe(parent)
    first = fill(probe)
    b.insns[once].p2 = b.addr
    b.emit(OP_Return, ret)
    b.resolve(after)
    if marker is not None and marker.correlated:
        b.insns[once].opcode = OP_Goto
        b.insns[once].p2 = once + 1
        return first
    b.flatten_facts[key] = (cte, once, b.insns[once], ret, first)
    return copied_source(b, first, alias)


class CteRow:
    """Inside a recursive CTE's recursive part, its own name: the one row being expanded."""

    __slots__ = ("cursor", "names")

    def __init__(self, cursor, names):
        self.cursor = cursor
        self.names = names


def recursive_core(cte):
    """Index of the first core of ``cte`` that reads the CTE itself, or None."""
    lname = cte.name.lower()
    for k, core in enumerate(cte.select.cores):
        if k and core.__class__ is ast.SelectCore and any(
                it.__class__ is ast.TableRef and it.schema is None and it.name.lower() == lname
                for it in _flatten(core.from_)):
            return k
    return None


def materialize_recursive(b, cte, alias, parent, ctes, coroutine=False):
    """WITH RECURSIVE: run the initial cores into a queue, then expand one queued row at a time.

    Each row taken from the queue is appended to the result (``coroutine``: handed to the
    loop over it, so an outer LIMIT stops an endless recursion) and offered to the
    recursive cores as the CTE's only row; their rows join the queue (UNION
    drops rows seen before). A LIMIT on the CTE's select bounds the result.
    Mirrors sqlite src/select.c generateWithRecursiveQuery.
    """
    sel = cte.select
    r = recursive_core(cte)
    op = sel.ops[r - 1]
    if op not in ("UNION", "UNION ALL") or sel.order_by:
        raise OperationalError(f"recursive CTE {cte.name} must use UNION or UNION ALL without ORDER BY")
    flatten.mark_compound(b, sel, recursive=True)
    init = ast.Select(None, sel.cores[:r], sel.ops[:r - 1], None, None, None)
    step = ast.Select(None, sel.cores[r:], sel.ops[r:], None, None, None)
    cols = result_columns(b, init, parent, ctes)
    names = list(cte.columns) if cte.columns else _unique_names([c.name for c in cols])
    n = len(names)
    result = b.alloc_cursor()
    queue = b.alloc_cursor()
    current = b.alloc_cursor()
    seen = b.alloc_cursor() if op == "UNION" else None
    co = Coroutine(b) if coroutine else None
    after = b.new_label()
    if co is None:
        b.emit(OP_OpenEphemeral, result, n)
    else:
        b.emit(OP_InitCoroutine, co.reg, after, b.addr + 1)
        co.entry = b.addr
    b.emit(OP_OpenEphemeral, queue, n)
    if seen is not None:
        b.emit(OP_OpenEphemeral, seen, 0, 0, KeyInfo([None] * n))
    limit = None
    done = b.new_label()
    if sel.limit is not None:
        limit = b.alloc_reg()
        code_expr(b, Scope([]), sel.limit, limit)
        b.emit(OP_MustBeInt, limit, 0, 0, "datatype mismatch")
        b.emit(OP_IfNot, limit, done)
    rec = b.alloc_reg()
    rid = b.alloc_reg()

    def enqueue(bb, first, nn):
        if nn != n:
            raise OperationalError(f"SELECTs to the left and right of {op} do not have the same number "
                                   f"of result columns")
        skip = bb.new_label()
        if seen is not None:
            bb.emit(OP_Found, seen, skip, first, n)
            bb.emit(OP_MakeRecord, first, n, rec, None, MAKERECORD_UNPACKED)
            bb.emit(OP_IdxInsert, seen, rec)
        bb.emit(OP_MakeRecord, first, n, rec, None, MAKERECORD_UNPACKED)
        bb.emit(OP_NewRowid, queue, rid)
        bb.emit(OP_Insert, queue, rec, rid)
        bb.resolve(skip)
    b.add_plan(f"{'CO-ROUTINE' if co else 'MATERIALIZE'} {alias}")
    compile_select(b, init, parent, enqueue, ctes)
    row = b.alloc_reg(n)
    top = b.addr
    b.emit(OP_Rewind, queue, done)
    for i in range(n):
        b.emit(OP_Column, queue, i, row + i)
    b.emit(OP_Delete, queue)
    if co is None:
        b.emit(OP_MakeRecord, row, n, rec, None, MAKERECORD_UNPACKED)
        b.emit(OP_NewRowid, result, rid)
        b.emit(OP_Insert, result, rec, rid)
    else:
        co.sink(b, row, n)
        b.emit(OP_MakeRecord, row, n, rec, None, MAKERECORD_UNPACKED)
    if limit is not None:
        b.emit(OP_DecrJumpZero, limit, done)
    b.emit(OP_OpenEphemeral, current, n)
    b.emit(OP_NewRowid, current, rid)
    b.emit(OP_Insert, current, rec, rid)
    inner = dict(ctes)
    inner[cte.name.lower()] = CteRow(current, names)
    compile_select(b, step, parent, enqueue, inner)
    b.emit(OP_Goto, 0, top)
    b.resolve(done)
    if co is not None:
        b.emit(OP_EndCoroutine, co.reg)
    b.resolve(after)
    src = Source(alias, result, names, [AFF_BLOB] * n, [None] * n, None, None, False)
    src.coroutine = co
    return src
