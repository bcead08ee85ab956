"""SAVEPOINT, RELEASE and ROLLBACK TO (OP_Savepoint), and the statement savepoint.

The connection keeps its named savepoints in ``conn.savepoints`` (oldest first), each a
``NamedSavepoint``. A pager savepoint exists only inside the write transaction: one
named before the first write gets its pager savepoint when the write begins
(``open_pending``, called by ``Connection.begin``). A SAVEPOINT outside a transaction
starts one; RELEASE of that outermost savepoint commits it, as SQLite does. A named
savepoint covers the temp and attached databases too (SQLite opens it on every
database's pager): each one already writing gets a pager savepoint when it is opened,
and one whose write transaction starts later gets it then (``open_pending_aux``).

The statement savepoint: a write statement inside an explicit transaction opens one
at OP_Transaction; a clean halt releases it, and an error with the ABORT action rolls
the statement's changes back to it (FAIL keeps them), so one failing statement does
not undo the transaction's earlier work. A statement that cannot fail once it has
written (``needs_journal`` false: one row, straight-line code) opens none, as SQLite
opens no statement journal unless usesStmtJournal; should it fail after a write all
the same (I/O error, interrupt), the whole transaction rolls back, as sqlite3VdbeHalt
does then. Mirrors sqlite src/vdbe.c (OP_Savepoint, sqlite3VdbeCloseStatement) and
src/pager.c's statement journal.
"""

from limbodb.errors import OperationalError
from limbodb.io.completion import IO as IOM
from limbodb.vdbe import insn as I
from limbodb.vdbe.program import EXIT_DONE, EXIT_IO

SAVEPOINT_BEGIN = 0
SAVEPOINT_RELEASE = 1
SAVEPOINT_ROLLBACK = 2


class NamedSavepoint:
    """One SAVEPOINT: its name, pager savepoint (None before the first write), whether it
    started the transaction, the deferred foreign key counter when it was opened, and
    the (connection, pager savepoint) pairs of the temp and attached databases written."""

    __slots__ = ("name", "pager_sp", "starts_txn", "deferred_fk", "aux")

    def __init__(self, name, pager_sp, starts_txn, deferred_fk, aux):
        self.name = name
        self.pager_sp = pager_sp
        self.starts_txn = starts_txn
        self.deferred_fk = deferred_fk
        self.aux = aux


def open_pending(conn):
    """The write transaction just began: give every named savepoint its pager savepoint."""
    pager = conn.pager
    for nsp in conn.savepoints:
        if nsp.pager_sp is None:
            nsp.pager_sp = pager.open_savepoint()


def open_pending_aux(conn, inner):
    """Temp or attached database ``inner`` is about to be written inside the transaction:
    give it a pager savepoint for each named savepoint opened before its first write."""
    for nsp in conn.savepoints:
        if not any(d is inner for d, _ in nsp.aux):
            nsp.aux.append((inner, inner.pager.open_savepoint()))


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

    def reload_aux():
        # Temp and attached databases whose DDL was undone: statements are prepared against
        # their in-memory schema (main's is reloaded when a prepare fails), so reload it now.
        # Resumes here after IO: the pager rollbacks already happened.
        pending = vm.state[pc]
        while pending:
            r = pending[0].reload_schema()
            if r.__class__ is IOM:
                vm.completion = r.completion
                vm.pc = pc
                return EXIT_IO
            pending.pop(0)
            conn.schema_generation += 1
            conn._clear_cache()
        del vm.state[pc]
        return EXIT_DONE

    def run():
        if pc in vm.state:
            return reload_aux()
        sps = conn.savepoints
        if op == SAVEPOINT_BEGIN:
            starts = conn.autocommit
            if starts:
                conn.autocommit = False
            sp = conn.pager.open_savepoint() if conn._write_tx else None
            aux = [(d, d.pager.open_savepoint()) for d in conn.dbs[1:] if d is not None and d._write_tx]
            sps.append(NamedSavepoint(name, sp, starts, conn.fk_deferred, aux))
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
            for d, sp in nsp.aux:
                d.pager.release_savepoint(sp)
            del sps[i:]
            return EXIT_DONE
        if nsp.pager_sp is not None:
            conn.pager.rollback_to_savepoint(nsp.pager_sp)
            _undo_schema(conn)
        for d, sp in nsp.aux:
            d.pager.rollback_to_savepoint(sp)
            _undo_schema(d)
        conn.fk_deferred = nsp.deferred_fk
        del sps[i + 1:]
        vm.state[pc] = [d for d, _ in nsp.aux if d._schema_stale]
        return reload_aux()
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


