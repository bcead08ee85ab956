"""USING, NATURAL and parenthesized joins: what a join merges and compares, and how names
find the merged columns.

A USING/NATURAL column pairs with the left-most earlier FROM item having it; the
equality binds to the two sources themselves (Scope.bound), as an unaliased
subquery has no name to qualify it with. SQLite makes a parenthesized join a
subquery (SF_NestedFrom) listing every column of its items under their own item
names; one SQLite does not flatten or with an alias is read so here (its
Source.nested entries), any other is opened in place with its joins kept among its
own items (a Source's join_span), its ONs' names bound among them and its columns
named as that subquery's (group_columns). ``*`` names ``schema.item.column``, which
two items of one name make ambiguous. Mirrors sqlite src/select.c sqlite3ProcessJoin,
tableAndColumnIndex, selectExpand and flattenSubquery, src/resolve.c lookupName.
"""

import re

from limbodb.errors import OperationalError
from limbodb.parser import ast

_NAME_SUFFIX = re.compile(r":[0-9]*$")


def from_list(items, base, first_join, right_after=False):
    """(item, (join_type, on, using), span) per source the FROM ``items`` open.

    SQLite makes a parenthesized join a subquery (sqlite src/parse.y seltablist), but
    for a first one without an alias, whose items are the list's. One SQLite cannot
    flatten, or with an alias, is that subquery here (a JoinGroup item); the items
    of any other one are opened in place, and as the subquery's would, they join only
    each other while the join written before the parentheses pairs the earlier items
    with all of them. ``span``: (start, end) of the sources a join pairs,
    [start, k) on the left of source k and [k, end) on the right. ``right_after``: a
    RIGHT JOIN follows ``items`` in the list they are the first part of.
    """
    out = []
    items = items or ()
    # The last RIGHT JOIN of the list: the items before it are on its left (JT_LTORJ).
    last_right = max((p for p, it in enumerate(items) if p and (it.join_type or 0) & ast.JT_RIGHT),
                     default=len(items) if right_after else -1)
    for p, it in enumerate(items):
        k = base + len(out)
        join = first_join if p == 0 else (it.join_type or 0, it.on, it.using)
        if it.__class__ is ast.JoinGroup and not _is_nested_source(it, p, p < last_right):
            inner = from_list(it.items, k, join, p < last_right)
            if p:
                inner[0] = (inner[0][0], inner[0][1], (base, k + len(inner)))
            out.extend(inner)
        else:
            out.append((it, join, (base, k + 1)))
    return out


def _is_nested_source(group, p, left_of_right):
    """Is parenthesized join ``group`` (item ``p`` of its list) read as a subquery? Only a
    subquery has the alias, and SQLite's flattenSubquery keeps it one on the right of an
    outer join or the left of a RIGHT JOIN (restrictions 3a, 26), and after the first
    item when it holds a RIGHT JOIN itself (27)."""
    if group.alias is not None:
        return True
    return p > 0 and (bool((group.join_type or 0) & ast.JT_OUTER) or left_of_right or _has_right(group.items))


def _has_right(items):
    """Does the list a parenthesized join makes (its first group's items in it) hold a RIGHT JOIN?"""
    first = items[0]
    return any((it.join_type or 0) & ast.JT_RIGHT for it in items[1:]) or (
        first.__class__ is ast.JoinGroup and first.alias is None and _has_right(first.items))


class NestedFrom(ast.SelectCore):
    """``SELECT *`` over a parenthesized join's items, listing columns as SQLite's SF_NestedFrom
    select does; ``entries`` receives Source.nested of the result, ``error`` the ambiguity
    SQLite reports when it resolves those columns, after the joins around it are made."""
    __slots__ = ("entries", "error")


