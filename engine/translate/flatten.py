"""FROM-subquery result columns SQLite never evaluates, compiled as NULL.

SQLite 3.40 flattens a FROM subquery (a view, a CTE named once) into the
query around it when flattenSubquery's restrictions allow; a result column
the outer query never reads then disappears, so an error it would raise
(abs() of the smallest integer) or a function it would call never happens.
limbodb materializes every subquery; where SQLite would flatten, ``pruned``
gives the subquery with the columns the outer query cannot read replaced by
NULL. Where SQLite keeps the subquery (DISTINCT, aggregate, no FROM, LIMIT in
a join, a CTE named twice, ...) it computes every column, and so does limbodb.
Reads are found by name, conservatively: a name that might read a column keeps
it. A flattened subquery's own FROM subqueries are then judged against the
query it was merged into (``Parent``), as SQLite flattens outside in.
Mirrors sqlite src/select.c flattenSubquery; restrictions are numbered as there.
"""

from limbodb.parser import ast
from limbodb.translate.expr import is_aggregate_call, walk


class Parent:
    """What the query around a FROM subquery has that blocks flattening, merged from the
    queries already flattened into it: a join, an aggregate (``order_reqd``: one other than
    count(), min() or max(), or the query of an UPDATE FROM), DISTINCT, WHERE, ORDER BY
    (``order_copies``: its own, naming result columns only), LIMIT, being a compound's arm
    (``recursive``: of a recursive CTE), being the right side of an outer join.
    ``unknown``: whether SQLite flattened this query into the one around it was not worked
    out, so nothing is pruned inside it. ``complex``: the result columns of the query as
    written call functions or hold subqueries (SQLite's SF_ComplexResult, which flattening
    does not update); None: this core's own. ``distinct_ignored``: the core's own DISTINCT
    does not count, and a subquery flattened into it loses its ORDER BY (its rows go to a
    UNION or EXCEPT table: IgnorableDistinct, SF_NoopOrderBy); ``noop_order``: the latter
    part, which the queries flattened into it keep."""

    __slots__ = ("join", "agg", "order_reqd", "distinct", "where", "order", "order_copies", "limit",
                 "compound", "recursive", "left_join", "unknown", "complex", "distinct_ignored", "noop_order")

    def __init__(self, **kw):
        for f in self.__slots__:
            setattr(self, f, kw.pop(f, None if f == "complex" else False))
        assert not kw, kw

    def replace(self, **kw):
        return Parent(**{**{f: getattr(self, f) for f in self.__slots__}, **kw})


def note_with(b, sel):
    """Record how often the statement names each CTE of ``sel``'s WITH.

    SQLite materializes a CTE named twice or more (each naming of a CTE that
    names it counts again) unless it is NOT MATERIALIZED. A name inside a CTE of
    a nested WITH makes the count unknown (None).
    """
    ctes = sel.with_.ctes
    lnames = [c.name.lower() for c in ctes]
    body_ids = {id(c.select) for c in ctes}
    direct = {n: 0 for n in lnames}
    for n, nested in _table_names(sel, body_ids):
        if n in direct and direct[n] is not None:
            direct[n] = None if nested else direct[n] + 1
    inside = [dict.fromkeys(lnames, 0) for _ in ctes]
    for k, c in enumerate(ctes):
        for n, nested in _table_names(c.select, ()):
            if n in direct and n != lnames[k]:
                if nested:
                    direct[n] = None
                inside[k][n] += 1
    uses = {}

    def count(i, depth):
        n = lnames[i]
        if n in uses:
            return uses[n]
        if depth > len(ctes):
            return None  # a cycle
        total = direct[n]
        for k in range(len(ctes)):
            if inside[k][n]:
                m = count(k, depth + 1)
                total = None if m is None or total is None else total + inside[k][n] * m
        uses[n] = total
        return total
    for i, c in enumerate(ctes):
        b.flatten_facts[id(c)] = (c, count(i, 0))


