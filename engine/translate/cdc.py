"""Change data capture: the PRAGMA and the code that logs each row change (Turso's CDC).

``PRAGMA capture_data_changes_conn('<mode>[,<table>]')`` (also spelled
``unstable_capture_data_changes_conn``) sets the connection's mode (off, id,
before, after, full) and CDC table (``turso_cdc`` by default), creating that
table and ``turso_cdc_version`` as Turso does; without a value it returns
(mode, table, version). With a mode on, every INSERT/UPDATE/DELETE row and
DDL (under ``sqlite_schema``) gets a row in the CDC table, written by code
emitted beside OP_Insert/OP_Delete in the same transaction, so a failed
statement or a rollback drops it. A statement run in autocommit mode ends
with a COMMIT row (type 2); in an explicit transaction COMMIT writes it, when
the transaction captured something. The CDC table's own changes are not
captured; those of trigger bodies are, each body statement ending, as in
Turso, with its own COMMIT row in autocommit mode (the transaction id stays
the firing statement's). Programs compiled under another mode
are rebuilt: setting the mode bumps the schema generation. Mirrors Turso
core/translate/emitter.rs (emit_cdc_insns) and core/translate/pragma.rs.
"""

from limbodb.errors import OperationalError
from limbodb.functions import SCALAR, FuncDef
from limbodb.functions import cdc as fcdc
from limbodb.storage.record import KeyInfo
from limbodb.vdbe.execute_control import BTREE_SCHEMA_VERSION
from limbodb.vdbe.execute_cursor import OPFLAG_P2ISREG
from limbodb.vdbe.insn import (
    OP_Column, OP_Copy, OP_CreateBtree, OP_Function, OP_Goto, OP_IdxInsert, OP_IfNot, OP_Insert, OP_Integer,
    OP_IsNull, OP_MakeRecord, OP_MemMax, OP_Ne, OP_NewRowid, OP_Next, OP_NoConflict, OP_Null, OP_OpenWrite,
    OP_ParseSchema, OP_Program, OP_ResultRow, OP_Rewind, OP_Rowid, OP_SetCookie, OP_String8,
)

PRAGMA_NAMES = ("capture_data_changes_conn", "unstable_capture_data_changes_conn")
MODES = ("off", "id", "before", "after", "full")
DEFAULT_TABLE = "turso_cdc"
VERSION_TABLE = "turso_cdc_version"
VERSION = "v2"

# change_type values.
CHANGE_DELETE = -1
CHANGE_UPDATE = 0
CHANGE_INSERT = 1
CHANGE_COMMIT = 2

_BAD_VALUE = ("unexpected pragma value: expected '<mode>' or '<mode>,<cdc-table-name>' parameter where "
              "mode is one of off|id|before|after|full")

# The context functions the emitted code calls (the connection comes first).
_TXN_ID = FuncDef("conn_txn_id", 1, fcdc.txn_id, SCALAR, False, True)
_CURRENT_TXN_ID = FuncDef("conn_txn_id", 0, fcdc.current_txn_id, SCALAR, False, True)
_AUTOCOMMIT = FuncDef("is_autocommit", 0, fcdc.autocommit, SCALAR, False, True)
_NOW = FuncDef("unixepoch", 0, lambda conn: int(conn.functions.now()), SCALAR, False, True)


class CdcConfig:
    """A connection's capture setting (``conn.cdc``; None when off)."""

    __slots__ = ("mode", "table")

    def __init__(self, mode, table):
        self.mode = mode
        self.table = table


def cdc_table_sql(name):
    return (f"CREATE TABLE {name} (change_id INTEGER PRIMARY KEY AUTOINCREMENT, change_time INTEGER, "
            "change_txn_id INTEGER, change_type INTEGER, table_name TEXT, id, \"before\" BLOB, "
            "\"after\" BLOB, updates BLOB)")


VERSION_TABLE_SQL = f"CREATE TABLE {VERSION_TABLE} (table_name TEXT PRIMARY KEY, version TEXT NOT NULL)"


def captures(conn, table_name):
    """True when changes to ``table_name`` compiled now would be captured."""
    cfg = getattr(conn, "cdc", None)
    return cfg is not None and table_name.lower() != cfg.table.lower()


def capture(b, table_name):
    """The program's CdcWriter if changes to ``table_name`` are captured, else None.

    Call it before any loop: the first call opens the CDC table and reads its
    AUTOINCREMENT counter where it stands.
    """
    if not captures(b.conn, table_name):
        return None
    w = b.cdc
    if w is None:
        w = b.cdc = CdcWriter(b, b.conn.cdc)
    return w


