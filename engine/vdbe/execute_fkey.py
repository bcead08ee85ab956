"""Foreign keys at run time: OP_FkRow (per written row) and OP_FkCheck (statement end).

Counting follows SQLite: a violation created adds one to a counter, one resolved
subtracts one (only while that counter is nonzero). Immediate constraints count per
statement, in the top-level VM's ``state["fk"]`` (actions run as nested statements
add to it too); deferred ones (DEFERRABLE INITIALLY DEFERRED, or PRAGMA
defer_foreign_keys) count in ``conn.fk_deferred`` until COMMIT. Removing a parent
key adds the matching child rows; CASCADE, SET NULL and SET DEFAULT then change those
rows through nested DELETE/UPDATE programs, whose own checks subtract them again;
RESTRICT fails at once. Lookups run as generators over B-tree cursors (re-entrant:
the VM resumes the generator after each wait). Child rows match a parent key as SQLite
compares them, which differs between counting (the parent column's affinity and collation
against the child column, fkScanChildren) and the actions (``old.<parent column>``, which
has no affinity, against it); a child insert looks its parent up with the parent column's
affinity applied (fkLookupParent). A row is known by its rowid, or in a
WITHOUT ROWID table by its PRIMARY KEY values (the leading fields of its record and
the trailing ones of its secondary index entries). An action's statement runs as a
frame of the statement, like a trigger body (vdbe/execute_trigger.py): OP_FkRow
pushes its VM on the frame stack, so cascades as deep as SQLite allows (1000
frames; every parent row with an action counts one, as SQLite's action
triggers do) cost no Python stack. The tables of one foreign key share a
database (``table.db``), read through that database's pager. Mirrors sqlite src/fkey.c and the
FkCounter/FkIfZero/FkCheck opcodes of src/vdbe.c.
"""

from limbodb.errors import IntegrityError, OperationalError, SQLITE_CONSTRAINT_FOREIGNKEY, SQLITE_CONSTRAINT_TRIGGER
from limbodb.io.completion import IO as IOM
from limbodb.storage.btree import SEEK_EQ, SEEK_GE, BTreeCursor
from limbodb.storage.record import compare_values
from limbodb.vdbe.execute_trigger import MAX_TRIGGER_DEPTH
from limbodb.vdbe.insn import OP_Halt, OP_Noop, OP_Transaction, OP_TriggerHalt
from limbodb.vdbe.program import EXIT_FRAME, EXIT_IO, EXIT_ROW
from limbodb.vdbe.value import AFF_INTEGER, AFF_TEXT, apply_affinity, apply_compare_affinity

_MSG = "FOREIGN KEY constraint failed"

# OP_FkRow P1: what happened to the row (or the whole-table work of DROP and the pragma).
FK_INSERT = 1
FK_DELETE = 2
FK_UPDATE = 3
FK_DROP = 4
FK_CHECK = 5

# ON DELETE / ON UPDATE actions (sqliteInt.h OE_* spelled out).
ACT_NONE = 0
ACT_RESTRICT = 1
ACT_SET_NULL = 2
ACT_SET_DEFAULT = 3
ACT_CASCADE = 4


def fk_error(code=SQLITE_CONSTRAINT_FOREIGNKEY):
    return IntegrityError(_MSG, code)


def _call(fn, *args):
    """Generator: call re-entrant ``fn`` until it returns, yielding each IO to wait for."""
    while True:
        r = fn(*args)
        if r.__class__ is not IOM:
            return r
        yield r


def _top(vm):
    """The statement's top-level VM (actions run nested VMs that count into it)."""
    return vm.state.get("fk_top", vm)


def _bump(vm, deferred, n):
    conn = vm.conn
    if deferred or conn.defer_foreign_keys:
        conn.fk_deferred += n
    else:
        st = _top(vm).state
        st["fk"] = st.get("fk", 0) + n


def _counter(vm, deferred):
    conn = vm.conn
    if deferred or conn.defer_foreign_keys:
        return conn.fk_deferred
    return _top(vm).state.get("fk", 0)


def _pager(conn, db):
    """The pager of database ``db`` (main, temp or attached) as seen from ``conn``."""
    return conn.pager if db == conn.db_index else conn.dbs[db].pager


def _same(a, b, colls=None):
    """True if key values ``a`` and ``b`` are the same (IS), in collations ``colls`` (else BINARY)."""
    colls = colls or (None,) * len(a)
    return all(x is None and y is None or x is not None and y is not None and compare_values(x, y, c) == 0
               for x, y, c in zip(a, b, colls))


