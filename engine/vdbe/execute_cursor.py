"""Cursor opcodes: open, move, seek, read columns, insert and delete.

A ``VdbeCursor`` wraps a B-tree cursor (storage.btree), an in-memory
ephemeral cursor or a sorter, and caches the current row's Record so each
column read decodes only that column. Every movement clears the cache.
Re-entrant: a B-tree call that returns IO makes the closure store the
completion and exit with ``vm.pc`` at its own address; the B-tree resumes its
own state when called again, and nothing is changed before that call.
Mirrors the matching cases of sqlite src/vdbe.c.
"""

from operator import ge, gt, le, lt

from limbodb.errors import OperationalError, SQLITE_FULL, SQLITE_INTERRUPT
from limbodb.io.completion import IO as IOM
from limbodb.storage.btree import BTreeCursor
from limbodb.storage.record import (
    KeyInfo, compare_record, decode_record, encode_record, real_storage_value, sort_key,
)
from limbodb.vdbe import value as V
from limbodb.vdbe.ephemeral import EphemeralCursor, ListRecord, SEEK_EQ, SEEK_GE, SEEK_GT, SEEK_LE, SEEK_LT
from limbodb.vdbe.insn import OPFLAG_LASTROWID, OPFLAG_NCHANGE
from limbodb.vdbe.program import EXIT_IO

_MAX_ROWID = 0x7FFFFFFFFFFFFFFF
# OpenRead/OpenWrite P5: the root page is in register P2 (sqliteInt.h OPFLAG_P2ISREG).
OPFLAG_P2ISREG = 0x02


class VdbeCursor:
    """The VM's view of one open cursor (sqlite's VdbeCursor)."""

    __slots__ = ("btc", "rec", "nullrow", "is_index", "key_info", "max_rowid", "seq")

    def __init__(self, btc, key_info=None, is_index=False):
        self.btc = btc
        self.rec = None
        self.nullrow = False
        self.key_info = key_info
        self.is_index = is_index or key_info is not None
        # Largest rowid known in the table, so NewRowid need not seek to the end each time.
        self.max_rowid = None
        self.seq = 0


def park_cursors(cursors, parked):
    """At VM reset: keep each B-tree cursor in ``parked`` under its number, unregistered
    (BTreeCursor.park: its position lasts only while no page changes), for the next
    execution's OpenRead/OpenWrite of the same tree to take back."""
    for i, c in enumerate(cursors):
        if c is not None:
            btc = c.btc
            if btc.__class__ is BTreeCursor and btc.park():
                c.rec = None
                c.nullrow = False
                c.max_rowid = None
                c.seq = 0
                parked[i] = c


def _unparked(parked, p1, pager, root, key_info):
    """The parked cursor ``p1`` registered again if it is on the same tree, else None."""
    c = parked[p1]
    if c is None:
        return None
    parked[p1] = None
    btc = c.btc
    if btc.root == root and btc.pager is pager and c.key_info is key_info and btc.unpark():
        return c
    return None


def _wait(vm, r, pc):
    vm.completion = r.completion
    vm.pc = pc
    return EXIT_IO


def _open(vm, insn, pc, write):
    p1, p2, p4, p5 = insn.p1, insn.p2, insn.p4, insn.p5
    cursors = vm.cursors
    parked = vm.parked
    regs = vm.regs
    conn = vm.conn
    nxt = pc + 1
    key_info = p4 if isinstance(p4, KeyInfo) else None

    if insn.p3:
        # Temp or attached database: its pager (conn.dbs is fixed while the program is valid).
        inner = conn.dbs[insn.p3]

        def run_db():
            root = regs[p2] if p5 & OPFLAG_P2ISREG else p2
            pager = inner.pager
            cursors[p1] = _unparked(parked, p1, pager, root, key_info) \
                or VdbeCursor(BTreeCursor(pager, root, key_info), key_info)
            return nxt
        return run_db

    def run():
        root = regs[p2] if p5 & OPFLAG_P2ISREG else p2
        pager = conn.pager
        c = parked[p1]
        if c is not None:
            # _unparked, inline: every execution of a cached statement opens here.
            parked[p1] = None
            btc = c.btc
            if btc.root == root and btc.pager is pager and c.key_info is key_info and btc.unpark():
                cursors[p1] = c
                return nxt
        cursors[p1] = VdbeCursor(BTreeCursor(pager, root, key_info), key_info)
        return nxt
    return run


