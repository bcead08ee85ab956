"""Register opcodes: constants, copies, arithmetic, comparisons, functions, records.

Values in registers are plain Python values (None, int, float, str, bytes);
aggregate accumulators and sorter rows are kept in registers too. Value
semantics (affinity, arithmetic overflow, truth, CAST) come from
``limbodb.vdbe.value``; the ordering of values from storage.record.
Comparison P5 holds the affinity (SQLITE_AFF_MASK bits) and the NULL flags;
P4 the collation name. Mirrors the matching cases of sqlite src/vdbe.c.
"""

from limbodb.errors import InterfaceError, SQLITE_RANGE
from limbodb.io.completion import IO as IOM
from limbodb.storage.record import compare_values, encode_record, real_storage_value
from limbodb.vdbe import value as V
from limbodb.vdbe.insn import MAKERECORD_UNPACKED, SQLITE_AFF_MASK, SQLITE_JUMPIFNULL, SQLITE_NULLEQ
from limbodb.vdbe.program import EXIT_IO, EXIT_ROW


def _const(vm, insn, pc, value):
    p2 = insn.p2
    regs = vm.regs
    nxt = pc + 1

    def run():
        regs[p2] = value
        return nxt
    return run


def op_integer(vm, insn, pc):
    """Opcode: Integer P1 P2 * * *

    Register P2 = the integer P1.
    """
    return _const(vm, insn, pc, insn.p1)


def op_int64(vm, insn, pc):
    """Opcode: Int64 * P2 * P4 *

    Register P2 = the 64-bit integer P4.
    """
    return _const(vm, insn, pc, insn.p4)


def op_real(vm, insn, pc):
    """Opcode: Real * P2 * P4 *

    Register P2 = the float P4.
    """
    return _const(vm, insn, pc, insn.p4)


def op_string8(vm, insn, pc):
    """Opcode: String8 * P2 * P4 *

    Register P2 = the text P4.
    """
    return _const(vm, insn, pc, insn.p4)


def op_blob(vm, insn, pc):
    """Opcode: Blob P1 P2 * P4 *

    Register P2 = the blob P4 (of P1 bytes).
    """
    return _const(vm, insn, pc, insn.p4)


def op_null(vm, insn, pc):
    """Opcode: Null * P2 P3 * *

    Registers P2 through P3 (P3=0: just P2) = NULL.
    """
    p2 = insn.p2
    last = max(insn.p3, p2)
    regs = vm.regs
    nxt = pc + 1
    if last == p2:
        def run():
            regs[p2] = None
            return nxt
        return run
    nulls = [None] * (last - p2 + 1)

    def run_range():
        regs[p2:last + 1] = nulls
        return nxt
    return run_range


def op_variable(vm, insn, pc):
    """Opcode: Variable P1 P2 * * *

    Register P2 = bound parameter P1 (1-based).
    """
    p1, p2 = insn.p1, insn.p2
    regs = vm.regs
    params = vm.params
    nxt = pc + 1
    if p1 >= len(params):
        raise InterfaceError("column index out of range", SQLITE_RANGE)

    def run():
        regs[p2] = params[p1]
        return nxt
    return run


def variable_run(vm, insns, pc):
    """Variables of consecutive parameters into consecutive registers, fused (program.py)."""
    p1, p2, n = insns[0].p1, insns[0].p2, len(insns)
    regs = vm.regs
    params = vm.params
    nxt = pc + n
    if p1 + n > len(params):
        raise InterfaceError("column index out of range", SQLITE_RANGE)

    def run():
        regs[p2:p2 + n] = params[p1:p1 + n]
        return nxt
    return run


def _copy_range(vm, insn, pc, clear):
    p1, p2, n = insn.p1, insn.p2, insn.p3 + 1
    regs = vm.regs
    nxt = pc + 1
    if n == 1 and not clear:
        def run():
            regs[p2] = regs[p1]
            return nxt
        return run
    nulls = [None] * n

    def run_range():
        regs[p2:p2 + n] = regs[p1:p1 + n]
        if clear:
            regs[p1:p1 + n] = nulls
        return nxt
    return run_range


