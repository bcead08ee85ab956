"""Loops compiled to Python source: one generated function per loop region of a program.

The step loop (program.py) calls one closure per instruction. Inside a loop that
runs once per row, that dispatch and the closures' calls are much of the cost, so
at prepare time each region of loops (the span from the target of a backward
Next/Prev/SorterNext to that instruction, overlapping spans merged) becomes
one generated function ``region(pc)``: a ``while True`` over basic blocks, each
guarded by ``if pc == start:``, whose hot instructions (Column, Rowid, Next,
integer comparisons, register moves, AggStep, ResultRow, sorter inserts) are
written inline and whose others call their ordinary closure.

Exactness: the inline code does what the closure at that pc would do, in the same
order, and exits the way it would (``vm.pc`` at its own address and EXIT_IO on a
wait, ``vm.pc`` past ResultRow and EXIT_ROW on a row). Every pc keeps a closure
of its own in ``vm.ops`` (block starts get an entry into the region), so a resume,
a jump from outside, or a pc the region does not know (returned as is) runs exactly
as without the region. The generated code never changes what EXPLAIN prints.
Some fast paths read a BTreeCursor's position (``_state``, ``_info``, ``_ci``, ``_sk``)
where the cursor's own method would: Next within a leaf, a table Rowid, an index entry's
cached sort key (IdxGT/IdxGE/IdxLT/IdxLE, index Rowid) and a leaf's cached column
(BTreeCursor.column); any other state calls that method or the closure.
Mirrors nothing in SQLite (whose VM is C); the pattern is sqlglot's Python executor.
"""

from limbodb.errors import OperationalError, SQLITE_INTERRUPT
from limbodb.io.completion import IO as IOM
from limbodb.storage.btree import BTreeCursor
from limbodb.storage.btree_page import UNDECODED
from limbodb.vdbe import insn as I
from limbodb.vdbe import value as V
from limbodb.vdbe.ephemeral import ListRecord
from limbodb.vdbe.program import EXIT_IO, EXIT_ROW

# Set False to run every program one closure per instruction (tests compare the two).
ENABLED = True

# A backward Goto is not a tail: every program ends with one to its start (after Transaction).
_LOOP_TAILS = frozenset((I.OP_Next, I.OP_Prev, I.OP_SorterNext))
# IdxGT P1 P2 P3 jumps when the entry compares > the key, and so on.
_IDX_COMPARES = {I.OP_IdxGT: ">", I.OP_IdxGE: ">=", I.OP_IdxLT: "<", I.OP_IdxLE: "<="}
_COMPARES = {I.OP_Eq: "==", I.OP_Ne: "!=", I.OP_Lt: "<", I.OP_Le: "<=", I.OP_Gt: ">", I.OP_Ge: ">="}
# Instructions whose closure never jumps: it returns pc + 1 or a negative exit code.
_NO_JUMP = frozenset((
    I.OP_Column, I.OP_Rowid, I.OP_IdxRowid, I.OP_Copy, I.OP_SCopy, I.OP_Integer, I.OP_Null,
    I.OP_AggStep, I.OP_AggFinal, I.OP_MakeRecord, I.OP_SorterInsert, I.OP_SorterData,
    I.OP_Affinity, I.OP_Function, I.OP_Remainder, I.OP_Add, I.OP_Subtract, I.OP_Multiply,
    I.OP_Divide, I.OP_Concat, I.OP_String8, I.OP_Real, I.OP_Int64, I.OP_Variable,
    I.OP_IdxInsert, I.OP_Insert, I.OP_Sequence, I.OP_NullRow, I.OP_Compare,
))


# Instructions that end a block but whose P2 is not a jump target (a root page, a register,
# a conflict action, a column count): counting it as one would only split blocks.
_P2_NOT_TARGET = frozenset((
    I.OP_OpenRead, I.OP_OpenWrite, I.OP_OpenEphemeral, I.OP_OpenPseudo, I.OP_SorterOpen, I.OP_Close,
    I.OP_Halt, I.OP_Transaction, I.OP_NewRowid, I.OP_IdxDelete, I.OP_Delete, I.OP_ResultRow,
    I.OP_ReadCookie, I.OP_SetCookie, I.OP_CreateBtree, I.OP_Destroy, I.OP_Clear, I.OP_Cast,
    I.OP_RealAffinity, I.OP_Not, I.OP_BitNot, I.OP_And, I.OP_Or, I.OP_ShiftLeft, I.OP_ShiftRight,
    I.OP_BitAnd, I.OP_BitOr, I.OP_Count, I.OP_Move,
))


