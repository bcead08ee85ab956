"""WITHOUT ROWID tables: rows kept in an index B-tree ordered by the PRIMARY KEY.

A row's record is its PRIMARY KEY columns (in key order) followed by the
other stored columns in table order; a secondary index entry is the index columns
followed by the PRIMARY KEY columns it does not already hold, as SQLite
writes them (sqlite3PrimaryKeyIndex, sqlite3GenerateIndexKey). Reads use the
table cursor like a covering index (Source.index_map); INSERT, UPDATE and
DELETE here find rows by their key (collected before any row changes).
PRIMARY KEY columns are NOT NULL. A conflict on a secondary UNIQUE index
finds the other row by the key its entry ends with (REPLACE, upsert); the
constraints ON CONFLICT clauses name are checked first. Expression and
partial secondary indexes are kept as index_keys.py describes. With foreign
keys on, each row written is checked (and its actions run) by fkey.py's OP_FkRow,
as for a rowid table. The planner
looks rows up by a key prefix, or through a secondary index whose entry gives
the key to seek (or every column read: a covering index). Mirrors sqlite src/insert.c, src/upsert.c
and src/delete.c for HasRowid(pTab)==0.
"""

from limbodb.errors import (
    OperationalError, SQLITE_CONSTRAINT_CHECK, SQLITE_CONSTRAINT_NOTNULL, SQLITE_CONSTRAINT_PRIMARYKEY,
    SQLITE_CONSTRAINT_UNIQUE,
)
from limbodb.parser import ast
from limbodb.schema import HIDDEN_VIRTUAL
from limbodb.translate import generated, planner
from limbodb.translate.index_keys import has_expressions, skip_unless_indexed, unique_failed_message
from limbodb.translate.expr import AFF_REAL, Scope, Source, code_expr, code_if_false, code_if_true, walk
from limbodb.vdbe.execute_fkey import FK_INSERT, FK_UPDATE
from limbodb.vdbe.insn import (
    MAKERECORD_UNPACKED, OE_ABORT, OE_IGNORE, OE_REPLACE, OP_Affinity, OP_Column, OP_Copy, OP_Delete, OP_Goto,
    OP_Halt, OP_IdxDelete, OP_IdxInsert, OP_Insert, OP_MakeRecord, OP_NewRowid, OP_Next, OP_NoConflict,
    OP_NotFound, OP_NotNull, OP_OpenEphemeral, OP_OpenWrite, OP_RealAffinity, OP_Rewind,
    OPFLAG_NCHANGE,
)


def pk_index(table):
    """The PRIMARY KEY index, whose B-tree is the table's own."""
    return next(i for i in table.indexes if i.origin == "pk")


def record_columns(table):
    """Table column numbers in record order: the key columns, then the rest (VIRTUAL ones not stored)."""
    pk = [ic.col for ic in pk_index(table).columns]
    return pk + [i for i, c in enumerate(table.columns) if i not in pk and c.hidden != HIDDEN_VIRTUAL]


def index_entry_columns(table, idx):
    """Table column numbers of a secondary index entry: its columns (-1: an expression), then the
    key columns it does not hold."""
    cols = [ic.col for ic in idx.columns]
    return cols + [c for c in (ic.col for ic in pk_index(table).columns) if c not in cols]


def entry_key(b, source, idx, first):
    """Registers holding the secondary index entry of the row in ``first..`` (expressions evaluated)."""
    from limbodb.translate.insert import row_scope
    cols = index_entry_columns(source.table, idx)
    key = b.alloc_reg(len(cols))
    scope = row_scope(source, [ic.expr for ic in idx.columns if ic.col < 0], first, None)
    for k, c in enumerate(cols):
        if c < 0:
            code_expr(b, scope, idx.columns[k].expr, key + k)
        else:
            b.emit(OP_Copy, first + c, key + k)
    return key


