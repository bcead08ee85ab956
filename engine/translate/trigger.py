"""Triggers: CREATE/DROP TRIGGER, firing them from INSERT/UPDATE/DELETE, and DML on views.

A trigger body runs as sub-programs (SQLite's OP_Program): each body
statement is translated on its own, with every ``NEW.x``/``OLD.x`` rewritten
to a parameter, and the firing statement passes the row in a register block
laid out as [NEW columns, NEW rowid, OLD columns, OLD rowid]. Bodies compile
with the firing statement; a trigger firing again inside its own body (with
``PRAGMA recursive_triggers``) reuses the sub-programs being compiled above,
as SQLite's pTriggerPrg cache does, so recursion depth is bounded only at run
time (vdbe/execute_trigger.py). Without the pragma a trigger already being
compiled above is left out of the nested statement (it does not fire itself). The
sub-programs end in OP_TriggerHalt instead of OP_Halt: they never commit,
and RAISE(IGNORE) ends them with the firing row skipped.
INSTEAD OF triggers make a view writable: its rows are selected into an
ephemeral table, then each fires the triggers. Triggers fire newest first,
as in SQLite. A trigger lives in its table's database (main, temp or attached),
or in temp for a temp trigger on another database's table; an attached
database's trigger body sees that database's objects only, a temp trigger's
body uses the search order. A temp trigger stays bound to the database its
table was found in when it was created (SQLite's pTabSchema), even when
another database later gains a table of that name; when that database is
detached the trigger is bound to temp; after any ALTER TABLE (which makes
SQLite reload temp's schema) each binds again by the search order. The firing statement opens every database a body
statement uses (the sub-programs' own OP_Transaction are dropped).
RETURNING on a view returns the rows.
Mirrors sqlite src/trigger.c (sqlite3BeginTrigger,
sqlite3CodeRowTrigger) and the view paths of insert.c/update.c/delete.c.
"""

import copy

from limbodb.attach import TEMP, db_index, db_of
from limbodb.errors import OperationalError, SQLITE_CONSTRAINT_TRIGGER
from limbodb.parser import ast
from limbodb.translate.builder import ProgramBuilder
from limbodb.vdbe.execute_trigger import MAX_TRIGGER_DEPTH
from limbodb.vdbe.insn import (
    OE_ABORT, OE_FAIL, OE_ROLLBACK, OP_Affinity, OP_Column, OP_Copy, OP_Function, OP_Halt, OP_Insert, OP_Integer,
    OP_IsNull, OP_MakeRecord, OP_NewRowid, OP_Next, OP_Noop, OP_NotExists, OP_Null, OP_OpenEphemeral,
    OP_OpenWrite, OP_ParseSchema, OP_Program, OP_Rewind, OP_Rowid, OP_SetCookie, OP_Transaction,
    OP_TriggerHalt, Insn,
)

_ROWID_NAMES = ("rowid", "oid", "_rowid_")
_RAISE_ACTIONS = {"ROLLBACK": OE_ROLLBACK, "ABORT": OE_ABORT, "FAIL": OE_FAIL}

# id(conn) -> the TriggerPrograms whose bodies are being translated, outermost first (no threads
# share a connection, and translation never waits, so the entry lives only inside one call).
_COMPILING = {}


# ---------------------------------------------------------------- CREATE / DROP

def translate_create_trigger(stmt, conn, outside=None):
    """``outside``: for a temp trigger on a main table, lookup()'s (kind, object, db) of that table;
    ``conn`` is then temp's connection, where the trigger is stored."""
    from limbodb.translate.schema import _ddl_builder, _finish_ddl, _noop, _schema_row
    from limbodb.translate.attach import ddl_elsewhere
    prog = ddl_elsewhere(stmt, conn, translate_create_trigger) if outside is None else None
    if prog is not None:
        return prog
    if stmt.temp:
        raise OperationalError("TEMP triggers are not supported")
    if stmt.schema is not None and stmt.schema.lower() != "main":
        raise OperationalError(f"unknown database {stmt.schema}")
    s = conn.schema
    name = stmt.name
    lname = name.lower()
    target = stmt.table.lower()
    if target in ("sqlite_schema", "sqlite_master") or (target.startswith("sqlite_") and target in s.tables):
        raise OperationalError("cannot create trigger on system table")
    is_view = target in s.views if outside is None else outside[0] == "view"
    if outside is None and not is_view and target not in s.tables:
        raise OperationalError(f"no such table: main.{stmt.table}")
    if lname.startswith("sqlite_"):
        raise OperationalError(f"object name reserved for internal use: {name}")
    if lname in s.triggers:
        if stmt.if_not_exists:
            return _noop(conn)
        raise OperationalError(f"trigger {name} already exists")
    time = stmt.time or "BEFORE"
    if is_view and time != "INSTEAD OF":
        raise OperationalError(f"cannot create {time} trigger on view: {stmt.table}")
    if not is_view and time == "INSTEAD OF":
        raise OperationalError(f"cannot create INSTEAD OF trigger on table: {stmt.table}")
    for body in stmt.body:
        if body.__class__ in (ast.Insert, ast.Update, ast.Delete) and body.table.schema is not None:
            raise OperationalError("qualified table names are not allowed on INSERT, UPDATE, and DELETE "
                                   "statements within triggers")
    if outside is not None:
        owner = outside[1].name
    else:
        owner = s.views[target].name if is_view else s.tables[target].name
    b, cur = _ddl_builder(conn)
    _schema_row(b, cur, "trigger", name, owner, None, stmt.sql)
    if conn.db_index == TEMP:
        _bind_temp_trigger(b, lname, stmt.sql, TEMP if outside is None else outside[2])
    return _finish_ddl(b, conn)


