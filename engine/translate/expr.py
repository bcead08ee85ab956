"""Expression code generation: name resolution, affinity, collation, values and jumps.

A ``Scope`` lists the FROM sources visible to an expression (a ``Source`` per
table or materialized subquery, with its cursor) and links to the enclosing
query's scope for correlated subqueries. ``code_expr`` computes an expression
into a register; ``code_if_true``/``code_if_false`` jump on its truth with
SQLite's NULL rule (``jump_if_null``). ``Scope.overrides`` maps expression
nodes to registers already holding their value (aggregate results and the
columns of the current group). Affinity and collation of expressions follow
sqlite3ExprAffinity / sqlite3CompareAffinity / sqlite3ExprCollSeq.
Mirrors sqlite src/expr.c and src/resolve.c, Turso core/translate/expr.rs.
"""

from limbodb.errors import OperationalError
from limbodb.functions import AGGREGATE
from limbodb.functions import scalar as _scalar
from limbodb.functions.window import WINDOW
from limbodb.parser import ast
from limbodb.vdbe import value as V
from limbodb.vdbe.insn import (
    OP_Add, OP_And, OP_BitAnd, OP_BitNot, OP_BitOr, OP_Blob, OP_Cast, OP_Column, OP_Concat, OP_Copy,
    OP_Divide, OP_Eq, OP_Function, OP_Ge, OP_Goto, OP_Gt, OP_If, OP_IfNot, OP_Int64, OP_Integer,
    OP_IsNull, OP_Le, OP_Lt, OP_Multiply, OP_Ne, OP_Not, OP_NotNull, OP_Null, OP_Or,
    OP_Real, OP_RealAffinity, OP_Remainder, OP_Rowid, OP_ShiftLeft, OP_ShiftRight, OP_String8,
    OP_Subtract, OP_Variable, SQLITE_JUMPIFNULL, SQLITE_NULLEQ,
)

# SQLite's affinity letters (sqliteInt.h SQLITE_AFF_*), as stored in P5 and affinity strings.
AFF_NONE = 0x40
AFF_BLOB = 0x41
AFF_TEXT = 0x42
AFF_NUMERIC = 0x43
AFF_INTEGER = 0x44
AFF_REAL = 0x45

_ARITH = {"+": OP_Add, "-": OP_Subtract, "*": OP_Multiply, "/": OP_Divide, "%": OP_Remainder,
          "||": OP_Concat, "&": OP_BitAnd, "|": OP_BitOr, "<<": OP_ShiftLeft, ">>": OP_ShiftRight}
_CMP = {"=": OP_Eq, "!=": OP_Ne, "<": OP_Lt, "<=": OP_Le, ">": OP_Gt, ">=": OP_Ge}
_NEGATE = {OP_Eq: OP_Ne, OP_Ne: OP_Eq, OP_Lt: OP_Ge, OP_Ge: OP_Lt, OP_Gt: OP_Le, OP_Le: OP_Gt}
_ROWID_NAMES = ("rowid", "oid", "_rowid_")
_NO_NODES = frozenset()
_INT32 = range(-0x80000000, 0x80000000)


def affinity_letter(aff):
    """Column affinity (vdbe.value constant) as SQLite's letter code."""
    return {V.AFF_BLOB: AFF_BLOB, V.AFF_TEXT: AFF_TEXT, V.AFF_NUMERIC: AFF_NUMERIC,
            V.AFF_INTEGER: AFF_INTEGER, V.AFF_REAL: AFF_REAL}.get(aff, AFF_BLOB)


def type_affinity(type_name):
    """SQLite letter code of the affinity a declared type name gets."""
    return affinity_letter(V.affinity_of_type(type_name or ""))


