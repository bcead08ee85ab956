"""CREATE TABLE / INDEX / VIEW and DROP: B-trees, sqlite_schema rows, the schema cookie.

Definitions are validated at prepare time with limbodb.schema's builders (the
same errors SQLite raises). CREATE TABLE writes the table's row then one row
per automatic index (``sqlite_autoindex_<t>_<n>``, sql NULL), exactly as
SQLite does (a WITHOUT ROWID table is itself an index B-tree and its key has
no row); CREATE TABLE ... AS SELECT writes SQLite's generated definition;
CREATE INDEX also fills the new index from the table's rows, sorted first
(index_keys.open_key_sorter), failing with SQLite's UNIQUE message on duplicates. Every DDL bumps the schema cookie
(SetCookie) and reloads the schema (ParseSchema).
Mirrors sqlite src/build.c (sqlite3EndTable, sqlite3CreateIndex,
sqlite3DropTable).
"""

import re

from limbodb.errors import OperationalError
from limbodb.parser.tokens import KEYWORDS
from limbodb.schema import build_index, build_table
from limbodb.translate import cdc, fkey, generated
from limbodb.translate.attach import ddl_elsewhere
from limbodb.translate.builder import ProgramBuilder
from limbodb.vdbe.execute_control import BTREE_SCHEMA_VERSION
from limbodb.vdbe.execute_cursor import OPFLAG_P2ISREG
from limbodb.vdbe.insn import (
    OP_Column, OP_CreateBtree, OP_Delete, OP_Destroy, OP_Eq, OP_Insert, OP_Integer, OP_MakeRecord, OP_Ne,
    OP_NewRowid, OP_Next, OP_Null, OP_OpenRead, OP_OpenWrite, OP_ParseSchema, OP_Rewind, OP_Rowid, OP_SCopy,
    OP_SetCookie, OP_String8,
)


def _schema_row(b, cursor, kind, name, tbl_name, root_reg, sql):
    """Insert (type, name, tbl_name, rootpage, sql) into sqlite_schema."""
    first = b.alloc_reg(5)
    b.emit(OP_String8, 0, first, 0, kind)
    b.emit(OP_String8, 0, first + 1, 0, name)
    b.emit(OP_String8, 0, first + 2, 0, tbl_name)
    if root_reg is None:
        b.emit(OP_Integer, 0, first + 3)
    else:
        b.emit(OP_SCopy, root_reg, first + 3)
    if sql is None:
        b.emit(OP_Null, 0, first + 4)
    else:
        b.emit(OP_String8, 0, first + 4, 0, sql)
    rec = b.alloc_reg()
    rowid = b.alloc_reg()
    b.emit(OP_MakeRecord, first, 5, rec)
    b.emit(OP_NewRowid, cursor, rowid)
    b.emit(OP_Insert, cursor, rec, rowid)
    return first, rowid


def _ddl_builder(conn):
    b = ProgramBuilder(conn)
    b.write = True
    schema_cur = b.alloc_cursor()
    b.emit(OP_OpenWrite, schema_cur, 1, 0, 5)
    return b, schema_cur


def _finish_ddl(b, conn):
    b.emit(OP_SetCookie, 0, BTREE_SCHEMA_VERSION, conn.schema.cookie + 1)
    b.emit(OP_ParseSchema)
    return b.finish(readonly=False)


def _exists(conn, name):
    s = conn.schema
    lname = name.lower()
    return lname in s.tables or lname in s.views or lname in s.indexes or \
        lname in ("sqlite_schema", "sqlite_master")


def _noop(conn):
    b = ProgramBuilder(conn)
    return b.finish(readonly=False)