def _bind_temp_trigger(b, lname, sql, db):
    """When the CREATE TEMP TRIGGER runs, record the database (index ``db`` at compile time,
    which a later ATTACH or DETACH makes the statement compile again for) its table is in."""
    from limbodb.functions import FuncDef

    def bind(outer):
        outer.dbs[TEMP].temp_trigger_tables[lname] = (sql, outer.dbs[db])
    fd = FuncDef("bind_temp_trigger", 0, bind, 0, False, True)
    out = b.alloc_reg()
    b.emit(OP_Function, 0, out, out, fd, 0, "bind_temp_trigger")


def rebind_temp_triggers(b, outer, db, renamed=None, edits=None):
    """ALTER TABLE of database ``db``: SQLite reloads temp's schema after it (renameReloadSchema),
    so every temp trigger binds again to the table its ON clause finds then, in the search
    order, whatever it was bound to before. ``renamed``: the (old, new) lowercased names of
    the table of ``db`` the statement renames; ``edits``: temp's schema rows it rewrites,
    {lowercased name: (name, tbl_name, sql)}. The bindings are computed now, for the schema
    as the statement leaves it, and set when it runs (after its checks)."""
    from limbodb.functions import FuncDef
    if outer is None or len(outer.dbs) <= TEMP or outer.dbs[TEMP] is None:
        return
    triggers = outer.dbs[TEMP].schema.triggers
    if not triggers:
        return
    edits = edits or {}
    binds = {}
    for t in triggers.values():
        lname = t.name.lower()
        table, sql = t.table.lower(), t.sql
        if lname in edits:
            table, sql = edits[lname][1].lower(), edits[lname][2]
        holder = _holder_after(outer, t, table, db, renamed)
        if holder >= 0:
            binds[lname] = (sql, holder)

    def rebind(conn):
        bound = conn.dbs[TEMP].temp_trigger_tables
        bound.clear()
        for name, (text, i) in binds.items():
            bound[name] = (text, conn.dbs[i])
    fd = FuncDef("rebind_temp_triggers", 0, rebind, 0, False, True)
    out = b.alloc_reg()
    b.emit(OP_Function, 0, out, out, fd, 0, "rebind_temp_triggers")


def _holder_after(outer, trigger, table, db, renamed):
    """The database temp trigger ``trigger``'s ON table ``table`` resolves to once table
    ``renamed[0]`` of database ``db`` is ``renamed[1]``: the one it names, else temp's own
    table, else the first database in the search order holding it (-1: none)."""
    if trigger.table_schema is not None:
        return db_index(outer, trigger.table_schema)
    for i in [TEMP, 0] + list(range(2, len(outer.dbs))):
        d = outer.dbs[i]
        if d is None:
            continue
        names = d.schema.tables.keys() | d.schema.views.keys()
        if i == db and renamed is not None:
            names = (names - {renamed[0]}) | {renamed[1]}
        if table in names:
            return i
    return -1


def bound_elsewhere(temp, lname):
    """Names of the triggers of the temp database (its connection ``temp``) on ``lname`` that
    are bound to a table of another database still attached: DROP of temp's own table
    ``lname`` keeps them, as SQLite drops only the triggers in that table's list."""
    kept = []
    for t in temp.schema.triggers.values():
        entry = temp.temp_trigger_tables.get(t.name.lower())
        if t.table.lower() == lname and entry is not None and entry[0] == t.sql and \
                entry[1] is not temp and not entry[1].closed:
            kept.append(t.name)
    return kept