class CdcWriter:
    """Emits the CDC rows of one program; ``finish`` adds the COMMIT row and saves the counter."""

    __slots__ = ("mode", "cursor", "autoinc", "commit_at_end")

    def __init__(self, b, cfg, commit_at_end=True):
        from limbodb.translate.insert import Autoincrement
        table = b.schema.table(cfg.table)
        self.mode = cfg.mode
        self.commit_at_end = commit_at_end
        b.write = True
        self.cursor = b.alloc_cursor()
        b.emit(OP_OpenWrite, self.cursor, table.root, 0, len(table.columns), 0, table.name)
        self.autoinc = Autoincrement(b, table)

    def row(self, b, change_type, table_name=None, id_reg=0, before=0, after=0, ncols=0, updates=None,
            txn_reg=0):
        """One CDC row. ``before``/``after``: first register of a row image (0: none);
        ``updates``: (set column indexes, new row registers), kept in full mode only."""
        mode = self.mode
        regs = b.alloc_reg(9)
        rid = b.alloc_reg()
        b.emit(OP_NewRowid, self.cursor, rid, self.autoinc.seq)
        b.emit(OP_MemMax, self.autoinc.seq, rid)
        # change_id is the INTEGER PRIMARY KEY: NULL in the record, the rowid is the key.
        b.emit(OP_Null, 0, regs)
        b.emit(OP_Function, 0, regs + 1, regs + 1, _NOW, 0)
        if txn_reg:
            b.emit(OP_Copy, txn_reg, regs + 2)
        else:
            # The first change of a transaction names it after its own change_id.
            cand = b.alloc_reg()
            if change_type == CHANGE_COMMIT:
                b.emit(OP_Integer, -1, cand)
            else:
                b.emit(OP_Copy, rid, cand)
            b.emit(OP_Function, 0, cand, regs + 2, _TXN_ID, 1)
        b.emit(OP_Integer, change_type, regs + 3)
        if table_name is None:
            b.emit(OP_Null, 0, regs + 4)
        else:
            b.emit(OP_String8, 0, regs + 4, 0, table_name)
        if id_reg:
            b.emit(OP_Copy, id_reg, regs + 5)
        else:
            b.emit(OP_Null, 0, regs + 5)
        self._image(b, before, ncols, regs + 6)
        self._image(b, after, ncols, regs + 7)
        if updates is not None and mode == "full":
            sets, new = updates
            u = b.alloc_reg(2 * ncols)
            for i in range(ncols):
                b.emit(OP_Integer, 1 if i in sets else 0, u + i)
                if i in sets:
                    b.emit(OP_Copy, new + i, u + ncols + i)
                else:
                    b.emit(OP_Null, 0, u + ncols + i)
            b.emit(OP_MakeRecord, u, 2 * ncols, regs + 8)
        else:
            b.emit(OP_Null, 0, regs + 8)
        rec = b.alloc_reg()
        b.emit(OP_MakeRecord, regs, 9, rec)
        b.emit(OP_Insert, self.cursor, rec, rid)

    @staticmethod
    def _image(b, first, ncols, out):
        if first:
            b.emit(OP_MakeRecord, first, ncols, out)
        else:
            b.emit(OP_Null, 0, out)

    def _before(self, regs):
        return regs if self.mode in ("before", "full") else 0

    def _after(self, regs):
        return regs if self.mode in ("after", "full") else 0

    def insert(self, b, table_name, rowid, new, ncols):
        self.row(b, CHANGE_INSERT, table_name, rowid, after=self._after(new), ncols=ncols)

    def delete(self, b, table_name, rowid, old, ncols):
        self.row(b, CHANGE_DELETE, table_name, rowid, before=self._before(old), ncols=ncols)

    def update(self, b, table_name, old_rid, old, new_rid, new, ncols, sets, rowid_set):
        """An UPDATE of one row. When the statement sets the rowid Turso logs a DELETE and
        an INSERT, and that INSERT carries the new image in ``before`` (in the modes that
        capture ``after``): reproduced as it is, since the rows must match Turso's."""
        if not rowid_set:
            self.row(b, CHANGE_UPDATE, table_name, old_rid, before=self._before(old),
                     after=self._after(new), ncols=ncols, updates=(sets, new))
            return
        self.delete(b, table_name, old_rid, old, ncols)
        self.row(b, CHANGE_INSERT, table_name, new_rid, before=self._after(new), ncols=ncols)

    def finish(self, b):
        """At the end of the program: the COMMIT row when running in autocommit mode."""
        if self.commit_at_end:
            skip = b.new_label()
            r = b.alloc_reg()
            b.emit(OP_Function, 0, r, r, _AUTOCOMMIT, 0)
            b.emit(OP_IfNot, r, skip)
            self.row(b, CHANGE_COMMIT)
            b.resolve(skip)
        if any(insn.opcode == OP_Program for insn in b.insns):
            self._resync(b)
        self.autoinc.save()

    def _resync(self, b):
        """Raise the counter to what trigger bodies saved meanwhile, so saving it cannot lower it."""
        a = self.autoinc
        got = b.alloc_reg()
        done = b.new_label()
        b.emit(OP_Rewind, a.cursor, done)
        top = b.addr
        nxt = b.new_label()
        b.emit(OP_Column, a.cursor, 0, got)
        b.emit(OP_Ne, a.name, nxt, got)
        b.emit(OP_Column, a.cursor, 1, got)
        b.emit(OP_MemMax, a.seq, got)
        b.emit(OP_Rowid, a.cursor, a.row)
        b.resolve(nxt)
        b.emit(OP_Next, a.cursor, top)
        b.resolve(done)


