"""Outer WHERE terms run inside a FROM subquery, before its result columns.

SQLite 3.40 copies each AND-term of the outer WHERE (and of an inner join's ON)
that reads one FROM subquery only (a view, a CTE named once) into that
subquery's WHERE, or its HAVING when it aggregates, each column replaced by the
subquery's result expression (pushDownWhereTerms); the outer copy stays. The
subquery then never computes the rows the term rejects: an error in a result
column (abs() of the smallest integer) or a call it makes does not happen for
them. Where SQLite flattens the subquery instead (translate/flatten.py) the
outer WHERE runs before the result columns as well: the term is moved, not
copied, so that it still runs once per row. A term that names a column whose
owner is not certain (a name two FROM items have, a USING column) stays out.
Restrictions are numbered as in select.c. Mirrors sqlite src/select.c
pushDownWhereTerms and substExpr, src/expr.c sqlite3ExprIsTableConstraint
and sqlite3ExprImpliesNonNullRow.
"""

import copy

from limbodb.errors import OperationalError
from limbodb.functions import AGGREGATE
from limbodb.parser import ast
from limbodb.translate import flatten
from limbodb.translate.attach import bound_db, lookup
from limbodb.translate.expr import is_aggregate_call, walk

_ROWID_NAMES = frozenset(("rowid", "oid", "_rowid_"))

# How a term goes into the subquery: pushed down (a copy SQLite's rules allow), copied
# because SQLite merges it with the flattened subquery, moved there (it runs only there).
_PUSH = 0
_COPY = 1
_MOVE = 2


def plan(b, core, parent, items, item, sub, alias, names, parent_scope, ctes, push):
    """What of ``core``'s WHERE and ON goes into ``sub`` (FROM item ``item``, shown as
    ``alias`` with column ``names`` or None): (new terms per arm of ``sub``, ids of the
    WHERE terms moved), or None for nothing. ``parent``: flatten.parent_of(core);
    ``push``: whether SQLite may push terms into it at all (not a CTE it materializes or
    names twice: restriction 7). The moved ones are recorded as
    ``b.flatten_facts[("moved", id(core))] = (core, ids)``, for select.py to leave out."""
    from limbodb.translate.select import _unique_names, split_and
    where = split_and(core.where)
    if not where and not any(it.on is not None for it in items):
        return None
    if any((it.join_type or 0) & ast.JT_RIGHT for it in items):
        return None                                     # (10); limbodb's RIGHT JOIN is left alone
    cores = sub.cores
    if any(arm.__class__ is not ast.SelectCore or _foreign_aggregate(b, arm) for arm in cores):
        return None
    if any(rc.expr.__class__ is ast.Star for arm in cores for rc in arm.columns):
        cores = [_written_out(b, arm, parent_scope, ctes) for arm in
                 flatten.expand_stars(b, cores, parent_scope, ctes)]
        if any(arm is None for arm in cores):
            return None
    if names is None:
        names = [flatten.column_name(rc) for rc in cores[0].columns]
    if len(names) != len(cores[0].columns):
        return None
    index = {}
    for k, n in enumerate(_unique_names(names)):
        index.setdefault(n.lower(), k)
    owner = _Owner(b, items, item, alias, index, parent_scope, ctes)
    tree = _where_and_on(core, items)
    # A LEFT JOIN whose right side's NULL row the WHERE rejects is an inner join (its ON
    # a WHERE term): sqlite3Select's simplification, before flattening and push-down.
    inner = {id(it) for it in items if not (it.join_type or 0) & ast.JT_LEFT or _simplified(
        b, tree, it, owner if it is item else None, items, parent_scope, ctes)}
    on_terms = [t for it in items if it.on is not None and id(it) in inner for t in split_and(it.on)]
    if id(item) not in inner:
        candidates = [(t, _PUSH) for t in split_and(item.on)]           # (4), (5)
    else:
        outer = (item.join_type or 0) & ast.JT_OUTER or parent.left_join
        flat = flatten.flattens(b, parent, items, item, sub, parent_scope, ctes, parent.left_join) is True
        # Flattened, the outer WHERE runs before the subquery's result columns, in its order.
        mode = _PUSH if not flat else _COPY if outer else _MOVE
        candidates = [(t, mode) for t in where] + [(t, _PUSH if mode == _PUSH else _COPY) for t in on_terms]
        if mode == _PUSH:
            # SQLite pushes the last term first (its recursion takes the right side of an AND
            # first), each added after the ones before.
            candidates.reverse()
    can_push = push and sub.limit is None and _windows_allow(cores) and (   # (3), (6a), (6b)
        len(cores) == 1 or all(op == "UNION ALL" for op in sub.ops))         # (8)
    pushed = []
    moved = set()
    for term, mode in candidates:
        ok = _reads_only(b, term, owner, mode == _MOVE)
        if ok is None or not (mode == _MOVE or ok and (mode == _COPY or can_push)):
            continue
        new_terms = [_subst(term, owner, arm) for arm in cores]
        if not all(_built_from(b, t, _partition_by(arm)) for arm, t in zip(cores, new_terms)):  # (6c)
            continue
        pushed.append(new_terms)
        if mode == _MOVE:
            moved.add(id(term))
    if moved:
        b.flatten_facts[("moved", id(core))] = (core, moved)
    return (pushed, moved) if pushed else None


