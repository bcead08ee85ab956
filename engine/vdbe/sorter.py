"""The sorter: collects rows, sorts them once, then yields them in order.

Rows are kept decoded (lists); the first ``SortSpec.nkeys`` values are the
sort key. Sorting maps each key value to (storage class rank, value), so
Python's own comparison gives SQLite's order (NULL < numbers < text < blob),
with one stable pass per DESC/NULLS/collation group of columns, least
significant first (a BINARY column whose values share one storage class sorts
on the values themselves). Custom collations fall back to a comparison function.
In memory only (SQLite spills to temp files; limbodb has no temp files).
Mirrors sqlite src/vdbesort.c and Turso core/vdbe/sorter.rs.
"""

from functools import cmp_to_key
from operator import itemgetter

from limbodb.storage.record import collation_function, compare_values, decode_record

_RANK = {type(None): 0, int: 1, float: 1, str: 2, bytes: 3}
_NUMBERS = frozenset((int, float))
_ASCII_FOLD = {c: c + 32 for c in range(65, 91)}


class SortSpec:
    """Per key column: collation name (None: BINARY), DESC flag, NULLS FIRST flag."""

    __slots__ = ("collations", "desc", "nulls_first")

    def __init__(self, collations, desc, nulls_first=None):
        self.collations = list(collations)
        self.desc = list(desc)
        self.nulls_first = list(nulls_first) if nulls_first is not None else [not d for d in self.desc]

    @property
    def nkeys(self):
        return len(self.desc)

    def __str__(self):
        parts = []
        for c, d, nf in zip(self.collations, self.desc, self.nulls_first):
            s = ("-" if d else "") + (c or "BINARY")
            if nf == d:
                s += " NULLS FIRST" if nf else " NULLS LAST"
            parts.append(s)
        return f"k({len(parts)},{','.join(parts)})"


def _value_key(coll):
    """The sort key of one value under collation ``coll`` (None, NOCASE or RTRIM)."""
    rank = _RANK
    if coll == "NOCASE":
        def key(v):
            return (2, v.translate(_ASCII_FOLD)) if v.__class__ is str else (rank[v.__class__], v)
    elif coll == "RTRIM":
        def key(v):
            return (2, v.rstrip(" ")) if v.__class__ is str else (rank[v.__class__], v)
    else:
        def key(v):
            return (0, 0) if v is None else (rank[v.__class__], v)
    return key


def _row_key(spec):
    """A function giving a row's whole sort key as one comparable value, or None.

    Only for keys that are all ascending, NULLS FIRST, under BINARY, NOCASE or RTRIM,
    where the per-value keys of ``sort`` concatenate into the same order.
    """
    if any(spec.desc) or not all(spec.nulls_first):
        return None
    keys = []
    for i, coll in enumerate(spec.collations):
        coll = coll.upper() if coll is not None else None
        if coll not in (None, "BINARY", "NOCASE", "RTRIM"):
            return None
        keys.append((i, _value_key(None if coll == "BINARY" else coll)))
    if len(keys) == 1:
        i, vk = keys[0]
        return lambda row: vk(row[i])
    return lambda row: tuple([vk(row[i]) for i, vk in keys])


class Sorter:
    """An in-memory sorter of value lists.

    With a ``cap`` (ORDER BY ... LIMIT) only the first ``cap`` rows in order
    are wanted: whenever the rows reach a few times the cap they are sorted
    and cut back to it. The sort is stable, so the rows kept are those a full
    sort would put first.
    """

    __slots__ = ("spec", "rows", "pos", "cap", "_trim_at", "_key", "_bound", "_one_binary", "_brank", "_bval")

    def __init__(self, spec, cap=0):
        self.spec = spec
        self.rows = []
        self.pos = 0
        self.cap = cap
        self._trim_at = max(4 * cap, 256) if cap else 0
        # Top-N: once trimmed, a row that sorts at or after the last row kept can never
        # be among the first ``cap`` (the sort is stable), so it is dropped on insert.
        self._key = _row_key(spec) if cap else None
        self._bound = None
        # One BINARY ascending key (the usual ORDER BY x LIMIT n): the bound is kept split
        # as (rank, value) of that column, and insert compares them without calling _key.
        self._one_binary = self._key is not None and spec.nkeys == 1 and \
            (spec.collations[0] or "BINARY").upper() == "BINARY"
        self._brank = None
        self._bval = None

    def insert(self, row):
        if row.__class__ is not list:
            row = decode_record(row)
        brank = self._brank
        if brank is not None:
            # (rank, v) >= (brank, bval), as _value_key's tuples compare, without the tuples.
            v = row[0]
            r = _RANK[v.__class__]
            if r > brank or (r == brank and (r == 0 or v >= self._bval)):
                return
        elif self._bound is not None and self._key(row) >= self._bound:
            return
        rows = self.rows
        rows.append(row)
        if len(rows) == self._trim_at:
            self.sort()
            del rows[self.cap:]
            if self._key is not None:
                bound = self._bound = self._key(rows[-1])
                if self._one_binary:
                    self._brank, self._bval = bound

    def sort(self):
        """Sort the rows; True if there is at least one."""
        rows = self.rows
        spec = self.spec
        for i in reversed(range(spec.nkeys)):
            coll = spec.collations[i]
            if coll is not None:
                coll = coll.upper()
            desc = spec.desc[i]
            nulls_first = spec.nulls_first[i]
            if coll not in (None, "BINARY", "NOCASE", "RTRIM"):
                fn = collation_function(coll)
                rows.sort(key=cmp_to_key(_collated_cmp(i, fn, nulls_first, desc)), reverse=desc)
                continue
            if coll is None or coll == "BINARY":
                classes = {row[i].__class__ for row in rows}
                if classes <= _NUMBERS or len(classes) == 1 and (str in classes or bytes in classes):
                    # One storage class, no NULL: the values order as Python orders them
                    # (ints and floats exactly, text by code point), so no key tuples.
                    rows.sort(key=itemgetter(i), reverse=desc)
                    continue
            vk = _value_key(None if coll == "BINARY" else coll)
            # NULL placement independent of direction: NULLS FIRST under DESC ranks NULL highest.
            null_hi = nulls_first == desc

            def key(row, i=i, vk=vk, null_hi=null_hi):
                v = row[i]
                if v is None:
                    return (9, 0) if null_hi else (-1, 0)
                return vk(v)
            rows.sort(key=key, reverse=desc)
        self.pos = 0
        return bool(rows)

    def current(self):
        return self.rows[self.pos]

    def next(self):
        self.pos += 1
        return self.pos < len(self.rows)


def _collated_cmp(i, fn, nulls_first, desc):
    def cmp(a, b):
        x = a[i]
        y = b[i]
        if x is None or y is None:
            if x is y:
                return 0
            first = -1 if x is None else 1
            return first if nulls_first != desc else -first
        return compare_values(x, y, fn)
    return cmp