def op_copy(vm, insn, pc):
    """Opcode: Copy P1 P2 P3 * *

    Registers P2..P2+P3 = registers P1..P1+P3.
    """
    return _copy_range(vm, insn, pc, False)


def op_scopy(vm, insn, pc):
    """Opcode: SCopy P1 P2 * * *

    Register P2 = register P1 (values are immutable, so a shallow copy is a copy).
    """
    insn_one = type(insn)(insn.opcode, insn.p1, insn.p2, 0)
    return _copy_range(vm, insn_one, pc, False)


def op_move(vm, insn, pc):
    """Opcode: Move P1 P2 P3 * *

    Move P3 registers from P1.. to P2..; the sources become NULL.
    """
    moved = type(insn)(insn.opcode, insn.p1, insn.p2, insn.p3 - 1)
    return _copy_range(vm, moved, pc, True)


def op_resultrow(vm, insn, pc):
    """Opcode: ResultRow P1 P2 * * *

    Registers P1..P1+P2-1 are the next result row: return ROW to the caller.
    """
    p1 = insn.p1
    end = p1 + insn.p2
    regs = vm.regs
    nxt = pc + 1

    def run():
        vm.row = tuple(regs[p1:end])
        vm.pc = nxt
        return EXIT_ROW
    return run


def op_makerecord(vm, insn, pc):
    """Opcode: MakeRecord P1 P2 P3 P4 P5

    Register P3 = the record of registers P1..P1+P2-1, after applying the
    affinity string P4 (one SQLite affinity letter per column) if given. With
    P5 MAKERECORD_UNPACKED the values stay a list (for ephemeral cursors and
    sorters, which would only decode the record again).
    """
    p1, p3 = insn.p1, insn.p3
    end = p1 + insn.p2
    regs = vm.regs
    nxt = pc + 1
    pairs = affinity_pairs(insn)
    if insn.p5 & MAKERECORD_UNPACKED and pairs is None:
        def run_list():
            regs[p3] = regs[p1:end]
            return nxt
        return run_list
    if pairs is None:
        def run():
            regs[p3] = encode_record(regs[p1:end])
            return nxt
        return run
    apply = V.apply_affinity

    def run_aff():
        for r, a in pairs:
            v = apply(regs[r], a)
            regs[r] = real_storage_value(v) if a == V.AFF_REAL else v
        regs[p3] = encode_record(regs[p1:end])
        return nxt
    return run_aff


def affinity_pairs(mk):
    """(register, affinity code) for each column of MakeRecord ``mk``, or None if all BLOB."""
    affs = _affinities(mk.p4)
    return None if affs is None else list(zip(range(mk.p1, mk.p1 + mk.p2), affs))


def _affinities(p4):
    """Affinity codes from an affinity string (SQLite letters 'A'..'E'), or None if all BLOB."""
    if not p4 or all(ch == "A" for ch in p4):
        return None
    return [ord(ch) for ch in p4]


def op_affinity(vm, insn, pc):
    """Opcode: Affinity P1 P2 * P4 *

    Apply the affinity string P4 to registers P1..P1+P2-1.
    """
    p1, p2 = insn.p1, insn.p2
    regs = vm.regs
    nxt = pc + 1
    apply = V.apply_affinity
    # Per register: (register, affinity, the value classes it leaves unchanged). Most
    # values already have their column's type, and skipping apply_affinity for them
    # saves a call per column of every row written.
    triples = [(p1 + i, a, _KEEPS.get(a, _NONE_KEEPS))
               for i, a in enumerate(ord(ch) for ch in insn.p4[:p2])]

    def run():
        for r, a, keeps in triples:
            v = regs[r]
            if v.__class__ not in keeps:
                regs[r] = apply(v, a)
        return nxt
    return run


# Value classes that apply_affinity returns unchanged, by affinity (NULL under every one).
_NONE_KEEPS = frozenset((type(None),))
_KEEPS = {
    V.AFF_NONE: frozenset((type(None), int, str)),
    V.AFF_BLOB: frozenset((type(None), int, str)),
    V.AFF_NUMERIC: frozenset((type(None), int)),
    V.AFF_INTEGER: frozenset((type(None), int)),
    V.AFF_TEXT: frozenset((type(None), str)),
}


