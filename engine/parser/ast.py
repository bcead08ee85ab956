"""The syntax tree the parser builds: one ``__slots__`` class per SQL construct.

Mirrors the shapes of sqlite src/parse.y (Expr, Select, SrcList, IdList) and
Turso's parser/ast.rs, flattened into plain Python objects. Every class lists
its fields in ``__slots__`` (in constructor order; missing arguments default to
None). Identifiers are dequoted ``str`` with their case kept. Operator and
keyword fields are upper-case strings ("OR", "=", "LEFT", "REPLACE", ...),
``==`` is stored as "=" and ``<>`` as "!=". ``pos`` is the byte offset (into
the text given to the parser) of the node's first token. ``dump(node)`` gives
a nested tuple for structural comparison (GROUP BY matching, tests).
Statements carry ``param_count`` and ``param_names`` ({index: "?1"/":a"/...},
plain ``?`` has no entry) for the whole statement, set by the parser.
"""

# Literal.kind: what a Literal stands for beyond its value.
LIT_VALUE = 0              # a number, string, blob or NULL
LIT_TRUE = 1               # TRUE: value 1; SQLite resolves a column named "true" first
LIT_FALSE = 2              # FALSE: value 0; likewise for a column named "false"
LIT_CURRENT_TIME = 3       # value None; evaluated per statement
LIT_CURRENT_DATE = 4
LIT_CURRENT_TIMESTAMP = 5

# FromItem.join_type bits, as sqlite src/select.c sqlite3JoinType sets them:
# the first item has 0; a comma and JOIN alone are JT_INNER; CROSS is
# JT_INNER|JT_CROSS; LEFT is JT_LEFT|JT_OUTER; RIGHT is JT_RIGHT|JT_OUTER; FULL is
# JT_LEFT|JT_RIGHT|JT_OUTER; NATURAL adds JT_NATURAL.
JT_INNER = 0x01
JT_CROSS = 0x02
JT_NATURAL = 0x04
JT_LEFT = 0x08
JT_RIGHT = 0x10
JT_OUTER = 0x20

# OrderingTerm.nulls
NULLS_DEFAULT = 0
NULLS_FIRST = 1
NULLS_LAST = 2


def _make_init(cls, fields):
    """Compile a plain ``__init__`` for ``fields`` (explicit code is ~3x faster than setattr loops)."""
    if not fields:
        return None
    args = ", ".join(f"{f}=None" for f in fields)
    body = "\n".join(f"    self.{f} = {f}" for f in fields)
    ns = {}
    exec(f"def __init__(self, {args}):\n{body}\n", ns)
    return ns["__init__"]


