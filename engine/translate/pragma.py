"""PRAGMA statements: schema introspection, header values and connection settings.

Schema pragmas (table_info, table_xinfo, index_list, index_info,
index_xinfo, database_list) return rows computed from the schema the
statement was prepared against (the Transaction's cookie check re-prepares
it if that changes). Header pragmas read or write header fields
(ReadCookie/SetCookie); settings (cache_size, synchronous, foreign_keys,
journal_mode, busy_timeout, temp_store) run as context functions at step time, so preparing a PRAGMA
changes nothing. integrity_check and wal_checkpoint run their storage
operations through re-entrant opcodes. Unknown pragmas do nothing, as in
SQLite. Mirrors sqlite src/pragma.c.
"""

from limbodb.attach import MAX_ATTACHED, database_list, db_of
from limbodb.errors import OperationalError
from limbodb.functions import FuncDef
from limbodb.functions.table_valued import FUNCTION_LIST_COLUMNS, function_list_rows, index_xinfo_rows
from limbodb.mvcc import journal_mode, mvcc_enabled, set_journal_mode
from limbodb.storage.encryption import pragma_encryption
from limbodb.translate import cdc, fkey, trigger
from limbodb.translate.attach import has_aux, lookup, schema_db, search_order
from limbodb.translate.builder import ProgramBuilder
from limbodb.translate.expr import emit_constant
from limbodb.vdbe.execute_control import BTREE_APPLICATION_ID, BTREE_SCHEMA_VERSION, BTREE_USER_VERSION
from limbodb.vdbe.insn import (
    OP_Checkpoint, OP_Function, OP_Goto, OP_IntegrityCk, OP_Pagecount, OP_ReadCookie, OP_ResultRow,
    OP_RowSetRead, OP_SetCookie,
)

_STANDARD_TYPES = frozenset(("INT", "INTEGER", "REAL", "TEXT", "BLOB", "ANY"))
_COOKIES = {"user_version": BTREE_USER_VERSION, "schema_version": BTREE_SCHEMA_VERSION,
            "application_id": BTREE_APPLICATION_ID}
_CHECKPOINT_MODES = {"PASSIVE": 0, "FULL": 1, "RESTART": 2, "TRUNCATE": 3}
_SCHEMA_PRAGMAS = frozenset(("table_info", "table_xinfo", "index_list", "index_info", "index_xinfo"))
# Per-connection pragmas: a schema qualifier ("PRAGMA temp.temp_store") is accepted and ignored.
_CONNECTION_PRAGMAS = frozenset(("busy_timeout", "temp_store", "compile_options", "function_list", "encoding",
                                 "recursive_triggers", "foreign_keys", "defer_foreign_keys", "cache_size"))


def _rows(b, names, rows):
    b.column_names = list(names)
    b.column_decltypes = [None] * len(names)
    first = b.alloc_reg(len(names))
    for row in rows:
        for k, v in enumerate(row):
            emit_constant(b, v, first + k)
        b.emit(OP_ResultRow, first, len(names))


def _type_name(decl):
    return decl.upper() if decl.upper() in _STANDARD_TYPES else decl


def _table_info(b, conn, arg, extended):
    t = conn.schema.get_table(arg) if arg else None
    names = ["cid", "name", "type", "notnull", "dflt_value", "pk"] + (["hidden"] if extended else [])
    rows = []
    if t is not None:
        pk = {c: k + 1 for k, c in enumerate(t.primary_key)}
        cid = 0
        for i, c in enumerate(t.columns):
            if c.hidden and not extended:
                continue
            notnull = c.notnull or (t.without_rowid and i in t.primary_key)
            row = (cid if not extended else i, c.name, _type_name(c.decl_type), int(bool(notnull)),
                   c.default_text, pk.get(i, 0))
            rows.append(row + ((c.hidden,) if extended else ()))
            cid += 1
    _rows(b, names, rows)


def _index_list(b, conn, arg):
    t = conn.schema.get_table(arg) if arg else None
    rows = []
    if t is not None:
        idxs = list(t.indexes)
        for seq, idx in enumerate(reversed(idxs)):
            rows.append((seq, idx.name, int(bool(idx.unique)), idx.origin, int(idx.where is not None)))
    _rows(b, ["seq", "name", "unique", "origin", "partial"], rows)