def translate_create_table(stmt, conn):
    prog = ddl_elsewhere(stmt, conn, translate_create_table)
    if prog is not None:
        return prog
    name = stmt.name
    if stmt.temp:
        raise OperationalError("TEMP tables are not supported")
    lname = name.lower()
    if lname.startswith("sqlite_"):
        raise OperationalError(f"object name reserved for internal use: {name}")
    s = conn.schema
    if lname in s.tables or lname in s.views:
        if stmt.if_not_exists:
            return _noop(conn)
        kind = "table" if lname in s.tables else "view"
        raise OperationalError(f"{kind} {name} already exists")
    if lname in s.indexes:
        raise OperationalError(f"there is already an index named {name}")
    if stmt.select is not None:
        return _create_table_as(stmt, conn)
    table = build_table(stmt, 0)
    generated.check_create(conn, table)
    b, cur = _ddl_builder(conn)
    root = b.alloc_reg()
    # A WITHOUT ROWID table is an index B-tree keyed by its PRIMARY KEY (which has no row of its own).
    b.emit(OP_CreateBtree, 0, root, 2 if table.without_rowid else 1)
    autoindexes = [i for i in table.indexes if not (table.without_rowid and i.origin == "pk")]
    index_roots = []
    for _idx in autoindexes:
        r = b.alloc_reg()
        b.emit(OP_CreateBtree, 0, r, 2)
        index_roots.append(r)
    logged = cdc.capture(b, cdc.SCHEMA_TABLE)
    cdc.schema_insert(logged, b, *_schema_row(b, cur, "table", name, name, root, stmt.sql))
    for idx, r in zip(autoindexes, index_roots):
        _schema_row(b, cur, "index", idx.name, name, r, None)
    if table.autoincrement and "sqlite_sequence" not in s.tables:
        seq_root = b.alloc_reg()
        b.emit(OP_CreateBtree, 0, seq_root, 1)
        _schema_row(b, cur, "table", "sqlite_sequence", "sqlite_sequence", seq_root,
                    "CREATE TABLE sqlite_sequence(name,seq)")
    return _finish_ddl(b, conn)


_AS_TYPES = {0x41: "", 0x42: "TEXT", 0x43: "NUM", 0x44: "INT", 0x45: "REAL", 0x40: ""}
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _quote_name(name):
    """An identifier as SQLite writes it into generated SQL (quoted when it must be)."""
    if _PLAIN_NAME.match(name) and name.upper() not in KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def _create_table_as(stmt, conn):
    """CREATE TABLE ... AS SELECT: SQLite's generated column list, then the rows of the query."""
    from limbodb.translate.select import compile_select, result_columns
    b, cur = _ddl_builder(conn)
    cols = result_columns(b, stmt.select, None)
    names = []
    seen = {}
    for c in cols:
        n = c.name
        k = n.lower()
        if k in seen:
            seen[k] += 1
            n = f"{n}:{seen[k]}"
        else:
            seen[k] = 0
        names.append(n)
    defs = []
    for n, c in zip(names, cols):
        t = _AS_TYPES.get(c.affinity, "")
        defs.append(f"{_quote_name(n)} {t}" if t else _quote_name(n))
    prefix = stmt.sql or f"CREATE TABLE {_quote_name(stmt.name)}"
    # createTableStmt: one line when the names are short, else one column per line.
    width = sum(len(n) + n.count('"') + 7 for n in names) + len(stmt.name) + stmt.name.count('"') + 2
    if width < 50:
        sql = f"{prefix}(" + ",".join(defs) + ")"
    else:
        sql = f"{prefix}(\n  " + ",\n  ".join(defs) + "\n)"
    root = b.alloc_reg()
    b.emit(OP_CreateBtree, 0, root, 1)
    _schema_row(b, cur, "table", stmt.name, stmt.name, root, sql)
    tcur = b.alloc_cursor()
    b.emit(OP_OpenWrite, tcur, root, 0, len(cols), OPFLAG_P2ISREG)
    rec = b.alloc_reg()
    rid = b.alloc_reg()
    affs = "".join(chr(c.affinity if c.affinity > 0x40 else 0x41) for c in cols)

    def sink(bb, first, n):
        bb.emit(OP_MakeRecord, first, n, rec, affs)
        bb.emit(OP_NewRowid, tcur, rid)
        bb.emit(OP_Insert, tcur, rec, rid)
    compile_select(b, stmt.select, None, sink)
    return _finish_ddl(b, conn)


def translate_create_view(stmt, conn):
    prog = ddl_elsewhere(stmt, conn, translate_create_view)
    if prog is not None:
        return prog
    name = stmt.name
    if stmt.temp:
        # Not a persistent view in its place: other connections would see it, and it would outlive us.
        raise OperationalError("TEMP views are not supported")
    if _exists(conn, name):
        if stmt.if_not_exists:
            return _noop(conn)
        raise OperationalError(f"view {name} already exists" if name.lower() in conn.schema.views
                               else f"table {name} already exists")
    b, cur = _ddl_builder(conn)
    _schema_row(b, cur, "view", name, name, None, stmt.sql)
    return _finish_ddl(b, conn)


