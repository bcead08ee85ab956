"""Foreign keys at translation time: resolving parent keys, and the per-row hook.

With ``PRAGMA foreign_keys=ON`` every INSERT, UPDATE and DELETE of a table that
has foreign keys, or that other tables' foreign keys reference, emits one
OP_FkRow per row written (after the row is written), carrying an ``FkPlan``:
the table's own constraints (``ChildFk``: how to look the parent row up) and
the constraints referencing it (``ParentRef``: which child columns to scan, the
comparison affinities that match them, and what ON DELETE/UPDATE does). The runtime lives in vdbe/execute_fkey.py; the
statement ends with OP_FkCheck (ProgramBuilder.fk_check). Resolving a parent key
with no PRIMARY KEY or UNIQUE index on exactly its columns raises SQLite's
"foreign key mismatch" when such a statement is prepared. WITHOUT ROWID tables
take part as parents (looked up through their PRIMARY KEY index) and as children
(a row is known by its key instead of a rowid). Also PRAGMA foreign_key_list and
foreign_key_check. A foreign key never crosses databases:
the parent table, and the tables referencing a table, are looked up in the
child's (or parent's) own database (main, temp or attached), as sqlite3FkLocateIndex
does with the child's schema name. Mirrors sqlite src/fkey.c.
"""

from limbodb.errors import OperationalError
from limbodb.schema import HIDDEN_VIRTUAL
from limbodb.translate.builder import ProgramBuilder
from limbodb.translate.expr import Scope, code_expr, emit_constant
from limbodb.translate.without_rowid import index_entry_columns, pk_index, record_columns
# FK_INSERT/FK_DELETE/FK_UPDATE are imported for the DML translators (fkey.FK_INSERT, ...).
from limbodb.vdbe.execute_fkey import (
    ACT_CASCADE, ACT_NONE, ACT_RESTRICT, ACT_SET_DEFAULT, ACT_SET_NULL, FK_CHECK, FK_DELETE, FK_DROP,
    FK_INSERT, FK_UPDATE, frame_program,
)
from limbodb.vdbe.insn import OP_FkRow, OP_ResultRow, OP_Transaction, Insn
from limbodb.vdbe.value import AFF_INTEGER, AFF_NONE, AFF_NUMERIC, comparison_affinity

_ACTIONS = {None: ACT_NONE, "NO ACTION": ACT_NONE, "RESTRICT": ACT_RESTRICT, "SET NULL": ACT_SET_NULL,
            "SET DEFAULT": ACT_SET_DEFAULT, "CASCADE": ACT_CASCADE}


class ParentKey:
    """How to find a parent row: by rowid (``index`` None) or through a UNIQUE index.

    ``cols``: parent column indexes in foreign key order; ``order``: for each index
    column, the position in ``cols`` of the value it takes.
    """

    __slots__ = ("table", "cols", "index", "order", "affinities", "collations")

    def __init__(self, table, cols, index, order):
        self.table = table
        self.cols = cols
        self.index = index
        self.order = order
        self.affinities = [table.columns[c].affinity for c in cols]
        self.collations = [table.columns[c].collation for c in cols]


class ChildFk:
    """One of the table's own foreign keys: child columns and the parent key."""

    __slots__ = ("cols", "parent", "deferred")

    def __init__(self, cols, parent, deferred):
        self.cols = cols
        self.parent = parent
        self.deferred = deferred