def op_realaffinity(vm, insn, pc):
    """Opcode: RealAffinity P1 * * * *

    If register P1 holds an integer, make it a float (REAL columns store small
    reals as integers on disk).
    """
    p1 = insn.p1
    regs = vm.regs
    nxt = pc + 1

    def run():
        v = regs[p1]
        if v.__class__ is int:
            regs[p1] = float(v)
        return nxt
    return run


def op_cast(vm, insn, pc):
    """Opcode: Cast P1 P2 * * *

    CAST register P1 to affinity P2 (an SQLite affinity letter code).
    """
    p1, p2 = insn.p1, insn.p2
    regs = vm.regs
    nxt = pc + 1
    cast = V.cast_affinity

    def run():
        regs[p1] = cast(regs[p1], p2)
        return nxt
    return run


def op_addimm(vm, insn, pc):
    """Opcode: AddImm P1 P2 * * *

    Register P1 = its integer value + P2.
    """
    p1, p2 = insn.p1, insn.p2
    regs = vm.regs
    nxt = pc + 1
    to_int = V.int_value

    def run():
        v = regs[p1]
        regs[p1] = (v if v.__class__ is int else to_int(v)) + p2
        return nxt
    return run


def _binary(vm, insn, pc, fn, int_fast=None):
    """Register P3 = fn(register P2, register P1): SQLite's operand order (P2 op P1)."""
    p1, p2, p3 = insn.p1, insn.p2, insn.p3
    regs = vm.regs
    nxt = pc + 1
    if int_fast is None:
        def run():
            regs[p3] = fn(regs[p2], regs[p1])
            return nxt
        return run

    def run_fast():
        a = regs[p2]
        b = regs[p1]
        if a.__class__ is int and b.__class__ is int:
            r = int_fast(a, b)
            if -0x8000000000000000 <= r <= 0x7FFFFFFFFFFFFFFF:
                regs[p3] = r
                return nxt
        regs[p3] = fn(a, b)
        return nxt
    return run_fast


def op_add(vm, insn, pc):
    """Opcode: Add P1 P2 P3 * *

    Register P3 = register P2 + register P1 (NULL if either is NULL; integer
    overflow becomes a float).
    """
    return _binary(vm, insn, pc, V.add, int.__add__)


def op_subtract(vm, insn, pc):
    """Opcode: Subtract P1 P2 P3 * *

    Register P3 = register P2 - register P1.
    """
    return _binary(vm, insn, pc, V.sub, int.__sub__)


def op_multiply(vm, insn, pc):
    """Opcode: Multiply P1 P2 P3 * *

    Register P3 = register P2 * register P1.
    """
    return _binary(vm, insn, pc, V.mul, int.__mul__)


def op_divide(vm, insn, pc):
    """Opcode: Divide P1 P2 P3 * *

    Register P3 = register P2 / register P1 (NULL when dividing by zero).
    """
    return _binary(vm, insn, pc, V.div)


def op_remainder(vm, insn, pc):
    """Opcode: Remainder P1 P2 P3 * *

    Register P3 = register P2 % register P1 (sign of the dividend, as in C).
    """
    return _binary(vm, insn, pc, V.mod)


def op_concat(vm, insn, pc):
    """Opcode: Concat P1 P2 P3 * *

    Register P3 = register P2 || register P1 (as text).
    """
    return _binary(vm, insn, pc, V.concat)


def op_bitand(vm, insn, pc):
    """Opcode: BitAnd P1 P2 P3 * *

    Register P3 = register P1 & register P2.
    """
    return _binary(vm, insn, pc, V.bit_and)


def op_bitor(vm, insn, pc):
    """Opcode: BitOr P1 P2 P3 * *

    Register P3 = register P1 | register P2.
    """
    return _binary(vm, insn, pc, V.bit_or)


def op_shiftleft(vm, insn, pc):
    """Opcode: ShiftLeft P1 P2 P3 * *

    Register P3 = register P2 << register P1.
    """
    return _binary(vm, insn, pc, V.shift_left)