class Source:
    """One FROM item in scope: a name, its columns and the cursor to read them from."""

    __slots__ = ("name", "table", "cursor", "col_names", "col_affs", "col_colls", "rowid_alias",
                 "has_rowid", "using", "index", "index_cursor", "index_map", "col_defaults", "generated",
                 "db_name", "join_span", "join_pairs", "using_outer", "nested", "nested_error", "plan_name",
                 "coroutine")

    def __init__(self, name, cursor, col_names, col_affs, col_colls, table=None, rowid_alias=None,
                 has_rowid=True):
        self.name = name
        # The name EXPLAIN QUERY PLAN gives it, where that is not ``name``: "(subquery-1)".
        self.plan_name = None
        self.table = table
        self.cursor = cursor
        self.col_names = col_names
        self.col_affs = col_affs
        self.col_colls = col_colls
        self.rowid_alias = rowid_alias
        self.has_rowid = has_rowid
        # Lowercased names of the columns USING/NATURAL merged with an earlier source's
        # (hidden from '*'), and the equalities of the join written before this source:
        # ((source, column index), (source, column index)) pairs.
        self.using = set()
        self.join_pairs = ()
        # Those merged by a join of the FROM list itself, not inside parentheses: only they
        # hide a qualified name (SQLite's subquery for the parentheses lists both columns).
        self.using_outer = set()
        # A covering index read instead of the table: table column -> index column position.
        self.index = None
        self.index_cursor = None
        self.index_map = None
        # Constant DEFAULTs: what rows written before ALTER TABLE ADD COLUMN read.
        self.col_defaults = None
        # The table has generated columns: reads go through translate/generated.py.
        self.generated = False
        # The database of a table, view or table-valued function ("main", "temp", an
        # attached name); None for a subquery or CTE, which SQLite puts in no schema.
        self.db_name = None
        # (start, end): the FROM sources this one's join pairs (translate/select.py _apply_using).
        self.join_span = None
        # A parenthesized join read as a subquery (SQLite's nested FROM): per column, (the
        # name of the item it comes from or None for a USING column, that item's database,
        # the column's own name, hidden from '*', is a USING column); else None.
        self.nested = None
        self.nested_error = None
        # A FROM subquery run as a co-routine (translate/materialize.py Coroutine), else None.
        self.coroutine = None

    @classmethod
    def for_table(cls, table, name, cursor):
        cols = table.columns
        src = cls(name, cursor, [c.name for c in cols], [affinity_letter(c.affinity) for c in cols],
                  [c.collation for c in cols], table, table.rowid_alias, not table.without_rowid)
        defaults = [V.apply_affinity(_constant_default(c.default), c.affinity) for c in cols]
        if any(d is not None for d in defaults):
            src.col_defaults = defaults
        src.generated = any(c.generated is not None for c in cols)
        if table.without_rowid:
            # The table B-tree is keyed by the PRIMARY KEY: read it like a covering index.
            # VIRTUAL generated columns (hidden 2) are not in the record.
            pk = [ic.col for ic in next(i for i in table.indexes if i.origin == "pk").columns]
            order = pk + [i for i in range(len(cols)) if i not in pk and cols[i].hidden != 2]
            src.index_cursor = cursor
            src.index_map = {c: k for k, c in enumerate(order)}
        return src

    def find(self, name):
        lname = name.lower()
        for i, n in enumerate(self.col_names):
            if n.lower() == lname:
                return i
        return None


def _nested_hits(src, lname, qual, hits):
    """Add to ``hits`` the columns of nested-FROM ``src`` a name matches; True if any did.

    Each column answers to its own item's name; a USING column of the parentheses ends
    the search (sqlite src/resolve.c lookupName, isNestedFrom).
    """
    lqual = qual.lower() if qual is not None else None
    hit = False
    for j, (item, _db, base, _hidden, using_term) in enumerate(src.nested):
        if base.lower() != lname or (lqual is not None and (item is None or item.lower() != lqual)):
            continue
        if hits and lname in (src.using if qual is None else src.using_outer):
            continue
        hit = True
        hits.append((src, j))
        if using_term:
            break
    return hit


def _constant_default(e):
    """The value of a literal DEFAULT (``5``, ``-1.5``, ``'x'``), else None."""
    if e is None:
        return None
    if e.__class__ is ast.Literal and e.kind == ast.LIT_VALUE:
        return e.value
    if e.__class__ is ast.Unary and e.op in ("-", "+") and e.operand.__class__ is ast.Literal \
            and e.operand.value.__class__ in (int, float):
        return -e.operand.value if e.op == "-" else e.operand.value
    return None


