"""Which query an aggregate call belongs to, which CTEs a subquery can name, and
which name error a query reports.

SQLite gives an aggregate call to the innermost query whose FROM its arguments
read (resolve.c: resolveExprStep, sqlite3ReferencesSrcList); a call naming no
column stays where it is written. So a call in a subquery, however deep, may be
an enclosing query's aggregate: that query computes it per group and the
subqueries read the register it finalizes it into. A query finds such calls
before it compiles its loops by compiling its subqueries once with the code
thrown away (``Scope.discovered`` collects them). SQLite resolves every name
before coding; the code meets them in another order, so a name error makes the
query resolve its clauses again in SQLite's order (first_name_error).
Mirrors sqlite src/resolve.c.
"""

from limbodb.errors import OperationalError
from limbodb.parser import ast
from limbodb.translate.expr import Scope, is_aggregate_call, walk
from limbodb.vdbe.insn import OP_Null


def visible_ctes(scope):
    """The CTEs (lowercased name -> CTE) the query of ``scope`` and its subqueries can name."""
    while scope is not None:
        if scope.ctes is not None:
            return scope.ctes
        scope = scope.parent
    return {}


def claimed_outside(b, scope, call):
    """True when ``call`` belongs to an enclosing query; it then reads that query's register.

    While the owner only looks for its calls (``discovered`` is a list) the call is
    recorded there and read from a register the discarded code never runs.
    """
    owner = _agg_owner(b, scope, call)
    if owner is None:
        return False
    reg = owner.overrides.get(id(call))
    if reg is None:
        if owner.discovered is None:
            # The owner computes no aggregates where this runs (its WHERE, GROUP BY, ON).
            raise OperationalError(f"misuse of aggregate: {call.name}()")
        if all(n is not call for n in owner.discovered):
            owner.discovered.append(call)
        reg = b.alloc_reg()
    scope.overrides[id(call)] = reg
    return True


def _agg_owner(b, scope, call):
    """The enclosing query's Scope that ``call`` belongs to, or None for ``scope``'s own.

    That is the innermost query among those whose columns the arguments (ORDER BY and
    FILTER too) name; a call naming no column stays where it is written. A result alias
    stands for its expression (SQLite's resolveAlias copies it in), whose columns are its
    query's. Resolving the names marks the subqueries between correlated, as the owner's
    value changes per row.
    """
    chain = []
    p = scope
    while p is not None:
        chain.append(getattr(p, "_outer", p))  # subquery._Probe stands for the enclosing query
        p = p.parent
    depth = None
    cols = [(scope, col) for col in _call_columns(b, call)]
    while cols:
        at, col = cols.pop()
        try:
            r = at.resolve(col)
        except OperationalError:
            return None
        if r is None:
            continue  # a double-quoted string
        if r[1] is None:
            cols.extend((r[0], c) for c in _expr_columns(b, [r[0].aliases[r[2]]]))
            continue
        d = next((i for i, s in enumerate(chain) if s is r[0]), 0)
        if d == 0:
            return None
        depth = d if depth is None else min(depth, d)
    return chain[depth] if depth else None


def _call_columns(b, call):
    """The Column nodes of ``call``'s arguments, ORDER BY and FILTER that name no FROM item
    of a subquery inside them (sqlite3ReferencesSrcList leaves those out)."""
    return _expr_columns(b, [*(call.args or ()), *(t.expr for t in call.order_by or ()), call.filter])


def _expr_columns(b, top):
    """The Column nodes of the expressions ``top`` that name no FROM item of a subquery inside them."""
    out = []
    stack = [(x, None) for x in top if x is not None]
    while stack:
        n, local = stack.pop()
        cls = n.__class__
        if cls is ast.Column:
            if local is None or not _names_local(n, local):
                out.append(n)
            continue
        if cls is ast.Select:
            local = _local_names(b, n, local)
        stack.extend((c, local) for c in _children(n))
    return out