def translate_create_index(stmt, conn):
    prog = ddl_elsewhere(stmt, conn, translate_create_index)
    if prog is not None:
        return prog
    name = stmt.name
    s = conn.schema
    lname = name.lower()
    if lname in s.indexes:
        if stmt.if_not_exists:
            return _noop(conn)
        raise OperationalError(f"index {name} already exists")
    if lname in s.tables or lname in s.views:
        raise OperationalError(f"there is already a table named {name}")
    if lname.startswith("sqlite_"):
        raise OperationalError(f"object name reserved for internal use: {name}")
    table = s.tables.get(stmt.table.lower())
    if table is None:
        raise OperationalError(f"no such table: main.{stmt.table}")
    index = build_index(stmt, table, 0)
    special = any(c.col < 0 for c in index.columns) or index.where is not None
    if special:
        from limbodb.translate.index_keys import check_index_expressions
        check_index_expressions(conn, index)
    if table.without_rowid:
        return _create_index_without_rowid(stmt, conn, table, index)
    b, cur = _ddl_builder(conn)
    root = b.alloc_reg()
    b.emit(OP_CreateBtree, 0, root, 2)
    logged = cdc.capture(b, cdc.SCHEMA_TABLE)
    cdc.schema_insert(logged, b, *_schema_row(b, cur, "index", name, table.name, root, stmt.sql))
    # Fill the index from the existing rows.
    tcur = b.alloc_cursor()
    icur = b.alloc_cursor()
    b.emit(OP_OpenRead, tcur, table.root, 0, len(table.columns))
    b.emit(OP_OpenWrite, icur, root, 0, index.key_info(), OPFLAG_P2ISREG)
    if special or generated.has_generated(table):
        from limbodb.translate.index_keys import emit_fill
        emit_fill(b, table, index, tcur, icur)
        return _finish_ddl(b, conn)
    from limbodb.translate.index_keys import insert_sorted, key_to_sorter, open_key_sorter
    n = len(index.columns)
    key = b.alloc_reg(n + 1)
    sorter = open_key_sorter(b, index)
    done = b.new_label()
    b.emit(OP_Rewind, tcur, done)
    top = b.addr
    for k, ic in enumerate(index.columns):
        if ic.col == table.rowid_alias:
            b.emit(OP_Rowid, tcur, key + k)
        else:
            b.emit(OP_Column, tcur, ic.col, key + k)
    b.emit(OP_Rowid, tcur, key + n)
    key_to_sorter(b, sorter, key, n)
    b.emit(OP_Next, tcur, top)
    b.resolve(done)
    cols = ", ".join(f"{table.name}.{table.columns[ic.col].name}" for ic in index.columns)
    insert_sorted(b, sorter, index, icur, f"UNIQUE constraint failed: {cols}")
    return _finish_ddl(b, conn)


def _create_index_without_rowid(stmt, conn, table, index):
    """CREATE INDEX on a WITHOUT ROWID table: entries hold the index columns then the missing key columns."""
    from limbodb.translate.without_rowid import emit_fill
    b, cur = _ddl_builder(conn)
    root = b.alloc_reg()
    b.emit(OP_CreateBtree, 0, root, 2)
    _schema_row(b, cur, "index", stmt.name, table.name, root, stmt.sql)
    tcur = b.alloc_cursor()
    icur = b.alloc_cursor()
    pk = next(i for i in table.indexes if i.origin == "pk")
    b.emit(OP_OpenRead, tcur, table.root, 0, pk.key_info())
    b.emit(OP_OpenWrite, icur, root, 0, index.key_info(), OPFLAG_P2ISREG)
    emit_fill(b, table, index, tcur, icur)
    return _finish_ddl(b, conn)