def _bound_db(conn, trigger):
    """The index of the database temp trigger ``trigger``'s table was found in at its creation
    (TEMP once that database is detached, as SQLite's DETACH rebinds it), or None if unknown."""
    temp = conn.dbs[TEMP]
    entry = temp.temp_trigger_tables.get(trigger.name.lower()) if temp is not None else None
    if entry is None or entry[0] != trigger.sql:
        return None
    holder = entry[1]
    for i, d in enumerate(conn.dbs):
        if d is holder:
            return i
    return TEMP


def open_temp_schema(b, outer):
    """A write cursor on temp's sqlite_schema for DDL of another database that changes temp's
    triggers (``outer``: the connection owning ``conn.dbs``); compiled against an attached
    database's own connection, the program must open temp itself."""
    cur = b.alloc_cursor()
    b.emit(OP_OpenWrite, cur, 1, TEMP, 5)
    if b.conn is not outer:
        b.prologue.append(Insn(OP_Transaction, TEMP, 1, outer.dbs[TEMP].schema.cookie))
    return cur


def finish_temp_schema(b, outer):
    """Bump temp's schema cookie and reload its schema after open_temp_schema's changes."""
    from limbodb.vdbe.execute_control import BTREE_SCHEMA_VERSION
    b.emit(OP_SetCookie, TEMP, BTREE_SCHEMA_VERSION, outer.dbs[TEMP].schema.cookie + 1)
    b.emit(OP_ParseSchema, TEMP)


def drop_temp_triggers(b, outer, db, table_name):
    """DROP TABLE ``table_name`` of database ``db`` (main or attached): delete temp's triggers
    on it too, as sqlite3DropTable does for each trigger sqlite3TriggerList returns."""
    from limbodb.translate.schema import _delete_schema_rows
    if outer is None or outer.dbs[TEMP] is None:
        return
    triggers = _temp_triggers_on(outer, table_name.lower(), db)
    if not triggers:
        return
    cur = open_temp_schema(b, outer)
    for t in triggers:
        _delete_schema_rows(b, cur, 1, t.name)
    finish_temp_schema(b, outer)


def translate_drop_trigger(stmt, conn):
    from limbodb.translate.schema import _ddl_builder, _delete_schema_rows, _finish_ddl, _noop
    if stmt.schema is not None and stmt.schema.lower() != "main":
        raise OperationalError(f"unknown database {stmt.schema}")
    trigger = conn.schema.triggers.get(stmt.name.lower())
    if trigger is None:
        if stmt.if_exists:
            return _noop(conn)
        raise OperationalError(f"no such trigger: {stmt.name}")
    b, cur = _ddl_builder(conn)
    _delete_schema_rows(b, cur, 1, trigger.name)
    return _finish_ddl(b, conn)


# ---------------------------------------------------------------- RAISE

def code_raise(b, scope, e, target):
    """RAISE(...) inside a trigger body: end the sub-program (IGNORE) or halt with its message."""
    if not _COMPILING.get(id(b.conn)):
        raise OperationalError("RAISE() may only be used within a trigger-program")
    if e.action == "IGNORE":
        b.emit(OP_TriggerHalt, 1)
    else:
        msg = e.message.value if e.message is not None else ""
        b.emit(OP_Halt, SQLITE_CONSTRAINT_TRIGGER, _RAISE_ACTIONS[e.action], 0, str(msg))
    b.emit(OP_Null, 0, target)


# ---------------------------------------------------------------- firing from DML