class Scope:
    """The sources an expression can name, and the enclosing query's scope."""

    __slots__ = ("sources", "parent", "overrides", "aliases", "agg_ok", "correlated", "captured",
                 "discovered", "ctes", "bound", "join_refs", "alias_blind")

    def __init__(self, sources, parent=None):
        self.sources = sources
        self.parent = parent
        self.overrides = {}
        # Result-column aliases WHERE/GROUP BY/HAVING may use: lowercased name -> expr.
        self.aliases = {}
        self.agg_ok = False
        # Set when an expression of this scope's query reads an outer query's source.
        self.correlated = False
        # While an aggregate query emits a group: (id(source), column) -> the register
        # holding the group's value, for subqueries that read this query's columns
        # (SQLite makes them AggInfo columns); the cursor is past its last row then.
        self.captured = None
        # While this query compiles its subqueries only to find its aggregates: the calls
        # there that belong to it (translate/resolve.py), else None.
        self.discovered = None
        # The CTEs (lowercased name -> CTE) a query's subqueries can name, or None.
        self.ctes = None
        # Column nodes the translator made that name one source by itself, as SQLite's
        # sqlite3CreateColumnExpr does (USING terms, '*'): id(node) -> (node, source, column
        # index), or (node, None, error message) for a '*' column SQLite finds ambiguous.
        # A name could not: an unaliased subquery has none, and two sources may share one.
        self.bound = {}
        # USING names a RIGHT/FULL JOIN merges: lowercased name -> [(source, column)], read
        # as the coalesce() of them when unqualified (translate/right_join.py), or None.
        self.join_refs = None
        # ids of the Column nodes in the result columns (their subqueries too) that name an
        # alias: SQLite resolves the result columns before the aliases join the name context.
        self.alias_blind = _NO_NODES

    def resolve(self, col):
        """(scope, source, column index or -1 for the rowid) for a Column node.

        Source None means a result-column alias (the index is then its lowercased
        name); None as a whole is a double-quoted name that names no column.
        """
        bound = self.bound.get(id(col))
        if bound is not None:
            if bound[1] is None:
                raise OperationalError(bound[2])
            return self, bound[1], bound[2]
        name = col.name
        lname = name.lower()
        qual = col.table
        if qual is None and self.join_refs and lname in self.join_refs:
            src, i = self.join_refs[lname][0]
            return self, src, i
        hits = []
        for src in self.sources:
            if src.nested is not None and (_nested_hits(src, lname, qual, hits) or qual is None):
                continue
            if qual is not None and (src.name is None or src.name.lower() != qual.lower()):
                continue
            i = src.find(name)
            if i is not None:
                # A USING column of a later source is the earlier one's, qualified or not
                # (sqlite src/resolve.c lookupName; RIGHT JOIN takes the right one there).
                if hits and lname in (src.using if qual is None else src.using_outer):
                    continue
                hits.append((src, i))
            elif src.has_rowid and lname in _ROWID_NAMES and qual is not None:
                hits.append((src, -1))
        if not hits and qual is None and lname in _ROWID_NAMES:
            hits = [(src, -1) for src in self.sources if src.has_rowid and src.find(name) is None]
        if len(hits) > 1:
            raise OperationalError(f"ambiguous column name: {name if qual is None else qual + '.' + name}")
        if hits:
            return self, hits[0][0], hits[0][1]
        if qual is None and lname in self.aliases and id(col) not in self.alias_blind:
            return self, None, lname
        if self.parent is not None:
            r = self.parent.resolve(col)
            if r is not None:
                self.correlated = True
            return r
        if col.dq and qual is None:
            return None
        label = f"{qual}.{name}" if qual else name
        raise OperationalError(f"no such column: {label}")


# ------------------------------------------------------------------ affinity and collation

def expr_affinity(scope, e):
    """SQLite letter code of the expression's affinity (AFF_NONE when it has none)."""
    cls = e.__class__
    if cls is ast.Column:
        try:
            r = scope.resolve(e)
        except OperationalError:
            return AFF_NONE
        if r is None:
            return AFF_NONE
        owner, src, i = r
        if src is None:
            # A result alias, perhaps of an outer query (read from a subquery of its WHERE).
            return expr_affinity(owner, owner.aliases[i])
        if i == -1:
            return AFF_INTEGER
        if is_coalesce(owner, e):
            return AFF_NONE
        return src.col_affs[i]
    if cls is ast.Cast:
        return type_affinity(e.type_name)
    if cls is ast.Collate:
        return expr_affinity(scope, e.expr)
    return AFF_NONE


def compare_affinity(scope, left, right):
    """sqlite3CompareAffinity: the affinity both sides get before comparing."""
    a = expr_affinity(scope, left)
    b = expr_affinity(scope, right)
    if a > AFF_NONE and b > AFF_NONE:
        return AFF_NUMERIC if a >= AFF_NUMERIC or b >= AFF_NUMERIC else AFF_BLOB
    if a <= AFF_NONE and b <= AFF_NONE:
        return AFF_BLOB
    return a if a > AFF_NONE else b


def _explicit_collation(e):
    """A COLLATE written inside ``e`` that reaches it (SQLite's EP_Collate, left operand first)."""
    cls = e.__class__
    if cls is ast.Collate:
        return e.collation
    if cls is ast.Binary:
        return _explicit_collation(e.left) or _explicit_collation(e.right)
    if cls is ast.Unary:
        return _explicit_collation(e.operand)
    if cls is ast.Cast:
        return _explicit_collation(e.expr)
    return None


def expr_collation(scope, e):
    """sqlite3ExprCollSeq: an explicit COLLATE, else a bare column's (through CAST and unary +)."""
    cls = e.__class__
    if cls is ast.Collate:
        return e.collation
    if cls is ast.Column:
        try:
            r = scope.resolve(e)
        except OperationalError:
            return None
        if r is None:
            return None
        owner, src, i = r
        if src is None:
            return expr_collation(owner, owner.aliases[i])
        return src.col_colls[i] if i >= 0 and not is_coalesce(owner, e) else None
    if cls is ast.Cast:
        return expr_collation(scope, e.expr)
    if cls is ast.Unary and e.op == "+":
        return expr_collation(scope, e.operand)
    return _explicit_collation(e)


