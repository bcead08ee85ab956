"""SELECT: sources, result columns, loops, aggregates, ORDER BY, LIMIT, compounds.

``compile_select(b, sel, parent, sink)`` emits a SELECT whose rows go to
``sink(b, first_reg, n)`` (ResultRow for a top-level query; an ephemeral
insert or a register copy for subqueries). One core runs as nested loops
over its FROM items (planner.py chooses each level's access path). GROUP BY
sorts the rows (key, aggregate arguments, bare columns) and walks the groups;
bare columns, and this query's columns its subqueries read, come from the
group's first row, or from the row the last min()/max() took its value from. ORDER BY and DISTINCT use a
sorter / ephemeral index unless the loops already give that order;
``SELECT count(*) FROM t`` is OP_Count and a lone min()/max() stops at the
first row of an ordered walk. An aggregate call belongs to the innermost query
whose columns it reads, wherever it is written (a query finds the calls of its
subqueries by compiling them once and discarding the code). Compounds run each
core into a shared pipeline (UNION ALL) or ephemeral indexes (UNION, INTERSECT,
EXCEPT). A subquery sees the CTEs of the queries around it. FROM
subqueries, views and CTEs (WITH RECURSIVE too) are materialized into
ephemeral tables (the first, when it stays the outer loop, runs as a co-routine),
without the columns SQLite's flattening would never compute (translate/flatten.py)
and with the outer WHERE terms SQLite runs inside them (translate/pushdown.py);
a CTE SQLite materializes (named twice, MATERIALIZED) is filled once per statement,
a view or CTE named twice in one FROM and kept a subquery once per FROM.
Mirrors sqlite src/select.c, Turso core/translate/select.rs.
"""

import re

from limbodb.errors import OperationalError
from limbodb.parser import ast
from limbodb.storage.record import KeyInfo
from limbodb.translate import flatten, planner, pushdown, right_join, window
from limbodb.translate.attach import TEMP, bound_db, find_source, has_aux
from limbodb.translate.join_using import (  # join_using_terms: for translate/planner.py
    NestedFrom, apply_using, bound_column, from_list, group_columns, join_using_terms, nested_columns,
    star_column,
)
from limbodb.translate.expr import (
    AFF_BLOB, AFF_NONE, Scope, Source, code_expr, code_if_false, expr_affinity,
    expr_collation, is_aggregate_call, is_coalesce, walk,
)
from limbodb.translate.resolve import (
    claimed_outside, discover, first_compound_name_error, first_name_error, visible_ctes,
)
from limbodb.translate.subquery import probe
from limbodb.vdbe.insn import (
    MAKERECORD_UNPACKED, OP_AggFinal, OP_AggStep, OP_Column, OP_Compare, OP_Count, OP_Copy, OP_DecrJumpZero,
    OP_Found, OP_Ge, OP_Gosub, OP_Goto, OP_IdxInsert, OP_If, OP_IfNot, OP_IfPos, OP_Integer, OP_IsNull,
    OP_Jump, OP_Le, OP_MakeRecord, OP_MustBeInt, OP_Ne, OP_NotNull, OP_Null, OP_OpenEphemeral, OP_OpenPseudo,
    OP_OffsetLimit, OP_OpenRead, OP_Return, OP_SorterData, OP_SorterInsert, OP_SorterNext, OP_SorterOpen,
    OP_SorterSort, SQLITE_NULLEQ,
)
from limbodb.vdbe.execute_sort import collated_minmax
from limbodb.vdbe.sorter import SortSpec


class OutputColumn:
    """One result column: its expression, name, declared type and affinity (SQLite letter).

    ``ident``: the name a FROM subquery or CTE gives it when that differs (SQLite names those
    columns before resolving them: a double-quoted string is still an identifier then).
    """

    __slots__ = ("expr", "name", "decltype", "affinity", "collation", "ident")

    def __init__(self, expr, name, decltype, affinity=AFF_NONE, collation=None, ident=None):
        self.expr = expr
        self.name = name
        self.decltype = decltype
        self.affinity = affinity
        self.collation = collation
        self.ident = ident


# ------------------------------------------------------------------ entry points

def compile_select(b, sel, parent, sink, ctes=None):
    """Emit ``sel``; every result row is handed to ``sink``. Returns the output columns.

    ``ctes`` None: the CTEs the enclosing queries can name (a subquery sees its outer WITH).
    """
    if ctes is None:
        ctes = visible_ctes(parent)
    ctes = dict(ctes)
    if sel.with_ is not None:
        for cte in sel.with_.ctes:
            ctes[cte.name.lower()] = cte
        flatten.note_with(b, sel)
    cores = sel.cores
    if len(cores) == 1:
        return _compile_single(b, sel, cores[0], parent, sink, ctes)
    try:
        from limbodb.translate.compound import compile_compound
        return compile_compound(b, sel, parent, sink, ctes)
    except OperationalError as e:
        first_compound_name_error(b, sel, parent, ctes, e)


def result_columns(b, sel, parent, ctes=None):
    """The output columns of ``sel`` without emitting its code (for views and subquery sources)."""
    saved = (len(b.insns), b.nregs, b.ncursors, len(b.labels), len(b.plan), len(b.prologue),
             dict(b.constants), b.nsubqueries, b.read)
    cols = compile_select(b, sel, parent, lambda *_: None, ctes)
    del b.insns[saved[0]:]
    b.nregs, b.ncursors = saved[1], saved[2]
    del b.labels[saved[3]:]
    del b.plan[saved[4]:]
    del b.prologue[saved[5]:]
    b.constants = saved[6]
    b.nsubqueries = saved[7]
    b.read = saved[8]
    return cols


# ------------------------------------------------------------------ limit / order pipeline

