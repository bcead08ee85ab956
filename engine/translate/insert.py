"""INSERT, and the row-writing code UPDATE shares: constraints, index entries, REPLACE.

A new row is built in consecutive registers (one per table column; the
INTEGER PRIMARY KEY column's register holds NULL in the record, its value is
the rowid). Then, in SQLite's order: column affinity, NOT NULL, CHECK, the
rowid conflict, each UNIQUE index; each failure acts per the conflict
resolution (the statement's OR clause, else the constraint's, else ABORT):
ABORT/FAIL/ROLLBACK halt with SQLite's message, IGNORE skips the row, REPLACE
deletes the conflicting row; an ON CONFLICT clause (upsert) may instead skip
the row or update the conflicting one, whose ``excluded.`` columns name the
new row. Then every index gets its entry and the table its record;
AUTOINCREMENT keeps sqlite_sequence, RETURNING rows are buffered and returned
after the last write. A SELECT source is materialized first, so it may read
the table being written. Mirrors sqlite src/insert.c (sqlite3Insert,
sqlite3GenerateConstraintChecks, sqlite3CompleteInsertion) and upsert.c.
"""

from limbodb.attach import db_of
from limbodb.errors import (
    OperationalError, SQLITE_CONSTRAINT_CHECK, SQLITE_CONSTRAINT_NOTNULL, SQLITE_CONSTRAINT_PRIMARYKEY,
    SQLITE_CONSTRAINT_UNIQUE,
)
from limbodb.parser import ast
from limbodb.translate import cdc, fkey, generated, index_keys, trigger
from limbodb.translate.attach import dml_is_view, dml_table
from limbodb.translate.builder import ProgramBuilder
from limbodb.translate.expr import (
    AFF_NUMERIC, AFF_REAL, Scope, Source, code_expr, code_if_false, code_if_true, expr_affinity, walk,
)
from limbodb.translate.select import compile_select
from limbodb.vdbe.insn import (
    MAKERECORD_UNPACKED, OE_ABORT, OE_FAIL, OE_IGNORE, OE_REPLACE, OE_ROLLBACK, OP_Affinity,
    OP_Column, OP_Copy, OP_Delete, OP_Eq, OP_Goto, OP_Halt, OP_IdxDelete, OP_IdxInsert, OP_IdxRowid,
    OP_Insert, OP_IsNull, OP_Integer, OP_MakeRecord, OP_MemMax, OP_MustBeInt, OP_Ne, OP_NewRowid,
    OP_Next, OP_NoConflict, OP_NotExists, OP_NotNull, OP_Null, OP_OpenEphemeral, OP_OpenWrite,
    OP_RealAffinity, OP_ResultRow, OP_Rewind, OP_Rowid, OP_String8, OPFLAG_LASTROWID,
    OPFLAG_NCHANGE,
)

_OE = {None: None, "ROLLBACK": OE_ROLLBACK, "ABORT": OE_ABORT, "FAIL": OE_FAIL, "IGNORE": OE_IGNORE,
       "REPLACE": OE_REPLACE}