def op_shiftright(vm, insn, pc):
    """Opcode: ShiftRight P1 P2 P3 * *

    Register P3 = register P2 >> register P1.
    """
    return _binary(vm, insn, pc, V.shift_right)


def _unary(vm, insn, pc, fn):
    p1, p2 = insn.p1, insn.p2
    regs = vm.regs
    nxt = pc + 1

    def run():
        regs[p2] = fn(regs[p1])
        return nxt
    return run


def op_bitnot(vm, insn, pc):
    """Opcode: BitNot P1 P2 * * *

    Register P2 = ~register P1.
    """
    return _unary(vm, insn, pc, V.bit_not)


def op_not(vm, insn, pc):
    """Opcode: Not P1 P2 * * *

    Register P2 = NOT register P1 (NULL stays NULL).
    """
    truth = V.truth
    return _unary(vm, insn, pc, lambda v: None if v is None else (0 if truth(v) else 1))


def _logic(vm, insn, pc, is_and):
    # Three-valued logic: 0 false, 1 true, 2 NULL (sqlite's and_logic/or_logic tables).
    p1, p2, p3 = insn.p1, insn.p2, insn.p3
    regs = vm.regs
    nxt = pc + 1
    truth = V.truth
    table = (0, 0, 0, 0, 1, 2, 0, 2, 2) if is_and else (0, 1, 2, 1, 1, 1, 2, 1, 2)
    out = (0, 1, None)

    def run():
        a = regs[p1]
        b = regs[p2]
        a = 2 if a is None else (1 if truth(a) else 0)
        b = 2 if b is None else (1 if truth(b) else 0)
        regs[p3] = out[table[a * 3 + b]]
        return nxt
    return run


def op_and(vm, insn, pc):
    """Opcode: And P1 P2 P3 * *

    Register P3 = register P1 AND register P2 (three-valued).
    """
    return _logic(vm, insn, pc, True)


def op_or(vm, insn, pc):
    """Opcode: Or P1 P2 P3 * *

    Register P3 = register P1 OR register P2 (three-valued).
    """
    return _logic(vm, insn, pc, False)


# One factory per comparison opcode, generated from this template with the operator written
# inline: a compare is one closure call with no further call on its common paths.
_COMPARE_TEMPLATE = """
def factory(vm, insn, pc):
    p1, p2, p3, coll, p5 = insn.p1, insn.p2, insn.p3, insn.p4, insn.p5
    regs = vm.regs
    nxt = pc + 1
    aff = p5 & SQLITE_AFF_MASK
    jump_null = p2 if p5 & SQLITE_JUMPIFNULL else nxt
    nulleq = p5 & SQLITE_NULLEQ
    convert = V.apply_compare_affinity if aff > V.AFF_BLOB else None
    if coll is not None and coll.upper() == "BINARY":
        coll = None
    if aff == V.AFF_TEXT:
        # Numbers compared under TEXT affinity become text first: no same-class shortcut.
        def run_text():
            b = regs[p1]
            a = regs[p3]
            if a is None or b is None:
                if nulleq:
                    return p2 if (0 if a is b else 1) OP 0 else nxt
                return jump_null
            return p2 if compare_values(convert(a, aff), convert(b, aff), coll) OP 0 else nxt
        return run_text

    def run():
        b = regs[p1]
        a = regs[p3]
        ca = a.__class__
        if ca is b.__class__:
            if ca is int:
                return p2 if a OP b else nxt
            if ca is float or ca is bytes:
                # Not ``a OP b``: a NaN must compare as equal, as compare_values has it.
                return p2 if (a > b) - (a < b) OP 0 else nxt
        if a is None or b is None:
            if nulleq:
                return p2 if (0 if a is b else 1) OP 0 else nxt
            return jump_null
        if convert is not None:
            a = convert(a, aff)
            b = convert(b, aff)
        return p2 if compare_values(a, b, coll) OP 0 else nxt
    return run
"""


def _compare_factory(op):
    env = {"SQLITE_AFF_MASK": SQLITE_AFF_MASK, "SQLITE_JUMPIFNULL": SQLITE_JUMPIFNULL,
           "SQLITE_NULLEQ": SQLITE_NULLEQ, "V": V, "compare_values": compare_values}
    exec(compile(_COMPARE_TEMPLATE.replace("OP", op), "<compare " + op + ">", "exec"), env)
    return env["factory"]