def op_openread(vm, insn, pc):
    """Opcode: OpenRead P1 P2 P3 P4 P5

    Open cursor P1 on the B-tree rooted at page P2 (or register P2 when P5 has
    OPFLAG_P2ISREG) of database P3; P4 is the KeyInfo of an index, or the
    column count of a table.
    """
    return _open(vm, insn, pc, False)


def op_openwrite(vm, insn, pc):
    """Opcode: OpenWrite P1 P2 P3 P4 P5

    Like OpenRead, for writing (a write transaction is open).
    """
    return _open(vm, insn, pc, True)


def op_openephemeral(vm, insn, pc):
    """Opcode: OpenEphemeral P1 P2 * P4 *

    Open cursor P1 on a new empty temporary table of P2 columns, or an index
    when P4 is a KeyInfo. Reopening an open cursor empties it.
    """
    p1, p4 = insn.p1, insn.p4
    cursors = vm.cursors
    nxt = pc + 1
    key_info = p4 if isinstance(p4, KeyInfo) else None

    def run():
        cursors[p1] = VdbeCursor(EphemeralCursor(key_info), key_info)
        return nxt
    return run


def op_openpseudo(vm, insn, pc):
    """Opcode: OpenPseudo P1 P2 P3 * *

    Open cursor P1 on the single row that SorterData places in register P2
    (P3 columns).
    """
    p1 = insn.p1
    cursors = vm.cursors
    nxt = pc + 1

    def run():
        cursors[p1] = VdbeCursor(None)
        return nxt
    return run


def op_close(vm, insn, pc):
    """Opcode: Close P1 * * * *

    Close cursor P1.
    """
    p1 = insn.p1
    cursors = vm.cursors
    nxt = pc + 1

    def run():
        cursors[p1] = None
        return nxt
    return run


def op_nullrow(vm, insn, pc):
    """Opcode: NullRow P1 * * * *

    Cursor P1 points at a row of NULLs (the missing right side of a LEFT JOIN).
    """
    p1 = insn.p1
    cursors = vm.cursors
    nxt = pc + 1

    def run():
        vc = cursors[p1]
        vc.nullrow = True
        vc.rec = None
        return nxt
    return run


def _move(vm, insn, pc, method, jump_when_on):
    p1, p2 = insn.p1, insn.p2
    cursors = vm.cursors
    nxt = pc + 1
    conn = vm.conn

    def run():
        if conn.interrupted:
            raise OperationalError("interrupted", SQLITE_INTERRUPT)
        vc = cursors[p1]
        r = getattr(vc.btc, method)()
        if r.__class__ is IOM:
            return _wait(vm, r, pc)
        vc.rec = None
        vc.nullrow = False
        if r:
            return p2 if jump_when_on else nxt
        return nxt if jump_when_on else p2
    return run


def op_rewind(vm, insn, pc):
    """Opcode: Rewind P1 P2 * * *

    Move cursor P1 to its first entry; jump to P2 if there is none.
    """
    return _move(vm, insn, pc, "first", False)


def op_last(vm, insn, pc):
    """Opcode: Last P1 P2 * * *

    Move cursor P1 to its last entry; jump to P2 if there is none.
    """
    return _move(vm, insn, pc, "last", False)


def op_next(vm, insn, pc):
    """Opcode: Next P1 P2 * * *

    Advance cursor P1; jump to P2 if it is on an entry.
    """
    p1, p2 = insn.p1, insn.p2
    cursors = vm.cursors
    nxt = pc + 1

    conn = vm.conn

    def run():
        vc = cursors[p1]
        if vc.nullrow:
            # The NULL row of a LEFT JOIN's unmatched pass: nothing follows it.
            return nxt
        if conn.interrupted:
            raise OperationalError("interrupted", SQLITE_INTERRUPT)
        r = vc.btc.next()
        if r.__class__ is IOM:
            return _wait(vm, r, pc)
        vc.rec = None
        return p2 if r else nxt
    return run