class _Pipeline:
    """ORDER BY (sorter), OFFSET and LIMIT between the produced rows and the sink."""

    def __init__(self, b, sel, sink, ncols):
        self.b = b
        self.sink = sink
        self.ncols = ncols
        self.break_label = b.new_label()
        self.limit = None
        self.offset = None
        self.sorter = None
        self.order = None
        # Rows from alloc_row: their sort keys go in the registers just before them.
        self._keyed_rows = set()
        if sel.limit is not None:
            self.limit = b.alloc_reg()
            code_expr(b, Scope([]), sel.limit, self.limit)
            b.emit(OP_MustBeInt, self.limit, 0, 0, "datatype mismatch")
            b.emit(OP_IfNot, self.limit, self.break_label)
            if sel.offset is not None:
                self.offset = b.alloc_reg()
                code_expr(b, Scope([]), sel.offset, self.offset)
                b.emit(OP_MustBeInt, self.offset, 0, 0, "datatype mismatch")

    def start_sorter(self, order_terms, colls, descs, nulls_first):
        b = self.b
        self.sorter = b.alloc_cursor()
        self.order = order_terms
        spec = SortSpec(colls, descs, nulls_first)
        # With a LIMIT the sorter keeps only the first LIMIT+OFFSET rows (SQLite's top-N sort).
        cap = self.limit or 0
        if self.offset is not None:
            cap = b.alloc_reg()
            b.emit(OP_OffsetLimit, self.limit, cap, self.offset)
        b.emit(OP_SorterOpen, self.sorter, len(order_terms) + self.ncols, cap, spec)
        b.add_plan("USE TEMP B-TREE FOR ORDER BY")

    def alloc_row(self):
        """Registers for one result row; with a sorter, room for its keys comes first, so the
        sorter record needs no copy of the row."""
        nk = len(self.order) if self.sorter is not None else 0
        first = self.b.alloc_reg(nk + self.ncols) + nk
        if nk:
            self._keyed_rows.add(first)
        return first

    def row(self, scope, first, key_fn=None):
        """A result row in registers first..first+ncols-1 (key_fn computes ORDER BY keys into regs)."""
        b = self.b
        if self.sorter is not None:
            nk = len(self.order)
            if first in self._keyed_rows:
                rec_first = first - nk
                key_fn(rec_first)
            else:
                rec_first = b.alloc_reg(nk + self.ncols)
                key_fn(rec_first)
                b.emit(OP_Copy, first, rec_first + nk, self.ncols - 1)
            rec = b.alloc_reg()
            b.emit(OP_MakeRecord, rec_first, nk + self.ncols, rec, None, MAKERECORD_UNPACKED)
            b.emit(OP_SorterInsert, self.sorter, rec)
            return
        self._emit(first)

    def _emit(self, first):
        b = self.b
        skip = None
        if self.offset is not None:
            skip = b.new_label()
            b.emit(OP_IfPos, self.offset, skip, 1)
        self.sink(b, first, self.ncols)
        if self.limit is not None:
            b.emit(OP_DecrJumpZero, self.limit, self.break_label)
        if skip is not None:
            b.resolve(skip)

    def finish(self):
        """After all rows: drain the sorter through OFFSET/LIMIT to the sink."""
        b = self.b
        if self.sorter is not None:
            nk = len(self.order)
            pseudo = b.alloc_cursor()
            data = b.alloc_reg()
            out = b.alloc_reg(self.ncols)
            b.emit(OP_OpenPseudo, pseudo, data, nk + self.ncols)
            done = b.new_label()
            b.emit(OP_SorterSort, self.sorter, done)
            top = b.addr
            b.emit(OP_SorterData, self.sorter, data, pseudo)
            for i in range(self.ncols):
                b.emit(OP_Column, pseudo, nk + i, out + i)
            self._emit(out)
            b.emit(OP_SorterNext, self.sorter, top)
            b.resolve(done)
        b.resolve(self.break_label)


# ------------------------------------------------------------------ sources

def open_sources(b, from_items, parent, ctes, write_cursor_for=None, outer=None, fills=None):
    """Open a cursor per FROM item (materializing subqueries); returns the Source list.

    ``outer``: (select, core) whose FROM this is; then subqueries SQLite would flatten
    leave out the columns the core never reads, an ORDER BY SQLite drops is dropped
    (translate/flatten.py), and the outer terms SQLite runs inside a subquery go into it
    (translate/pushdown.py; ``push`` False: SQLite pushes none into this one). A view or
    CTE named twice in the FROM that stays a subquery either time is computed once.
    ``fills``: a list, to hold (return register, address) of a subroutine per subquery
    that fills its table, for the loops to call (Plan.fills); None: the tables fill here.
    With ``fills``, a first item SQLite runs as a co-routine is one (materialize.Coroutine).
    """
    from limbodb.translate import materialize as mat
    sources = []
    opened = from_list(from_items, 0, (0, None, None))
    items = _list_items(from_items, opened)
    prune = None
    # id(item): whether SQLite runs the item's subquery as written (not flattened, no term
    # pushed); (view or CTE) id: the Source of its first such item, not a co-routine.
    reuse = {}
    if outer is not None:
        fparent = []

        def prune(item, sub, alias, names, pctes, unknown=False, push=True):
            if not fparent:
                fparent.append(flatten.parent_of(b, outer[0], outer[1], items))
                pushdown.forget_moves(b, outer[1])
            sub = flatten.without_order(b, fparent[0], sub, parent, pctes)
            planned = None if unknown else pushdown.plan(b, outer[1], fparent[0], items, item, sub, alias,
                                                         names, parent, pctes, push)
            out = flatten.pruned(b, outer[0], outer[1], fparent[0], items, item, sub, alias, names, parent,
                                 pctes, unknown, planned[1] if planned else ())
            reuse[id(item)] = item.__class__ is ast.TableRef and planned is None and not unknown and \
                flatten.flattens(b, fparent[0], items, item, sub, parent, pctes) is False
            return out if planned is None else pushdown.push_down(b, planned, out)
    # SQLite's condition (select.c viaCoroutine): nothing but an outer or cross join follows
    # it, so it stays the outer loop, and no RIGHT JOIN reads it again.
    coroutine = fills is not None and bool(items) and (
        len(items) == 1 or (items[1].join_type or 0) & (ast.JT_OUTER | ast.JT_CROSS)) and \
        not any((it.join_type or 0) & ast.JT_RIGHT for it in items)
    for item, src_join, span in opened:
        cls = item.__class__
        if cls is ast.JoinGroup:
            src = _nested_source(b, item, parent, ctes)
        elif cls is ast.TableRef:
            src = _table_source(b, item, parent, ctes, prune, reuse, items, fills, coroutine)
        elif cls is ast.SubqueryRef:
            sub = item.select if prune is None else prune(item, item.select, item.alias, None, ctes)
            if coroutine:
                src = mat.materialize(b, sub, item.alias, parent, ctes, coroutine=True)
            else:
                src = mat.deferred(b, fills, lambda: mat.materialize(b, sub, item.alias, parent, ctes))
        else:
            from limbodb.translate.tvf import open_source
            src = open_source(b, item)
            src.db_name = "main"  # an eponymous virtual table, as SQLite has it
        src.join_span = span
        sources.append((src, src_join))
        coroutine = False
    return sources


def _list_items(from_items, opened):
    """The FROM items as SQLite's list has them once it opened parenthesized joins where it
    can (``opened``: join_using.from_list of them): one read as a subquery is one item, and
    the first item of one opened in place carries its join (as _flatten gives them)."""
    _flatten(from_items)
    return [item for item, _, _ in opened]


def _flatten(items):
    out = []
    for it in items or ():
        if it.__class__ is ast.JoinGroup:
            inner = _flatten(it.items)
            if inner:
                inner[0].join_type = it.join_type
                inner[0].on = it.on
                inner[0].using = it.using
            out.extend(inner)
        else:
            out.append(it)
    return out


def _nested_source(b, group, parent, ctes):
    """A Source for a parenthesized join read as a subquery (sqlite src/select.c selectExpand)."""
    from limbodb.translate import materialize as mat
    core = NestedFrom(False, [ast.ResultColumn(ast.Star(None), None, "*")], group.items)
    src = mat.materialize(b, ast.Select(None, [core], [], None, None, None), group.alias, parent, ctes, kind="join")
    src.nested = core.entries
    src.nested_error = core.error
    return src