def _parent_exists(pager, key, vals):
    """Generator: True if the parent row with key ``vals`` (no NULLs) exists."""
    if key.index is None:
        v = apply_affinity(vals[0], AFF_INTEGER)
        if v.__class__ is float and abs(v) < 2 ** 63 and v == int(v):
            v = int(v)
        if v.__class__ is not int:
            return False
        cur = BTreeCursor(pager, key.table.root)
        return (yield from _call(cur.seek, v, SEEK_EQ))
    affs = key.affinities
    probe = [apply_affinity(vals[j], affs[j]) for j in key.order]
    cur = BTreeCursor(pager, key.index.root, key.index.key_info())
    return (yield from _call(cur.seek, probe, SEEK_EQ))


def _fk_equal(parent_value, child_value, aff, coll):
    """True if a child column's value matches a parent key value, compared as OP_Eq does under
    comparison affinity ``aff`` and collation ``coll``: NULL matches nothing; under a numeric
    affinity text that reads as a number becomes one, under TEXT numbers become text, and
    only when one operand is text."""
    if parent_value is None or child_value is None:
        return False
    if aff >= AFF_TEXT and (parent_value.__class__ is str or child_value.__class__ is str):
        parent_value = apply_compare_affinity(parent_value, aff)
        child_value = apply_compare_affinity(child_value, aff)
    return compare_values(parent_value, child_value, coll) == 0


def _probe(vals, affs):
    """The key to seek a usable child index with: each value converted as the comparison
    converts it (the index holds no values the comparison would convert)."""
    return [v if aff < AFF_TEXT or v.__class__ is bytes else apply_compare_affinity(v, aff)
            for v, aff in zip(vals, affs)]


def _matches(vm, pager, ref, vals, affs, idx, skip, limit):
    """Generator: how many rows of ``ref.child`` match parent key ``vals`` under comparison
    affinities ``affs`` (counting stops at ``limit``, None: all), leaving out the row whose
    identity (rowid, or WITHOUT ROWID key tuple) is ``skip``."""
    colls = ref.key.collations
    n = 0
    if ref.sql_scan is not None:
        # A child column is computed (VIRTUAL): read the rows through a query.
        m = max(ref.child_npk, 1)
        for row in (yield from _run_nested(vm, _program(vm, ref.sql_scan), ())):
            ident = row[0] if m == 1 and not ref.child_npk else tuple(row[:m])
            if ident != skip and all(_fk_equal(v, row[m + k], affs[k], colls[k]) for k, v in enumerate(vals)):
                n += 1
                if n == limit:
                    break
        return n
    child = ref.child
    if idx is not None:
        probe = _probe(vals, affs)
        cur = BTreeCursor(pager, idx.root, idx.key_info())
        index_pk = ref.index_pk
        ncols = len(probe)
        ok = yield from _call(cur.seek, probe, SEEK_GE)
        while ok:
            rec = yield from _call(cur.record)
            if any(compare_values(rec.column(k), probe[k], colls[k]) != 0 for k in range(ncols)):
                break
            ident = cur.rowid() if index_pk is None else tuple(rec.column(p) for p in index_pk)
            if ident != skip:
                n += 1
                if n == limit:
                    break
            ok = yield from _call(cur.next)
        return n
    npk = ref.child_npk
    pos = [ref.child_pos[c] for c in ref.child_cols]
    cur = BTreeCursor(pager, child.root, pk_key_info(child) if npk else None)
    ok = yield from _call(cur.first)
    while ok:
        rec = yield from _call(cur.record)
        ident = tuple(rec.column(p) for p in range(npk)) if npk else cur.rowid()
        for k, p in enumerate(pos):
            if not _fk_equal(vals[k], cur.rowid() if p < 0 else rec.column(p), affs[k], colls[k]):
                break
        else:
            if ident != skip:
                n += 1
                if n == limit:
                    break
        ok = yield from _call(cur.next)
    return n


def _count_children(vm, pager, ref, vals, skip=None):
    """Generator: how many child rows reference parent key ``vals`` (fkScanChildren's rule)."""
    return (yield from _matches(vm, pager, ref, vals, ref.count_affs, ref.count_index, skip, None))


def _action_rows(vm, pager, ref, vals):
    """Generator: True if an action has child rows to change (its trigger's ``WHERE
    old.<parent column> = <child column>``, which does not leave the parent row out). The
    action's statement runs only then: it would change nothing otherwise."""
    return (yield from _matches(vm, pager, ref, vals, ref.action_affs, ref.action_index, None, 1)) > 0


def pk_key_info(table):
    """The key_info of WITHOUT ROWID ``table``'s own B-tree (its PRIMARY KEY index)."""
    return next(i for i in table.indexes if i.origin == "pk").key_info()