def op_prev(vm, insn, pc):
    """Opcode: Prev P1 P2 * * *

    Move cursor P1 back one entry; jump to P2 if it is on an entry.
    """
    return _move(vm, insn, pc, "prev", True)


def _int_key(v):
    """A rowid key for a value, or None when it is not an integer after NUMERIC affinity."""
    if v.__class__ is int:
        return v
    v = V.apply_affinity(v, V.AFF_NUMERIC)
    if v.__class__ is float and v == v and abs(v) < 9.2e18 and v == int(v):
        return int(v)
    return v if v.__class__ is int else None


def op_seekrowid(vm, insn, pc):
    """Opcode: SeekRowid P1 P2 P3 * *

    Move table cursor P1 to the row whose rowid is register P3; jump to P2 if
    there is no such row or P3 is not an integer.
    """
    p1, p2, p3 = insn.p1, insn.p2, insn.p3
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 1

    def run():
        key = regs[p3]
        if key.__class__ is not int:
            key = None if key is None else _int_key(key)
            if key is None:
                return p2
        vc = cursors[p1]
        r = vc.btc.seek(key, SEEK_EQ)
        if r.__class__ is IOM:
            return _wait(vm, r, pc)
        vc.rec = None
        vc.nullrow = False
        return nxt if r else p2
    return run


def op_notexists(vm, insn, pc):
    """Opcode: NotExists P1 P2 P3 * *

    Like SeekRowid, for a register P3 known to hold an integer.
    """
    return op_seekrowid(vm, insn, pc)


def _table_seek_key(v, op):
    """(rowid key, op) for a seek on a rowid table, rounding a REAL key; None if no row can match."""
    if v.__class__ is int:
        return v, op
    if v is None:
        return None
    n = V.apply_affinity(v, V.AFF_NUMERIC)
    if n.__class__ is int:
        return n, op
    if n.__class__ is float:
        i = int(n) if abs(n) < 9.2e18 else (_MAX_ROWID if n > 0 else -_MAX_ROWID - 1)
        if i == n:
            return i, op
        # A fractional key: round towards the rows that satisfy the comparison.
        if op in (SEEK_GE, SEEK_GT):
            return (i if n < i else i + 1) if n > 0 or i == n else i, SEEK_GE
        return (i if n > i else i - 1) if n < 0 or i == n else i, SEEK_LE
    # Text or blob sorts after every rowid.
    return (_MAX_ROWID, SEEK_LE) if op in (SEEK_LE, SEEK_LT) else None


def _seek(vm, insn, pc, op):
    p1, p2, p3, n = insn.p1, insn.p2, insn.p3, insn.p4
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 1

    def run():
        vc = cursors[p1]
        if vc.is_index:
            key = regs[p3:p3 + n]
            sop = op
        else:
            k = _table_seek_key(regs[p3], op)
            if k is None:
                return p2
            key, sop = k
        r = vc.btc.seek(key, sop)
        if r.__class__ is IOM:
            return _wait(vm, r, pc)
        vc.rec = None
        vc.nullrow = False
        return nxt if r else p2
    return run


def op_seekge(vm, insn, pc):
    """Opcode: SeekGE P1 P2 P3 P4 *

    Move cursor P1 to the first entry >= the key of P4 registers from P3 (a
    rowid for a table); jump to P2 if there is none.
    """
    return _seek(vm, insn, pc, SEEK_GE)


def op_seekgt(vm, insn, pc):
    """Opcode: SeekGT P1 P2 P3 P4 *

    Move cursor P1 to the first entry > the key; jump to P2 if there is none.
    """
    return _seek(vm, insn, pc, SEEK_GT)


