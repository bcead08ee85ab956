"""DELETE: collect the rowids the WHERE clause selects, then delete each row and its index entries.

Collecting first (a RowSet, as SQLite's two-pass delete does) keeps the scan
independent of the deletions. Without WHERE the table and its indexes are
cleared at once (OP_Clear counts the rows), SQLite's truncate optimization.
RETURNING reads each row before it goes; WITHOUT ROWID tables are handled
by without_rowid.py.
Mirrors sqlite src/delete.c (sqlite3DeleteFrom, sqlite3GenerateRowDelete).
"""

from limbodb.errors import OperationalError
from limbodb.translate import planner
from limbodb.translate.builder import ProgramBuilder
from limbodb.parser import ast
from limbodb.translate.expr import Scope, Source, code_column, walk
from limbodb.translate.insert import Returning, TableWriter
from limbodb.translate.select import split_and
from limbodb.vdbe.insn import OP_Clear, OP_Goto, OP_NotExists, OP_RowSetAdd, OP_RowSetRead


def target_rows(b, conn, stmt_table, where, writer):
    """Emit the WHERE scan collecting rowids into a RowSet register; returns the register."""
    table = writer.table
    read_cursor = b.alloc_cursor()
    scan_src = Source.for_table(table, stmt_table.alias or table.name, read_cursor)
    scope = Scope([scan_src])
    rowset = b.alloc_reg()
    used = _used_columns(scope, where)
    plan = planner.plan_loops(b, scope, [(scan_src, (0, None, None))], split_and(where), None,
                              {id(scan_src): used} if used is not None else None)
    rid = b.alloc_reg()

    def body():
        code_column(b, scan_src, -1, rid)
        b.emit(OP_RowSetAdd, rowset, rid)
    plan.emit(b, body, b.new_label())
    return rowset


def _used_columns(scope, where):
    """Columns the WHERE clause reads (None if it has a subquery), for a covering index."""
    used = set()
    if where is None:
        return used
    for n in walk(where):
        cls = n.__class__
        if cls in (ast.Subquery, ast.Exists) or (cls is ast.In and n.select is not None):
            return None
        if cls is ast.Column:
            r = scope.resolve(n)
            if r is not None and r[0] is scope and r[1] is not None:
                used.add(r[2])
    return used


def translate_delete(stmt, conn):
    if stmt.limit is not None or stmt.order_by:
        raise OperationalError("DELETE with ORDER BY or LIMIT is not supported")
    table = conn.schema.table(stmt.table.name)
    if table.name.lower() in ("sqlite_schema", "sqlite_master"):
        raise OperationalError(f"table {table.name} may not be modified")
    b = ProgramBuilder(conn)
    b.counts_changes = True
    b.write = True
    if table.without_rowid and (stmt.where is not None or stmt.returning):
        if stmt.returning:
            raise OperationalError("RETURNING on WITHOUT ROWID tables is not supported")
        from limbodb.translate import without_rowid
        return without_rowid.translate_delete(stmt, conn, b, table)
    if stmt.where is None and not stmt.returning:
        b.emit(OP_Clear, table.root, 0, 1)
        for idx in table.indexes:
            if idx.root != table.root:
                b.emit(OP_Clear, idx.root, 0, 0)
        b.add_plan(f"SCAN {table.name}")
        return b.finish(readonly=False)
    w = TableWriter(b, table, None)
    w.source.name = stmt.table.alias or table.name
    returning = Returning(b, w, stmt.returning) if stmt.returning else None
    rowset = target_rows(b, conn, stmt.table, stmt.where, w)
    rid = b.alloc_reg()
    done = b.new_label()
    top = b.addr
    b.emit(OP_RowSetRead, rowset, done, rid)
    if returning is not None:
        gone = b.new_label()
        old = b.alloc_reg(len(table.columns))
        b.emit(OP_NotExists, w.cursor, gone, rid)
        w.read_row(old)
        returning.row(old, rid)
        b.resolve(gone)
    w.delete_current(rid, count=True)
    b.emit(OP_Goto, 0, top)
    b.resolve(done)
    if returning is not None:
        returning.finish()
    return b.finish(readonly=False)
