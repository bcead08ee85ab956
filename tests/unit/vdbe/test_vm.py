"""The VM on hand-built programs: jumps, registers, and resuming after IO."""

from limbodb.io.completion import IO as IOMarker, Completion
from limbodb.storage.record import encode_record, Record
from limbodb.vdbe import DONE, IO, ROW, Program
from limbodb.vdbe.execute_cursor import VdbeCursor
from limbodb.vdbe.insn import (
    OP_Add, OP_Column, OP_DecrJumpZero, OP_Goto, OP_Halt, OP_Init, OP_Integer, OP_Next, OP_ResultRow,
    OP_Rewind, OP_String8, OPCODE_NAMES, Insn,
)
from limbodb.vdbe import program as program_mod


class FakeConn:
    autocommit = True
    interrupted = False

    def __init__(self):
        self.done = []

    def statement_done(self, ok):
        self.done.append(ok)


class YieldingCursor:
    """A table cursor whose every movement and read waits once on a completion first."""

    def __init__(self, rows):
        self.rows = rows
        self.pos = -1
        self.pending = None
        self.calls = {"first": 0, "next": 0, "record": 0}

    def _wait_then(self, name, fn):
        self.calls[name] += 1
        if self.pending is None:
            self.pending = Completion(name)
            return IOMarker(self.pending)
        assert self.pending.finished()
        self.pending = None
        return fn()

    def first(self):
        return self._wait_then("first", lambda: self._go(0))

    def next(self):
        return self._wait_then("next", lambda: self._go(self.pos + 1))

    def _go(self, pos):
        self.pos = pos
        return pos < len(self.rows)

    def record(self):
        return self._wait_then("record", lambda: Record(encode_record(self.rows[self.pos])))


def _run(vm):
    rows = []
    ios = 0
    while True:
        r = vm.step()
        if r == ROW:
            rows.append(vm.row)
        elif r == DONE:
            return rows, ios
        else:
            assert r == IO
            ios += 1
            vm.completion.complete(None)


def test_counting_loop_emits_rows_and_halts():
    insns = [
        Insn(OP_Init, 0, 1),
        Insn(OP_Integer, 3, 1),
        Insn(OP_Integer, 0, 2),
        Insn(OP_Integer, 1, 3),
        Insn(OP_Add, 3, 2, 2),
        Insn(OP_String8, 0, 4, 0, "x"),
        Insn(OP_ResultRow, 2, 3),
        Insn(OP_DecrJumpZero, 1, 9),
        Insn(OP_Goto, 0, 4),
        Insn(OP_Halt),
    ]
    conn = FakeConn()
    vm = Program(insns, 5, 0).new_vm(conn)
    rows, _ = _run(vm)
    assert rows == [(1, 1, "x"), (2, 1, "x"), (3, 1, "x")]
    assert conn.done == [True]


def test_instruction_waiting_on_io_is_resumed_not_repeated():
    cur = YieldingCursor([[1, "a"], [2, "b"]])
    insns = [
        Insn(OP_Init, 0, 1),
        Insn(OP_Rewind, 0, 6),
        Insn(OP_Column, 0, 1, 1),
        Insn(OP_Column, 0, 0, 2),
        Insn(OP_ResultRow, 1, 2),
        Insn(OP_Next, 0, 2),
        Insn(OP_Halt),
    ]
    vm = Program(insns, 3, 1).new_vm(FakeConn())
    vm.cursors[0] = VdbeCursor(cur)
    rows, ios = _run(vm)
    assert rows == [("a", 1), ("b", 2)]
    # One wait per first/next/record call: the second Column reuses the cached record.
    assert ios == 1 + 2 + 2
    assert cur.calls == {"first": 2, "next": 4, "record": 4}


def test_every_opcode_has_a_handler_with_its_opcode_doc():
    table = program_mod._handlers()
    for op, name in enumerate(OPCODE_NAMES):
        fn = table[op]
        assert fn is not None, name
        assert fn.__doc__.strip().startswith(f"Opcode: {name} "), name


class InterruptingConn(FakeConn):
    """Reports an interrupt from the fifth check on, as if Ctrl-C arrived mid-statement."""

    def __init__(self):
        super().__init__()
        self.checks = 0

    @property
    def interrupted(self):
        self.checks += 1
        return self.checks >= 5


def test_interrupt_stops_an_endless_loop_and_rolls_back():
    import pytest
    from limbodb.errors import OperationalError
    insns = [
        Insn(OP_Init, 0, 1),
        Insn(OP_Integer, 0, 1),
        Insn(OP_Goto, 0, 1),
        Insn(OP_Halt),
    ]
    conn = InterruptingConn()
    vm = Program(insns, 2, 0).new_vm(conn)
    with pytest.raises(OperationalError, match="interrupted"):
        vm.step()
    assert conn.checks == 5
    assert conn.done == [False]