class NoJournal:
    """The statement savepoint of a write that needs no journal: the pager's change mark
    from when it began (a pager ignores it where it takes a savepoint)."""

    __slots__ = ("mark",)

    def __init__(self, mark):
        self.mark = mark


def open_statement_savepoint(vm, journal=True):
    """OP_Transaction of a write inside an explicit transaction: mark where the statement began."""
    if vm.stmt_savepoint is None:
        if not journal:
            vm.stmt_savepoint = NoJournal(vm.conn.pager.change_mark())
            return
        vm.stmt_savepoint = vm.conn.pager.open_savepoint()
        vm.state["fk_deferred0"] = vm.conn.fk_deferred


def close_statement_savepoint(vm, keep):
    """The statement ended: keep its changes, or (``keep`` false) undo them.

    Returns True when they cannot be undone alone: a statement without a journal that
    changed pages failed, and the caller must roll the transaction back.
    """
    aux = vm.state.pop(AUX_SAVEPOINTS, None)
    if aux is not None:
        close_aux_savepoints(aux, keep)
    sp = vm.stmt_savepoint
    if sp is None:
        return False
    vm.stmt_savepoint = None
    pager = vm.conn.pager
    if sp.__class__ is NoJournal:
        return not keep and pager.changed_since(sp.mark)
    if not keep:
        pager.rollback_to_savepoint(sp)
        _undo_schema(vm.conn)
        vm.conn.fk_deferred = vm.state.get("fk_deferred0", vm.conn.fk_deferred)
    pager.release_savepoint(sp)
    return False


# Opcodes of a one-row write: run in pc order (their jumps only go forward), each at most
# once. Before the first write any of them may fail (a constraint, a mismatch): nothing
# is changed yet. The jump targets are P2 (MustBeInt's only when not 0).
_ONE_ROW = frozenset((
    I.OP_OpenRead, I.OP_OpenWrite, I.OP_Variable, I.OP_Integer, I.OP_Int64, I.OP_Real,
    I.OP_String8, I.OP_Null, I.OP_Copy, I.OP_SCopy, I.OP_IsNull, I.OP_NotNull, I.OP_MustBeInt,
    I.OP_Goto, I.OP_NewRowid, I.OP_Affinity, I.OP_NotExists, I.OP_SeekRowid, I.OP_Rowid,
    I.OP_Column, I.OP_Add, I.OP_Subtract, I.OP_Eq, I.OP_Ne, I.OP_Lt, I.OP_Le, I.OP_Gt, I.OP_Ge,
    I.OP_Halt, I.OP_HaltIfNull, I.OP_MakeRecord, I.OP_NoConflict, I.OP_Found, I.OP_NotFound,
    I.OP_Insert, I.OP_IdxInsert, I.OP_Delete, I.OP_IdxDelete,
))
_JUMPS = frozenset((
    I.OP_Goto, I.OP_IsNull, I.OP_NotNull, I.OP_MustBeInt, I.OP_NotExists, I.OP_SeekRowid,
    I.OP_Eq, I.OP_Ne, I.OP_Lt, I.OP_Le, I.OP_Gt, I.OP_Ge, I.OP_NoConflict, I.OP_Found,
    I.OP_NotFound,
))
_WRITES = frozenset((I.OP_Insert, I.OP_IdxInsert, I.OP_Delete, I.OP_IdxDelete))
# After the first write only these may run: none of them can fail but by I/O.
_AFTER_WRITE = frozenset((
    I.OP_Insert, I.OP_IdxInsert, I.OP_Delete, I.OP_IdxDelete, I.OP_Copy, I.OP_SCopy,
    I.OP_Null, I.OP_Integer, I.OP_MakeRecord, I.OP_Goto, I.OP_Halt,
))


def needs_journal(insns):
    """False if the program writes one row and nothing after its first write can fail.

    SQLite's usesStmtJournal (isMultiWrite && mayAbort) decided from the program itself:
    the body (between OP_Init and the start-up code its P2 jumps to) must use only the
    opcodes of ``_ONE_ROW`` with forward jumps, and from the first write on only those
    of ``_AFTER_WRITE``, halting without an error.
    """
    if not insns or insns[0].opcode != I.OP_Init:
        return True
    end = insns[0].p2
    wrote = False
    for pc in range(1, min(end, len(insns))):
        insn = insns[pc]
        op = insn.opcode
        if op not in _ONE_ROW:
            return True
        if op in _JUMPS and insn.p2 <= pc and not (op == I.OP_MustBeInt and insn.p2 == 0):
            return True
        if wrote and (op not in _AFTER_WRITE or (op == I.OP_Halt and insn.p1)):
            return True
        if op in _WRITES:
            wrote = True
    return False
