"""Window functions at run time: the Window opcode and the frame arithmetic behind it.

``OP_Window`` takes the rows a SELECT's inner part produced (an ephemeral
table: its columns, then the window functions' arguments, FILTER values and
PARTITION BY / ORDER BY keys) and replaces them by the same rows, each with
one more column per window function call. For each distinct window (in order
of first use, from the last) the rows are sorted stably by (partition, order) keys, split
into partitions and peer groups, and every row's frame [start, end) is
computed (ROWS, RANGE, GROUPS; EXCLUDE removes rows from it). Aggregates slide
over the frames with ``step``/``inverse``/``value`` when they can (min/max with a deque), add rows
only while the frame start is fixed, and otherwise recompute per distinct
frame; built-ins (functions/window.py) see the whole partition at once. The
rows leave in the order of the first window's sort. Nothing here waits for I/O.
Mirrors sqlite src/window.c (sqlite3WindowCodeStep), computed in Python.
"""

from collections import deque

from limbodb.errors import OperationalError
from limbodb.storage.record import collation_function, compare_values, encode_record
from limbodb.vdbe.ephemeral import EphemeralCursor
from limbodb.vdbe.execute_cursor import VdbeCursor
from limbodb.vdbe.sorter import Sorter, SortSpec
from limbodb.vdbe.value import AFF_NUMERIC, apply_affinity, compare, truth
from limbodb.functions.window import Partition

# Frame units and bound kinds.
ROWS = 0
RANGE = 1
GROUPS = 2
UNBOUNDED_PRECEDING = 0
PRECEDING = 1
CURRENT_ROW = 2
FOLLOWING = 3
UNBOUNDED_FOLLOWING = 4
# EXCLUDE
EXCLUDE_NO_OTHERS = 0
EXCLUDE_CURRENT_ROW = 1
EXCLUDE_GROUP = 2
EXCLUDE_TIES = 3


class WindowSpec:
    """One window: key columns of the input rows, collations, sort flags, frame.

    ``start_reg``/``end_reg`` are registers holding the PRECEDING/FOLLOWING
    offsets (0 when the bound has none).
    """

    __slots__ = ("part_cols", "part_colls", "order_cols", "order_colls", "order_desc", "order_nulls_first",
                 "units", "start", "start_reg", "end", "end_reg", "exclude", "calls")

    def __init__(self, part_cols, part_colls, order_cols, order_colls, order_desc, order_nulls_first,
                 units, start, start_reg, end, end_reg, exclude):
        self.part_cols = part_cols
        self.part_colls = part_colls
        self.order_cols = order_cols
        self.order_colls = order_colls
        self.order_desc = order_desc
        self.order_nulls_first = order_nulls_first
        self.units = units
        self.start = start
        self.start_reg = start_reg
        self.end = end
        self.end_reg = end_reg
        self.exclude = exclude
        self.calls = []


class WindowCall:
    """One window function call: ``make()`` builds its state (an aggregate accumulator
    or a built-in), ``arg_cols`` its argument columns, ``filter_col`` the FILTER column
    or -1, ``builtin`` True for the window-only functions."""

    __slots__ = ("name", "make", "builtin", "arg_cols", "filter_col", "out", "minmax", "collation")

    def __init__(self, name, make, builtin, arg_cols, filter_col):
        self.name = name
        self.make = make
        self.builtin = builtin
        self.arg_cols = arg_cols
        self.filter_col = filter_col
        # Index of this call's value among the appended columns.
        self.out = 0
        # The built-in min() (-1) or max() (1), which slide without inverse(); else 0.
        self.minmax = 0
        self.collation = None


class WindowPlan:
    """P4 of OP_Window: the windows, each listing the calls evaluated over it."""

    __slots__ = ("specs", "ncalls")

    def __init__(self, specs, ncalls):
        self.specs = specs
        self.ncalls = ncalls

    def __str__(self):
        return f"windows={len(self.specs)} calls={self.ncalls}"


def op_window(vm, insn, pc):
    """Opcode: Window P1 * * P4 *

    Replace the rows of ephemeral table P1 by the same rows followed by the
    value of each window function of WindowPlan P4, in window order.
    """
    p1, plan = insn.p1, insn.p4
    cursors = vm.cursors
    regs = vm.regs
    nxt = pc + 1

    def run():
        btc = cursors[p1].btc
        rows = []
        ok = btc.first()
        while ok:
            rows.append(btc.record().values())
            ok = btc.next()
        out = EphemeralCursor(None)
        for k, row in enumerate(compute_windows(plan, rows, regs), 1):
            out.insert(k, encode_record(row))
        cursors[p1] = VdbeCursor(out)
        return nxt
    return run


