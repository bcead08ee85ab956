"""Opcodes, their EXPLAIN names and the instruction record.

Each opcode is an int constant named exactly as in SQLite's vdbe.c
(``OP_Rewind``), so programs and EXPLAIN output can be grepped against SQLite.
``OPCODE_NAMES[op]`` is the EXPLAIN spelling. An ``Insn`` holds the five
operands (P1–P3 ints, P4 any value, P5 a small int of flags) and a comment;
``vdbe.execute_*`` modules provide one ``op_<name>`` handler factory per
opcode. Mirrors sqlite src/vdbe.h and Turso core/vdbe/insn.rs.
"""

# (The names are a documented PEP 8 exception: they match SQLite's spelling.)
OP_Init = 0
OP_Goto = 1
OP_Halt = 2
OP_HaltIfNull = 3
OP_Gosub = 4
OP_Return = 5
OP_Yield = 6
OP_InitCoroutine = 7
OP_EndCoroutine = 8
OP_Once = 9
OP_If = 10
OP_IfNot = 11
OP_IsNull = 12
OP_NotNull = 13
OP_IsTrue = 14
OP_DecrJumpZero = 15
OP_IfPos = 16
OP_IfNotZero = 17
OP_OffsetLimit = 18
OP_Jump = 19
OP_Noop = 20
OP_MustBeInt = 21
OP_Transaction = 22
OP_AutoCommit = 23
OP_ReadCookie = 24
OP_SetCookie = 25
OP_CreateBtree = 26
OP_Destroy = 27
OP_Clear = 28
OP_ParseSchema = 29
OP_OpenRead = 30
OP_OpenWrite = 31
OP_OpenEphemeral = 32
OP_OpenPseudo = 33
OP_Close = 34
OP_NullRow = 35
OP_Rewind = 36
OP_Next = 37
OP_Prev = 38
OP_Last = 39
OP_SeekRowid = 40
OP_NotExists = 41
OP_SeekGE = 42
OP_SeekGT = 43
OP_SeekLE = 44
OP_SeekLT = 45
OP_IdxGE = 46
OP_IdxGT = 47
OP_IdxLE = 48
OP_IdxLT = 49
OP_Found = 50
OP_NotFound = 51
OP_NoConflict = 52
OP_IdxRowid = 53
OP_Column = 54
OP_Rowid = 55
OP_NewRowid = 56
OP_Insert = 57
OP_IdxInsert = 58
OP_Delete = 59
OP_IdxDelete = 60
OP_Count = 61
OP_Sequence = 62
OP_Integer = 63
OP_Int64 = 64
OP_Real = 65
OP_String8 = 66
OP_Null = 67
OP_Blob = 68
OP_Variable = 69
OP_Copy = 70
OP_SCopy = 71
OP_Move = 72
OP_ResultRow = 73
OP_MakeRecord = 74
OP_Affinity = 75
OP_Cast = 76
OP_RealAffinity = 77
OP_AddImm = 78
OP_Add = 79
OP_Subtract = 80
OP_Multiply = 81
OP_Divide = 82
OP_Remainder = 83
OP_Concat = 84
OP_BitAnd = 85
OP_BitOr = 86
OP_ShiftLeft = 87
OP_ShiftRight = 88
OP_BitNot = 89
OP_Not = 90
OP_And = 91
OP_Or = 92
OP_Eq = 93
OP_Ne = 94
OP_Lt = 95
OP_Le = 96
OP_Gt = 97
OP_Ge = 98
OP_Compare = 99
OP_Function = 100
OP_MemMax = 101
OP_AggStep = 102
OP_AggFinal = 103
OP_SorterOpen = 104
OP_SorterInsert = 105
OP_SorterSort = 106
OP_SorterData = 107
OP_SorterNext = 108
OP_RowSetAdd = 109
OP_RowSetRead = 110
OP_Pagecount = 111
OP_IntegrityCk = 112
OP_Checkpoint = 113
OP_Window = 114
OP_Vacuum = 115
OP_Analyze = 116
OP_Reindex = 117
OP_VFilter = 118
OP_Savepoint = 119
OP_FkCheck = 120
OP_FkRow = 121
OP_Program = 122
OP_TriggerHalt = 123

OPCODE_NAMES = [name[3:] for name, value in sorted(
    ((k, v) for k, v in globals().items() if k.startswith("OP_")), key=lambda kv: kv[1])]
OPCODES = {name: i for i, name in enumerate(OPCODE_NAMES)}

# P5 flags of comparisons (sqliteInt.h SQLITE_JUMPIFNULL, SQLITE_STOREP2, SQLITE_NULLEQ).
SQLITE_AFF_MASK = 0x47
SQLITE_JUMPIFNULL = 0x10
SQLITE_NULLEQ = 0x80

# P5 flags of Insert/Delete (sqliteInt.h OPFLAG_*).
OPFLAG_NCHANGE = 0x01
OPFLAG_LASTROWID = 0x20
OPFLAG_ISUPDATE = 0x04
OPFLAG_APPEND = 0x08

# MakeRecord P5 (limbodb's own): leave the values as a list instead of encoding them, for a
# record bound for an ephemeral table, ephemeral index or sorter (which never reach a file).
MAKERECORD_UNPACKED = 0x01

# OP_Halt error actions in P2 (sqliteInt.h OE_*).
OE_NONE = 0
OE_ROLLBACK = 1
OE_ABORT = 2
OE_FAIL = 3
OE_IGNORE = 4
OE_REPLACE = 5


class Insn:
    """One instruction: opcode, operands P1..P5 and an EXPLAIN comment."""

    __slots__ = ("opcode", "p1", "p2", "p3", "p4", "p5", "comment")

    def __init__(self, opcode, p1=0, p2=0, p3=0, p4=None, p5=0, comment=""):
        self.opcode = opcode
        self.p1 = p1
        self.p2 = p2
        self.p3 = p3
        self.p4 = p4
        self.p5 = p5
        self.comment = comment

    @property
    def name(self):
        return OPCODE_NAMES[self.opcode]

    def __repr__(self):
        return f"<{self.name} {self.p1} {self.p2} {self.p3} {self.p4!r} {self.p5}>"
