"""SAVEPOINT, RELEASE and ROLLBACK TO (OP_Savepoint), and the statement savepoint.

The connection keeps its named savepoints in ``conn.savepoints`` (oldest first), each a
``NamedSavepoint``. A pager savepoint exists only inside the write transaction: one
named before the first write gets its pager savepoint when the write begins
(``open_pending``, called by ``Connection.begin``). A SAVEPOINT outside a transaction
starts one; RELEASE of that outermost savepoint commits it, as SQLite does.

The statement savepoint: a write statement inside an explicit transaction opens one
at OP_Transaction; a clean halt releases it, and an error with the ABORT action rolls
the statement's changes back to it (FAIL keeps them), so one failing statement does
not undo the transaction's earlier work. Mirrors sqlite src/vdbe.c (OP_Savepoint,
sqlite3VdbeCloseStatement) and src/pager.c's statement journal.
"""

from limbodb.errors import OperationalError
from limbodb.io.completion import IO as IOM
from limbodb.vdbe.program import EXIT_DONE, EXIT_IO

SAVEPOINT_BEGIN = 0
SAVEPOINT_RELEASE = 1
SAVEPOINT_ROLLBACK = 2


class NamedSavepoint:
    """One SAVEPOINT: its name, pager savepoint (None before the first write), whether it
    started the transaction, and the deferred foreign key counter when it was opened."""

    __slots__ = ("name", "pager_sp", "starts_txn", "deferred_fk")

    def __init__(self, name, pager_sp, starts_txn, deferred_fk):
        self.name = name
        self.pager_sp = pager_sp
        self.starts_txn = starts_txn
        self.deferred_fk = deferred_fk


def open_pending(conn):
    """The write transaction just began: give every named savepoint its pager savepoint."""
    pager = conn.pager
    for nsp in conn.savepoints:
        if nsp.pager_sp is None:
            nsp.pager_sp = pager.open_savepoint()


def _find(conn, name):
    key = name.lower()
    sps = conn.savepoints
    for i in range(len(sps) - 1, -1, -1):
        if sps[i].name.lower() == key:
            return i
    raise OperationalError(f"no such savepoint: {name}")


def _undo_schema(conn):
    if conn._schema_changed_in_tx:
        conn._schema_stale = True


def op_savepoint(vm, insn, pc):
    """Opcode: Savepoint P1 * * P4 *

    Open (P1=0), release (P1=1) or roll back to (P1=2) the savepoint named P4.
    Releasing the outermost savepoint of a transaction SAVEPOINT started commits it.
    """
    op, name = insn.p1, insn.p4
    conn = vm.conn

    def run():
        sps = conn.savepoints
        if op == SAVEPOINT_BEGIN:
            starts = conn.autocommit
            if starts:
                conn.autocommit = False
            sp = conn.pager.open_savepoint() if conn._write_tx else None
            sps.append(NamedSavepoint(name, sp, starts, conn.fk_deferred))
            return EXIT_DONE
        i = _find(conn, name)
        nsp = sps[i]
        if op == SAVEPOINT_RELEASE:
            if i == 0 and nsp.starts_txn:
                r = conn.set_autocommit(True)
                if r.__class__ is IOM:
                    vm.completion = r.completion
                    vm.pc = pc
                    return EXIT_IO
                return EXIT_DONE
            if nsp.pager_sp is not None:
                conn.pager.release_savepoint(nsp.pager_sp)
            del sps[i:]
            return EXIT_DONE
        if nsp.pager_sp is not None:
            conn.pager.rollback_to_savepoint(nsp.pager_sp)
            _undo_schema(conn)
        conn.fk_deferred = nsp.deferred_fk
        del sps[i + 1:]
        return EXIT_DONE
    return run


# vm.state key: [(connection, pager savepoint)] of temp/attached databases the statement writes.
AUX_SAVEPOINTS = "aux_savepoints"


def close_aux_savepoints(aux, keep):
    """Keep or undo a statement's changes to temp and attached databases."""
    for inner, sp in aux:
        if not keep:
            inner.pager.rollback_to_savepoint(sp)
            _undo_schema(inner)
        inner.pager.release_savepoint(sp)


def open_statement_savepoint(vm):
    """OP_Transaction of a write inside an explicit transaction: mark where the statement began."""
    if vm.stmt_savepoint is None:
        vm.stmt_savepoint = vm.conn.pager.open_savepoint()
        vm.state["fk_deferred0"] = vm.conn.fk_deferred


def close_statement_savepoint(vm, keep):
    """The statement ended: keep its changes, or (``keep`` false) undo them."""
    aux = vm.state.pop(AUX_SAVEPOINTS, None)
    if aux is not None:
        close_aux_savepoints(aux, keep)
    sp = vm.stmt_savepoint
    if sp is None:
        return
    vm.stmt_savepoint = None
    pager = vm.conn.pager
    if not keep:
        pager.rollback_to_savepoint(sp)
        _undo_schema(vm.conn)
        vm.conn.fk_deferred = vm.state.get("fk_deferred0", vm.conn.fk_deferred)
    pager.release_savepoint(sp)