def _table_names(root, skip_ids):
    """(lowercased name, inside a nested WITH's CTE) of each unqualified table name in
    ``root``; the selects in ``skip_ids`` are not entered."""
    stack = [(root, False)]
    while stack:
        n, nested = stack.pop()
        if n.__class__ is ast.TableRef:
            if n.schema is None:
                yield n.name.lower(), nested
        elif n.__class__ is ast.CTE:
            nested = True
        for x in children(n):
            if id(x) not in skip_ids:
                stack.append((x, nested))


def children(n):
    """The child nodes of AST node ``n`` (subqueries too), in field order."""
    out = []
    for f in n._fields:
        v = getattr(n, f, None)
        if isinstance(v, ast.Node):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            stack = [v]
            while stack:
                for x in stack.pop():
                    if isinstance(x, ast.Node):
                        out.append(x)
                    elif isinstance(x, (list, tuple)):
                        stack.append(x)
    return out


def nodes(root, skip=None):
    """Every node under ``root`` (subqueries too), except the subtree ``skip``."""
    stack = [root]
    while stack:
        n = stack.pop()
        if n is skip:
            continue
        yield n
        stack.extend(children(n))


def _facts(b, core):
    inherited = b.flatten_facts.get(id(core))
    if inherited is None:
        inherited = b.flatten_facts[id(core)] = (core, Parent())
    return inherited[1]


def mark_compound(b, sel, recursive=False):
    """The cores of a compound (or of a recursive CTE): their FROM subqueries see a compound
    parent, one with an ORDER BY if the compound has one. Without one, an arm whose rows
    go into a UNION or EXCEPT table (an operator other than UNION ALL to its right, or just
    to its left) has its DISTINCT ignored."""
    ops = sel.ops
    for k, core in enumerate(sel.cores):
        p = _facts(b, core)
        p.compound = True
        p.recursive = p.recursive or recursive
        p.order = p.order or bool(sel.order_by)
        # A compound's ORDER BY terms name its result columns (18).
        p.order_copies = p.order
        if not recursive and not sel.order_by and any(op != "UNION ALL" for op in ops[max(k - 1, 0):]):
            p.distinct_ignored = True


def mark_update(b, core):
    """The query UPDATE ... FROM runs: its subqueries keep their ORDER BY (SQLite's SF_UpdateFrom)."""
    _facts(b, core).order_reqd = True


def mark_window(b, core):
    """A query with window functions: SQLite moves its FROM into a new subquery (window.c
    sqlite3WindowRewrite), ordered by the window's PARTITION BY and ORDER BY and keeping the
    ORDER BY of its own subqueries; translate/window.py builds that query over the same FROM
    list, so the facts are kept under the list."""
    if not core.from_:
        return
    ordered = False
    for n in nodes(core):
        if n.__class__ is ast.FunctionCall and n.over is not None:
            w = n.over
            if not (w.__class__ is ast.WindowDef and w.base is None and not w.partition_by and not w.order_by):
                ordered = True
    inherited = b.flatten_facts.get(id(core))
    # Its ORDER BY terms are among its result columns (18).
    p = Parent(order=ordered, order_reqd=True, order_copies=ordered,
               unknown=inherited is not None and inherited[1].unknown, complex=False)
    b.flatten_facts[id(core.from_)] = (core.from_, p)


_UNORDERED_AGGREGATES = frozenset(("count", "min", "max"))