def push_down(b, planned, sub):
    """``sub`` (what flatten.pruned made of the subquery) with the terms of plan() added:
    to the WHERE of each arm, or its HAVING if it aggregates (SF_Aggregate)."""
    new_cores = []
    for k, arm in enumerate(sub.cores):
        where_, having = arm.where, arm.having
        agg = flatten.is_aggregate_core(b, arm)
        group = _group_by(arm) if agg and arm.group_by else None
        for new_terms in planned[0]:
            # With a GROUP BY, a HAVING term made of grouping terms and constants runs as a
            # WHERE term (select.c havingToWhere).
            if agg and not (group is not None and _built_from(b, new_terms[k], group)
                            and not _always_false(new_terms[k])):
                having = new_terms[k] if having is None else ast.Binary("AND", having, new_terms[k])
            else:
                where_ = new_terms[k] if where_ is None else ast.Binary("AND", where_, new_terms[k])
        new = ast.SelectCore(arm.distinct, arm.columns, arm.from_, where_, arm.group_by, having, arm.windows)
        facts = b.flatten_facts.get(id(arm))
        if facts is not None:
            b.flatten_facts[id(new)] = (new, facts[1].replace(where=facts[1].where or where_ is not None))
        new_cores.append(new)
    return ast.Select(sub.with_, new_cores, sub.ops, sub.order_by, sub.limit, sub.offset)


def _written_out(b, arm, parent_scope, ctes):
    """``arm`` with a ``*`` over its only FROM item written out as the names it reads (an
    unnamed subquery's, which flatten.expand_stars leaves), or None if it has another."""
    if not any(rc.expr.__class__ is ast.Star for rc in arm.columns):
        return arm
    if len(flatten.from_items(arm.from_)) != 1:
        return None
    from limbodb.translate.select import result_columns
    cols = result_columns(b, ast.Select(None, [arm], [], None, None, None), parent_scope, ctes)
    if len({c.name.lower() for c in cols}) != len(cols):
        return None
    return flatten.stars_written(arm, cols, lambda c: ast.Column(c.name))


def _foreign_aggregate(b, arm):
    """Whether an aggregate call in ``arm`` may belong to a query around it (its argument
    names a table ``arm``'s FROM does not): then whether ``arm`` aggregates is not known here."""
    mine = set()
    for it in flatten.from_items(arm.from_):
        name = getattr(it, "alias", None) or getattr(it, "name", None)
        if name is not None:
            mine.add(name.lower())
    for e in [rc.expr for rc in arm.columns] + [arm.having]:
        for n in walk(e):
            if is_aggregate_call(b.conn, n) and any(
                    c.__class__ is ast.Column and c.table is not None and c.table.lower() not in mine
                    for c in flatten.nodes(n)):
                return True
    return False