class TableWriter:
    """Cursors and code to write rows of one table and keep its indexes in step."""

    def __init__(self, b, table, or_conflict):
        self.b = b
        self.table = table
        self.or_conflict = _OE[or_conflict]
        self.cursor = b.alloc_cursor()
        self.index_cursors = []
        b.write = True
        b.emit(OP_OpenWrite, self.cursor, table.root, table.db, len(table.columns), 0, table.name)
        for idx in table.indexes:
            c = b.alloc_cursor()
            b.emit(OP_OpenWrite, c, idx.root, table.db, idx.key_info(), 0, idx.name)
            self.index_cursors.append(c)
        self.source = Source.for_table(table, table.name, self.cursor)
        self.cdc = cdc.capture(b, table.name)

    def action(self, own):
        if self.or_conflict is not None:
            return self.or_conflict
        return _OE.get(own) or OE_ABORT

    def affinity(self, first):
        """Apply column affinities to the row in ``first..``, then compute its generated columns."""
        affs = "".join(chr(a) for a in self.source.col_affs)
        if any(ch != "A" for ch in affs):
            self.b.emit(OP_Affinity, first, len(affs), 0, affs)
        if self.source.generated:
            generated.compute(self.b, self.source, first)

    def check(self, first, rowid, skip_row, old_rowid=None, upsert=None, indexes=None):
        """NOT NULL, CHECK, rowid and UNIQUE checks for the row in ``first..`` with ``rowid``.

        ``upsert(target, conflict_rowid_reg)`` handles a conflict on a constraint an
        ON CONFLICT clause names (target: None for the rowid, else the Index); it
        returns False when no clause covers that constraint. ``indexes``: the
        indexes whose keys may have changed (an UPDATE's), default all.
        """
        b = self.b
        t = self.table
        for i, col in enumerate(t.columns):
            if not col.notnull or i == t.rowid_alias:
                continue
            act = self.action(col.notnull_conflict)
            ok = b.new_label()
            b.emit(OP_NotNull, first + i, ok)
            msg = f"NOT NULL constraint failed: {t.name}.{col.name}"
            if act == OE_IGNORE:
                b.emit(OP_Goto, 0, skip_row)
            elif act == OE_REPLACE and col.default is not None:
                code_expr(b, Scope([]), col.default, first + i)
            else:
                b.emit(OP_Halt, SQLITE_CONSTRAINT_NOTNULL, act if act != OE_REPLACE else OE_ABORT, 0, msg)
            b.resolve(ok)
        if t.checks:
            scope = self._row_scope(first, rowid)
            for expr, name in zip(t.checks, t.check_names):
                ok = b.new_label()
                code_if_true(b, scope, expr, ok, True)
                act = self.action(None)
                if act == OE_IGNORE:
                    b.emit(OP_Goto, 0, skip_row)
                else:
                    b.emit(OP_Halt, SQLITE_CONSTRAINT_CHECK, act if act != OE_REPLACE else OE_ABORT, 0,
                           f"CHECK constraint failed: {name}")
                b.resolve(ok)
        if t.rowid_alias is not None or old_rowid is not None:
            ok = b.new_label()
            if old_rowid is not None:
                b.emit(OP_Eq, old_rowid, ok, rowid, None, 0x44)
            b.emit(OP_NotExists, self.cursor, ok, rowid)
            act = self.action(t.pk_conflict)
            if upsert is not None and upsert(None, rowid):
                pass
            elif act == OE_IGNORE:
                b.emit(OP_Goto, 0, skip_row)
            elif act == OE_REPLACE:
                if self.delete_current(rowid_reg=rowid, replace=True):
                    # DELETE triggers ran (and may have kept the row): check again, with ABORT.
                    b.emit(OP_NotExists, self.cursor, ok, rowid)
                    name = t.columns[t.rowid_alias].name if t.rowid_alias is not None else "rowid"
                    b.emit(OP_Halt, SQLITE_CONSTRAINT_PRIMARYKEY, OE_ABORT, 0,
                           f"UNIQUE constraint failed: {t.name}.{name}")
            else:
                name = t.columns[t.rowid_alias].name if t.rowid_alias is not None else "rowid"
                b.emit(OP_Halt, SQLITE_CONSTRAINT_PRIMARYKEY, act, 0,
                       f"UNIQUE constraint failed: {t.name}.{name}")
            b.resolve(ok)
        for idx, c in zip(t.indexes, self.index_cursors):
            if not idx.unique or (indexes is not None and idx not in indexes):
                continue
            key = self._index_key(idx, first, rowid)
            n = len(idx.columns)
            ok = b.new_label()
            index_keys.skip_unless_indexed(b, self.source, idx, first, rowid, ok)
            b.emit(OP_NoConflict, c, ok, key, n)
            other = b.alloc_reg()
            b.emit(OP_IdxRowid, c, other)
            b.emit(OP_Eq, other, ok, rowid if old_rowid is None else old_rowid, None, 0x44)
            act = self.action(idx.on_conflict)
            if upsert is not None and upsert(idx, other):
                pass
            elif act == OE_IGNORE:
                b.emit(OP_Goto, 0, skip_row)
            elif act == OE_REPLACE:
                if self.delete_current(rowid_reg=other, replace=True):
                    b.emit(OP_NoConflict, c, ok, key, n)
                    code = SQLITE_CONSTRAINT_PRIMARYKEY if idx.origin == "pk" else SQLITE_CONSTRAINT_UNIQUE
                    b.emit(OP_Halt, code, OE_ABORT, 0, index_keys.unique_failed_message(t, idx))
            else:
                code = SQLITE_CONSTRAINT_PRIMARYKEY if idx.origin == "pk" else SQLITE_CONSTRAINT_UNIQUE
                b.emit(OP_Halt, code, act, 0, index_keys.unique_failed_message(t, idx))
            b.resolve(ok)

    def _row_scope(self, first, rowid):
        """A scope where the table's column references read the new row's registers."""
        t = self.table
        scope = Scope([self.source])
        for expr in t.checks:
            for n in walk(expr):
                if n.__class__ is ast.Column:
                    i = t.column_index(n.name)
                    if i >= 0:
                        scope.overrides[id(n)] = rowid if i == t.rowid_alias else first + i
                    elif n.name.lower() in ("rowid", "oid", "_rowid_"):
                        scope.overrides[id(n)] = rowid
        return scope

    def _index_key(self, idx, first, rowid):
        """Registers holding idx's key columns then the rowid."""
        b = self.b
        if index_keys.has_expressions(idx):
            return index_keys.emit_key(b, self.source, idx, first, rowid)
        n = len(idx.columns)
        key = b.alloc_reg(n + 1)
        for k, ic in enumerate(idx.columns):
            if ic.col == self.table.rowid_alias:
                b.emit(OP_Copy, rowid, key + k)
            else:
                b.emit(OP_Copy, first + ic.col, key + k)
        b.emit(OP_Copy, rowid, key + n)
        return key

    def insert_indexes(self, first, rowid, indexes=None):
        b = self.b
        for idx, c in zip(self.table.indexes, self.index_cursors):
            if indexes is not None and idx not in indexes:
                continue
            skip = b.new_label()
            index_keys.skip_unless_indexed(b, self.source, idx, first, rowid, skip)
            key = self._index_key(idx, first, rowid)
            rec = b.alloc_reg()
            b.emit(OP_MakeRecord, key, len(idx.columns) + 1, rec)
            b.emit(OP_IdxInsert, c, rec)
            b.resolve(skip)

    def write(self, first, rowid, flags, restore=True):
        """Insert the record of ``first..`` under ``rowid`` (the IPK column stored as NULL).

        ``restore``: the IPK column's register holds the rowid again afterwards (for code
        that reads the row after the write: triggers, RETURNING, foreign keys, CDC)."""
        b = self.b
        n = len(self.table.columns)
        rec = b.alloc_reg()
        ipk = self.table.rowid_alias
        if generated.has_virtual(self.table):
            # VIRTUAL columns are not stored: the record holds the other columns, in order.
            cols = generated.stored_columns(self.table)
            src = b.alloc_reg(len(cols))
            for k, i in enumerate(cols):
                if i == ipk:
                    b.emit(OP_Null, 0, src + k)
                else:
                    b.emit(OP_Copy, first + i, src + k)
            b.emit(OP_MakeRecord, src, len(cols), rec)
        elif ipk is not None:
            # The IPK column holds the rowid: restore it from ``rowid`` rather than a saved copy.
            b.emit(OP_Null, 0, first + ipk)
            b.emit(OP_MakeRecord, first, n, rec)
            if restore:
                b.emit(OP_Copy, rowid, first + ipk)
        else:
            b.emit(OP_MakeRecord, first, n, rec)
        b.emit(OP_Insert, self.cursor, rec, rowid, self.table.name, flags)

    def read_row(self, first, columns=None):
        """Load the current row's columns into ``first..`` (the IPK column gets the rowid; a row
        written before ALTER TABLE ADD COLUMN gets the added columns' defaults); ``columns``:
        only those (a set of indexes), unless the table has generated columns."""
        b = self.b
        defaults = self.source.col_defaults
        storage = generated.storage_map(self.table) if self.source.generated else None
        for i in range(len(self.table.columns)):
            if columns is not None and storage is None and i not in columns:
                continue
            if i == self.table.rowid_alias:
                b.emit(OP_Rowid, self.cursor, first + i)
            elif storage is None:
                b.emit(OP_Column, self.cursor, i, first + i, defaults[i] if defaults is not None else None)
            elif storage[i] >= 0:
                b.emit(OP_Column, self.cursor, storage[i], first + i,
                       defaults[i] if defaults is not None else None)
        if storage is not None:
            generated.compute(b, self.source, first, only_virtual=True)

    def delete_current(self, rowid_reg, count=False, seek=True, replace=False):
        """Delete the row ``rowid_reg`` and its index entries (cursor repositioned on it unless
        ``seek`` is False: the caller's cursor is already there). A row REPLACE deletes fires
        the DELETE triggers when recursive_triggers is on (sqlite3GenerateConstraintChecks);
        True when it does, so the caller checks the constraint again."""
        b = self.b
        gone = b.new_label()
        if seek:
            b.emit(OP_NotExists, self.cursor, gone, rowid_reg)
        n = len(self.table.columns)
        old = b.alloc_reg(n)
        fire = None
        if replace and getattr(b.conn, "recursive_triggers_pragma", 0):
            fire = trigger.dml_triggers(b.conn, self.table.name, "DELETE", or_conflict="REPLACE", db=self.table.db)
        fk = fkey.fk_plan(b.conn, self.table)
        # Only the index key columns, unless the whole old row is read (SQLite's
        # sqlite3GenerateRowDelete loads the columns its indexes and triggers need).
        whole = self.cdc is not None or fk is not None or fire is not None or any(
            index_keys.has_expressions(idx) for idx in self.table.indexes)
        self.read_row(old, None if whole else {ic.col for idx in self.table.indexes for ic in idx.columns})
        if fire is not None and fire.before:
            # The triggers may change or delete the row: find it again and reload it.
            fire.before_delete(b, self, old, rowid_reg, gone)
            self.read_row(old)
        for idx, c in zip(self.table.indexes, self.index_cursors):
            key = self._index_key(idx, old, rowid_reg)
            b.emit(OP_IdxDelete, c, key, len(idx.columns) + 1)
        b.emit(OP_Delete, self.cursor, 0, 0, self.table.name, OPFLAG_NCHANGE if count else 0)
        if self.cdc is not None:
            self.cdc.delete(b, self.table.name, rowid_reg, old, n)
        fkey.emit_row(b, fk, fkey.FK_DELETE, old, 0, rowid_reg)
        if fire is not None:
            fire.fire(b, fire.after, None, None, old, rowid_reg, gone)
        b.resolve(gone)
        return fire is not None