def _rows_of(insns, nregs=12, ncursors=1):
    vm = Program(insns, nregs, ncursors).new_vm(FakeConn())
    return _run(vm)[0]


def test_register_opcodes_follow_sqlite_semantics():
    from limbodb.storage.record import KeyInfo
    from limbodb.vdbe.insn import (
        OP_AddImm, OP_And, OP_BitNot, OP_Cast, OP_Compare, OP_IsTrue, OP_Jump, OP_MemMax, OP_Move,
        OP_Noop, OP_Null, OP_OffsetLimit, OP_Or,
    )
    insns = [
        Insn(OP_Init, 0, 1),
        Insn(OP_Integer, 5, 1),
        Insn(OP_Move, 1, 2, 1),            # r2 = 5, r1 = NULL
        Insn(OP_AddImm, 2, 3),             # r2 = 8
        Insn(OP_Integer, 10, 3),
        Insn(OP_MemMax, 2, 3),             # r2 = 10
        Insn(OP_Integer, 3, 4),
        Insn(OP_Integer, 2, 5),
        Insn(OP_OffsetLimit, 4, 6, 5),     # r6 = 3 + 2
        Insn(OP_String8, 0, 7, 0, "12abc"),
        Insn(OP_Cast, 7, 0x44),            # CAST AS INTEGER: 12
        Insn(OP_BitNot, 7, 8),             # ~12 = -13
        Insn(OP_IsTrue, 1, 9, 1, 0),       # NULL IS TRUE -> P3 = 1
        Insn(OP_Null, 0, 10),
        Insn(OP_And, 10, 4, 11),           # NULL AND 3 -> NULL
        Insn(OP_Or, 10, 4, 10),            # NULL OR 3 -> 1
        Insn(OP_Noop),
        Insn(OP_ResultRow, 1, 11),
        Insn(OP_Compare, 4, 5, 1, KeyInfo([None])),
        Insn(OP_Jump, 21, 21, 20),         # 3 > 2: to 20
        Insn(OP_Halt),
        Insn(OP_ResultRow, 4, 1),
        Insn(OP_Halt),
    ]
    rows = _rows_of(insns)
    assert rows == [(None, 10, 10, 3, 2, 5, 12, -13, 1, 1, None)]


def test_ifnotzero_counts_down_a_loop():
    from limbodb.vdbe.insn import OP_IfNotZero
    insns = [
        Insn(OP_Init, 0, 1),
        Insn(OP_Integer, 3, 1),
        Insn(OP_ResultRow, 1, 1),
        Insn(OP_IfNotZero, 1, 2),
        Insn(OP_Halt),
    ]
    assert _rows_of(insns) == [(3,), (2,), (1,), (0,)]


def test_sequence_and_close_on_an_ephemeral_table():
    from limbodb.vdbe.insn import OP_Close, OP_OpenEphemeral, OP_Sequence
    insns = [
        Insn(OP_Init, 0, 1),
        Insn(OP_OpenEphemeral, 0, 1),
        Insn(OP_Sequence, 0, 1),
        Insn(OP_Sequence, 0, 2),
        Insn(OP_Close, 0),
        Insn(OP_ResultRow, 1, 2),
        Insn(OP_Halt),
    ]
    assert _rows_of(insns) == [(0, 1)]


def test_coroutine_yields_rows_to_its_caller_and_ends_at_yield_p2():
    from limbodb.vdbe.insn import OP_EndCoroutine, OP_Gosub, OP_InitCoroutine, OP_Once, OP_Return, OP_Yield
    insns = [
        Insn(OP_Init, 0, 1),
        Insn(OP_InitCoroutine, 1, 7, 2),   # 1: coroutine body at 2, continue at 7
        Insn(OP_Integer, 10, 2),           # 2: coroutine: produce 10, then 20
        Insn(OP_Yield, 1),                 # 3
        Insn(OP_Integer, 20, 2),           # 4
        Insn(OP_Yield, 1),                 # 5
        Insn(OP_EndCoroutine, 1),          # 6
        Insn(OP_Yield, 1, 13),             # 7: caller: next value, or 13 when done
        Insn(OP_Gosub, 4, 14),             # 8: subroutine emits the row
        Insn(OP_Once, 0, 7),               # 9: first time only: one extra row
        Insn(OP_Integer, -1, 3),           # 10
        Insn(OP_ResultRow, 3, 1),          # 11
        Insn(OP_Goto, 0, 7),               # 12
        Insn(OP_Halt),                     # 13
        Insn(OP_ResultRow, 2, 1),          # 14: subroutine
        Insn(OP_Return, 4),                # 15
    ]
    assert _rows_of(insns) == [(10,), (-1,), (20,)]