def nested_columns(scope, sources, core):
    """(Column node, name, source, column index) per result column of a ``NestedFrom`` core,
    noting each one's Source.nested entry in ``core.entries``.

    Before each item come the USING columns of the join after it (their left-hand
    columns), then every column of the item; those either join merges are hidden from
    '*' outside. Columns of a nested item keep their items' names. The items' columns
    are named ``schema.item.column`` there, so two items of one name sharing a column no
    join of the list merged are ambiguous.
    """
    out = []
    entries = []
    for i, (src, _join) in enumerate(sources):
        nxt = sources[i + 1][0] if i + 1 < len(sources) else None
        after = set()
        for (left, j), _right in (nxt.join_pairs if nxt is not None else ()):
            name = left.col_names[j]
            after.add(name.lower())
            # The bare name, as SQLite lists it: a later item's column of that name no join
            # merged makes it ambiguous (in parentheses opened in place, among their items).
            try:
                if not nxt.join_span[0]:
                    _s, left, j = scope.resolve(ast.Column(name, None))
            except OperationalError as e:
                core.error = core.error or str(e)
            refs = scope.join_refs
            # A FULL JOIN's column reads coalesce() of its sides, as the bare name does.
            col = ast.Column(name, None) if refs and len(refs.get(name.lower(), ())) > 1 else \
                bound_column(scope, left, j)
            out.append((col, name, left, j))
            entries.append((None, None, name, False, True))
        hidden = getattr(src, "hidden_cols", ())
        for j, name in enumerate(src.col_names):
            if j in hidden:
                continue
            lname = name.lower()
            if src.nested is not None:
                item, db, base, noexpand, _u = src.nested[j]
            else:
                item, db, base, noexpand = src.name, src.db_name, name, False
                if core.error is None and src.name is not None and len(_schema_name_hits(scope.sources, src, name)) > 1:
                    core.error = f"ambiguous column name: {src.db_name or '*'}.{src.name}.{name}"
            noexpand = noexpand or lname in src.using_outer or lname in after
            entries.append((item, db, base, noexpand, False))
            out.append((bound_column(scope, src, j), name, src, j))
    hidden = _hidden_by_using_names([e[2] for e in entries], [e[4] for e in entries])
    core.entries = [e if i not in hidden else e[:3] + (True, e[4]) for i, e in enumerate(entries)]
    return out


def _hidden_by_using_names(names, using_terms):
    """Indexes of the columns whose name, as sqlite3ColumnsFromExprList makes it unique,
    collides with a USING column's: SQLite hides them from '*' (COLFLAG_NOEXPAND)."""
    taken = {}
    hidden = set()
    for i, (name, using_term) in enumerate(zip(names, using_terms)):
        cnt = 0
        while name.lower() in taken:
            if taken[name.lower()]:
                hidden.add(i)
            m = _NAME_SUFFIX.search(name)
            cnt += 1
            name = f"{name[:m.start()] if m and m.start() > 0 else name}:{cnt}"
        taken[name.lower()] = using_term
    return hidden


def group_columns(sources):
    """The columns of the subquery SQLite makes of each parenthesized join opened in place.

    Returns ({first source index: (end index, entries)} per outermost such join, {id(source):
    the names its columns have there}), or None without any. An entry is (source, column
    index, name, shown by '*'), listed as sqlite src/select.c selectExpand lists a nested
    FROM's columns: before each item the USING columns of the join after it (by their
    left-hand columns), then every column of the item; names made unique as
    sqlite3ColumnsFromExprList does, a column colliding with a USING column hidden from '*'
    as one the join before its item merges is. SQLite names the result columns before it
    flattens the subquery: these names are the ones a result column reading them gets.
    """
    groups = {}
    names = {}
    k = 1
    while k < len(sources):
        end = (sources[k][0].join_span or (0, k + 1))[1]
        if end > k + 1:
            groups[k] = (end, _group_entries(sources, k, end, names))
        k = max(end, k + 1)
    return (groups, names) if groups else None


def _group_entries(sources, g0, g1, names):
    items = []
    k = g0
    while k < g1:
        end = (sources[k][0].join_span or (0, k + 1))[1]
        if k > g0 and end > k + 1:
            items.append((k, _group_entries(sources, k, end, names)))
            k = end
        else:
            src = sources[k][0]
            hidden = getattr(src, "hidden_cols", ())
            nested = src.nested
            items.append((k, [(src, j, n, not (nested is not None and nested[j][3]))
                              for j, n in enumerate(src.col_names) if j not in hidden]))
            k += 1
    raw = []
    merged = ()
    for i, (k, cols) in enumerate(items):
        after = set()
        if i + 1 < len(items):
            for (left, j), _right in sources[items[i + 1][0]][0].join_pairs:
                after.add(left.col_names[j].lower())
                raw.append((left, j, left.col_names[j], True, True))
        raw.extend((src, j, n, shown and n.lower() not in merged and n.lower() not in after, False)
                   for src, j, n, shown in cols)
        merged = after
    taken = {}
    entries = []
    for src, j, name, shown, using_term in raw:
        cnt = 0
        while name.lower() in taken:
            shown = shown and not taken[name.lower()]
            m = _NAME_SUFFIX.search(name)
            cnt += 1
            name = f"{name[:m.start()] if m and m.start() > 0 else name}:{cnt}"
        taken[name.lower()] = using_term
        entries.append((src, j, name, shown))
        if not using_term:
            names.setdefault(id(src), list(src.col_names))[j] = name
    return entries


