"""Generated columns: which are stored, how their values are computed, what CREATE TABLE allows.

A VIRTUAL column is absent from the record (SQLite's storage order skips
it) and is computed from the row each time it is read; a STORED column sits
in the record at its table position and is computed on INSERT and UPDATE,
after the other columns got their affinity, then gets its own affinity.
Columns are computed in dependency order; a cycle is SQLite's "generated
column loop" error, raised when a statement first needs the columns.
CREATE TABLE rejects what SQLite rejects (DEFAULT, PRIMARY KEY, subqueries,
aggregates, non-deterministic functions, unknown columns).
Mirrors sqlite src/build.c (sqlite3TableColumnToStorage,
sqlite3AddGenerated) and src/insert.c (sqlite3ComputeGeneratedColumns).
"""

from limbodb.errors import OperationalError
from limbodb.functions import AGGREGATE
from limbodb.parser import ast
from limbodb.schema import HIDDEN_VIRTUAL
from limbodb.translate.expr import AFF_REAL, Scope, code_expr, walk
from limbodb.vdbe.insn import OP_Affinity, OP_Column, OP_Goto, OP_IsNull, OP_Null, OP_RealAffinity, OP_Rowid

# (id(table), column) pairs whose expression is being coded: a re-entry is a loop.
_busy = set()


def has_generated(table):
    return any(c.generated is not None for c in table.columns)


def has_virtual(table):
    return any(c.hidden == HIDDEN_VIRTUAL for c in table.columns)


def stored_columns(table):
    """Table column numbers in record order for a rowid table (VIRTUAL columns left out)."""
    return [i for i, c in enumerate(table.columns) if c.hidden != HIDDEN_VIRTUAL]


def storage_map(table):
    """Table column number -> position in the record (-1 for a VIRTUAL column)."""
    out = []
    pos = 0
    for c in table.columns:
        if c.hidden == HIDDEN_VIRTUAL:
            out.append(-1)
        else:
            out.append(pos)
            pos += 1
    return out


def _refs(table, expr):
    """Table column numbers ``expr`` reads."""
    return {table.column_index(n.name) for n in walk(expr) if n.__class__ is ast.Column} - {-1}


def affected(table, cols):
    """``cols`` plus the generated columns whose value depends on them (transitively)."""
    out = set(cols)
    grew = True
    while grew:
        grew = False
        for i, c in enumerate(table.columns):
            if c.generated is not None and i not in out and _refs(table, c.generated) & out:
                out.add(i)
                grew = True
    return out


def compute_order(table, only_virtual=False):
    """Generated columns in an order where each one's inputs come first.

    Raises SQLite's loop error naming the last column that could not be
    computed, as sqlite3ComputeGeneratedColumns does.
    """
    pending = [i for i, c in enumerate(table.columns)
               if c.generated is not None and (not only_virtual or c.hidden == HIDDEN_VIRTUAL)]
    waiting = set(pending)
    order = []
    while pending:
        left = []
        for i in pending:
            if _refs(table, table.columns[i].generated) & waiting:
                left.append(i)
            else:
                order.append(i)
                waiting.discard(i)
        if len(left) == len(pending):
            raise OperationalError(f'generated column loop on "{table.columns[left[-1]].name}"')
        pending = left
    return order


def compute(b, source, first, only_virtual=False):
    """Compute the generated columns of the row in registers ``first..`` (in table order)."""
    from limbodb.translate.insert import row_scope
    table = source.table
    ipk = table.rowid_alias
    rowid = first + ipk if ipk is not None else None
    for i in compute_order(table, only_virtual):
        col = table.columns[i]
        scope = row_scope(source, [col.generated], first, rowid)
        code_expr(b, scope, col.generated, first + i)
        _affinity(b, source, i, first + i)


def _affinity(b, source, i, reg):
    aff = source.col_affs[i]
    if aff != 0x41:
        b.emit(OP_Affinity, reg, 1, 0, chr(aff))


def code_column(b, src, i, target):
    """Read column ``i`` of a table with generated columns from ``src``'s current row."""
    table = src.table
    col = table.columns[i]
    # A covering index of a rowid table holds the value; a WITHOUT ROWID record never does.
    if col.hidden == HIDDEN_VIRTUAL and (src.index_map is None or table.without_rowid or i not in src.index_map):
        key = (id(table), i)
        if key in _busy:
            raise OperationalError(f'generated column loop on "{col.name}"')
        # On the NULL row of a LEFT JOIN the column is NULL, whatever its expression gives for NULLs.
        null_row = b.new_label()
        done = b.new_label()
        probe = b.alloc_reg()
        if src.index_map is None:
            b.emit(OP_Rowid, src.cursor, probe)
        elif table.without_rowid:
            # The first PRIMARY KEY column: NOT NULL in every stored row.
            b.emit(OP_Column, src.index_cursor, 0, probe)
        else:
            b.emit(OP_Rowid, src.index_cursor, probe)
        b.emit(OP_IsNull, probe, null_row)
        _busy.add(key)
        try:
            code_expr(b, Scope([src]), col.generated, target)
        finally:
            _busy.discard(key)
        _affinity(b, src, i, target)
        b.emit(OP_Goto, 0, done)
        b.resolve(null_row)
        b.emit(OP_Null, 0, target)
        b.resolve(done)
        return
    if src.index_map is not None:
        if i == src.rowid_alias:
            b.emit(OP_Rowid, src.index_cursor, target)
            return
        b.emit(OP_Column, src.index_cursor, src.index_map[i], target)
    elif i == src.rowid_alias:
        b.emit(OP_Rowid, src.cursor, target)
        return
    else:
        dflt = src.col_defaults[i] if src.col_defaults is not None else None
        b.emit(OP_Column, src.cursor, storage_map(table)[i], target, dflt, 0, col.name)
    if src.col_affs[i] == AFF_REAL:
        b.emit(OP_RealAffinity, target)


def check_create(conn, table):
    """SQLite's CREATE TABLE errors about generated columns and non-constant DEFAULTs."""
    for c in table.columns:
        if c.default is not None and c.generated is None:
            for n in walk(c.default):
                if n.__class__ in (ast.Column, ast.Subquery, ast.Exists) or \
                        (n.__class__ is ast.In and n.select is not None):
                    raise OperationalError(f"default value of column [{c.name}] is not constant")
    if not has_generated(table):
        return
    if all(c.generated is not None for c in table.columns):
        raise OperationalError("must have at least one non-generated column")
    for i, c in enumerate(table.columns):
        if c.generated is None:
            continue
        if c.default is not None:
            raise OperationalError("cannot use DEFAULT on a generated column")
        if c.primary_key or any(i == ic.col for idx in table.indexes if idx.origin == "pk"
                                for ic in idx.columns):
            raise OperationalError("generated columns cannot be part of the PRIMARY KEY")
        for n in walk(c.generated):
            cls = n.__class__
            if cls in (ast.Subquery, ast.Exists) or (cls is ast.In and n.select is not None):
                raise OperationalError("subqueries prohibited in generated columns")
            if cls is ast.Column:
                if n.table is not None and n.table.lower() != table.name.lower() \
                        or table.column_index(n.name) < 0:
                    name = f"{n.table}.{n.name}" if n.table is not None else n.name
                    raise OperationalError(f"no such column: {name}")
            elif cls is ast.FunctionCall:
                fd = conn.functions.lookup(n.name, len(n.args or ()))
                if fd.kind == AGGREGATE:
                    raise OperationalError(f"misuse of aggregate function {n.name}()")
                if not fd.deterministic:
                    raise OperationalError("non-deterministic functions prohibited in generated columns")