def compute_windows(plan, rows, regs):
    """The rows (lists) extended with every call's value, in the first window's order."""
    results = [[None] * plan.ncalls for _ in rows]
    order = list(range(len(rows)))
    # SQLite nests one subquery per window, the first-named outermost: evaluate the last one first.
    for spec in reversed(plan.specs):
        order = _sorted(spec, rows, order)
        if not order:
            continue
        offsets = (_offset(spec, spec.start, spec.start_reg and regs[spec.start_reg], True),
                   _offset(spec, spec.end, spec.end_reg and regs[spec.end_reg], False))
        for part in _partitions(spec, rows, order):
            _evaluate(spec, rows, part, offsets, results)
    return [rows[i] + results[i] for i in order]


def _offset(spec, kind, v, is_start):
    """The checked value of a PRECEDING/FOLLOWING offset (windowCheckValue)."""
    if kind != PRECEDING and kind != FOLLOWING:
        return 0
    which = "starting" if is_start else "ending"
    if spec.units == RANGE:
        if v.__class__ not in (int, float):
            v = apply_affinity(v, AFF_NUMERIC)
        if v.__class__ not in (int, float) or v < 0:
            raise OperationalError(f"frame {which} offset must be a non-negative number")
        return v
    if v.__class__ is not int:
        v = apply_affinity(v, AFF_NUMERIC)
        if v.__class__ is float and v == int(v) and abs(v) < 9.2e18:
            v = int(v)
    if v.__class__ is not int or v < 0:
        raise OperationalError(f"frame {which} offset must be a non-negative integer")
    return v


def _sorted(spec, rows, order):
    """``order`` re-sorted (stably) by the window's partition and ORDER BY keys."""
    cols = spec.part_cols + spec.order_cols
    if not cols:
        return order
    np = len(spec.part_cols)
    srt = Sorter(SortSpec(spec.part_colls + spec.order_colls, [False] * np + spec.order_desc,
                          [True] * np + spec.order_nulls_first))
    srt.rows = [[rows[i][c] for c in cols] + [i] for i in order]
    srt.sort()
    return [r[-1] for r in srt.rows]


def _equal(a, b, cols, colls):
    for c, coll in zip(cols, colls):
        if compare_values(a[c], b[c], coll) != 0:
            return False
    return True


def _partitions(spec, rows, order):
    cols, colls = spec.part_cols, spec.part_colls
    start = 0
    for k in range(1, len(order)):
        if not _equal(rows[order[k - 1]], rows[order[k]], cols, colls):
            yield order[start:k]
            start = k
    yield order[start:]


def _peers(spec, prow):
    """(group number, peer start, peer end) per position of one partition."""
    n = len(prow)
    cols, colls = spec.order_cols, spec.order_colls
    group = [0] * n
    starts = [0]
    g = 0
    for k in range(1, n):
        if cols and not _equal(prow[k - 1], prow[k], cols, colls):
            g += 1
            starts.append(k)
        group[k] = g
    ends = starts[1:] + [n]
    return group, [starts[x] for x in group], [ends[x] for x in group], starts, ends


def _range_cmp(spec):
    """cmp(key, target) in the window's sort order for its one ORDER BY term."""
    coll = spec.order_colls[0]
    desc = spec.order_desc[0]
    nulls_first = spec.order_nulls_first[0]

    def cmp(a, b):
        if a is None or b is None:
            if a is b:
                return 0
            r = -1 if a is None else 1
            return r if nulls_first else -r
        r = compare_values(a, b, coll)
        return -r if desc else r
    return cmp