def binary_collation(scope, left, right):
    """sqlite3BinaryCompareCollSeq: an explicit COLLATE (left first), else the left operand's, else the right's.

    A table column always has a collating sequence (BINARY unless declared), so a
    left column without one still wins over the right operand's (returned as None).
    """
    explicit = _explicit_collation(left) or _explicit_collation(right)
    if explicit:
        return explicit
    coll = expr_collation(scope, left)
    if coll is None and not _is_table_column(scope, left):
        coll = expr_collation(scope, right)
    return coll


def _is_table_column(scope, e):
    """True if ``e`` (through CAST and unary +) is a column of a table (not the rowid)."""
    while e.__class__ is ast.Cast or (e.__class__ is ast.Unary and e.op == "+"):
        e = e.expr if e.__class__ is ast.Cast else e.operand
    if e.__class__ is not ast.Column:
        return False
    try:
        r = scope.resolve(e)
    except OperationalError:
        return False
    if r is None:
        return False
    owner, src, i = r
    if src is None:
        return _is_table_column(owner, owner.aliases[i])
    return i >= 0 and not is_coalesce(owner, e)


def is_coalesce(owner, e):
    """Does Column ``e``, resolved in ``owner``, read a FULL JOIN's USING column? That is
    coalesce() of its sides, a function: no affinity, collating sequence or declared type
    (sqlite src/resolve.c lookupName). A node bound to one source (Scope.bound) reads it."""
    refs = owner.join_refs
    return e.table is None and bool(refs) and len(refs.get(e.name.lower(), ())) > 1 and id(e) not in owner.bound


# ------------------------------------------------------------------ values

def code_expr(b, scope, e, target):
    """Emit code that leaves the value of ``e`` in register ``target``."""
    ov = scope.overrides.get(id(e))
    if ov is not None:
        b.emit(OP_Copy, ov, target)
        return target
    cls = e.__class__
    fn = _CODERS.get(cls)
    if fn is None:
        raise OperationalError(f"unsupported expression: {cls.__name__}")
    fn(b, scope, e, target)
    return target


def code_temp(b, scope, e):
    """A register holding the value of ``e``, which the caller must not change.

    Literals and parameters come from registers loaded once per run.
    """
    cls = e.__class__
    if cls is ast.Literal and e.kind == ast.LIT_VALUE and id(e) not in scope.overrides:
        v = e.value
        if v is None:
            return b.constant(OP_Null)
        if v.__class__ is int:
            return b.constant(OP_Integer, v) if v in _INT32 else b.constant(OP_Int64, 0, v)
        if v.__class__ is float:
            return b.constant(OP_Real, 0, v)
        if v.__class__ is str:
            return b.constant(OP_String8, 0, v)
        return b.constant(OP_Blob, len(v), bytes(v))
    if cls is ast.Param and id(e) not in scope.overrides:
        return b.constant(OP_Variable, e.index, None, e.name or "")
    return code_expr(b, scope, e, b.alloc_reg())


def emit_constant(b, v, target):
    if v is None:
        b.emit(OP_Null, 0, target)
    elif v.__class__ is int:
        if v in _INT32:
            b.emit(OP_Integer, v, target)
        else:
            b.emit(OP_Int64, 0, target, 0, v)
    elif v.__class__ is float:
        b.emit(OP_Real, 0, target, 0, v)
    elif v.__class__ is str:
        b.emit(OP_String8, 0, target, 0, v)
    else:
        b.emit(OP_Blob, len(v), target, 0, bytes(v))


def _literal(b, scope, e, target):
    kind = e.kind
    if kind == ast.LIT_VALUE:
        emit_constant(b, e.value, target)
    elif kind == ast.LIT_TRUE:
        b.emit(OP_Integer, 1, target)
    elif kind == ast.LIT_FALSE:
        b.emit(OP_Integer, 0, target)
    else:
        name = {ast.LIT_CURRENT_TIME: "time", ast.LIT_CURRENT_DATE: "date",
                ast.LIT_CURRENT_TIMESTAMP: "datetime"}[kind]
        _call(b, scope, name, [ast.Literal("now")], target)


def code_column(b, src, i, target):
    """Read column ``i`` (-1: rowid) of ``src``'s current row into ``target``."""
    if src.generated and i >= 0 and src.table is not None:
        from limbodb.translate.generated import code_column as code_generated
        code_generated(b, src, i, target)
        return
    if src.index_map is not None:
        if i == -1 or i == src.rowid_alias:
            b.emit(OP_Rowid, src.index_cursor, target)
            return
        b.emit(OP_Column, src.index_cursor, src.index_map[i], target)
        if src.col_affs[i] == AFF_REAL:
            b.emit(OP_RealAffinity, target)
        return
    if i == -1 or (i == src.rowid_alias and src.table is not None):
        b.emit(OP_Rowid, src.cursor, target)
        return
    dflt = src.col_defaults[i] if src.col_defaults is not None else None
    b.emit(OP_Column, src.cursor, i, target, dflt, 0, src.col_names[i] if src.col_names else "")
    if src.col_affs[i] == AFF_REAL and src.table is not None:
        b.emit(OP_RealAffinity, target)