def _table_source(b, ref, parent, ctes, prune=None, reuse=None, items=None, fills=None, coroutine=False):
    """A Source for a table, view or CTE; ``coroutine``: a view, or a CTE not computed once
    per statement, runs as a co-routine (open_sources)."""
    from limbodb.translate import materialize as mat
    name = ref.name
    lname = name.lower()
    if ref.schema is None and lname in ctes:
        cte = ctes[lname]
        if cte.__class__ is mat.CteRow:
            return Source(ref.alias or name, cte.cursor, list(cte.names), [AFF_BLOB] * len(cte.names),
                          [None] * len(cte.names), None, None, False)
        inner = {k: v for k, v in ctes.items() if k != lname}
        uses = b.flatten_facts.get(id(cte))
        uses = uses[1] if uses is not None else None
        # SQLite materializes a CTE that is MATERIALIZED or named twice (unless NOT MATERIALIZED)
        # once per statement.
        once = cte.materialized is True or (cte.materialized is None and uses is not None and uses >= 2)
        coroutine = coroutine and not once
        if mat.recursive_core(cte) is not None:
            def fill(p):
                return mat.materialize_recursive(b, cte, ref.alias or name, p, inner, coroutine)
        else:
            sub = cte.select
            if prune is not None and not once and (uses is None or uses <= 1 or cte.materialized is False):
                sub = prune(ref, sub, ref.alias or name, cte.columns, inner,
                            uses is None and cte.materialized is not False, uses is not None and uses < 2)

            def fill(p):
                return mat.reused(b, reuse, ref, cte, ref.alias or name) or mat.remember(
                    reuse, items, ref, cte, mat.materialize(b, sub, ref.alias or name, p, inner,
                                                            coroutine=coroutine))
        if once:
            src = mat.materialize_once(b, cte, ref.alias or name, parent, fill, fills)
        elif coroutine:
            src = fill(parent)
        else:
            src = mat.deferred(b, fills, lambda: fill(parent))
        if cte.columns:
            src.col_names = list(cte.columns)
        return src
    schema = b.schema
    table = None
    view_db = TEMP
    found = ref.schema is not None or has_aux(b.conn) or lname.startswith("sqlite_temp_")
    if found:
        view, table, view_db = find_source(b.conn, name, ref.schema)
    else:
        view = schema.views.get(lname)
    if view is not None:
        with bound_db(b.conn, view_db):
            sub = view.select
            if prune is not None:
                sub = prune(ref, sub, ref.alias or view.name, view.columns, {})
            src = mat.deferred(b, None if coroutine else fills, lambda: mat.reused(
                b, reuse, ref, view, ref.alias or view.name) or mat.remember(reuse, items, ref, view, mat.materialize(
                    b, sub, ref.alias or view.name, parent, {}, resolved=True, coroutine=coroutine)))
        if view.columns:
            src.col_names = list(view.columns)
        src.db_name = _db_name(b.conn, view_db if found else 0)
        return src
    if table is None:
        table = schema.table(name)
    cursor = b.alloc_cursor()
    b.read = True
    src = Source.for_table(table, ref.alias or table.name, cursor)
    src.index = ref.indexed_by
    src.db_name = _db_name(b.conn, table.db)
    return src


def _db_name(conn, db):
    """The name SQLite gives database ``db`` (an index into ``conn.dbs``)."""
    return "main" if db == 0 else "temp" if db == TEMP else conn.dbs[db].db_name


def _unique_names(names):
    """Column names made unique as SQLite does: a repeated name (a ``:N`` suffix taken off)
    gets the first free ``:1``, ``:2``, ... (sqlite src/select.c sqlite3ColumnsFromExprList)."""
    taken = set()
    out = []
    for n in names:
        cnt = 0
        while n.lower() in taken:
            m = _NAME_SUFFIX.search(n)
            cnt += 1
            n = f"{n[:m.start()] if m and m.start() > 0 else n}:{cnt}"
        taken.add(n.lower())
        out.append(n)
    return out


_NAME_SUFFIX = re.compile(r":[0-9]*$")


# ------------------------------------------------------------------ result columns

def expand_columns(core, scope, sources=None):
    """Result columns with '*' and 't.*' expanded; names as sqlite3 reports them."""
    out = []
    # Parenthesized joins opened in place name their columns as SQLite's subquery for them does.
    groups = shown = None
    if sources is not None and len(sources) > 2:
        groups, shown = group_columns(sources) or (None, None)
    for rc in core.columns:
        e = rc.expr
        if e.__class__ is ast.Star:
            matched = False
            end = 0
            for i, src in enumerate(scope.sources):
                if i < end:
                    continue
                if e.table is None and groups is not None and i in groups:
                    matched = True
                    end, entries = groups[i]
                    merged = {left.col_names[j].lower() for (left, j), _r in src.join_pairs}
                    for s, k, name, show in entries:
                        if show and name.lower() not in merged:
                            out.append(OutputColumn(bound_column(scope, s, k), name, _decltype(s, k), s.col_affs[k],
                                                    s.col_colls[k]))
                    continue
                nested = src.nested
                if nested is not None:
                    # Its columns answer to their items' names, not the parentheses' alias, and
                    # '*' leaves out those a join merged (sqlite src/select.c selectExpand).
                    keep = [not n[3] if e.table is None else (n[0] or "").lower() == e.table.lower()
                            for n in nested]
                    if not any(keep):
                        continue
                elif e.table is not None and (src.name is None or src.name.lower() != e.table.lower()):
                    continue
                matched = True
                for j, name in enumerate(src.col_names):
                    if e.table is None and name.lower() in src.using and i > 0:
                        continue
                    if nested is not None and not keep[j]:
                        continue
                    # Generated columns (hidden 2 and 3) are part of '*'; function arguments are not.
                    if j in getattr(src, "hidden_cols", ()):
                        continue
                    if sources is not None and right_join.star_unqualified(sources, i, name.lower()):
                        col = ast.Column(name, None)
                        out.append(OutputColumn(col, name, _expr_decltype(scope, col), expr_affinity(scope, col),
                                                expr_collation(scope, col)))
                        continue
                    col, s, k = star_column(scope, src, j)
                    if shown is not None and id(src) in shown:
                        name = shown[id(src)][j]
                    out.append(OutputColumn(col, name, _decltype(s, k), s.col_affs[k], s.col_colls[k]))
            if not matched:
                if e.table is not None:
                    raise OperationalError(f"no such table: {e.table}")
                raise OperationalError("no tables specified")
            continue
        if rc.alias is not None:
            name = rc.alias
        elif e.__class__ is ast.Column:
            name = _declared_name(scope, e)
            if name is None:
                # A double-quoted name of no column is a string, named as written.
                out.append(OutputColumn(e, rc.text, None, AFF_NONE, None, e.name))
                continue
            # A bare name finds the subquery's column of that very name.
            r = _resolved(scope, e) if shown is not None and e.table is not None else None
            if r is not None:
                if r[1] is not None and r[2] >= 0 and id(r[1]) in shown:
                    # SQLite names it as the subquery's column; a subquery reading it, as written.
                    out.append(OutputColumn(e, shown[id(r[1])][r[2]], _expr_decltype(scope, e),
                                            expr_affinity(scope, e), expr_collation(scope, e), name))
                    continue
        else:
            name = rc.text
        out.append(OutputColumn(e, name, _expr_decltype(scope, e), expr_affinity(scope, e),
                                expr_collation(scope, e)))
    return out


def _resolved(scope, e):
    try:
        return scope.resolve(e)
    except OperationalError:
        return None


