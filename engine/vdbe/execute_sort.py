"""Sorter, aggregate and row-set opcodes.

The sorter cursor holds a ``Sorter`` (vdbe/sorter.py); SorterData hands the
current row, decoded, to a pseudo-cursor read by Column. Aggregate
accumulators live in registers: AggStep creates one on the first row of a
group (``fd.fn()``, the functions registry's convention) and AggFinal turns it
into the result. None of these wait for I/O.
Mirrors the matching cases of sqlite src/vdbe.c.
"""

from limbodb.errors import OperationalError, SQLITE_INTERRUPT
from limbodb.functions import AGGREGATE, FuncDef
from limbodb.storage.record import compare_values
from limbodb.vdbe.ephemeral import ListRecord
from limbodb.vdbe.execute_cursor import VdbeCursor
from limbodb.vdbe.sorter import Sorter


def op_sorteropen(vm, insn, pc):
    """Opcode: SorterOpen P1 P2 P3 P4 *

    Open sorter cursor P1 for rows of P2 columns ordered by SortSpec P4. With
    P3, only the first register-P3 rows in order are wanted (when positive).
    """
    p1, p3, spec = insn.p1, insn.p3, insn.p4
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 1

    def run():
        cap = regs[p3] if p3 else 0
        cursors[p1] = VdbeCursor(Sorter(spec, cap if cap.__class__ is int and cap > 0 else 0))
        return nxt
    return run


def op_sorterinsert(vm, insn, pc):
    """Opcode: SorterInsert P1 P2 * * *

    Add the record in register P2 to sorter P1.
    """
    p1, p2 = insn.p1, insn.p2
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 1

    def run():
        cursors[p1].btc.insert(regs[p2])
        return nxt
    return run


def sorter_insert_run(vm, insns, pc):
    """MakeRecord (unpacked) then SorterInsert of that record, fused (program.py)."""
    mk, ins = insns
    first, end, rec, p1 = mk.p1, mk.p1 + mk.p2, mk.p3, ins.p1
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 2

    def run():
        row = regs[rec] = regs[first:end]
        cursors[p1].btc.insert(row)
        return nxt
    return run


def op_sortersort(vm, insn, pc):
    """Opcode: SorterSort P1 P2 * * *

    Sort sorter P1 and point at its first row; jump to P2 if it is empty.
    """
    p1, p2 = insn.p1, insn.p2
    cursors = vm.cursors
    nxt = pc + 1
    return lambda: nxt if cursors[p1].btc.sort() else p2


def op_sorternext(vm, insn, pc):
    """Opcode: SorterNext P1 P2 * * *

    Advance sorter P1; jump to P2 if there is another row.
    """
    p1, p2 = insn.p1, insn.p2
    cursors = vm.cursors
    nxt = pc + 1
    conn = vm.conn

    def run():
        if conn.interrupted:
            raise OperationalError("interrupted", SQLITE_INTERRUPT)
        return p2 if cursors[p1].btc.next() else nxt
    return run


def op_sorterdata(vm, insn, pc):
    """Opcode: SorterData P1 P2 P3 * *

    Register P2 = the current row of sorter P1, which pseudo-cursor P3 reads.
    """
    p1, p2, p3 = insn.p1, insn.p2, insn.p3
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 1

    def run():
        rec = ListRecord(cursors[p1].btc.current())
        regs[p2] = rec
        cursors[p3].rec = rec
        return nxt
    return run


class CollatedMinMax:
    """min()/max() under a collation (SQLite hands the argument's collation to these two).

    NULLs are ignored; a later value replaces the best only when strictly smaller/larger.
    """

    __slots__ = ("best", "sign", "coll")

    def __init__(self, is_max, coll):
        self.best = None
        self.sign = 1 if is_max else -1
        self.coll = coll

    def step(self, v):
        if v is None:
            return
        best = self.best
        if best is None or compare_values(v, best, self.coll) * self.sign > 0:
            self.best = v

    def finalize(self):
        return self.best


def collated_minmax(name, coll):
    """A FuncDef for min/max (1 argument) comparing with collation ``coll``."""
    is_max = name.lower() == "max"
    return FuncDef(name.lower(), 1, lambda: CollatedMinMax(is_max, coll), AGGREGATE, True)


def op_aggstep(vm, insn, pc):
    """Opcode: AggStep * P2 P3 P4 P5

    Step aggregate P4 (a FuncDef) with the P5 arguments from register P2 into
    the accumulator in register P3 (created on the group's first row).
    """
    p2, p3, fd, n = insn.p2, insn.p3, insn.p4, insn.p5
    regs = vm.regs
    nxt = pc + 1
    new = fd.fn
    end = p2 + n

    def run():
        acc = regs[p3]
        if acc is None:
            acc = regs[p3] = new()
        acc.step(*regs[p2:end])
        return nxt
    return run


def op_aggfinal(vm, insn, pc):
    """Opcode: AggFinal P1 P2 * P4 *

    Register P1 = the result of the accumulator in register P1 for aggregate
    P4 of P2 arguments (an empty group gets a fresh accumulator's result).
    """
    p1, fd = insn.p1, insn.p4
    regs = vm.regs
    nxt = pc + 1
    new = fd.fn

    def run():
        acc = regs[p1]
        if acc is None:
            acc = new()
        regs[p1] = acc.finalize()
        return nxt
    return run


def op_rowsetadd(vm, insn, pc):
    """Opcode: RowSetAdd P1 P2 * * *

    Add the integer in register P2 to the row set in register P1.
    """
    p1, p2 = insn.p1, insn.p2
    regs = vm.regs
    nxt = pc + 1

    def run():
        rs = regs[p1]
        if rs.__class__ is not list:
            rs = regs[p1] = []
        rs.append(regs[p2])
        return nxt
    return run


def op_rowsetread(vm, insn, pc):
    """Opcode: RowSetRead P1 P2 P3 * P5

    Take the next integer from the row set in register P1 into register P3,
    in the order added (P5=1: smallest first, as SQLite's RowSet, which
    triggers make visible); jump to P2 when the set is exhausted.
    """
    p1, p2, p3 = insn.p1, insn.p2, insn.p3
    ordered = insn.p5 == 1
    regs = vm.regs
    state = vm.state
    nxt = pc + 1

    def run():
        rs = regs[p1]
        i = state.get(pc, 0)
        if rs.__class__ is not list or i >= len(rs):
            state.pop(pc, None)
            regs[p1] = None
            return p2
        if ordered and i == 0:
            rs.sort()
        regs[p3] = rs[i]
        state[pc] = i + 1
        return nxt
    return run
