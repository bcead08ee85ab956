"""ProgramBuilder: emits instructions, allocates registers and cursors, resolves labels.

A label is a negative int handed out by ``new_label`` and bound to an address
by ``resolve``; jump operands may hold labels until ``finish`` patches them
(P2 of every instruction, plus P1/P3 of Jump and P3 of InitCoroutine, the
only other operands that hold addresses). Register 0 is never used, as in
SQLite. Every program has SQLite's shape: Init jumps to the transaction
prologue at the end, which jumps back to the body.
Mirrors sqlite src/vdbeaux.c (sqlite3VdbeAddOp*, labels) and Turso
core/translate/emitter.rs.
"""

from limbodb.vdbe.insn import OP_FkCheck, OP_Goto, OP_Halt, OP_Init, OP_InitCoroutine, OP_Jump, OP_Transaction, Insn
from limbodb.vdbe.insn import (
    OP_Clear, OP_CreateBtree, OP_Destroy, OP_IntegrityCk, OP_OpenRead, OP_OpenWrite, OP_Pagecount, OP_ParseSchema,
    OP_ReadCookie, OP_SetCookie,
)
from limbodb.vdbe.program import Program

# Opcodes naming a database (temp/attached when nonzero) in P3, or in P1.
_DB_IN_P3 = frozenset((OP_OpenRead, OP_OpenWrite, OP_Destroy))
_DB_IN_P1 = frozenset((OP_CreateBtree, OP_SetCookie, OP_ReadCookie, OP_ParseSchema, OP_Pagecount, OP_IntegrityCk))
_DB_READ_P1 = frozenset((OP_ReadCookie, OP_Pagecount, OP_IntegrityCk))


class ProgramBuilder:
    """Accumulates one Program."""

    __slots__ = ("insns", "nregs", "ncursors", "labels", "conn", "schema", "write", "read",
                 "counts_changes", "column_names", "column_decltypes", "param_count", "param_names",
                 "plan", "plan_parent", "nsubqueries", "prologue", "constants", "_init_label",
                 "fk_check", "cdc", "flatten_facts")

    def __init__(self, conn):
        self.conn = conn
        self.schema = conn.schema
        self.insns = []
        self.nregs = 1
        self.ncursors = 0
        self.labels = []
        self.write = False
        self.read = False
        self.counts_changes = False
        self.column_names = []
        self.column_decltypes = []
        self.param_count = 0
        self.param_names = {}
        # EXPLAIN QUERY PLAN rows: (id, parent, detail).
        self.plan = []
        # The EXPLAIN QUERY PLAN line new lines nest under (a subquery's), and subqueries so far.
        self.plan_parent = 0
        self.nsubqueries = 0
        # Constants and parameters loaded once per run, after OP_Transaction (SQLite's
        # constant factoring), so loops read their registers instead of reloading them.
        self.prologue = []
        self.constants = {}
        self._init_label = self.new_label()
        # Rows with foreign keys were written: end with OP_FkCheck (translate/fkey.py).
        self.fk_check = False
        # Change data capture of this program (translate/cdc.py CdcWriter), or None.
        self.cdc = None
        # What translate/flatten.py learned about this statement's CTEs and cores, by id (the
        # node is kept with its fact so that the id stays its own).
        self.flatten_facts = {}
        self.emit(OP_Init, 0, self._init_label)

    # ---------------------------------------------------------------- emitting

    def emit(self, op, p1=0, p2=0, p3=0, p4=None, p5=0, comment=""):
        """Append an instruction; returns its address."""
        self.insns.append(Insn(op, p1, p2, p3, p4, p5, comment))
        return len(self.insns) - 1

    @property
    def addr(self):
        """The address the next instruction will have."""
        return len(self.insns)

    def new_label(self):
        self.labels.append(None)
        return -len(self.labels)

    def resolve(self, label):
        """Bind ``label`` to the next instruction's address."""
        self.labels[-label - 1] = len(self.insns)

    def alloc_reg(self, n=1):
        first = self.nregs
        self.nregs += n
        return first

    def alloc_cursor(self):
        c = self.ncursors
        self.ncursors += 1
        return c

    def add_plan(self, detail, parent=None):
        """Record an EXPLAIN QUERY PLAN line (under ``plan_parent`` by default); returns its id."""
        if parent is None:
            parent = self.plan_parent
        pid = len(self.plan) + 2
        self.plan.append((pid, parent, detail))
        return pid

    def constant(self, op, p1=0, p4=None, comment=""):
        """A register loaded once per run by ``op`` (Integer/Int64/Real/String8/Blob/Null/Variable)."""
        key = (op, p1, p4.__class__, p4)
        reg = self.constants.get(key)
        if reg is None:
            reg = self.constants[key] = self.alloc_reg()
            self.prologue.append(Insn(op, p1, reg, 0, p4, 0, comment))
        return reg

    def next_subquery(self):
        """The number SQLite's EXPLAIN QUERY PLAN gives the next subquery (1, 2, ...)."""
        self.nsubqueries += 1
        return self.nsubqueries

    # ---------------------------------------------------------------- finishing

    def _aux_transactions(self):
        """OP_Transaction for each temp or attached database the program touches (SQLite's
        sqlite3CodeVerifySchema/BeginWriteOperation), found from the database operands."""
        used = {}
        for insn in self.insns:
            op = insn.opcode
            if op in _DB_IN_P3:
                db, write = insn.p3, op != OP_OpenRead
            elif op in _DB_IN_P1:
                db, write = insn.p1, op not in _DB_READ_P1
            elif op == OP_Clear:
                db, write = insn.p2, True
            else:
                continue
            if db:
                used[db] = used.get(db, False) or write
        for db in sorted(used):
            self.emit(OP_Transaction, db, 1 if used[db] else 0, self.conn.dbs[db].schema.cookie)

    def finish(self, readonly=None):
        """Close with Halt and the transaction prologue; patch labels; return the Program."""
        if self.cdc is not None:
            self.cdc.finish(self)
        if self.fk_check:
            self.emit(OP_FkCheck)
        self.emit(OP_Halt)
        self.resolve(self._init_label)
        if self.read or self.write:
            self.emit(OP_Transaction, 0, 1 if self.write else 0, self.schema.cookie)
        if len(self.conn.dbs) > 2 or self.conn.dbs[1] is not None:
            self._aux_transactions()
        self.insns.extend(self.prologue)
        self.emit(OP_Goto, 0, 1)
        labels = self.labels
        for insn in self.insns:
            if insn.p2 < 0:
                insn.p2 = labels[-insn.p2 - 1]
            op = insn.opcode
            if op == OP_Jump:
                if insn.p1 < 0:
                    insn.p1 = labels[-insn.p1 - 1]
                if insn.p3 < 0:
                    insn.p3 = labels[-insn.p3 - 1]
            elif op == OP_InitCoroutine and insn.p3 < 0:
                insn.p3 = labels[-insn.p3 - 1]
        prog = Program(self.insns, self.nregs, self.ncursors, self.column_names, self.column_decltypes,
                       (not self.write) if readonly is None else readonly, self.param_count,
                       self.param_names, self.schema.cookie)
        prog.counts_changes = self.counts_changes
        prog.plan = self.plan
        return prog