def _column(b, scope, e, target):
    r = scope.resolve(e)
    if r is None:
        # SQLite's double-quoted-string quirk: "x" naming no column is the string 'x'.
        b.emit(OP_String8, 0, target, 0, e.name)
        return
    owner, src, i = r
    if src is None:
        if owner.discovered is not None:
            # Code thrown away while the alias's query looks for its calls (translate/resolve.py),
            # before it computes those its result columns hold.
            b.emit(OP_Null, 0, target)
            return
        # The alias's expression was resolved as a result column, where aggregate calls are
        # allowed: one not computed where it is read fails only when coded (SQLite's copy).
        ok = owner.agg_ok
        owner.agg_ok = True
        try:
            code_expr(b, owner, owner.aliases[i], target)
        finally:
            owner.agg_ok = ok
        return
    if is_coalesce(owner, e):
        # A FULL JOIN's USING column: the first non-NULL side.
        done = b.new_label()
        refs = owner.join_refs[e.name.lower()]
        for s, j in refs[:-1]:
            code_column(b, s, j, target)
            b.emit(OP_NotNull, target, done)
        code_column(b, refs[-1][0], refs[-1][1], target)
        b.resolve(done)
        return
    if owner is not scope and owner.captured is not None:
        reg = owner.captured.get((id(src), i))
        if reg is not None:
            b.emit(OP_Copy, reg, target)
            return
    code_column(b, src, i, target)


def _param(b, scope, e, target):
    b.emit(OP_Variable, e.index, target, 0, None, 0, e.name or "")


def _unary(b, scope, e, target):
    op = e.op
    x = e.operand
    if op == "-":
        if x.__class__ is ast.Literal and x.kind == ast.LIT_VALUE and x.value.__class__ in (int, float):
            v = -x.value
            if v.__class__ is int and v > 0x7FFFFFFFFFFFFFFF:
                v = float(v)
            emit_constant(b, v, target)
            return
        r = code_temp(b, scope, x)
        zero = b.alloc_reg()
        b.emit(OP_Integer, 0, zero)
        b.emit(OP_Subtract, r, zero, target)
    elif op == "+":
        code_expr(b, scope, x, target)
    elif op == "~":
        b.emit(OP_BitNot, code_temp(b, scope, x), target)
    else:
        b.emit(OP_Not, code_temp(b, scope, x), target)


def _compare_into(b, scope, op, left, right, ra, rb, target, nulleq=False):
    """target = (ra op rb) as 1, 0 or NULL."""
    aff = compare_affinity(scope, left, right)
    coll = binary_collation(scope, left, right)
    end = b.new_label()
    if nulleq:
        b.emit(OP_Integer, 1, target)
        b.emit(op, rb, end, ra, coll, aff | SQLITE_NULLEQ)
        b.emit(OP_Integer, 0, target)
        b.resolve(end)
        return
    b.emit(OP_Null, 0, target)
    b.emit(OP_IsNull, ra, end)
    b.emit(OP_IsNull, rb, end)
    b.emit(OP_Integer, 1, target)
    b.emit(op, rb, end, ra, coll, aff)
    b.emit(OP_Integer, 0, target)
    b.resolve(end)


def _binary(b, scope, e, target):
    op = e.op
    if op in _CMP:
        if e.left.__class__ is ast.Vector or e.right.__class__ is ast.Vector:
            _vector_compare_value(b, scope, e, target)
            return
        ra = code_temp(b, scope, e.left)
        rb = code_temp(b, scope, e.right)
        _compare_into(b, scope, _CMP[op], e.left, e.right, ra, rb, target)
        return
    if op == "AND" or op == "OR":
        ra = code_temp(b, scope, e.left)
        rb = code_temp(b, scope, e.right)
        b.emit(OP_And if op == "AND" else OP_Or, ra, rb, target)
        return
    opcode = _ARITH.get(op)
    if opcode is None:
        if op in ("->", "->>"):
            _call(b, scope, op, [e.left, e.right], target)
            return
        raise OperationalError(f"unsupported operator: {op}")
    ra = code_temp(b, scope, e.left)
    rb = code_temp(b, scope, e.right)
    b.emit(opcode, rb, ra, target)


def _vector_compare_value(b, scope, e, target):
    end = b.new_label()
    false = b.new_label()
    b.emit(OP_Null, 0, target)
    code_if_false(b, scope, e, false, False)
    b.emit(OP_Integer, 1, target)
    b.emit(OP_Goto, 0, end)
    b.resolve(false)
    null = b.new_label()
    code_if_false(b, scope, e, null, True)
    b.emit(OP_Goto, 0, end)
    b.resolve(null)
    b.emit(OP_Integer, 0, target)
    b.resolve(end)