class ParentRef:
    """A foreign key of ``child`` referencing the table, with its actions as SQL programs.

    Child rows are matched as SQLite matches them, which differs between the two uses:
    ``count_affs`` is the comparison affinity per column when counting violations
    (fkScanChildren compares the parent value, carrying the parent column's affinity and
    collation, with the child column), ``action_affs`` the one of the action triggers'
    ``old.<parent column> = <child column>`` (an OLD reference has no affinity, an INTEGER
    PRIMARY KEY's has INTEGER; the parent column's collation). ``count_index`` /
    ``action_index``: a child index whose range of the converted key holds exactly the
    matching rows, or None (scan the table).
    ``child_pos``: where each child column is in the child's record (-1: the rowid);
    ``index_pk``: for a WITHOUT ROWID child scanned through ``child_index``, where its
    PRIMARY KEY columns are in that index's entries (a row's identity there).
    ``sql_delete``/``sql_update``: the actions' statements, run once per parent row that has
    matching child rows. ``sql_scan``: when a child column is a VIRTUAL generated one (not
    in the record), the query reading each child row's identity and foreign key columns."""

    __slots__ = ("child", "child_cols", "key", "deferred", "on_delete", "on_update", "sql_delete",
                 "sql_update", "defaults", "child_index", "child_pos", "child_npk", "index_pk", "sql_scan",
                 "count_affs", "action_affs", "count_index", "action_index")

    def __init__(self, child, child_cols, key, fk, schema_name=None):
        self.child = child
        self.child_cols = child_cols
        self.key = key
        self.deferred = bool(fk.deferred)
        self.on_delete = _ACTIONS[fk.on_delete]
        self.on_update = _ACTIONS[fk.on_update]
        self.sql_delete = _action_sql(child, child_cols, key, self.on_delete, False, schema_name)
        self.sql_update = _action_sql(child, child_cols, key, self.on_update, True, schema_name)
        self.defaults = None
        self.child_index = _child_index(child, child_cols, key)
        self.child_pos, self.child_npk = record_layout(child)
        self.count_affs, self.action_affs = _match_affinities(child, child_cols, key)
        self.sql_scan = None
        if any(child.columns[c].hidden == HIDDEN_VIRTUAL for c in child_cols):
            self.child_index = None
            self.sql_scan = _child_scan_sql(child, child_cols, schema_name)
        self.count_index = _usable(self.child_index, child, child_cols, self.count_affs)
        self.action_index = _usable(self.child_index, child, child_cols, self.action_affs)
        self.index_pk = None
        if child.without_rowid and self.child_index is not None:
            entry = index_entry_columns(child, self.child_index)
            self.index_pk = [entry.index(c) for c in wr_key_columns(child)]


def _match_affinities(child, cols, key):
    """(comparison affinity per column when counting, the same for the actions' WHERE)."""
    count_affs = []
    action_affs = []
    for c, pc in zip(cols, key.cols):
        caff = child.columns[c].affinity
        ipk = pc == key.table.rowid_alias
        count_affs.append(comparison_affinity(AFF_INTEGER if ipk else key.table.columns[pc].affinity, caff))
        action_affs.append(comparison_affinity(AFF_INTEGER if ipk else AFF_NONE, caff))
    return count_affs, action_affs


def _usable(idx, child, cols, affs):
    """``idx`` if the rows matching a key are one range of it under comparison affinities
    ``affs``: not when numeric comparison would convert text a non-numeric child column holds
    ('1', ' 1.0' and '01' all equal 1 then, scattered through the index)."""
    if idx is None:
        return None
    for c, aff in zip(cols, affs):
        if aff >= AFF_NUMERIC and child.columns[c].affinity < AFF_NUMERIC:
            return None
    return idx


class FkPlan:
    """What OP_FkRow checks for one table: its foreign keys and those referencing it.

    Every table involved lives in database ``table.db``, whose pager OP_FkRow reads.
    ``pk_cols``: a WITHOUT ROWID table's key columns (its rows' identity), else None."""

    __slots__ = ("table", "children", "parents", "ncols", "pk_cols")

    def __init__(self, table, children, parents):
        self.table = table
        self.children = children
        self.parents = parents
        self.ncols = len(table.columns)
        self.pk_cols = wr_key_columns(table) if table.without_rowid else None


def wr_key_columns(table):
    """The PRIMARY KEY columns of WITHOUT ROWID ``table``, in key order."""
    return [ic.col for ic in pk_index(table).columns]


def record_layout(table):
    """(position of each column in ``table``'s record, -1 for the rowid alias and None for a
    VIRTUAL column, which is not stored; the number of leading key columns that identify a
    row, 0 for a rowid table)."""
    if table.without_rowid:
        order = record_columns(table)
        return [order.index(c) if c in order else None for c in range(len(table.columns))], \
            len(pk_index(table).columns)
    pos = []
    k = 0
    for c, col in enumerate(table.columns):
        if col.hidden == HIDDEN_VIRTUAL:
            pos.append(None)
            continue
        pos.append(-1 if c == table.rowid_alias else k)
        k += 1
    return pos, 0


def home(conn, db):
    """The connection holding database ``db``: ``conn`` itself when it is that database (a
    statement compiled against an attached database's own connection), else ``conn.dbs[db]``."""
    return conn if db == conn.db_index else conn.dbs[db]


def _coll(name):
    return (name or "BINARY").upper()