def op_seekle(vm, insn, pc):
    """Opcode: SeekLE P1 P2 P3 P4 *

    Move cursor P1 to the last entry <= the key; jump to P2 if there is none.
    """
    return _seek(vm, insn, pc, SEEK_LE)


def op_seeklt(vm, insn, pc):
    """Opcode: SeekLT P1 P2 P3 P4 *

    Move cursor P1 to the last entry < the key; jump to P2 if there is none.
    """
    return _seek(vm, insn, pc, SEEK_LT)


def _idx_compare(vm, insn, pc, test):
    p1, p2, p3, n = insn.p1, insn.p2, insn.p3, insn.p4
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 1

    def run():
        vc = cursors[p1]
        key = regs[p3:p3 + n]
        btc = vc.btc
        if btc.__class__ is BTreeCursor and btc._sk:
            # The entry's sort key tuple (cached on its page) against the key's: no decoding.
            k = btc.entry_sort_key()
            if k is not None:
                kk = sort_key(key)
                if kk is not None and len(k) >= len(kk):
                    k = k[:len(kk)]
                    return p2 if test((k > kk) - (k < kk), 0) else nxt
        rec = vc.rec
        if rec is None:
            rec = btc.record()
            if rec.__class__ is IOM:
                return _wait(vm, rec, pc)
            vc.rec = rec
        return p2 if test(_compare_entry(vc, rec, key), 0) else nxt
    return run


def _compare_entry(vc, rec, key):
    """Compare the cursor's current index entry with an unpacked (prefix) key."""
    if rec.__class__ is ListRecord:
        return vc.btc.cmp(rec.vals, key)
    return compare_record(rec, key, vc.key_info)


def op_idxge(vm, insn, pc):
    """Opcode: IdxGE P1 P2 P3 P4 *

    Jump to P2 if the index entry of cursor P1 (without its rowid) >= the key
    of P4 registers from P3.
    """
    return _idx_compare(vm, insn, pc, ge)


def op_idxgt(vm, insn, pc):
    """Opcode: IdxGT P1 P2 P3 P4 *

    Jump to P2 if the index entry > the key.
    """
    return _idx_compare(vm, insn, pc, gt)


def op_idxle(vm, insn, pc):
    """Opcode: IdxLE P1 P2 P3 P4 *

    Jump to P2 if the index entry <= the key.
    """
    return _idx_compare(vm, insn, pc, le)


def op_idxlt(vm, insn, pc):
    """Opcode: IdxLT P1 P2 P3 P4 *

    Jump to P2 if the index entry < the key.
    """
    return _idx_compare(vm, insn, pc, lt)


def _found(vm, insn, pc, jump_if_found, null_means_no_conflict):
    p1, p2, p3, n = insn.p1, insn.p2, insn.p3, insn.p4
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 1
    not_found = nxt if jump_if_found else p2
    found = p2 if jump_if_found else nxt

    def run():
        key = regs[p3:p3 + n] if n else None
        if key is None:
            key = regs[p3]
            if key.__class__ is not list:
                key = decode_record(key)
        if null_means_no_conflict and None in key:
            return p2
        vc = cursors[p1]
        r = vc.btc.seek(key, SEEK_GE)
        if r.__class__ is IOM:
            return _wait(vm, r, pc)
        vc.rec = None
        vc.nullrow = False
        if not r:
            return not_found
        rec = vc.btc.record()
        if rec.__class__ is IOM:
            return _wait(vm, rec, pc)
        vc.rec = rec
        c = _compare_entry(vc, rec, key)
        return found if c == 0 else not_found
    return run


def op_found(vm, insn, pc):
    """Opcode: Found P1 P2 P3 P4 *

    Jump to P2 if index cursor P1 has an entry whose prefix equals the key of
    P4 registers from P3 (P4=0: register P3 holds a record).
    """
    return _found(vm, insn, pc, True, False)


def op_notfound(vm, insn, pc):
    """Opcode: NotFound P1 P2 P3 P4 *

    Jump to P2 if index cursor P1 has no entry with the key (see Found).
    """
    return _found(vm, insn, pc, False, False)