def emit_fill(b, table, idx, tcur, icur):
    """CREATE INDEX and REINDEX: add the entry of each row (table cursor ``tcur``) that ``idx`` covers."""
    from limbodb.translate.expr import code_column
    src = make_source(table, table.name, tcur)
    row = b.alloc_reg(len(table.columns))
    rec = b.alloc_reg()
    done = b.new_label()
    b.emit(OP_Rewind, tcur, done)
    top = b.addr
    skip = b.new_label()
    for c in range(len(table.columns)):
        code_column(b, src, c, row + c)
    skip_unless_indexed(b, src, idx, row, None, skip)
    key = entry_key(b, src, idx, row)
    if idx.unique:
        ok = b.new_label()
        b.emit(OP_NoConflict, icur, ok, key, len(idx.columns))
        b.emit(OP_Halt, SQLITE_CONSTRAINT_UNIQUE, OE_ABORT, 0, unique_failed_message(table, idx))
        b.resolve(ok)
    b.emit(OP_MakeRecord, key, len(index_entry_columns(table, idx)), rec)
    b.emit(OP_IdxInsert, icur, rec)
    b.resolve(skip)
    b.emit(OP_Next, tcur, top)
    b.resolve(done)


def make_source(table, name, cursor):
    """A Source reading the table's records by position (like a covering index)."""
    return Source.for_table(table, name, cursor)