def _local_names(b, sel, local):
    """(qualifiers, column names, opaque) of the FROM items of ``sel`` and the selects around it.

    ``opaque``: an item whose columns are not known without compiling it (a view, CTE,
    subquery or table-valued function), so any unqualified name may be its.
    """
    from limbodb.translate.select import _flatten
    quals, names, opaque = (set(), set(), False) if local is None else (set(local[0]), set(local[1]), local[2])
    for core in sel.cores:
        if core.__class__ is not ast.SelectCore:
            continue
        for item in _flatten(core.from_):
            if item.__class__ is ast.TableRef:
                quals.add((item.alias or item.name).lower())
                t = b.schema.tables.get(item.name.lower()) if item.schema is None else None
                if t is None:
                    opaque = True
                else:
                    names.update(c.name.lower() for c in t.columns)
            else:
                if getattr(item, "alias", None):
                    quals.add(item.alias.lower())
                opaque = True
    return quals, names, opaque


def _names_local(col, local):
    quals, names, opaque = local
    if col.table is not None:
        return col.table.lower() in quals
    return opaque or col.name.lower() in names or (bool(quals) and col.name.lower() in ("rowid", "oid", "_rowid_"))


def discover(b, scope, exprs, exists_uncoded=False):
    """Calls of ``scope``'s query inside the subqueries of ``exprs``.

    Each subquery that may hold one is compiled and its code thrown away while
    ``scope.discovered`` collects the calls handed to this query. SQLite codes an
    EXISTS without its result columns, so where the query computes no aggregates
    (``exists_uncoded``: a WHERE, the ORDER BY of a non-aggregate query) calls
    found only there are read from a NULL register instead.
    """
    from limbodb.translate.select import result_columns
    from limbodb.translate.subquery import probe
    found = []
    for e in exprs:
        for sub in walk(e):
            if sub.__class__ not in (ast.Subquery, ast.Exists, ast.In) or sub.select is None or \
                    not _may_read_aggregate(b, scope, sub.select):
                continue
            scope.discovered = []
            try:
                result_columns(b, sub.select, probe(scope))
            finally:
                got, scope.discovered = scope.discovered, None
            if exists_uncoded and got:
                dropped = _exists_results(sub)
                null = None
                for n in got:
                    if id(n) not in dropped:
                        found.append(n)
                        continue
                    if null is None:
                        null = b.alloc_reg()
                        b.emit(OP_Null, 0, null)
                    scope.overrides[id(n)] = null
                continue
            found.extend(got)
    return found


def raise_uncomputed_aggregate(b, from_, parent, ctes, subqueries):
    """Raise "misuse of aggregate: NAME()" for the first of ``subqueries`` (each in
    the query over ``from_``, outside its aggregates) that codes a call of that query.

    Each is compiled, code thrown away, as the WHERE of ``SELECT 1 FROM from_``: a WHERE
    is where such a call is not computed, which raises SQLite's error and reads the
    calls in EXISTS result columns, which SQLite never codes, from NULL.
    """
    from limbodb.translate.select import result_columns
    for sub in subqueries:
        if not any(n.__class__ is ast.FunctionCall and (n.args or n.order_by or n.filter) and
                   is_aggregate_call(b.conn, n) for n in _subtree(sub)):
            continue
        if sub.__class__ is ast.In:
            sub = ast.In(ast.Literal(None), None, sub.select, None, False)
        core = ast.SelectCore(False, [ast.ResultColumn(ast.Literal(1), None, "1")], from_, sub, None, None, None)
        result_columns(b, ast.Select(None, [core], [], None, None, None), parent, ctes)


def _exists_results(e):
    """ids of the nodes in the result columns of the EXISTS subqueries in ``e``."""
    out = set()
    stack = [e]
    while stack:
        n = stack.pop()
        if n.__class__ is ast.Exists:
            for core in n.select.cores:
                if core.__class__ is ast.SelectCore:
                    for c in core.columns:
                        if c.expr is not None:
                            out.update(id(x) for x in _subtree(c.expr))
        stack.extend(_children(n))
    return out


def _subtree(e):
    """Every node under ``e``, subqueries included."""
    out = []
    stack = [e]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(_children(n))
    return out


def _may_read_aggregate(b, scope, sel):
    """Whether ``sel`` (with the CTEs it names) holds an aggregate call naming a column
    ``scope``'s sources have, or one of its aliases: only then can a call there belong to
    ``scope``'s query."""
    names = {src.name.lower() for src in scope.sources if src.name is not None}
    ctes = visible_ctes(scope)
    seen = set()
    stack = [sel]
    while stack:
        n = stack.pop()
        cls = n.__class__
        if cls is ast.FunctionCall and n.args and is_aggregate_call(b.conn, n):
            for a in [*n.args, *(t.expr for t in n.order_by or ()), n.filter]:
                if a is not None and _names_source(scope, a, names):
                    return True
        elif cls is ast.TableRef and n.schema is None:
            cte = ctes.get(n.name.lower())
            if cte is not None and id(cte) not in seen:
                seen.add(id(cte))
                stack.append(cte.select)
        stack.extend(_children(n))
    return False


