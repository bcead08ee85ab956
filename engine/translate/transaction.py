"""BEGIN, COMMIT/END and ROLLBACK: one OP_AutoCommit each (contracts.md §10).

BEGIN IMMEDIATE/EXCLUSIVE also takes the write lock at once (OP_Transaction
with P2=1) after leaving autocommit mode. BEGIN CONCURRENT is OP_AutoCommit
with P3=1 (limbodb/mvcc.py). ROLLBACK TO is savepoint.py's.
Mirrors sqlite src/build.c (sqlite3BeginTransaction, sqlite3EndTransaction).
"""

from limbodb.translate.builder import ProgramBuilder
from limbodb.translate.cdc import emit_commit
from limbodb.translate.savepoint import translate_rollback_to
from limbodb.vdbe.insn import OP_AutoCommit, OP_Transaction


def translate_begin(stmt, conn):
    b = ProgramBuilder(conn)
    if stmt.mode in ("IMMEDIATE", "EXCLUSIVE"):
        # AutoCommit ends the program, so the write lock is taken first.
        b.emit(OP_Transaction, 0, 1, conn.schema.cookie)
    b.emit(OP_AutoCommit, 0, 0, 1 if stmt.mode == "CONCURRENT" else 0)
    return b.finish(readonly=False)


def translate_commit(stmt, conn):
    b = ProgramBuilder(conn)
    emit_commit(b)
    b.emit(OP_AutoCommit, 1, 0)
    return b.finish(readonly=False)


def translate_rollback(stmt, conn):
    if stmt.savepoint is not None:
        return translate_rollback_to(stmt, conn)
    b = ProgramBuilder(conn)
    b.emit(OP_AutoCommit, 1, 1)
    return b.finish(readonly=False)