class WrWriter:
    """Cursors and code to write rows of a WITHOUT ROWID table and its secondary indexes."""

    def __init__(self, b, table, or_conflict):
        from limbodb.translate import fkey
        from limbodb.translate.insert import _OE
        self.b = b
        self.fk = fkey.fk_plan(b.conn, table)
        self.table = table
        self.or_conflict = _OE[or_conflict]
        self.pk = pk_index(table)
        self.npk = len(self.pk.columns)
        self.order = record_columns(table)
        self.cursor = b.alloc_cursor()
        b.write = True
        b.emit(OP_OpenWrite, self.cursor, table.root, table.db, self.pk.key_info(), 0, table.name)
        self.secondary = []
        for idx in table.indexes:
            if idx is self.pk:
                continue
            c = b.alloc_cursor()
            b.emit(OP_OpenWrite, c, idx.root, table.db, idx.key_info(), 0, idx.name)
            self.secondary.append((idx, c))
        self.source = make_source(table, table.name, self.cursor)

    def action(self, own):
        from limbodb.translate.insert import _OE
        if self.or_conflict is not None:
            return self.or_conflict
        return _OE.get(own) or OE_ABORT

    def _gather(self, first, cols):
        """Registers holding the columns ``cols`` of the row in ``first..``, in that order."""
        b = self.b
        out = b.alloc_reg(len(cols))
        for k, c in enumerate(cols):
            b.emit(OP_Copy, first + c, out + k)
        return out

    def affinity(self, first):
        """Apply column affinities to the row in ``first..``, then compute its generated columns."""
        affs = "".join(chr(a) for a in self.source.col_affs)
        if any(ch != "A" for ch in affs):
            self.b.emit(OP_Affinity, first, len(affs), 0, affs)
        if self.source.generated:
            generated.compute(self.b, self.source, first)

    def check(self, first, skip_row, old_first=None, upsert=None):
        """NOT NULL (key columns included), CHECK, PRIMARY KEY and UNIQUE for the row in ``first..``.

        ``upsert``: a WrUpsert (ON CONFLICT clauses) or None.
        """
        b = self.b
        t = self.table
        pk_cols = [ic.col for ic in self.pk.columns]
        for i, col in enumerate(t.columns):
            if not (col.notnull or i in pk_cols):
                continue
            ok = b.new_label()
            b.emit(OP_NotNull, first + i, ok)
            act = self.action(col.notnull_conflict)
            if act == OE_IGNORE:
                b.emit(OP_Goto, 0, skip_row)
            else:
                b.emit(OP_Halt, SQLITE_CONSTRAINT_NOTNULL, act if act != OE_REPLACE else OE_ABORT, 0,
                       f"NOT NULL constraint failed: {t.name}.{col.name}")
            b.resolve(ok)
        if t.checks:
            scope = Scope([self.source])
            for expr in t.checks:
                for n in walk(expr):
                    if n.__class__ is ast.Column and t.column_index(n.name) >= 0:
                        scope.overrides[id(n)] = first + t.column_index(n.name)
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
        # As SQLite does, the constraints ON CONFLICT clauses name are checked first, in clause order.
        checks = [(self.pk, None)] + [(idx, c) for idx, c in self.secondary if idx.unique]
        named = [x for target in (upsert.targets if upsert is not None else ()) for x in checks if x[0] is target]
        for idx, c in named + [x for x in checks if x not in named]:
            if c is None:
                self._check_key(first, skip_row, old_first, upsert)
            else:
                self._check_unique(idx, c, first, skip_row, old_first, upsert)

    def _check_key(self, first, skip_row, old_first, upsert):
        b = self.b
        t = self.table
        pk_cols = [ic.col for ic in self.pk.columns]
        key = self._gather(first, pk_cols)
        ok = b.new_label()
        if old_first is not None:
            self._same_key(first, old_first, pk_cols, ok)
        b.emit(OP_NotFound, self.cursor, ok, key, self.npk)
        act = self.action(t.pk_conflict)
        if upsert is not None and upsert(self.pk):
            pass
        elif act == OE_IGNORE:
            b.emit(OP_Goto, 0, skip_row)
        elif act == OE_REPLACE:
            if self.delete_current(count=False, replace=True):
                # DELETE triggers ran (and may have kept the row): check again, with ABORT.
                b.emit(OP_NotFound, self.cursor, ok, key, self.npk)
                names = ", ".join(f"{t.name}.{t.columns[c].name}" for c in pk_cols)
                b.emit(OP_Halt, SQLITE_CONSTRAINT_PRIMARYKEY, OE_ABORT, 0, f"UNIQUE constraint failed: {names}")
        else:
            names = ", ".join(f"{t.name}.{t.columns[c].name}" for c in pk_cols)
            b.emit(OP_Halt, SQLITE_CONSTRAINT_PRIMARYKEY, act, 0, f"UNIQUE constraint failed: {names}")
        b.resolve(ok)

    def _check_unique(self, idx, c, first, skip_row, old_first, upsert):
        b = self.b
        cols = [ic.col for ic in idx.columns]
        ok = b.new_label()
        skip_unless_indexed(b, self.source, idx, first, None, ok)
        ukey = entry_key(b, self.source, idx, first)
        expressions = has_expressions(idx)
        if old_first is not None and not expressions:
            self._same_key(first, old_first, cols, ok)
        b.emit(OP_NoConflict, c, ok, ukey, len(cols))
        if old_first is not None and expressions:
            self._own_entry(idx, c, old_first, ok)
        act = self.action(idx.on_conflict)
        if upsert is not None and upsert(idx, lambda: self._seek_entry_row(idx, c, ok)):
            pass
        elif act == OE_IGNORE:
            b.emit(OP_Goto, 0, skip_row)
        elif act == OE_REPLACE:
            self._seek_entry_row(idx, c, ok)
            if self.delete_current(count=False, replace=True):
                b.emit(OP_NoConflict, c, ok, ukey, len(cols))
                b.emit(OP_Halt, SQLITE_CONSTRAINT_UNIQUE, OE_ABORT, 0, unique_failed_message(self.table, idx))
        else:
            b.emit(OP_Halt, SQLITE_CONSTRAINT_UNIQUE, act, 0, unique_failed_message(self.table, idx))
        b.resolve(ok)

    def _seek_entry_row(self, idx, c, missing):
        """Position the table cursor on the row of the entry index cursor ``c`` is on.

        The entry ends with that row's key columns (index_entry_columns).
        """
        b = self.b
        entry = index_entry_columns(self.table, idx)
        key = b.alloc_reg(self.npk)
        for k, ic in enumerate(self.pk.columns):
            b.emit(OP_Column, c, entry.index(ic.col), key + k)
        self.seek_key(key, missing)

    def _own_entry(self, idx, c, old_first, label):
        """Jump to ``label`` when the entry index cursor ``c`` is on belongs to the row in ``old_first..``."""
        from limbodb.vdbe.insn import OP_Ne, SQLITE_NULLEQ
        b = self.b
        entry = index_entry_columns(self.table, idx)
        other = b.alloc_reg()
        differs = b.new_label()
        for ic in self.pk.columns:
            b.emit(OP_Column, c, entry.index(ic.col), other)
            b.emit(OP_Ne, old_first + ic.col, differs, other, None, SQLITE_NULLEQ)
        b.emit(OP_Goto, 0, label)
        b.resolve(differs)

    def _same_key(self, first, old_first, cols, label):
        """Jump to ``label`` when the new row keeps the old row's values in ``cols`` (its own entry)."""
        from limbodb.vdbe.insn import OP_Ne, SQLITE_NULLEQ
        b = self.b
        differs = b.new_label()
        for c in cols:
            b.emit(OP_Ne, old_first + c, differs, first + c, None, SQLITE_NULLEQ)
        b.emit(OP_Goto, 0, label)
        b.resolve(differs)

    def insert_indexes(self, first):
        b = self.b
        for idx, c in self.secondary:
            skip = b.new_label()
            skip_unless_indexed(b, self.source, idx, first, None, skip)
            key = entry_key(b, self.source, idx, first)
            rec = b.alloc_reg()
            b.emit(OP_MakeRecord, key, len(index_entry_columns(self.table, idx)), rec)
            b.emit(OP_IdxInsert, c, rec)
            b.resolve(skip)

    def write(self, first, count=True):
        b = self.b
        regs = self._gather(first, self.order)
        rec = b.alloc_reg()
        b.emit(OP_MakeRecord, regs, len(self.order), rec)
        b.emit(OP_IdxInsert, self.cursor, rec, 0, None, OPFLAG_NCHANGE if count else 0)

    def read_row(self, first):
        """Load the current row's columns into ``first..`` in table order."""
        b = self.b
        for pos, c in enumerate(self.order):
            b.emit(OP_Column, self.cursor, pos, first + c)
            if self.source.col_affs[c] == AFF_REAL:
                b.emit(OP_RealAffinity, first + c)
        if self.source.generated:
            generated.compute(b, self.source, first, only_virtual=True)

    def delete_current(self, count, replace=False, fk=True):
        """Delete the row the table cursor is on, with its secondary index entries. A row
        REPLACE deletes fires the DELETE triggers when recursive_triggers is on; True when
        it does (the caller checks the constraint again). ``fk`` False: the row is written
        again at once (an UPDATE), so no foreign key sees it deleted."""
        from limbodb.translate import fkey
        from limbodb.translate.trigger import dml_triggers
        b = self.b
        old = b.alloc_reg(len(self.table.columns))
        self.read_row(old)
        fire = None
        if replace and getattr(b.conn, "recursive_triggers_pragma", 0):
            fire = dml_triggers(b.conn, self.table.name, "DELETE", or_conflict="REPLACE", db=self.table.db)
        gone = b.new_label()
        if fire is not None and fire.before:
            # The triggers may change or delete the row: find it again and reload it.
            fire.wr_before_delete(b, self, old, gone)
            self.read_row(old)
        for idx, c in self.secondary:
            skip = b.new_label()
            skip_unless_indexed(b, self.source, idx, old, None, skip)
            key = entry_key(b, self.source, idx, old)
            b.emit(OP_IdxDelete, c, key, len(index_entry_columns(self.table, idx)))
            b.resolve(skip)
        b.emit(OP_Delete, self.cursor, 0, 0, self.table.name, OPFLAG_NCHANGE if count else 0)
        if fk:
            fkey.emit_row(b, self.fk, fkey.FK_DELETE, old, 0, 0)
        if fire is not None:
            fire.fire(b, fire.after, None, None, old, None, gone)
        b.resolve(gone)
        return fire is not None

    def seek_key(self, key_first, missing):
        """Position the table cursor on the row whose key is in ``key_first..``; else jump."""
        self.b.emit(OP_NotFound, self.cursor, missing, key_first, self.npk)