# Instructions that cannot move a cursor or clear its row (see _Gen.rec_cursor).
_KEEPS_REC = frozenset((I.OP_Column, I.OP_Rowid, I.OP_Copy, I.OP_SCopy, I.OP_Integer, I.OP_Null,
                        I.OP_AggStep, I.OP_Affinity, I.OP_Remainder, I.OP_Add, I.OP_Subtract,
                        I.OP_Multiply, I.OP_Concat))


def regions(insns):
    """[(first pc, last pc)] of the loop regions worth compiling, in program order."""
    spans = sorted((insn.p2, pc) for pc, insn in enumerate(insns)
                   if insn.opcode in _LOOP_TAILS and 0 < insn.p2 <= pc)
    merged = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1][1] = hi
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


class Region:
    """The generated factory of one region, shared by every VM of its program.

    ``fused``: the pcs of fused runs it calls as one closure (make takes those closures).
    """

    __slots__ = ("first", "last", "starts", "fused", "make")

    def __init__(self, first, last, starts, fused, make):
        self.first = first
        self.last = last
        self.starts = starts
        self.fused = fused
        self.make = make


def compile_regions(insns, proto):
    """Region objects for ``insns`` (empty if disabled or there are no loops).

    ``proto`` is the program's prototype (program.py): a fused run of instructions
    that codegen does not inline is called as the one closure the step loop uses.
    """
    if not ENABLED:
        return []
    from limbodb.vdbe.execute_cursor import idx_insert_run, insert_run
    from limbodb.vdbe.execute_data import variable_run
    called = (variable_run, idx_insert_run, insert_run)
    fused = {entry[0]: entry[0] + len(entry[2]) for entry in proto if entry[1] in called}
    return [_compile(insns, lo, hi, fused) for lo, hi in regions(insns)]


def _block_starts(insns, first, last):
    """pcs in [first, last] where a block must begin: jump targets and pcs after a
    block-ending instruction. A target missed here is still exact (the region returns
    it to the step loop), only slower."""
    starts = {first}
    for insn in insns:
        if _ends_block(insn) and insn.opcode not in _P2_NOT_TARGET:
            targets = (insn.p1, insn.p2, insn.p3) if insn.opcode == I.OP_Jump else (insn.p2,)
            starts.update(t for t in targets if first <= t <= last)
    for pc in range(first, last + 1):
        if _ends_block(insns[pc]):
            starts.add(pc + 1)
    starts.discard(last + 1)
    return starts


def _ends_block(insn):
    # Every other instruction is either inline straight-line code or a closure that cannot jump.
    return insn.opcode not in _NO_JUMP


class _Gen:
    """Source text of one region, with the constants it refers to."""

    def __init__(self, insns, first, last):
        self.insns = insns
        self.first = first
        self.last = last
        self.lines = []
        self.consts = []
        self.closures = set()
        # pc -> end of the fused runs called whole, and those the code calls.
        self.fused = {}
        self.fused_called = set()
        # The cursor whose row the local ``rec`` holds (None for a NULL row), while no
        # instruction since could have moved it; None when unknown.
        self.rec_cursor = None
        # True while ``rec`` is the ListRecord a SorterData of this block made and the
        # local ``rv`` its values (Columns then index the list).
        self.rec_vals = False

    def const(self, value):
        self.consts.append(value)
        return "k%d" % (len(self.consts) - 1)

    def emit(self, indent, text):
        for line in text.strip("\n").split("\n"):
            self.lines.append("    " * indent + line)


def _compile(insns, first, last, fused):
    g = _Gen(insns, first, last)
    starts = _block_starts(insns, first, last)
    # A fused run is called whole only if no jump lands inside it.
    g.fused = {pc: end for pc, end in fused.items()
               if first <= pc and end - 1 <= last and not any(t in starts for t in range(pc + 1, end))}
    body = []
    g.lines = body
    pc = first
    while pc <= last:
        g.emit(2, "if pc == %d:" % pc)
        pc = _block(g, pc, starts)
    g.emit(2, "return pc")
    closures = sorted(g.closures)
    used_fused = sorted(g.fused_called)
    head = ["def make(vm, regs, cursors, conn, ops, fops, consts):", "    state = vm.state",
            "    params = vm.params"]
    for i in range(len(g.consts)):
        head.append("    k%d = consts[%d]" % (i, i))
    for c in closures:
        head.append("    op_%d = ops[%d]" % (c, c))
    for c in used_fused:
        head.append("    fop_%d = fops[%d]" % (c, c))
    head.append("    def region(pc):")
    head.append("        while True:")
    # Blocks were written from indent 2; the while's body is at indent 3.
    src = "\n".join(head + ["    " + line for line in body] + ["    return region", ""])
    env = {"IOM": IOM, "EXIT_IO": EXIT_IO, "EXIT_ROW": EXIT_ROW, "OperationalError": OperationalError,
           "SQLITE_INTERRUPT": SQLITE_INTERRUPT, "BTC": BTreeCursor, "U": UNDECODED}
    exec(compile(src, "<loop %d-%d>" % (first, last), "exec"), env)
    factory = env["make"]
    consts = g.consts
    return Region(first, last, sorted(starts), used_fused, lambda vm, ops, fops: factory(
        vm, vm.regs, vm.cursors, vm.conn, ops, fops, consts))