def _child_index(child, cols, key):
    """An index of ``child`` that starts with exactly the foreign key columns (in order, with
    the parent key's collations), so the child rows of a key are one range; else None."""
    n = len(cols)
    for idx in child.indexes:
        if idx.where is not None or len(idx.columns) < n:
            continue
        head = idx.columns[:n]
        if [ic.col for ic in head] == cols and all(
                _coll(ic.collation) == _coll(c) for ic, c in zip(head, key.collations)):
            return idx
    return None


def _quote(name):
    return '"' + name.replace('"', '""') + '"'


def _qualified(child, schema_name):
    table = _quote(child.name)
    return table if schema_name is None else _quote(schema_name) + "." + table


def _identity(child):
    """The columns naming a row of ``child`` in SQL: the rowid (under a name no column
    shadows), or a WITHOUT ROWID table's PRIMARY KEY columns."""
    if child.without_rowid:
        return [_quote(child.columns[ic.col].name) for ic in pk_index(child).columns]
    if child.rowid_alias is not None:
        return [_quote(child.columns[child.rowid_alias].name)]
    names = {c.name.lower() for c in child.columns}
    return [next(n for n in ("rowid", "_rowid_", "oid") if n not in names)]


def _key_match(child, cols, key):
    """WHERE terms of an action: the child columns equal the old key ?1..?n as its trigger's
    ``old.<parent column> = <child column>`` compares them. A parameter has no affinity, as
    ``old.<column>`` has none, so the child column's applies and the parent column's collation
    is named; ``old.<INTEGER PRIMARY KEY>`` has INTEGER affinity, which a CAST to INTEGER of
    the (integer) key gives the parameter."""
    terms = []
    for k, (c, pc, coll) in enumerate(zip(cols, key.cols, key.collations)):
        param = f"CAST(?{k + 1} AS INTEGER)" if pc == key.table.rowid_alias else f"?{k + 1}"
        terms.append(f"{_quote(child.columns[c].name)} = {param} COLLATE {_quote(_coll(coll))}")
    return " AND ".join(terms)


def _child_scan_sql(child, cols, schema_name):
    """The query reading every child row's identity and foreign key columns ``cols``."""
    names = _identity(child) + [_quote(child.columns[c].name) for c in cols]
    return f"SELECT {', '.join(names)} FROM {_qualified(child, schema_name)}"


def scan_sql(table, schema_name):
    """For PRAGMA foreign_key_check on a table with a VIRTUAL generated foreign key column (not in
    the record): the query returning each row's rowid (NULL if WITHOUT ROWID) and columns."""
    if not any(table.columns[c].hidden == HIDDEN_VIRTUAL for cols, _fk in table.foreign_keys for c in cols):
        return None
    names = ", ".join(_quote(c.name) for c in table.columns)
    return f"SELECT {'NULL' if table.without_rowid else 'rowid'}, {names} FROM {_qualified(table, schema_name)}"


def _action_sql(child, cols, key, action, update, schema_name):
    """The statement an action runs on the child rows matching the old key ?1..?n; an UPDATE's
    new values follow as ?n+1.. .

    ``schema_name`` qualifies a child outside main (the action compiles against the outer
    connection, where an unqualified name would resolve in the search order)."""
    n = len(cols)
    where = _key_match(child, cols, key)
    table = _qualified(child, schema_name)
    if action == ACT_CASCADE and not update:
        return f"DELETE FROM {table} WHERE {where}"
    if action in (ACT_CASCADE, ACT_SET_DEFAULT):
        sets = ", ".join(f"{_quote(child.columns[c].name)} = ?{n + k + 1}" for k, c in enumerate(cols))
    elif action == ACT_SET_NULL:
        sets = ", ".join(f"{_quote(child.columns[c].name)} = NULL" for c in cols)
    else:
        return None
    return f"UPDATE {table} SET {sets} WHERE {where}"


def _defaults_program(conn, child, cols):
    """A program returning the child columns' DEFAULT values (for SET DEFAULT)."""
    b = ProgramBuilder(conn)
    first = b.alloc_reg(len(cols))
    for k, c in enumerate(cols):
        default = child.columns[c].default
        if default is None:
            emit_constant(b, None, first + k)
        else:
            code_expr(b, Scope([]), default, first + k)
    b.emit(OP_ResultRow, first, len(cols))
    return frame_program(b.finish(readonly=True))