def parent_of(b, sel, core, items):
    """The Parent of ``core`` (a SelectCore of ``sel`` with FROM items ``items``): its own
    clauses merged with what the queries flattened into it had."""
    inherited = b.flatten_facts.get(id(core)) or b.flatten_facts.get(id(core.from_))
    p = inherited[1] if inherited is not None else Parent()
    exprs = list(core.columns) + [core.having] + [t.expr for t in sel.order_by or ()]
    calls = [n for e in exprs if e is not None for n in nodes(e) if is_aggregate_call(b.conn, n)]
    agg = core.group_by is not None or bool(calls)
    reqd = any(c.name.lower() not in _UNORDERED_AGGREGATES for c in calls)
    if sel.order_by:
        copies = not p.order and all(_is_copy(t.expr, core) for t in sel.order_by)
    else:
        copies = p.order_copies
    complex_ = p.complex if p.complex is not None else _complex(core.columns)
    return p.replace(join=p.join or len(items) > 1, agg=p.agg or agg, order_reqd=p.order_reqd or reqd,
                     distinct=p.distinct or bool(core.distinct) and not p.distinct_ignored,
                     where=p.where or core.where is not None, order=p.order or bool(sel.order_by),
                     order_copies=copies, limit=p.limit or sel.limit is not None, complex=complex_,
                     distinct_ignored=False, noop_order=p.noop_order or p.distinct_ignored)


def _complex(columns):
    """SF_ComplexResult: a result column calls a function (LIKE and -> are calls) or holds a subquery."""
    for rc in columns:
        for n in walk(rc.expr):
            cls = n.__class__
            if cls in (ast.FunctionCall, ast.Like, ast.Subquery, ast.Exists) or (
                    cls is ast.In and n.select is not None) or (cls is ast.Binary and n.op in ("->", "->>")):
                return True
    return False


def _is_copy(e, core):
    """(18) An ORDER BY term that names a result column: by number, alias or the same expression."""
    while e.__class__ is ast.Collate:
        e = e.expr
    if e.__class__ is ast.Literal and e.value.__class__ is int:
        return True
    if e.__class__ is ast.Column and e.table is None and any(
            rc.alias is not None and rc.alias.lower() == e.name.lower() for rc in core.columns):
        return True
    d = ast.dump(e)
    return any(ast.dump(rc.expr) == d for rc in core.columns)


def has_aggregate(b, exprs):
    """Whether an aggregate call is anywhere in ``exprs``, subqueries included."""
    return any(is_aggregate_call(b.conn, n) for e in exprs if e is not None for n in nodes(e))


def has_window(root):
    """Whether a window function is anywhere under ``root``, subqueries included."""
    return any(n.__class__ is ast.FunctionCall and n.over is not None for n in nodes(root))


def without_order(b, parent, sub, parent_scope, ctes):
    """``sub`` without its ORDER BY where SQLite 3.40 drops it as doing nothing: the query
    around it has its own ORDER BY or is a join, and neither a LIMIT, an aggregate
    subquery nor an aggregate of the query around it needs the order."""
    if not sub.order_by or sub.limit is not None or parent.unknown or parent.order_reqd or not (
            parent.order or parent.join):
        return sub
    if any(is_aggregate_core(b, core) for core in sub.cores) or has_aggregate(b, [t.expr for t in sub.order_by]):
        return sub
    # SQLite resolves the ORDER BY before it drops it: an error there (no such column) stays.
    from limbodb.translate.select import result_columns
    result_columns(b, sub, parent_scope, ctes)
    return ast.Select(sub.with_, sub.cores, sub.ops, None, None, None)


def is_aggregate_core(b, core):
    """Whether SelectCore ``core`` aggregates (SF_Aggregate): a GROUP BY or an aggregate call."""
    return core.__class__ is ast.SelectCore and (
        core.group_by is not None or has_aggregate(b, list(core.columns) + [core.having]))