def star_column(scope, src, j):
    """(Column node, source, column index) for column ``j`` of ``src`` in a '*' expansion.

    SQLite expands '*' to ``schema.name.column`` (sqlite src/select.c selectExpand), so
    the column is looked up among the sources of that name in that schema (a subquery
    or CTE is in none, '*'; an unaliased subquery's name is unique): a later one's
    USING column is the earlier one's, and two otherwise are ambiguous.
    """
    col = ast.Column(src.col_names[j], src.name)
    hit = (src, j)
    if src.nested is not None and src.name is not None:
        # ``alias.column``, no schema: resolved as written (the alias may be shared).
        return col, src, j
    if src.name is not None and len(scope.sources) > 1:
        hits = _schema_name_hits(scope.sources, src, col.name)
        if len(hits) > 1:
            scope.bound[id(col)] = (col, None, f"ambiguous column name: {src.db_name or '*'}.{src.name}.{col.name}")
            return col, src, j
        hit = hits[0]
    scope.bound[id(col)] = (col, hit[0], hit[1])
    return col, hit[0], hit[1]


def _schema_name_hits(sources, src, name):
    """The (source, column) pairs ``schema.item.name`` of item ``src`` resolves to among ``sources``
    (sqlite src/resolve.c lookupName): a later one's USING column is the earlier one's."""
    lsrc = src.name.lower()
    lname = name.lower()
    hits = []
    for s in sources:
        if s.nested is not None:
            for k, (item, db, base, _hidden, _u) in enumerate(s.nested):
                if item is not None and item.lower() == lsrc and db == src.db_name and base.lower() == lname \
                        and not (hits and lname in s.using_outer):
                    hits.append((s, k))
            continue
        if s.name is None or s.name.lower() != lsrc or s.db_name != src.db_name:
            continue
        k = s.find(name)
        if k is not None and not (hits and lname in s.using_outer):
            hits.append((s, k))
    return hits


def apply_using(scope, sources):
    """USING/NATURAL: pair each merged column of a right-hand source with a left-hand one.

    Mirrors sqlite src/select.c sqlite3ProcessJoin: a name pairs with the left-most
    earlier source that has it; NATURAL takes the right side's columns some earlier
    source has, hidden ones (table-valued function arguments) left out on both sides,
    and without any it is a cross join. The right side of a join written before a
    parenthesized join is all of its sources: the first of them with the column is
    the one merged (the column the subquery SQLite makes of them lists first).
    """
    merged = {}  # id(source) -> [(name, start of the join that merged it)]
    for k in _join_order(sources, 0, len(sources)):
        _apply_join(sources, k, merged)
    _check_nested_columns(sources, merged)
    _bind_group_on_terms(scope, sources)


def _bind_group_on_terms(scope, sources):
    """Bind the names of each ON inside a parenthesized join opened in place among that
    join's own sources: SQLite resolves them in the subquery it makes of the parentheses,
    where no other FROM item is in scope ("no such column" otherwise)."""
    from limbodb.translate.expr import Scope, walk
    inner = {}
    for k in range(1, len(sources)):
        src, (_jt, on, _u) = sources[k]
        base = src.join_span[0] if src.join_span is not None else 0
        if on is None or base == 0:
            continue
        group = inner.get(base)
        if group is None:
            group = inner[base] = Scope([s for s, _j in sources[base:sources[base][0].join_span[1]]], scope.parent)
            group.ctes = scope.ctes
            group.bound = scope.bound
        for n in walk(on):
            if n.__class__ is ast.Column and id(n) not in scope.bound:
                r = group.resolve(n)
                if r is not None and r[0] is group:
                    scope.bound[id(n)] = (n, r[1], r[2])


def _join_order(sources, g0, g1):
    """The joins of the list of sources [g0, g1) as SQLite processes them: those inside a
    parenthesized join first (its subquery is expanded before the FROM holding it)."""
    inner = []
    own = []
    k = g0
    while k < g1:
        end = (sources[k][0].join_span or (0, k + 1))[1]
        if k > g0 and end > k + 1:
            inner.extend(_join_order(sources, k, end))
        if k > g0:
            own.append(k)
        k = max(end, k + 1) if k > g0 else k + 1
    return inner + own