def emit_insert_row(b, w, first, skip, fire=None, returning=None, upsert=None):
    """Insert the row in ``first..``; ``upsert(idx)`` codes an ON CONFLICT clause's action (see check)."""
    w.affinity(first)
    if fire is not None:
        fire.fire(b, fire.before, first, None, None, None, skip)
    w.check(first, skip, upsert=upsert)
    w.insert_indexes(first)
    w.write(first)
    _fk_row(b, w, FK_INSERT, 0, first)
    if returning is not None:
        returning.row(first, None)
    if fire is not None:
        fire.fire(b, fire.after, first, None, None, None, skip)


def _fk_row(b, w, kind, old, new):
    """OP_FkRow for a row just written (fkey.emit_row; the row's key stands for a rowid)."""
    from limbodb.translate import fkey
    fkey.emit_row(b, w.fk, kind, old, new, 0)


def collect_keys(b, w, table_ref, where):
    """Scan for the rows ``where`` selects; their keys go to an ephemeral table. Returns its cursor."""
    table = w.table
    read_cursor = b.alloc_cursor()
    src = make_source(table, table_ref.alias or table.name, read_cursor)
    scope = Scope([src])
    from limbodb.translate.select import split_and
    keys = b.alloc_cursor()
    b.emit(OP_OpenEphemeral, keys, w.npk)
    plan = planner.plan_loops(b, scope, [(src, (0, None, None))], split_and(where), None, None)
    pk_cols = [ic.col for ic in w.pk.columns]
    regs = b.alloc_reg(w.npk)
    rec = b.alloc_reg()
    rid = b.alloc_reg()

    def body():
        for k, c in enumerate(pk_cols):
            b.emit(OP_Column, read_cursor, src.index_map[c], regs + k)
        b.emit(OP_MakeRecord, regs, w.npk, rec, None, MAKERECORD_UNPACKED)
        b.emit(OP_NewRowid, keys, rid)
        b.emit(OP_Insert, keys, rec, rid)
    plan.emit(b, body, b.new_label())
    return keys


