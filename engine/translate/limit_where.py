"""UPDATE/DELETE ... ORDER BY ... LIMIT, rewritten to a plain UPDATE/DELETE.

As sqlite3LimitWhere does, ORDER BY/LIMIT/OFFSET move into a subquery that
picks the target rowids: ``WHERE rowid IN (SELECT rowid FROM t WHERE w ORDER
BY o LIMIT l)``; the subquery runs once, before any row changes. The rewrite
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


def _copy(stmt, cls, **changes):
    new = cls.__new__(cls)
    for f in cls._fields:
        setattr(new, f, changes[f] if f in changes else getattr(stmt, f, None))
    return new


def _rewrite(stmt, conn, cls, verb):
    if stmt.order_by and stmt.limit is None:
        raise OperationalError(f"ORDER BY without LIMIT on {verb}")
    if dml_table(conn, stmt.table).without_rowid:
        raise OperationalError(f"{verb} with ORDER BY or LIMIT on a WITHOUT ROWID table is not supported")
    return _copy(stmt, cls, where=_rowids(stmt), order_by=None, limit=None, offset=None)


def rewrite_delete(stmt, conn):
    """The DELETE without ORDER BY/LIMIT that deletes the same rows."""
    return _rewrite(stmt, conn, ast.Delete, "DELETE")


def rewrite_update(stmt, conn):
    """The UPDATE without ORDER BY/LIMIT that changes the same rows."""
    return _rewrite(stmt, conn, ast.Update, "UPDATE")
