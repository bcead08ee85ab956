"""The step loop skips jumps that only jump (program._threaded_jumps), never a loop's check.

Init, forward Gotos and the Goto closing a builder's transaction prologue hand their slot
to their target's closure; a loop's backward Goto keeps its own, which checks for an
interrupt. Programs run the same either way (the whole suite runs with it).
"""

import limbodb
from limbodb.vdbe.insn import OP_Goto, OP_Halt, OP_Init, OP_Integer, Insn
from limbodb.vdbe.program import _threaded_jumps


def _program(con, sql):
    stmt, _ = con._engine.prepare(sql)
    return stmt.program


def test_an_insert_skips_init_and_the_prologue_return():
    con = limbodb.connect(":memory:")
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b)")
    insns = _program(con, "INSERT INTO t1 VALUES(?, ?)").insns
    jumps = dict(_threaded_jumps(insns))
    init = insns[0].p2
    # Init lands on the Transaction it jumps to; the last Goto on the first body instruction.
    assert jumps[0] == init and insns[init].opcode != OP_Goto
    assert jumps[len(insns) - 1] == 1
    for pc, target in jumps.items():
        assert insns[pc].opcode in (OP_Init, OP_Goto)
        assert insns[target].opcode not in (OP_Init, OP_Goto)


def test_a_chain_of_forward_gotos_lands_on_its_last_target():
    insns = [Insn(OP_Init, 0, 1), Insn(OP_Goto, 0, 3), Insn(OP_Integer, 1, 1), Insn(OP_Goto, 0, 5),
             Insn(OP_Integer, 2, 1), Insn(OP_Halt)]
    assert _threaded_jumps(insns) == [(0, 5), (1, 5), (3, 5)]


def test_a_backward_goto_keeps_its_interrupt_check():
    # A loop back to pc 1 at the end, with no Halt before a prologue: not the prologue's return.
    insns = [Insn(OP_Init, 0, 1), Insn(OP_Integer, 0, 1), Insn(OP_Goto, 0, 1)]
    assert _threaded_jumps(insns) == [(0, 1)]
    insns = [Insn(OP_Init, 0, 3), Insn(OP_Integer, 0, 1), Insn(OP_Goto, 0, 1), Insn(OP_Halt)]
    assert (2, 1) not in _threaded_jumps(insns)


def test_a_loop_still_answers_an_interrupt():
    con = limbodb.connect(":memory:")
    calls = []

    def f(x):
        calls.append(x)
        if len(calls) == 1000:
            con.interrupt()
        return 1

    con.create_function("f", 1, f)
    sql = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) "
           "SELECT count(*) FROM c WHERE f(x)")
    try:
        con.execute(sql).fetchall()
    except limbodb.OperationalError as e:
        assert "interrupted" in str(e)
    else:
        raise AssertionError("the query ran to its end")
    assert len(calls) < 2000