def pruned(b, sel, core, parent, items, item, sub, alias, names, parent_scope, ctes, unknown=False, moved=()):
    """``sub`` (the select of FROM item ``item`` of ``core``, shown as ``alias`` with column
    ``names`` or None) with the columns SQLite would never evaluate replaced by NULL, or
    ``sub`` itself. ``parent`` is parent_of(core); ``items`` the core's FROM items;
    ``unknown``: whether SQLite flattens it was not worked out (a CTE's use count);
    ``moved``: ids of the core's WHERE terms translate/pushdown.py moves into ``sub``."""
    outer_join = _outer_join(parent, items, item)
    flat = _flattens(b, parent, items, item, outer_join, sub, parent_scope, ctes)
    if flat is False:
        return sub
    cores = sub.cores
    if flat is None or unknown:
        return _copy(b, sub, None, Parent(unknown=True))
    if parent.noop_order and sub.order_by:
        # SQLite resolves the ORDER BY before it drops it: an error there (no such column) stays.
        from limbodb.translate.select import result_columns
        result_columns(b, sub, parent_scope, ctes)
        sub = ast.Select(sub.with_, cores, sub.ops, None, sub.limit, sub.offset)
    read = _read_names(core, sel, item, alias, moved)
    if read is not None and any(rc.expr.__class__ is ast.Star for arm in cores for rc in arm.columns):
        cores = expand_stars(b, cores, parent_scope, ctes)
        sub = ast.Select(sub.with_, cores, sub.ops, sub.order_by, sub.limit, sub.offset)
    if names is None:
        names = [column_name(rc) for rc in cores[0].columns]
    if read is None or len(names) != len(cores[0].columns) \
            or any(rc.expr.__class__ is ast.Star for arm in cores for rc in arm.columns):
        keep = None
    else:
        # A repeated name reads its first column; the others are "name:1", ... (as select.py names them).
        from limbodb.translate.select import _unique_names
        keep = {k for k, n in enumerate(_unique_names(names)) if n.lower() in read}
        # A result column the subquery names itself (an alias in its WHERE or ORDER BY, an
        # ORDER BY term by number) keeps its value.
        inner = _inner_names(sub)
        for arm in cores:
            for k, rc in enumerate(arm.columns):
                if column_name(rc).lower() in inner:
                    keep.add(k)
        for t in sub.order_by or ():
            e = t.expr
            if e.__class__ is ast.Literal and e.value.__class__ is int:
                keep.add(e.value - 1)
        if len(keep) == len(names):
            keep = None
        else:
            # Names are resolved before SQLite flattens: an error there (no such column) stays.
            from limbodb.translate.select import result_columns
            result_columns(b, sub, parent_scope, ctes)
    merged = parent.replace(order=parent.order or bool(sub.order_by),
                            order_copies=parent.order_copies and not sub.order_by,
                            limit=parent.limit or sub.limit is not None,
                            compound=parent.compound or len(cores) > 1, left_join=outer_join)
    return _copy(b, sub, (keep, names), merged)


def _copy(b, sub, prune, facts):
    """A copy of ``sub`` whose cores carry ``facts`` (their own WHERE added); ``prune``:
    (columns kept, names) or None to keep all."""
    new_cores = []
    for arm in sub.cores:
        cols = arm.columns
        if prune is not None and prune[0] is not None:
            keep, names = prune
            cols = [rc if k in keep else ast.ResultColumn(ast.Literal(None), names[k], "NULL")
                    for k, rc in enumerate(cols)]
        new = ast.SelectCore(arm.distinct, cols, arm.from_, arm.where, arm.group_by, arm.having, arm.windows)
        b.flatten_facts[id(new)] = (new, facts.replace(where=facts.where or arm.where is not None))
        new_cores.append(new)
    return ast.Select(sub.with_, new_cores, sub.ops, sub.order_by, sub.limit, sub.offset)


def expand_stars(b, cores, parent_scope, ctes):
    """``cores`` with each ``*`` and ``t.*`` written out as the columns it names, where each
    names its table (an unnamed subquery's columns keep their star)."""
    from limbodb.translate.select import result_columns
    out = []
    for arm in cores:
        if not any(rc.expr.__class__ is ast.Star for rc in arm.columns):
            out.append(arm)
            continue
        cols = result_columns(b, ast.Select(None, [arm], [], None, None, None), parent_scope, ctes)
        if any(c.expr.__class__ is ast.Column and c.expr.table is None for c in cols):
            out.append(arm)
            continue
        out.append(stars_written(arm, cols, lambda c: c.expr))
    return out