class Firing:
    """The triggers of one table (or view) and event, split by time, and the code that fires them."""

    __slots__ = ("ncols", "before", "after", "instead", "block", "or_conflict", "holders", "db")

    def __init__(self, triggers, ncols, or_conflict, db=0):
        self.ncols = ncols
        # The database holding the triggers (and their table): their bodies' names resolve there.
        self.db = db
        # The firing statement's OR clause: it replaces the body statements' own (SQLite's rule).
        self.or_conflict = or_conflict
        self.before = [t for t in triggers if t.time == "BEFORE"]
        self.after = [t for t in triggers if t.time == "AFTER"]
        self.instead = [t for t in triggers if t.time == "INSTEAD OF"]
        self.block = None
        # One TriggerProgram per trigger, shared by every row the statement fires it for.
        self.holders = {}

    def fire(self, b, triggers, new, new_rid, old, old_rid, skip):
        """Emit the firing of ``triggers`` for a row: register bases (or None) of NEW and OLD.

        ``skip`` is where RAISE(IGNORE) continues (the firing row is abandoned).
        """
        if not triggers:
            return
        n = self.ncols
        if self.block is None:
            self.block = b.alloc_reg(2 * n + 2)
        block = self.block
        for base, rid, at in ((new, new_rid, block), (old, old_rid, block + n + 1)):
            if base is None:
                b.emit(OP_Null, 0, at, at + n)
                continue
            for i in range(n):
                b.emit(OP_Copy, base + i, at + i)
            if rid is None:
                b.emit(OP_Null, 0, at + n)
            else:
                b.emit(OP_Copy, rid, at + n)
        for trigger in triggers:
            holder = self.holders.get(trigger.name)
            if holder is None:
                holder = next((h for h in _compiling(b.conn) if h.trigger is trigger and h.db == self.db
                               and h.or_conflict == self.or_conflict), None)
                if holder is None:
                    holder = TriggerProgram(b.conn, trigger, n, self.or_conflict, self.db)
                    # Compile now so a bad body fails the firing statement's prepare, as in SQLite.
                    holder.compile(b.conn)
                self.holders[trigger.name] = holder
                _open_databases(b, holder.dbs)
            b.emit(OP_Program, block, skip, 0, holder, 0, trigger.name)

    def before_insert(self, b, table, first, rid_src, skip):
        """BEFORE INSERT: NEW has the table's affinity applied; an automatic rowid reads as -1."""
        if not self.before:
            return
        n = self.ncols
        row = b.alloc_reg(n)
        for i in range(n):
            b.emit(OP_Copy, first + i, row + i)
        affs = "".join(chr(c.affinity) for c in table.columns)
        if any(ch != "A" for ch in affs):
            b.emit(OP_Affinity, row, n, 0, affs)
        rid = b.alloc_reg()
        b.emit(OP_Integer, -1, rid)
        if rid_src is not None:
            auto = b.new_label()
            b.emit(OP_IsNull, rid_src, auto)
            b.emit(OP_Copy, rid_src, rid)
            b.resolve(auto)
        if table.rowid_alias is not None:
            b.emit(OP_Copy, rid, row + table.rowid_alias)
        if any(c.generated is not None for c in table.columns):
            # NEW's generated columns are computed from the affinity-applied values (as in SQLite).
            from limbodb.translate.expr import Source
            from limbodb.translate.generated import compute
            compute(b, Source.for_table(table, table.name, None), row)
        self.fire(b, self.before, row, rid, None, None, skip)

    def before_update(self, b, w, old, old_rid, new, new_rid, sets, skip):
        """BEFORE UPDATE, then reload the row: the triggers may have changed or deleted it.

        Columns the UPDATE does not set take the reloaded values, so the old
        index entries deleted next are the ones the table really has.
        """
        if not self.before:
            return
        self.fire(b, self.before, new, new_rid, old, old_rid, skip)
        b.emit(OP_NotExists, w.cursor, skip, old_rid)
        w.read_row(old)
        for i in range(self.ncols):
            if i not in sets and i != w.table.rowid_alias:
                b.emit(OP_Copy, old + i, new + i)

    def wr_before_update(self, b, w, old, new, sets, skip):
        """before_update for a WITHOUT ROWID table (``w`` a WrWriter; rows found by key)."""
        if not self.before:
            return
        self.fire(b, self.before, new, None, old, None, skip)
        w.seek_key(w._gather(old, [ic.col for ic in w.pk.columns]), skip)
        w.read_row(old)
        for i in range(self.ncols):
            if i not in sets:
                b.emit(OP_Copy, old + i, new + i)

    def wr_before_delete(self, b, w, old, skip):
        """before_delete for a WITHOUT ROWID table."""
        if not self.before:
            return
        self.fire(b, self.before, None, None, old, None, skip)
        w.seek_key(w._gather(old, [ic.col for ic in w.pk.columns]), skip)

    def before_delete(self, b, w, old, rid, skip):
        """BEFORE DELETE with the row in ``old``; a row the triggers deleted is skipped."""
        if not self.before:
            return
        self.fire(b, self.before, None, None, old, rid, skip)
        b.emit(OP_NotExists, w.cursor, skip, rid)


def _open_databases(b, dbs):
    """Make the firing program open each database in ``dbs`` ({index: writes}) that trigger
    bodies use: the sub-programs' own OP_Transaction are dropped."""
    for db, write in dbs.items():
        if db == b.conn.db_index:
            if write:
                b.write = True
            else:
                b.read = True
            continue
        for insn in b.prologue:
            if insn.opcode == OP_Transaction and insn.p1 == db:
                if write:
                    insn.p2 = 1
                break
        else:
            b.prologue.append(Insn(OP_Transaction, db, 1 if write else 0, db_of(b.conn, db).schema.cookie))