def row_scope(source, exprs, first, rowid, extra=None):
    """A scope where ``source``'s column references in ``exprs`` read registers ``first..``.

    ``extra`` maps another qualifier (``excluded``) to its row registers.
    """
    t = source.table
    scope = Scope([source])
    for expr in exprs:
        if expr is None:
            continue
        for n in walk(expr):
            if n.__class__ is not ast.Column:
                continue
            q = (n.table or "").lower()
            if extra is not None and q in extra:
                base = extra[q]
            elif not q or q == source.name.lower() or q == t.name.lower():
                base = first
            else:
                continue
            i = t.column_index(n.name)
            if i >= 0:
                scope.overrides[id(n)] = rowid if i == t.rowid_alias and base == first else base + i
            elif n.name.lower() in ("rowid", "oid", "_rowid_") and base == first:
                scope.overrides[id(n)] = rowid
    return scope


def emit_row_update(b, w, old_rid, sets, rowid_expr, where, skip, extra=None, fire=None):
    """Rewrite the row ``old_rid`` (cursor already on it): SET ``sets`` {col: expr}, if ``where``.

    Returns (new row registers, new rowid register) for RETURNING. ``extra``
    gives other qualifiers' registers (``excluded`` of an upsert); ``fire``
    the UPDATE triggers (trigger.Firing) or None.
    """
    table = w.table
    n = len(table.columns)
    old = b.alloc_reg(n)
    new = b.alloc_reg(n)
    new_rid = b.alloc_reg()
    w.read_row(old)
    exprs = list(sets.values()) + [rowid_expr, where]
    scope = row_scope(w.source, exprs, old, old_rid, extra)
    if where is not None:
        code_if_false(b, scope, where, skip, True)
    for i in range(n):
        if i in sets:
            code_expr(b, scope, sets[i], new + i)
        else:
            b.emit(OP_Copy, old + i, new + i)
    ipk = table.rowid_alias
    if ipk is not None and ipk in sets:
        b.emit(OP_Copy, new + ipk, new_rid)
        b.emit(OP_MustBeInt, new_rid, 0, 0, "datatype mismatch")
    elif rowid_expr is not None:
        code_expr(b, scope, rowid_expr, new_rid)
        b.emit(OP_MustBeInt, new_rid, 0, 0, "datatype mismatch")
    else:
        b.emit(OP_Copy, old_rid, new_rid)
    w.affinity(new)
    if ipk is not None:
        b.emit(OP_Copy, new_rid, new + ipk)
    if fire is not None:
        fire.before_update(b, w, old, old_rid, new, new_rid, sets, skip)
    # Only indexes over a changed column need new entries (all of them if the rowid may change).
    rowid_may_change = (ipk is not None and ipk in sets) or rowid_expr is not None
    touched = generated.affected(table, sets) if w.source.generated else sets
    changed = [idx for idx in table.indexes
               if rowid_may_change or any(ic.col in touched for ic in idx.columns)
               or index_keys.reads_any(table, idx, touched)]
    w.check(new, new_rid, skip, old_rowid=old_rid, indexes=changed)
    # The checks move the table cursor only when the rowid changes or a REPLACE deletes a row;
    # triggers may change the table: then seek the row again.
    if rowid_may_change or fire is not None or any(
            idx.unique and w.action(idx.on_conflict) == OE_REPLACE for idx in changed):
        b.emit(OP_NotExists, w.cursor, skip, old_rid)
    for idx, c in zip(table.indexes, w.index_cursors):
        if idx in changed:
            key = w._index_key(idx, old, old_rid)
            b.emit(OP_IdxDelete, c, key, len(idx.columns) + 1)
    if rowid_may_change:
        same = b.new_label()
        b.emit(OP_Eq, old_rid, same, new_rid, None, 0x44)
        b.emit(OP_Delete, w.cursor)
        b.resolve(same)
    w.insert_indexes(new, new_rid, changed)
    w.write(new, new_rid, OPFLAG_NCHANGE)
    if w.cdc is not None:
        w.cdc.update(b, table.name, old_rid, old, new_rid, new, n, sets, rowid_may_change)
    fkey.emit_row(b, fkey.fk_plan(b.conn, table), fkey.FK_UPDATE, old, new, old_rid)
    if fire is not None:
        fire.fire(b, fire.after, new, new_rid, old, old_rid, skip)
    return new, new_rid


