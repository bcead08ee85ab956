"""SAVEPOINT, RELEASE [SAVEPOINT] and ROLLBACK [TRANSACTION] TO [SAVEPOINT]: one OP_Savepoint.

The semantics (nesting, the transaction a SAVEPOINT starts, "no such savepoint")
live in vdbe/execute_savepoint.py, since they depend on the connection's state
when the statement runs, not when it is prepared. Mirrors sqlite src/build.c
(sqlite3Savepoint).
"""

from limbodb.translate.builder import ProgramBuilder
from limbodb.vdbe.execute_savepoint import SAVEPOINT_BEGIN, SAVEPOINT_RELEASE, SAVEPOINT_ROLLBACK
from limbodb.vdbe.insn import OP_Savepoint


def _program(conn, op, name):
    b = ProgramBuilder(conn)
    b.emit(OP_Savepoint, op, 0, 0, name)
    return b.finish(readonly=False)


def translate_savepoint(stmt, conn):
    return _program(conn, SAVEPOINT_BEGIN, stmt.name)


def translate_release(stmt, conn):
    return _program(conn, SAVEPOINT_RELEASE, stmt.name)


def translate_rollback_to(stmt, conn):
    return _program(conn, SAVEPOINT_ROLLBACK, stmt.savepoint)
