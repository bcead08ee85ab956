"""UPDATE ... FROM: join the target with the FROM list first, then update each joined target row.

As sqlite's updateFromSelect does, the join (with the UPDATE's WHERE, ORDER
BY and LIMIT) runs to completion before any row changes, so a FROM list that
reads the target table sees it as it was. Pass one stores, per target rowid,
the values of the SET expressions in an ephemeral table (a rowid met twice
keeps its last joined row; SQLite leaves that choice unspecified). Pass two
walks that table and rewrites each row with insert.py's emit_row_update,
whose SET expressions read those values as the columns of a private
qualifier. Mirrors sqlite src/update.c (updateFromSelect, sqlite3Update).
"""

from limbodb.errors import OperationalError
from limbodb.parser import ast
from limbodb.translate import flatten, trigger
from limbodb.translate.attach import dml_table
from limbodb.translate.builder import ProgramBuilder
from limbodb.translate.expr import walk
from limbodb.translate.insert import Returning, TableWriter, emit_row_update
from limbodb.translate.materialize import ephemeral_sink
from limbodb.translate.select import compile_select
from limbodb.vdbe.insn import (
    MAKERECORD_UNPACKED, OP_Column, OP_Found, OP_IdxInsert, OP_Insert, OP_MakeRecord, OP_Next,
    OP_NotExists, OP_OpenEphemeral, OP_Rewind, OP_Rowid,
)

# The qualifier through which the SET expressions read pass one's values (not a valid SQL name).
_JOINED = " joined"


def translate_update_from(stmt, conn):
    table = dml_table(conn, stmt.table)
    if table.name.lower() in ("sqlite_schema", "sqlite_master"):
        raise OperationalError(f"table {table.name} may not be modified")
    if stmt.order_by and stmt.limit is None:
        raise OperationalError("ORDER BY without LIMIT on UPDATE")
    from_items = list(stmt.from_)
    _check_ambiguous(stmt, conn, table, from_items)
    sets = []
    for item in stmt.sets:
        if len(item.columns) != 1:
            raise OperationalError("row value assignments are not supported")
        i = table.column_index(item.columns[0])
        if i < 0:
            raise OperationalError(f"no such column: {item.columns[0]}")
        if table.columns[i].generated is not None:
            raise OperationalError(f'cannot UPDATE generated column "{table.columns[i].name}"')
        sets.append((i, item.expr))
    b = ProgramBuilder(conn)
    b.counts_changes = True
    fire = trigger.dml_triggers(conn, table.name, "UPDATE",
                                {c.lower() for item in stmt.sets for c in item.columns}, stmt.or_conflict,
                                db=table.db)
    if table.without_rowid:
        return _without_rowid(b, stmt, table, sets, from_items, fire)
    w = TableWriter(b, table, stmt.or_conflict)
    name = stmt.table.alias or table.name
    w.source.name = name
    returning = Returning(b, w, stmt.returning) if stmt.returning else None

    joined = b.alloc_cursor()
    b.emit(OP_OpenEphemeral, joined, len(sets))
    rec = b.alloc_reg()

    def sink(bb, first, n):
        bb.emit(OP_MakeRecord, first + 1, n - 1, rec, None, MAKERECORD_UNPACKED)
        bb.emit(OP_Insert, joined, rec, first)
    t = stmt.table
    ref = ast.TableRef(t.name, t.schema, t.alias, t.indexed_by, t.not_indexed)
    cols = [ast.ResultColumn(ast.Column("rowid", name), None, "rowid")]
    cols += [ast.ResultColumn(e, None, "") for _i, e in sets]
    core = ast.SelectCore(False, cols, [ref] + from_items, stmt.where)
    flatten.mark_update(b, core)
    compile_select(b, ast.Select(stmt.with_, [core], [], stmt.order_by, stmt.limit, stmt.offset), None, sink)

    base = b.alloc_reg(len(table.columns))
    old_rid = b.alloc_reg()
    done = b.new_label()
    b.emit(OP_Rewind, joined, done)
    top = b.addr
    nxt = b.new_label()
    b.emit(OP_Rowid, joined, old_rid)
    for k, (i, _e) in enumerate(sets):
        b.emit(OP_Column, joined, k, base + i)
    b.emit(OP_NotExists, w.cursor, nxt, old_rid)
    row_sets = {i: ast.Column(table.columns[i].name, _JOINED) for i, _e in sets}
    new, new_rid = emit_row_update(b, w, old_rid, row_sets, None, None, nxt, extra={_JOINED: base}, fire=fire)
    if returning is not None:
        returning.row(new, new_rid)
    b.resolve(nxt)
    b.emit(OP_Next, joined, top)
    b.resolve(done)
    if returning is not None:
        returning.finish()
    return b.finish(readonly=False)


