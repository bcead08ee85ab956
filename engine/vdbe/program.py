"""Program (a compiled statement) and VM (one execution of it): the step loop.

``Program`` is immutable after translation and may be run by many VMs.
``new_vm`` binds every instruction to a closure with its operands, registers
and cursors captured (``execute_*`` factories), so the loop is one indexed
call per instruction: a closure returns the next pc, or a negative exit code
after storing where to resume in ``vm.pc``. Loops are also compiled to Python
(codegen.py): their block starts enter a generated function that runs many
instructions per call and leaves exactly as the closures would.

Re-entrancy: a closure whose cursor call returns ``IO`` stores the completion
in ``vm.completion`` and leaves ``vm.pc`` at its own address, so the next
``step()`` runs the same instruction again; closures therefore change no
register or cursor state before their last possibly-waiting call, or record
that they did in per-instruction state. Errors raised by a closure roll the
statement back through the connection services (``statement_done``) before
``step()`` re-raises them. Mirrors sqlite src/vdbe.c sqlite3VdbeExec and
Turso core/vdbe/mod.rs.
"""

from limbodb.errors import BusyError, Error, OperationalError, SQLITE_ERROR, SQLITE_INTERRUPT
from limbodb.io.completion import IO as _IOMarker
from limbodb.vdbe.insn import OE_FAIL, OE_ROLLBACK, OP_Goto, OP_Halt, OP_Init

# Results of step().
ROW = 100
DONE = 101
IO = 102
BUSY = 5

# Exit codes closures return instead of a pc.
EXIT_ROW = -1
EXIT_IO = -2
EXIT_DONE = -3
EXIT_BUSY = -4
# OP_Program pushed a trigger sub-VM on ``vm.frames`` (vdbe/execute_trigger.py runs it).
EXIT_FRAME = -5

_HANDLERS = None
# execute_cursor.park_cursors, imported on first use (execute_cursor imports this module).
_PARK = None


def _load_park():
    global _PARK
    from limbodb.vdbe.execute_cursor import park_cursors
    _PARK = park_cursors
    return _PARK


def _handlers():
    """opcode -> factory(vm, insn, pc) -> closure; collected once from the execute_* modules."""
    global _HANDLERS
    if _HANDLERS is None:
        from limbodb.vdbe import (execute_control, execute_cursor, execute_data, execute_maintenance,
                                  execute_fkey, execute_savepoint, execute_sort, execute_trigger,
                                  execute_tvf, execute_window)
        from limbodb.vdbe.insn import OPCODE_NAMES
        table = [None] * len(OPCODE_NAMES)
        for mod in (execute_control, execute_cursor, execute_data, execute_sort, execute_window,
                    execute_maintenance, execute_tvf, execute_savepoint, execute_trigger,
                    execute_fkey):
            for op, name in enumerate(OPCODE_NAMES):
                fn = getattr(mod, "op_" + name.lower(), None)
                if fn is not None:
                    table[op] = fn
        _HANDLERS = table
    return _HANDLERS


def _prototype(insns):
    """(pc, handler factory, insn) per instruction: what each new VM binds.

    Where a run of instructions can be done by one closure (``_fused``), the
    first pc gets that closure, which continues after the run; the later pcs
    keep their own closures, so a jump into the run still works.
    """
    table = _handlers()
    proto = []
    for pc, insn in enumerate(insns):
        factory = table[insn.opcode]
        if factory is None:
            raise OperationalError(f"opcode {insn.name} not implemented")
        fused = _fused(insns, pc)
        proto.append((pc, factory, insn) if fused is None else (pc,) + fused)
    return proto


def _fused(insns, pc):
    """(factory, list of insns) for a run starting at ``pc`` worth one closure, or None."""
    from limbodb.vdbe.insn import (
        MAKERECORD_UNPACKED, OP_Column, OP_IdxInsert, OP_Insert, OP_MakeRecord, OP_SorterInsert,
        OP_Variable,
    )
    insn = insns[pc]
    op = insn.opcode
    if op == OP_Variable:
        # Parameters in order into consecutive registers (INSERT ... VALUES(?, ?, ?)).
        end = pc + 1
        while end < len(insns) and insns[end].opcode == OP_Variable \
                and insns[end].p1 == insns[end - 1].p1 + 1 and insns[end].p2 == insns[end - 1].p2 + 1:
            end += 1
        if end - pc > 1:
            from limbodb.vdbe.execute_data import variable_run
            return variable_run, insns[pc:end]
    elif op == OP_Column:
        end = pc + 1
        while end < len(insns) and insns[end].opcode == OP_Column and insns[end].p1 == insn.p1:
            end += 1
        if end - pc > 1:
            from limbodb.vdbe.execute_cursor import column_run
            return column_run, insns[pc:end]
    elif op == OP_MakeRecord and insn.p5 & MAKERECORD_UNPACKED and insn.p4 is None \
            and pc + 1 < len(insns):
        nxt = insns[pc + 1]
        if nxt.opcode == OP_SorterInsert and nxt.p2 == insn.p3:
            from limbodb.vdbe.execute_sort import sorter_insert_run
            return sorter_insert_run, insns[pc:pc + 2]
    elif op == OP_MakeRecord and not insn.p5 & MAKERECORD_UNPACKED and pc + 1 < len(insns):
        nxt = insns[pc + 1]
        if nxt.opcode == OP_IdxInsert and nxt.p2 == insn.p3:
            from limbodb.vdbe.execute_cursor import idx_insert_run
            return idx_insert_run, insns[pc:pc + 2]
        if nxt.opcode == OP_Insert and nxt.p2 == insn.p3:
            from limbodb.vdbe.execute_cursor import insert_run
            return insert_run, insns[pc:pc + 2]
    return None