def mismatch(child, parent_name):
    return OperationalError(f'foreign key mismatch - "{child.name}" referencing "{parent_name}"')


def parent_key(conn, child, fk, ncols):
    """The ParentKey of foreign key ``fk`` of ``child``; None if the parent table does not exist
    in the child's database."""
    parent = home(conn, child.db).schema.tables.get(fk.table.lower())
    if parent is None:
        return None
    if fk.columns:
        cols = [parent.column_index(name) for name in fk.columns]
        if -1 in cols:
            raise mismatch(child, fk.table)
    else:
        cols = list(parent.primary_key or ())
        if not cols and parent.rowid_alias is not None:
            cols = [parent.rowid_alias]
    if len(cols) != ncols:
        raise mismatch(child, fk.table)
    if len(cols) == 1 and cols[0] == parent.rowid_alias:
        return ParentKey(parent, cols, None, None)
    for idx in parent.indexes:
        if not idx.unique or idx.where is not None or len(idx.columns) != len(cols):
            continue
        icols = [ic.col for ic in idx.columns]
        if sorted(icols) != sorted(cols):
            continue
        if any((ic.collation or "BINARY").upper() != (parent.columns[ic.col].collation or "BINARY").upper()
               for ic in idx.columns):
            continue
        return ParentKey(parent, cols, idx, [cols.index(c) for c in icols])
    raise mismatch(child, fk.table)


def _lenient_key(conn, child, fk, ncols):
    """parent_key, but None instead of an error (DROP TABLE's implicit DELETE skips such keys)."""
    try:
        return parent_key(conn, child, fk, ncols)
    except OperationalError:
        return None


def fk_plan(conn, table):
    """The FkPlan of ``table``, or None when foreign keys are off or none concern it.

    While ``conn.fk_lenient`` (compiling DROP TABLE's implicit DELETE), foreign keys with
    a missing parent table or no usable parent key are skipped instead of raising.
    """
    if not conn.foreign_keys_pragma:
        return None
    lenient = conn.fk_lenient
    db = home(conn, table.db)
    children = []
    for cols, fk in table.foreign_keys:
        key = _lenient_key(conn, table, fk, len(cols)) if lenient else parent_key(conn, table, fk, len(cols))
        if key is None:
            if lenient:
                continue
            raise OperationalError(f"no such table: {db.db_name}.{fk.table}")
        children.append(ChildFk(cols, key, bool(fk.deferred)))
    parents = []
    name = table.name.lower()
    # The action statements compile against the outer connection: name the child's database.
    qualifier = home(conn, table.db).db_name if table.db else None
    for other in db.schema.tables.values():
        for cols, fk in other.foreign_keys:
            if fk.table.lower() != name:
                continue
            key = _lenient_key(conn, other, fk, len(cols)) if lenient else parent_key(conn, other, fk, len(cols))
            if key is None:
                continue
            ref = ParentRef(other, cols, key, fk, qualifier)
            if ACT_SET_DEFAULT in (ref.on_delete, ref.on_update):
                ref.defaults = _defaults_program(conn, other, cols)
            parents.append(ref)
    if not children and not parents:
        return None
    return FkPlan(table, children, parents)


def emit_row(b, plan, kind, old, new, rowid):
    """After a row of ``plan.table`` was written: check it (``old``/``new``: first column registers
    or 0; ``rowid``: the register of the row's rowid, the old one for an UPDATE, which a
    self-referencing table's child scan skips, as fkScanChildren does)."""
    if plan is None:
        return
    b.fk_check = True
    b.emit(OP_FkRow, kind, old, new, (plan, rowid))


def emit_drop(b, conn, table):
    """DROP TABLE with foreign keys on: if other tables reference it, delete every row first
    (running the actions), as sqlite3FkDropTable does."""
    if not conn.foreign_keys_pragma:
        return
    name = table.name.lower()
    if not any(fk.table.lower() == name for t in conn.schema.tables.values() if t is not table
               for _, fk in t.foreign_keys):
        return
    # The implicit DELETE fires no user triggers of the table (sqlite3FkDropTable sets
    # disableTriggers); the actions' own statements, compiled when they run, still do.
    schema = conn.schema
    triggers = schema.triggers
    conn.fk_lenient = True
    schema.triggers = {}
    try:
        program = conn.compile("DELETE FROM " + _quote(table.name))
    finally:
        conn.fk_lenient = False
        schema.triggers = triggers
    if conn.db_index:
        # Compiled against an attached (or temp) database's own connection; runs in the outer one.
        from limbodb.translate.attach import _retarget
        _retarget(program, conn.db_index)
    frame_program(program)
    b.fk_check = True
    b.emit(OP_FkRow, FK_DROP, 0, 0, (program, 0))