def _for_each_key(b, w, keys, row_body):
    """Loop over the collected keys, positioning the table cursor on each row still there."""
    key = b.alloc_reg(w.npk)
    done = b.new_label()
    b.emit(OP_Rewind, keys, done)
    top = b.addr
    nxt = b.new_label()
    for k in range(w.npk):
        b.emit(OP_Column, keys, k, key + k)
    w.seek_key(key, nxt)
    row_body(nxt)
    b.resolve(nxt)
    b.emit(OP_Next, keys, top)
    b.resolve(done)


def translate_delete(stmt, conn, b, table, fire=None, returning_columns=None):
    w = WrWriter(b, table, None)
    w.source.name = stmt.table.alias or table.name
    returning = _returning(b, w, returning_columns)
    keys = collect_keys(b, w, stmt.table, stmt.where)
    if fire is None and returning is None:
        _for_each_key(b, w, keys, lambda nxt: w.delete_current(count=True))
        return b.finish(readonly=False)

    def row(nxt):
        old = b.alloc_reg(len(table.columns))
        w.read_row(old)
        if fire is not None:
            fire.wr_before_delete(b, w, old, nxt)
        if returning is not None:
            returning.row(old, None, new=False)
        w.delete_current(count=True)
        if fire is not None:
            fire.fire(b, fire.after, None, None, old, None, nxt)
    _for_each_key(b, w, keys, row)
    if returning is not None:
        returning.finish()
    return b.finish(readonly=False)