class Node:
    """Base of every node; subclasses only declare ``__slots__``."""

    __slots__ = ()
    _fields = ()

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        fields = []
        for klass in reversed(cls.__mro__):
            for name in klass.__dict__.get("__slots__", ()):
                if name not in fields:
                    fields.append(name)
        cls._fields = tuple(fields)
        if "__init__" not in cls.__dict__:
            init = _make_init(cls, [f for f in fields if f not in cls._set_later])
            if init is not None:
                cls.__init__ = init

    _set_later = ()

    def __repr__(self):
        parts = []
        for f in self._fields:
            v = getattr(self, f, None)
            if v is not None and f not in ("pos", "param_count", "param_names"):
                parts.append(f"{f}={v!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def dump(node):
    """A nested tuple of ``node`` without positions, equal for equal trees."""
    if isinstance(node, Node):
        return (type(node).__name__,) + tuple(
            dump(getattr(node, f, None)) for f in node._fields
            if f not in ("pos", "param_count", "param_names", "sql", "text"))
    if isinstance(node, (list, tuple)):
        return tuple(dump(x) for x in node)
    return node


# ---------------------------------------------------------------- expressions

class Expr(Node):
    __slots__ = ()


class Literal(Expr):
    """value: int | float | str | bytes | None; kind: LIT_*. An integer above
    2**63-1 is its float (SQLite's rule), except that the parser folds
    -9223372036854775808 (also -(9223372036854775808)) into the int -2**63."""
    __slots__ = ("value", "kind")

    def __init__(self, value=None, kind=LIT_VALUE):
        self.value = value
        self.kind = kind


class Column(Expr):
    """A column reference. dq: the name was written in double quotes, so SQLite
    turns it into a string literal when it names no column (DQS quirk)."""
    __slots__ = ("name", "table", "schema", "dq", "pos")


class Param(Expr):
    """A bound parameter. index: 1-based slot (SQLite's numbering: ?NNN sets it,
    a repeated :name reuses it); name: the token text ("?3", ":a") or None for ?."""
    __slots__ = ("index", "name", "pos")


class Unary(Expr):
    """op: "-", "+", "~" or "NOT"."""
    __slots__ = ("op", "operand")


class Binary(Expr):
    """op: OR AND = != < <= > >= & | << >> + - * / % || -> ->>."""
    __slots__ = ("op", "left", "right")


class Like(Expr):
    """``expr [NOT] op pattern [ESCAPE escape]``; op: LIKE, GLOB, REGEXP, MATCH."""
    __slots__ = ("op", "expr", "pattern", "escape", "negated")


class Between(Expr):
    __slots__ = ("expr", "low", "high", "negated")


class In(Expr):
    """Exactly one of items (list of Expr; may be empty), select, table
    (TableRef or FunctionRef: ``x IN t`` / ``x IN f(1)``) is set."""
    __slots__ = ("expr", "items", "select", "table", "negated")


class Exists(Expr):
    __slots__ = ("select", "negated")


class Subquery(Expr):
    """A scalar subquery ``(SELECT ...)``."""
    __slots__ = ("select",)


class Case(Expr):
    """base: the operand of ``CASE x WHEN`` or None; whens: list of (when, then)."""
    __slots__ = ("base", "whens", "else_")


class Cast(Expr):
    """type_name: the type as written ("" for none), whitespace-collapsed."""
    __slots__ = ("expr", "type_name")


class Collate(Expr):
    __slots__ = ("expr", "collation")


class IsNull(Expr):
    """``x ISNULL`` and ``x IS NULL`` (SQLite turns IS NULL into ISNULL too)."""
    __slots__ = ("expr",)


class NotNull(Expr):
    """``x NOTNULL``, ``x NOT NULL`` and ``x IS NOT NULL``."""
    __slots__ = ("expr",)


class Is(Expr):
    """``left IS [NOT] right``; ``IS NOT DISTINCT FROM`` is IS, ``IS DISTINCT FROM`` is IS NOT."""
    __slots__ = ("left", "right", "negated")


class Vector(Expr):
    """A row value ``(a, b, ...)`` with two or more items."""
    __slots__ = ("items",)


class FunctionCall(Expr):
    """name as written; args: list of Expr (empty for ``f()`` and ``f(*)``);
    star: ``f(*)``; order_by: ORDER BY inside the argument list (list of
    OrderingTerm) or None; filter: FILTER (WHERE expr) or None; over: a window
    name (str), a WindowDef, or None."""
    __slots__ = ("name", "args", "distinct", "star", "order_by", "filter", "over", "pos")


class Raise(Expr):
    """RAISE(IGNORE) / RAISE(ROLLBACK|ABORT|FAIL, message); message is a string
    Literal (SQLite 3.40 takes a name or string there) or None for IGNORE."""
    __slots__ = ("action", "message")


class Star(Expr):
    """``*`` or ``table.*`` in a result column list."""
    __slots__ = ("table",)


# ---------------------------------------------------------------- windows

class WindowDef(Node):
    """``OVER (base PARTITION BY ... ORDER BY ... frame)``; base: a window name or None."""
    __slots__ = ("base", "partition_by", "order_by", "frame")


class Frame(Node):
    """units: ROWS, RANGE or GROUPS; end None for the one-bound form;
    exclude: None, "NO OTHERS", "CURRENT ROW", "GROUP", "TIES"."""
    __slots__ = ("units", "start", "end", "exclude")


class FrameBound(Node):
    """kind: "UNBOUNDED PRECEDING", "PRECEDING", "CURRENT ROW", "FOLLOWING",
    "UNBOUNDED FOLLOWING"; expr for PRECEDING/FOLLOWING."""
    __slots__ = ("kind", "expr")


class NamedWindow(Node):
    """An entry of the WINDOW clause."""
    __slots__ = ("name", "window")


# ---------------------------------------------------------------- SELECT parts

class ResultColumn(Node):
    """expr (a Star for * and t.*), alias or None, text: the expression's
    source text, which SQLite uses as the column name when there is no alias."""
    __slots__ = ("expr", "alias", "text")


class OrderingTerm(Node):
    """ORDER BY / index column / PRIMARY KEY term; COLLATE stays in expr.
    desc: True for DESC; asc_written: ASC or DESC was written; nulls: NULLS_*."""
    __slots__ = ("expr", "desc", "nulls", "asc_written")


class FromItem(Node):
    """Common fields of FROM items: how the item joins the one before it."""
    __slots__ = ("join_type", "on", "using")
    _set_later = ("join_type", "on", "using")

    def _init_join(self):
        self.join_type = 0
        self.on = None
        self.using = None


class TableRef(FromItem):
    """A table (or view/CTE) name in FROM, or the target of INSERT/UPDATE/DELETE.
    indexed_by: index name, not_indexed: NOT INDEXED was written."""
    __slots__ = ("name", "schema", "alias", "indexed_by", "not_indexed", "pos")

    def __init__(self, name=None, schema=None, alias=None, indexed_by=None, not_indexed=False, pos=None):
        self.name = name
        self.schema = schema
        self.alias = alias
        self.indexed_by = indexed_by
        self.not_indexed = not_indexed
        self.pos = pos
        self._init_join()


class SubqueryRef(FromItem):
    __slots__ = ("select", "alias")

    def __init__(self, select=None, alias=None):
        self.select = select
        self.alias = alias
        self._init_join()


class FunctionRef(FromItem):
    """A table-valued function call in FROM: ``json_each(x) AS j``."""
    __slots__ = ("name", "schema", "args", "alias", "pos")

    def __init__(self, name=None, schema=None, args=None, alias=None, pos=None):
        self.name = name
        self.schema = schema
        self.args = args
        self.alias = alias
        self.pos = pos
        self._init_join()


class JoinGroup(FromItem):
    """A parenthesised join list ``(a JOIN b ON ...) [AS alias]`` used as one FROM item
    (a single parenthesised item without alias is that item itself)."""
    __slots__ = ("items", "alias")

    def __init__(self, items=None, alias=None):
        self.items = items
        self.alias = alias
        self._init_join()


class SelectCore(Node):
    """One SELECT of a compound. from_: list of FromItem (empty if no FROM);
    group_by: list or None; windows: list of NamedWindow or None."""
    __slots__ = ("distinct", "columns", "from_", "where", "group_by", "having", "windows")


class Values(Node):
    """A VALUES core: rows is a list of lists of Expr (all rows the same length)."""
    __slots__ = ("rows",)


class CTE(Node):
    """columns: list of names or None; materialized: None, True (MATERIALIZED),
    False (NOT MATERIALIZED)."""
    __slots__ = ("name", "columns", "select", "materialized")


class With(Node):
    __slots__ = ("recursive", "ctes")


# ---------------------------------------------------------------- statements

class Stmt(Node):
    """pos: offset of the statement's first token."""
    __slots__ = ("pos", "param_count", "param_names")
    _set_later = ("pos", "param_count", "param_names")


class Select(Stmt):
    """cores: SelectCore/Values list; ops: the compound operators between them
    ("UNION", "UNION ALL", "INTERSECT", "EXCEPT"), len(cores) - 1 of them,
    left-associative; order_by: list of OrderingTerm or None; limit/offset: Expr
    or None (``LIMIT a, b`` is stored as limit=b, offset=a)."""
    __slots__ = ("with_", "cores", "ops", "order_by", "limit", "offset")


class SetItem(Node):
    """``col = expr`` or ``(a, b) = expr``; columns is a list of names."""
    __slots__ = ("columns", "expr")


class Upsert(Node):
    """``ON CONFLICT [(target) [WHERE target_where]] DO NOTHING | DO UPDATE SET ... [WHERE]``.
    action: "NOTHING" or "UPDATE"."""
    __slots__ = ("target", "target_where", "action", "sets", "where")


class Insert(Stmt):
    """or_conflict: None or ROLLBACK/ABORT/FAIL/IGNORE/REPLACE (REPLACE INTO too);
    table: TableRef (alias from ``AS``); columns: names or None; select: a Select
    (VALUES rows are a Values core) or None with default_values True;
    upsert: list of Upsert or None; returning: list of ResultColumn or None."""
    __slots__ = ("with_", "or_conflict", "table", "columns", "select", "default_values",
                 "upsert", "returning")


class Update(Stmt):
    """table: TableRef (alias, INDEXED BY); sets: list of SetItem; from_: list of FromItem or None."""
    __slots__ = ("with_", "or_conflict", "table", "sets", "from_", "where", "returning",
                 "order_by", "limit", "offset")


class Delete(Stmt):
    __slots__ = ("with_", "table", "where", "returning", "order_by", "limit", "offset")


# Column constraints. Each has name: the CONSTRAINT name or None.

class ColPrimaryKey(Node):
    """desc: DESC written; conflict: ON CONFLICT action or None."""
    __slots__ = ("name", "desc", "conflict", "autoincrement")


class ColNotNull(Node):
    __slots__ = ("name", "conflict")


class ColUnique(Node):
    __slots__ = ("name", "conflict")


class ColCheck(Node):
    """text: the source between CHECK's parentheses, less outer spaces (SQLite's
    label in "CHECK constraint failed: <text>" when the check has no name)."""
    __slots__ = ("name", "expr", "text")


class ColDefault(Node):
    """expr: the default; text: its source text (PRAGMA table_info's dflt_value;
    without the parentheses of ``DEFAULT (expr)``)."""
    __slots__ = ("name", "expr", "text")


class ColCollate(Node):
    __slots__ = ("name", "collation")


class ColReferences(Node):
    __slots__ = ("name", "fk")


class ColGenerated(Node):
    """``[GENERATED ALWAYS] AS (expr) [VIRTUAL|STORED]``."""
    __slots__ = ("name", "expr", "stored")


class ForeignKey(Node):
    """``REFERENCES table [(columns)] [ON DELETE/UPDATE action] [MATCH m] [[NOT] DEFERRABLE ...]``.
    on_delete/on_update: "SET NULL", "SET DEFAULT", "CASCADE", "RESTRICT", "NO ACTION"
    or None; deferred: True for DEFERRABLE INITIALLY DEFERRED, else False."""
    __slots__ = ("table", "columns", "on_delete", "on_update", "match", "deferred")


class ColumnDef(Node):
    """type_name: the declared type as written (SQLite keeps inner spacing,
    e.g. "DECIMAL(10 , 2)"), or "" for none; constraints: list of Col* nodes."""
    __slots__ = ("name", "type_name", "constraints")


class TablePrimaryKey(Node):
    """columns: list of OrderingTerm."""
    __slots__ = ("name", "columns", "conflict", "autoincrement")


class TableUnique(Node):
    __slots__ = ("name", "columns", "conflict")


class TableCheck(Node):
    """text: as ColCheck.text."""
    __slots__ = ("name", "expr", "text")


class TableForeignKey(Node):
    """columns: the child column names; fk: ForeignKey."""
    __slots__ = ("name", "columns", "fk")


class CreateTable(Stmt):
    """sql: the text SQLite stores in sqlite_schema (see the parser docstring).
    For CREATE TABLE ... AS SELECT, columns and constraints are None, select is
    set and sql is None: SQLite writes that text itself from the result columns."""
    __slots__ = ("sql", "temp", "if_not_exists", "schema", "name", "columns", "constraints",
                 "without_rowid", "strict", "select")


class CreateVirtualTable(Stmt):
    """``CREATE VIRTUAL TABLE [IF NOT EXISTS] name USING module[(args)]``; args: the
    module arguments as source text (split at top-level commas, stripped) or None."""
    __slots__ = ("sql", "if_not_exists", "schema", "name", "module", "args")


class CreateIndex(Stmt):
    """columns: list of OrderingTerm (expr a Column or any expression)."""
    __slots__ = ("sql", "unique", "if_not_exists", "schema", "name", "table", "columns", "where")


class CreateView(Stmt):
    __slots__ = ("sql", "temp", "if_not_exists", "schema", "name", "columns", "select")


class CreateTrigger(Stmt):
    """time: "BEFORE", "AFTER", "INSTEAD OF" or None (SQLite's default: BEFORE);
    event: "INSERT", "DELETE", "UPDATE"; columns: UPDATE OF names or None;
    body: list of Insert/Update/Delete/Select; table_schema: the ON table's schema name or None."""
    __slots__ = ("sql", "temp", "if_not_exists", "schema", "name", "time", "event", "columns",
                 "table", "for_each_row", "when", "body", "table_schema")


class Drop(Stmt):
    """kind: "TABLE", "INDEX", "VIEW" or "TRIGGER"."""
    __slots__ = ("kind", "if_exists", "schema", "name")


class AlterTable(Stmt):
    """action: "RENAME" (new_name), "RENAME COLUMN" (column, new_name),
    "ADD COLUMN" (column_def), "DROP COLUMN" (column). sql: the statement's
    source text up to its ``;`` (ALTER TABLE edits the stored CREATE text with it)."""
    __slots__ = ("schema", "table", "action", "column", "new_name", "column_def", "sql")


class Begin(Stmt):
    """mode: None, "DEFERRED", "IMMEDIATE", "EXCLUSIVE" or "CONCURRENT"."""
    __slots__ = ("mode",)


class Commit(Stmt):
    __slots__ = ()


class Rollback(Stmt):
    """savepoint: name for ROLLBACK TO, else None."""
    __slots__ = ("savepoint",)


class Savepoint(Stmt):
    __slots__ = ("name",)


class Release(Stmt):
    __slots__ = ("name",)


class Pragma(Stmt):
    """value: None, or the argument of ``= v`` / ``(v)``: str for a name or
    string, int/float for a (signed) number."""
    __slots__ = ("schema", "name", "value")


class Explain(Stmt):
    __slots__ = ("stmt", "query_plan")


class Attach(Stmt):
    """expr: the file name expression; schema: the AS expression; key: KEY expr or None."""
    __slots__ = ("expr", "schema", "key")


class Detach(Stmt):
    __slots__ = ("schema",)


class Vacuum(Stmt):
    """schema: name or None; into: Expr or None."""
    __slots__ = ("schema", "into")


class Analyze(Stmt):
    """``ANALYZE [schema.]name``; both None for a bare ANALYZE."""
    __slots__ = ("schema", "name")


class Reindex(Stmt):
    __slots__ = ("schema", "name")
