"""Control-flow, transaction and schema opcodes.

Each ``op_<name>(vm, insn, pc)`` factory returns the closure that runs the
instruction at ``pc``: it returns the next pc, or an ``EXIT_*`` code after
setting ``vm.pc``. Transaction services come from the connection
(contracts.md §10); B-tree creation and removal from storage.btree.
Mirrors the matching cases of sqlite src/vdbe.c.
"""

from limbodb.errors import (
    BusyError, IntegrityError, OperationalError, SQLITE_INTERRUPT, SQLITE_MISMATCH, SQLITE_SCHEMA,
)
from limbodb.io.completion import IO as IOM
from limbodb.mvcc import checkpoint as mvcc_checkpoint
from limbodb.storage.btree import BTreeCursor, clear_btree, create_btree, drop_btree
from limbodb.storage.integrity import integrity_check
from limbodb.vdbe.value import AFF_NUMERIC, apply_affinity, truth
from limbodb.vdbe.program import EXIT_BUSY, EXIT_DONE, EXIT_IO, halt_error
from limbodb.vdbe.execute_savepoint import (
    AUX_SAVEPOINTS, NoJournal, close_statement_savepoint, needs_journal, open_pending_aux,
    open_statement_savepoint,
)


def op_init(vm, insn, pc):
    """Opcode: Init * P2 * * *

    Start of every program: jump to P2 (where the transaction is opened).
    """
    p2 = insn.p2
    return lambda: p2


def op_goto(vm, insn, pc):
    """Opcode: Goto * P2 * * *

    Jump to P2. A backward jump (a loop) first checks for an interrupt.
    """
    p2 = insn.p2
    if p2 > pc:
        return lambda: p2
    conn = vm.conn

    def run_loop():
        if conn.interrupted:
            raise OperationalError("interrupted", SQLITE_INTERRUPT)
        return p2
    return run_loop


def op_noop(vm, insn, pc):
    """Opcode: Noop * * * * *

    Do nothing (a jump target).
    """
    nxt = pc + 1
    return lambda: nxt


def op_halt(vm, insn, pc):
    """Opcode: Halt P1 P2 * P4 *

    End the program. P1 is 0, or the error code to raise with message P4;
    P2 is the conflict action (OE_*) deciding what an error rolls back. A
    clean halt ends the statement through ``conn.statement_done(True)``.
    """
    p1, p2, p4 = insn.p1, insn.p2, insn.p4
    conn = vm.conn
    if p1:
        def run():
            raise halt_error(p1, p4 or "", p2)
        return run

    counts = vm.program.counts_changes

    def run():
        if vm.stmt_savepoint.__class__ is NoJournal and not conn.autocommit \
                and AUX_SAVEPOINTS not in vm.state:
            # A write needing no journal inside a transaction (each row of an executemany
            # batch): nothing to release, nothing to commit.
            vm.stmt_savepoint = None
        else:
            close_statement_savepoint(vm, True)
            r = conn.statement_done(True)
            if r.__class__ is IOM:
                vm.completion = r.completion
                vm.pc = pc
                return EXIT_IO
        if counts:
            conn.changes = vm.changes
            conn.total_changes += vm.changes
        return EXIT_DONE
    return run


def op_haltifnull(vm, insn, pc):
    """Opcode: HaltIfNull P1 P2 P3 P4 *

    Halt with error P1, action P2 and message P4 if register P3 is NULL.
    """
    p1, p2, p3, p4 = insn.p1, insn.p2, insn.p3, insn.p4
    regs = vm.regs
    nxt = pc + 1

    def run():
        if regs[p3] is None:
            raise halt_error(p1, p4 or "", p2)
        return nxt
    return run


def op_gosub(vm, insn, pc):
    """Opcode: Gosub P1 P2 * * *

    Store the return address in register P1 and jump to P2.
    """
    p1, p2 = insn.p1, insn.p2
    regs = vm.regs
    ret = pc + 1

    def run():
        regs[p1] = ret
        return p2
    return run