def set_recursive_triggers(conn, on):
    """PRAGMA recursive_triggers=N: prepared statements are rebuilt (a REPLACE fires DELETE
    triggers only while it is on)."""
    on = 1 if on else 0
    if on != getattr(conn, "recursive_triggers_pragma", 0):
        conn.recursive_triggers_pragma = on
        conn._clear_cache()
        conn.schema_generation += 1


def _compiling(conn):
    return _COMPILING.get(id(conn), ())


def dml_triggers(conn, table_name, event, set_columns=None, or_conflict=None, db=0):
    """The Firing for ``event`` on a table or view of database ``db``, or None when no trigger applies.

    ``set_columns``: lowercased names an UPDATE assigns (for ``UPDATE OF``);
    ``or_conflict``: the firing statement's OR clause (None, "IGNORE", ...).
    Without recursive_triggers a trigger whose body is being translated is left out.
    A table's triggers live in its own database's schema; a main or attached table's may
    also be in temp's.
    """
    s = db_of(conn, db).schema if db else conn.schema
    lname = table_name.lower()
    temp = _temp_triggers_on(conn, lname, db) if db != TEMP else []
    if not s.triggers and not temp:
        return None
    active = _compiling(conn)
    recursive = getattr(conn, "recursive_triggers_pragma", 0)
    found = []
    # The table's own triggers fire newest first; sqlite3TriggerList puts the temp ones
    # ahead of them, oldest first (it prepends each, walking temp's hash newest first).
    for trigger in list(s.triggers.values()) + temp[::-1]:
        if trigger.table.lower() != lname or trigger.event != event:
            continue
        if db == TEMP and _bound_db(conn, trigger) not in (None, TEMP):
            continue
        if trigger.columns and set_columns is not None and \
                not any(c.lower() in set_columns for c in trigger.columns):
            continue
        if not recursive and any(h.trigger is trigger for h in active):
            continue
        found.append(trigger)
    if not found:
        return None
    found.reverse()
    if lname in s.views:
        from limbodb.translate.select import result_columns
        ncols = len(_view_columns(conn, s.views[lname].name, result_columns, db))
    else:
        ncols = len(s.tables[lname].columns)
    return Firing(found, ncols, or_conflict, db)


def _temp_triggers_on(conn, lname, db, bound=True):
    """Temp triggers on table or view ``lname`` of database ``db`` (main or attached), oldest
    first. An unqualified ON name means the first database after temp holding it. A trigger
    bound to a database (rebind_temp_triggers, _bind_temp_trigger) counts there, unless not
    ``bound``: then each ON clause is resolved afresh, as SQLite's ALTER parses the trigger."""
    dbs = conn.dbs
    inner = dbs[TEMP] if len(dbs) > TEMP else None
    if inner is None or not inner.schema.triggers:
        return []
    ts = inner.schema
    found = []
    for t in ts.triggers.values():
        if t.table.lower() != lname:
            continue
        holder = _bound_db(conn, t) if bound else None
        if holder is not None:
            if holder == db:
                found.append(t)
        elif t.table_schema is not None:
            if db_index(conn, t.table_schema) == db:
                found.append(t)
        elif lname not in ts.tables and lname not in ts.views and _first_holder(conn, lname) == db:
            found.append(t)
    return found


def _first_holder(conn, lname):
    """The first database after temp, in the search order, with a table or view ``lname``."""
    dbs = conn.dbs
    for i in [0] + list(range(2, len(dbs))):
        s = dbs[i].schema
        if lname in s.tables or lname in s.views:
            return i
    return -1