class Returning:
    """RETURNING: rows computed after each write, buffered, and returned when all writes are done."""

    def __init__(self, b, w, columns):
        from limbodb.translate.select import OutputColumn
        self.b = b
        self.w = w
        table = w.table
        self.cols = []
        for rc in columns:
            e = rc.expr
            if e.__class__ is ast.Star:
                for c in table.columns:
                    self.cols.append(OutputColumn(ast.Column(c.name), c.name, c.decl_type or None))
                continue
            if rc.alias is not None:
                name = rc.alias
            elif e.__class__ is ast.Column:
                i = table.column_index(e.name)
                if i < 0 and not table.without_rowid and e.name.lower() in ("rowid", "oid", "_rowid_"):
                    # SQLite names the rowid by its alias column, else "rowid".
                    i = table.rowid_alias if table.rowid_alias is not None else -1
                    name = table.columns[i].name if i >= 0 else "rowid"
                elif i >= 0:
                    name = table.columns[i].name
                else:
                    # A double-quoted name of no column is a string, named as written.
                    name = rc.text if e.dq else e.name
            else:
                name = rc.text
            self.cols.append(OutputColumn(e, name, None))
        b.column_names = [c.name for c in self.cols]
        b.column_decltypes = [c.decltype for c in self.cols]
        self.cursor = b.alloc_cursor()
        b.emit(OP_OpenEphemeral, self.cursor, len(self.cols))

    def row(self, first, rowid, new=True):
        """Compute the RETURNING values of the row in ``first..`` and buffer them.

        SQLite 3.40's RETURNING quirk is reproduced: lookupName() leaves iColumn at 0
        for a RETURNING column reference, so every column (the rowid too) takes the
        first column's affinity and collation, and an item gets OP_RealAffinity only
        when that affinity is REAL. A ``new`` row (INSERT, UPDATE) holds a REAL
        column's integral value as MEM_IntReal, which the buffered record stores as
        an integer; an old row (DELETE) read it as a real.
        """
        b = self.b
        n = len(self.cols)
        src = self.w.source
        nc = len(src.col_affs)
        first_col = Source(src.name, src.cursor, src.col_names, [src.col_affs[0]] * nc,
                           [src.col_colls[0]] * nc, src.table, src.rowid_alias, src.has_rowid)
        scope = row_scope(first_col, [c.expr for c in self.cols], first, rowid)
        out = b.alloc_reg(n)
        for i, c in enumerate(self.cols):
            code_expr(b, scope, c.expr, out + i)
            e = c.expr
            while e.__class__ is ast.Collate:
                e = e.expr
            col = src.find(e.name) if e.__class__ is ast.Column and id(e) in scope.overrides else None
            aff = src.col_affs[0] if id(e) in scope.overrides else expr_affinity(scope, c.expr)
            if aff == AFF_REAL:
                b.emit(OP_RealAffinity, out + i)
            elif new and col is not None and src.col_affs[col] == AFF_REAL:
                b.emit(OP_Affinity, out + i, 1, 0, chr(AFF_NUMERIC))
        rec = b.alloc_reg()
        rid = b.alloc_reg()
        b.emit(OP_MakeRecord, out, n, rec, None, MAKERECORD_UNPACKED)
        b.emit(OP_NewRowid, self.cursor, rid)
        b.emit(OP_Insert, self.cursor, rec, rid)

    def finish(self):
        b = self.b
        n = len(self.cols)
        out = b.alloc_reg(n)
        done = b.new_label()
        b.emit(OP_Rewind, self.cursor, done)
        top = b.addr
        for i in range(n):
            b.emit(OP_Column, self.cursor, i, out + i)
        b.emit(OP_ResultRow, out, n)
        b.emit(OP_Next, self.cursor, top)
        b.resolve(done)