def _declared_name(scope, e):
    """A plain column reference is named as its table declares it (``SELECT name`` of ``Name``);
    None for a double-quoted string."""
    try:
        r = scope.resolve(e)
    except OperationalError:
        return e.name
    if r is None:
        return None
    if r[1] is None or r[2] < 0:
        return e.name
    return r[1].col_names[r[2]]


def _decltype(src, j):
    if src.table is not None:
        return src.table.columns[j].decl_type or None
    return None


def _expr_decltype(scope, e):
    if e.__class__ is ast.Column:
        try:
            r = scope.resolve(e)
        except OperationalError:
            return None
        if r is None or r[1] is None or is_coalesce(r[0], e):
            return None
        src, j = r[1], r[2]
        if j < 0:
            return "INTEGER" if src.table is not None and src.rowid_alias is not None else None
        return _decltype(src, j)
    return None


# ------------------------------------------------------------------ one core

def _compile_single(b, sel, core, parent, sink, ctes):
    if core.__class__ is ast.Values:
        return _compile_values(b, sel, core, parent, sink, ctes)
    if window.uses_windows(b, sel, core):
        flatten.mark_window(b, core)
        return window.compile_window_select(b, sel, core, parent, sink, ctes)
    nested = core.__class__ is NestedFrom
    fills = []
    sources = open_sources(b, core.from_, parent, ctes, outer=None if nested else (sel, core), fills=fills)
    scope = Scope([s for s, _ in sources], parent)
    scope.ctes = ctes
    apply_using(scope, sources)
    right_join.bind_using_names(scope, sources)
    if nested:
        cols = [OutputColumn(col, name, None, AFF_NONE, None) if is_coalesce(scope, col) else
                OutputColumn(col, name, _decltype(s, j), s.col_affs[j], s.col_colls[j])
                for col, name, s, j in nested_columns(scope, sources, core)]
    else:
        cols = expand_columns(core, scope, sources)
    for rc in core.columns:
        if rc.alias is not None:
            scope.aliases.setdefault(rc.alias.lower(), rc.expr)
    if scope.aliases:
        _results_name_no_alias(b, scope, core)
    try:
        return _compile_resolved(b, sel, core, sources, scope, cols, sink, fills)
    except OperationalError as e:
        first_name_error(b, scope, sel, core, sources, e)


def _compile_resolved(b, sel, core, sources, scope, cols, sink, fills=()):
    """The code of one core whose sources and result columns are known; ``fills``: the
    subroutines filling its FROM subqueries' tables (open_sources)."""
    n = len(cols)
    # An ORDER BY may hold another aggregate, or a misuse of one (isSimpleCount: one call).
    if _is_count_star(b, core, cols, sources) and sel.limit is None and not sel.order_by:
        return _count_star(b, sources[0][0], cols, sink)
    pipe = _Pipeline(b, sel, sink, n)
    order = _order_terms(sel.order_by, cols, scope) if sel.order_by else None
    aggs = _collect_aggregates(b, core, cols, order, scope)
    terms = _where_terms(core.where)
    # The terms translate/pushdown.py moved into a FROM subquery run there alone.
    moved = b.flatten_facts.get(("moved", id(core)))
    if moved is not None:
        terms = [t for t in terms if id(t) not in moved[1]]
    used = _used_columns(scope, core, cols, order, sources)
    if not sources:
        b.add_plan("SCAN CONSTANT ROW")
    simple = not aggs and core.group_by is None
    want = order if simple and not core.distinct else None
    distinct_order = None
    if simple and core.distinct and order is None:
        # Rows arriving in result-column order make DISTINCT a compare with the previous row.
        distinct_order = [(c.expr, expr_collation(scope, c.expr), False, True) for c in cols]
        want = distinct_order
    minmax = _minmax_query(b, scope, aggs, sources) if aggs and core.group_by is None else None
    if minmax is not None:
        want = minmax
    plan_lines = len(b.plan)
    plan = planner.plan_loops(b, scope, sources, terms, want, used)
    plan.fills = fills
    if minmax is not None:
        # SQLite labels a min()/max() query's loop a SEARCH: it may stop at the first row.
        b.plan[plan_lines:] = [(i, par, "SEARCH" + d[4:] if d.startswith("SCAN ") else d)
                               for i, par, d in b.plan[plan_lines:]]
    if order is not None and not plan.order_satisfied and minmax is None:
        pipe.start_sorter(order, [t[1] for t in order], [t[2] for t in order], [t[3] for t in order])
    distinct = None
    prev = None
    if core.distinct:
        if distinct_order is not None and plan.order_satisfied:
            prev = b.alloc_reg(n)
            b.emit(OP_Null, 0, prev, prev + n - 1)
            first_row = b.alloc_reg()
            b.emit(OP_Integer, 1, first_row)
        else:
            distinct = b.alloc_cursor()
            b.emit(OP_OpenEphemeral, distinct, 0, 0, KeyInfo([expr_collation(scope, c.expr) for c in cols]))
            b.add_plan("USE TEMP B-TREE FOR DISTINCT")

    def key_fn_for(sc, result):
        def key_fn(first):
            for k, (e, _c, _d, _n) in enumerate(order):
                i = _result_reuse(sc, e, cols, simple)
                if i is not None:
                    b.emit(OP_Copy, result + i, first + k)
                else:
                    code_expr(b, sc, e, first + k)
        return key_fn

    def emit_result(sc):
        first = pipe.alloc_row()
        for i, c in enumerate(cols):
            code_expr(b, sc, c.expr, first + i)
        if distinct is not None:
            skip = b.new_label()
            rec = b.alloc_reg()
            b.emit(OP_Found, distinct, skip, first, n)
            b.emit(OP_MakeRecord, first, n, rec, None, MAKERECORD_UNPACKED)
            b.emit(OP_IdxInsert, distinct, rec)
            pipe.row(sc, first, key_fn_for(sc, first))
            b.resolve(skip)
        elif prev is not None:
            skip = b.new_label()
            new_row = b.new_label()
            b.emit(OP_If, first_row, new_row)
            for i, c in enumerate(cols):
                b.emit(OP_Ne, prev + i, new_row, first + i, expr_collation(sc, c.expr), SQLITE_NULLEQ)
            b.emit(OP_Goto, 0, skip)
            b.resolve(new_row)
            b.emit(OP_Integer, 0, first_row)
            b.emit(OP_Copy, first, prev, n - 1)
            pipe.row(sc, first, key_fn_for(sc, first))
            b.resolve(skip)
        else:
            pipe.row(sc, first, key_fn_for(sc, first))

    if core.group_by is None and not aggs:
        plan.emit(b, lambda: emit_result(scope), pipe.break_label)
    elif core.group_by is None:
        _simple_aggregate(b, scope, plan, aggs, core, emit_result, pipe, cols, order,
                          minmax is not None and plan.order_satisfied)
    else:
        _group_by(b, scope, plan, aggs, core, emit_result, pipe, cols, order)
    pipe.finish()
    return cols