def _threaded_jumps(insns):
    """(pc, final target) of each jump whose closure would only return its target: Init,
    forward Gotos, and the Goto back to pc 1 that ends a builder's program (after the Halt
    that ends its body come the transaction prologue Init jumps to, then that Goto: it runs
    once per execution, just after step() checked for an interrupt). Their slot in ``ops``
    takes the target's closure, so the step loop skips a dispatch; a loop's backward Goto
    keeps its own closure, which checks for an interrupt.
    """
    n = len(insns)
    init = insns[0].p2 if n and insns[0].opcode == OP_Init else 0
    prologue_end = n - 1 if 1 < init < n and insns[init - 1].opcode == OP_Halt else -1

    def skippable(pc):
        insn = insns[pc]
        op = insn.opcode
        return op == OP_Init or (op == OP_Goto and (insn.p2 > pc or (pc == prologue_end and insn.p2 == 1)))

    out = []
    for pc in range(n):
        if not skippable(pc):
            continue
        target = insns[pc].p2
        # Every skippable jump but the one to pc 1 goes forward, so a chain ends within n steps.
        for _ in range(n):
            if not (0 <= target < n) or not skippable(target):
                break
            target = insns[target].p2
        if 0 <= target < n and not skippable(target):
            out.append((pc, target))
    return out


def _entry(run, pc):
    def enter_region():
        return run(pc)
    return enter_region


class Program:
    """A compiled statement (contracts.md §9)."""

    __slots__ = ("insns", "nregs", "ncursors", "column_names", "column_decltypes", "readonly",
                 "param_count", "param_names", "schema_cookie", "sql", "counts_changes", "plan", "proto",
                 "regions", "jumps")

    def __init__(self, insns, nregs, ncursors, column_names=(), column_decltypes=(), readonly=True,
                 param_count=0, param_names=None, schema_cookie=0, sql=""):
        self.insns = insns
        self.nregs = nregs
        self.ncursors = ncursors
        self.column_names = list(column_names)
        self.column_decltypes = list(column_decltypes) or [None] * len(self.column_names)
        self.readonly = readonly
        self.param_count = param_count
        self.param_names = param_names or {}
        self.schema_cookie = schema_cookie
        self.sql = sql
        # INSERT/UPDATE/DELETE set the connection's change counters when they end.
        self.counts_changes = False
        # EXPLAIN QUERY PLAN rows (id, parent, detail) of the plan chosen.
        self.plan = []
        self.proto = None
        # The compiled loop regions (vdbe/codegen.py), made with ``proto``.
        self.regions = None
        # (pc, target) of the jumps the step loop skips (_threaded_jumps), made with ``proto``.
        self.jumps = ()

    def new_vm(self, conn):
        return VM(self, conn)