def upsert_clauses(table, stmt):
    """The ON CONFLICT clauses as (target, Upsert): target None (any), "rowid" or the UNIQUE Index."""
    clauses = []
    for up in stmt.upsert:
        target = None
        if up.target is not None:
            cols = set()
            for term in up.target:
                e = term.expr.expr if term.expr.__class__ is ast.Collate else term.expr
                i = table.column_index(e.name) if e.__class__ is ast.Column else -2
                if i < 0 and e.__class__ is ast.Column and e.name.lower() in ("rowid", "oid", "_rowid_"):
                    i = table.rowid_alias if table.rowid_alias is not None else -1
                cols.add(i)
            if table.rowid_alias is not None and cols == {table.rowid_alias} or cols == {-1}:
                target = "rowid"
            else:
                target = index_keys.upsert_target(table, up.target, up.target_where)
                if target is None:
                    raise OperationalError("ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE "
                                           "constraint")
        clauses.append((target, up))
    return clauses


def _upsert_handler(b, w, stmt, first, rowid, skip_row, returning):
    """The ``upsert`` callback for TableWriter.check, or None without ON CONFLICT clauses."""
    if not stmt.upsert:
        return None
    table = w.table
    clauses = upsert_clauses(table, stmt)

    def handle(idx, conflict_rid):
        for target, up in clauses:
            if target is None or (target == "rowid" and idx is None) or target is idx:
                break
        else:
            return False
        if up.action == "NOTHING":
            b.emit(OP_Goto, 0, skip_row)
            return True
        sets = {}
        for item in up.sets:
            for name in item.columns:
                i = table.column_index(name)
                if i < 0:
                    raise OperationalError(f"no such column: {name}")
                if table.columns[i].generated is not None:
                    raise OperationalError(f'cannot UPDATE generated column "{table.columns[i].name}"')
                sets[i] = item.expr
        b.emit(OP_NotExists, w.cursor, skip_row, conflict_rid)
        fire = trigger.dml_triggers(b.conn, table.name, "UPDATE",
                                    {c.lower() for item in up.sets for c in item.columns}, db=table.db)
        new, new_rid = emit_row_update(b, w, conflict_rid, sets, None, up.where, skip_row,
                                       {"excluded": first}, fire=fire)
        if returning is not None:
            returning.row(new, new_rid)
        b.emit(OP_Goto, 0, skip_row)
        return True
    return handle


