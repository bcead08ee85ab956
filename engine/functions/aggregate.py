"""Built-in aggregate functions: count, sum, total, avg, min, max, group_concat, string_agg.

Each is a class: the VM makes one instance per group, calls ``step(*args)``
per row and ``finalize()`` once. Those SQLite also runs as window aggregates
have ``inverse(*args)`` (remove a row that left the frame) and ``value()``
(the current result, state kept). min/max ``step`` returns True when the row
became the chosen one, so the VM can load bare columns from that row
(SQLite's sqlite3SkipAccumulatorLoad); other steps return None.
sum keeps SQLite 3.40's arithmetic: an exact 64-bit integer sum while every
input is an integer, a plain double sum beside it, and "integer overflow".
Mirrors sqlite src/func.c (sumStep, minmaxStep, groupConcatStep).
"""

from limbodb.errors import OperationalError
from limbodb.functions import AGGREGATE
from limbodb.vdbe.value import (
    AFF_NUMERIC, MAX_INT64, MIN_INT64, apply_compare_affinity, compare, real_value, to_text,
)


def _numeric(v):
    """sqlite3_value_numeric_type(): text that is wholly a number becomes that number."""
    if v.__class__ is str:
        return apply_compare_affinity(v, AFF_NUMERIC)
    return v


class Count:
    """count(*) and count(X)."""

    __slots__ = ("n",)

    def __init__(self):
        self.n = 0

    def step(self, *args):
        if not args or args[0] is not None:
            self.n += 1

    def inverse(self, *args):
        if not args or args[0] is not None:
            self.n -= 1

    def value(self):
        return self.n

    finalize = value


class Sum:
    """sum(X): INTEGER while every input is an integer, else REAL; NULL for no rows."""

    __slots__ = ("rsum", "isum", "cnt", "overflow", "approx")

    def __init__(self):
        self.rsum = 0.0
        self.isum = 0
        self.cnt = 0
        self.overflow = False
        self.approx = False

    def step(self, x):
        if x is None:
            return
        v = _numeric(x)
        self.cnt += 1
        if v.__class__ is int:
            self.rsum += v
            if not (self.approx or self.overflow):
                s = self.isum + v
                if MIN_INT64 <= s <= MAX_INT64:
                    self.isum = s
                else:
                    self.approx = self.overflow = True
        else:
            self.rsum += real_value(v)
            self.approx = True

    def inverse(self, x):
        if x is None:
            return
        v = _numeric(x)
        self.cnt -= 1
        if v.__class__ is int and not self.approx:
            self.rsum -= v
            self.isum -= v
        else:
            self.rsum -= real_value(v)

    def value(self):
        if self.cnt <= 0:
            return None
        if self.overflow:
            raise OperationalError("integer overflow")
        if self.approx:
            return self.rsum
        return self.isum

    finalize = value


class Total(Sum):
    """total(X): like sum() but always REAL, 0.0 for no rows, never overflows."""

    __slots__ = ()

    def value(self):
        return self.rsum

    finalize = value


class Avg(Sum):
    """avg(X): REAL mean of the non-NULL inputs."""

    __slots__ = ()

    def value(self):
        if self.cnt <= 0:
            return None
        return self.rsum / self.cnt

    finalize = value


class _MinMax:
    __slots__ = ("best", "has", "collation")
    _want = 0

    def __init__(self, collation=None):
        self.best = None
        self.has = False
        self.collation = collation

    def step(self, x):
        if x is None:
            return not self.has
        if not self.has:
            self.best = x
            self.has = True
            return True
        # Ties keep the earlier row, as minmaxStep does.
        if compare(self.best, x, self.collation) == self._want:
            self.best = x
            return True
        return False

    def value(self):
        return self.best

    finalize = value


class Min(_MinMax):
    """min(X): the smallest non-NULL value."""

    __slots__ = ()
    _want = 1


class Max(_MinMax):
    """max(X): the largest non-NULL value."""

    __slots__ = ()
    _want = -1


class GroupConcat:
    """group_concat(X [, SEP]) and string_agg(X, SEP): non-NULL values joined, NULL if none."""

    __slots__ = ("values", "seps")

    def __init__(self):
        self.values = []
        # seps[i] is the separator written before values[i] (seps[0] is never used).
        self.seps = []

    def step(self, x, sep=","):
        if x is None:
            return
        self.seps.append("" if sep is None else to_text(sep))
        self.values.append(to_text(x))

    def inverse(self, x, sep=","):
        if x is None or not self.values:
            return
        del self.values[0]
        del self.seps[0]

    def value(self):
        values = self.values
        if not values:
            return None
        seps = self.seps
        parts = [values[0]]
        for i in range(1, len(values)):
            parts.append(seps[i])
            parts.append(values[i])
        return "".join(parts)

    finalize = value


def register_all(reg):
    """Add the core aggregates to ``reg``."""
    r = reg.register
    r("count", 0, Count, AGGREGATE)
    r("count", 1, Count, AGGREGATE)
    r("sum", 1, Sum, AGGREGATE)
    r("total", 1, Total, AGGREGATE)
    r("avg", 1, Avg, AGGREGATE)
    r("min", 1, Min, AGGREGATE)
    r("max", 1, Max, AGGREGATE)
    r("group_concat", 1, GroupConcat, AGGREGATE)
    r("group_concat", 2, GroupConcat, AGGREGATE)
    r("string_agg", 2, GroupConcat, AGGREGATE)
