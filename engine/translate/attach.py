"""ATTACH and DETACH, and schema-qualified name resolution across databases.

ATTACH/DETACH compile, as in SQLite, to OP_Function calls of the internal
functions sqlite_attach(file, name) and sqlite_detach(name), which change
``conn.dbs`` (limbodb/attach.py) when the statement runs, not when it is
prepared. ``lookup`` finds a table or view: ``schema.name`` in that database,
an unqualified name in temp, then main, then attached databases in attach
order (sqlite3LocateTable). The temp database's schema table answers to
sqlite_temp_schema and sqlite_temp_master too.
Mirrors sqlite src/attach.c and sqlite3FindTable of src/build.c.
"""

import copy
import functools

from limbodb.attach import TEMP, attach, db_index, db_of, detach
from limbodb.errors import OperationalError
from limbodb.functions import FuncDef
from limbodb.parser import ast
from limbodb.translate.builder import ProgramBuilder
from limbodb.translate.expr import Scope, code_expr
from limbodb.vdbe.insn import (
    Insn, OP_Clear, OP_CreateBtree, OP_Destroy, OP_Function, OP_IntegrityCk, OP_OpenRead, OP_OpenWrite, OP_Pagecount,
    OP_ParseSchema, OP_ReadCookie, OP_SetCookie, OP_String8, OP_Transaction,
)

_TEMP_SCHEMA_NAMES = ("sqlite_temp_schema", "sqlite_temp_master")


def _attach_fn(conn, file, name, *_):
    """Re-entrant (OP_Function runs it again after IO); a KEY argument is ignored, as in Turso."""
    if name is None:
        name = ""
    return attach(conn, "" if file is None else str(file), str(name))


def _detach_fn(conn, name):
    """Re-entrant, like _attach_fn."""
    return detach(conn, "" if name is None else str(name))


_ATTACH = FuncDef("sqlite_attach", 2, _attach_fn, deterministic=False, needs_context=True)
_DETACH = FuncDef("sqlite_detach", 1, _detach_fn, deterministic=False, needs_context=True)


def _name_operand(b, expr, reg):
    """A bare identifier in ATTACH/DETACH is the name itself, as SQLite's resolveAttachExpr does."""
    if expr.__class__ is ast.Column and expr.table is None:
        b.emit(OP_String8, 0, reg, 0, expr.name)
    else:
        code_expr(b, Scope([]), expr, reg)


def translate_attach(stmt, conn):
    b = ProgramBuilder(conn)
    regs = b.alloc_reg(3)
    _name_operand(b, stmt.expr, regs)
    _name_operand(b, stmt.schema, regs + 1)
    b.emit(OP_Function, 0, regs, regs + 2, _ATTACH, 2)
    return b.finish(readonly=False)


def translate_detach(stmt, conn):
    b = ProgramBuilder(conn)
    regs = b.alloc_reg(2)
    _name_operand(b, stmt.schema, regs)
    b.emit(OP_Function, 0, regs, regs + 1, _DETACH, 1)
    return b.finish(readonly=False)


def schema_db(conn, schema_name):
    """The index of the database ``schema_name`` names (main when None), or OperationalError
    "unknown database X" as SQLite's DDL reports."""
    if schema_name is None:
        return 0
    i = db_index(conn, schema_name)
    if i < 0:
        raise OperationalError(f"unknown database {schema_name}")
    return i


def _find_in(conn, i, lname):
    """("table" | "view", object) of database ``i``, or None."""
    d = conn.dbs[i]
    schema = d.schema
    if i == TEMP and lname in _TEMP_SCHEMA_NAMES:
        return "table", schema.schema_table
    t = schema.get_table(lname)
    if t is not None:
        return "table", t
    v = schema.views.get(lname)
    if v is not None:
        return "view", v
    return None


def lookup(conn, name, schema_name=None):
    """(kind, object, db index) of the table or view ``[schema_name.]name``, or None.

    kind is "table" or "view". A qualified name naming no database also gives None
    (sqlite3 then reports "no such table: schema.name")."""
    lname = name.lower()
    if schema_name is not None:
        i = db_index(conn, schema_name)
        if i < 0:
            return None
        if i == TEMP:
            db_of(conn, TEMP)
        found = _find_in(conn, i, lname)
        return None if found is None else (found[0], found[1], i)
    if conn.bound_db is not None:
        found = _find_in(conn, conn.bound_db, lname)
        return None if found is None else (found[0], found[1], conn.bound_db)
    if lname in _TEMP_SCHEMA_NAMES:
        db_of(conn, TEMP)
        return "table", conn.dbs[TEMP].schema.schema_table, TEMP
    if lname in ("sqlite_schema", "sqlite_master"):
        # Unqualified, these always mean main's (sqlite3FindTable).
        return "table", conn.schema.schema_table, 0
    for i in search_order(conn):
        found = _find_in(conn, i, lname)
        if found is not None:
            return found[0], found[1], i
    return None


