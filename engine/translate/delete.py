"""DELETE: collect the rowids the WHERE clause selects, then delete each row and its index entries.

Collecting first (a RowSet, as SQLite's two-pass delete does) keeps the scan
independent of the deletions. Without WHERE the table and its indexes are
cleared at once (OP_Clear counts the rows), SQLite's truncate optimization.
RETURNING reads each row before it goes; WITHOUT ROWID tables are handled
by without_rowid.py.
Mirrors sqlite src/delete.c (sqlite3DeleteFrom, sqlite3GenerateRowDelete).
"""

from limbodb.errors import OperationalError
from limbodb.mvcc import mvcc_enabled
from limbodb.translate import cdc, fkey, planner, trigger
from limbodb.translate.attach import dml_is_view, dml_table
from limbodb.translate.builder import ProgramBuilder
from limbodb.parser import ast
from limbodb.translate.expr import Scope, Source, code_column, code_expr, code_if_false, walk
from limbodb.translate.insert import Returning, TableWriter
from limbodb.translate.select import split_and
from limbodb.vdbe.insn import OP_Clear, OP_Goto, OP_NotExists, OP_RowSetAdd, OP_RowSetRead, OP_SeekRowid


def target_rows(b, conn, stmt_table, where, writer, done=None):
    """Emit the WHERE scan collecting rowids into a RowSet register; returns (rowset, None).

    With a ``done`` label, a WHERE that picks at most one row by rowid is done
    in one pass instead (SQLite's ONEPASS_SINGLE): the writer's own cursor
    seeks the row, jumping to ``done`` when there is none or the other terms
    reject it, and the result is (None, rowid register) with the cursor on it.
    """
    table = writer.table
    read_cursor = b.alloc_cursor()
    scan_src = Source.for_table(table, stmt_table.alias or table.name, read_cursor)
    scope = Scope([scan_src])
    used = _used_columns(scope, where)
    plan = planner.plan_loops(b, scope, [(scan_src, (0, None, None))], split_and(where), None,
                              {id(scan_src): used} if used is not None else None)
    rid = b.alloc_reg()
    lv = plan.levels[0]
    if done is not None and lv.path.kind == planner.ROWID_EQ and not table.without_rowid:
        scan_src.cursor = writer.cursor
        key = b.alloc_reg()
        code_expr(b, scope, lv.path.eq[0], key)
        b.emit(OP_SeekRowid, writer.cursor, done, key)
        for t in lv.terms:
            code_if_false(b, scope, t, done, True)
        code_column(b, scan_src, -1, rid)
        return None, rid
    rowset = b.alloc_reg()

    def body():
        code_column(b, scan_src, -1, rid)
        b.emit(OP_RowSetAdd, rowset, rid)
    plan.emit(b, body, b.new_label())
    return rowset, None


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
    if dml_is_view(conn, stmt.table):
        return trigger.translate_view_dml(stmt, conn)
    if stmt.limit is not None or stmt.order_by:
        from limbodb.translate.limit_where import rewrite_delete
        stmt = rewrite_delete(stmt, conn)
    table = dml_table(conn, stmt.table)
    if table.name.lower() in ("sqlite_schema", "sqlite_master"):
        raise OperationalError(f"table {table.name} may not be modified")
    b = ProgramBuilder(conn)
    b.counts_changes = True
    b.write = True
    fire = trigger.dml_triggers(conn, table.name, "DELETE", db=table.db)
    if table.without_rowid and (stmt.where is not None or stmt.returning or fire is not None
                                or fkey.referenced(conn, table)):
        from limbodb.translate import without_rowid
        return without_rowid.translate_delete(stmt, conn, b, table, fire, stmt.returning)
    fk = fkey.referenced(conn, table)
    # MVCC logs each row's delete (mvcc.py), so it keeps the row-by-row loop.
    if stmt.where is None and not stmt.returning and fire is None and not fk and \
            not cdc.captures(conn, table.name) and not mvcc_enabled(conn):
        b.emit(OP_Clear, table.root, table.db, 1)
        for idx in table.indexes:
            if idx.root != table.root:
                b.emit(OP_Clear, idx.root, table.db, 0)
        b.add_plan(f"SCAN {table.name}")
        return b.finish(readonly=False)
    w = TableWriter(b, table, None)
    w.source.name = stmt.table.alias or table.name
    returning = Returning(b, w, stmt.returning) if stmt.returning else None
    done = b.new_label()
    rowset, rid = target_rows(b, conn, stmt.table, stmt.where, w,
                              done if returning is None and fire is None and not fk else None)
    if rowset is None:
        w.delete_current(rid, count=True, seek=False)
        b.resolve(done)
        return b.finish(readonly=False)
    rid = b.alloc_reg()
    top = b.addr
    b.emit(OP_RowSetRead, rowset, done, rid, None, 0 if fire is None else 1)
    nxt = b.new_label()
    if returning is not None or fire is not None:
        gone = b.new_label()
        old = b.alloc_reg(len(table.columns))
        b.emit(OP_NotExists, w.cursor, gone if fire is None else nxt, rid)
        w.read_row(old)
        if fire is not None:
            fire.before_delete(b, w, old, rid, nxt)
        if returning is not None:
            returning.row(old, rid, new=False)
        b.resolve(gone)
    w.delete_current(rid, count=True)
    if fire is not None:
        fire.fire(b, fire.after, None, None, old, rid, nxt)
    b.resolve(nxt)
    b.emit(OP_Goto, 0, top)
    b.resolve(done)
    if returning is not None:
        returning.finish()
    return b.finish(readonly=False)
