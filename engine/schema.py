"""The in-memory schema: tables, indexes, views and triggers parsed from sqlite_schema.

``Schema.from_rows`` builds it from the rows of ``sqlite_schema`` (type, name,
tbl_name, rootpage, sql), parsing each ``sql`` with ``limbodb.parser``.
``build_table`` turns a CREATE TABLE into a ``Table`` with SQLite's rules:
column affinity from the declared type, INTEGER PRIMARY KEY as the rowid alias
(type exactly "INTEGER", and not a column-level PRIMARY KEY DESC), automatic
indexes for PRIMARY KEY and UNIQUE constraints (``sqlite_autoindex_<table>_<n>``,
no sql, duplicates folded), collations, defaults, NOT NULL and CHECK; it
raises SQLite's messages for invalid definitions, so CREATE TABLE can use it
to validate. Mirrors sqlite src/build.c (sqlite3AddColumn, sqlite3AddPrimaryKey,
sqlite3CreateIndex) and Turso core/schema.rs.
"""

from limbodb.errors import CorruptError, OperationalError
from limbodb.parser import ast, parse_one
from limbodb.storage.record import KeyInfo
from limbodb.vdbe.value import affinity_of_type

# Column.hidden for generated columns (PRAGMA table_xinfo's "hidden").
HIDDEN_VIRTUAL = 2
HIDDEN_STORED = 3

# Declared types a STRICT table accepts.
_STRICT_TYPES = frozenset(("INT", "INTEGER", "REAL", "TEXT", "BLOB", "ANY"))


class Column:
    """One table column. ``default`` is the DEFAULT expression (AST) and ``default_text``
    its source text, as PRAGMA table_info shows it."""

    __slots__ = ("name", "decl_type", "affinity", "notnull", "notnull_conflict", "default", "default_text",
                 "collation", "primary_key", "hidden", "generated")

    def __init__(self, name, decl_type=""):
        self.name = name
        self.decl_type = decl_type
        self.affinity = affinity_of_type(decl_type)
        self.notnull = False
        self.notnull_conflict = None
        self.default = None
        self.default_text = None
        self.collation = None
        self.primary_key = False
        self.hidden = 0
        self.generated = None

    def __repr__(self):
        return f"Column({self.name!r}, {self.decl_type!r})"


class IndexColumn:
    """One key column of an index: ``col`` is the table column (-1 for an expression)."""

    __slots__ = ("col", "expr", "collation", "desc")

    def __init__(self, col, expr=None, collation="BINARY", desc=False):
        self.col = col
        self.expr = expr
        self.collation = collation
        self.desc = desc

    def __repr__(self):
        return f"IndexColumn({self.col}, {self.collation!r}, desc={self.desc})"


class Index:
    """An index B-tree; ``origin`` is "c" (CREATE INDEX), "u" (UNIQUE) or "pk"."""

    __slots__ = ("name", "table", "root", "columns", "unique", "where", "origin", "sql", "on_conflict",
                 "_key_info", "db", "pk_tail")

    def __init__(self, name, table, root, columns, unique=False, where=None, origin="c", sql=None,
                 on_conflict=None):
        self.name = name
        self.table = table
        self.root = root
        self.columns = columns
        self.unique = unique
        self.where = where
        self.origin = origin
        self.sql = sql
        self.on_conflict = on_conflict
        self._key_info = None
        self.db = 0
        # A secondary index of a WITHOUT ROWID table: the PRIMARY KEY columns its entries end
        # with, as IndexColumns (their collation and order are the PRIMARY KEY's, as in SQLite).
        self.pk_tail = None

    def key_info(self):
        """The KeyInfo of this index's records: its key columns, then the rowid (or the
        PRIMARY KEY columns of a WITHOUT ROWID table)."""
        ki = self._key_info
        if ki is None:
            cols = self.columns + (self.pk_tail or [])
            colls = [None if c.collation.upper() == "BINARY" else c.collation for c in cols]
            desc = [c.desc for c in cols]
            ki = self._key_info = KeyInfo(colls + [None], desc + [False])
        return ki

    def __repr__(self):
        return f"Index({self.name!r} on {self.table!r}, root={self.root})"