class TriggerProgram:
    """One trigger's body, compiled on first firing: (WHEN program or None, statement programs)."""

    __slots__ = ("trigger", "ncols", "or_conflict", "ancestors", "programs", "idle", "db", "dbs", "bind")

    def __init__(self, conn, trigger, ncols, or_conflict=None, db=0):
        self.trigger = trigger
        # The database of the trigger's table; the body binds its names there unless the
        # trigger lives in temp (or main), whose bodies use the search order.
        self.db = db
        temp = conn.dbs[TEMP]
        self.bind = db if db > TEMP and (temp is None or temp.schema.triggers.get(
            trigger.name.lower()) is not trigger) else None
        self.ncols = ncols
        self.or_conflict = or_conflict
        self.ancestors = _compiling(conn)
        self.programs = None
        # {database index: written} of the body statements' transactions (the firing opens them).
        self.dbs = {}
        # Finished sub-VMs by Program, reset for the next firing (vdbe/execute_trigger.py).
        self.idle = {}

    def __str__(self):
        # EXPLAIN shows OP_Program's P4 as SQLite does.
        return "program"

    def compile(self, conn):
        """The (when, statements) programs; raises SQLite's errors for a bad body."""
        recursive = getattr(conn, "recursive_triggers_pragma", 0)
        # The pragma decides which triggers the nested statements fire: recompile when it changed.
        if self.programs is not None and self.programs[0] == recursive:
            return self.programs[1]
        if len(self.ancestors) >= MAX_TRIGGER_DEPTH:
            raise OperationalError("too many levels of trigger recursion")
        from limbodb.translate import translate
        key = id(conn)
        saved = _COMPILING.get(key)
        _COMPILING[key] = self.ancestors + (self,)
        # An attached database's trigger sees only that database's objects (sqlite3FixSrcList);
        # a temp one, like main's, uses the search order.
        saved_bound = conn.bound_db
        conn.bound_db = self.bind
        try:
            names = self._columns(conn)
            when = None
            if self.trigger.when is not None:
                expr = _rewrite(copy.deepcopy(self.trigger.when), self.trigger.event, names)
                sel = ast.Select(cores=[ast.SelectCore(distinct=False, columns=[
                    ast.ResultColumn(expr=expr, alias=None, text="when")], from_=[])], ops=[])
                when = self._finish(translate(sel, conn))
            body = []
            for st in self.trigger.body:
                st = _rewrite(copy.deepcopy(st), self.trigger.event, names)
                if self.or_conflict is not None and st.__class__ in (ast.Insert, ast.Update):
                    st.or_conflict = self.or_conflict
                body.append(self._finish(_translate_step(st, conn)))
        finally:
            conn.bound_db = saved_bound
            if saved is None:
                del _COMPILING[key]
            else:
                _COMPILING[key] = saved
        self.programs = (recursive, (when, body))
        self.idle = {}
        return self.programs[1]

    def _columns(self, conn):
        """(lowercased column names, their collations, has a rowid) of the trigger's table or view."""
        s = db_of(conn, self.db).schema if self.db else conn.schema
        lname = self.trigger.table.lower()
        if lname in s.views:
            from limbodb.translate.select import result_columns
            names = [c.lower() for c in _view_columns(conn, s.views[lname].name, result_columns, self.db)]
            return names, [None] * len(names), True
        table = s.table(self.trigger.table)
        return ([c.name.lower() for c in table.columns], [c.collation for c in table.columns],
                not table.without_rowid)

    def _finish(self, program):
        # The firing statement holds the write transaction (and its statement savepoint).
        for insn in program.insns:
            if insn.opcode == OP_Halt and insn.p1 == 0:
                insn.opcode = OP_TriggerHalt
            elif insn.opcode == OP_Transaction:
                self.dbs[insn.p1] = self.dbs.get(insn.p1, False) or bool(insn.p2)
                insn.opcode = OP_Noop
                insn.p1 = insn.p2 = insn.p3 = 0
        program.param_count = 2 * self.ncols + 2
        return program


def _translate_step(stmt, conn):
    """Translate one body statement; its tables are the trigger's schema's, and errors say so."""
    from limbodb.translate import translate
    try:
        return translate(stmt, conn)
    except OperationalError as e:
        msg = str(e)
        if msg.startswith("no such table: ") and "." not in msg[15:]:
            raise OperationalError("no such table: main." + msg[15:]) from e
        raise


def _rewrite(node, event, columns):
    """Replace NEW.x / OLD.x column references in ``node`` (a private copy) by parameters.

    A column's collation stays with its value (SQLite's TK_TRIGGER keeps it; not its affinity).
    """
    names, collations, has_rowid = columns
    n = len(names)
    quals = {"new": 1} if event == "INSERT" else {"old": n + 2} if event == "DELETE" else \
        {"new": 1, "old": n + 2}

    def param_for(col):
        if col.__class__ is not ast.Column or col.table is None:
            return None
        q = col.table
        first = quals.get(q.lower())
        if first is None:
            return None
        lname = col.name.lower()
        if lname in names:
            i = names.index(lname)
            p = ast.Param(index=first + i, name=None, pos=None)
            coll = collations[i]
            return p if coll is None or coll.upper() == "BINARY" else ast.Collate(expr=p, collation=coll)
        if lname in _ROWID_NAMES and has_rowid:
            return ast.Param(index=first + n, name=None, pos=None)
        return None

    def visit(x):
        if isinstance(x, ast.Node):
            p = param_for(x)
            if p is not None:
                return p
            for f in x._fields:
                v = getattr(x, f, None)
                if v is not None:
                    nv = visit(v)
                    if nv is not v:
                        setattr(x, f, nv)
            return x
        if isinstance(x, list):
            for i, v in enumerate(x):
                x[i] = visit(v)
            return x
        if isinstance(x, tuple):
            return tuple(visit(v) for v in x)
        return x
    return visit(node)