def _is(b, scope, e, target):
    ra = code_temp(b, scope, e.left)
    rb = code_temp(b, scope, e.right)
    _compare_into(b, scope, OP_Ne if e.negated else OP_Eq, e.left, e.right, ra, rb, target, nulleq=True)


def _isnull(b, scope, e, target):
    r = code_temp(b, scope, e.expr)
    end = b.new_label()
    b.emit(OP_Integer, 1, target)
    b.emit(OP_IsNull if e.__class__ is ast.IsNull else OP_NotNull, r, end)
    b.emit(OP_Integer, 0, target)
    b.resolve(end)


def _between(b, scope, e, target):
    x = code_temp(b, scope, e.expr)
    lo = code_temp(b, scope, e.low)
    hi = code_temp(b, scope, e.high)
    r1 = b.alloc_reg()
    r2 = b.alloc_reg()
    _compare_into(b, scope, OP_Ge, e.expr, e.low, x, lo, r1)
    _compare_into(b, scope, OP_Le, e.expr, e.high, x, hi, r2)
    b.emit(OP_And, r1, r2, target)
    if e.negated:
        b.emit(OP_Not, target, target)


def _like(b, scope, e, target):
    name = e.op.lower()
    args = [e.pattern, e.expr] + ([e.escape] if e.escape is not None else [])
    _call(b, scope, name, args, target)
    if e.negated:
        b.emit(OP_Not, target, target)


def _cast(b, scope, e, target):
    code_expr(b, scope, e.expr, target)
    b.emit(OP_Cast, target, type_affinity(e.type_name))


def _collate(b, scope, e, target):
    code_expr(b, scope, e.expr, target)


def _case(b, scope, e, target):
    end = b.new_label()
    base = code_temp(b, scope, e.base) if e.base is not None else None
    for when, then in e.whens:
        nxt = b.new_label()
        if base is not None:
            r = code_temp(b, scope, when)
            aff = compare_affinity(scope, e.base, when)
            b.emit(OP_Ne, r, nxt, base, binary_collation(scope, e.base, when), aff | SQLITE_JUMPIFNULL)
        else:
            code_if_false(b, scope, when, nxt, True)
        code_expr(b, scope, then, target)
        b.emit(OP_Goto, 0, end)
        b.resolve(nxt)
    if e.else_ is not None:
        code_expr(b, scope, e.else_, target)
    else:
        b.emit(OP_Null, 0, target)
    b.resolve(end)


def _call(b, scope, name, args, target):
    fd = b.conn.functions.lookup(name, len(args))
    first = b.alloc_reg(max(len(args), 1))
    for k, a in enumerate(args):
        code_expr(b, scope, a, first + k)
    b.emit(OP_Function, 0, first, target, fd, len(args), name)


def _function(b, scope, e, target):
    nargs = len(e.args or ())
    fd = b.conn.functions.lookup(e.name, nargs)
    if fd.kind == WINDOW or (fd.kind == AGGREGATE and e.over is not None):
        # A SELECT's window calls are rewritten first (translate/window.py); these are elsewhere.
        raise OperationalError(f"misuse of window function {e.name}()")
    if fd.kind == AGGREGATE:
        if not scope.agg_ok:
            raise OperationalError(f"misuse of aggregate function {e.name}()")
        raise OperationalError(f"misuse of aggregate: {e.name}()")
    if e.distinct:
        raise OperationalError("DISTINCT aggregates must have exactly one argument")
    if e.filter is not None or e.over is not None:
        raise OperationalError(f"{e.name}() may not be used as a window function")
    if fd.fn is _scalar.coalesce or fd.fn is _scalar.ifnull:
        _coalesce(b, scope, e.args, target)
        return
    if fd.fn is _scalar.iif:
        _iif(b, scope, e.args, target)
        return
    _call(b, scope, e.name, e.args or [], target)


def _coalesce(b, scope, args, target):
    """coalesce() / ifnull() inline, as SQLite codes them: an argument is computed only while
    those before it were NULL, so a later one's error (integer overflow) may never happen."""
    done = b.new_label()
    r = b.alloc_reg()
    code_expr(b, scope, args[0], r)
    for a in args[1:]:
        b.emit(OP_NotNull, r, done)
        code_expr(b, scope, a, r)
    b.resolve(done)
    b.emit(OP_Copy, r, target)


def _iif(b, scope, args, target):
    """iif(c, x, y) as CASE WHEN c THEN x ELSE y END: only the branch taken is computed."""
    other = b.new_label()
    done = b.new_label()
    code_if_false(b, scope, args[0], other, True)
    code_expr(b, scope, args[1], target)
    b.emit(OP_Goto, 0, done)
    b.resolve(other)
    code_expr(b, scope, args[2], target)
    b.resolve(done)