def _delete_schema_rows(b, cur, column, name, before_delete=None, keep=()):
    """Delete the rows of ``cur`` whose column ``column`` equals ``name`` (case-insensitively),
    except the objects named in ``keep``; ``before_delete(b, cur)`` emits code run on each such
    row first (change data capture)."""
    want = b.alloc_reg()
    got = b.alloc_reg()
    b.emit(OP_String8, 0, want, 0, name)
    done = b.new_label()
    b.emit(OP_Rewind, cur, done)
    top = b.addr
    nxt = b.new_label()
    b.emit(OP_Column, cur, column, got)
    b.emit(OP_Ne, want, nxt, got, "NOCASE", 0x10)
    for kept in keep:
        other = b.alloc_reg()
        b.emit(OP_String8, 0, other, 0, kept)
        b.emit(OP_Column, cur, 1, got)
        b.emit(OP_Eq, other, nxt, got, "NOCASE", 0x10)
    if before_delete is not None:
        before_delete(b, cur)
    b.emit(OP_Delete, cur)
    b.resolve(nxt)
    b.emit(OP_Next, cur, top)
    b.resolve(done)


def translate_drop(stmt, conn, outer=None):
    """``outer``: the connection whose temp database holds triggers on the table, when
    ``conn`` is an attached database's own (translate/attach.py ddl_elsewhere)."""
    prog = ddl_elsewhere(stmt, conn, translate_drop)
    if prog is not None:
        return prog
    if outer is None and conn.db_index == 0:
        outer = conn
    kind = stmt.kind
    name = stmt.name
    s = conn.schema
    lname = name.lower()
    if kind == "TABLE":
        table = s.tables.get(lname)
        if table is None:
            if stmt.if_exists:
                return _noop(conn)
            if lname in ("sqlite_schema", "sqlite_master"):
                raise OperationalError(f"table {name} may not be dropped")
            raise OperationalError(f"no such table: {name}")
        if lname.startswith("sqlite_") and lname != "sqlite_sequence":
            raise OperationalError(f"table {name} may not be dropped")
        b, cur = _ddl_builder(conn)
        logged = cdc.schema_delete_hook(cdc.capture(b, cdc.SCHEMA_TABLE), table.name)
        fkey.emit_drop(b, conn, table)
        for idx in table.indexes:
            if idx.root and idx.root != table.root:
                b.emit(OP_Destroy, idx.root, 0, 0)
        b.emit(OP_Destroy, table.root, 0, 0)
        from limbodb.attach import TEMP
        from limbodb.translate.trigger import bound_elsewhere, drop_temp_triggers
        _delete_schema_rows(b, cur, 2, table.name, logged,
                            bound_elsewhere(conn, lname) if conn.db_index == TEMP else ())
        seq = s.tables.get("sqlite_sequence")
        if table.autoincrement and seq is not None:
            seq_cur = b.alloc_cursor()
            b.emit(OP_OpenWrite, seq_cur, seq.root, 0, 2)
            _delete_schema_rows(b, seq_cur, 0, table.name)
        drop_temp_triggers(b, outer, conn.db_index, table.name)
        return _finish_ddl(b, conn)
    if kind == "INDEX":
        idx = s.indexes.get(lname)
        if idx is None:
            if stmt.if_exists:
                return _noop(conn)
            raise OperationalError(f"no such index: {name}")
        if idx.sql is None:
            raise OperationalError("index associated with UNIQUE or PRIMARY KEY constraint cannot be dropped")
        b, cur = _ddl_builder(conn)
        logged = cdc.schema_delete_hook(cdc.capture(b, cdc.SCHEMA_TABLE))
        b.emit(OP_Destroy, idx.root, 0, 0)
        _delete_schema_rows(b, cur, 1, idx.name, logged)
        return _finish_ddl(b, conn)
    if kind == "VIEW":
        if lname not in s.views:
            if stmt.if_exists:
                return _noop(conn)
            raise OperationalError(f"no such view: {name}")
        b, cur = _ddl_builder(conn)
        # By tbl_name: the view's triggers go with it.
        _delete_schema_rows(b, cur, 2, s.views[lname].name)
        from limbodb.translate.trigger import drop_temp_triggers
        drop_temp_triggers(b, outer, conn.db_index, s.views[lname].name)
        return _finish_ddl(b, conn)
    if kind == "TRIGGER":
        from limbodb.translate.trigger import translate_drop_trigger
        return translate_drop_trigger(stmt, conn)
    raise OperationalError(f"DROP {kind} is not supported")

