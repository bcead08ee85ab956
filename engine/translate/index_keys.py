"""Keys of expression and partial indexes: what a row contributes to such an index.

An index column may be an expression over the row (``CREATE INDEX i ON
t1(a+b, lower(c))``) and an index may be partial (``... WHERE expr``): only
rows for which the WHERE is true have an entry. Every writer of index entries
(TableWriter in insert.py, CREATE INDEX in schema.py) asks here for the key
registers and for the jump that skips a row the index leaves out (CREATE
INDEX and REINDEX also for the sorter that orders the keys first), so
INSERT/UPDATE/DELETE/REPLACE keep such indexes exactly as SQLite does (its
integrity_check compares index contents with the table). UNIQUE failures on
an index with an expression name the index, as SQLite does. For the planner
it matches query expressions to indexed ones (``column_key``/``expression_key``)
and decides when a query's WHERE implies a partial index's (exact terms, ORs,
and ``X IS NOT NULL`` after a NULL-rejecting comparison); for upsert, which
UNIQUE index an ON CONFLICT target names.
Mirrors sqlite src/insert.c (sqlite3GenerateIndexKey, the pPartIdxWhere tests),
src/expr.c (sqlite3ExprImpliesExpr) and src/upsert.c.
"""

from limbodb.errors import SQLITE_CONSTRAINT_UNIQUE, OperationalError
from limbodb.parser import ast
from limbodb.translate.expr import Source, code_expr, code_if_false, walk
from limbodb.vdbe.insn import (
    MAKERECORD_UNPACKED, OE_ABORT, OP_Clear, OP_Column, OP_Copy, OP_Halt, OP_IdxInsert, OP_MakeRecord, OP_Next,
    OP_NoConflict, OP_OpenPseudo, OP_OpenRead, OP_OpenWrite, OP_Rewind, OP_Rowid, OP_SorterData, OP_SorterInsert,
    OP_SorterNext, OP_SorterOpen, OP_SorterSort,
)
from limbodb.vdbe.sorter import SortSpec

_DATE_FUNCTIONS = frozenset(("date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff"))


def has_expressions(idx):
    return any(ic.col < 0 for ic in idx.columns)


def _scope(source, exprs, first, rowid):
    from limbodb.translate.insert import row_scope
    return row_scope(source, exprs, first, rowid)


def emit_key(b, source, idx, first, rowid):
    """Registers holding ``idx``'s key for the row in ``first..`` (expressions evaluated), then the rowid."""
    table = source.table
    n = len(idx.columns)
    key = b.alloc_reg(n + 1)
    scope = _scope(source, [ic.expr for ic in idx.columns if ic.col < 0], first, rowid)
    for k, ic in enumerate(idx.columns):
        if ic.col < 0:
            code_expr(b, scope, ic.expr, key + k)
        elif ic.col == table.rowid_alias:
            b.emit(OP_Copy, rowid, key + k)
        else:
            b.emit(OP_Copy, first + ic.col, key + k)
    b.emit(OP_Copy, rowid, key + n)
    return key


def skip_unless_indexed(b, source, idx, first, rowid, label):
    """Jump to ``label`` when partial index ``idx`` has no entry for the row in ``first..``."""
    if idx.where is not None:
        code_if_false(b, _scope(source, [idx.where], first, rowid), idx.where, label, True)


def unique_failed_message(table, idx):
    if has_expressions(idx):
        return f"UNIQUE constraint failed: index '{idx.name}'"
    return "UNIQUE constraint failed: " + ", ".join(f"{table.name}.{table.columns[ic.col].name}"
                                                   for ic in idx.columns)


def reads_any(table, idx, cols):
    """Whether an expression or the WHERE of ``idx`` reads one of the column indexes ``cols``."""
    exprs = [ic.expr for ic in idx.columns if ic.col < 0] + ([idx.where] if idx.where is not None else [])
    for e in exprs:
        for n in walk(e):
            if n.__class__ is ast.Column:
                i = table.column_index(n.name)
                if i in cols or (i < 0 and n.name.lower() in ("rowid", "oid", "_rowid_")):
                    return True
    return False


