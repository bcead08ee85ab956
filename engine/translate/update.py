"""UPDATE: collect the target rowids, then rewrite each row with its constraints and indexes.

For each row: read every column, compute the SET expressions against the
old row, apply affinity and the constraint checks of insert.py (a row may
keep its own UNIQUE values), replace the old index entries with new ones,
and write the record (a new rowid deletes the old row first); RETURNING
rows are buffered until every row is written. Mirrors sqlite src/update.c
(sqlite3Update).
"""

from limbodb.errors import OperationalError
from limbodb.translate import trigger, without_rowid
from limbodb.translate.attach import dml_is_view, dml_table
from limbodb.translate.builder import ProgramBuilder
from limbodb.translate.delete import target_rows
from limbodb.translate.insert import Returning, TableWriter, emit_row_update
from limbodb.vdbe.insn import OP_Goto, OP_NotExists, OP_RowSetRead


def translate_update(stmt, conn):
    if dml_is_view(conn, stmt.table):
        return trigger.translate_view_dml(stmt, conn)
    if stmt.from_:
        from limbodb.translate.update_from import translate_update_from
        return translate_update_from(stmt, conn)
    if stmt.limit is not None or stmt.order_by:
        from limbodb.translate.limit_where import rewrite_update
        stmt = rewrite_update(stmt, conn)
    table = dml_table(conn, stmt.table)
    if table.name.lower() in ("sqlite_schema", "sqlite_master"):
        raise OperationalError(f"table {table.name} may not be modified")
    b = ProgramBuilder(conn)
    b.counts_changes = True
    fire = trigger.dml_triggers(conn, table.name, "UPDATE",
                                {c.lower() for item in stmt.sets for c in item.columns},
                                stmt.or_conflict, db=table.db)
    if table.without_rowid:
        sets = {}
        for item in stmt.sets:
            for name in item.columns:
                i = table.column_index(name)
                if i < 0 or len(item.columns) != 1:
                    raise OperationalError(f"no such column: {name}" if i < 0
                                           else "row value assignments are not supported")
                _not_generated(table, i)
                sets[i] = item.expr
        return without_rowid.translate_update(stmt, conn, b, table, sets, fire, stmt.returning)
    w = TableWriter(b, table, stmt.or_conflict)
    w.source.name = stmt.table.alias or table.name
    sets = {}
    rowid_expr = None
    for item in stmt.sets:
        if len(item.columns) != 1:
            raise OperationalError("row value assignments are not supported")
        name = item.columns[0]
        i = table.column_index(name)
        if i < 0:
            if name.lower() in ("rowid", "oid", "_rowid_") and table.rowid_alias is None:
                rowid_expr = item.expr
                continue
            raise OperationalError(f"no such column: {name}")
        _not_generated(table, i)
        sets[i] = item.expr
    returning = Returning(b, w, stmt.returning) if stmt.returning else None
    done = b.new_label()
    rowset, old_rid = target_rows(b, conn, stmt.table, stmt.where, w, done)
    if rowset is None:
        new, new_rid = emit_row_update(b, w, old_rid, sets, rowid_expr, None, done, fire=fire)
        if returning is not None:
            returning.row(new, new_rid)
        b.resolve(done)
        if returning is not None:
            returning.finish()
        return b.finish(readonly=False)
    old_rid = b.alloc_reg()
    top = b.addr
    nxt = b.new_label()
    b.emit(OP_RowSetRead, rowset, done, old_rid, None, 0 if fire is None else 1)
    b.emit(OP_NotExists, w.cursor, nxt, old_rid)
    new, new_rid = emit_row_update(b, w, old_rid, sets, rowid_expr, None, nxt, fire=fire)
    if returning is not None:
        returning.row(new, new_rid)
    b.resolve(nxt)
    b.emit(OP_Goto, 0, top)
    b.resolve(done)
    if returning is not None:
        returning.finish()
    return b.finish(readonly=False)


def _not_generated(table, i):
    if table.columns[i].generated is not None:
        raise OperationalError(f'cannot UPDATE generated column "{table.columns[i].name}"')