class VM:
    """One execution of a Program: registers, cursors, pc and the step loop."""

    __slots__ = ("program", "conn", "regs", "cursors", "params", "pc", "completion", "row",
                 "changes", "ops", "state", "_error", "_error_action", "_finishing", "halted",
                 "stmt_savepoint", "_blank_regs", "_blank_cursors", "frames", "parked")

    def __init__(self, program, conn):
        self.program = program
        self.conn = conn
        self._blank_regs = (None,) * max(program.nregs, 1)
        self._blank_cursors = (None,) * max(program.ncursors, 1)
        self.regs = list(self._blank_regs)
        self.cursors = list(self._blank_cursors)
        # B-tree cursors of the previous execution by cursor number, unregistered from their
        # trees (execute_cursor.park_cursors): OpenRead/OpenWrite take them back.
        self.parked = list(self._blank_cursors)
        self.params = [None] * (program.param_count + 1)
        # Per-instruction state for handlers that must resume mid-way (keyed by pc).
        self.state = {}
        self.pc = 0
        self.completion = None
        self.row = None
        self.changes = 0
        self._error = None
        self._error_action = 0
        self._finishing = False
        self.halted = False
        # The pager savepoint of a write inside an explicit transaction (execute_savepoint.py).
        self.stmt_savepoint = None
        # Trigger sub-VMs being run, innermost last (shared with them: execute_trigger.py).
        self.frames = []
        proto = program.proto
        if proto is None:
            from limbodb.vdbe.codegen import compile_regions
            proto = program.proto = _prototype(program.insns)
            program.jumps = _threaded_jumps(program.insns)
            program.regions = compile_regions(program.insns, proto)
        ops = self.ops = [factory(self, insn, pc) for pc, factory, insn in proto]
        if program.regions:
            self._enter_regions(ops, proto)
        for pc, target in program.jumps:
            ops[pc] = ops[target]

    def _enter_regions(self, ops, proto):
        """Give each block start of a compiled region an entry into it (codegen.py).

        The region calls the plain closure of an instruction it does not inline, so
        the first pc of a fused run gets its own closure here too.
        """
        insns = self.program.insns
        table = _handlers()
        for region in self.program.regions:
            plain = {}
            for pc in range(region.first, region.last + 1):
                plain[pc] = ops[pc] if len(proto[pc]) == 3 and proto[pc][2] is insns[pc] \
                    else table[insns[pc].opcode](self, insns[pc], pc)
            # Before block starts get their entries: a fused run's closure is still at its pc.
            run = region.make(self, plain, {pc: ops[pc] for pc in region.fused})
            for start in region.starts:
                ops[start] = _entry(run, start)

    def bind(self, i, value):
        """Set parameter ``i`` (1-based)."""
        if not 1 <= i < len(self.params):
            from limbodb.errors import InterfaceError, SQLITE_RANGE
            raise InterfaceError("column index out of range", SQLITE_RANGE)
        self.params[i] = value

    def reset(self):
        """Make the VM ready to run again; closes cursors (parking B-tree ones for the next
        execution). Bindings are kept."""
        # Slice assignment keeps the list objects the instruction closures captured.
        self.regs[:] = self._blank_regs
        park = _PARK or _load_park()
        park(self.cursors, self.parked)
        self.cursors[:] = self._blank_cursors
        self.state.clear()
        self.pc = 0
        self.completion = None
        self.row = None
        self.changes = 0
        self._error = None
        self._finishing = False
        self.halted = False
        # Rebound, not cleared: a sub-VM's list is its top-level VM's.
        self.frames = []
        if self.stmt_savepoint is not None:
            # Reset before its end: the statement's changes so far stay, as sqlite3_reset's.
            self.conn.pager.release_savepoint(self.stmt_savepoint)
            self.stmt_savepoint = None

    def step(self):
        """Run until a row, the end, or a wait: ROW | DONE | IO | BUSY.

        Re-entrant: after IO, call again once ``vm.completion`` finished.
        """
        if self._finishing:
            return self._finish_error()
        if self.halted:
            return DONE
        conn = self.conn
        if getattr(conn, "interrupted", False):
            self._error = OperationalError("interrupted", SQLITE_INTERRUPT)
            self._error_action = 0
            return self._finish_error()
        ops = self.ops
        pc = self.pc
        try:
            if self.frames:
                from limbodb.vdbe.execute_trigger import run_frames
                pc = run_frames(self, None)
            else:
                while pc >= 0:
                    pc = ops[pc]()
                if pc == EXIT_FRAME:
                    from limbodb.vdbe.execute_trigger import run_frames
                    pc = run_frames(self, pc)
        except BusyError:
            raise
        except Error as e:
            if self.frames:
                from limbodb.vdbe.execute_trigger import abandon_frames
                abandon_frames(self)
            self._error = e
            self._error_action = getattr(e, "on_error", 0)
            return self._finish_error()
        if pc == EXIT_ROW:
            return ROW
        if pc == EXIT_IO:
            return IO
        if pc == EXIT_BUSY:
            return BUSY
        self.halted = True
        return DONE

    def _finish_error(self):
        """Roll back per the failed instruction's conflict action, then raise the error.

        Re-entrant: ``_finishing`` records that the error happened; the rollback
        service is itself re-entrant.
        """
        self._finishing = True
        conn = self.conn
        action = self._error_action
        if self.stmt_savepoint is not None:
            from limbodb.vdbe.execute_savepoint import close_statement_savepoint
            if close_statement_savepoint(self, action == OE_FAIL):
                # A statement without a journal changed pages: only the transaction's
                # rollback undoes them (kept in _error_action for a resumed call).
                action = self._error_action = OE_ROLLBACK
        if action == OE_ROLLBACK and not conn.autocommit:
            r = conn.set_autocommit(True, rollback=True)
        else:
            r = conn.statement_done(action == OE_FAIL)
        if r.__class__ is _IOMarker:
            self.completion = r.completion
            return IO
        self._finishing = False
        self.halted = True
        if self.program.counts_changes:
            # As vdbeHalt: a failed statement sets changes() to 0, except under OR FAIL (or
            # RAISE(FAIL)), whose rows written before the error stay and are counted.
            kept = self.changes if action == OE_FAIL else 0
            conn.changes = kept
            conn.total_changes += kept
        err = self._error
        self._error = None
        raise err


def halt_error(code, msg, action=0):
    """An exception for OP_Halt with an error code, tagged with its conflict action."""
    from limbodb.errors import error_for_code
    err = error_for_code(code or SQLITE_ERROR, msg)
    err.on_error = action
    return err
