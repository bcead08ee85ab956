"""SQL front end: text to statements.

``parse(sql)`` returns every statement of a text; ``parse_one(sql, offset)``
parses the first statement at or after ``offset`` and returns where the rest
of the text starts (``Connection.prepare`` uses it to return the tail);
``complete_statement(sql)`` mirrors ``sqlite3.complete_statement``. Syntax
errors raise ``limbodb.errors.OperationalError`` with SQLite's message and
``error_offset``. The node classes live in ``limbodb.parser.ast``.
"""

from ..errors import OperationalError
from .complete import complete_statement
from .parser import Parser

__all__ = ["parse", "parse_one", "complete_statement"]


def parse_one(sql, offset=0):
    """(first statement at or after ``offset`` or None, offset where the rest starts).

    Empty statements (lone ``;``) before it are skipped, as sqlite3_prepare does;
    the returned offset is just after the statement's ``;`` (or the end of text).
    """
    parser = Parser(sql, offset)
    try:
        stmt = parser.parse_statement()
    except RecursionError:
        # SQLite's LALR stack overflows long before Python's does.
        raise OperationalError("parser stack overflow") from None
    if stmt is None:
        return None, len(sql)
    return stmt, parser.end_offset()


def parse(sql):
    """Every statement of ``sql``, in order."""
    stmts = []
    offset = 0
    while True:
        stmt, offset = parse_one(sql, offset)
        if stmt is None:
            return stmts
        stmts.append(stmt)