def op_noconflict(vm, insn, pc):
    """Opcode: NoConflict P1 P2 P3 P4 *

    Like NotFound, but also jumps when any key value is NULL (NULLs never
    conflict in a UNIQUE index).
    """
    return _found(vm, insn, pc, False, True)


def op_idxrowid(vm, insn, pc):
    """Opcode: IdxRowid P1 P2 * * *

    Register P2 = the rowid (last column) of index cursor P1's entry.
    """
    return op_rowid(vm, insn, pc)


def op_column(vm, insn, pc):
    """Opcode: Column P1 P2 P3 P4 *

    Register P3 = column P2 of cursor P1's current row; P4 is the value for a
    row written before the column was added (NULL if None).
    """
    p1, p2, p3, dflt = insn.p1, insn.p2, insn.p3, insn.p4
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 1

    def run():
        vc = cursors[p1]
        rec = vc.rec
        if rec is None:
            if vc.nullrow:
                regs[p3] = None
                return nxt
            rec = vc.btc.record()
            if rec.__class__ is IOM:
                return _wait(vm, rec, pc)
            vc.rec = rec
        if dflt is not None and p2 >= rec.ncols:
            regs[p3] = dflt
        else:
            regs[p3] = rec.column(p2)
        return nxt
    return run


def column_run(vm, insns, pc):
    """Consecutive Column instructions on one cursor, fused (program.py): the row's
    record is fetched once, then each column goes to its register."""
    p1 = insns[0].p1
    cols = tuple((i.p2, i.p3, i.p4) for i in insns)
    plain = tuple((c, r) for c, r, d in cols) if all(d is None for c, r, d in cols) else None
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + len(insns)

    def run():
        vc = cursors[p1]
        rec = vc.rec
        if rec is None:
            if vc.nullrow:
                for _c, r, _d in cols:
                    regs[r] = None
                return nxt
            rec = vc.btc.record()
            if rec.__class__ is IOM:
                return _wait(vm, rec, pc)
            vc.rec = rec
        column = rec.column
        if plain is not None:
            for c, r in plain:
                regs[r] = column(c)
            return nxt
        for c, r, d in cols:
            regs[r] = d if d is not None and c >= rec.ncols else column(c)
        return nxt
    return run


def op_rowid(vm, insn, pc):
    """Opcode: Rowid P1 P2 * * *

    Register P2 = the rowid of cursor P1's current row (NULL on a null row).
    """
    p1, p2 = insn.p1, insn.p2
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 1

    def run():
        vc = cursors[p1]
        if vc.nullrow:
            regs[p2] = None
        elif vc.is_index:
            btc = vc.btc
            if btc.__class__ is BTreeCursor:
                # The entry's sort key (cached on its page, as IdxGT/IdxGE leave it) ends
                # with the rowid as (1, rowid).
                k = btc.entry_sort_key()
                if k is not None and k[-2] == 1 and k[-1].__class__ is int:
                    regs[p2] = k[-1]
                    return nxt
            # An index entry's rowid is its record's last column, which may lie on
            # overflow pages: read the record re-entrantly.
            rec = btc.record()
            if rec.__class__ is IOM:
                return _wait(vm, rec, pc)
            regs[p2] = rec.column(rec.ncols - 1)
        else:
            regs[p2] = vc.btc.rowid()
        return nxt
    return run


def op_newrowid(vm, insn, pc):
    """Opcode: NewRowid P1 P2 P3 * *

    Register P2 = a rowid not used in table cursor P1: one more than the
    largest. With P3 (AUTOINCREMENT), also above register P3, which is updated.
    """
    p1, p2, p3 = insn.p1, insn.p2, insn.p3
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 1

    def run():
        vc = cursors[p1]
        top = vc.max_rowid
        if top is None:
            btc = vc.btc
            r = btc.last()
            if r.__class__ is IOM:
                return _wait(vm, r, pc)
            vc.rec = None
            top = btc.rowid() if r else 0
            vc.max_rowid = top
        if p3:
            prev = regs[p3] or 0
            if prev > top:
                top = prev
        if top >= _MAX_ROWID:
            raise OperationalError("database or disk is full", SQLITE_FULL)
        new = top + 1
        tx = vm.conn.mvcc_tx
        if tx is not None:
            new = tx.new_rowid(vc.btc, new)
        if p3:
            regs[p3] = new
        regs[p2] = new
        return nxt
    return run


