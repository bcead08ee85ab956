"""Compound SELECTs: UNION ALL through one shared pipeline, UNION, INTERSECT and EXCEPT
through ephemeral indexes, and a compound's ORDER BY, which names result columns.

Each SELECT of the compound is compiled by select.compile_select into a sink that
adds its rows to the running result. Mirrors sqlite src/select.c multiSelect and
multiSelectOrderBy.
"""

from limbodb.errors import OperationalError
from limbodb.parser import ast
from limbodb.storage.record import KeyInfo
from limbodb.translate import flatten
from limbodb.translate.expr import Scope
from limbodb.translate.select import _ordinal, _Pipeline, compile_select, result_columns
from limbodb.vdbe.insn import (
    MAKERECORD_UNPACKED, OP_Column, OP_Copy, OP_Found, OP_IdxInsert, OP_MakeRecord, OP_Next, OP_NotFound,
    OP_OpenEphemeral, OP_Rewind,
)


def compile_compound(b, sel, parent, sink, ctes):
    flatten.mark_compound(b, sel)
    cores = sel.cores
    ops = sel.ops
    first_sel = ast.Select(None, [cores[0]], [], None, None, None)
    cols = result_columns(b, first_sel, parent, ctes)
    n = len(cols)
    # Each column compares with the leftmost SELECT's collation that has one (multiSelectCollSeq).
    colls = [c.collation for c in cols]
    for core in cores[1:]:
        sub = ast.Select(None, [core], [], None, None, None)
        other = result_columns(b, sub, parent, ctes)
        if len(other) != n:
            op = ops[0]
            raise OperationalError(f"SELECTs to the left and right of {op} do not have the same "
                                   f"number of result columns")
        colls = [c if c is not None else o.collation for c, o in zip(colls, other)]
    key_info = KeyInfo(colls)
    pipe = _Pipeline(b, sel, sink, n)
    scope = Scope([], parent)
    order = None
    if sel.order_by:
        order = _compound_order(sel.order_by, cols, colls)
        pipe.start_sorter(order, [t[1] for t in order], [t[2] for t in order], [t[3] for t in order])

    def to_pipe(bb, first, nn):
        def key_fn(kf):
            for k, (idx, _c, _d, _n) in enumerate(order):
                bb.emit(OP_Copy, first + idx, kf + k)
        pipe.row(scope, first, key_fn)

    if all(op == "UNION ALL" for op in ops):
        for core in cores:
            compile_select(b, ast.Select(None, [core], [], None, None, None), parent, to_pipe, ctes)
        pipe.finish()
        return cols
    # Left-associative: the running result lives in an ephemeral index. A trailing run of
    # UNION ALL keeps duplicates, so those cores go straight to the output after it.
    last = max(i for i, op in enumerate(ops) if op != "UNION ALL") + 1
    # Which of equal rows (1 and 1.0) survives: without ORDER BY SQLite inserts into an index,
    # so the last one; with it, SQLite merges sorted selects (multiSelectOrderBy), keeping a
    # select's first such row, and a UNION takes the right select's over the left's.
    ordered = bool(sel.order_by)
    acc = b.alloc_cursor()
    b.emit(OP_OpenEphemeral, acc, 0, 0, key_info)
    rec = b.alloc_reg()

    def into(cursor, keep_first=False):
        def s(bb, first, nn):
            skip = None
            if keep_first:
                skip = bb.new_label()
                bb.emit(OP_Found, cursor, skip, first, nn)
            bb.emit(OP_MakeRecord, first, nn, rec, None, MAKERECORD_UNPACKED)
            bb.emit(OP_IdxInsert, cursor, rec)
            if skip is not None:
                bb.resolve(skip)
        return s
    compile_select(b, ast.Select(None, [cores[0]], [], None, None, None), parent, into(acc, ordered), ctes)
    for op, core in zip(ops[:last], cores[1:last + 1]):
        sub = ast.Select(None, [core], [], None, None, None)
        if op == "UNION ALL" or (op == "UNION" and not ordered):
            compile_select(b, sub, parent, into(acc, ordered), ctes)
            continue
        right = b.alloc_cursor()
        b.emit(OP_OpenEphemeral, right, 0, 0, key_info)
        compile_select(b, sub, parent, into(right, ordered), ctes)
        if op == "UNION":
            # The right select's rows replace the equal ones the left gave.
            copy_rows(b, right, n, into(acc))
            continue
        keep = b.alloc_cursor()
        b.emit(OP_OpenEphemeral, keep, 0, 0, key_info)
        copy_rows(b, acc, n, into(keep), (OP_NotFound if op == "INTERSECT" else OP_Found, right))
        acc = keep
    copy_rows(b, acc, n, to_pipe)
    for core in cores[last + 1:]:
        compile_select(b, ast.Select(None, [core], [], None, None, None), parent, to_pipe, ctes)
    pipe.finish()
    return cols


def copy_rows(b, src, n, sink, test=None):
    """Hand each row of ephemeral index ``src`` to ``sink``; ``test`` (OP_Found or OP_NotFound,
    cursor) skips the rows that are (not) in that cursor's index."""
    regs = b.alloc_reg(n)
    done = b.new_label()
    b.emit(OP_Rewind, src, done)
    top = b.addr
    for i in range(n):
        b.emit(OP_Column, src, i, regs + i)
    skip = b.new_label()
    if test is not None:
        b.emit(test[0], test[1], skip, regs, n)
    sink(b, regs, n)
    b.resolve(skip)
    b.emit(OP_Next, src, top)
    b.resolve(done)


def _compound_order(order_by, cols, colls):
    out = []
    for t in order_by:
        e = t.expr
        coll = None
        if e.__class__ is ast.Collate:
            coll = e.collation
            e = e.expr
        idx = None
        if e.__class__ is ast.Literal and e.value.__class__ is int:
            if not 1 <= e.value <= len(cols):
                raise OperationalError(f"{_ordinal(len(out) + 1)} ORDER BY term out of range - "
                                       f"should be between 1 and {len(cols)}")
            idx = e.value - 1
        elif e.__class__ is ast.Column:
            for i, c in enumerate(cols):
                if c.name.lower() == e.name.lower():
                    idx = i
                    break
        if idx is None:
            dumped = ast.dump(e)
            for i, c in enumerate(cols):
                if ast.dump(c.expr) == dumped:
                    idx = i
                    break
        if idx is None:
            raise OperationalError(f"{_ordinal(len(out) + 1)} ORDER BY term does not match any column "
                                   f"in the result set")
        desc = bool(t.desc)
        nulls_first = (not desc) if t.nulls == ast.NULLS_DEFAULT else t.nulls == ast.NULLS_FIRST
        out.append((idx, coll if coll is not None else colls[idx], desc, nulls_first))
    return out
