"""RIGHT and FULL OUTER JOIN: the matched-row set, the no-match pass and USING names.

The right table of a RIGHT (or FULL) join is scanned inside the loop nest like any
other; each of its rows that passes the ON terms has its key (rowid, or the PRIMARY
KEY of a WITHOUT ROWID table) recorded in an ephemeral index. After the loop nest, a
second pass over the table runs the interior of the nest (the later levels and the
body) for every row never recorded, with the levels to its left on a NULL row. That
interior is entered by a jump and left at the level's continue point, where a flag
register set only during the pass sends control back to the pass's loop. WHERE terms
are tested at or inside the last RIGHT JOIN level, so they see the no-match rows too
and never decide which rows matched. FULL JOIN is LEFT JOIN plus this.
With any RIGHT JOIN in the FROM, an unqualified USING column is the right table's
column (RIGHT) or the coalesce() of every side (FULL), and a USING equality reads the
coalesce() of the left tables that share the column. An ON reading a table to its
right is SQLite's error for an outer join (a LEFT JOIN the WHERE makes inner aside) or
with a RIGHT JOIN in the FROM.
Mirrors sqlite src/wherecode.c sqlite3WhereRightJoinLoop, select.c sqlite3ProcessJoin,
selectExpander and sqlite3Select, whereexpr.c exprAnalyze, resolve.c lookupName.
"""

from limbodb.errors import OperationalError
from limbodb.parser import ast
from limbodb.storage.record import KeyInfo
from limbodb.translate.expr import code_column, walk
from limbodb.translate.join_using import bound_column
from limbodb.vdbe.insn import (
    MAKERECORD_UNPACKED, OP_Found, OP_Goto, OP_IdxInsert, OP_If, OP_Integer, OP_MakeRecord, OP_Next,
    OP_NullRow, OP_OpenEphemeral, OP_Rewind,
)


def has_right(sources):
    """Does a FROM list of (source, (join_type, on, using)) hold a RIGHT or FULL join?"""
    return any(jt & ast.JT_RIGHT for _s, (jt, _on, _u) in sources)


def bind_using_names(scope, sources):
    """Point unqualified USING/NATURAL names at the columns SQLite's lookupName picks.

    Left of a RIGHT JOIN the later (right) table's column wins; a FULL JOIN merges
    every side with coalesce(). Names no RIGHT JOIN merges are left to Scope.resolve.
    """
    if not has_right(sources):
        return
    refs = {}
    for name in {n for s, _j in sources for n in s.using}:
        hits = []
        changed = False
        for src, (jt, _on, _u) in sources:
            for i in _name_matches(src, name):
                if not hits:
                    hits = [(src, i)]
                elif name not in src.using:
                    hits = None  # two tables not merged by USING: resolve reports the ambiguity
                    break
                elif jt & ast.JT_RIGHT:
                    changed = True
                    if jt & ast.JT_LEFT:
                        hits.append((src, i))
                    else:
                        hits = [(src, i)]
            if hits is None:
                break
        if hits and changed:
            refs[name] = hits
    scope.join_refs = refs


def _name_matches(src, name):
    """The columns of ``src`` a bare ``name`` matches: in a parenthesized join's subquery,
    each item's column of that name up to its first USING column (lookupName's loop)."""
    if src.nested is None:
        i = src.find(name)
        return () if i is None else (i,)
    out = []
    for j, entry in enumerate(src.nested):
        if entry[2].lower() == name:
            out.append(j)
            if entry[4]:
                break
    return out


def star_unqualified(sources, i, lname):
    """``*`` lists column ``lname`` of source ``i`` by its bare name (so it reads as
    lookupName resolves it) when a RIGHT JOIN follows and a later USING merges it."""
    right = [k for k, (_s, (jt, _on, _u)) in enumerate(sources) if jt & ast.JT_RIGHT]
    return bool(right) and i < right[-1] and any(lname in s.using_outer for s, _j in sources[i + 1:])