def _block(g, pc, starts):
    """Emit the block starting at ``pc``; return the pc after it."""
    insns = g.insns
    last = g.last
    g.rec_cursor = None
    g.rec_vals = False
    while True:
        insn = insns[pc]
        end = g.fused.get(pc)
        if end is not None:
            # The run's closure returns ``end`` or an exit (a wait resumes inside the run).
            g.rec_cursor = None
            g.rec_vals = False
            g.fused_called.add(pc)
            g.emit(3, "r = fop_%d()\nif r != %d:\n    return r" % (pc, end))
            pc = end
            if pc > last or pc in starts:
                g.emit(3, "pc = %d" % pc)
                return pc
            continue
        if insn.opcode not in _KEEPS_REC:
            g.rec_cursor = None
            g.rec_vals = False
        ended = _insn(g, pc, insn)
        pc += 1
        if ended:
            return pc
        if pc > last or pc in starts:
            g.emit(3, "pc = %d" % pc)
            return pc


def _jump(g, pc, target, indent):
    """Code that continues at ``target`` from the instruction at ``pc``."""
    if target <= pc:
        g.emit(indent, "pc = %d\ncontinue" % target)
    else:
        g.emit(indent, "pc = %d" % target)


def _call(g, pc, indent=3):
    """Run the closure at ``pc``; the block ends unless it cannot jump."""
    insn = g.insns[pc]
    g.closures.add(pc)
    if insn.opcode in _NO_JUMP:
        g.emit(indent, "r = op_%d()\nif r != %d:\n    return r" % (pc, pc + 1))
        return False
    g.emit(indent, "pc = op_%d()\nif pc <= %d:\n    continue" % (pc, pc))
    return True


def _fast_else_call(g, pc):
    """Close an inline fast path (``if ...:`` at indent 3 whose jump is written): else
    the instruction goes on to pc + 1, and values it does not cover take the closure."""
    g.emit(3, """
    else:
        pc = %d
else:
    pc = op_%d()
    if pc <= %d:
        continue
""" % (pc + 1, pc, pc))


def _wait(pc):
    return "vm.completion = {v}.completion\nvm.pc = %d\nreturn EXIT_IO" % pc


