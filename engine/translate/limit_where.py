"""UPDATE/DELETE ... ORDER BY ... LIMIT, rewritten to a plain UPDATE/DELETE.

As sqlite3LimitWhere does, ORDER BY/LIMIT/OFFSET move into a subquery that
picks the target rowids: ``WHERE rowid IN (SELECT rowid FROM t WHERE w ORDER
BY o LIMIT l)``; the subquery runs once, before any row changes. A WITHOUT
ROWID table is picked by its PRIMARY KEY instead: ``pk IN (SELECT pk ...)``,
or for a key of several columns (row values in IN are not supported) an
EXISTS over the limited keys (its rows are all chosen before any changes,
since the WITHOUT ROWID writers collect the target keys first). The rewrite
builds new nodes; the statement's own tree is left as the parser made it.
UPDATE ... FROM (with or without LIMIT) is update_from.py's.
Mirrors sqlite src/delete.c (sqlite3LimitWhere).
"""

from limbodb.errors import OperationalError
from limbodb.parser import ast
from limbodb.translate.attach import dml_table


def _rowids(stmt):
    """``rowid IN (SELECT rowid FROM target WHERE ... ORDER BY ... LIMIT ...)``."""
    t = stmt.table
    name = t.alias or t.name
    ref = ast.TableRef(t.name, t.schema, t.alias, t.indexed_by, t.not_indexed)
    core = ast.SelectCore(False, [ast.ResultColumn(ast.Column("rowid", name), None, "rowid")], [ref], stmt.where)
    sel = ast.Select(None, [core], [], stmt.order_by, stmt.limit, stmt.offset)
    return ast.In(ast.Column("rowid", name), None, sel, None, False)


# Correlation name of the limited keys (not a valid SQL name, so it cannot clash).
_KEYS = " keys"


def _primary_keys(stmt, table):
    """The WITHOUT ROWID form of _rowids: the rows whose PRIMARY KEY the limited subquery picks."""
    t = stmt.table
    name = t.alias or t.name
    pk = [table.columns[ic.col].name for ic in next(i for i in table.indexes if i.origin == "pk").columns]
    ref = ast.TableRef(t.name, t.schema, t.alias, t.indexed_by, t.not_indexed)
    cols = [ast.ResultColumn(ast.Column(c, name), None, c) for c in pk]
    sel = ast.Select(None, [ast.SelectCore(False, cols, [ref], stmt.where)], [], stmt.order_by, stmt.limit,
                     stmt.offset)
    if len(pk) == 1:
        return ast.In(ast.Column(pk[0], name), None, sel, None, False)
    match = None
    for c in pk:
        eq = ast.Binary("=", ast.Column(c, _KEYS), ast.Column(c, name))
        match = eq if match is None else ast.Binary("AND", match, eq)
    one = [ast.ResultColumn(ast.Literal(1), None, "1")]
    keys = ast.SubqueryRef(sel, _KEYS)
    return ast.Exists(ast.Select(None, [ast.SelectCore(False, one, [keys], match)], [], None, None, None), False)


def _copy(stmt, cls, **changes):
    new = cls.__new__(cls)
    for f in cls._fields:
        setattr(new, f, changes[f] if f in changes else getattr(stmt, f, None))
    return new


def _rewrite(stmt, conn, cls, verb):
    if stmt.order_by and stmt.limit is None:
        raise OperationalError(f"ORDER BY without LIMIT on {verb}")
    table = dml_table(conn, stmt.table)
    where = _primary_keys(stmt, table) if table.without_rowid else _rowids(stmt)
    return _copy(stmt, cls, where=where, order_by=None, limit=None, offset=None)


def rewrite_delete(stmt, conn):
    """The DELETE without ORDER BY/LIMIT that deletes the same rows."""
    return _rewrite(stmt, conn, ast.Delete, "DELETE")


def rewrite_update(stmt, conn):
    """The UPDATE without ORDER BY/LIMIT that changes the same rows."""
    return _rewrite(stmt, conn, ast.Update, "UPDATE")