op_eq = _compare_factory("==")
op_eq.__doc__ = """Opcode: Eq P1 P2 P3 P4 P5

Jump to P2 if register P3 == register P1, comparing with affinity P5 and
collation P4. NULL operands jump only with SQLITE_JUMPIFNULL; with
SQLITE_NULLEQ (IS) two NULLs are equal.
"""
op_ne = _compare_factory("!=")
op_ne.__doc__ = """Opcode: Ne P1 P2 P3 P4 P5

Jump to P2 if register P3 != register P1 (see Eq).
"""
op_lt = _compare_factory("<")
op_lt.__doc__ = """Opcode: Lt P1 P2 P3 P4 P5

Jump to P2 if register P3 < register P1 (see Eq).
"""
op_le = _compare_factory("<=")
op_le.__doc__ = """Opcode: Le P1 P2 P3 P4 P5

Jump to P2 if register P3 <= register P1 (see Eq).
"""
op_gt = _compare_factory(">")
op_gt.__doc__ = """Opcode: Gt P1 P2 P3 P4 P5

Jump to P2 if register P3 > register P1 (see Eq).
"""
op_ge = _compare_factory(">=")
op_ge.__doc__ = """Opcode: Ge P1 P2 P3 P4 P5

Jump to P2 if register P3 >= register P1 (see Eq).
"""


def op_compare(vm, insn, pc):
    """Opcode: Compare P1 P2 P3 P4 *

    Compare the P3 registers from P1 with those from P2 using KeyInfo P4 and
    remember the result for the Jump that follows.
    """
    p1, p2, n, key_info = insn.p1, insn.p2, insn.p3, insn.p4
    regs = vm.regs
    state = vm.state
    nxt = pc + 1
    colls = list(key_info.collations) if key_info is not None else []
    descs = list(key_info.desc) if key_info is not None else []
    colls += [None] * (n - len(colls))
    descs += [False] * (n - len(descs))

    def run():
        r = 0
        for i in range(n):
            r = compare_values(regs[p1 + i], regs[p2 + i], colls[i])
            if r:
                if descs[i]:
                    r = -r
                break
        state["compare"] = r
        return nxt
    return run


def op_jump(vm, insn, pc):
    """Opcode: Jump P1 P2 P3 * *

    Jump to P1, P2 or P3 as the last Compare found less, equal or greater.
    """
    p1, p2, p3 = insn.p1, insn.p2, insn.p3
    state = vm.state

    def run():
        r = state["compare"]
        return p1 if r < 0 else (p2 if r == 0 else p3)
    return run


def op_function(vm, insn, pc):
    """Opcode: Function P1 P2 P3 P4 P5

    Register P3 = scalar function P4 (a FuncDef) of the P5 arguments from
    register P2. Functions that need the connection get it first; such a
    function may be re-entrant (ATTACH opening its file): on IO the
    instruction waits and runs again with the same arguments.
    """
    p2, p3, fd, n = insn.p2, insn.p3, insn.p4, insn.p5
    regs = vm.regs
    nxt = pc + 1
    fn = fd.fn
    end = p2 + n
    if fd.needs_context:
        conn = vm.conn

        def run_ctx():
            r = fn(conn, *regs[p2:end])
            if r.__class__ is IOM:
                vm.completion = r.completion
                vm.pc = pc
                return EXIT_IO
            regs[p3] = r
            return nxt
        return run_ctx
    if n == 1:
        def run1():
            regs[p3] = fn(regs[p2])
            return nxt
        return run1

    def run():
        regs[p3] = fn(*regs[p2:end])
        return nxt
    return run


def op_memmax(vm, insn, pc):
    """Opcode: MemMax P1 P2 * * *

    Register P1 = max(register P1, register P2) as integers.
    """
    p1, p2 = insn.p1, insn.p2
    regs = vm.regs
    nxt = pc + 1

    def run():
        if regs[p2] > regs[p1]:
            regs[p1] = regs[p2]
        return nxt
    return run