def _index_info(b, conn, arg, extended):
    idx = conn.schema.indexes.get(arg.lower()) if arg else None
    rows = [] if idx is None else index_xinfo_rows(conn.schema.get_table(idx.table), idx, extended)
    names = ["seqno", "cid", "name"] + (["desc", "coll", "key"] if extended else [])
    _rows(b, names, rows)


def _runtime(b, name, fn, value=None):
    """Emit a call of ``fn(conn[, value])`` at step time; returns the result register."""
    out = b.alloc_reg()
    nargs = 0 if value is None else 1
    fd = FuncDef("pragma_" + name, nargs, fn, 0, False, True)
    arg = b.alloc_reg()
    if value is not None:
        emit_constant(b, value, arg)
    b.emit(OP_Function, 0, arg, out, fd, nargs, name)
    return out


def _encryption_pragma(name):
    """PRAGMA cipher / hexkey: collected per connection until both are known (Turso's way)."""
    def fn(conn, value=None):
        pending = conn.__dict__.setdefault("encryption_pragmas", {})
        return pragma_encryption(conn.pager, pending, name, value)
    return fn


def _one(b, name, reg):
    b.column_names = [name]
    b.column_decltypes = [None]
    b.emit(OP_ResultRow, reg, 1)


def _int_arg(value, name):
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        v = value.strip().upper()
        named = {"ON": 1, "TRUE": 1, "YES": 1, "OFF": 0, "FALSE": 0, "NO": 0, "FULL": 2, "NORMAL": 1,
                 "EXTRA": 3}
        if v in named:
            return named[v]
        try:
            return int(v)
        except ValueError:
            return 0
    if isinstance(value, float):
        return int(value)
    raise OperationalError(f"invalid value for PRAGMA {name}")


def _set_wal_autocheckpoint(conn, n):
    """PRAGMA wal_autocheckpoint = N: 0 or less disables it; the row shows what is in force."""
    n = max(n, 0)
    conn.pager.set_wal_autocheckpoint(n)
    return n


def _set_busy_timeout(conn, ms):
    conn.busy_timeout = max(ms, 0)
    return conn.busy_timeout


def _temp_store_arg(value):
    """getTempStore: 0/1/2 (DEFAULT/FILE/MEMORY) by digit or name; anything else is DEFAULT."""
    text = str(value).strip()
    if text[:1] in ("0", "1", "2"):
        return int(text[0])
    return {"file": 1, "memory": 2}.get(text.lower(), 0)


# PRAGMA compile_options: the SQLITE_* build settings limbodb behaves as if built with.
COMPILE_OPTIONS = (
    "DEFAULT_CACHE_SIZE=-2000", "DEFAULT_PAGE_SIZE=4096", "DEFAULT_SYNCHRONOUS=2",
    "DEFAULT_WAL_AUTOCHECKPOINT=1000", "ENABLE_MATH_FUNCTIONS", "MAX_ATTACHED=%d" % MAX_ATTACHED,
    "OMIT_LOAD_EXTENSION", "SOUNDEX", "TEMP_STORE=1", "THREADSAFE=1",
)