def _result_reuse(scope, e, cols, simple):
    """The result column whose register already holds ORDER BY term ``e``, or None.

    The same node (an ordinal or alias) always qualifies; in a query without
    aggregates also the same table column named again (``SELECT c ... ORDER BY c``).
    """
    for i, c in enumerate(cols):
        if c.expr is e:
            return i
    if not simple or e.__class__ is not ast.Column:
        return None
    r = scope.resolve(e)
    if r is None or r[1] is None:
        return None
    for i, c in enumerate(cols):
        if c.expr.__class__ is ast.Column:
            rc = scope.resolve(c.expr)
            if rc is not None and rc[0] is r[0] and rc[1] is r[1] and rc[2] == r[2]:
                return i
    return None


def _is_count_star(b, core, cols, sources):
    """``SELECT count(*) FROM t`` alone: answered by OP_Count without reading rows."""
    if len(cols) != 1 or len(sources) != 1 or core.where is not None or core.group_by is not None \
            or core.having is not None or core.distinct:
        return False
    src = sources[0][0]
    e = cols[0].expr
    # (sqlite_schema is left to the scan: page 1 may not exist yet in an empty database.)
    return (src.table is not None and src.table.root != 1 and e.__class__ is ast.FunctionCall
            and e.name.lower() == "count" and not e.args and not e.distinct and e.filter is None and e.over is None
            and is_aggregate_call(b.conn, e))


def _count_star(b, src, cols, sink):
    """OP_Count over the table, or over its smallest index (as SQLite chooses)."""
    table = src.table
    indexes = [i for i in table.indexes if i.root and i.where is None]
    out = b.alloc_reg()
    b.read = True
    if indexes:
        idx = min(indexes, key=lambda i: len(i.columns))
        b.emit(OP_OpenRead, src.cursor, idx.root, idx.db, idx.key_info(), 0, idx.name)
        b.add_plan(f"SCAN {src.name} USING COVERING INDEX {idx.name}")
    else:
        b.emit(OP_OpenRead, src.cursor, table.root, table.db, len(table.columns), 0, table.name)
        b.add_plan(f"SCAN {src.name}")
    b.emit(OP_Count, src.cursor, out)
    sink(b, out, 1)
    return cols


def _used_columns(scope, core, cols, order, sources):
    """{id(source): columns read} over the whole core, or None if a subquery may read any."""
    exprs = [c.expr for c in cols]
    exprs += [core.where, core.having] + list(core.group_by or ())
    exprs += [t[0] for t in order or ()]
    exprs += [join[1] for _s, join in sources]
    exprs += [a for s, _j in sources for a in getattr(s, "args", ())]
    used = {id(s): set() for s, _j in sources}
    for e in exprs:
        if e is None:
            continue
        for n in walk(e):
            cls = n.__class__
            if cls in (ast.Subquery, ast.Exists) or (cls is ast.In and n.select is not None):
                return None
            if cls is ast.Column:
                try:
                    r = scope.resolve(n)
                except OperationalError:
                    return None
                if r is None or r[0] is not scope:
                    continue
                if r[1] is None:
                    return None
                used[id(r[1])].add(r[2])
    for k, (src, _j) in enumerate(sources):
        for name in src.using:
            used[id(src)].add(src.find(name))
            for other, _j2 in sources[:k]:
                j = other.find(name)
                if j is not None:
                    used[id(other)].add(j)
    return used


def _where_terms(where):
    out = []
    stack = [where] if where is not None else []
    while stack:
        e = stack.pop()
        if e.__class__ is ast.Binary and e.op == "AND":
            stack.append(e.right)
            stack.append(e.left)
        else:
            out.append(e)
    return out


def split_and(e):
    return _where_terms(e)


def _order_terms(order_by, cols, scope):
    """(expr, collation, desc, nulls_first) per ORDER BY term, resolving numbers and aliases."""
    out = []
    for t in order_by:
        e = t.expr
        coll = None
        if e.__class__ is ast.Collate:
            coll = e.collation
            e = e.expr
        if e.__class__ is ast.Literal and e.value.__class__ is int and e.kind == ast.LIT_VALUE:
            k = e.value
            if not 1 <= k <= len(cols):
                raise OperationalError(f"{_ordinal(len(out) + 1)} ORDER BY term out of range - "
                                       f"should be between 1 and {len(cols)}")
            e = cols[k - 1].expr
        elif e.__class__ is ast.Column and e.table is None:
            for c in cols:
                if c.name.lower() == e.name.lower() and c.expr is not e and _is_alias(c, e):
                    e = c.expr
                    break
        if coll is None:
            coll = expr_collation(scope, e)
        desc = bool(t.desc)
        nulls = t.nulls
        nulls_first = (not desc) if nulls == ast.NULLS_DEFAULT else nulls == ast.NULLS_FIRST
        out.append((e, coll, desc, nulls_first))
    return out


def _is_alias(col, ref):
    return not (col.expr.__class__ is ast.Column and col.expr.name.lower() == ref.name.lower())


def _ordinal(n):
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


# ------------------------------------------------------------------ aggregates

def _results_name_no_alias(b, scope, core):
    """SQLite resolves the result columns before their aliases join the name context (for
    WHERE, GROUP BY, HAVING, ORDER BY): a result column, or a subquery in one, naming only
    an alias is "no such column" (a double-quoted one the string). Their names never
    resolve to an alias (``Scope.alias_blind``); errors are checked apart from the code."""
    exprs = [rc.expr for rc in core.columns if rc.expr.__class__ is not ast.Star]
    blind = {id(n) for e in exprs for n in flatten.nodes(e)
             if n.__class__ is ast.Column and n.table is None and n.name.lower() in scope.aliases}
    if not blind:
        return
    scope.alias_blind = blind
    # The calls of this query in those subqueries are only recorded (it computes them later).
    scope.discovered = []
    try:
        for e in exprs:
            for n in walk(e):
                if n.__class__ is ast.Column:
                    scope.resolve(n)
                elif n.__class__ in (ast.Subquery, ast.Exists) or (n.__class__ is ast.In and n.select is not None):
                    result_columns(b, n.select, probe(scope))
    finally:
        scope.discovered = None


def _collect_aggregates(b, core, cols, order, scope):
    """Aggregate calls this query computes (result columns, HAVING, ORDER BY), in order of appearance.

    SQLite gives an aggregate call to the innermost query whose FROM its arguments
    read (resolve.c, NC_UAggInfo): a call written here over only enclosing queries'
    columns is theirs and is read from the register they finalize it into, and a call
    in a subquery here (however deep) over only this query's columns is this query's.
    Only the result columns and GROUP BY make a query an aggregate one; then HAVING,
    ORDER BY and the WHERE of a subquery may hold calls too.
    """
    # A window query's inner query ends with the values only its ORDER BY reads.
    nresult = len(cols) - sum(rc.__class__ is window.OrderOnlyColumn for rc in core.columns)
    calls = _own_calls(b, scope, [c.expr for c in cols[:nresult]])
    grouped = bool(calls) or core.group_by is not None
    if core.having is not None and not grouped:
        raise OperationalError("HAVING clause on a non-aggregate query")
    rest = [core.having] if core.having is not None else []
    if order:
        rest.extend(t[0] for t in order)
    rest.extend(c.expr for c in cols[nresult:])
    more = _own_calls(b, scope, rest, not grouped)
    if more and not grouped:
        # SQLite codes each term and its last message stands, but a subquery coded after
        # an error is skipped: the last call written here, else the first subquery's.
        last = next((n for e in reversed(rest) for n in walk(e) if any(n is m for m in more)), more[0])
        raise OperationalError(f"misuse of aggregate: {last.name}()")
    aggs = []
    seen = set()
    for n in calls + more:
        if id(n) in seen:
            continue
        seen.add(id(n))
        for a in n.args or ():
            for inner in walk(a):
                if is_aggregate_call(b.conn, inner):
                    raise OperationalError(f"misuse of aggregate function {inner.name}()")
                if inner.__class__ is ast.Column and inner.table is None and inner.name.lower() in scope.aliases:
                    _aliased_aggregate(b, scope, core, cols, order, n, inner)
        aggs.append(n)
    if core.where is not None:
        # An enclosing query's call may sit in the WHERE of an aggregate query only:
        # SQLite resolves the WHERE with aggregates allowed when the result set has one.
        for n in walk(core.where):
            if is_aggregate_call(b.conn, n) and not (grouped and claimed_outside(b, scope, n)):
                raise OperationalError(f"misuse of aggregate function {n.name}()")
        for n in discover(b, scope, [core.where], exists_uncoded=True):
            raise OperationalError(f"misuse of aggregate: {n.name}()")
    return aggs


