"""Trigger sub-programs: OP_Program runs a trigger body, OP_TriggerHalt ends one of its statements.

A body statement runs in its own VM whose loop OP_Program drives directly
(not through ``VM.step``), so an error raised inside propagates to the
firing statement's VM, which rolls back per the error's action exactly as
for its own errors. The sub-VM in flight, the statement index and the
saved ``last_insert_rowid`` live in ``vm.state[pc]``, so after an IO exit
the next step resumes inside the same sub-VM. A trigger's changes count in
``total_changes`` but not ``changes``, and ``last_insert_rowid`` reverts
when it ends, as in SQLite. Mirrors sqlite src/vdbe.c (OP_Program,
OP_Halt inside a frame).
"""

from limbodb.errors import InternalError, OperationalError
from limbodb.vdbe.program import EXIT_BUSY, EXIT_DONE, EXIT_IO, EXIT_ROW
from limbodb.vdbe.value import truth

# vm.halted of a sub-VM ended by RAISE(IGNORE).
HALTED_IGNORE = 2


class _Frame:
    __slots__ = ("values", "index", "sub", "last_rowid")

    def __init__(self, values, last_rowid):
        self.values = values
        # -1: the WHEN program; 0..: the body statements.
        self.index = -1
        self.sub = None
        self.last_rowid = last_rowid


def op_program(vm, insn, pc):
    """Opcode: Program P1 P2 * P4 *

    Run trigger P4 (a TriggerProgram) with NEW and OLD in the register block
    at P1 ([NEW columns, NEW rowid, OLD columns, OLD rowid]). Jump to P2 if
    the body ran RAISE(IGNORE), else continue.
    """
    block, ignore, holder = insn.p1, insn.p2, insn.p4
    nvalues = 2 * holder.ncols + 2
    conn = vm.conn
    regs = vm.regs
    cursors = vm.cursors
    state = vm.state
    nxt = pc + 1

    def run():
        frame = state.get(pc)
        if frame is None:
            frame = state[pc] = _Frame(regs[block:block + nvalues], conn.last_insert_rowid)
        try:
            return _run_frame(frame)
        except RecursionError as e:
            _abandon(frame)
            # Each level of recursion nests Python calls: the Python stack, not SQLite's
            # 1000 levels, bounds a recursive trigger.
            raise OperationalError("too many levels of trigger recursion") from e
        except BaseException:
            _abandon(frame)
            raise

    def _abandon(frame):
        state.pop(pc, None)
        conn.last_insert_rowid = frame.last_rowid

    def _run_frame(frame):
        when, body = holder.compile(conn)
        while True:
            sub = frame.sub
            if sub is None:
                if frame.index == -1 and when is None:
                    frame.index = 0
                if frame.index >= len(body):
                    return _end(frame, nxt)
                prog = when if frame.index == -1 else body[frame.index]
                idle = holder.idle.get(prog)
                sub = frame.sub = idle.pop() if idle else prog.new_vm(conn)
                sub.params[1:] = frame.values
            ops = sub.ops
            p = sub.pc
            while True:
                while p >= 0:
                    p = ops[p]()
                if p != EXIT_ROW:
                    break
                if frame.index == -1:
                    if not truth(sub.row[0]):
                        _recycle(sub)
                        return _end(frame, nxt)
                    p = EXIT_DONE
                    break
                p = sub.pc
            if p == EXIT_IO:
                vm.completion = sub.completion
                vm.pc = pc
                return EXIT_IO
            if p == EXIT_BUSY:
                raise InternalError("a trigger statement waited for a lock its statement holds")
            frame.sub = None
            ignored = sub.halted == HALTED_IGNORE
            _recycle(sub)
            if ignored:
                return _end(frame, ignore)
            frame.index += 1

    def _recycle(sub):
        # Binding a VM's closures costs more than a short body statement runs: keep it.
        sub.reset()
        holder.idle.setdefault(sub.program, []).append(sub)

    def _end(frame, to):
        del state[pc]
        conn.last_insert_rowid = frame.last_rowid
        # The body may have written tables this program has open: the largest-rowid cache of
        # OP_NewRowid is stale (positions are not: every write here seeks first).
        for vc in cursors:
            if vc is not None and getattr(vc, "max_rowid", None) is not None:
                vc.max_rowid = None
        return to
    return run


def op_triggerhalt(vm, insn, pc):
    """Opcode: TriggerHalt P1 * * * *

    End a trigger body statement (its OP_Halt): its changes join
    ``total_changes``; nothing commits. P1=1 is RAISE(IGNORE).
    """
    ignored = insn.p1 == 1
    conn = vm.conn

    def run():
        conn.total_changes += vm.changes
        vm.changes = 0
        vm.halted = HALTED_IGNORE if ignored else True
        return EXIT_DONE
    return run