def op_insert(vm, insn, pc):
    """Opcode: Insert P1 P2 P3 P4 P5

    Write the record in register P2 with rowid register P3 into table cursor
    P1 (replacing a row with that rowid). P5: OPFLAG_NCHANGE counts the
    change, OPFLAG_LASTROWID sets last_insert_rowid. P4: the table name.
    """
    p1, p2, p3, p5 = insn.p1, insn.p2, insn.p3, insn.p5
    cursors = vm.cursors
    regs = vm.regs
    conn = vm.conn
    nxt = pc + 1
    count = p5 & OPFLAG_NCHANGE
    lastrowid = p5 & OPFLAG_LASTROWID

    def run():
        vc = cursors[p1]
        key = regs[p3]
        if conn.mvcc_tx is not None:
            conn.mvcc_tx.table_write(vc.btc, key)
        r = vc.btc.insert(key, regs[p2])
        if r.__class__ is IOM:
            return _wait(vm, r, pc)
        vc.rec = None
        m = vc.max_rowid
        if m is not None and key > m:
            vc.max_rowid = key
        if count:
            vm.changes += 1
        if lastrowid:
            conn.last_insert_rowid = key
        return nxt
    return run


def insert_run(vm, insns, pc):
    """MakeRecord then Insert of that record into a table, fused (program.py).

    Saves a dispatch and a register round trip per row written. If the insert
    waits, Insert's own closure (pc + 1) resumes it with the record in its register.
    """
    from limbodb.vdbe.execute_data import affinity_pairs
    mk, ins = insns
    first, end, rec = mk.p1, mk.p1 + mk.p2, mk.p3
    p1, p3, p5 = ins.p1, ins.p3, ins.p5
    pairs = affinity_pairs(mk)
    apply = V.apply_affinity
    aff_real = V.AFF_REAL
    cursors = vm.cursors
    regs = vm.regs
    conn = vm.conn
    nxt = pc + 2
    count = p5 & OPFLAG_NCHANGE
    lastrowid = p5 & OPFLAG_LASTROWID

    def run():
        if pairs is not None:
            for r, a in pairs:
                v = apply(regs[r], a)
                regs[r] = real_storage_value(v) if a == aff_real else v
        payload = regs[rec] = encode_record(regs[first:end])
        vc = cursors[p1]
        key = regs[p3]
        if conn.mvcc_tx is not None:
            conn.mvcc_tx.table_write(vc.btc, key)
        r = vc.btc.insert(key, payload)
        if r.__class__ is IOM:
            return _wait(vm, r, pc + 1)
        vc.rec = None
        m = vc.max_rowid
        if m is not None and key > m:
            vc.max_rowid = key
        if count:
            vm.changes += 1
        if lastrowid:
            conn.last_insert_rowid = key
        return nxt
    return run


def op_idxinsert(vm, insn, pc):
    """Opcode: IdxInsert P1 P2 * * P5

    Insert the index record in register P2 into index cursor P1. P5
    OPFLAG_NCHANGE counts a change (a WITHOUT ROWID table's row).
    """
    p1, p2 = insn.p1, insn.p2
    cursors = vm.cursors
    regs = vm.regs
    conn = vm.conn
    nxt = pc + 1
    count = insn.p5 & OPFLAG_NCHANGE

    def run():
        vc = cursors[p1]
        if conn.mvcc_tx is not None:
            conn.mvcc_tx.index_insert(vc.btc, regs[p2])
        r = vc.btc.insert(regs[p2], None)
        if r.__class__ is IOM:
            return _wait(vm, r, pc)
        vc.rec = None
        if count:
            vm.changes += 1
        return nxt
    return run