def search_order(conn):
    """Indexes of the existing databases in unqualified-name order: temp, main, attached."""
    order = [0] if conn.dbs[TEMP] is None else [TEMP, 0]
    order.extend(range(2, len(conn.dbs)))
    return order


def has_aux(conn):
    """True when a temp or attached database exists (name resolution must look beyond main)."""
    return len(conn.dbs) > 2 or conn.dbs[TEMP] is not None or conn.bound_db is not None


def find_table(conn, name, schema_name=None):
    """The Table ``[schema_name.]name``; OperationalError("no such table: …") if none."""
    found = lookup(conn, name, schema_name)
    if found is None or found[0] != "table":
        _no_such_table(conn, name, schema_name)
    return found[1]


def _no_such_table(conn, name, schema_name):
    if schema_name is None and conn.bound_db is not None:
        schema_name = conn.dbs[conn.bound_db].db_name
    shown = name if schema_name is None else f"{schema_name}.{name}"
    raise OperationalError(f"no such table: {shown}")


def find_source(conn, name, schema_name=None):
    """(view, None, db) or (None, table, db) for a FROM item; OperationalError if neither."""
    found = lookup(conn, name, schema_name)
    if found is None:
        _no_such_table(conn, name, schema_name)
    if found[0] == "view":
        return found[1], None, found[2]
    return None, found[1], found[2]


class bound_db:
    """While a view of database ``db`` is compiled, its unqualified names mean objects of
    that database only (sqlite3FixSrcList binds them); a temp view's use the search order."""

    __slots__ = ("conn", "db", "saved")

    def __init__(self, conn, db):
        self.conn = conn
        self.db = None if db == TEMP else db

    def __enter__(self):
        self.saved = self.conn.bound_db
        if self.db is not None:
            self.conn.bound_db = self.db

    def __exit__(self, *exc):
        self.conn.bound_db = self.saved


# Operands naming the database, by opcode: a program compiled against an inner connection
# (as its main) is pointed at that database's index in the outer connection.
_RETARGET_P1 = frozenset((OP_Transaction, OP_CreateBtree, OP_SetCookie, OP_ReadCookie, OP_ParseSchema,
                          OP_Pagecount, OP_IntegrityCk))
_RETARGET_P3 = frozenset((OP_OpenRead, OP_OpenWrite, OP_Destroy))


def _retarget(program, db):
    """Point the operands naming main (0) at ``db``; those naming temp (the outer connection's,
    written by DROP TABLE and RENAME of an attached table: translate/trigger.py) stay."""
    for insn in program.insns:
        op = insn.opcode
        if op in _RETARGET_P1:
            if insn.p1 == 0:
                insn.p1 = db
        elif op in _RETARGET_P3:
            if insn.p3 == 0:
                insn.p3 = db
        elif op == OP_Clear and insn.p2 == 0:
            insn.p2 = db
    return program


def _ddl_target(stmt, conn):
    """The database index DDL ``stmt`` writes to (sqlite3TwoPartName and its callers)."""
    cls = stmt.__class__
    schema_name = stmt.schema
    if getattr(stmt, "temp", False):
        if schema_name is not None and db_index(conn, schema_name) != TEMP:
            if cls is ast.CreateTrigger:
                raise OperationalError("temporary trigger may not have qualified name")
            if db_index(conn, schema_name) < 0:
                raise OperationalError(f"unknown database {schema_name}")
            raise OperationalError("temporary table name must be unqualified")
        return TEMP
    if schema_name is not None:
        if cls is ast.Drop or cls is ast.AlterTable:
            i = db_index(conn, schema_name)
            return i if i >= 0 else None
        return schema_db(conn, schema_name)
    if not has_aux(conn):
        return 0
    if cls is ast.AlterTable:
        found = lookup(conn, stmt.table)
        return 0 if found is None else found[2]
    if cls is ast.CreateIndex or cls is ast.CreateTrigger:
        found = lookup(conn, stmt.table)
        # A trigger on a temp table is a temp trigger; an index lives with its table.
        if found is not None and (cls is ast.CreateIndex or found[2] == TEMP):
            return found[2]
        return 0
    if cls is ast.Drop:
        lname = stmt.name.lower()
        attr = {"TABLE": "tables", "VIEW": "views", "INDEX": "indexes", "TRIGGER": "triggers"}.get(stmt.kind)
        for i in search_order(conn):
            if attr is not None and lname in getattr(conn.dbs[i].schema, attr):
                return i
    return 0