def op_return(vm, insn, pc):
    """Opcode: Return P1 * * * *

    Jump to the address held in register P1.
    """
    p1 = insn.p1
    regs = vm.regs
    return lambda: regs[p1]


def op_initcoroutine(vm, insn, pc):
    """Opcode: InitCoroutine P1 P2 P3 * *

    Register P1 gets the coroutine's entry P3; jump to P2 if it is not 0.
    """
    p1, p2, p3 = insn.p1, insn.p2, insn.p3
    regs = vm.regs
    nxt = p2 if p2 else pc + 1

    def run():
        regs[p1] = p3
        return nxt
    return run


def op_yield(vm, insn, pc):
    """Opcode: Yield P1 P2 * * *

    Swap the pc with register P1: resume the coroutine (or its caller). When
    the coroutine ends (EndCoroutine) the caller continues at this Yield's P2.
    """
    p1 = insn.p1
    regs = vm.regs
    ret = pc + 1

    def run():
        dest = regs[p1]
        regs[p1] = ret
        return dest
    return run


def op_endcoroutine(vm, insn, pc):
    """Opcode: EndCoroutine P1 * * * *

    Return to the Yield that last entered the coroutine, jumping to its P2.
    """
    p1 = insn.p1
    regs = vm.regs
    insns = vm.program.insns

    def run():
        caller = insns[regs[p1] - 1]
        regs[p1] = None
        return caller.p2
    return run


def op_once(vm, insn, pc):
    """Opcode: Once * P2 * * *

    Fall through the first time this runs in a VM execution; jump to P2 after.
    """
    p2 = insn.p2
    state = vm.state
    nxt = pc + 1

    def run():
        if pc in state:
            return p2
        state[pc] = True
        return nxt
    return run


def op_if(vm, insn, pc):
    """Opcode: If P1 P2 P3 * *

    Jump to P2 if register P1 is true; if it is NULL, jump only if P3 is set.
    """
    p1, p2, p3 = insn.p1, insn.p2, insn.p3
    regs = vm.regs
    nxt = pc + 1

    def run():
        v = regs[p1]
        if v is None:
            return p2 if p3 else nxt
        return p2 if truth(v) else nxt
    return run


def op_ifnot(vm, insn, pc):
    """Opcode: IfNot P1 P2 P3 * *

    Jump to P2 if register P1 is false; if it is NULL, jump only if P3 is set.
    """
    p1, p2, p3 = insn.p1, insn.p2, insn.p3
    regs = vm.regs
    nxt = pc + 1

    def run():
        v = regs[p1]
        if v is None:
            return p2 if p3 else nxt
        return nxt if truth(v) else p2
    return run


def op_istrue(vm, insn, pc):
    """Opcode: IsTrue P1 P2 P3 P4 *

    Register P2 = truth of register P1 (1/0), or P3 when it is NULL; P4=1 inverts.
    Implements ``x IS TRUE`` / ``x IS NOT FALSE`` and friends.
    """
    p1, p2, p3, p4 = insn.p1, insn.p2, insn.p3, insn.p4
    regs = vm.regs
    nxt = pc + 1

    def run():
        v = regs[p1]
        r = p3 if v is None else (1 if truth(v) else 0)
        regs[p2] = r ^ 1 if p4 else r
        return nxt
    return run


def op_isnull(vm, insn, pc):
    """Opcode: IsNull P1 P2 * * *

    Jump to P2 if register P1 is NULL.
    """
    p1, p2 = insn.p1, insn.p2
    regs = vm.regs
    nxt = pc + 1
    return lambda: p2 if regs[p1] is None else nxt


def op_notnull(vm, insn, pc):
    """Opcode: NotNull P1 P2 * * *

    Jump to P2 if register P1 is not NULL.
    """
    p1, p2 = insn.p1, insn.p2
    regs = vm.regs
    nxt = pc + 1
    return lambda: nxt if regs[p1] is None else p2