def stars_written(arm, cols, expr_of):
    """``arm`` with each ``*`` replaced by the result columns ``cols`` (result_columns of
    ``arm``) it stands for, each read as ``expr_of(column)``."""
    written = []
    k = 0
    for i, rc in enumerate(arm.columns):
        if rc.expr.__class__ is not ast.Star:
            written.append(rc)
            k += 1
            continue
        nxt = next((r.expr for r in arm.columns[i + 1:] if r.expr.__class__ is not ast.Star), None)
        while k < len(cols) and cols[k].expr is not nxt:
            written.append(ast.ResultColumn(expr_of(cols[k]), cols[k].name, cols[k].name))
            k += 1
    return ast.SelectCore(arm.distinct, written, arm.from_, arm.where, arm.group_by, arm.having, arm.windows)


def column_name(rc):
    """The name ResultColumn ``rc`` gives its column: the alias, the column's name, the text."""
    if rc.alias is not None:
        return rc.alias
    if rc.expr.__class__ is ast.Column:
        return rc.expr.name
    return rc.text


def _outer_join(parent, items, item):
    """The subquery is an outer join's right side, or left of a RIGHT JOIN (JT_OUTER, JT_LTORJ)."""
    if parent.left_join or (item.join_type or 0) & ast.JT_OUTER:
        return True
    k = next(i for i, it in enumerate(items) if it is item)
    return any((it.join_type or 0) & ast.JT_RIGHT for it in items[k + 1:])


def _inner_names(sub):
    """Names the subquery's WHERE, GROUP BY, HAVING, ON and ORDER BY read (its aliases among them)."""
    roots = [t.expr for t in sub.order_by or ()]
    for core in sub.cores:
        if core.__class__ is ast.SelectCore:
            roots += [core.where, core.having] + list(core.group_by or ())
            roots += [it.on for it in from_items(core.from_)]
    return {n.name.lower() for r in roots if r is not None for n in nodes(r) if n.__class__ is ast.Column}


def _read_names(core, sel, item, alias, moved=()):
    """Lowercased names the query may read from ``item`` (shown as ``alias``), None for all;
    the WHERE terms whose ids are in ``moved`` are not read."""
    la = alias.lower() if alias is not None else None
    for rc in core.columns:
        e = rc.expr
        if e.__class__ is ast.Star and (e.table is None or e.table.lower() == la):
            return None
    out = set()
    skip = item.select if item.__class__ is ast.SubqueryRef else None
    aliases = {rc.alias.lower() for rc in core.columns if rc.alias is not None}
    # An ORDER BY term that is a result alias reads what that column reads.
    roots = [core] + [t.expr for t in sel.order_by or ()
                      if not (t.expr.__class__ is ast.Column and t.expr.table is None
                              and t.expr.name.lower() in aliases)]
    if moved:
        from limbodb.translate.select import split_and
        roots[0] = ast.SelectCore(core.distinct, core.columns, core.from_, None, core.group_by, core.having,
                                  core.windows)
        roots += [t for t in split_and(core.where) if id(t) not in moved]
    for root in roots:
        for n in nodes(root, skip):
            cls = n.__class__
            if cls is ast.Column:
                if n.table is None or n.table.lower() == la:
                    out.add(n.name.lower())
            elif isinstance(n, ast.FromItem):
                if (n.join_type or 0) & ast.JT_NATURAL:
                    return None
                out.update(u.lower() for u in n.using or ())
    return out


def flattens(b, parent, items, item, sub, parent_scope, ctes, outer_join=None):
    """Whether SQLite 3.40 flattens ``sub``, FROM item ``item`` of the query of ``parent``:
    True, False, or None where that was not worked out. ``outer_join``: whether the item
    is an outer join's right side, if not as written (a LEFT JOIN made an inner one)."""
    if outer_join is None:
        outer_join = _outer_join(parent, items, item)
    return _flattens(b, parent, items, item, outer_join, sub, parent_scope, ctes)