def referenced(conn, table):
    """True if DELETE without WHERE must go row by row (foreign keys concern ``table``)."""
    return fk_plan(conn, table) is not None


# ---------------------------------------------------------------- pragmas

def _pragma_table(conn, name, dbi, missing_ok):
    """The table a foreign key pragma names: in database ``dbi``, or (None) in the search order.

    None when there is none and ``missing_ok``; else sqlite3's "no such table" error."""
    from limbodb.translate.attach import find_table, lookup
    if dbi is None:
        found = lookup(conn, name)
        if found is not None and found[0] == "table":
            return found[1]
        if missing_ok:
            return None
        return find_table(conn, name)
    table = home(conn, dbi).schema.tables.get(name.lower())
    if table is None and not missing_ok:
        raise OperationalError(f"no such table: {home(conn, dbi).db_name}.{name}")
    return table


def foreign_key_list(conn, name, dbi=None):
    """PRAGMA [schema.]foreign_key_list(T) rows: id, seq, table, from, to, on_update, on_delete,
    match."""
    table = _pragma_table(conn, name, dbi, True) if name else None
    if table is None:
        return []
    rows = []
    for fid, (cols, fk) in enumerate(reversed(table.foreign_keys)):
        for seq, c in enumerate(cols):
            to = fk.columns[seq] if fk.columns and seq < len(fk.columns) else None
            rows.append((fid, seq, fk.table, table.columns[c].name, to, fk.on_update or "NO ACTION",
                         fk.on_delete or "NO ACTION", "NONE"))
    return rows


def translate_fk_pragma(b, conn, name, value, dbi=None):
    """PRAGMA foreign_key_list(T) / foreign_key_check[(T)] / defer_foreign_keys; False if not one.

    ``dbi``: the database a schema-qualified pragma names; unqualified (None), a table
    argument is looked up in the search order and foreign_key_check alone checks main."""
    from limbodb.translate.pragma import _one, _rows, _runtime, _int_arg
    if name == "foreign_key_list":
        b.read = True
        _rows(b, ["id", "seq", "table", "from", "to", "on_update", "on_delete", "match"],
              foreign_key_list(conn, value if isinstance(value, str) else None, dbi))
    elif name == "foreign_key_check":
        b.read = True
        if isinstance(value, str):
            tables = [_pragma_table(conn, value, dbi, False)]
        else:
            tables = [t for t in home(conn, dbi or 0).schema.tables.values() if t.foreign_keys]
        for db in sorted({t.db for t in tables} - {conn.db_index}):
            # Read the table's database too (its OP_Transaction is not implied by a cursor).
            b.prologue.append(Insn(OP_Transaction, db, 0, conn.dbs[db].schema.cookie))
        plans = []
        for t in tables:
            keys = [(fid, cols, parent_key(conn, t, fk, len(cols)), fk.table)
                    for fid, (cols, fk) in enumerate(reversed(t.foreign_keys))]
            plans.append((t, record_layout(t)[0], keys,
                          scan_sql(t, home(conn, t.db).db_name if t.db else None)))
        b.column_names = ["table", "rowid", "parent", "fkid"]
        b.column_decltypes = [None] * 4
        first = b.alloc_reg(4)
        b.emit(OP_FkRow, FK_CHECK, 0, first, (plans, 0))
    elif name == "defer_foreign_keys":
        if value is None:
            _one(b, name, _runtime(b, name, lambda c: c.defer_foreign_keys))
        else:
            _runtime(b, name, lambda c, v: setattr(c, "defer_foreign_keys", v), _int_arg(value, name))
    elif name == "foreign_keys" and value is not None:
        _runtime(b, name, set_foreign_keys, _int_arg(value, name))
    else:
        return False
    return True


def set_foreign_keys(conn, on):
    """PRAGMA foreign_keys=N: ignored inside a transaction, as in SQLite; prepared statements
    are rebuilt (their foreign key code depends on it)."""
    if not conn.autocommit:
        return None
    on = 1 if on else 0
    if on != conn.foreign_keys_pragma:
        conn.foreign_keys_pragma = on
        conn._clear_cache()
        conn.schema_generation += 1
    return None