def op_decrjumpzero(vm, insn, pc):
    """Opcode: DecrJumpZero P1 P2 * * *

    Decrement register P1 (an integer); jump to P2 if it became zero.
    """
    p1, p2 = insn.p1, insn.p2
    regs = vm.regs
    nxt = pc + 1

    def run():
        v = regs[p1] - 1
        regs[p1] = v
        return p2 if v == 0 else nxt
    return run


def op_ifpos(vm, insn, pc):
    """Opcode: IfPos P1 P2 P3 * *

    If register P1 > 0, subtract P3 from it and jump to P2.
    """
    p1, p2, p3 = insn.p1, insn.p2, insn.p3
    regs = vm.regs
    nxt = pc + 1

    def run():
        v = regs[p1]
        if v > 0:
            regs[p1] = v - p3
            return p2
        return nxt
    return run


def op_ifnotzero(vm, insn, pc):
    """Opcode: IfNotZero P1 P2 * * *

    If register P1 is not zero: decrement it if positive, and jump to P2.
    """
    p1, p2 = insn.p1, insn.p2
    regs = vm.regs
    nxt = pc + 1

    def run():
        v = regs[p1]
        if v:
            if v > 0:
                regs[p1] = v - 1
            return p2
        return nxt
    return run


def op_offsetlimit(vm, insn, pc):
    """Opcode: OffsetLimit P1 P2 P3 * *

    Register P2 = LIMIT (P1) + OFFSET (P3), or -1 when there is no limit.
    """
    p1, p2, p3 = insn.p1, insn.p2, insn.p3
    regs = vm.regs
    nxt = pc + 1

    def run():
        limit = regs[p1]
        off = regs[p3]
        regs[p2] = -1 if limit <= 0 else limit + (off if off > 0 else 0)
        return nxt
    return run


def op_mustbeint(vm, insn, pc):
    """Opcode: MustBeInt P1 P2 * P4 *

    Convert register P1 to an integer if it is losslessly one; otherwise jump
    to P2, or when P2 is 0 raise "datatype mismatch" (or the message P4).
    """
    p1, p2, p4 = insn.p1, insn.p2, insn.p4
    regs = vm.regs
    nxt = pc + 1

    def run():
        v = regs[p1]
        if v.__class__ is not int:
            v = apply_affinity(v, AFF_NUMERIC)
            if v.__class__ is float and v == int(v) and abs(v) < 9.2e18:
                v = int(v)
            if v.__class__ is not int:
                if p2:
                    return p2
                raise IntegrityError(p4 or "datatype mismatch", SQLITE_MISMATCH)
            regs[p1] = v
        return nxt
    return run


def op_transaction(vm, insn, pc):
    """Opcode: Transaction P1 P2 P3 * *

    Begin a read (P2=0) or write (P2>=1) transaction on database P1 unless one
    is open. P3 is the schema cookie the program was built for: a different
    one raises SQLITE_SCHEMA so the statement is prepared again.
    """
    write, cookie = insn.p2 != 0, insn.p3
    conn = vm.conn
    nxt = pc + 1
    if insn.p1:
        return _transaction_db(vm, insn, pc)
    journal = write and needs_journal(vm.program.insns)

    def run():
        # Inside an open transaction with a current schema, begin() has nothing to do
        # (every statement of an executemany batch passes here).
        if not conn._read_tx or conn._schema_stale or (write and not conn._write_tx) \
                or conn.schema.cookie != cookie:
            stop = _begin(vm, conn, write, cookie, pc)
            if stop is not None:
                return stop
        if write and not conn.autocommit:
            # MVCC records each write as it happens and may refuse a later one.
            open_statement_savepoint(vm, journal or conn.mvcc_tx is not None)
        return nxt
    return run


def _begin(vm, c, write, cookie, pc):
    """Begin connection ``c``'s transaction for the Transaction op at ``pc``: None once begun,
    else the VM's exit (busy, or waiting on I/O to retry the op)."""
    try:
        r = c.begin(write)
    except BusyError:
        vm.pc = pc
        return EXIT_BUSY
    if r.__class__ is IOM:
        vm.completion = r.completion
        vm.pc = pc
        return EXIT_IO
    if c.schema.cookie != cookie:
        raise OperationalError("database schema has changed", SQLITE_SCHEMA)
    return None