class Autoincrement:
    """AUTOINCREMENT bookkeeping: the table's sqlite_sequence row is read first, saved last.

    ``seq`` holds the largest rowid ever used; NewRowid allocates above it and
    explicit rowids raise it (MemMax). Mirrors sqlite3AutoincrementBegin/End.
    """

    def __init__(self, b, table):
        self.b = b
        self.table = table
        seq_table = (db_of(b.conn, table.db).schema if table.db else b.schema).table("sqlite_sequence")
        self.cursor = b.alloc_cursor()
        b.emit(OP_OpenWrite, self.cursor, seq_table.root, table.db, 2, 0, "sqlite_sequence")
        self.seq = b.alloc_reg()
        self.orig = b.alloc_reg()
        self.row = b.alloc_reg()
        name = b.alloc_reg()
        got = b.alloc_reg()
        b.emit(OP_Integer, 0, self.seq)
        b.emit(OP_Null, 0, self.row)
        b.emit(OP_String8, 0, name, 0, table.name)
        done = b.new_label()
        b.emit(OP_Rewind, self.cursor, done)
        top = b.addr
        nxt = b.new_label()
        b.emit(OP_Column, self.cursor, 0, got)
        b.emit(OP_Ne, name, nxt, got)
        b.emit(OP_Column, self.cursor, 1, self.seq)
        b.emit(OP_Rowid, self.cursor, self.row)
        b.resolve(nxt)
        b.emit(OP_Next, self.cursor, top)
        b.resolve(done)
        b.emit(OP_Copy, self.seq, self.orig)
        self.name = name

    def save(self):
        b = self.b
        same = b.new_label()
        b.emit(OP_Eq, self.orig, same, self.seq)
        have = b.new_label()
        b.emit(OP_NotNull, self.row, have)
        b.emit(OP_NewRowid, self.cursor, self.row)
        b.resolve(have)
        rec = b.alloc_reg()
        first = b.alloc_reg(2)
        b.emit(OP_Copy, self.name, first)
        b.emit(OP_Copy, self.seq, first + 1)
        b.emit(OP_MakeRecord, first, 2, rec)
        b.emit(OP_Insert, self.cursor, rec, self.row)
        b.resolve(same)


