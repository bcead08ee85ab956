"""WITHOUT ROWID tables: rows kept in an index B-tree ordered by the PRIMARY KEY.

A row's record is its PRIMARY KEY columns (in key order) followed by the
other columns in table order; a secondary index entry is the index columns
followed by the PRIMARY KEY columns it does not already hold, as SQLite
writes them (sqlite3PrimaryKeyIndex, sqlite3GenerateIndexKey). Reads use the
table cursor like a covering index (Source.index_map); INSERT, UPDATE and
DELETE here find rows by their key. PRIMARY KEY columns are NOT NULL. The
planner looks rows up by a key prefix only (secondary indexes of these tables
are maintained, not used for lookups). Mirrors sqlite src/insert.c and
src/delete.c for HasRowid(pTab)==0.
"""

from limbodb.errors import (
    OperationalError, SQLITE_CONSTRAINT_CHECK, SQLITE_CONSTRAINT_NOTNULL, SQLITE_CONSTRAINT_PRIMARYKEY,
    SQLITE_CONSTRAINT_UNIQUE,
)
from limbodb.parser import ast
from limbodb.translate import planner
from limbodb.translate.expr import AFF_REAL, Scope, Source, code_expr, code_if_true, walk
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
    """Table column numbers in record order: the key columns, then the rest."""
    pk = [ic.col for ic in pk_index(table).columns]
    return pk + [i for i in range(len(table.columns)) if i not in pk]


def index_entry_columns(table, idx):
    """Table column numbers of a secondary index entry: its columns, then the missing key columns."""
    cols = [ic.col for ic in idx.columns]
    return cols + [c for c in (ic.col for ic in pk_index(table).columns) if c not in cols]


def make_source(table, name, cursor):
    """A Source reading the table's records by position (like a covering index)."""
    return Source.for_table(table, name, cursor)


class WrWriter:
    """Cursors and code to write rows of a WITHOUT ROWID table and its secondary indexes."""

    def __init__(self, b, table, or_conflict):
        from limbodb.translate.insert import _OE
        self.b = b
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
            if idx.unique and OE_REPLACE in (self.or_conflict, _OE.get(idx.on_conflict)):
                raise OperationalError("REPLACE on a UNIQUE index of a WITHOUT ROWID table is not supported")
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
        affs = "".join(chr(a) for a in self.source.col_affs)
        if any(ch != "A" for ch in affs):
            self.b.emit(OP_Affinity, first, len(affs), 0, affs)

    def check(self, first, skip_row, old_first=None):
        """NOT NULL (key columns included), CHECK, PRIMARY KEY and UNIQUE for the row in ``first..``."""
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
        key = self._gather(first, pk_cols)
        ok = b.new_label()
        if old_first is not None:
            self._same_key(first, old_first, pk_cols, ok)
        b.emit(OP_NotFound, self.cursor, ok, key, self.npk)
        act = self.action(t.pk_conflict)
        if act == OE_IGNORE:
            b.emit(OP_Goto, 0, skip_row)
        elif act == OE_REPLACE:
            self.delete_current(count=False)
        else:
            names = ", ".join(f"{t.name}.{t.columns[c].name}" for c in pk_cols)
            b.emit(OP_Halt, SQLITE_CONSTRAINT_PRIMARYKEY, act, 0, f"UNIQUE constraint failed: {names}")
        b.resolve(ok)
        for idx, c in self.secondary:
            if not idx.unique:
                continue
            cols = [ic.col for ic in idx.columns]
            ukey = self._gather(first, cols)
            ok = b.new_label()
            if old_first is not None:
                self._same_key(first, old_first, cols, ok)
            b.emit(OP_NoConflict, c, ok, ukey, len(cols))
            act = self.action(idx.on_conflict)
            if act == OE_IGNORE:
                b.emit(OP_Goto, 0, skip_row)
            else:
                names = ", ".join(f"{t.name}.{t.columns[col].name}" for col in cols)
                b.emit(OP_Halt, SQLITE_CONSTRAINT_UNIQUE, act, 0, f"UNIQUE constraint failed: {names}")
            b.resolve(ok)

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
            cols = index_entry_columns(self.table, idx)
            key = self._gather(first, cols)
            rec = b.alloc_reg()
            b.emit(OP_MakeRecord, key, len(cols), rec)
            b.emit(OP_IdxInsert, c, rec)

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

    def delete_current(self, count):
        """Delete the row the table cursor is on, with its secondary index entries."""
        b = self.b
        old = b.alloc_reg(len(self.table.columns))
        self.read_row(old)
        for idx, c in self.secondary:
            cols = index_entry_columns(self.table, idx)
            key = self._gather(old, cols)
            b.emit(OP_IdxDelete, c, key, len(cols))
        b.emit(OP_Delete, self.cursor, 0, 0, self.table.name, OPFLAG_NCHANGE if count else 0)

    def seek_key(self, key_first, missing):
        """Position the table cursor on the row whose key is in ``key_first..``; else jump."""
        self.b.emit(OP_NotFound, self.cursor, missing, key_first, self.npk)


def emit_insert_row(b, w, first, skip, fire=None):
    w.affinity(first)
    if fire is not None:
        fire.fire(b, fire.before, first, None, None, None, skip)
    w.check(first, skip)
    w.insert_indexes(first)
    w.write(first)
    if fire is not None:
        fire.fire(b, fire.after, first, None, None, None, skip)


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


def translate_delete(stmt, conn, b, table, fire=None):
    w = WrWriter(b, table, None)
    keys = collect_keys(b, w, stmt.table, stmt.where)
    if fire is None:
        _for_each_key(b, w, keys, lambda nxt: w.delete_current(count=True))
        return b.finish(readonly=False)

    def row(nxt):
        old = b.alloc_reg(len(table.columns))
        w.read_row(old)
        fire.wr_before_delete(b, w, old, nxt)
        w.delete_current(count=True)
        fire.fire(b, fire.after, None, None, old, None, nxt)
    _for_each_key(b, w, keys, row)
    return b.finish(readonly=False)


def translate_update(stmt, conn, b, table, sets, fire=None):
    w = WrWriter(b, table, stmt.or_conflict)
    w.source.name = stmt.table.alias or table.name
    keys = collect_keys(b, w, stmt.table, stmt.where)
    n = len(table.columns)

    def row(nxt):
        old = b.alloc_reg(n)
        new = b.alloc_reg(n)
        w.read_row(old)
        scope = Scope([w.source])
        for i in range(n):
            if i in sets:
                code_expr(b, scope, sets[i], new + i)
            else:
                b.emit(OP_Copy, old + i, new + i)
        w.affinity(new)
        if fire is not None:
            fire.wr_before_update(b, w, old, new, sets, nxt)
        w.check(new, nxt, old_first=old)
        key = w._gather(old, [ic.col for ic in w.pk.columns])
        w.seek_key(key, nxt)
        w.delete_current(count=False)
        w.insert_indexes(new)
        w.write(new)
        if fire is not None:
            fire.fire(b, fire.after, new, None, old, None, nxt)
    _for_each_key(b, w, keys, row)
    return b.finish(readonly=False)

