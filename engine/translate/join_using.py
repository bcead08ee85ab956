"""USING, NATURAL and parenthesized joins: what a join merges and compares, and how names
find the merged columns.

A USING/NATURAL column pairs with the left-most earlier FROM item having it; the
equality binds to the two sources themselves (Scope.bound), as an unaliased
subquery has no name to qualify it with. SQLite makes a parenthesized join a
subquery (SF_NestedFrom) listing every column of its items under their own item
names; one on the right of an outer join or with an alias is read so here (its
Source.nested entries), any other is opened in place with its joins kept among its
own items (a Source's join_span). ``*`` names ``schema.item.column``, which two
items of one name make ambiguous. Mirrors sqlite src/select.c sqlite3ProcessJoin,
tableAndColumnIndex and selectExpand, src/resolve.c lookupName.
"""

from limbodb.errors import OperationalError
from limbodb.parser import ast


def from_list(items, base, first_join):
    """(item, (join_type, on, using), span) per source the FROM ``items`` open.

    SQLite makes a parenthesized join a subquery (sqlite src/parse.y seltablist), but
    for a first one without an alias, whose items are the list's. One with an alias or
    on the right of an outer join is that subquery here (a JoinGroup item); the items
    of any other one are opened in place, and as the subquery's would, they join only
    each other while the join written before the parentheses pairs the earlier items
    with all of them. ``span``: (start, end) of the sources a join pairs,
    [start, k) on the left of source k and [k, end) on the right.
    """
    out = []
    for p, it in enumerate(items or ()):
        k = base + len(out)
        join = first_join if p == 0 else (it.join_type or 0, it.on, it.using)
        if it.__class__ is ast.JoinGroup and not _is_nested_source(it, p):
            inner = from_list(it.items, k, join)
            if p:
                inner[0] = (inner[0][0], inner[0][1], (base, k + len(inner)))
            out.extend(inner)
        else:
            out.append((it, join, (base, k + 1)))
    return out


def _is_nested_source(group, p):
    """Is parenthesized join ``group`` (item ``p`` of its list) read as a subquery? SQLite
    cannot flatten it on the right of an outer join, and only a subquery has the alias."""
    return group.alias is not None or (p > 0 and bool((group.join_type or 0) & ast.JT_OUTER))


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
            # merged makes it ambiguous.
            try:
                _s, left, j = scope.resolve(ast.Column(name, None))
            except OperationalError as e:
                core.error = core.error or str(e)
            out.append((bound_column(scope, left, j), name, left, j))
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
    core.entries = entries
    return out


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
