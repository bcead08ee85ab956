"""EXPLAIN and EXPLAIN QUERY PLAN: programs whose result rows describe another program.

``explain_program(p)`` yields one row per instruction of ``p``: (addr, opcode,
p1, p2, p3, p4, p5, comment), with P4 rendered as SQLite's EXPLAIN shows it
(``k(2,,NOCASE)`` for a KeyInfo, ``abs(1)`` for a function, numbers as text).
``query_plan_program(p)`` yields p.plan's (id, parent, notused, detail) rows.
Both programs only copy constants, so they never touch the database.
Mirrors sqlite src/vdbeaux.c (displayP4, sqlite3VdbeList).
"""

from limbodb.storage.record import KeyInfo
from limbodb.vdbe.insn import (
    OP_Goto, OP_Halt, OP_Init, OP_Int64, OP_Integer, OP_Null, OP_Real, OP_ResultRow, OP_String8,
    OPCODE_NAMES, Insn,
)
from limbodb.vdbe.program import Program

EXPLAIN_COLUMNS = ["addr", "opcode", "p1", "p2", "p3", "p4", "p5", "comment"]
PLAN_COLUMNS = ["id", "parent", "notused", "detail"]


def render_p4(p4):
    """P4 as text, the way SQLite's EXPLAIN displays it (None stays NULL)."""
    if p4 is None:
        return None
    if isinstance(p4, KeyInfo):
        parts = []
        for i, coll in enumerate(p4.collations):
            desc = p4.desc[i] if i < len(p4.desc) else False
            parts.append(("-" if desc else "") + ("" if coll is None or coll.upper() == "BINARY" else coll))
        return f"k({len(parts)},{','.join(parts)})"
    name = getattr(p4, "name", None)
    nargs = getattr(p4, "nargs", None)
    if name is not None and nargs is not None:
        return f"{name}({nargs})"
    if isinstance(p4, bytes):
        return p4.hex().upper()
    return str(p4)


def _rows_program(rows, columns):
    """A program returning ``rows`` (tuples of constants)."""
    insns = [Insn(OP_Init, 0, 1)]
    width = len(columns)
    for row in rows:
        for k, v in enumerate(row):
            reg = k + 1
            if v is None:
                insns.append(Insn(OP_Null, 0, reg))
            elif v.__class__ is int:
                if -0x80000000 <= v < 0x80000000:
                    insns.append(Insn(OP_Integer, v, reg))
                else:
                    insns.append(Insn(OP_Int64, 0, reg, 0, v))
            elif v.__class__ is float:
                insns.append(Insn(OP_Real, 0, reg, 0, v))
            else:
                insns.append(Insn(OP_String8, 0, reg, 0, str(v)))
        insns.append(Insn(OP_ResultRow, 1, width))
    insns.append(Insn(OP_Halt))
    insns.append(Insn(OP_Goto, 0, 1))
    insns[0].p2 = len(insns) - 1
    return Program(insns, width + 1, 0, columns, [None] * width, True)


def explain_program(program):
    """The EXPLAIN program of ``program``."""
    rows = []
    for addr, insn in enumerate(program.insns):
        rows.append((addr, OPCODE_NAMES[insn.opcode], insn.p1, insn.p2, insn.p3, render_p4(insn.p4),
                     insn.p5, insn.comment or None))
    return _rows_program(rows, EXPLAIN_COLUMNS)


def query_plan_program(program):
    """The EXPLAIN QUERY PLAN program of ``program``."""
    rows = [(pid, parent, 0, detail) for pid, parent, detail in program.plan]
    return _rows_program(rows, PLAN_COLUMNS)