def _insn(g, pc, insn):
    """Emit one instruction inside a block; True if it ends the block (it set pc)."""
    op = insn.opcode
    p1, p2, p3, p4, p5 = insn.p1, insn.p2, insn.p3, insn.p4, insn.p5
    nxt = pc + 1
    if op == I.OP_Column:
        dflt = "None" if p4 is None else g.const(p4)
        if g.rec_cursor == p1 and g.rec_vals:
            g.emit(3, "regs[%d] = rv[%d] if %d < len(rv) else %s" % (p3, p2, p2, dflt))
            return False
        if g.rec_cursor == p1:
            # The row was fetched by a Column just before: no cursor look-up again.
            read = "rec.column(%d)" % p2 if p4 is None else \
                "(%s if %d >= rec.ncols else rec.column(%d))" % (dflt, p2, p2)
            g.emit(3, "regs[%d] = None if rec is None else %s" % (p3, read))
            return False
        if p4 is None:
            _column_cached(g, pc, p1, p2, p3)
            return False
        g.rec_cursor = p1
        g.rec_vals = False
        g.emit(3, """
vc = cursors[%d]
rec = vc.rec
if rec is None:
    if vc.nullrow:
        regs[%d] = None
    else:
        rec = vc.btc.record()
        if rec.__class__ is IOM:
%s
        vc.rec = rec
if rec is not None:
""" % (p1, p3, _indent(_wait(pc).format(v="rec"), 3)))
        g.emit(4, "regs[%d] = %s if %d >= rec.ncols else rec.column(%d)" % (p3, dflt, p2, p2))
        return False
    if op == I.OP_Rowid:
        g.closures.add(pc)
        g.emit(3, """
vc = cursors[%d]
if vc.nullrow:
    regs[%d] = None
elif vc.is_index:
    btc = vc.btc
    if btc.__class__ is BTC and btc._sk and btc._state == 1 and (sk := btc._info.skeys) \\
            and (k := sk[btc._ci]) is not None and k[-2] == 1 and k[-1].__class__ is int:
        # op_rowid's sort-key shortcut, inline: the entry's key ends with (1, rowid).
        regs[%d] = k[-1]
    else:
        r = op_%d()
        if r != %d:
            return r
else:
    btc = vc.btc
    if btc.__class__ is BTC and btc._state == 1 and (info := btc._info).leaf:
        # BTreeCursor.rowid() on a table leaf, inline.
        regs[%d] = info.keys[btc._ci]
    else:
        regs[%d] = btc.rowid()
""" % (p1, p2, p2, pc, nxt, p2, p2))
        return False
    if op == I.OP_Next:
        g.emit(3, """
vc = cursors[%d]
if vc.nullrow:
    pc = %d
else:
    if conn.interrupted:
        raise OperationalError("interrupted", SQLITE_INTERRUPT)
    btc = vc.btc
    if btc.__class__ is BTC and btc._state == 1 and (info := btc._info).leaf \\
            and (ci := btc._ci + 1) < info.ncells:
        # BTreeCursor.next() within a leaf, inline.
        btc._ci = ci
        r = True
    else:
        r = btc.next()
        if r.__class__ is IOM:
%s
    vc.rec = None
    if r:
""" % (p1, nxt, _indent(_wait(pc).format(v="r"), 3)))
        _jump(g, pc, p2, 5)
        g.emit(3, "    else:\n        pc = %d" % nxt)
        return True
    if op in _COMPARES and (p5 & I.SQLITE_AFF_MASK) != V.AFF_TEXT:
        g.closures.add(pc)
        # Two ints compare as Python compares them, whatever the affinity. Two texts do
        # under BINARY when at least one is ASCII (code point order is UTF-8 byte order
        # then, see compare_values) and no numeric affinity may turn them into numbers.
        text = (p5 & I.SQLITE_AFF_MASK) <= V.AFF_BLOB and (p4 is None or p4.upper() == "BINARY")
        g.emit(3, """
b = regs[%d]
a = regs[%d]
if a.__class__ is int is b.__class__%s:
    if a %s b:
""" % (p1, p3, " or (a.__class__ is str is b.__class__ and (a.isascii() or b.isascii()))"
       if text else "", _COMPARES[op]))
        _jump(g, pc, p2, 5)
        _fast_else_call(g, pc)
        return True
    if op in _IDX_COMPARES and p4 == 1:
        # _idx_compare's sort-key path for a one-column int key, inline: the entry's
        # cached sort key starts (1, value) for a number, and tuples order as SQLite does.
        g.closures.add(pc)
        g.emit(3, """
btc = cursors[%d].btc
v = regs[%d]
if v.__class__ is int and btc.__class__ is BTC and btc._sk and btc._state == 1 \\
        and (sk := btc._info.skeys) and (k := sk[btc._ci]) is not None and len(k) >= 2:
    if k[:2] %s (1, v):
""" % (p1, p3, _IDX_COMPARES[op]))
        _jump(g, pc, p2, 5)
        _fast_else_call(g, pc)
        return True
    if op == I.OP_Compare and p3 == 1 and (p4 is None or not p4.desc or not p4.desc[0]):
        # One column whose operands are both ints: compare_values is Python's order there,
        # whatever the collation. Anything else takes the closure.
        g.closures.add(pc)
        g.emit(3, """
a = regs[%d]
b = regs[%d]
if a.__class__ is int is b.__class__:
    state["compare"] = (a > b) - (a < b)
else:
    op_%d()
""" % (p1, p2, pc))
        return False
    if op == I.OP_Jump:
        g.emit(3, 'r = state["compare"]\nif r < 0:')
        _jump(g, pc, p1, 4)
        g.emit(3, "elif r == 0:")
        _jump(g, pc, p2, 4)
        g.emit(3, "else:")
        _jump(g, pc, p3, 4)
        return True
    if op in (I.OP_IsNull, I.OP_NotNull):
        g.emit(3, "if regs[%d] %s None:" % (p1, "is" if op == I.OP_IsNull else "is not"))
        _jump(g, pc, p2, 4)
        g.emit(3, "else:\n    pc = %d" % nxt)
        return True
    if op in (I.OP_If, I.OP_IfNot):
        # An int's truth is itself; other values (NULL, text, reals) take the closure.
        g.closures.add(pc)
        g.emit(3, "v = regs[%d]\nif v.__class__ is int:\n    if %sv:" % (p1, "" if op == I.OP_If else "not "))
        _jump(g, pc, p2, 5)
        _fast_else_call(g, pc)
        return True
    if op == I.OP_Affinity and p4 and all(ch in "CD" for ch in p4[:p2]):
        # NUMERIC and INTEGER affinity leave an int as it is.
        g.closures.add(pc)
        test = " and ".join("regs[%d].__class__ is int" % r for r in range(p1, p1 + len(p4[:p2])))
        g.emit(3, "if not (%s):\n    op_%d()" % (test, pc))
        return False
    if op == I.OP_Remainder:
        # Non-negative ints: Python's % is C's (which takes the dividend's sign).
        g.closures.add(pc)
        g.emit(3, """
b = regs[%d]
a = regs[%d]
if a.__class__ is int is b.__class__ and a >= 0 and b > 0:
    regs[%d] = a %% b
else:
    op_%d()
""" % (p1, p2, p3, pc))
        return False
    if op == I.OP_Goto:
        if p2 <= pc:
            g.emit(3, 'if conn.interrupted:\n    raise OperationalError("interrupted", SQLITE_INTERRUPT)')
        _jump(g, pc, p2, 3)
        return True
    if op in (I.OP_Copy, I.OP_SCopy) and (op == I.OP_SCopy or p3 == 0):
        g.emit(3, "regs[%d] = regs[%d]" % (p2, p1))
        return False
    if op == I.OP_Integer:
        g.emit(3, "regs[%d] = %d" % (p2, p1))
        return False
    if op == I.OP_Variable:
        # op_variable checked P1 against the parameter count when its closure was made.
        g.emit(3, "regs[%d] = params[%d]" % (p2, p1))
        return False
    if op == I.OP_Null and p3 <= p2:
        g.emit(3, "regs[%d] = None" % p2)
        return False
    if op == I.OP_AggStep:
        new = g.const(p4.fn)
        args = ", ".join("regs[%d]" % r for r in range(p2, p2 + p5))
        g.emit(3, """
acc = regs[%d]
if acc is None:
    acc = regs[%d] = %s()
acc.step(%s)
""" % (p3, p3, new, args))
        return False
    if op == I.OP_ResultRow:
        g.emit(3, "vm.row = tuple(regs[%d:%d])\nvm.pc = %d\nreturn EXIT_ROW" % (p1, p1 + p2, nxt))
        return True
    if op == I.OP_MakeRecord and p5 & I.MAKERECORD_UNPACKED and p4 is None:
        g.emit(3, "regs[%d] = regs[%d:%d]" % (p3, p1, p1 + p2))
        return False
    if op == I.OP_SorterData:
        g.emit(3, "rv = cursors[%d].btc.current()\nrec = regs[%d] = %s(rv)\ncursors[%d].rec = rec"
               % (p1, p2, g.const(ListRecord), p3))
        g.rec_cursor = p3
        g.rec_vals = True
        return False
    if op == I.OP_SorterInsert:
        g.emit(3, "cursors[%d].btc.insert(regs[%d])" % (p1, p2))
        return False
    return _call(g, pc)