def _names_source(scope, e, names):
    for n in _subtree(e):
        if n.__class__ is not ast.Column:
            continue
        if n.table is not None:
            if n.table.lower() in names:
                return True
        elif n.name.lower() in scope.aliases or any(src.find(n.name) is not None or (src.has_rowid and n.name.lower() in ("rowid", "oid", "_rowid_"))
                 for src in scope.sources):
            return True
    return False


def _children(n):
    """The child nodes of an AST node, subqueries included."""
    for f in n._fields:
        v = getattr(n, f, None)
        if isinstance(v, ast.Node):
            yield v
        elif isinstance(v, (list, tuple)):
            for x in v:
                if isinstance(x, ast.Node):
                    yield x
                elif isinstance(x, tuple):
                    yield from (y for y in x if isinstance(y, ast.Node))


_NAME_ERRORS = ("no such column: ", "ambiguous column name: ")


def first_name_error(b, scope, sel, core, sources, err):
    """Raise the name error SQLite reports for ``core`` (of ``sel``, over ``sources`` in
    ``scope``) whose code raised ``err``.

    SQLite resolves all names of a query before coding it, clause by clause
    (resolveSelectStep): LIMIT and OFFSET (which name nothing), the result columns,
    HAVING, WHERE with the ON terms appended (sqlite3ProcessJoin), ORDER BY, GROUP BY,
    each walked left to right. The code meets them in another order, so after a name
    error (only then: a valid query compiles as before) the clauses are resolved again
    in SQLite's order and the first error found is raised; ``err`` when none is.
    """
    if not str(err).startswith(_NAME_ERRORS):
        raise err
    _limit_name_error(b, sel)
    clauses = [rc.expr for rc in core.columns if rc.expr.__class__ is not ast.Star]
    clauses += [core.having, core.where, *(join[1] for _src, join in sources)]
    clauses += [t.expr for t in sel.order_by or ()]
    clauses += core.group_by or ()
    # The calls of this query in subqueries are only recorded, as while it looks for them.
    scope.discovered = []
    try:
        for e in clauses:
            if e is not None:
                _resolve_names(b, scope, e)
    except OperationalError as first:
        raise first from None
    finally:
        scope.discovered = None
    raise err


def first_compound_name_error(b, sel, parent, ctes, err):
    """Raise the name error SQLite reports for compound ``sel`` whose code raised ``err``.

    SQLite's Select for a compound is its last SELECT, linked to those before it: it
    resolves the LIMIT, then the SELECTs from the last to the first, then the ORDER BY.
    """
    if not str(err).startswith(_NAME_ERRORS):
        raise err
    from limbodb.translate.select import result_columns
    _limit_name_error(b, sel)
    for core in reversed(sel.cores):
        try:
            result_columns(b, ast.Select(None, [core], [], None, None, None), parent, ctes)
        except OperationalError as e:
            if str(e).startswith(_NAME_ERRORS):
                raise e from None
    raise err


def _limit_name_error(b, sel):
    """Raise the name error of ``sel``'s LIMIT or OFFSET: they are resolved naming nothing."""
    try:
        for e in (sel.limit, sel.offset):
            if e is not None:
                _resolve_names(b, Scope([]), e)
    except OperationalError as first:
        raise first from None


def _resolve_names(b, scope, e):
    """Resolve the names of ``e`` in ``scope`` in SQLite's walk order (node, then its children
    left to right); a subquery is compiled, code thrown away, for its name errors only."""
    from limbodb.translate.select import result_columns
    from limbodb.translate.subquery import probe
    stack = [e]
    while stack:
        n = stack.pop()
        cls = n.__class__
        if cls is ast.Column:
            scope.resolve(n)
        elif cls is ast.Select:
            try:
                result_columns(b, n, probe(scope))
            except OperationalError as err:
                if str(err).startswith(_NAME_ERRORS):
                    raise
        else:
            stack.extend(reversed(list(_children(n))))