def _without_rowid(b, stmt, table, sets, from_items, fire):
    """UPDATE ... FROM on a WITHOUT ROWID table: pass one keeps each joined row's PRIMARY KEY and SET
    values (in join order); pass two updates each key's row once (its first joined row)."""
    from limbodb.translate.without_rowid import WrWriter, update_current_row
    w = WrWriter(b, table, stmt.or_conflict)
    name = stmt.table.alias or table.name
    w.source.name = name
    returning = Returning(b, w, stmt.returning) if stmt.returning else None
    pk = [ic.col for ic in w.pk.columns]
    width = len(pk) + len(sets)
    joined = b.alloc_cursor()
    b.emit(OP_OpenEphemeral, joined, width)
    sink = ephemeral_sink(b, joined)
    t = stmt.table
    ref = ast.TableRef(t.name, t.schema, t.alias, t.indexed_by, t.not_indexed)
    cols = [ast.ResultColumn(ast.Column(table.columns[c].name, name), None, "") for c in pk]
    cols += [ast.ResultColumn(e, None, "") for _i, e in sets]
    core = ast.SelectCore(False, cols, [ref] + from_items, stmt.where)
    flatten.mark_update(b, core)
    compile_select(b, ast.Select(stmt.with_, [core], [], stmt.order_by, stmt.limit, stmt.offset), None, sink)

    done_keys = b.alloc_cursor()
    b.emit(OP_OpenEphemeral, done_keys, len(pk), 0, w.pk.key_info())
    key = b.alloc_reg(len(pk))
    rec = b.alloc_reg()
    base = b.alloc_reg(len(table.columns))
    done = b.new_label()
    b.emit(OP_Rewind, joined, done)
    top = b.addr
    nxt = b.new_label()
    for k in range(len(pk)):
        b.emit(OP_Column, joined, k, key + k)
    b.emit(OP_Found, done_keys, nxt, key, len(pk))
    b.emit(OP_MakeRecord, key, len(pk), rec)
    b.emit(OP_IdxInsert, done_keys, rec)
    for k, (i, _e) in enumerate(sets):
        b.emit(OP_Column, joined, len(pk) + k, base + i)
    w.seek_key(key, nxt)
    row_sets = {i: ast.Column(table.columns[i].name, _JOINED) for i, _e in sets}
    update_current_row(b, w, row_sets, None, nxt, fire, returning, {_JOINED: base})
    b.resolve(nxt)
    b.emit(OP_Next, joined, top)
    b.resolve(done)
    if returning is not None:
        returning.finish()
    return b.finish(readonly=False)


def _check_ambiguous(stmt, conn, target, from_items):
    """An unqualified name of a column in both the target and a FROM table is ambiguous, as in SQLite."""
    others = []
    for item in from_items:
        if item.__class__ is ast.TableRef and item.schema is None:
            t = conn.schema.tables.get(item.name.lower())
            if t is not None:
                others.append(t)
    if not others:
        return
    for e in [item.expr for item in stmt.sets] + [stmt.where]:
        if e is None:
            continue
        for n in walk(e):
            if n.__class__ is ast.Column and n.table is None and target.column_index(n.name) >= 0 \
                    and any(t.column_index(n.name) >= 0 for t in others):
                raise OperationalError(f"ambiguous column name: {n.name}")