def _transaction_db(vm, insn, pc):
    """OP_Transaction on the temp or an attached database (P1 > 0), a connection in ``conn.dbs``."""
    write, cookie = insn.p2 != 0, insn.p3
    conn = vm.conn
    inner = conn.dbs[insn.p1]
    nxt = pc + 1

    def run():
        stop = _begin(vm, inner, write, cookie, pc)
        if stop is not None:
            return stop
        if write and not conn.autocommit:
            if conn.savepoints:
                open_pending_aux(conn, inner)
            # The statement's changes to this database are undone if it fails (close_statement_savepoint).
            vm.state.setdefault(AUX_SAVEPOINTS, []).append((inner, inner.pager.open_savepoint()))
        return nxt
    return run


def _db_conn(vm, index):
    """The connection whose pager holds database ``index`` (P1 of the cookie/B-tree opcodes)."""
    return vm.conn.dbs[index] if index else vm.conn


def op_autocommit(vm, insn, pc):
    """Opcode: AutoCommit P1 P2 P3 * *

    BEGIN (P1=0; P3=1: BEGIN CONCURRENT), COMMIT (P1=1) or ROLLBACK (P1=1,
    P2=1) of an explicit transaction, through ``conn.set_autocommit``; then halt.
    """
    on, rollback = insn.p1 != 0, insn.p2 != 0
    conn = vm.conn
    if insn.p3:
        def run():
            conn.set_autocommit(False, concurrent=True)
            return EXIT_DONE
        return run

    def run():
        r = conn.set_autocommit(on, rollback=rollback)
        if r.__class__ is IOM:
            vm.completion = r.completion
            vm.pc = pc
            return EXIT_IO
        return EXIT_DONE
    return run


_COOKIE_FIELDS = {1: "schema_cookie", 2: "default_cache_size", 3: "largest_root_page",
                  4: "text_encoding", 5: "user_version", 6: "incremental_vacuum",
                  7: "application_id"}
# BTREE_* numbers of sqlite's btree.h; 0 is the file change counter kept by the pager.
BTREE_SCHEMA_VERSION = 1
BTREE_USER_VERSION = 5
BTREE_APPLICATION_ID = 7


def op_readcookie(vm, insn, pc):
    """Opcode: ReadCookie P1 P2 P3 * *

    Register P2 = header field P3 (BTREE_SCHEMA_VERSION, …) of database P1.
    """
    p2, field = insn.p2, _COOKIE_FIELDS[insn.p3]
    regs = vm.regs
    conn = _db_conn(vm, insn.p1)
    nxt = pc + 1

    def run():
        regs[p2] = conn.pager.header_field(field)
        return nxt
    return run


def op_setcookie(vm, insn, pc):
    """Opcode: SetCookie P1 P2 P3 * *

    Header field P2 of database P1 = P3 (a write transaction is open).
    """
    field, p3 = _COOKIE_FIELDS[insn.p2], insn.p3
    conn = _db_conn(vm, insn.p1)
    nxt = pc + 1

    def run():
        conn.pager.set_header_field(field, p3)
        if conn.mvcc_tx is not None:
            conn.mvcc_tx.set_header(field, p3)
        return nxt
    return run


def op_createbtree(vm, insn, pc):
    """Opcode: CreateBtree P1 P2 P3 * *

    Allocate a new B-tree (P3=1 table, 2 index) in database P1; register P2 = its root page.
    """
    p2, is_index = insn.p2, insn.p3 == 2
    regs = vm.regs
    conn = _db_conn(vm, insn.p1)
    nxt = pc + 1

    def run():
        r = create_btree(conn.pager, is_index)
        if r.__class__ is IOM:
            vm.completion = r.completion
            vm.pc = pc
            return EXIT_IO
        if conn.mvcc_tx is not None:
            conn.mvcc_tx.btree_created(r)
        regs[p2] = r
        return nxt
    return run


