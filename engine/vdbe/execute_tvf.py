"""The VFilter opcode: run a table-valued function into its cursor.

limbodb has no virtual-table module interface; a table-valued function
(functions/table_valued.py) produces its rows from its arguments,
and VFilter opens a forward-only cursor over them, positioned on the first
row. The loop then uses Next, Column and Rowid as on any table. Re-running VFilter (a correlated call inside an
outer loop) replaces the rows. Mirrors the VFilter case of sqlite src/vdbe.c.
"""

from limbodb.vdbe.ephemeral import ListRecord
from limbodb.vdbe.execute_cursor import VdbeCursor


class TvfCursor:
    """Forward-only cursor over a function's ``(rowid, values)`` rows, pulled one at a time
    (generate_series(1) has four billion of them)."""

    __slots__ = ("it", "row")

    def __init__(self, rows):
        self.it = iter(rows)
        self.row = None

    def next(self):
        self.row = next(self.it, None)
        return self.row is not None

    def rowid(self):
        return self.row[0]

    def record(self):
        return ListRecord(self.row[1])


def op_vfilter(vm, insn, pc):
    """Opcode: VFilter P1 P2 P3 P4 P5

    Call table-valued function P4 with the P5 arguments in registers P3.. and
    open cursor P1 on its rows, at the first one; jump to P2 if there is none.
    """
    p1, p2, p3, fn, nargs = insn.p1, insn.p2, insn.p3, insn.p4, insn.p5
    cursors = vm.cursors
    regs = vm.regs
    conn = vm.conn
    nxt = pc + 1

    def run():
        btc = TvfCursor(fn.rows(conn, regs[p3:p3 + nargs]))
        cursors[p1] = VdbeCursor(btc)
        return nxt if btc.next() else p2
    return run