def _returning(b, w, columns):
    from limbodb.translate.insert import Returning
    return Returning(b, w, columns) if columns else None


def translate_update(stmt, conn, b, table, sets, fire=None, returning_columns=None):
    w = WrWriter(b, table, stmt.or_conflict)
    w.source.name = stmt.table.alias or table.name
    returning = _returning(b, w, returning_columns)
    keys = collect_keys(b, w, stmt.table, stmt.where)
    _for_each_key(b, w, keys, lambda nxt: update_current_row(b, w, sets, None, nxt, fire, returning))
    if returning is not None:
        returning.finish()
    return b.finish(readonly=False)


def update_current_row(b, w, sets, where, skip, fire=None, returning=None, extra=None):
    """Rewrite the row the table cursor is on: SET ``sets`` {col: expr}, if ``where``.

    ``extra`` maps other qualifiers (``excluded``) to their row registers.
    """
    from limbodb.translate.insert import row_scope
    n = len(w.table.columns)
    old = b.alloc_reg(n)
    new = b.alloc_reg(n)
    w.read_row(old)
    scope = row_scope(w.source, list(sets.values()) + [where], old, None, extra)
    if where is not None:
        code_if_false(b, scope, where, skip, True)
    for i in range(n):
        if i in sets:
            code_expr(b, scope, sets[i], new + i)
        else:
            b.emit(OP_Copy, old + i, new + i)
    w.affinity(new)
    if fire is not None:
        fire.wr_before_update(b, w, old, new, sets, skip)
    w.check(new, skip, old_first=old)
    w.seek_key(w._gather(old, [ic.col for ic in w.pk.columns]), skip)
    w.delete_current(count=False, fk=False)
    w.insert_indexes(new)
    w.write(new)
    _fk_row(b, w, FK_UPDATE, old, new)
    if returning is not None:
        returning.row(new, None)
    if fire is not None:
        fire.fire(b, fire.after, new, None, old, None, skip)


def wr_upsert_handler(b, w, stmt, first, skip_row, returning):
    """The ``upsert`` callback for WrWriter.check (a WrUpsert)."""
    return WrUpsert(b, w, stmt, first, skip_row, returning)


class WrUpsert:
    """ON CONFLICT clauses of an INSERT into a WITHOUT ROWID table: DO NOTHING, or DO UPDATE of the
    conflicting row. Called with the conflicting index (the PRIMARY KEY's for a key conflict);
    ``targets``: the indexes the clauses name, which WrWriter.check tests first."""

    def __init__(self, b, w, stmt, first, skip_row, returning):
        from limbodb.translate.insert import upsert_clauses
        self.b = b
        self.w = w
        self.first = first
        self.skip_row = skip_row
        self.returning = returning
        self.clauses = upsert_clauses(w.table, stmt)
        self.targets = [target for target, _up in self.clauses if target is not None]

    def __call__(self, idx, seek_row=None):
        """Code the action for a conflict on ``idx``; False when no clause covers it."""
        from limbodb.translate import trigger
        b = self.b
        w = self.w
        table = w.table
        for target, up in self.clauses:
            if target is None or target is idx:
                break
        else:
            return False
        if up.action == "NOTHING":
            b.emit(OP_Goto, 0, self.skip_row)
            return True
        if seek_row is not None:
            seek_row()
        sets = {}
        for item in up.sets:
            for name in item.columns:
                i = table.column_index(name)
                if i < 0:
                    raise OperationalError(f"no such column: {name}")
                if table.columns[i].generated is not None:
                    raise OperationalError(f'cannot UPDATE generated column "{table.columns[i].name}"')
                sets[i] = item.expr
        fire = trigger.dml_triggers(b.conn, table.name, "UPDATE",
                                    {c.lower() for item in up.sets for c in item.columns}, db=table.db)
        update_current_row(b, w, sets, up.where, self.skip_row, fire, self.returning, {"excluded": self.first})
        b.emit(OP_Goto, 0, self.skip_row)
        return True