class Table:
    """A table: columns, rowid alias, primary key, constraints and its indexes."""

    __slots__ = ("name", "root", "columns", "rowid_alias", "primary_key", "pk_conflict", "without_rowid",
                 "strict", "autoincrement", "checks", "check_names", "foreign_keys", "indexes", "sql",
                 "_colmap", "db")

    def __init__(self, name, root, columns, sql=None):
        self.name = name
        self.root = root
        # Index of the database holding it (0 main, 1 temp, 2+ attached: SQLite's iDb).
        self.db = 0
        self.columns = columns
        self.rowid_alias = None
        self.primary_key = []
        self.pk_conflict = None
        self.without_rowid = False
        self.strict = False
        self.autoincrement = False
        self.checks = []
        # What a failed CHECK reports: the constraint's name, else its expression text.
        self.check_names = []
        self.foreign_keys = []
        self.indexes = []
        self.sql = sql
        self._colmap = {c.name.lower(): i for i, c in enumerate(columns)}

    def column_index(self, name):
        """Index of the column called ``name`` (case-insensitive), or -1."""
        return self._colmap.get(name.lower(), -1)

    def __repr__(self):
        return f"Table({self.name!r}, root={self.root}, columns={[c.name for c in self.columns]})"


class View:
    """A view: its name, optional column names, the SELECT (AST) and its sql."""

    __slots__ = ("name", "columns", "select", "sql")

    def __init__(self, name, columns, select, sql):
        self.name = name
        self.columns = columns
        self.select = select
        self.sql = sql


class Trigger:
    """A trigger: ``time`` BEFORE/AFTER/INSTEAD OF, ``event`` INSERT/UPDATE/DELETE, the body (AST)."""

    __slots__ = ("name", "table", "time", "event", "columns", "for_each_row", "when", "body", "sql",
                 "table_schema")

    def __init__(self, stmt):
        self.name = stmt.name
        self.table = stmt.table
        # The ON table's schema name as written (a temp trigger may watch main's tables).
        self.table_schema = stmt.table_schema
        self.time = stmt.time or "BEFORE"
        self.event = stmt.event
        self.columns = stmt.columns
        self.for_each_row = stmt.for_each_row
        self.when = stmt.when
        self.body = stmt.body
        self.sql = stmt.sql


def _schema_table():
    cols = [Column("type", "text"), Column("name", "text"), Column("tbl_name", "text"),
            Column("rootpage", "int"), Column("sql", "text")]
    return Table("sqlite_schema", 1, cols,
                 "CREATE TABLE sqlite_schema(type text, name text, tbl_name text, rootpage int, sql text)")


SQLITE_SCHEMA_TABLE = _schema_table()


class Schema:
    """Everything sqlite_schema describes, by lowercased name (contracts.md §8)."""

    __slots__ = ("tables", "indexes", "views", "triggers", "cookie", "schema_table")

    def __init__(self, cookie=0):
        self.tables = {}
        self.indexes = {}
        self.views = {}
        self.triggers = {}
        self.cookie = cookie
        # The sqlite_schema Table of this database (a copy carrying ``db`` for non-main ones).
        self.schema_table = SQLITE_SCHEMA_TABLE

    def set_db(self, db):
        """Mark every table and index as living in database ``db`` (temp or attached)."""
        self.schema_table = _schema_table()
        for obj in (self.schema_table, *self.tables.values(), *self.indexes.values()):
            obj.db = db

    def table(self, name):
        """The table called ``name``; OperationalError("no such table: name") if none."""
        lname = name.lower()
        t = self.tables.get(lname)
        if t is None:
            if lname in ("sqlite_schema", "sqlite_master"):
                return self.schema_table
            raise OperationalError(f"no such table: {name}")
        return t

    def get_table(self, name):
        """The table called ``name`` (sqlite_schema included), or None."""
        lname = name.lower()
        t = self.tables.get(lname)
        if t is None and lname in ("sqlite_schema", "sqlite_master"):
            return self.schema_table
        return t

    def add_index(self, index):
        self.indexes[index.name.lower()] = index
        self.table(index.table).indexes.append(index)

    @classmethod
    def from_rows(cls, rows, cookie=0):
        """Build the schema from sqlite_schema rows (type, name, tbl_name, rootpage, sql)."""
        schema = cls(cookie)
        auto_roots = {}
        later = []
        for typ, name, _tbl, root, sql in rows:
            if sql is None:
                if typ == "index":
                    auto_roots[name.lower()] = root
                continue
            if sql.__class__ is not str or name.__class__ is not str:
                raise CorruptError(f"malformed database schema ({name})")
            stmt = _schema_entry(name, parse_one, sql, 0)[0]
            if typ == "table":
                table = _schema_entry(name, build_table, stmt, root, sql)
                schema.tables[table.name.lower()] = table
            else:
                later.append((typ, stmt, root, sql))
        for table in schema.tables.values():
            for index in table.indexes:
                if index.sql is None and index.root is None:
                    index.root = auto_roots.get(index.name.lower())
                    if index.root is None:
                        raise CorruptError(f"malformed database schema ({index.name}) - orphan index")
                schema.indexes[index.name.lower()] = index
        for typ, stmt, root, sql in later:
            if typ == "index":
                table = _schema_entry(stmt.name, schema.table, stmt.table)
                schema.add_index(build_index(stmt, table, root, sql))
            elif typ == "view":
                schema.views[stmt.name.lower()] = View(stmt.name, stmt.columns, stmt.select, sql)
            elif typ == "trigger":
                schema.triggers[stmt.name.lower()] = Trigger(stmt)
        return schema