def emit_commit(b):
    """COMMIT of an explicit transaction: its COMMIT row, if it captured any change.

    Emitted before OP_AutoCommit, which ends the program: the counter is saved here.
    """
    cfg = getattr(b.conn, "cdc", None)
    if cfg is None:
        return
    w = CdcWriter(b, cfg, commit_at_end=False)
    txn = b.alloc_reg()
    skip = b.new_label()
    b.emit(OP_Function, 0, txn, txn, _CURRENT_TXN_ID, 0)
    b.emit(OP_IsNull, txn, skip)
    w.row(b, CHANGE_COMMIT, txn_reg=txn)
    b.resolve(skip)
    w.autoinc.save()


# ---------------------------------------------------------------- the PRAGMA


def _set_mode(conn, mode, table):
    conn.cdc = None if mode == "off" else CdcConfig(mode, table)
    # Programs compiled under the old mode emit the wrong CDC code: rebuild them all.
    conn.schema_generation += 1
    conn._clear_cache()


def _parse_value(value):
    """(mode, table) from 'mode' or 'mode,table'."""
    if value.__class__ is not str:
        raise OperationalError(_BAD_VALUE)
    parts = value.split(",")
    mode = parts[0].strip().lower()
    if mode not in MODES or len(parts) > 2:
        raise OperationalError(_BAD_VALUE)
    table = parts[1].strip() if len(parts) == 2 else DEFAULT_TABLE
    if not table:
        raise OperationalError(_BAD_VALUE)
    return mode, table


def translate_cdc_pragma(b, conn, value):
    """PRAGMA capture_data_changes_conn[(value)]: a Program."""
    if value is None:
        names = ["mode", "table", "version"]
        b.column_names = names
        b.column_decltypes = [None] * 3
        out = b.alloc_reg(3)
        for k, get in enumerate((_get_mode, _get_table, _get_version)):
            b.emit(OP_Function, 0, out + k, out + k, FuncDef("pragma_cdc", 0, get, SCALAR, False, True), 0)
        b.emit(OP_ResultRow, out, 3)
        return b.finish(readonly=True)
    mode, table = _parse_value(value)
    if mode != "off":
        _create_tables(b, conn, table)
    fd = FuncDef("pragma_cdc", 0, lambda c: _set_mode(c, mode, table), SCALAR, False, True)
    r = b.alloc_reg()
    b.emit(OP_Function, 0, r, r, fd, 0)
    return b.finish(readonly=False)


def _get_mode(conn):
    cfg = getattr(conn, "cdc", None)
    return "off" if cfg is None else cfg.mode


def _get_table(conn):
    cfg = getattr(conn, "cdc", None)
    return None if cfg is None else cfg.table


def _get_version(conn):
    return None if getattr(conn, "cdc", None) is None else VERSION