def using_terms(scope, sources):
    """USING/NATURAL equalities of each source of a FROM list with a RIGHT JOIN: the left
    side is the coalesce() of every earlier table of the join's left side (Source.join_span)
    with the column, each of which (but the first) must have merged it by USING itself."""
    out = []
    error = None
    for k, (src, (jt, _on, _using)) in enumerate(sources):
        if error is not None and jt & ast.JT_NATURAL:
            break  # sqlite3ProcessJoin stops at a NATURAL join once an error is recorded
        terms = []
        start = src.join_span[0] if src.join_span is not None else 0
        # SQLite's order: as written for USING, the right table's column order for NATURAL.
        for (first, j), (right, rj) in src.join_pairs:
            n = first.col_names[j].lower()
            left = [s for s, _j in sources[start:k] if s.find(n) is not None]
            if any(n not in s.using for s in left[1:]):
                # SQLite goes on with the next name and join: the last one is reported.
                error = f"ambiguous reference to {n} in USING()"
                continue
            cols = [bound_column(scope, s, s.find(n)) for s in left]
            lhs = cols[0] if len(cols) == 1 else ast.FunctionCall("coalesce", cols)
            terms.append(ast.Binary("=", lhs, bound_column(scope, right, rj)))
        out.append(terms)
    if error is not None:
        raise OperationalError(error)
    return out


def simplify_left_joins(scope, levels, where, nsrc, term_sources):
    """Make a LEFT JOIN whose ON reads a later table an inner join when the WHERE or an
    inner join's ON needs its right table on a real row: SQLite has done so (sqlite
    src/select.c sqlite3Select) before it looks at the tables an ON reads. Its ON is then
    an inner join's, tested where the tables it reads are. Other LEFT JOINs stay (the
    rows are the same), but count as SQLite's conversion does."""
    if not any(lv.left and not lv.right and _reads_later(scope, lv.join[1], k, nsrc, term_sources)
               for k, lv in enumerate(levels)):
        return
    inner = set()
    for k, lv in enumerate(levels):
        if not lv.left or lv.right:
            continue
        # SQLite's WHERE by then: the WHERE, then each ON in turn (an outer join's tells nothing).
        tree = None
        for t in where:
            tree = t if tree is None else ast.Binary("AND", tree, t)
        for i, other in enumerate(levels):
            on = other.join[1]
            if on is not None:
                on = _OUTER_ON if (other.left or other.right) and i not in inner else on
                tree = on if tree is None else ast.Binary("AND", tree, on)
        if tree is not None and implies_non_null_row(scope, tree, lv.src):
            inner.add(k)
            if _reads_later(scope, lv.join[1], k, nsrc, term_sources):
                lv.left = False


def _reads_later(scope, on, k, nsrc, term_sources):
    """Does ON ``on`` of level ``k`` name a column of a later level?"""
    return on is not None and any(n.__class__ is ast.Column and max(term_sources(scope, n, nsrc), default=0) > k
                                  for n in walk(on))


def check_on_terms(scope, levels, nsrc, term_sources):
    """SQLite's "ON clause references tables to its right": an outer join's ON, or any ON
    once the FROM has a RIGHT JOIN, may read only its own and earlier tables."""
    any_right = any(lv.right for lv in levels)
    for k, lv in enumerate(levels):
        if lv.join[1] is None or not (lv.left or lv.right or any_right):
            continue
        # An outer join's ON is tested at its own level; an inner one may read the rest of
        # the parenthesized join it opens.
        limit = k if lv.left or lv.right else inner_on_level(lv.src, k)
        for n in walk(lv.join[1]):
            if n.__class__ is not ast.Column:
                continue
            used = term_sources(scope, n, nsrc)
            if used and max(used) > limit:
                if _names_resolve(scope, levels):
                    raise OperationalError("ON clause references tables to its right")
                return  # SQLite reports the name first: coding it does


def _names_resolve(scope, levels):
    """Does every column an ON names resolve? SQLite resolves them all before it looks at
    which tables an ON reads."""
    for lv in levels:
        if lv.join[1] is not None:
            for n in walk(lv.join[1]):
                if n.__class__ is ast.Column:
                    try:
                        scope.resolve(n)
                    except OperationalError:
                        return False
    return True


# An outer join's ON in SQLite's WHERE: it tells nothing about the tables' rows.
_OUTER_ON = ast.Literal(None)


def implies_non_null_row(scope, e, src):
    """sqlite3ExprImpliesNonNullRow as SQLite 3.40 has it: is ``e`` false or NULL whenever
    ``src`` is on its NULL row? Down the left-deep AND of ``e``, a left operand is asked
    the same (a NOT NULL one about its operand); the last right operand must read a column
    of ``src`` outside IS, IS NULL, NOT NULL, OR, IN, CASE and function calls (LIKE too),
    with both sides of an AND below it, BETWEEN's left operand."""
    while e.__class__ is ast.Collate:
        e = e.expr
    if e.__class__ is ast.NotNull:
        return _null_if_null(scope, e.expr, src)
    while e.__class__ is ast.Binary and e.op.upper() == "AND":
        if implies_non_null_row(scope, e.left, src):
            return True
        e = e.right
    return _null_if_null(scope, e, src)