def _in(b, scope, e, target):
    from limbodb.translate.subquery import code_in
    code_in(b, scope, e, target)


def _exists(b, scope, e, target):
    from limbodb.translate.subquery import code_exists
    code_exists(b, scope, e, target)


def _subquery(b, scope, e, target):
    from limbodb.translate.subquery import code_scalar_subquery
    code_scalar_subquery(b, scope, e, target)


def _vector(b, scope, e, target):
    raise OperationalError("row value misused")


def _star(b, scope, e, target):
    raise OperationalError("near \"*\": syntax error")


def _raise(b, scope, e, target):
    from limbodb.translate.trigger import code_raise
    code_raise(b, scope, e, target)


_CODERS = {
    ast.Literal: _literal, ast.Column: _column, ast.Param: _param, ast.Unary: _unary,
    ast.Binary: _binary, ast.Is: _is, ast.IsNull: _isnull, ast.NotNull: _isnull,
    ast.Between: _between, ast.Like: _like, ast.Cast: _cast, ast.Collate: _collate,
    ast.Case: _case, ast.FunctionCall: _function, ast.In: _in, ast.Exists: _exists,
    ast.Subquery: _subquery, ast.Vector: _vector, ast.Star: _star, ast.Raise: _raise,
}


# ------------------------------------------------------------------ jumps

def code_if_true(b, scope, e, label, jump_if_null):
    """Jump to ``label`` if ``e`` is true (or NULL, when ``jump_if_null``)."""
    _jump(b, scope, e, label, jump_if_null, True)


def code_if_false(b, scope, e, label, jump_if_null, outer_on=False):
    """Jump to ``label`` if ``e`` is false (or NULL, when ``jump_if_null``).

    ``outer_on``: ``e`` is a term of an outer join's ON, which SQLite never simplifies
    (EP_OuterON: ``x OR 1`` evaluates ``x`` there).
    """
    _jump(b, scope, e, label, jump_if_null, False, outer_on)


def _simplified_and_or(e):
    """SQLite's sqlite3ExprSimplifiedAndOr: an AND/OR with a side that is always true or
    always false is just one side, so a jump never evaluates the other (``x OR 1``)."""
    if e.__class__ is ast.Binary and (e.op == "AND" or e.op == "OR"):
        right = _simplified_and_or(e.right)
        left = _simplified_and_or(e.left)
        if _always(left, True) or _always(right, False):
            return right if e.op == "AND" else left
        if _always(right, True) or _always(left, False):
            return left if e.op == "AND" else right
    return e


def _always(e, truth):
    """ExprAlwaysTrue/ExprAlwaysFalse: TRUE, FALSE or an integer literal that fits 32 bits
    (SQLite's EP_IsTrue/EP_IsFalse; a sign makes it an expression)."""
    if e.__class__ is not ast.Literal or e.value.__class__ is not int:
        return False
    if e.kind == ast.LIT_VALUE:
        return e.value < 2 ** 31 and (e.value != 0) == truth
    return e.kind in (ast.LIT_TRUE, ast.LIT_FALSE) and (e.kind == ast.LIT_TRUE) == truth