def _create_tables(b, conn, table):
    """The CDC table and turso_cdc_version with its row for ``table``, where missing.

    Turso's order: sqlite_sequence (for the AUTOINCREMENT), the CDC table, the
    version table and its automatic index.
    """
    from limbodb.translate.schema import _schema_row
    s = conn.schema
    need_cdc = s.get_table(table) is None
    version = s.get_table(VERSION_TABLE)
    if not need_cdc and version is not None:
        return
    b.write = True
    cur = b.alloc_cursor()
    b.emit(OP_OpenWrite, cur, 1, 0, 5)
    if need_cdc:
        if "sqlite_sequence" not in s.tables:
            seq_root = b.alloc_reg()
            b.emit(OP_CreateBtree, 0, seq_root, 1)
            _schema_row(b, cur, "table", "sqlite_sequence", "sqlite_sequence", seq_root,
                        "CREATE TABLE sqlite_sequence(name,seq)")
        root = b.alloc_reg()
        b.emit(OP_CreateBtree, 0, root, 1)
        _schema_row(b, cur, "table", table, table, root, cdc_table_sql(table))
    vcur = b.alloc_cursor()
    icur = b.alloc_cursor()
    key_info = KeyInfo([None])
    row = b.alloc_reg(2)
    b.emit(OP_String8, 0, row, 0, table)
    b.emit(OP_String8, 0, row + 1, 0, VERSION)
    skip = b.new_label()
    if version is None:
        vroot = b.alloc_reg()
        iroot = b.alloc_reg()
        b.emit(OP_CreateBtree, 0, vroot, 1)
        b.emit(OP_CreateBtree, 0, iroot, 2)
        _schema_row(b, cur, "table", VERSION_TABLE, VERSION_TABLE, vroot, VERSION_TABLE_SQL)
        _schema_row(b, cur, "index", f"sqlite_autoindex_{VERSION_TABLE}_1", VERSION_TABLE, iroot, None)
        b.emit(OP_OpenWrite, vcur, vroot, 0, 2, OPFLAG_P2ISREG)
        b.emit(OP_OpenWrite, icur, iroot, 0, key_info, OPFLAG_P2ISREG)
    else:
        b.emit(OP_OpenWrite, vcur, version.root, 0, 2)
        b.emit(OP_OpenWrite, icur, version.indexes[0].root, 0, version.indexes[0].key_info())
        fresh = b.new_label()
        b.emit(OP_NoConflict, icur, fresh, row, 1)
        b.emit(OP_Goto, 0, skip)
        b.resolve(fresh)
    rowid = b.alloc_reg()
    rec = b.alloc_reg()
    b.emit(OP_MakeRecord, row, 2, rec)
    b.emit(OP_NewRowid, vcur, rowid)
    b.emit(OP_Insert, vcur, rec, rowid)
    key = b.alloc_reg(2)
    b.emit(OP_Copy, row, key)
    b.emit(OP_Copy, rowid, key + 1)
    b.emit(OP_MakeRecord, key, 2, rec)
    b.emit(OP_IdxInsert, icur, rec)
    b.resolve(skip)
    b.emit(OP_SetCookie, 0, BTREE_SCHEMA_VERSION, s.cookie + 1)
    b.emit(OP_ParseSchema)


# ---------------------------------------------------------------- DDL (rows of sqlite_schema)

SCHEMA_TABLE = "sqlite_schema"


def schema_insert(w, b, first, rowid):
    """CREATE TABLE/INDEX: the new sqlite_schema row (registers ``first..first+4``)."""
    if w is not None:
        w.insert(b, SCHEMA_TABLE, rowid, first, 5)


def schema_delete_hook(w, only_name=None):
    """For DROP: a hook(b, cur) run on each sqlite_schema row about to be deleted; it logs
    the row (only the one named ``only_name`` if given: DROP TABLE logs the table alone,
    not its indexes and triggers, as Turso does). None when nothing is captured."""
    if w is None:
        return None

    def hook(b, cur):
        skip = b.new_label()
        old = b.alloc_reg(6)
        for i in range(5):
            b.emit(OP_Column, cur, i, old + i)
        if only_name is not None:
            want = b.alloc_reg()
            b.emit(OP_String8, 0, want, 0, only_name)
            b.emit(OP_Ne, want, skip, old + 1, "NOCASE", 0x10)
        b.emit(OP_Rowid, cur, old + 5)
        w.delete(b, SCHEMA_TABLE, old + 5, old, 5)
        b.resolve(skip)
    return hook


def schema_update_hook(w, alter_sql):
    """For ALTER TABLE ADD/DROP COLUMN: a hook(b, cur, new_first, rowid) run before the
    rewritten row replaces the one ``cur`` is on. Turso's ``updates`` names the sql column
    and holds the ALTER statement's text. None when nothing is captured."""
    if w is None:
        return None

    def hook(b, cur, new_first, rowid):
        old = b.alloc_reg(5)
        for i in range(5):
            b.emit(OP_Column, cur, i, old + i)
        upd = b.alloc_reg(5)
        b.emit(OP_String8, 0, upd + 4, 0, alter_sql)
        w.row(b, CHANGE_UPDATE, SCHEMA_TABLE, rowid, before=w._before(old), after=w._after(new_first),
              ncols=5, updates=({4}, upd))
    return hook