def open_key_sorter(b, idx):
    """CREATE INDEX, as sqlite3RefillIndex: the keys go through a sorter (opened here; the
    scan gives it each key with ``key_to_sorter``), then ``insert_sorted`` fills the index in key
    order, every entry appended at its right edge: no descent from the root per key, and
    leaves packed full (balance's append split) as SQLite's build packs them."""
    sorter = b.alloc_cursor()
    ki = idx.key_info()
    b.emit(OP_SorterOpen, sorter, len(idx.columns) + 1, 0, SortSpec(ki.collations, ki.desc))
    return sorter


def key_to_sorter(b, sorter, key, n):
    """Give the key in registers ``key..key+n`` (columns, then rowid) to ``sorter``."""
    rec = b.alloc_reg()
    b.emit(OP_MakeRecord, key, n + 1, rec, None, MAKERECORD_UNPACKED)
    b.emit(OP_SorterInsert, sorter, rec)


def insert_sorted(b, sorter, idx, icur, unique_message):
    """Insert the sorted keys into index cursor ``icur``; a UNIQUE index fails on a duplicate."""
    n = len(idx.columns)
    key = b.alloc_reg(n + 1)
    rec = b.alloc_reg()
    pseudo = b.alloc_cursor()
    data = b.alloc_reg()
    done = b.new_label()
    b.emit(OP_OpenPseudo, pseudo, data, n + 1)
    b.emit(OP_SorterSort, sorter, done)
    top = b.addr
    b.emit(OP_SorterData, sorter, data, pseudo)
    for k in range(n + 1):
        b.emit(OP_Column, pseudo, k, key + k)
    if idx.unique:
        ok = b.new_label()
        b.emit(OP_NoConflict, icur, ok, key, n)
        b.emit(OP_Halt, SQLITE_CONSTRAINT_UNIQUE, OE_ABORT, 0, unique_message)
        b.resolve(ok)
    b.emit(OP_MakeRecord, key, n + 1, rec)
    b.emit(OP_IdxInsert, icur, rec)
    b.emit(OP_SorterNext, sorter, top)
    b.resolve(done)


def emit_fill(b, table, idx, tcur, icur):
    """CREATE INDEX: add an entry for every row of ``table`` (cursor ``tcur``) the index covers."""
    source = Source.for_table(table, table.name, tcur)
    ncols = len(table.columns)
    n = len(idx.columns)
    row = b.alloc_reg(ncols)
    rowid = b.alloc_reg()
    sorter = open_key_sorter(b, idx)
    done = b.new_label()
    b.emit(OP_Rewind, tcur, done)
    top = b.addr
    b.emit(OP_Rowid, tcur, rowid)
    if source.generated:
        from limbodb.translate.generated import code_column
        for i in range(ncols):
            code_column(b, source, i, row + i)
    else:
        for i in range(ncols):
            if i == table.rowid_alias:
                b.emit(OP_Copy, rowid, row + i)
            else:
                b.emit(OP_Column, tcur, i, row + i)
    skip = b.new_label()
    skip_unless_indexed(b, source, idx, row, rowid, skip)
    key_to_sorter(b, sorter, emit_key(b, source, idx, row, rowid), n)
    b.resolve(skip)
    b.emit(OP_Next, tcur, top)
    b.resolve(done)
    insert_sorted(b, sorter, idx, icur, unique_failed_message(table, idx))


# ------------------------------------------------------------------ planner support