def _column_cached(g, pc, p1, p2, p3):
    """Column P2 of cursor P1 into P3 (no default): the row's Record if the cursor has
    one, else the leaf's column cache (BTreeCursor.column), else a fresh Record.

    The cache hit is written inline; it reads the B-tree cursor's position (``_state``,
    ``_info``, ``_ci``) exactly as BTreeCursor.column does, and anything else calls it.
    ``rec`` stays None after a cache read, so the next Column on this cursor is not
    allowed to reuse it (``rec_cursor``).
    """
    g.rec_cursor = None
    g.rec_vals = False
    g.emit(3, """
vc = cursors[%d]
rec = vc.rec
if rec is not None:
    regs[%d] = rec.column(%d)
elif vc.nullrow:
    regs[%d] = None
else:
    btc = vc.btc
    if btc.__class__ is BTC and btc._state == 1 and (cols := btc._info.cols) is not None \\
            and (v := cols.get(%d, U)) is not U and (v := v[btc._ci]) is not U:
        regs[%d] = v
    else:
        v = btc.column(%d) if btc.__class__ is BTC else U
        if v is U:
            rec = btc.record()
            if rec.__class__ is IOM:
%s
            vc.rec = rec
            regs[%d] = rec.column(%d)
        else:
            regs[%d] = v
""" % (p1, p3, p2, p3, p2, p3, p2, _indent(_wait(pc).format(v="rec"), 4), p3, p2, p3))


def _indent(text, n):
    return "\n".join("    " * n + line for line in text.split("\n"))