def _aliased_aggregate(b, scope, core, cols, order, call, col):
    """Raise "misuse of aliased aggregate NAME" when ``col``, an argument of ``call`` written
    in this query, names an alias of an aggregate expression: SQLite resolves the arguments
    with aggregates disallowed. A call in a subquery reads the alias's copy, which fails
    only when coded ("misuse of aggregate: NAME()", translate/expr.py)."""
    try:
        r = scope.resolve(col)
    except OperationalError:
        return
    if r is None or r[1] is not None or r[0] is not scope or \
            not any(is_aggregate_call(b.conn, n) for n in walk(scope.aliases[r[2]])):
        return
    written = [c.expr for c in cols] + [t[0] for t in order or ()] + [core.having]
    if any(n is call for e in written for n in walk(e)):
        name = next(rc.alias for rc in core.columns if rc.alias is not None and rc.alias.lower() == r[2])
        raise OperationalError(f"misuse of aliased aggregate {name}")


def _own_calls(b, scope, exprs, exists_uncoded=False):
    """The aggregate calls in ``exprs`` and in their subqueries that belong to ``scope``'s query."""
    calls = [n for e in exprs for n in walk(e)
             if is_aggregate_call(b.conn, n) and not claimed_outside(b, scope, n)]
    calls.extend(discover(b, scope, exprs, exists_uncoded))
    return calls


class _AggSlot:
    """One accumulator; ``calls`` are the identical aggregate calls sharing it (SQLite's AggInfo)."""

    __slots__ = ("call", "calls", "fd", "acc", "distinct", "coll", "ran", "hit")

    def __init__(self, call, fd, acc, distinct, coll=None):
        self.call = call
        self.calls = [call]
        self.fd = fd
        self.acc = acc
        self.distinct = distinct
        # DISTINCT compares arguments with their collation (count(DISTINCT b) of a NOCASE b).
        self.coll = coll
        # A DISTINCT min()/max() that bare columns follow: ``ran`` is 1 when the row's value
        # was new (its AggStep ran), ``hit`` 1 when the last step kept the old extreme.
        self.ran = None
        self.hit = None


def _agg_slots(b, aggs, scope):
    slots = []
    by_text = {}
    for call in aggs:
        same = by_text.get(ast.dump(call))
        if same is not None:
            same.calls.append(call)
            continue
        args = call.args or []
        if call.filter is not None:
            raise OperationalError("FILTER clauses are not supported")
        fd = b.conn.functions.lookup(call.name, len(args))
        distinct = None
        if call.distinct:
            if len(args) != 1:
                raise OperationalError("DISTINCT aggregates must have exactly one argument")
            distinct = b.alloc_cursor()
        coll = expr_collation(scope, args[0]) if args else None
        if coll is not None and coll.upper() != "BINARY" and len(args) == 1 and \
                call.name.lower() in ("min", "max"):
            fd = collated_minmax(call.name, coll)
        slot = _AggSlot(call, fd, b.alloc_reg(), distinct, coll if distinct is not None else None)
        by_text[ast.dump(call)] = slot
        slots.append(slot)
    return slots


def _agg_reset(b, slots):
    for s in slots:
        b.emit(OP_Null, 0, s.acc)
        if s.distinct is not None:
            b.emit(OP_OpenEphemeral, s.distinct, 0, 0, KeyInfo([s.coll]))


def _agg_step(b, slots, arg_scope, arg_regs=None):
    """AggStep for every slot; args computed in ``arg_scope`` (or read from ``arg_regs``).

    Returns each slot's first argument register.
    """
    firsts = []
    for k, s in enumerate(slots):
        args = s.call.args or []
        if arg_regs is not None:
            first = arg_regs[k]
        else:
            first = b.alloc_reg(max(len(args), 1))
            for j, a in enumerate(args):
                code_expr(b, arg_scope, a, first + j)
        skip = None
        if s.distinct is not None:
            skip = b.new_label()
            rec = b.alloc_reg()
            if s.ran is not None:
                b.emit(OP_Integer, 0, s.ran)
            b.emit(OP_Found, s.distinct, skip, first, 1)
            b.emit(OP_MakeRecord, first, 1, rec, None, MAKERECORD_UNPACKED)
            b.emit(OP_IdxInsert, s.distinct, rec)
            if s.ran is not None:
                b.emit(OP_Integer, 1, s.ran)
        b.emit(OP_AggStep, 0, first, s.acc, s.fd, len(args), s.call.name)
        if skip is not None:
            b.resolve(skip)
        firsts.append(first)
    return firsts


def _agg_final(b, slots, scope):
    """Finalize each accumulator into a result register and point the calls at it."""
    for s in slots:
        out = b.alloc_reg()
        b.emit(OP_Copy, s.acc, out)
        b.emit(OP_AggFinal, out, len(s.call.args or []), 0, s.fd, 0, s.call.name)
        for call in s.calls:
            scope.overrides[id(call)] = out


def _bare_columns(core, cols, order, scope, slots):
    """Column nodes read outside aggregate arguments (result, HAVING, ORDER BY)."""
    inside = set()
    for s in slots:
        for call in s.calls:
            for a in call.args or ():
                for n in walk(a):
                    inside.add(id(n))
    exprs = [c.expr for c in cols]
    if core.having is not None:
        exprs.append(core.having)
    if order:
        exprs.extend(t[0] for t in order)
    out = []
    seen = set()
    for e in exprs:
        for n in walk(e):
            if n.__class__ is ast.Column and id(n) not in inside and id(n) not in seen:
                seen.add(id(n))
                try:
                    r = scope.resolve(n)
                except OperationalError:
                    r = None
                if r is not None and r[1] is None:
                    continue  # a result alias: its expression's own nodes are walked already
                out.append(n)
    return out