def _norm(node, table):
    """A comparable form of an expression: column names folded to the table's spelling and
    qualifiers dropped (the planner checks separately that they name the indexed table)."""
    if isinstance(node, ast.Column):
        i = table.column_index(node.name)
        return ("Column", i if i >= 0 else node.name.lower())
    if isinstance(node, ast.FunctionCall):
        return ("FunctionCall", node.name.lower()) + tuple(
            _norm(getattr(node, f, None), table) for f in node._fields if f not in ("name", "pos"))
    if isinstance(node, ast.Node):
        return (type(node).__name__,) + tuple(
            _norm(getattr(node, f, None), table) for f in node._fields
            if f not in ("pos", "param_count", "param_names", "sql", "text"))
    if isinstance(node, (list, tuple)):
        return tuple(_norm(x, table) for x in node)
    return node


def _expressions(table):
    """The distinct indexed expressions of ``table``, in index order."""
    out = []
    for idx in table.indexes:
        for ic in idx.columns:
            if ic.col < 0:
                k = _norm(ic.expr, table)
                if k not in out:
                    out.append(k)
    return out


def column_key(table, ic):
    """The planner's key for index column ``ic``: its table column, or for an expression a
    number below -1 (-1 is the rowid) shared by equal expressions."""
    if ic.col >= 0:
        return ic.col
    return -2 - _expressions(table).index(_norm(ic.expr, table))


def expression_key(scope, e, src):
    """column_key of the indexed expression ``e`` is (reading only ``src``), else None."""
    table = src.table
    if table is None or e.__class__ in (ast.Column, ast.Literal) or not any(
            ic.col < 0 for idx in table.indexes for ic in idx.columns):
        return None
    for n in walk(e):
        cls = n.__class__
        if cls in (ast.Subquery, ast.Exists, ast.Param) or (cls is ast.In and n.select is not None):
            return None
        if cls is ast.Column:
            try:
                r = scope.resolve(n)
            except Exception:
                return None
            if r is None or r[0] is not scope or r[1] is not src:
                return None
    exprs = _expressions(table)
    k = _norm(e, table)
    return -2 - exprs.index(k) if k in exprs else None


def usable_indexes(scope, src, terms):
    """Expression indexes and partial indexes of ``src`` that a lookup may use: a partial
    index only when every conjunct of its WHERE is one of ``terms`` (reading ``src`` only)."""
    from limbodb.translate.select import split_and
    table = src.table
    out = []
    own = None
    for idx in table.indexes:
        if idx.root is None or (idx.where is None and not has_expressions(idx)):
            continue
        if idx.where is not None:
            if own is None:
                own = [t for t in terms if _reads_only(scope, t, src)]
                have = {_norm(t, table) for t in own}
            if not all(_implied(w, own, have, table) for w in split_and(idx.where)):
                continue
        out.append(idx)
    return out


def _implied(w, terms, have, table):
    """sqlite3ExprImpliesExpr: the same term, one side of an OR, or ``X IS NOT NULL`` after
    a comparison that fails for a NULL X."""
    if _norm(w, table) in have:
        return True
    if w.__class__ is ast.Binary and w.op == "OR":
        return _implied(w.left, terms, have, table) or _implied(w.right, terms, have, table)
    if w.__class__ is ast.NotNull:
        x = _norm(w.expr, table)
        return any(_implies_not_null(t, x, table, False) for t in terms)
    return False


_NULL_IF_NULL = frozenset(("=", "!=", "<", "<=", ">", ">=", "+", "-", "|", "<<", ">>", "||"))
_NULL_IF_NULL_RIGHT = frozenset(("*", "%", "&", "/"))