def _set_cache_size(conn, n):
    conn.cache_size_pragma = n
    pages = n if n >= 0 else max(1, (-n * 1024) // conn.pager.page_size)
    conn.pager.set_cache_size(pages)


def _translate_db_pragma(stmt, conn, b, name, value, arg, dbi):
    """A pragma when temp or attached databases exist: schema pragmas look the table up in
    database ``dbi`` (or, unqualified, in the search order); header pragmas act on ``dbi``."""
    db = db_of(conn, dbi)
    if name in ("table_info", "table_xinfo", "index_list") and arg and stmt.schema is None:
        found = lookup(conn, arg)
        if found is not None:
            db = db_of(conn, found[2])
    elif name in ("index_info", "index_xinfo") and arg and stmt.schema is None:
        db = next((conn.dbs[i] for i in search_order(conn) if arg.lower() in conn.dbs[i].schema.indexes), db)
    if name in ("table_info", "table_xinfo"):
        b.read = True
        _table_info(b, db, arg, name == "table_xinfo")
    elif name == "index_list":
        b.read = True
        _index_list(b, db, arg)
    elif name in ("index_info", "index_xinfo"):
        b.read = True
        _index_info(b, db, arg, name == "index_xinfo")
    elif name == "database_list":
        _rows(b, ["seq", "name", "file"], database_list(conn))
    elif name in _COOKIES and dbi:
        field = _COOKIES[name]
        if value is None:
            r = b.alloc_reg()
            b.emit(OP_ReadCookie, dbi, r, field)
            _one(b, name, r)
        else:
            if name == "schema_version":
                raise OperationalError("setting schema_version is not supported")
            b.emit(OP_SetCookie, dbi, field, _int_arg(value, name))
    elif name in ("integrity_check", "quick_check") and dbi:
        roots = [1] + [t.root for t in db.schema.tables.values()] + \
            [i.root for i in db.schema.indexes.values() if i.root]
        msgs = b.alloc_reg()
        out = b.alloc_reg()
        b.emit(OP_IntegrityCk, dbi, msgs, 0, sorted(set(roots)))
        done = b.new_label()
        top = b.addr
        b.emit(OP_RowSetRead, msgs, done, out)
        b.emit(OP_ResultRow, out, 1)
        b.emit(OP_Goto, 0, top)
        b.resolve(done)
        b.column_names = [name]
        b.column_decltypes = [None]
    elif name == "page_count" and dbi:
        r = b.alloc_reg()
        b.emit(OP_Pagecount, dbi, r)
        _one(b, name, r)
    else:
        raise OperationalError(f"PRAGMA {stmt.schema}.{stmt.name} is not supported")
    return b.finish(readonly=value is None)


def translate_pragma(stmt, conn):
    b = ProgramBuilder(conn)
    name = stmt.name.lower()
    value = stmt.value
    arg = value if isinstance(value, str) else None
    dbi = 0
    if stmt.schema is not None and stmt.schema.lower() != "main":
        dbi = schema_db(conn, stmt.schema)
        if name in _CONNECTION_PRAGMAS:
            dbi = 0
    if name in ("foreign_key_list", "foreign_key_check") and (dbi or has_aux(conn)):
        # Foreign keys stay inside one database: the qualified one, or the table's (search order).
        fkey.translate_fk_pragma(b, conn, name, value, dbi if stmt.schema is not None else None)
        return b.finish(readonly=True)
    if dbi or (name in _SCHEMA_PRAGMAS and has_aux(conn)):
        # A qualified pragma, or an unqualified schema pragma that may name a table elsewhere.
        return _translate_db_pragma(stmt, conn, b, name, value, arg, dbi)
    if name in cdc.PRAGMA_NAMES:
        return cdc.translate_cdc_pragma(b, conn, value)
    if fkey.translate_fk_pragma(b, conn, name, value):
        return b.finish(readonly=value is None)
    if name in ("table_info", "table_xinfo"):
        b.read = True
        _table_info(b, conn, arg, name == "table_xinfo")
    elif name == "index_list":
        b.read = True
        _index_list(b, conn, arg)
    elif name in ("index_info", "index_xinfo"):
        b.read = True
        _index_info(b, conn, arg, name == "index_xinfo")
    elif name == "database_list":
        _rows(b, ["seq", "name", "file"], database_list(conn))
    elif name in _COOKIES:
        field = _COOKIES[name]
        if value is None:
            b.read = True
            r = b.alloc_reg()
            b.emit(OP_ReadCookie, 0, r, field)
            _one(b, name, r)
        else:
            if name == "schema_version":
                raise OperationalError("setting schema_version is not supported")
            b.write = True
            b.emit(OP_SetCookie, 0, field, _int_arg(value, name))
    elif name == "page_size":
        if value is None:
            _one(b, name, _runtime(b, name, lambda c: c.pager.page_size))
        else:
            _runtime(b, name, lambda c, v: c.pager.set_page_size(v) if not c.pager.db_size else None,
                     _int_arg(value, name))
    elif name == "page_count":
        b.read = True
        r = b.alloc_reg()
        b.emit(OP_Pagecount, 0, r)
        _one(b, name, r)
    elif name == "freelist_count":
        b.read = True
        _one(b, name, _runtime(b, name, lambda c: c.pager.header_field("freelist_count")
                               if c.pager.db_size else 0))
    elif name == "cache_size":
        if value is None:
            _one(b, name, _runtime(b, name, lambda c: getattr(c, "cache_size_pragma", -2000)))
        else:
            _runtime(b, name, _set_cache_size, _int_arg(value, name))
    elif name == "synchronous":
        if value is None:
            _one(b, name, _runtime(b, name, lambda c: getattr(c, "synchronous_pragma", 2)))
        else:
            _runtime(b, name, lambda c, v: setattr(c, "synchronous_pragma", v), _int_arg(value, name))
    elif name == "foreign_keys":
        if value is None:
            _one(b, name, _runtime(b, name, lambda c: getattr(c, "foreign_keys_pragma", 0)))
        else:
            _runtime(b, name, lambda c, v: setattr(c, "foreign_keys_pragma", v), _int_arg(value, name))
    elif name == "recursive_triggers":
        if value is None:
            _one(b, name, _runtime(b, name, lambda c: getattr(c, "recursive_triggers_pragma", 0)))
        else:
            _runtime(b, name, trigger.set_recursive_triggers, _int_arg(value, name))
    elif name == "busy_timeout":
        # SQLite answers both forms with the timeout (ms) in force, in a column named "timeout".
        if value is None:
            r = _runtime(b, name, lambda c: c.busy_timeout)
        else:
            r = _runtime(b, name, _set_busy_timeout, _int_arg(value, name))
        _one(b, "timeout", r)
    elif name == "temp_store":
        if value is None:
            _one(b, name, _runtime(b, name, lambda c: getattr(c, "temp_store_pragma", 0)))
        else:
            _runtime(b, name, lambda c, v: setattr(c, "temp_store_pragma", v), _temp_store_arg(value))
    elif name == "compile_options":
        _rows(b, [name], [(o,) for o in COMPILE_OPTIONS])
    elif name == "function_list":
        _rows(b, FUNCTION_LIST_COLUMNS, function_list_rows(conn))
    elif name in ("cipher", "hexkey"):
        fn = _encryption_pragma(name)
        if value is None:
            _one(b, name, _runtime(b, name, fn))
        else:
            _runtime(b, name, fn, str(value))
    elif name == "journal_mode":
        # Step-time: the result depends on (and "= mvcc" changes) the shared Database's mode.
        if arg is None:
            r = _runtime(b, name, journal_mode)
        else:
            mode = str(arg).lower()
            if mode in ("mvcc", "experimental_mvcc") or mode == "wal" and mvcc_enabled(conn):
                # Turning MVCC on or off writes the header (mvcc.set_journal_mode).
                b.write = True
            r = _runtime(b, name, set_journal_mode, str(arg))
        _one(b, name, r)
    elif name == "encoding" and value is not None:
        # limbodb databases are UTF-8 only: setting the encoding is ignored, as SQLite ignores it once the
        # database exists.
        pass
    elif name == "encoding":
        r = b.alloc_reg()
        emit_constant(b, "UTF-8", r)
        _one(b, name, r)
    elif name in ("integrity_check", "quick_check"):
        b.read = True
        roots = [1] + [t.root for t in conn.schema.tables.values()] + \
            [i.root for i in conn.schema.indexes.values() if i.root]
        msgs = b.alloc_reg()
        out = b.alloc_reg()
        b.emit(OP_IntegrityCk, 0, msgs, 0, sorted(set(roots)))
        done = b.new_label()
        top = b.addr
        b.emit(OP_RowSetRead, msgs, done, out)
        b.emit(OP_ResultRow, out, 1)
        b.emit(OP_Goto, 0, top)
        b.resolve(done)
        b.column_names = [name]
        b.column_decltypes = [None]
    elif name == "wal_autocheckpoint":
        if value is None:
            _one(b, name, _runtime(b, name, lambda c: max(c.pager.db.autocheckpoint, 0)))
        else:
            _one(b, name, _runtime(b, name, _set_wal_autocheckpoint, _int_arg(value, name)))
    elif name == "wal_checkpoint":
        mode = _CHECKPOINT_MODES.get(str(arg or "PASSIVE").upper(), 0)
        out = b.alloc_reg(3)
        b.emit(OP_Checkpoint, 0, mode, out)
        b.emit(OP_ResultRow, out, 3)
        b.column_names = ["busy", "log", "checkpointed"]
        b.column_decltypes = [None] * 3
    return b.finish(readonly=value is None)