def _apply_join(sources, k, merged):
    """Pair the columns the join written before source ``k`` merges (Source.join_pairs)."""
    src, (jt, _on, using) = sources[k]
    start, end = src.join_span or (0, k + 1)
    left_side = sources[start:k]
    right_side = sources[k:end]
    natural = bool(jt & ast.JT_NATURAL)
    if natural:
        names = []
        for s, _j in right_side:
            hidden = getattr(s, "hidden_cols", ())
            names += [n for j, n in enumerate(s.col_names) if j not in hidden
                      and _first_column(left_side, n, True) is not None]
    else:
        names = using or ()
    pairs = {}
    for n in names:
        left = _first_column(left_side, n, natural)
        right = _first_column(right_side, n, end > k + 1)
        if right is None or left is None:
            raise OperationalError(f"cannot join using column {n} - column not present in both tables")
        ln = n.lower()
        if ln not in pairs:
            pairs[ln] = (left, right)
        # Every source of a parenthesized join with the column is merged (lookupName
        # skips every match in a USING subquery); the first one is compared.
        for s, _j in right_side:
            if s.find(n) is not None:
                merged.setdefault(id(s), []).append((ln, start))
                s.using.add(ln)
                if start == 0:
                    s.using_outer.add(ln)
    src.join_pairs = list(pairs.values())


def _first_column(side, name, skip_hidden):
    """(source, column index) of the first source of ``side`` having ``name``, or None
    (sqlite src/select.c tableAndColumnIndex)."""
    for s, _join in side:
        j = s.find(name)
        if j is not None and not (skip_hidden and j in getattr(s, "hidden_cols", ())):
            return s, j
    return None


def _check_nested_columns(sources, merged):
    """The errors SQLite reports resolving the columns of the subquery it makes of a
    parenthesized join (sqlite src/select.c selectExpand), in their order: before each
    item the next join's USING columns by their bare names, ambiguous if another item
    has one no join inside merged; then the item's as ``schema.name.column``, ambiguous
    for two items of one name sharing a column no USING inside merged.
    """
    for g0, (src, _j) in enumerate(sources):
        if src.nested_error is not None:
            raise OperationalError(src.nested_error)
        g1 = (src.join_span or (0, g0 + 1))[1]
        if g1 <= g0 + 1:
            continue
        group = [s for s, _j2 in sources[g0:g1]]

        def merged_inside(o, lname):
            return any(n == lname and st >= g0 for n, st in merged.get(id(o), ()))
        for i, s in enumerate(group):
            nxt = group[i + 1] if i + 1 < len(group) else None
            if nxt is not None and nxt.join_span[0] == g0:
                for (left, j), _right in nxt.join_pairs:
                    name = left.col_names[j]
                    if _holders(group, name, merged_inside) > 1:
                        raise OperationalError(f"ambiguous column name: {name}")
            if s.name is None:
                continue
            twins = [o for o in group if o.name is not None and o.name.lower() == s.name.lower()
                     and o.db_name == s.db_name]
            if len(twins) < 2:
                continue
            hidden = getattr(s, "hidden_cols", ())
            for j, col in enumerate(s.col_names):
                if j in hidden:
                    continue
                if _holders(twins, col, merged_inside) > 1:
                    raise OperationalError(f"ambiguous column name: {s.db_name or '*'}.{s.name}.{col}")


def _holders(items, name, merged_inside):
    """How many of ``items`` hold column ``name`` as its own (after the first, one that
    merged it from inside the group does not count again)."""
    hits = 0
    for o in items:
        if o.find(name) is not None and not (hits and merged_inside(o, name.lower())):
            hits += 1
    return hits


def join_using_terms(scope, sources, k):
    """Equality terms (left.col = right.col) that USING/NATURAL add for the join at source ``k``.

    Each side is bound to its source in ``scope``: neither an unaliased subquery
    nor one of two sources of the same name could be named.
    """
    return [ast.Binary("=", bound_column(scope, *left), bound_column(scope, *right))
            for left, right in sources[k][0].join_pairs]


def bound_column(scope, src, j):
    """A Column node that ``scope`` resolves to column ``j`` of ``src`` whatever its name."""
    col = ast.Column(src.col_names[j], src.name)
    scope.bound[id(col)] = (col, src, j)
    return col