def translate_insert(stmt, conn):
    if dml_is_view(conn, stmt.table):
        return trigger.translate_view_dml(stmt, conn)
    b = ProgramBuilder(conn)
    b.counts_changes = True
    table = dml_table(conn, stmt.table)
    if table.name.lower() in ("sqlite_schema", "sqlite_master"):
        raise OperationalError(f"table {table.name} may not be modified")
    wr = table.without_rowid
    # Triggers of temp and attached tables are not compiled in (main's triggers only).
    fire = trigger.dml_triggers(conn, table.name, "INSERT", or_conflict=stmt.or_conflict, db=table.db)
    ncols = len(table.columns)
    if stmt.columns is not None:
        targets = []
        for name in stmt.columns:
            i = table.column_index(name)
            if i < 0:
                if name.lower() in ("rowid", "oid", "_rowid_") and table.rowid_alias is None and not wr:
                    i = -1
                else:
                    raise OperationalError(f"table {table.name} has no column named {name}")
            elif table.columns[i].generated is not None:
                raise OperationalError(f'cannot INSERT into generated column "{table.columns[i].name}"')
            targets.append(i)
    else:
        targets = [i for i, c in enumerate(table.columns) if not c.hidden]
    if wr:
        from limbodb.translate.without_rowid import WrWriter, emit_insert_row, wr_upsert_handler
        w = WrWriter(b, table, stmt.or_conflict)
    else:
        w = TableWriter(b, table, stmt.or_conflict)
    first = b.alloc_reg(ncols)
    rowid = b.alloc_reg()
    flags = OPFLAG_NCHANGE | OPFLAG_LASTROWID
    autoinc = Autoincrement(b, table) if table.autoincrement else None
    fk = fkey.fk_plan(conn, table)
    returning = Returning(b, w, stmt.returning) if stmt.returning else None
    # Nothing reads the IPK column's register as the row's rowid (the checks, index keys and
    # the write take ``rowid`` itself): it need not be set to it, nor restored after the
    # write stores it as NULL. Two instructions fewer per row of a plain INSERT.
    lean = not wr and fire is None and returning is None and fk is None and not stmt.upsert and w.cdc is None \
        and not table.checks and not generated.has_generated(table) \
        and not any(index_keys.is_special(idx) for idx in table.indexes)

    def emit_row(value_reg_of):
        """value_reg_of(k) -> code computing the k-th supplied value into a register."""
        skip = b.new_label()
        explicit_rowid = None
        for i, col in enumerate(table.columns):
            if i in targets:
                value_reg_of(targets.index(i), first + i)
            elif col.default is not None:
                code_expr(b, Scope([]), col.default, first + i)
            else:
                b.emit(OP_Null, 0, first + i)
        if wr:
            upsert = wr_upsert_handler(b, w, stmt, first, skip, returning) if stmt.upsert else None
            emit_insert_row(b, w, first, skip, fire, returning, upsert)
            b.resolve(skip)
            return
        if -1 in targets:
            explicit_rowid = b.alloc_reg()
            value_reg_of(targets.index(-1), explicit_rowid)
        rid_src = first + table.rowid_alias if table.rowid_alias is not None else explicit_rowid
        if fire is not None:
            fire.before_insert(b, table, first, rid_src, skip)
        if rid_src is not None:
            auto = b.new_label()
            done = b.new_label()
            b.emit(OP_IsNull, rid_src, auto)
            b.emit(OP_Copy, rid_src, rowid)
            b.emit(OP_MustBeInt, rowid, 0, 0, "datatype mismatch")
            b.emit(OP_Goto, 0, done)
            b.resolve(auto)
            b.emit(OP_NewRowid, w.cursor, rowid, autoinc.seq if autoinc else 0)
            b.resolve(done)
            if autoinc is not None:
                b.emit(OP_MemMax, autoinc.seq, rowid)
            if table.rowid_alias is not None and not lean:
                b.emit(OP_Copy, rowid, first + table.rowid_alias)
        else:
            b.emit(OP_NewRowid, w.cursor, rowid)
        # The IPK column already holds the rowid: its INTEGER affinity leaves an int unchanged.
        w.affinity(first)
        w.check(first, rowid, skip, upsert=_upsert_handler(b, w, stmt, first, rowid, skip, returning))
        w.insert_indexes(first, rowid)
        w.write(first, rowid, flags, restore=not lean)
        fkey.emit_row(b, fk, fkey.FK_INSERT, 0, first, rowid)
        if returning is not None:
            returning.row(first, rowid)
        if fire is not None:
            fire.fire(b, fire.after, first, rowid, None, None, skip)
        # Turso logs an INSERT after its AFTER triggers' changes.
        if w.cdc is not None:
            w.cdc.insert(b, table.name, rowid, first, ncols)
        b.resolve(skip)

    def finish():
        if autoinc is not None:
            autoinc.save()
        if returning is not None:
            returning.finish()
        return b.finish(readonly=False)

    if stmt.default_values or stmt.select is None:
        targets = []
        emit_row(lambda k, reg: None)
        return finish()
    sel = stmt.select
    if stmt.with_ is not None:
        if sel.with_ is not None:
            raise OperationalError("WITH on both INSERT and its SELECT is not supported")
        sel = ast.Select(stmt.with_, sel.cores, sel.ops, sel.order_by, sel.limit, sel.offset)
    core = sel.cores[0]
    if len(sel.cores) == 1 and core.__class__ is ast.Values and sel.order_by is None and sel.limit is None:
        for row in core.rows:
            if len(row) != len(targets):
                raise _count_error(table, targets, len(row), stmt.columns is not None)
            emit_row(lambda k, reg, row=row: code_expr(b, Scope([]), row[k], reg))
        return finish()
    # INSERT ... SELECT: materialize the rows, then insert them.
    tmp = b.alloc_cursor()
    b.emit(OP_OpenEphemeral, tmp, 0)
    rec = b.alloc_reg()
    trow = b.alloc_reg()
    width = []

    def sink(bb, f, n):
        width.append(n)
        bb.emit(OP_MakeRecord, f, n, rec, None, MAKERECORD_UNPACKED)
        bb.emit(OP_NewRowid, tmp, trow)
        bb.emit(OP_Insert, tmp, rec, trow)
    cols = compile_select(b, sel, None, sink)
    if len(cols) != len(targets):
        raise _count_error(table, targets, len(cols), stmt.columns is not None)
    done = b.new_label()
    b.emit(OP_Rewind, tmp, done)
    top = b.addr
    emit_row(lambda k, reg: b.emit(OP_Column, tmp, k, reg))
    b.emit(OP_Next, tmp, top)
    b.resolve(done)
    return finish()


def _count_error(table, targets, n, explicit):
    if explicit:
        return OperationalError(f"{n} values for {len(targets)} columns")
    return OperationalError(f"table {table.name} has {len(targets)} columns but {n} values were supplied")