def _outer_refs(core, cols, order, scope):
    """Columns of this query that subqueries in the result, HAVING or ORDER BY read:
    {(id(source), column): a node naming it}.

    They are evaluated per group after the scan ended, so, like SQLite's AggInfo
    columns, they are carried with the bare columns. A name the subquery resolves
    to its own table is matched too when this query has it: one spare column.
    """
    exprs = [c.expr for c in cols]
    if core.having is not None:
        exprs.append(core.having)
    if order:
        exprs.extend(t[0] for t in order)
    own = Scope(scope.sources)
    out = {}
    stack = [n.select for e in exprs for n in walk(e)
             if n.__class__ in (ast.Subquery, ast.Exists, ast.In) and n.select is not None]
    while stack:
        n = stack.pop()
        if n.__class__ is ast.Column:
            try:
                r = own.resolve(n)
            except OperationalError:
                r = None
            if r is not None and r[1] is not None:
                out.setdefault((id(r[1]), r[2]), n)
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
    return out


def _group_key_reads(core, cols, order, scope, keys):
    """Nodes of the output expressions a GROUP BY key already holds: {id: (key number, whole)}.

    SQLite outputs a grouped column as it was in the group's last (or min/max)
    row, so a key register (the group's first row) may stand in only where every
    row of a group holds the identical value: a plain column under BINARY whose
    TEXT, NUMERIC or INTEGER affinity rules out equal values of other types
    (1 and 1.0). Such a key named again, or referred to by number or alias, is
    read from the key register (``whole``); its own nodes need no bare-column
    copy (not ``whole``).
    """
    exprs = [c.expr for c in cols]
    if core.having is not None:
        exprs.append(core.having)
    if order:
        exprs.extend(t[0] for t in order)
    out = {}
    key_ids = {}
    col_keys = {}
    for i, k in enumerate(keys):
        if k.__class__ is not ast.Column or expr_collation(scope, k) not in (None, "BINARY"):
            continue
        r = scope.resolve(k)
        if r is None or r[0] is not scope or r[1] is None or r[1].table is None:
            continue
        src, c = r[1], r[2]
        if c == -1 or c == src.rowid_alias or src.col_affs[c] in ("B", "C", "D"):
            key_ids.setdefault(id(k), i)
            col_keys.setdefault((id(src), c), i)
    whole = []
    for e in exprs:
        for n in walk(e):
            i = key_ids.get(id(n))
            if i is None and n.__class__ is ast.Column and col_keys:
                try:
                    r = scope.resolve(n)
                except OperationalError:
                    r = None
                if r is not None and r[1] is not None and r[0] is scope:
                    i = col_keys.get((id(r[1]), r[2]))
            if i is not None:
                out[id(n)] = (i, True)
                whole.append(n)
    for n in whole:
        for m in walk(n):
            out.setdefault(id(m), (out[id(n)][0], False))
    return out


def _minmax_slot(slots):
    """The min()/max() aggregate bare columns follow, or None: SQLite's rule picks the last one."""
    found = None
    for k, slot in enumerate(slots):
        if slot.call.name.lower() in ("min", "max") and len(slot.call.args or ()) == 1:
            found = k
    return found


def _bare_update(b, scope, slot, arg_reg, best, first_row, load_bare):
    """Load the bare columns as SQLite does: on a group's first row, or, with a min()/max(),
    on each row that aggregate takes its value from (a NULL counts until a value is seen).

    A DISTINCT min()/max() skips its step on a repeated value, and SQLite's regHit then
    keeps the previous row's verdict: the bare columns load again if that row loaded them.
    """
    later = b.new_label()
    load = b.new_label()
    skip = later
    if slot is None:
        b.emit(OP_IfNot, first_row, later)
    else:
        if slot.ran is not None:
            skip = b.new_label()
            fresh = b.new_label()
            b.emit(OP_If, slot.ran, fresh)
            b.emit(OP_If, slot.hit, later)
            load_bare()
            b.emit(OP_Goto, 0, later)
            b.resolve(fresh)
        null_arg = b.new_label()
        b.emit(OP_IsNull, arg_reg, null_arg)
        b.emit(OP_IsNull, best, load)
        coll = expr_collation(scope, slot.call.args[0])
        worse = OP_Ge if slot.call.name.lower() == "max" else OP_Le
        b.emit(worse, arg_reg, skip, best, coll, 0)
        b.emit(OP_Goto, 0, load)
        b.resolve(null_arg)
        b.emit(OP_NotNull, best, skip)
        if slot.ran is not None:
            b.emit(OP_Goto, 0, load)
            b.resolve(skip)
            b.emit(OP_Integer, 1, slot.hit)
            b.emit(OP_Goto, 0, later)
    b.resolve(load)
    b.emit(OP_Integer, 0, first_row)
    if slot is not None:
        b.emit(OP_Copy, arg_reg, best)
        if slot.ran is not None:
            b.emit(OP_Integer, 0, slot.hit)
    load_bare()
    b.resolve(later)


def _track_distinct_minmax(b, slot):
    """Give a DISTINCT min()/max() that bare columns follow its ``ran``/``hit`` registers."""
    if slot is not None and slot.distinct is not None:
        slot.ran = b.alloc_reg()
        slot.hit = b.alloc_reg()
        b.emit(OP_Integer, 0, slot.hit)


def _minmax_query(b, scope, aggs, sources):
    """For ``SELECT min(col)`` / ``max(col)`` alone: the ORDER BY that lets the loop stop at the
    first non-NULL value (sqlite3's minMaxQuery), else None."""
    if len(sources) != 1 or len({ast.dump(a) for a in aggs}) != 1:
        return None
    call = aggs[0]
    if call.name.lower() not in ("min", "max") or len(call.args or ()) != 1 or call.distinct \
            or call.filter is not None:
        return None
    arg = call.args[0]
    col = arg.expr if arg.__class__ is ast.Collate else arg
    if col.__class__ is not ast.Column:
        return None
    desc = call.name.lower() == "max"
    return [(col, expr_collation(scope, arg), desc, not desc)]


def _simple_aggregate(b, scope, plan, aggs, core, emit_result, pipe, cols, order, first_value=False):
    """Aggregates over all rows: one group, one output row (unless HAVING rejects it).

    ``first_value``: the loop visits rows in min()/max() order, so it stops at the first
    non-NULL argument.
    """
    slots = _agg_slots(b, aggs, scope)
    _agg_reset(b, slots)
    bare = _bare_columns(core, cols, order, scope, slots)
    refs = _outer_refs(core, cols, order, scope)
    bare.extend(refs.values())
    bare_regs = {id(n): b.alloc_reg() for n in bare}
    for rid in bare_regs.values():
        b.emit(OP_Null, 0, rid)
    first_row = b.alloc_reg()
    b.emit(OP_Integer, 1, first_row)
    mm = _minmax_slot(slots)
    if bare_regs:
        _track_distinct_minmax(b, slots[mm] if mm is not None else None)
    best = b.alloc_reg()
    b.emit(OP_Null, 0, best)

    found = b.new_label()

    def body():
        arg_firsts = _agg_step(b, slots, scope)
        if bare_regs:
            def load():
                for n in bare:
                    code_expr(b, scope, n, bare_regs[id(n)])
            _bare_update(b, scope, slots[mm] if mm is not None else None,
                         arg_firsts[mm] if mm is not None else None, best, first_row, load)
        if first_value:
            b.emit(OP_NotNull, arg_firsts[0], found)
    plan.emit(b, body, pipe.break_label)
    b.resolve(found)
    _agg_final(b, slots, scope)
    scope.overrides.update(bare_regs)
    scope.captured = {k: bare_regs[id(n)] for k, n in refs.items()}
    _output_group(b, scope, core, emit_result)
    scope.captured = None