def frame_program(program):
    """Make ``program`` (freshly compiled, not yet run) a frame of the statement running it:
    it neither opens a transaction (the statement holds it) nor ends one (OP_TriggerHalt)."""
    for insn in program.insns:
        if insn.opcode == OP_Halt and insn.p1 == 0:
            insn.opcode = OP_TriggerHalt
        elif insn.opcode == OP_Transaction:
            insn.opcode = OP_Noop
            insn.p1 = insn.p2 = insn.p3 = 0
    return program


class _Nested:
    """A nested statement's VM to run as a frame, and the rows it returned."""

    __slots__ = ("vm", "rows")

    def __init__(self, vm):
        self.vm = vm
        self.rows = []


def _run_nested(vm, program, params):
    """Generator: run ``program`` (a frame_program) as part of this statement; returns its rows.

    Yields the _Nested job once: OP_FkRow runs it on the frame stack, then resumes us."""
    nested = program.new_vm(vm.conn)
    nested.state["fk_top"] = _top(vm)
    for i, v in enumerate(params, 1):
        nested.bind(i, v)
    job = _Nested(nested)
    yield job
    return job.rows


def _program(vm, sql):
    """The nested statement ``sql``'s program, compiled once per statement: a cascade nests the
    same action many times, each level from a program of its own."""
    programs = _top(vm).state.setdefault("fk_actions", {})
    prog = programs.get(sql)
    if prog is None:
        prog = programs[sql] = frame_program(vm.conn.compile(sql))
    return prog


def _row_gen(vm, plan, kind, old, new, rowid):
    """Generator: every foreign key check and action for one written row."""
    conn = vm.conn
    pager = _pager(conn, plan.table.db)
    if "fk" not in _top(vm).state and "fk_top" not in vm.state:
        vm.state["fk"] = 0
        if conn.autocommit:
            conn.fk_deferred = 0
    for fk in plan.children:
        cols = fk.cols
        ov = [old[c] for c in cols] if old is not None else None
        nv = [new[c] for c in cols] if new is not None else None
        if ov is not None and nv is not None and _same(ov, nv):
            continue
        if ov is not None and None not in ov and _counter(vm, fk.deferred):
            if not (yield from _parent_exists(pager, fk.parent, ov)):
                _bump(vm, fk.deferred, -1)
        if nv is not None and None not in nv:
            if not (yield from _parent_exists(pager, fk.parent, nv)):
                _bump(vm, fk.deferred, 1)
    if plan.pk_cols is None:
        ident = rowid
    else:
        ident = tuple(old[c] for c in plan.pk_cols) if old is not None else None
    for ref in plan.parents:
        cols = ref.key.cols
        ov = [old[c] for c in cols] if old is not None else None
        nv = [new[c] for c in cols] if new is not None else None
        if ov is not None and nv is not None and _same(ov, nv):
            continue
        update = ov is not None and nv is not None
        action = ref.on_update if update else ref.on_delete
        if ov is None:
            action = ACT_NONE
        if action == ACT_RESTRICT and conn.defer_foreign_keys:
            # PRAGMA defer_foreign_keys turns RESTRICT into a deferred NO ACTION (fkActionTrigger).
            action = ACT_NONE
        if update and _same(ov, nv, ref.key.collations):
            # The action triggers fire WHEN NOT (old.<key> IS new.<key>), in the key's collations.
            action = ACT_NONE
        old_key = ov is not None and None not in ov
        if old_key:
            if action != ACT_NONE and len(vm.frames) >= MAX_TRIGGER_DEPTH:
                # SQLite codes the action as a trigger, fired for every such parent row.
                raise OperationalError("too many levels of trigger recursion")
            # The old key's children count first, as sqlite3FkCheck runs before the write.
            n = yield from _count_children(vm, pager, ref, ov, ident if ref.child is plan.table else None)
            if n:
                _bump(vm, ref.deferred, n)
        if nv is not None and None not in nv and _counter(vm, ref.deferred):
            n = yield from _count_children(vm, pager, ref, nv)
            if n:
                _bump(vm, ref.deferred, -n)
        if not old_key or action == ACT_NONE:
            continue
        if not (yield from _action_rows(vm, pager, ref, ov)):
            continue
        if action == ACT_RESTRICT:
            # SQLite raises it from a generated trigger, hence the trigger's extended code.
            raise fk_error(SQLITE_CONSTRAINT_TRIGGER)
        params = list(ov)
        if action == ACT_CASCADE and update:
            params += nv
        elif action == ACT_SET_DEFAULT:
            params += (yield from _run_nested(vm, ref.defaults, ()))[0]
        yield from _run_nested(vm, _program(vm, ref.sql_update if update else ref.sql_delete), params)