def _create_table_as(stmt, conn, inner, translate_fn):
    """CREATE TABLE temp/aux.t AS SELECT: its query may read any database, so it is compiled
    with the inner connection seeing the outer one's databases; then only what the DDL
    writes (every OpenWrite, the new B-tree, the cookie) moves to the target database."""
    db = inner.db_index
    saved = inner.dbs
    inner.dbs = conn.dbs
    try:
        program = translate_fn(stmt, inner)
    finally:
        inner.dbs = saved
    insns = program.insns
    reads_main = False
    at = None
    for k, insn in enumerate(insns):
        op = insn.opcode
        if op == OP_OpenWrite:
            insn.p3 = db
        elif op == OP_OpenRead and insn.p3 == 0:
            reads_main = True
        elif op in (OP_CreateBtree, OP_SetCookie, OP_ParseSchema) and insn.p1 == 0:
            insn.p1 = db
        elif op == OP_Transaction and insn.p1 == 0:
            insn.p1 = db
            at = k
    if reads_main and at is not None:
        # Nothing jumps past the transaction prologue, so inserting there moves no target.
        insns.insert(at + 1, Insn(OP_Transaction, 0, 0, conn.schema.cookie))
    return program


def ddl_elsewhere(stmt, conn, translate_fn):
    """The Program of DDL ``stmt`` when it targets temp or an attached database, else None.

    The statement is compiled by ``translate_fn`` against that database's own connection
    (where it is "main") and its database operands are then set to the database's index.
    DROP naming an unknown database compiles to a no-op when IF EXISTS is given, else fails
    with "no such <kind>: schema.name" as sqlite3 does."""
    db = _ddl_target(stmt, conn)
    cls = stmt.__class__
    if stmt.__class__ is ast.CreateTrigger and stmt.table_schema is not None and db != TEMP \
            and db_index(conn, stmt.table_schema) != db:
        # sqlite3FixSrcList: only a temp trigger may watch a table of another database.
        raise OperationalError(f"trigger {stmt.name} cannot reference objects in database {stmt.table_schema}")
    if db == 0:
        return None
    if db is not None and db > TEMP and conn.dbs[TEMP] is not None and (
            cls is ast.Drop and stmt.kind in ("TABLE", "VIEW")
            or cls is ast.AlterTable and stmt.action in ("RENAME", "RENAME COLUMN")):
        # The temp schema's triggers on the table go with it (or follow the new names).
        translate_fn = functools.partial(translate_fn, outer=conn)
    if stmt.__class__ is ast.CreateTrigger and db == TEMP:
        found = lookup(conn, stmt.table, stmt.table_schema)
        if found is not None and found[2] != TEMP:
            # A temp trigger on a main or attached table: stored in temp, fired by DML on that
            # table (translate/trigger.py dml_triggers).
            translate_fn = functools.partial(translate_fn, outside=found)
    local = copy.copy(stmt)
    local.schema = None
    if stmt.__class__ is ast.CreateTrigger:
        local.table_schema = None
    if hasattr(stmt, "temp"):
        local.temp = False
    name = stmt.table if stmt.__class__ is ast.AlterTable else stmt.name
    if db is None:
        if getattr(stmt, "if_exists", False):
            return ProgramBuilder(conn).finish(readonly=False)
        kind = "table" if stmt.__class__ is ast.AlterTable else stmt.kind.lower()
        raise OperationalError(f"no such {kind}: {stmt.schema}.{name}")
    inner = db_of(conn, db)
    # DROP TABLE's implicit DELETE checks foreign keys when the outer connection enforces them.
    inner.foreign_keys_pragma = conn.foreign_keys_pragma
    if stmt.__class__ is ast.CreateTable and stmt.select is not None:
        return _create_table_as(local, conn, inner, translate_fn)
    try:
        program = translate_fn(local, inner)
    except OperationalError as e:
        if stmt.schema is not None and e.args and e.args[0].startswith("no such ") and \
                e.args[0].endswith(": " + name):
            raise OperationalError(f"{e.args[0][:-len(name)]}{stmt.schema}.{name}") from None
        raise
    return _retarget(program, db)


def dml_is_view(conn, ref):
    """True when INSERT/UPDATE/DELETE names a view (compiled through its INSTEAD OF triggers,
    which live in the view's database or in temp)."""
    if ref.schema is None and not has_aux(conn):
        return ref.name.lower() in conn.schema.views
    found = lookup(conn, ref.name, ref.schema)
    return found is not None and found[0] == "view"


def dml_table(conn, ref):
    """The Table INSERT/UPDATE/DELETE writes: ``ref`` resolved in the search order."""
    if ref.schema is None and not has_aux(conn):
        return conn.schema.table(ref.name)
    return find_table(conn, ref.name, ref.schema)