def _jump(b, scope, e, label, jin, when, outer_on=False):
    if id(e) in scope.overrides:
        _jump_value(b, scope, e, label, jin, when)
        return
    cls = e.__class__
    if cls is ast.Binary:
        op = e.op
        if op == "AND" or op == "OR":
            simple = e if outer_on else _simplified_and_or(e)
            if simple is not e:
                _jump(b, scope, simple, label, jin, when)
                return
            if (op == "AND") != when:
                # AND jumping when false / OR jumping when true: either side decides.
                _jump(b, scope, e.left, label, jin, when, outer_on)
                _jump(b, scope, e.right, label, jin, when, outer_on)
            else:
                skip = b.new_label()
                _jump(b, scope, e.left, skip, not jin, not when, outer_on)
                _jump(b, scope, e.right, label, jin, when, outer_on)
                b.resolve(skip)
            return
        if op in _CMP and e.left.__class__ is not ast.Vector and e.right.__class__ is not ast.Vector:
            ra = code_temp(b, scope, e.left)
            rb = code_temp(b, scope, e.right)
            opcode = _CMP[op] if when else _NEGATE[_CMP[op]]
            aff = compare_affinity(scope, e.left, e.right)
            b.emit(opcode, rb, label, ra, binary_collation(scope, e.left, e.right),
                   aff | (SQLITE_JUMPIFNULL if jin else 0))
            return
        if op in _CMP:
            _vector_jump(b, scope, e, label, jin, when)
            return
    elif cls is ast.Unary and e.op == "NOT":
        _jump(b, scope, e.operand, label, jin, not when, outer_on)
        return
    elif cls is ast.IsNull or cls is ast.NotNull:
        r = code_temp(b, scope, e.expr)
        is_null = (cls is ast.IsNull) == when
        b.emit(OP_IsNull if is_null else OP_NotNull, r, label)
        return
    elif cls is ast.Is:
        ra = code_temp(b, scope, e.left)
        rb = code_temp(b, scope, e.right)
        eq = (not e.negated) == when
        b.emit(OP_Eq if eq else OP_Ne, rb, label, ra, binary_collation(scope, e.left, e.right),
               compare_affinity(scope, e.left, e.right) | SQLITE_NULLEQ)
        return
    elif cls is ast.Between and not e.negated:
        x = code_temp(b, scope, e.expr)
        lo = code_temp(b, scope, e.low)
        hi = code_temp(b, scope, e.high)
        fl = SQLITE_JUMPIFNULL if jin else 0
        a1 = compare_affinity(scope, e.expr, e.low)
        a2 = compare_affinity(scope, e.expr, e.high)
        c1 = binary_collation(scope, e.expr, e.low)
        c2 = binary_collation(scope, e.expr, e.high)
        if when:
            skip = b.new_label()
            b.emit(OP_Lt, lo, skip, x, c1, a1 | (0 if jin else SQLITE_JUMPIFNULL))
            b.emit(OP_Le, hi, label, x, c2, a2 | fl)
            b.resolve(skip)
        else:
            b.emit(OP_Lt, lo, label, x, c1, a1 | fl)
            b.emit(OP_Gt, hi, label, x, c2, a2 | fl)
        return
    _jump_value(b, scope, e, label, jin, when)


def _jump_value(b, scope, e, label, jin, when):
    r = code_temp(b, scope, e)
    b.emit(OP_If if when else OP_IfNot, r, label, 1 if jin else 0)


def _vector_jump(b, scope, e, label, jin, when):
    """Row-value comparison ``(a, b) op (c, d)``, compared left to right."""
    left, right = e.left, e.right
    if left.__class__ is not ast.Vector or right.__class__ is not ast.Vector or \
            len(left.items) != len(right.items):
        raise OperationalError("row value misused")
    op = e.op
    n = len(left.items)
    ra = [code_temp(b, scope, x) for x in left.items]
    rb = [code_temp(b, scope, x) for x in right.items]
    true_l = label if when else b.new_label()
    false_l = b.new_label() if when else label
    null_l = label if jin else (b.new_label())
    done = b.new_label()
    for k in range(n):
        aff = compare_affinity(scope, left.items[k], right.items[k])
        coll = binary_collation(scope, left.items[k], right.items[k])
        b.emit(OP_IsNull, ra[k], null_l)
        b.emit(OP_IsNull, rb[k], null_l)
        last = k == n - 1
        if op == "=":
            b.emit(OP_Ne, rb[k], false_l, ra[k], coll, aff)
            if last:
                b.emit(OP_Goto, 0, true_l)
        elif op == "!=":
            b.emit(OP_Ne, rb[k], true_l, ra[k], coll, aff)
            if last:
                b.emit(OP_Goto, 0, false_l)
        else:
            strict = {"<": OP_Lt, "<=": OP_Lt, ">": OP_Gt, ">=": OP_Gt}[op]
            if not last:
                b.emit(strict, rb[k], true_l, ra[k], coll, aff)
                b.emit(OP_Ne, rb[k], false_l, ra[k], coll, aff)
            else:
                b.emit(_CMP[op], rb[k], true_l, ra[k], coll, aff)
                b.emit(OP_Goto, 0, false_l)
    if not jin:
        b.resolve(null_l)
        b.emit(OP_Goto, 0, done)
    if when:
        b.resolve(false_l)
    else:
        b.resolve(true_l)
    b.resolve(done)


def walk(e):
    """Every node of an expression tree, not descending into subqueries."""
    stack = [e]
    while stack:
        n = stack.pop()
        if n is None:
            continue
        yield n
        if n.__class__ in (ast.Subquery, ast.Exists) or (n.__class__ is ast.In and n.select is not None):
            if n.__class__ is ast.In:
                stack.append(n.expr)
            continue
        for f in n._fields:
            v = getattr(n, f, None)
            if isinstance(v, ast.Node):
                stack.append(v)
            elif isinstance(v, (list, tuple)):
                for x in v:
                    if isinstance(x, ast.Node):
                        stack.append(x)
                    elif isinstance(x, tuple):
                        stack.extend(y for y in x if isinstance(y, ast.Node))


def is_aggregate_call(conn, e):
    if e.__class__ is not ast.FunctionCall or e.over is not None:
        return False
    fd = conn.functions.get(e.name, len(e.args or ()))
    return fd is not None and fd.kind == AGGREGATE

