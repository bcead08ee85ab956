"""In-memory cursors: ephemeral tables/indexes, and the pseudo-cursor row.

``EphemeralCursor`` offers the B-tree cursor interface of storage.btree
(contracts.md §5) over Python lists, completing at once: SQLite keeps such
temporary B-trees in a private temp pager, limbodb in memory (OP_OpenEphemeral:
DISTINCT sets, materialized subqueries, IN lists, UPDATE/DELETE row lists).
A table keeps (rowid, payload) pairs in rowid order; an index keeps decoded
keys sorted by its KeyInfo, an insert equal to an existing key replacing it.
Rows may arrive encoded or, from MakeRecord with MAKERECORD_UNPACKED, as lists.
``ListRecord`` is a decoded row with Record's reading interface.
"""

from bisect import bisect_left, bisect_right
from functools import cmp_to_key

from limbodb.storage.record import Record, compare_values, decode_record, encode_record

SEEK_EQ, SEEK_GE, SEEK_GT, SEEK_LE, SEEK_LT = range(5)


class ListRecord:
    """A decoded row read like a Record: ``column(i)`` (NULL past the end) and ``ncols``."""

    __slots__ = ("vals", "ncols")

    def __init__(self, vals):
        self.vals = vals
        self.ncols = len(vals)

    def column(self, i):
        vals = self.vals
        return vals[i] if i < len(vals) else None

    def values(self):
        return list(self.vals)


def key_comparator(key_info):
    """cmp(a, b) over value lists, comparing the columns both have (prefix equality)."""
    colls = list(key_info.collations) if key_info is not None else []
    descs = list(key_info.desc) if key_info is not None else []

    def cmp(a, b):
        ncoll = len(colls)
        ndesc = len(descs)
        for i in range(min(len(a), len(b))):
            r = compare_values(a[i], b[i], colls[i] if i < ncoll else None)
            if r:
                return -r if i < ndesc and descs[i] else r
        return 0
    return cmp


class EphemeralCursor:
    """A temporary table (key_info None) or index, held in memory."""

    __slots__ = ("is_index", "keys", "payloads", "pos", "cmp", "_key", "_deleted")

    def __init__(self, key_info=None):
        self.is_index = key_info is not None
        self.keys = []
        self.payloads = []
        self.pos = -1
        self.cmp = key_comparator(key_info) if self.is_index else None
        self._key = cmp_to_key(self.cmp) if self.is_index else None
        self._deleted = False

    def _at(self, pos):
        self.pos = pos
        self._deleted = False
        return 0 <= pos < len(self.keys)

    def first(self):
        return self._at(0)

    def last(self):
        return self._at(len(self.keys) - 1)

    def next(self):
        if self._deleted:
            return self._at(self.pos)
        return self._at(self.pos + 1)

    def prev(self):
        self._deleted = False
        return self._at(self.pos - 1)

    def seek(self, key, op):
        keys = self.keys
        if self.is_index:
            kf = self._key
            probe = kf(list(key))
            lo = bisect_left(keys, probe, key=kf)
            hi = lo if op in (SEEK_GE, SEEK_LT) else bisect_right(keys, probe, key=kf)
        else:
            lo = bisect_left(keys, key)
            hi = bisect_right(keys, key)
        if op == SEEK_EQ:
            return self._at(lo) and lo < hi
        if op == SEEK_GE:
            return self._at(lo)
        if op == SEEK_GT:
            return self._at(hi)
        if op == SEEK_LE:
            return self._at(hi - 1)
        return self._at(lo - 1)

    def rowid(self):
        if self.is_index:
            return self.keys[self.pos][-1]
        return self.keys[self.pos]

    def record(self):
        if self.is_index:
            return ListRecord(self.keys[self.pos])
        p = self.payloads[self.pos]
        return ListRecord(p) if p.__class__ is list else Record(p)

    def payload(self):
        p = self.keys[self.pos] if self.is_index else self.payloads[self.pos]
        return encode_record(p) if p.__class__ is list else p

    def insert(self, key, payload):
        keys = self.keys
        if self.is_index:
            vals = decode_record(key) if key.__class__ is not list else key
            kf = self._key
            probe = kf(vals)
            i = bisect_left(keys, probe, key=kf)
            if i < len(keys) and len(keys[i]) == len(vals) and kf(keys[i]) == probe:
                # An equal key (under the index's collations) is replaced, as a B-tree insert does.
                keys[i] = vals
                self._at(i)
                return None
            keys.insert(i, vals)
            self._at(i)
            return None
        if not keys or key > keys[-1]:
            keys.append(key)
            self.payloads.append(payload)
            self._at(len(keys) - 1)
            return None
        i = bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            self.payloads[i] = payload
        else:
            keys.insert(i, key)
            self.payloads.insert(i, payload)
        self._at(i)
        return None

    def delete(self):
        pos = self.pos
        del self.keys[pos]
        if not self.is_index:
            del self.payloads[pos]
        self._deleted = True
        return None

    def count(self):
        return len(self.keys)

