"""Built-in window functions: row_number, rank, dense_rank, percent_rank, cume_dist, ntile,
lag, lead, first_value, last_value, nth_value; and user window aggregates.

A built-in is registered with kind ``WINDOW``: its ``fd.fn`` raises SQLite's
"misuse of window function f()" when called as a plain function, and
``fd.fn.window`` is the implementation class. The VM (vdbe/execute_window.py)
makes one instance per partition and calls ``compute(part)``, which returns
the function's value for every row of the partition; ``part`` is a
``Partition`` (row count, per-row argument tuples, peer groups, frames).
Aggregates (kind AGGREGATE) serve as window functions through their
``step``/``inverse``/``value``/``finalize`` methods instead.
``create_window_function`` wraps a Python class the way the sqlite3 module does.
Mirrors sqlite src/window.c (row_numberStepFunc ... nth_valueStepFunc).
"""

from limbodb.errors import OperationalError
from limbodb.functions import AGGREGATE, _adapt_result
from limbodb.vdbe.value import AFF_NUMERIC, apply_compare_affinity, int_value

# FuncDef.kind of a function that exists only as a window function.
WINDOW = 2


class Partition:
    """What a built-in window function sees of one partition, rows in window order.

    ``args[i]``: the argument tuple of row i; ``peer_start[i]``/``peer_end[i]``:
    the half-open range of row i's peers (equal ORDER BY keys); ``group[i]``:
    the 0-based number of that peer group; ``frame(i)``: positions in row i's
    frame, EXCLUDE applied, in order.
    """

    __slots__ = ("n", "args", "peer_start", "peer_end", "group", "frame")

    def __init__(self, n, args, peer_start, peer_end, group, frame):
        self.n = n
        self.args = args
        self.peer_start = peer_start
        self.peer_end = peer_end
        self.group = group
        self.frame = frame


class RowNumber:
    def compute(self, part):
        return list(range(1, part.n + 1))


class Rank:
    def compute(self, part):
        return [s + 1 for s in part.peer_start]


class DenseRank:
    def compute(self, part):
        return [g + 1 for g in part.group]


class PercentRank:
    def compute(self, part):
        n = part.n
        if n <= 1:
            return [0.0] * n
        return [s / (n - 1) for s in part.peer_start]


class CumeDist:
    def compute(self, part):
        n = part.n
        return [e / n for e in part.peer_end]


class Ntile:
    """ntile(N): the argument is read from the partition's first row, as ntileStepFunc does."""

    def compute(self, part):
        n = part.n
        if not n:
            return []
        buckets = int_value(part.args[0][0])
        if buckets <= 0:
            raise OperationalError("argument of ntile must be a positive integer")
        size = n // buckets
        if size == 0:
            return list(range(1, n + 1))
        large = n - buckets * size
        small_end = large * (size + 1)
        return [1 + i // (size + 1) if i < small_end else 1 + large + (i - small_end) // size
                for i in range(n)]


class _Shift:
    """lag/lead: the value ``offset`` rows away in the partition, else the default."""

    direction = -1

    def compute(self, part):
        n = part.n
        out = []
        args = part.args
        for i in range(n):
            a = args[i]
            off = 1 if len(a) < 2 else a[1]
            if off is None:
                out.append(None)
                continue
            j = i + self.direction * int_value(off)
            if 0 <= j < n:
                out.append(args[j][0])
            else:
                out.append(a[2] if len(a) > 2 else None)
        return out


class Lag(_Shift):
    direction = -1


class Lead(_Shift):
    direction = 1


class FirstValue:
    def compute(self, part):
        args = part.args
        out = []
        for i in range(part.n):
            f = part.frame(i)
            out.append(args[f[0]][0] if f else None)
        return out


class LastValue:
    def compute(self, part):
        args = part.args
        out = []
        for i in range(part.n):
            f = part.frame(i)
            out.append(args[f[-1]][0] if f else None)
        return out


class NthValue:
    def compute(self, part):
        args = part.args
        out = []
        for i in range(part.n):
            k = _positive_int(args[i][1])
            f = part.frame(i)
            out.append(args[f[k - 1]][0] if k <= len(f) else None)
        return out


def _positive_int(v):
    """nth_value's N: an integer (or integral real) above zero, else SQLite's error."""
    v = apply_compare_affinity(v, AFF_NUMERIC) if v.__class__ is str else v
    if v.__class__ is float and v == int(v):
        v = int(v)
    if v.__class__ is not int or v <= 0:
        raise OperationalError("second argument to nth_value must be a positive integer")
    return v


def _misuse(name):
    def fn(*args):
        raise OperationalError(f"misuse of window function {name}()")
    fn.__name__ = name
    return fn


def _user_window(cls):
    """A class with step/inverse/value/finalize as an aggregate usable over sliding frames."""
    class UserWindow:
        __slots__ = ("inst", "error")

        def __init__(self):
            self.error = None
            try:
                self.inst = cls()
            except Exception as e:
                self.inst = None
                self.error = e

        def _run(self, method, args):
            if self.error is not None:
                raise OperationalError("user-defined aggregate's '__init__' method raised error") from self.error
            fn = getattr(self.inst, method, None)
            if fn is None:
                raise OperationalError(f"user-defined aggregate's '{method}' method not defined")
            try:
                return fn(*args)
            except Exception as e:
                raise OperationalError(f"user-defined aggregate's '{method}' method raised error") from e

        def step(self, *args):
            self._run("step", args)

        def inverse(self, *args):
            self._run("inverse", args)

        def value(self):
            return _adapt_result(self._run("value", ()))

        def finalize(self):
            return _adapt_result(self._run("finalize", ()))
    return UserWindow


def create_window_function(reg, name, nargs, cls):
    """Register (or with ``cls`` None, remove) a user window aggregate class on ``reg``."""
    if cls is None:
        reg.remove(name, nargs)
        return None
    return reg.register(name, nargs, _user_window(cls), AGGREGATE, False)


_BUILTINS = (
    ("row_number", (0,), RowNumber), ("rank", (0,), Rank), ("dense_rank", (0,), DenseRank),
    ("percent_rank", (0,), PercentRank), ("cume_dist", (0,), CumeDist), ("ntile", (1,), Ntile),
    ("lag", (1, 2, 3), Lag), ("lead", (1, 2, 3), Lead), ("first_value", (1,), FirstValue),
    ("last_value", (1,), LastValue), ("nth_value", (2,), NthValue),
)


def register_all(reg):
    """Add the built-in window functions to ``reg``."""
    for name, arities, impl in _BUILTINS:
        fn = _misuse(name)
        fn.window = impl
        for n in arities:
            reg.register(name, n, fn, WINDOW)