def _flattens(b, parent, items, item, outer_join, sub, parent_scope, ctes):
    """Whether SQLite 3.40 would flatten ``sub`` into the query of ``parent``: True, False, or
    None where that was not worked out (RIGHT JOIN, WITH inside the subquery, ...)."""
    # What the subquery alone rules out, whatever the query around it.
    if sub.offset is not None:                                                # (14)
        return False
    compound = len(sub.cores) > 1
    if compound and (any(op != "UNION ALL" for op in sub.ops) or sub.order_by):  # (17a), (20)
        return False
    for core in sub.cores:
        if core.__class__ is not ast.SelectCore or not core.from_ or core.distinct:  # (7), (4), (17b/c)
            return False
        if is_aggregate_core(b, core) or has_window(core):                   # aggregates, (25)
            return False
    if parent.unknown:
        return None
    if (item.join_type or 0) & ast.JT_RIGHT:                                  # (26)
        return False
    sub_items = [from_items(core.from_) for core in sub.cores]
    if item is not items[0] and any((it.join_type or 0) & ast.JT_RIGHT for its in sub_items for it in its):
        return False                                                             # (27), (17g)
    if outer_join and (parent.distinct or any(
            len(its) > 1 or its[0].__class__ is ast.FunctionRef for its in sub_items)):
        return False                                                             # (3a), (3b), (3d)
    if sub.order_by and (parent.order or parent.agg or has_aggregate(b, [t.expr for t in sub.order_by])):
        return False                                                             # (11), (16)
    # An ordered subquery first in FROM under a complex result set runs as a co-routine
    # (sqlite3Select, so that the functions run on its rows only).
    if sub.order_by and parent.complex and item is items[0] and (
            len(items) == 1 or (items[1].join_type or 0) & (ast.JT_OUTER | ast.JT_CROSS)):
        return False
    if sub.limit is not None and (parent.join or parent.agg or parent.limit or parent.where
                                  or parent.distinct or parent.compound):
        return False                                                             # (8), (9), (13), (19), (21), (15)
    if compound:
        if parent.agg or parent.distinct or parent.recursive or outer_join:      # (17d), (23), (17f)
            return False
        if parent.order and not parent.order_copies:                             # (18)
            return False
    # limbodb's RIGHT JOIN and a subquery's own WITH are left alone.
    if sub.with_ is not None or any((it.join_type or 0) & ast.JT_RIGHT for it in items) or any(
            (it.join_type or 0) & ast.JT_RIGHT for its in sub_items for it in its):
        return None
    if compound:
        return _same_affinities(b, sub, parent_scope, ctes)                      # (17h)
    return True


def from_items(from_):
    """The FROM items of ``from_``, parenthesized joins written out."""
    from limbodb.translate.select import _flatten
    return _flatten(from_)


def _same_affinities(b, sub, parent_scope, ctes):
    """(17h) Each result column has one affinity in every arm of the compound (None: not known)."""
    from limbodb.translate.select import result_columns
    for core in sub.cores:
        for rc in core.columns:
            e = rc.expr
            while e.__class__ is ast.Collate:
                e = e.expr
            # SQLite reads these through to an operand; limbodb's expr_affinity does not.
            if e.__class__ in (ast.Subquery, ast.Vector) or (
                    e.__class__ is ast.FunctionCall and e.name.lower() in ("likely", "unlikely", "likelihood")):
                return None
    affs = None
    for core in sub.cores:
        cols = result_columns(b, ast.Select(None, [core], [], None, None, None), parent_scope, ctes)
        mine = [c.affinity for c in cols]
        if affs is not None and mine != affs:
            return False
        affs = mine
    return True