def _null_if_null(scope, e, src):
    cls = e.__class__
    if cls is ast.Column:
        try:
            r = scope.resolve(e)
        except OperationalError:
            return False
        return r is not None and r[0] is scope and r[1] is src
    if cls is ast.Binary:
        op = e.op.upper()
        if op == "OR" or op in ("->", "->>"):
            return False
        if op == "AND":
            return _null_if_null(scope, e.left, src) and _null_if_null(scope, e.right, src)
        return _null_if_null(scope, e.left, src) or _null_if_null(scope, e.right, src)
    if cls is ast.Between:
        return _null_if_null(scope, e.expr, src)
    if cls is ast.Unary:
        return _null_if_null(scope, e.operand, src)
    if cls is ast.Cast or cls is ast.Collate:
        return _null_if_null(scope, e.expr, src)
    return False


def inner_on_level(src, k):
    """The last level an inner join's ON at level ``k`` may read: the end of the
    parenthesized join source ``k`` opens (Source.join_span), else ``k``."""
    span = getattr(src, "join_span", None)
    return span[1] - 1 if span is not None and span[0] < k < span[1] else k


def null_row(b, lv, lists=True):
    """Put level ``lv``'s cursors on a NULL row (``lists``: its IN-list cursor too, which
    is open only once the level has been entered)."""
    if not (lv.path is not None and lv.path.covering):
        b.emit(OP_NullRow, lv.src.cursor)
    if lv.index_cursor is not None:
        b.emit(OP_NullRow, lv.index_cursor)
    if lists and lv.list_cursor is not None:
        b.emit(OP_NullRow, lv.list_cursor)


def _key_columns(src):
    """Columns (-1: rowid) that identify a row of ``src``."""
    table = src.table
    if table is not None and table.without_rowid:
        return [ic.col for ic in next(i for i in table.indexes if i.origin == "pk").columns]
    return [-1]


class RightJoin:
    """One RIGHT/FULL level's matched set, pass flag and entry point."""

    __slots__ = ("match", "flag", "entry", "back", "key")

    def __init__(self, b, src):
        self.match = b.alloc_cursor()
        self.flag = b.alloc_reg()
        self.entry = b.new_label()
        self.back = b.new_label()
        self.key = _key_columns(src)

    def open(self, b):
        b.emit(OP_OpenEphemeral, self.match, 0, 0, KeyInfo([None] * len(self.key)))
        b.emit(OP_Integer, 0, self.flag)

    def _code_key(self, b, src):
        n = len(self.key)
        r = b.alloc_reg(n)
        for k, c in enumerate(self.key):
            code_column(b, src, c, r + k)
        return r, n

    def record(self, b, src):
        """The current row passed the ON terms: remember it, then start the interior."""
        r, n = self._code_key(b, src)
        skip = b.new_label()
        rec = b.alloc_reg()
        b.emit(OP_Found, self.match, skip, r, n)
        b.emit(OP_MakeRecord, r, n, rec, None, MAKERECORD_UNPACKED)
        b.emit(OP_IdxInsert, self.match, rec)
        b.resolve(skip)
        b.resolve(self.entry)

    def end_interior(self, b):
        """At the level's continue point: during the no-match pass, back to its loop."""
        b.emit(OP_If, self.flag, self.back)

    def no_match_pass(self, b, scope, lv, left_levels):
        """Run the interior for each row never matched, the levels to the left on NULL rows."""
        src = lv.src
        name = src.plan_name or src.name
        parent = b.add_plan(f"RIGHT-JOIN {name}", b.plan_parent)
        b.add_plan(f"SCAN {name}", parent)
        for other in left_levels:
            null_row(b, other, lists=False)
        b.emit(OP_Integer, 1, self.flag)
        # The level never reads only a secondary index (planner._best_path): the interior
        # reads the table's cursor, which the pass walks.
        cur = src.cursor
        done = b.new_label()
        if getattr(src, "emit_filter", None) is not None:
            src.emit_filter(b, scope, done)  # a table-valued function: run it again
        else:
            b.emit(OP_Rewind, cur, done)
        top = b.addr
        r, n = self._code_key(b, src)
        b.emit(OP_Found, self.match, self.back, r, n)
        b.emit(OP_Goto, 0, self.entry)
        b.resolve(self.back)
        b.emit(OP_Next, cur, top)
        b.resolve(done)