def _implies_not_null(p, x, table, seen_not):
    """exprImpliesNotNull: is ``p`` false or NULL whenever the expression ``x`` is NULL?"""
    if p is None:
        return False
    if _norm(p, table) == x:
        return not (p.__class__ is ast.Literal and p.value is None)
    cls = p.__class__
    if cls is ast.Binary:
        if p.op in _NULL_IF_NULL:
            seen_not = True
        elif p.op not in _NULL_IF_NULL_RIGHT:
            return False
        return _implies_not_null(p.right, x, table, seen_not) or _implies_not_null(p.left, x, table, seen_not)
    if cls is ast.In:
        if seen_not and p.select is not None:
            return False
        return _implies_not_null(p.expr, x, table, True)
    if cls is ast.Between:
        if seen_not:
            return False
        return (_implies_not_null(p.low, x, table, True) or _implies_not_null(p.high, x, table, True)
                or _implies_not_null(p.expr, x, table, seen_not))
    if cls is ast.Collate:
        return _implies_not_null(p.expr, x, table, seen_not)
    if cls is ast.Unary:
        return _implies_not_null(p.operand, x, table, seen_not or p.op in ("NOT", "~"))
    return False


def _reads_only(scope, term, src):
    for n in walk(term):
        cls = n.__class__
        if cls in (ast.Subquery, ast.Exists) or (cls is ast.In and n.select is not None):
            return False
        if cls is ast.Column:
            try:
                r = scope.resolve(n)
            except Exception:
                return False
            if r is None or r[0] is not scope or r[1] is not src:
                return False
    return True


def is_special(idx):
    """Whether ``idx`` has an expression column or a WHERE clause."""
    return idx.where is not None or has_expressions(idx)


def emit_rebuild(b, table, idx):
    """REINDEX of an index the Reindex opcode cannot rebuild by column positions (expressions, a
    WHERE, generated columns): empty it and fill it again from the table."""
    tcur = b.alloc_cursor()
    icur = b.alloc_cursor()
    b.emit(OP_Clear, idx.root, 0, 0)
    if table.without_rowid:
        from limbodb.translate.without_rowid import emit_fill as fill, pk_index
        b.emit(OP_OpenRead, tcur, table.root, 0, pk_index(table).key_info(), 0, table.name)
    else:
        fill = emit_fill
        b.emit(OP_OpenRead, tcur, table.root, 0, len(table.columns), 0, table.name)
    b.emit(OP_OpenWrite, icur, idx.root, 0, idx.key_info(), 0, idx.name)
    fill(b, table, idx, tcur, icur)


def check_index_expressions(conn, idx):
    """SQLite's restrictions on what an index expression or partial-index WHERE may contain."""
    where_msg = "partial index WHERE clauses"
    for exprs, what in (([ic.expr for ic in idx.columns if ic.col < 0], "index expressions"),
                        ([idx.where] if idx.where is not None else [], where_msg)):
        for e in exprs:
            for n in walk(e):
                cls = n.__class__
                if cls in (ast.Subquery, ast.Exists) or (cls is ast.In and n.select is not None):
                    raise OperationalError(f"subqueries prohibited in {what}")
                if cls is ast.FunctionCall:
                    fd = conn.functions.get(n.name, len(n.args or ()))
                    # Date functions count as deterministic unless given 'now' (checked at run time by
                    # SQLite; limbodb accepts them as written).
                    if fd is not None and not fd.deterministic and n.name.lower() not in _DATE_FUNCTIONS:
                        raise OperationalError(f"non-deterministic functions prohibited in {what}")


def upsert_target(table, terms, target_where):
    """sqlite3UpsertAnalyzeTarget: the UNIQUE index whose key is the ON CONFLICT target (columns
    or expressions, in any order); a partial index only if ``target_where`` is its WHERE."""
    want = set()
    for term in terms:
        e = term.expr
        while e.__class__ is ast.Collate:
            e = e.expr
        i = table.column_index(e.name) if e.__class__ is ast.Column else -1
        want.add(i if i >= 0 else _norm(e, table))
    for idx in table.indexes:
        if not idx.unique or {ic.col if ic.col >= 0 else _norm(ic.expr, table) for ic in idx.columns} != want:
            continue
        # sqlite compares the two WHERE expressions whole (sqlite3ExprCompare), not by implication.
        if idx.where is None or (target_where is not None and _norm(target_where, table) == _norm(idx.where, table)):
            return idx
    return None
