"""Trigger sub-programs: OP_Program runs a trigger body, OP_TriggerHalt ends one of its statements.

A body statement runs in its own VM (a frame). OP_Program does not run it: it
pushes the sub-VM on the statement's frame stack (``vm.frames``, one list shared
by the top-level VM and every sub-VM it runs) and returns EXIT_FRAME; the
driver ``run_frames`` then runs the innermost frame's instructions, and when it
halts or returns a row, pops it and runs the OP_Program that pushed it again,
which moves on to the next body statement. Trigger recursion therefore costs
heap, not Python stack: SQLite's limit of 1000 nested frames
(SQLITE_MAX_TRIGGER_DEPTH) is checked when a frame is pushed, with SQLite's
"too many levels of trigger recursion". An error raised in a frame propagates
out of the top-level VM's step(), which rolls back per the error's action
exactly as for its own errors. After an IO exit inside a frame the next step()
resumes the innermost frame. The frame's progress (statement index, saved
``last_insert_rowid``) lives in the pushing VM's ``state[pc]``. A trigger's
changes count in ``total_changes`` but not ``changes``, and
``last_insert_rowid`` reverts when it ends, as in SQLite. Mirrors sqlite
src/vdbe.c (OP_Program, VdbeFrame, OP_Halt inside a frame).
"""

from limbodb.errors import InternalError, OperationalError
from limbodb.vdbe.program import EXIT_BUSY, EXIT_DONE, EXIT_FRAME, EXIT_IO
from limbodb.vdbe.value import truth

# vm.halted of a sub-VM ended by RAISE(IGNORE).
HALTED_IGNORE = 2
# SQLite's SQLITE_MAX_TRIGGER_DEPTH: nested frames one statement may have.
MAX_TRIGGER_DEPTH = 1000


class _Frame:
    __slots__ = ("values", "index", "sub", "last_rowid")

    def __init__(self, values, last_rowid):
        self.values = values
        # -1: the WHEN program; 0..: the body statements.
        self.index = -1
        # The sub-VM of the program being run (it is on the frame stack, or returned to us).
        self.sub = None
        self.last_rowid = last_rowid


def run_frames(vm, pc):
    """Drive the frame stack of top-level ``vm`` until the top-level program exits.

    ``pc`` is the exit code its own instructions just returned (EXIT_FRAME), or None to
    resume the innermost frame after an IO exit. Returns the top-level exit code.
    """
    frames = vm.frames
    cur = frames[-1] if pc is None else vm
    if pc is None:
        pc = cur.pc
        ops = cur.ops
        while pc >= 0:
            pc = ops[pc]()
    while True:
        if pc == EXIT_FRAME:
            cur = frames[-1]
        elif cur is vm:
            return pc
        elif pc == EXIT_IO:
            vm.completion = cur.completion
            return EXIT_IO
        elif pc == EXIT_BUSY:
            raise InternalError("a trigger statement waited for a lock its statement holds")
        else:
            # A row or the end of the frame's program: back to the OP_Program that pushed it.
            frames.pop()
            cur = frames[-1] if frames else vm
        pc = cur.pc
        ops = cur.ops
        while pc >= 0:
            pc = ops[pc]()


def abandon_frames(vm):
    """Top-level ``vm`` failed inside a frame: drop the stack; ``last_insert_rowid`` reverts
    to its value before the outermost frame, as VdbeFrameRestore does."""
    vm.frames.clear()
    for value in vm.state.values():
        if value.__class__ is _Frame:
            vm.conn.last_insert_rowid = value.last_rowid


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
            if len(vm.frames) >= MAX_TRIGGER_DEPTH:
                raise OperationalError("too many levels of trigger recursion")
            frame = state[pc] = _Frame(regs[block:block + nvalues], conn.last_insert_rowid)
        when, body = holder.compile(conn)
        sub = frame.sub
        if sub is not None:
            # The sub-VM we pushed came back from the frame stack.
            if not sub.halted:
                if frame.index != -1:
                    # A body SELECT's row is discarded: run on.
                    return _push(sub)
                truthy = truth(sub.row[0])
                frame.sub = None
                _recycle(sub)
                if not truthy:
                    return _end(frame, nxt)
            else:
                frame.sub = None
                ignored = sub.halted == HALTED_IGNORE
                _recycle(sub)
                if ignored:
                    return _end(frame, ignore)
            frame.index += 1
        if frame.index == -1 and when is None:
            frame.index = 0
        if frame.index >= len(body):
            return _end(frame, nxt)
        prog = when if frame.index == -1 else body[frame.index]
        idle = holder.idle.get(prog)
        sub = frame.sub = idle.pop() if idle else prog.new_vm(conn)
        sub.params[1:] = frame.values
        return _push(sub)

    def _push(sub):
        # The frame stack is the top-level VM's: every sub-VM shares its list.
        sub.frames = vm.frames
        vm.frames.append(sub)
        vm.pc = pc
        return EXIT_FRAME

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