def _schema_entry(name, fn, *args):
    """``fn(*args)`` for the sqlite_schema entry ``name``; its SQL errors mean a corrupt schema."""
    try:
        return fn(*args)
    except OperationalError as e:
        raise CorruptError(f"malformed database schema ({name}) - {e}") from e


def _ordering_column(table, term):
    """(column index or -1, expression, explicit collation) of an index or constraint term."""
    expr = term.expr
    collation = None
    while expr.__class__ is ast.Collate:
        collation = collation or expr.collation
        expr = expr.expr
    if expr.__class__ is ast.Column and expr.table is None:
        i = table.column_index(expr.name)
        if i >= 0:
            return i, None, collation
    elif expr.__class__ is ast.Literal and isinstance(expr.value, str):
        # SQLite accepts a string literal naming a column here ('a' in an index list).
        i = table.column_index(expr.value)
        if i >= 0:
            return i, None, collation
    return -1, expr, collation


def _constraint_columns(table, terms):
    """IndexColumns of a PRIMARY KEY/UNIQUE column list; every term must name a column."""
    out = []
    for term in terms:
        i, expr, coll = _ordering_column(table, term)
        if i < 0:
            if expr.__class__ is ast.Column and expr.table is None:
                raise OperationalError(f"no such column: {expr.name}")
            raise OperationalError("expressions prohibited in PRIMARY KEY and UNIQUE constraints")
        out.append(IndexColumn(i, None, coll or table.columns[i].collation or "BINARY", bool(term.desc)))
    return out


def _add_autoindex(table, columns, origin, on_conflict):
    """Add an automatic index unless an equivalent one exists (sqlite3CreateIndex)."""
    key = [(c.col, c.collation.upper()) for c in columns]
    for idx in table.indexes:
        if [(c.col, c.collation.upper()) for c in idx.columns] == key:
            if origin == "pk":
                idx.origin = "pk"
            if idx.on_conflict is None:
                idx.on_conflict = on_conflict
            return idx
    n = len(table.indexes) + 1
    idx = Index(f"sqlite_autoindex_{table.name}_{n}", table.name, None, columns, True, None, origin, None,
                on_conflict)
    table.indexes.append(idx)
    return idx


