"""Program (a compiled statement) and VM (one execution of it): the step loop.

``Program`` is immutable after translation and may be run by many VMs.
``new_vm`` binds every instruction to a closure with its operands, registers
and cursors captured (``execute_*`` factories), so the loop is one indexed
call per instruction: a closure returns the next pc, or a negative exit code
after storing where to resume in ``vm.pc``.

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
from limbodb.vdbe.insn import OE_FAIL, OE_ROLLBACK

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

_HANDLERS = None


def _handlers():
    """opcode -> factory(vm, insn, pc) -> closure; collected once from the execute_* modules."""
    global _HANDLERS
    if _HANDLERS is None:
        from limbodb.vdbe import (execute_control, execute_cursor, execute_data, execute_maintenance,
                                  execute_sort, execute_window)
        from limbodb.vdbe.insn import OPCODE_NAMES
        table = [None] * len(OPCODE_NAMES)
        for mod in (execute_control, execute_cursor, execute_data, execute_sort, execute_window,
                    execute_maintenance):
            for op, name in enumerate(OPCODE_NAMES):
                fn = getattr(mod, "op_" + name.lower(), None)
                if fn is not None:
                    table[op] = fn
        _HANDLERS = table
    return _HANDLERS


def _prototype(insns):
    """(pc, handler factory, insn) per instruction: what each new VM binds."""
    table = _handlers()
    proto = []
    for pc, insn in enumerate(insns):
        factory = table[insn.opcode]
        if factory is None:
            raise OperationalError(f"opcode {insn.name} not implemented")
        proto.append((pc, factory, insn))
    return proto


class Program:
    """A compiled statement (contracts.md §9)."""

    __slots__ = ("insns", "nregs", "ncursors", "column_names", "column_decltypes", "readonly",
                 "param_count", "param_names", "schema_cookie", "sql", "counts_changes", "plan", "proto")

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

    def new_vm(self, conn):
        return VM(self, conn)


class VM:
    """One execution of a Program: registers, cursors, pc and the step loop."""

    __slots__ = ("program", "conn", "regs", "cursors", "params", "pc", "completion", "row",
                 "changes", "ops", "state", "_error", "_error_action", "_finishing", "halted")

    def __init__(self, program, conn):
        self.program = program
        self.conn = conn
        self.regs = [None] * max(program.nregs, 1)
        self.cursors = [None] * max(program.ncursors, 1)
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
        proto = program.proto
        if proto is None:
            proto = program.proto = _prototype(program.insns)
        self.ops = [factory(self, insn, pc) for pc, factory, insn in proto]

    def bind(self, i, value):
        """Set parameter ``i`` (1-based)."""
        if not 1 <= i < len(self.params):
            from limbodb.errors import InterfaceError, SQLITE_RANGE
            raise InterfaceError("column index out of range", SQLITE_RANGE)
        self.params[i] = value

    def reset(self):
        """Make the VM ready to run again; closes cursors. Bindings are kept."""
        regs = self.regs
        for i in range(len(regs)):
            regs[i] = None
        cursors = self.cursors
        for i in range(len(cursors)):
            cursors[i] = None
        self.state.clear()
        self.pc = 0
        self.completion = None
        self.row = None
        self.changes = 0
        self._error = None
        self._finishing = False
        self.halted = False

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
            while pc >= 0:
                pc = ops[pc]()
        except BusyError:
            raise
        except Error as e:
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
        if action == OE_ROLLBACK and not conn.autocommit:
            r = conn.set_autocommit(True, rollback=True)
        else:
            r = conn.statement_done(action == OE_FAIL)
        if r.__class__ is _IOMarker:
            self.completion = r.completion
            return IO
        self._finishing = False
        self.halted = True
        err = self._error
        self._error = None
        raise err


def halt_error(code, msg, action=0):
    """An exception for OP_Halt with an error code, tagged with its conflict action."""
    from limbodb.errors import error_for_code
    err = error_for_code(code or SQLITE_ERROR, msg)
    err.on_error = action
    return err