def forget_moves(b, core):
    """Called as the first FROM subquery of ``core`` is opened: its moves are decided anew."""
    b.flatten_facts.pop(("moved", id(core)), None)


class _Owner:
    """Which FROM item a column reference names: the subquery's column index, or None."""

    __slots__ = ("b", "items", "item", "alias", "index", "parent_scope", "ctes", "_others")

    def __init__(self, b, items, item, alias, index, parent_scope, ctes):
        self.b = b
        self.items = items
        self.item = item
        self.alias = alias.lower() if alias is not None else None
        self.index = index
        self.parent_scope = parent_scope
        self.ctes = ctes
        self._others = None

    def column(self, col):
        """The subquery's column index ``col`` surely names, or None (another item's, an
        outer query's, one whose owner is not certain)."""
        name = col.name.lower()
        if col.schema is not None or name in _ROWID_NAMES:
            return None
        k = self.index.get(name)
        if col.table is not None:
            return k if self.alias is not None and col.table.lower() == self.alias else None
        if k is None:
            return None
        merged = any((it.join_type or 0) & ast.JT_NATURAL or any(u.lower() == name for u in it.using or ())
                     for it in self.items)
        seen = False
        for it, names in zip(self.items, self.others()):
            if it is self.item:
                seen = True
            elif names is None:
                return None
            elif name in names:
                # A USING or NATURAL column is the leftmost item's; a name two items have
                # otherwise is ambiguous.
                if not (merged and seen and ((it.join_type or 0) & ast.JT_NATURAL or any(
                        u.lower() == name for u in it.using or ()))):
                    return None
        return k

    def named_in(self, sel):
        """Whether a column name in ``sel`` may name a column of the subquery or of another
        FROM item (which the subquery's WHERE does not see)."""
        aliases = _item_aliases(self.items)
        for n in flatten.nodes(sel):
            if n.__class__ is ast.Column:
                name = n.name.lower()
                if n.table is not None:
                    if n.table.lower() in aliases:
                        return True
                elif name in self.index or any(names is None or name in names for it, names in zip(
                        self.items, self.others()) if it is not self.item):
                    return True
        return False

    def others(self):
        """Per FROM item, its lowercased column names (None: not known; the subquery's: None)."""
        if self._others is None:
            self._others = [None if it is self.item else _item_names(self.b, it, self.parent_scope, self.ctes)
                            for it in self.items]
        return self._others


def _item_aliases(items):
    """Lowercased names that qualify a column of FROM ``items``: the tables inside a
    parenthesized join read as a subquery too."""
    out = set()
    for it in items:
        if it.__class__ is ast.JoinGroup:
            out |= _item_aliases(it.items)
        out.add((it.alias or getattr(it, "name", None) or "").lower())
    return out


def _item_names(b, it, parent_scope, ctes):
    """Lowercased column names of FROM item ``it``, or None if not known."""
    from limbodb.translate.select import result_columns
    try:
        if it.__class__ is ast.SubqueryRef:
            return {c.name.lower() for c in result_columns(b, it.select, parent_scope, ctes)}
        if it.__class__ is not ast.TableRef:
            return None
        lname = it.name.lower()
        if it.schema is None and lname in ctes:
            cte = ctes[lname]
            if cte.__class__ is not ast.CTE:
                return {n.lower() for n in cte.names}
            if cte.columns:
                return {n.lower() for n in cte.columns}
            inner = {k: v for k, v in ctes.items() if k != lname}
            return {c.name.lower() for c in result_columns(b, cte.select, parent_scope, inner)}
        found = lookup(b.conn, it.name, it.schema)
        if found is None:
            return None
        if found[0] == "view":
            view = found[1]
            if view.columns:
                return {n.lower() for n in view.columns}
            with bound_db(b.conn, found[2]):
                return {c.name.lower() for c in result_columns(b, view.select, parent_scope, {})}
        return {c.name.lower() for c in found[1].columns}
    except OperationalError:
        return None