def idx_insert_run(vm, insns, pc):
    """MakeRecord then IdxInsert of that record, fused (program.py).

    The B-tree gets the record's values with its bytes, so it need not decode them.
    If the insert waits, IdxInsert's own closure (pc + 1) resumes it.
    """
    from limbodb.vdbe.execute_data import affinity_pairs
    mk, ins = insns
    first, end, rec, p1 = mk.p1, mk.p1 + mk.p2, mk.p3, ins.p1
    pairs = affinity_pairs(mk)
    apply = V.apply_affinity
    aff_real = V.AFF_REAL
    cursors = vm.cursors
    regs = vm.regs
    conn = vm.conn
    nxt = pc + 2
    count = ins.p5 & OPFLAG_NCHANGE

    def run():
        if pairs is not None:
            for r, a in pairs:
                v = apply(regs[r], a)
                regs[r] = real_storage_value(v) if a == aff_real else v
        values = regs[first:end]
        key = regs[rec] = encode_record(values)
        vc = cursors[p1]
        btc = vc.btc
        if conn.mvcc_tx is not None:
            conn.mvcc_tx.index_insert(btc, key)
        if btc.__class__ is BTreeCursor:
            r = btc.insert(key, None, values=values)
        else:
            r = btc.insert(key, None)
        if r.__class__ is IOM:
            return _wait(vm, r, pc + 1)
        vc.rec = None
        if count:
            vm.changes += 1
        return nxt
    return run


def op_delete(vm, insn, pc):
    """Opcode: Delete P1 * * P4 P5

    Delete cursor P1's current entry; P5 OPFLAG_NCHANGE counts the change.
    Afterwards Next moves to the entry that followed it.
    """
    p1, p5 = insn.p1, insn.p5
    cursors = vm.cursors
    conn = vm.conn
    nxt = pc + 1
    count = p5 & OPFLAG_NCHANGE

    def run():
        vc = cursors[p1]
        if conn.mvcc_tx is not None:
            r = conn.mvcc_tx.delete(vc.btc)
            if r.__class__ is IOM:
                return _wait(vm, r, pc)
        r = vc.btc.delete()
        if r.__class__ is IOM:
            return _wait(vm, r, pc)
        vc.rec = None
        if count:
            vm.changes += 1
        return nxt
    return run


def op_idxdelete(vm, insn, pc):
    """Opcode: IdxDelete P1 P2 P3 * *

    Delete the entry of index cursor P1 equal to the key of P3 registers from
    P2 (the index columns and the rowid), if there is one.
    """
    p1, p2, p3 = insn.p1, insn.p2, insn.p3
    cursors = vm.cursors
    regs = vm.regs
    state = vm.state
    conn = vm.conn
    nxt = pc + 1

    def run():
        vc = cursors[p1]
        if pc not in state:
            r = vc.btc.seek(regs[p2:p2 + p3], SEEK_EQ)
            if r.__class__ is IOM:
                return _wait(vm, r, pc)
            if not r:
                return nxt
            if conn.mvcc_tx is not None:
                conn.mvcc_tx.index_write(vc.btc, regs[p2:p2 + p3])
            # Positioned: a resumed call must delete, not seek again.
            state[pc] = True
        r = vc.btc.delete()
        if r.__class__ is IOM:
            return _wait(vm, r, pc)
        del state[pc]
        vc.rec = None
        return nxt
    return run


def op_count(vm, insn, pc):
    """Opcode: Count P1 P2 * * *

    Register P2 = the number of entries in cursor P1's B-tree.
    """
    p1, p2 = insn.p1, insn.p2
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 1

    def run():
        r = cursors[p1].btc.count()
        if r.__class__ is IOM:
            return _wait(vm, r, pc)
        regs[p2] = r
        return nxt
    return run


def op_sequence(vm, insn, pc):
    """Opcode: Sequence P1 P2 * * *

    Register P2 = the next value of cursor P1's sequence counter (0, 1, ...).
    """
    p1, p2 = insn.p1, insn.p2
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 1

    def run():
        vc = cursors[p1]
        regs[p2] = vc.seq
        vc.seq += 1
        return nxt
    return run

