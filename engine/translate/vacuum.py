"""VACUUM and VACUUM INTO: a program around the Vacuum opcode.

In-place VACUUM runs in a write transaction (refused inside an explicit one,
as SQLite refuses it) and ends by bumping the schema cookie, because root
pages move, and reloading the schema. VACUUM INTO only reads the main
database; its file name is any expression that evaluates to text.
Mirrors sqlite src/vacuum.c (sqlite3Vacuum).
"""

from limbodb.errors import OperationalError
from limbodb.translate.builder import ProgramBuilder
from limbodb.translate.expr import Scope, code_expr
from limbodb.vdbe.insn import OP_ParseSchema, OP_Vacuum


def translate_vacuum(stmt, conn):
    schema = (stmt.schema or "main").lower()
    b = ProgramBuilder(conn)
    if schema == "temp":
        # limbodb keeps no temp database, so there is nothing to rebuild.
        return b.finish(readonly=True)
    if schema != "main":
        raise OperationalError(f"unknown database {stmt.schema}")
    if stmt.into is not None:
        b.read = True
        target = b.alloc_reg()
        code_expr(b, Scope([]), stmt.into, target)
        b.emit(OP_Vacuum, 1, target)
        return b.finish(readonly=True)
    b.write = True
    b.emit(OP_Vacuum, 0, 0)
    b.emit(OP_ParseSchema)
    return b.finish(readonly=False)