def _reads_only(b, term, owner, move):
    """Whether ``term`` reads the subquery's columns only, with deterministic functions
    (sqlite3ExprIsTableConstant): True; False if it does but calls a function that is
    not deterministic or holds a subquery that does not read the subquery's columns (a
    term only a ``move`` takes); None if it reads anything else, holds an aggregate or a
    window function."""
    deterministic = True
    for n in walk(term):
        cls = n.__class__
        if cls is ast.Column:
            if owner.column(n) is None:
                return None
        elif cls in (ast.Subquery, ast.Exists) or (cls is ast.In and n.select is not None):
            if not move or owner.named_in(n.select):
                return None
            deterministic = False
        elif cls in (ast.Raise, ast.Star) or (cls is ast.In and n.table is not None):
            return None
        elif cls is ast.FunctionCall:
            if n.over is not None or n.filter is not None or n.order_by:
                return None
            fd = b.conn.functions.get(n.name, len(n.args or ()))
            if fd is None or fd.kind == AGGREGATE:
                return None
            if not fd.deterministic:
                deterministic = False
        elif cls is ast.Like:
            if n.op not in ("LIKE", "GLOB"):
                return None
        elif cls is ast.Literal and n.kind >= ast.LIT_CURRENT_TIME:
            deterministic = False
    return deterministic


def _subst(term, owner, arm):
    """A copy of ``term`` with each column of the subquery replaced by ``arm``'s result
    expression (substExpr)."""
    if term.__class__ is ast.Column:
        e = arm.columns[owner.column(term)].expr
        # A double-quoted name stays the very node: where it names only an alias it is a
        # string, and the query knows such nodes by identity (Scope.alias_blind).
        keep = {id(n): n for n in flatten.nodes(e) if n.__class__ is ast.Column and n.dq}
        return copy.deepcopy(e, keep)
    if term.__class__ in (ast.Subquery, ast.Exists, ast.Select):
        return term                                      # reads none of the subquery's columns
    new = term.__class__.__new__(term.__class__)
    for f in term._fields:
        setattr(new, f, _subst_value(getattr(term, f, None), owner, arm))
    return new


def _subst_value(v, owner, arm):
    if isinstance(v, ast.Node):
        return _subst(v, owner, arm)
    if isinstance(v, list):
        return [_subst_value(x, owner, arm) for x in v]
    if isinstance(v, tuple):
        return tuple(_subst_value(x, owner, arm) for x in v)
    return v


def _windows(arm):
    """The window definitions of ``arm``'s window calls, named windows resolved."""
    named = {w.name.lower(): w.window for w in arm.windows or ()}
    out = []
    roots = [rc.expr for rc in arm.columns]
    for n in (x for r in roots for x in flatten.nodes(r)):
        if n.__class__ is ast.FunctionCall and n.over is not None:
            w = n.over
            if w.__class__ is str:
                w = named.get(w.lower())
            while w is not None and w.base is not None and not w.partition_by:
                w = named.get(w.base.lower())
            out.append(w)
    return out


def _windows_allow(cores):
    """(6b) no window in a compound; (6a) one PARTITION BY for every window of a single query,
    and one there is (SF_MultiPart, pWin->pPartition)."""
    if len(cores) > 1:
        return not any(_windows(arm) for arm in cores)
    wins = _windows(cores[0])
    if not wins:
        return True
    if any(w is None or not w.partition_by for w in wins):
        return False
    first = ast.dump(wins[0].partition_by)
    return all(ast.dump(w.partition_by) == first for w in wins)


def _partition_by(arm):
    """The PARTITION BY terms every window of ``arm`` has (None: no window)."""
    wins = _windows(arm)
    return list(wins[0].partition_by) if wins else None


def _group_by(arm):
    """``arm``'s GROUP BY terms, a result column number read as that column's expression."""
    out = []
    for e in arm.group_by:
        if e.__class__ is ast.Literal and e.value.__class__ is int and 0 < e.value <= len(arm.columns):
            e = arm.columns[e.value - 1].expr
        out.append(e)
    return out