# ---------------------------------------------------------------- DML on views

def _view_columns(conn, view_name, result_columns, db=0):
    """The column names of view ``view_name`` of database ``db``."""
    b = ProgramBuilder(conn)
    schema = db_of(conn, db).db_name if db and db != conn.db_index else None
    sel = _select_from(ast.TableRef(name=view_name, schema=schema), [ast.Star(table=None)], None)
    return [c.name for c in result_columns(b, sel, None)]


def _select_from(table_ref, exprs, where):
    cols = [ast.ResultColumn(expr=e, alias=None, text=f"c{i}") for i, e in enumerate(exprs)]
    return ast.Select(cores=[ast.SelectCore(distinct=False, columns=cols, from_=[table_ref], where=where)],
                      ops=[])


def translate_view_dml(stmt, conn):
    """INSERT/UPDATE/DELETE on a view (of any database): run its INSTEAD OF triggers for each
    row it names."""
    from limbodb.translate.attach import lookup
    from limbodb.translate.select import compile_select
    _, view, db = lookup(conn, stmt.table.name, stmt.table.schema)
    cls = stmt.__class__
    event = "INSERT" if cls is ast.Insert else "UPDATE" if cls is ast.Update else "DELETE"
    set_columns = None
    if cls is ast.Update:
        set_columns = {c.lower() for item in stmt.sets for c in item.columns}
    firing = dml_triggers(conn, view.name, event, set_columns, db=db)
    instead = firing.instead if firing is not None else []
    # SQLite 3.40 counts RETURNING as a trigger: with no INSTEAD OF one it only returns the rows.
    if not instead and not getattr(stmt, "returning", None):
        raise OperationalError(f"cannot modify {view.name} because it is a view")
    b = ProgramBuilder(conn)
    b.counts_changes = True
    b.write = True
    from limbodb.translate.select import result_columns
    names = [c.lower() for c in _view_columns(conn, view.name, result_columns, db)]
    n = len(names)
    returning = _view_returning(b, conn, view, stmt.returning, db) if getattr(stmt, "returning", None) else None
    if cls is ast.Insert:
        sel, layout = _insert_source(stmt, view, names)
    elif cls is ast.Update:
        exprs = [ast.Column(name=c, table=None, dq=False) for c in names]
        new = list(exprs)
        for item in stmt.sets:
            if len(item.columns) != 1:
                raise OperationalError("row value assignments are not supported")
            lname = item.columns[0].lower()
            if lname not in names:
                raise OperationalError(f"no such column: {item.columns[0]}")
            new[names.index(lname)] = item.expr
        sel = _select_from(stmt.table, exprs + new, stmt.where)
        layout = (n, 0)
    else:
        sel = _select_from(stmt.table, [ast.Column(name=c, table=None, dq=False) for c in names], stmt.where)
        layout = (None, 0)
    # Materialize first: the triggers may write the tables the view reads.
    tmp = b.alloc_cursor()
    b.emit(OP_OpenEphemeral, tmp, 0)
    rec = b.alloc_reg()
    trow = b.alloc_reg()
    width = []

    def sink(bb, f, k):
        width.append(k)
        bb.emit(OP_MakeRecord, f, k, rec)
        bb.emit(OP_NewRowid, tmp, trow)
        bb.emit(OP_Insert, tmp, rec, trow)
    cols = compile_select(b, sel, None, sink)
    if cls is ast.Insert:
        layout = _check_insert_width(view, n, layout, len(cols))
    row = b.alloc_reg(2 * n)
    # A view's NEW.rowid is -1 on INSERT; otherwise its rows count from 1 (SQLite's ephemeral rowids).
    rid = b.alloc_reg()
    done = b.new_label()
    b.emit(OP_Rewind, tmp, done)
    top = b.addr
    nxt = b.new_label()
    if cls is ast.Insert:
        for i, k in enumerate(layout):
            if k is None:
                b.emit(OP_Null, 0, row + i)
            else:
                b.emit(OP_Column, tmp, k, row + i)
        b.emit(OP_Integer, -1, rid)
        if instead:
            firing.fire(b, instead, row, rid, None, None, nxt)
        if returning is not None:
            returning.row(row, rid)
    else:
        for i in range(len(cols)):
            b.emit(OP_Column, tmp, i, row + i)
        b.emit(OP_Rowid, tmp, rid)
        if cls is ast.Update:
            if instead:
                firing.fire(b, instead, row + n, rid, row, rid, nxt)
            if returning is not None:
                returning.row(_update_new_row(b, instead, names, set_columns, row + n), rid)
        else:
            if instead:
                firing.fire(b, instead, None, None, row, rid, nxt)
            if returning is not None:
                returning.row(row, rid, new=False)
    b.resolve(nxt)
    b.emit(OP_Next, tmp, top)
    b.resolve(done)
    if returning is not None:
        returning.finish()
    return b.finish(readonly=False)