def _range_bound(spec, keys, i, kind, off, is_start, cmp):
    """RANGE N PRECEDING/FOLLOWING: first position whose key is >= (start) or > (end) the target."""
    v = keys[i]
    if v.__class__ in (int, float):
        up = (kind == FOLLOWING) != spec.order_desc[0]
        v = v + off if up else v - off
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        c = cmp(keys[mid], v)
        if c < 0 or (c == 0 and not is_start):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _frames(spec, prow, peers, offsets):
    """Per position: the frame's [start, end) before EXCLUDE (end >= start)."""
    n = len(prow)
    group, pstart, pend, gstarts, gends = peers
    ng = len(gstarts)
    units = spec.units
    keys = [r[spec.order_cols[0]] for r in prow] if units == RANGE and spec.order_cols else None
    cmp = _range_cmp(spec) if keys is not None else None
    fs = [0] * n
    fe = [0] * n
    for i in range(n):
        s = e = 0
        for is_start, kind, off in ((True, spec.start, offsets[0]), (False, spec.end, offsets[1])):
            if kind == UNBOUNDED_PRECEDING:
                x = 0
            elif kind == UNBOUNDED_FOLLOWING:
                x = n
            elif kind == CURRENT_ROW:
                if units == ROWS:
                    x = i if is_start else i + 1
                else:
                    x = pstart[i] if is_start else pend[i]
            elif units == ROWS:
                d = -off if kind == PRECEDING else off
                x = i + d if is_start else i + d + 1
                x = 0 if x < 0 else (n if x > n else x)
            elif units == GROUPS:
                g = group[i] + (-off if kind == PRECEDING else off)
                if is_start:
                    x = 0 if g < 0 else (gstarts[g] if g < ng else n)
                else:
                    x = 0 if g < 0 else (gends[g] if g < ng else n)
            else:
                x = _range_bound(spec, keys, i, kind, off, is_start, cmp)
            if is_start:
                s = x
            else:
                e = x
        fs[i] = s
        fe[i] = e if e > s else s
    return fs, fe


def _frame_fn(spec, fs, fe, pstart, pend):
    """frame(i): the positions of row i's frame with EXCLUDE applied."""
    exclude = spec.exclude
    if exclude == EXCLUDE_NO_OTHERS:
        return lambda i: range(fs[i], fe[i])
    if exclude == EXCLUDE_CURRENT_ROW:
        return lambda i: [j for j in range(fs[i], fe[i]) if j != i]
    if exclude == EXCLUDE_GROUP:
        return lambda i: [j for j in range(fs[i], fe[i]) if not pstart[i] <= j < pend[i]]
    return lambda i: [j for j in range(fs[i], fe[i]) if j == i or not pstart[i] <= j < pend[i]]


def _evaluate(spec, rows, part, offsets, results):
    prow = [rows[i] for i in part]
    peers = _peers(spec, prow)
    fs, fe = _frames(spec, prow, peers, offsets)
    frame = _frame_fn(spec, fs, fe, peers[1], peers[2])
    n = len(prow)
    for call in spec.calls:
        cols = call.arg_cols
        args = [tuple(r[c] for c in cols) for r in prow]
        if call.builtin:
            values = call.make().compute(Partition(n, args, peers[1], peers[2], peers[0], frame))
        else:
            fc = call.filter_col
            use = [True] * n if fc < 0 else [truth(r[fc]) is True for r in prow]
            if call.minmax and spec.exclude == EXCLUDE_NO_OTHERS and spec.start != UNBOUNDED_PRECEDING:
                values = _sliding_minmax(call, args, use, fs, fe)
            else:
                values = _aggregate(spec, call.make, args, use, fs, fe, frame)
        k = call.out
        for pos, i in enumerate(part):
            results[i][k] = values[pos]


def _aggregate(spec, make, args, use, fs, fe, frame):
    n = len(args)
    out = []
    acc = make()
    if spec.exclude == EXCLUDE_NO_OTHERS and hasattr(acc, "value") and (
            hasattr(acc, "inverse") or spec.start == UNBOUNDED_PRECEDING):
        # Frame edges only move forward: add rows at the end, remove them at the start.
        cs = ce = 0
        for i in range(n):
            s, e = fs[i], fe[i]
            while ce < e:
                if use[ce]:
                    acc.step(*args[ce])
                ce += 1
            while cs < s:
                if use[cs]:
                    acc.inverse(*args[cs])
                cs += 1
            out.append(acc.value())
        return out
    last_key = None
    last = None
    for i in range(n):
        key = (fs[i], fe[i]) if spec.exclude == EXCLUDE_NO_OTHERS else None
        if key is None or key != last_key:
            acc = make()
            for j in frame(i):
                if use[j]:
                    acc.step(*args[j])
            last = acc.finalize()
            last_key = key
        out.append(last)
    return out


def _sliding_minmax(call, args, use, fs, fe):
    """min/max over moving frames: a deque of candidate positions, best first.

    A new value drops the candidates it beats from the back; equal values stay
    behind the earlier one, so ties give the earlier row, as Min.step does.
    """
    sign = call.minmax
    coll = collation_function(call.collation) if call.collation else None
    cand = deque()
    out = []
    ce = 0
    for i in range(len(args)):
        s, e = fs[i], fe[i]
        while ce < e:
            v = args[ce][0]
            if use[ce] and v is not None:
                while cand and compare(args[cand[-1]][0], v, coll) == -sign:
                    cand.pop()
                cand.append(ce)
            ce += 1
        while cand and cand[0] < s:
            cand.popleft()
        out.append(args[cand[0]][0] if cand else None)
    return out