def _built_from(b, term, exprs):
    """Whether ``term`` reads nothing but the expressions ``exprs`` (without a collation of
    their own) and calls deterministic functions only (sqlite3ExprIsConstantOrGroupBy);
    ``exprs`` None: always."""
    if exprs is None:
        return True
    parts = {ast.dump(e) for e in exprs if e.__class__ is not ast.Collate}
    stack = [term]
    while stack:
        n = stack.pop()
        if ast.dump(n) in parts:
            continue
        cls = n.__class__
        if cls is ast.Column or cls in (ast.Subquery, ast.Exists) or (cls is ast.In and n.select is not None):
            return False
        if cls is ast.FunctionCall:
            fd = b.conn.functions.get(n.name, len(n.args or ()))
            if fd is None or not fd.deterministic or fd.kind == AGGREGATE or n.over is not None:
                return False
        if cls is ast.Literal and n.kind >= ast.LIT_CURRENT_TIME:
            return False
        stack.extend(flatten.children(n))
    return True


def _always_false(e):
    """ExprAlwaysFalse: the integer literal 0 (or FALSE)."""
    return e.__class__ is ast.Literal and e.value.__class__ is int and e.value == 0


def _where_and_on(core, items):
    """The WHERE as SQLite has it by then: the ON of each join ANDed after it in turn, that
    of an outer join standing for no column (EP_OuterON)."""
    tree = core.where
    for it in items:
        if it.on is not None:
            on = ast.Literal(None) if (it.join_type or 0) & ast.JT_OUTER else it.on
            tree = on if tree is None else ast.Binary("AND", tree, on)
    return tree


def _simplified(b, tree, it, owner, items, parent_scope, ctes):
    """Whether LEFT JOIN item ``it`` is an inner join because ``tree`` rejects its NULL row
    (``owner``: its _Owner, or None to make one)."""
    if (it.join_type or 0) & ast.JT_RIGHT:
        return False
    if owner is None:
        names = _item_names(b, it, parent_scope, ctes)
        if names is None:
            return False
        alias = it.alias if it.alias is not None or it.__class__ is not ast.TableRef else it.name
        owner = _Owner(b, items, it, alias, dict.fromkeys(names, 0), parent_scope, ctes)
    return _implies_non_null_row(tree, owner)


def _implies_non_null_row(p, owner):
    """Whether ``p`` is false or NULL when the subquery's columns are all NULL
    (sqlite3ExprImpliesNonNullRow, the AND tree walked as it does): a comparison or
    arithmetic reaching one of them outside IS, IS NULL, OR, CASE, IN, a call and the like."""
    if p is None:
        return False
    while p.__class__ is ast.Collate or (
            p.__class__ is ast.FunctionCall and p.name.lower() in ("likely", "unlikely", "likelihood")
            and p.args):
        p = p.expr if p.__class__ is ast.Collate else p.args[0]
    if p.__class__ is ast.NotNull:
        p = p.expr
    else:
        while p.__class__ is ast.Binary and p.op == "AND":
            if _implies_non_null_row(p.left, owner):
                return True
            p = p.right
    return _reaches_column(p, owner)


_PRUNED = (ast.Is, ast.IsNull, ast.NotNull, ast.Vector, ast.Case, ast.In, ast.FunctionCall, ast.Like,
           ast.Subquery, ast.Exists)


def _reaches_column(n, owner):
    cls = n.__class__
    if cls is ast.Column:
        return owner.column(n) is not None
    if cls in _PRUNED or (cls is ast.Binary and n.op == "OR"):
        return False
    if cls is ast.Binary and n.op == "AND":
        return _reaches_column(n.left, owner) and _reaches_column(n.right, owner)
    if cls is ast.Between:
        return _reaches_column(n.expr, owner)
    for f in n._fields:
        v = getattr(n, f, None)
        if isinstance(v, ast.Node) and _reaches_column(v, owner):
            return True
    return False