def _drop_gen(vm, program):
    """Generator: DROP TABLE's implicit DELETE FROM (``program``), running the actions."""
    yield from _run_nested(vm, program, ())
    return None


def _check_gen(vm, plans, rows):
    """Generator: PRAGMA foreign_key_check rows (table, rowid, parent, fkid) into ``rows``;
    the rowid of a WITHOUT ROWID table's row is NULL, as SQLite reports it."""
    for table, pos, keys, scan in plans:
        pager = _pager(vm.conn, table.db)
        if scan is not None:
            # A foreign key column is computed (VIRTUAL): read the rows through a query.
            for row in (yield from _run_nested(vm, _program(vm, scan), ())):
                yield from _check_row(pager, table, keys, row[0], [row[c + 1] for c in range(len(pos))], rows)
            continue
        wr = table.without_rowid
        cur = BTreeCursor(pager, table.root, pk_key_info(table) if wr else None)
        ok = yield from _call(cur.first)
        while ok:
            rowid = None if wr else cur.rowid()
            rec = yield from _call(cur.record)
            values = [None if p is None else rowid if p < 0 else rec.column(p) for p in pos]
            yield from _check_row(pager, table, keys, rowid, values, rows)
            ok = yield from _call(cur.next)
    return None


def _check_row(pager, table, keys, rowid, values, rows):
    """Generator: foreign_key_check's rows for one row of ``table`` (its columns ``values``)."""
    for fid, cols, key, parent_name in keys:
        vals = [values[c] for c in cols]
        if None in vals:
            continue
        if key is None or not (yield from _parent_exists(pager, key, vals)):
            rows.append((table.name, rowid, parent_name, fid))


def op_fkrow(vm, insn, pc):
    """Opcode: FkRow P1 P2 P3 P4 *

    limbodb's own: the foreign key work for one row of P4's FkPlan, after it was written:
    P1 is FK_INSERT, FK_DELETE or FK_UPDATE; old row registers from P2, new from P3,
    its rowid in P4's register. P1 FK_DROP runs P4's DELETE program (DROP TABLE's
    implicit DELETE); P1 FK_CHECK returns PRAGMA foreign_key_check's rows from P3.. .
    """
    kind, p2, p3 = insn.p1, insn.p2, insn.p3
    plan, rowid_reg = insn.p4
    regs = vm.regs
    nxt = pc + 1
    key = ("fk", pc)
    job_key = ("fkjob", pc)

    def _push(sub):
        sub.frames = vm.frames
        vm.frames.append(sub)
        vm.pc = pc
        return EXIT_FRAME

    def make():
        if kind == FK_DROP:
            return _drop_gen(vm, plan)
        if kind == FK_CHECK:
            vm.state[("fkrows", pc)] = []
            return _check_gen(vm, plan, vm.state[("fkrows", pc)])
        n = plan.ncols
        old = regs[p2:p2 + n] if p2 else None
        new = regs[p3:p3 + n] if p3 else None
        return _row_gen(vm, plan, kind, old, new, regs[rowid_reg] if rowid_reg else None)

    def run():
        state = vm.state
        gen = state.get(key)
        if gen is None:
            gen = state[key] = make()
        while gen is not True:
            job = state.get(job_key)
            if job is not None:
                # Back from the frame stack: a row of the nested statement, or its end.
                sub = job.vm
                if not sub.halted:
                    job.rows.append(sub.row)
                    return _push(sub)
                del state[job_key]
            try:
                r = next(gen)
            except StopIteration:
                state[key] = True
                break
            except BaseException:
                state.pop(key, None)
                raise
            if r.__class__ is _Nested:
                state[job_key] = r
                return _push(r.vm)
            vm.completion = r.completion
            vm.pc = pc
            return EXIT_IO
        rows = state.get(("fkrows", pc))
        if rows:
            regs[p3:p3 + 4] = rows.pop(0)
            vm.row = tuple(regs[p3:p3 + 4])
            vm.pc = pc
            return EXIT_ROW
        del state[key]
        state.pop(("fkrows", pc), None)
        return nxt
    return run


def op_fkcheck(vm, insn, pc):
    """Opcode: FkCheck * * * * *

    End of a statement that wrote rows with foreign keys on: fail with "FOREIGN KEY
    constraint failed" if immediate violations remain, or (in autocommit mode, where
    the statement is the transaction) deferred ones.
    """
    conn = vm.conn
    nxt = pc + 1

    def run():
        if "fk_top" in vm.state:
            return nxt
        if vm.state.get("fk", 0) > 0:
            raise fk_error()
        if conn.autocommit and conn.fk_deferred > 0:
            conn.fk_deferred = 0
            raise fk_error()
        return nxt
    return run