def build_table(stmt, root, sql=None):
    """A Table from a CreateTable AST (with its column list); raises SQLite's definition errors."""
    name = stmt.name
    columns = []
    seen = set()
    for cdef in stmt.columns:
        lname = cdef.name.lower()
        if lname in seen:
            raise OperationalError(f"duplicate column name: {cdef.name}")
        seen.add(lname)
        decl = cdef.type_name or ""
        if stmt.strict:
            if not decl:
                raise OperationalError(f"missing datatype for {name}.{cdef.name}")
            if decl.upper() not in _STRICT_TYPES:
                raise OperationalError(f'unknown datatype for {name}.{cdef.name}: "{decl}"')
        col = Column(cdef.name, decl)
        # The final COLLATE applies to constraints written before it too (sqlite3AddCollateType).
        for cons in cdef.constraints or ():
            if cons.__class__ is ast.ColCollate:
                col.collation = cons.collation
        columns.append(col)
    table = Table(name, root, columns, sql if sql is not None else stmt.sql)
    table.without_rowid = bool(stmt.without_rowid)
    table.strict = bool(stmt.strict)
    check_texts = _check_texts(table.sql or "")
    pk_seen = False

    def add_check(cname, expr):
        table.checks.append(expr)
        n = len(table.check_names)
        table.check_names.append(cname or (check_texts[n] if n < len(check_texts) else ""))

    def add_primary_key(terms, conflict, autoinc, column_desc):
        nonlocal pk_seen
        if pk_seen:
            raise OperationalError(f'table "{name}" has more than one primary key')
        pk_seen = True
        cols = _constraint_columns(table, terms)
        table.primary_key = [c.col for c in cols]
        table.pk_conflict = conflict
        for c in cols:
            columns[c.col].primary_key = True
        first = columns[cols[0].col]
        if len(cols) == 1 and first.decl_type.upper() == "INTEGER" and not column_desc:
            table.rowid_alias = cols[0].col
            table.autoincrement = bool(autoinc)
        elif autoinc:
            raise OperationalError("AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY")
        else:
            _add_autoindex(table, cols, "pk", conflict)

    for i, cdef in enumerate(stmt.columns):
        col = columns[i]
        for cons in cdef.constraints or ():
            kind = cons.__class__
            if kind is ast.ColNotNull:
                col.notnull = True
                col.notnull_conflict = cons.conflict
            elif kind is ast.ColDefault:
                col.default = cons.expr
                col.default_text = cons.text
            elif kind is ast.ColPrimaryKey:
                term = ast.OrderingTerm(ast.Column(col.name), bool(cons.desc))
                add_primary_key([term], cons.conflict, cons.autoincrement, bool(cons.desc))
            elif kind is ast.ColUnique:
                _add_autoindex(table, _constraint_columns(table, [ast.OrderingTerm(ast.Column(col.name))]),
                               "u", cons.conflict)
            elif kind is ast.ColCheck:
                add_check(cons.name, cons.expr)
            elif kind is ast.ColGenerated:
                col.generated = cons.expr
                col.hidden = HIDDEN_STORED if cons.stored else HIDDEN_VIRTUAL
            elif kind is ast.ColReferences:
                table.foreign_keys.append(([i], cons.fk))
    for cons in stmt.constraints or ():
        kind = cons.__class__
        if kind is ast.TablePrimaryKey:
            add_primary_key(cons.columns, cons.conflict, cons.autoincrement, False)
        elif kind is ast.TableUnique:
            _add_autoindex(table, _constraint_columns(table, cons.columns), "u", cons.conflict)
        elif kind is ast.TableCheck:
            add_check(cons.name, cons.expr)
        elif kind is ast.TableForeignKey:
            cols = []
            for cname in cons.columns:
                j = table.column_index(cname)
                if j < 0:
                    raise OperationalError(f'unknown column "{cname}" in foreign key definition')
                cols.append(j)
            table.foreign_keys.append((cols, cons.fk))
    if table.without_rowid:
        if not pk_seen:
            raise OperationalError(f"PRIMARY KEY missing on table {name}")
        if table.autoincrement:
            raise OperationalError("AUTOINCREMENT not allowed on WITHOUT ROWID tables")
        if table.rowid_alias is not None:
            # A WITHOUT ROWID table has no rowid: its INTEGER PRIMARY KEY is the key of an index b-tree.
            pk_cols = [IndexColumn(table.rowid_alias, None, columns[table.rowid_alias].collation or "BINARY")]
            table.rowid_alias = None
            _add_autoindex(table, pk_cols, "pk", table.pk_conflict)
        for idx in table.indexes:
            if idx.origin == "pk":
                idx.root = root
        for idx in table.indexes:
            _set_pk_tail(table, idx)
    return table


def _set_pk_tail(table, idx):
    """Record the PRIMARY KEY columns a WITHOUT ROWID table's secondary index entry ends with."""
    if table.without_rowid and idx.origin != "pk":
        pk = next(i for i in table.indexes if i.origin == "pk")
        have = {c.col for c in idx.columns}
        idx.pk_tail = [c for c in pk.columns if c.col not in have]
        idx._key_info = None


def build_index(stmt, table, root, sql=None):
    """An Index from a CreateIndex AST on ``table``."""
    cols = []
    for term in stmt.columns:
        i, expr, coll = _ordering_column(table, term)
        default_coll = table.columns[i].collation if i >= 0 else None
        cols.append(IndexColumn(i, expr, coll or default_coll or "BINARY", bool(term.desc)))
    idx = Index(stmt.name, table.name, root, cols, bool(stmt.unique), stmt.where, "c",
                sql if sql is not None else stmt.sql)
    _set_pk_tail(table, idx)
    return idx


def _check_texts(sql):
    """The source text of each CHECK(...) expression in ``sql``, in order (SQLite's error label)."""
    out = []
    i = 0
    n = len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`[":
            i = _skip_quoted(sql, i)
            continue
        if ch == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if ch == "/" and sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        if ch.isalnum() or ch == "_" or ord(ch) > 127:
            j = i
            while j < n and (sql[j].isalnum() or sql[j] in "_$" or ord(sql[j]) > 127):
                j += 1
            if sql[i:j].upper() == "CHECK":
                k = j
                while k < n and sql[k].isspace():
                    k += 1
                if k < n and sql[k] == "(":
                    end = _matching_paren(sql, k)
                    out.append(sql[k + 1:end].strip())
                    i = end + 1
                    continue
            i = j
            continue
        i += 1
    return out


def _skip_quoted(sql, i):
    close = "]" if sql[i] == "[" else sql[i]
    j = i + 1
    n = len(sql)
    while j < n:
        if sql[j] == close:
            if close != "]" and j + 1 < n and sql[j + 1] == close:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def _matching_paren(sql, i):
    depth = 0
    n = len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`[":
            i = _skip_quoted(sql, i)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return n
