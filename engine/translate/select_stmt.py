"""A top-level SELECT statement: its rows are the program's result rows.

Column names and declared types come from the result columns; the body is
select.py's ``compile_select`` with an OP_ResultRow sink.
"""

from limbodb.translate.builder import ProgramBuilder
from limbodb.translate.select import compile_select
from limbodb.vdbe.insn import OP_ResultRow


def translate_select(stmt, conn):
    b = ProgramBuilder(conn)

    def sink(bb, first, n):
        bb.emit(OP_ResultRow, first, n)
    cols = compile_select(b, stmt, None, sink)
    b.column_names = [c.name for c in cols]
    b.column_decltypes = [c.decltype for c in cols]
    return b.finish()