def _output_group(b, scope, core, emit_result):
    scope.agg_ok = True
    if core.having is not None:
        skip = b.new_label()
        code_if_false(b, scope, core.having, skip, True)
        emit_result(scope)
        b.resolve(skip)
    else:
        emit_result(scope)


def _group_by(b, scope, plan, aggs, core, emit_result, pipe, cols, order):
    """GROUP BY: sort (keys, aggregate args, bare columns), then accumulate each run of equal keys."""
    slots = _agg_slots(b, aggs, scope)
    keys = []
    for g in core.group_by:
        e = g
        if e.__class__ is ast.Literal and e.value.__class__ is int and e.kind == ast.LIT_VALUE:
            k = e.value
            if not 1 <= k <= len(cols):
                raise OperationalError(f"{_ordinal(len(keys) + 1)} GROUP BY term out of range - "
                                       f"should be between 1 and {len(cols)}")
            e = cols[k - 1].expr
        elif e.__class__ is ast.Column and e.table is None:
            r = None
            try:
                r = scope.resolve(e)
            except OperationalError:
                pass
            if r is not None and r[1] is None:
                e = scope.aliases[r[2]]
        if any(is_aggregate_call(b.conn, n) for n in walk(e)) or discover(b, scope, [e]):
            raise OperationalError("aggregate functions are not allowed in the GROUP BY clause")
        keys.append(e)
    nk = len(keys)
    key_reads = _group_key_reads(core, cols, order, scope, keys)
    bare = [n for n in _bare_columns(core, cols, order, scope, slots) if id(n) not in key_reads]
    refs = _outer_refs(core, cols, order, scope)
    bare.extend(refs.values())
    arg_counts = [len(s.call.args or []) for s in slots]
    nargs = sum(arg_counts)
    width = nk + nargs + len(bare)
    sorter = b.alloc_cursor()
    colls = [expr_collation(scope, k) for k in keys]
    b.emit(OP_SorterOpen, sorter, width, 0, SortSpec(colls, [False] * nk))
    b.add_plan("USE TEMP B-TREE FOR GROUP BY")

    def body():
        first = b.alloc_reg(width)
        for i, k in enumerate(keys):
            code_expr(b, scope, k, first + i)
        pos = first + nk
        for s in slots:
            for a in s.call.args or ():
                code_expr(b, scope, a, pos)
                pos += 1
        for n in bare:
            code_expr(b, scope, n, pos)
            pos += 1
        rec = b.alloc_reg()
        b.emit(OP_MakeRecord, first, width, rec, None, MAKERECORD_UNPACKED)
        b.emit(OP_SorterInsert, sorter, rec)
    plan.emit(b, body, pipe.break_label)

    pseudo = b.alloc_cursor()
    data = b.alloc_reg()
    b.emit(OP_OpenPseudo, pseudo, data, width)
    cur_keys = b.alloc_reg(nk)
    prev_keys = b.alloc_reg(nk)
    have_group = b.alloc_reg()
    out_sub = b.alloc_reg()
    args_first = b.alloc_reg(max(nargs, 1))
    bare_regs = {id(n): b.alloc_reg() for n in bare}
    first_row = b.alloc_reg()
    best = b.alloc_reg()
    output = b.new_label()
    done = b.new_label()
    b.emit(OP_Integer, 0, have_group)
    _agg_reset(b, slots)
    mm = _minmax_slot(slots)
    if bare:
        _track_distinct_minmax(b, slots[mm] if mm is not None else None)
    b.emit(OP_SorterSort, sorter, done)
    top = b.addr
    b.emit(OP_SorterData, sorter, data, pseudo)
    for i in range(nk):
        b.emit(OP_Column, pseudo, i, cur_keys + i)
    same = b.new_label()
    step = b.new_label()
    b.emit(OP_IfNot, have_group, step)
    b.emit(OP_Compare, prev_keys, cur_keys, nk, KeyInfo(colls))
    diff = b.new_label()
    b.emit(OP_Jump, diff, same, diff)
    b.resolve(diff)
    b.emit(OP_Gosub, out_sub, output)
    _agg_reset(b, slots)
    b.resolve(step)
    b.emit(OP_Integer, 1, have_group)
    b.emit(OP_Copy, cur_keys, prev_keys, nk - 1)
    b.emit(OP_Integer, 1, first_row)
    b.emit(OP_Null, 0, best)
    b.resolve(same)
    for j in range(nargs):
        b.emit(OP_Column, pseudo, nk + j, args_first + j)
    arg_regs = []
    pos = args_first
    for c in arg_counts:
        arg_regs.append(pos)
        pos += c
    _agg_step(b, slots, scope, arg_regs)
    if bare:
        def load():
            for j, n in enumerate(bare):
                b.emit(OP_Column, pseudo, nk + nargs + j, bare_regs[id(n)])
        _bare_update(b, scope, slots[mm] if mm is not None else None,
                     arg_regs[mm] if mm is not None else None, best, first_row, load)
    b.emit(OP_SorterNext, sorter, top)
    b.emit(OP_IfNot, have_group, done)
    b.emit(OP_Gosub, out_sub, output)
    b.emit(OP_Goto, 0, done)

    # Subroutine: finalize and emit the group just ended.
    b.resolve(output)
    _agg_final(b, slots, scope)
    scope.overrides.update(bare_regs)
    for node_id, (i, whole) in key_reads.items():
        if whole:
            scope.overrides[node_id] = prev_keys + i
    scope.captured = {k: bare_regs[id(n)] for k, n in refs.items()}
    ret = b.new_label()
    scope.agg_ok = True
    if core.having is not None:
        code_if_false(b, scope, core.having, ret, True)
    emit_result(scope)
    scope.captured = None
    b.resolve(ret)
    b.emit(OP_Return, out_sub)
    b.resolve(done)


# ------------------------------------------------------------------ VALUES and compounds

def _compile_values(b, sel, core, parent, sink, ctes):
    n = len(core.rows[0])
    for row in core.rows:
        if len(row) != n:
            raise OperationalError("all VALUES must have the same number of terms")
    pipe = _Pipeline(b, sel, sink, n)
    scope = Scope([], parent)
    scope.ctes = ctes
    cols = [OutputColumn(e, f"column{i + 1}", None) for i, e in enumerate(core.rows[0])]
    order = _order_terms(sel.order_by, cols, scope) if sel.order_by else None
    if order:
        pipe.start_sorter(order, [t[1] for t in order], [t[2] for t in order], [t[3] for t in order])
    for row in core.rows:
        first = b.alloc_reg(n)
        for i, e in enumerate(row):
            code_expr(b, scope, e, first + i)
        rcols = row

        def key_fn(kf, rcols=rcols):
            for k, (e, _c, _d, _n) in enumerate(order):
                idx = next((i for i, c in enumerate(cols) if c.expr is e), None)
                code_expr(b, scope, rcols[idx] if idx is not None else e, kf + k)
        pipe.row(scope, first, key_fn)
    pipe.finish()
    return cols