def _nodes(x):
    """Every AST node under ``x``, subqueries included."""
    if isinstance(x, ast.Node):
        yield x
        for f in x._fields:
            v = getattr(x, f, None)
            if v is not None:
                yield from _nodes(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _nodes(v)


class _ViewWrite:
    """What Returning reads of a table writer, for a view: its columns as a Table and a Source."""
    __slots__ = ("table", "source")

    def __init__(self, table, source):
        self.table = table
        self.source = source


def _view_returning(b, conn, view, columns, db=0):
    """RETURNING on a view: SQLite codes it as one more trigger, fired after the INSTEAD OF ones.

    A view column has its SELECT expression's affinity (a column reference keeps its table's)."""
    from limbodb.schema import Column, Table
    from limbodb.translate.expr import AFF_BLOB, AFF_NONE, Source
    from limbodb.translate.insert import Returning
    from limbodb.translate.select import result_columns
    from limbodb.translate.attach import bound_db
    names = _view_columns(conn, view.name, result_columns, db)
    # The view's own query resolves its names in the view's database, as when it is read.
    with bound_db(conn, db):
        affs = [c.affinity if c.affinity > AFF_NONE else AFF_BLOB
                for c in result_columns(ProgramBuilder(conn), view.select, None)]
    table = Table(view.name, None, [Column(name) for name in names])
    source = Source(view.name, None, names, affs, [None] * len(names), table)
    return Returning(b, _ViewWrite(table, source), columns)


def _update_new_row(b, triggers, names, set_columns, new):
    """The NEW row RETURNING sees after UPDATE of a view: like sqlite3Update, a column neither
    assigned nor read as NEW.x by a trigger is never loaded, so it is NULL (when there is one)."""
    if not triggers:
        return new
    used = set(set_columns)
    for t in triggers:
        for part in [t.when] + list(t.body):
            if part is None:
                continue
            for node in _nodes(part):
                if node.__class__ is ast.Column and (node.table or "").lower() == "new":
                    used.add(node.name.lower())
    out = b.alloc_reg(len(names))
    for i, name in enumerate(names):
        if name in used:
            b.emit(OP_Copy, new + i, out + i)
        else:
            b.emit(OP_Null, 0, out + i)
    return out


def _insert_source(stmt, view, names):
    """(the SELECT giving the inserted rows, target column names or None for all)."""
    targets = None
    if stmt.columns is not None:
        targets = []
        for c in stmt.columns:
            if c.lower() not in names:
                raise OperationalError(f"table {view.name} has no column named {c}")
            targets.append(names.index(c.lower()))
    if stmt.default_values or stmt.select is None:
        sel = ast.Select(cores=[ast.Values(rows=[[ast.Literal(None)] * len(names)])], ops=[])
        return sel, None
    sel = stmt.select
    if stmt.with_ is not None:
        sel = ast.Select(with_=stmt.with_, cores=sel.cores, ops=sel.ops, order_by=sel.order_by,
                         limit=sel.limit, offset=sel.offset)
    return sel, targets


def _check_insert_width(view, n_names, targets, ncols):
    """Per view column, the source column feeding it (None: NULL); SQLite's count errors."""
    if targets is None:
        if ncols != n_names:
            raise OperationalError(
                f"table {view.name} has {n_names} columns but {ncols} values were supplied")
        return list(range(ncols))
    if ncols != len(targets):
        raise OperationalError(f"{ncols} values for {len(targets)} columns")
    layout = [None] * n_names
    for k, i in enumerate(targets):
        layout[i] = k
    return layout