def op_destroy(vm, insn, pc):
    """Opcode: Destroy P1 * P3 * *

    Free every page of the B-tree rooted at page P1 of database P3. (SQLite moves the last
    root into the gap in auto-vacuum databases; limbodb does not auto-vacuum.)
    """
    p1 = insn.p1
    conn = _db_conn(vm, insn.p3)
    nxt = pc + 1

    def run():
        r = drop_btree(conn.pager, p1)
        if r.__class__ is IOM:
            vm.completion = r.completion
            vm.pc = pc
            return EXIT_IO
        if conn.mvcc_tx is not None:
            conn.mvcc_tx.btree_dropped(p1)
        return nxt
    return run


def op_clear(vm, insn, pc):
    """Opcode: Clear P1 P2 P3 * *

    Delete every entry of the B-tree rooted at P1 of database P2 (keep the
    root). If P3 is set, add the number of rows removed to the change count.
    """
    p1, p3 = insn.p1, insn.p3
    conn = _db_conn(vm, insn.p2)
    nxt = pc + 1
    state = vm.state

    def run():
        if p3 and pc not in state:
            c = state.get(("cur", pc))
            if c is None:
                c = state[("cur", pc)] = BTreeCursor(conn.pager, p1)
            n = c.count()
            if n.__class__ is IOM:
                vm.completion = n.completion
                vm.pc = pc
                return EXIT_IO
            state[pc] = n
        r = clear_btree(conn.pager, p1)
        if r.__class__ is IOM:
            vm.completion = r.completion
            vm.pc = pc
            return EXIT_IO
        if p3:
            vm.changes += state.pop(pc)
        return nxt
    return run


def op_parseschema(vm, insn, pc):
    """Opcode: ParseSchema P1 * * * *

    Reload the schema of database P1 from its sqlite_schema after DDL changed it.
    """
    conn = vm.conn
    nxt = pc + 1
    if insn.p1:
        inner = _db_conn(vm, insn.p1)

        def run_db():
            r = inner.reload_schema()
            if r.__class__ is IOM:
                vm.completion = r.completion
                vm.pc = pc
                return EXIT_IO
            # The outer connection's programs were built against the old schema.
            conn.schema_generation += 1
            conn._clear_cache()
            return nxt
        return run_db

    def run():
        r = conn.reload_schema()
        if r.__class__ is IOM:
            vm.completion = r.completion
            vm.pc = pc
            return EXIT_IO
        return nxt
    return run


def op_pagecount(vm, insn, pc):
    """Opcode: Pagecount P1 P2 * * *

    Register P2 = the number of pages in the file of database P1.
    """
    p2 = insn.p2
    regs = vm.regs
    conn = _db_conn(vm, insn.p1)
    nxt = pc + 1

    def run():
        regs[p2] = conn.pager.db_size
        return nxt
    return run


def op_integrityck(vm, insn, pc):
    """Opcode: IntegrityCk P1 P2 * P4 *

    Check the B-trees of database P1 whose root pages are listed in P4;
    register P2 = the list of SQLite's integrity_check messages (["ok"] when clean).
    """
    p2, roots = insn.p2, insn.p4
    regs = vm.regs
    conn = _db_conn(vm, insn.p1)
    nxt = pc + 1

    def run():
        r = integrity_check(conn.pager, roots)
        if r.__class__ is IOM:
            vm.completion = r.completion
            vm.pc = pc
            return EXIT_IO
        regs[p2] = list(r)
        return nxt
    return run


def op_checkpoint(vm, insn, pc):
    """Opcode: Checkpoint * P2 P3 * *

    Checkpoint the WAL in mode P2 (0 passive, 1 full, 2 restart, 3 truncate);
    registers P3..P3+2 = (busy, WAL frames, frames checkpointed).
    """
    mode, p3 = insn.p2, insn.p3
    regs = vm.regs
    conn = vm.conn
    nxt = pc + 1

    def run():
        r = mvcc_checkpoint(conn, mode)
        if r.__class__ is IOM:
            vm.completion = r.completion
            vm.pc = pc
            return EXIT_IO
        regs[p3:p3 + 3] = list(r)
        return nxt
    return run
