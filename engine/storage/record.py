"""The record format, and the order of values and records (index keys).

A record is a header (its own size as a varint, then one serial type varint per column)
followed by the column bodies in order. Python values map to serial types: None 0,
int 1–6 or 8/9 (the constants 0 and 1, file format 4, as SQLite writes them), float 7
(big-endian IEEE double), bytes ≥12 even, str ≥13 odd (UTF-8). Reading accepts all of them.
Text that is not valid UTF-8 decodes with ``surrogateescape`` (never raises, and encoding
the str again restores the exact bytes); compare_values orders such strings by their bytes.

Order (sqlite3VdbeRecordCompare, sqlite3MemCompare): NULL < numbers < text < blob; ints and
floats compare exactly; text compares through a collation (BINARY memcmp of UTF-8, NOCASE
folds only A–Z, RTRIM ignores trailing spaces, or a user function in COLLATIONS).

Mirrors sqlite src/vdbeaux.c (sqlite3VdbeSerialType/Get, sqlite3VdbeRecordCompare),
Turso core/types.rs (ImmutableRecord, compare_immutable).
"""

import struct
from itertools import repeat as _repeat

from limbodb.errors import OperationalError, corrupt
from limbodb.storage.ondisk import get_varint, put_varint, varint_len

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_F64 = struct.Struct(">d")
_I16_unpack = _I16.unpack_from
_I32_unpack = _I32.unpack_from
_I64_unpack = _I64.unpack_from
_F64_unpack = _F64.unpack_from
_F64_pack = _F64.pack
_U64_unpack = struct.Struct(">Q").unpack_from

# Body size of serial types 0..127 (one-byte header varints, by far the common case).
# Types 10 and 11 are reserved; like SQLite, they occupy no bytes and read as NULL.
_SIZE = (0, 1, 2, 3, 4, 6, 8, 8, 0, 0, 0, 0) + tuple((t - 12) >> 1 for t in range(12, 128))

_MAX_6BYTE = 0x00007FFFFFFFFFFF


def serial_type_size(t):
    """Bytes of the body of a column with serial type ``t``."""
    return _SIZE[t] if t < 128 else (t - 12) >> 1


# --- Encoding -----------------------------------------------------------------------------


def _int_serial(v):
    """Smallest serial type holding int ``v`` (sqlite3VdbeSerialType)."""
    if v == 0:
        return 8
    if v == 1:
        return 9
    u = ~v if v < 0 else v
    if u <= 127:
        return 1
    if u <= 32767:
        return 2
    if u <= 8388607:
        return 3
    if u <= 2147483647:
        return 4
    if u <= _MAX_6BYTE:
        return 5
    if u <= 0x7FFFFFFFFFFFFFFF:
        return 6
    raise OverflowError("Python int too large to convert to SQLite INTEGER")


_INT_BYTES = (0, 1, 2, 3, 4, 6, 8)


def _slow_serial(v):
    """Serial type and body of a value that is not exactly None/int/float/str/bytes."""
    if isinstance(v, int):  # bool and int subclasses
        t = _int_serial(v)
        return t, int(v).to_bytes(_INT_BYTES[t], "big", signed=True) if t < 8 else b""
    if isinstance(v, float):
        v = float(v)
        return (0, b"") if v != v else (7, _F64_pack(v))
    if isinstance(v, str):
        b = str(v).encode("utf-8", "surrogateescape")
        return len(b) * 2 + 13, b
    if isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        return len(b) * 2 + 12, b
    raise TypeError(f"cannot store {v.__class__.__name__} in a record")


def encode_record(values):
    """Encode ``values`` (None, int, float, str, bytes-like) as a record.

    A float is always serial type 7 (even 1.0); for a REAL-affinity column pass the value
    through real_storage_value first, as SQLite's OP_MakeRecord does. A NaN is stored as
    NULL, as SQLite does. Ints beyond 64 bits raise OverflowError.
    """
    types = []
    bodies = []
    wide = False  # some serial type needs a multi-byte varint
    for v in values:
        c = v.__class__
        if c is int:
            # _int_serial, inlined: this is the hottest branch.
            if v == 0:
                types.append(8)
                continue
            if v == 1:
                types.append(9)
                continue
            u = ~v if v < 0 else v
            if u <= 127:
                t = 1
            elif u <= 32767:
                t = 2
            elif u <= 8388607:
                t = 3
            elif u <= 2147483647:
                t = 4
            else:
                t = _int_serial(v)
            types.append(t)
            bodies.append(v.to_bytes(_INT_BYTES[t], "big", signed=True))
        elif c is str:
            b = v.encode("utf-8", "surrogateescape")
            t = len(b) * 2 + 13
            if t > 127:
                wide = True
            types.append(t)
            bodies.append(b)
        elif c is float:
            if v != v:
                types.append(0)
            else:
                types.append(7)
                bodies.append(_F64_pack(v))
        elif v is None:
            types.append(0)
        else:
            if c is bytes:
                t = len(v) * 2 + 12
                b = v
            else:
                t, b = _slow_serial(v)
            if t > 127:
                wide = True
            types.append(t)
            bodies.append(b)
    n = len(types)
    if not wide:
        if n < 127:
            return bytes((n + 1, *types)) + b"".join(bodies)
        header = bytes(types)
    else:
        header = b"".join([put_varint(t) for t in types])
    # The header size counts its own varint, which may need one more byte than its digits.
    size = len(header) + 1
    size = len(header) + varint_len(size)
    size = len(header) + varint_len(size)
    return put_varint(size) + header + b"".join(bodies)


_REAL_AS_INT_LIMIT = 1 << 47


def real_storage_value(v):
    """The value SQLite writes for number ``v`` in a REAL-affinity column.

    An integral value within ±2**47 is stored as an integer (smaller on disk, exact) and
    becomes a float again when the column is read with its affinity; anything else is
    stored as a float (applyAffinity + OP_MakeRecord's MEM_IntReal in vdbe.c).
    """
    if v.__class__ is float:
        if v.is_integer() and -_REAL_AS_INT_LIMIT <= v < _REAL_AS_INT_LIMIT:
            return int(v)
        return v
    if -_REAL_AS_INT_LIMIT <= v < _REAL_AS_INT_LIMIT:
        return v
    return float(v)


# --- Decoding -----------------------------------------------------------------------------


# Parsed headers by their bytes: rows of one table or index mostly repeat a few headers,
# and a dict hit costs a quarter of a parse. Bounded by clearing, which is cheap and rare.
_HEADER_CACHE = {}
_HEADER_CACHE_MAX = 4096


def _parse_header(p):
    """Serial types and body offsets of record ``p``: two tuples, one entry per column."""
    if not p:
        return (), ()
    hsize = p[0]
    if hsize < 0x80:
        key = p[:hsize]
        if key.__class__ is not bytes:
            key = bytes(key)
        hit = _HEADER_CACHE.get(key)
        if hit is None:
            hit = _cache_header(key, p)
        if hit[2] > len(p):
            raise corrupt()
        return hit[0], hit[1]
    hit = _parse_header_slow(p)
    return hit[0], hit[1]


def _cache_header(key, p):
    """Parse the header of ``p`` and remember it under ``key``."""
    hit = _parse_header_slow(p)
    if len(_HEADER_CACHE) >= _HEADER_CACHE_MAX:
        _HEADER_CACHE.clear()
    _HEADER_CACHE[key] = hit
    return hit


def _parse_header_slow(p):
    """(types, offsets, end of the last body) of a non-empty record ``p``."""
    end = len(p)
    hsize, i = get_varint(p, 0)
    if hsize > end or hsize < i:
        raise corrupt()
    types = []
    offsets = []
    off = hsize
    size = _SIZE
    while i < hsize:
        t = p[i]
        if t < 0x80:
            i += 1
            types.append(t)
            offsets.append(off)
            off += size[t]
        else:
            try:
                t, n = get_varint(p, i)
            except IndexError:
                raise corrupt() from None
            i += n
            types.append(t)
            offsets.append(off)
            off += (t - 12) >> 1 if t >= 12 else size[t]
    if off > end or i > hsize:
        raise corrupt()
    return tuple(types), tuple(offsets), off


# Values of the serial types with no body: 0 NULL, 8 and 9 the integers 0 and 1, and the
# reserved 10 and 11, which SQLite reads as NULL.
_CONSTANT = (None, None, None, None, None, None, None, None, 0, 1, None, None)


def _int24(p, o):
    v = (p[o] << 16) | (p[o + 1] << 8) | p[o + 2]
    return v - 0x1000000 if v & 0x800000 else v


def _int48(p, o):
    return _I64_unpack(b"\xff\xff" + p[o:o + 6] if p[o] & 0x80 else b"\0\0" + p[o:o + 6])[0]


# Decoders of the serial types 2-7 with a body: (payload, offset) -> value.
_UNPACK = (None, None, lambda p, o: _I16_unpack(p, o)[0], _int24, lambda p, o: _I32_unpack(p, o)[0],
           _int48, lambda p, o: _I64_unpack(p, o)[0], lambda p, o: _F64_unpack(p, o)[0])


def _value(p, t, o):
    """Decode the body of serial type ``t`` at offset ``o`` of record ``p``."""
    if t >= 12:
        if t & 1:
            return str(p[o:o + ((t - 13) >> 1)], "utf-8", "surrogateescape")
        return bytes(p[o:o + ((t - 12) >> 1)])
    if t == 1:
        v = p[o]
        return v - 256 if v >= 128 else v
    if t > 7 or not t:
        return _CONSTANT[t]
    if t == 7:
        return _F64_unpack(p, o)[0]
    if t == 2:
        return _I16_unpack(p, o)[0]
    if t == 4:
        return _I32_unpack(p, o)[0]
    if t == 6:
        return _I64_unpack(p, o)[0]
    return int.from_bytes(p[o:o + _SIZE[t]], "big", signed=True)  # 3 and 5


def column_at(p, start, end, i):
    """Column ``i`` of the record ``p[start:end]`` (a cell on a page), without copying it.

    The same value as ``Record(p[start:end]).column(i)``, with the same corruption checks;
    B-tree scans use it to fill a leaf's column cache (BTreeCursor.column).
    """
    if start >= end:
        return None
    hsize = p[start]
    if hsize <= 8 and start + 8 <= len(p):
        # Record._parse's int key of a short header (bytes past the header are shifted out).
        key = _U64_unpack(p, start)[0] >> (64 - 8 * hsize)
    elif hsize < 0x80:
        key = bytes(p[start:start + hsize])
    else:
        key = None
    hit = None if key is None else _HEADER_CACHE.get(key)
    if hit is None:
        hit = _parse_header_slow(p[start:end]) if key is None else _cache_header(key, p[start:end])
    if hit[2] > end - start:
        raise corrupt()
    types = hit[0]
    if i >= len(types):
        return None
    return _value(p, types[i], start + hit[1][i])


def decode_record(payload):
    """All column values of a record, as a list."""
    types, offsets = _parse_header(payload)
    return list(map(_value, _repeat(payload), types, offsets))


class Record:
    """A stored record whose header is parsed on first use and columns decoded on demand.

    ``payload`` may be bytes, bytearray or memoryview; it must not change while the
    Record is in use. A column past the end reads as NULL (rows written before
    ALTER TABLE ADD COLUMN); the caller substitutes the column default.
    """

    __slots__ = ("payload", "_types", "_offsets")

    def __init__(self, payload):
        self.payload = payload
        self._types = None
        self._offsets = None

    def _parse(self):
        p = self.payload
        n = len(p)
        if n >= 8 and p[0] <= 8:
            # A header of at most 8 bytes (up to 7 columns), keyed as the int its bytes
            # spell: one unpack, no slice and no bytes object to hash.
            key = _U64_unpack(p)[0] >> (64 - 8 * p[0])
            hit = _HEADER_CACHE.get(key)
            if hit is None:
                hit = _cache_header(key, p)
            if hit[2] > n:
                raise corrupt()
            self._offsets = hit[1]
            types = self._types = hit[0]
            return types
        if n and p[0] < 0x80:
            # _parse_header's cache hit, inlined: this runs once per row read.
            hit = _HEADER_CACHE.get(bytes(p[:p[0]]))
            if hit is not None and hit[2] <= n:
                self._offsets = hit[1]
                types = self._types = hit[0]
                return types
        self._types, self._offsets = _parse_header(p)
        return self._types

    @property
    def ncols(self):
        types = self._types
        if types is None:
            types = self._parse()
        return len(types)

    def column(self, i):
        types = self._types
        if types is None:
            p = self.payload
            n = len(p)
            if n >= 8 and p[0] <= 8:
                # _parse's cache hit, inlined: the first column read of each row gets here.
                hit = _HEADER_CACHE.get(_U64_unpack(p)[0] >> (64 - 8 * p[0]))
                if hit is not None and hit[2] <= n:
                    self._offsets = hit[1]
                    types = self._types = hit[0]
            if types is None:
                types = self._parse()
        try:
            t = types[i]
        except IndexError:
            return None
        # The common serial types inline (see _value); struct.unpack_from and byte
        # indexing cost a third of int.from_bytes with its slice and keywords.
        if t >= 12:
            o = self._offsets[i]
            if t & 1:
                return str(self.payload[o:o + ((t - 13) >> 1)], "utf-8", "surrogateescape")
            return bytes(self.payload[o:o + ((t - 12) >> 1)])
        if t == 1:
            v = self.payload[self._offsets[i]]
            return v - 256 if v >= 128 else v
        if t > 7 or not t:
            return _CONSTANT[t]
        if t == 2:
            return _I16_unpack(self.payload, self._offsets[i])[0]
        if t == 3:
            p = self.payload
            o = self._offsets[i]
            v = (p[o] << 16) | (p[o + 1] << 8) | p[o + 2]
            return v - 0x1000000 if v & 0x800000 else v
        return _UNPACK[t](self.payload, self._offsets[i])

    def serial_type(self, i):
        """Serial type of column ``i`` (0, NULL, for columns past the end)."""
        types = self._types
        if types is None:
            types = self._parse()
        return types[i] if i < len(types) else 0

    def values(self):
        types = self._types
        if types is None:
            types = self._parse()
        return list(map(_value, _repeat(self.payload), types, self._offsets))

    def __repr__(self):
        return f"Record({self.values()!r})"


# --- Collations ---------------------------------------------------------------------------


def _utf8(s):
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # A lone surrogate that did not come from decoding a record: order it by the bytes
        # CESU-style encoding gives it, rather than failing a comparison.
        return s.encode("utf-8", "surrogatepass")


def _binary(a, b):
    """memcmp of the UTF-8 bytes. Code point order equals UTF-8 byte order except for the
    surrogate escapes of invalid bytes, which can only occur in non-ASCII strings."""
    if not (a.isascii() or b.isascii()):
        a = _utf8(a)
        b = _utf8(b)
    return (a > b) - (a < b)


# Only A–Z fold, as sqlite3UpperToLower does; str.lower() would fold much more.
_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}


def _nocase(a, b):
    a = a.lower() if a.isascii() else a.translate(_ASCII_LOWER)
    b = b.lower() if b.isascii() else b.translate(_ASCII_LOWER)
    if "\x00" in a:
        # sqlite3StrNICmp stops at a NUL in the left string: once both share a prefix up
        # to that NUL, only the byte lengths decide (nocaseCollatingFunc).
        z = a.index("\x00")
        if a[:z + 1] == b[:z + 1]:
            na = len(_utf8(a))
            nb = len(_utf8(b))
            return (na > nb) - (na < nb)
    return _binary(a, b)


def _rtrim(a, b):
    return _binary(a.rstrip(" "), b.rstrip(" "))


class _CollationRegistry(dict):
    """Collation functions by case-insensitive name; fn(str, str) -> negative, 0, positive."""

    __slots__ = ()

    def __setitem__(self, name, fn):
        dict.__setitem__(self, name.upper(), fn)

    def __getitem__(self, name):
        return dict.__getitem__(self, name.upper())

    def __delitem__(self, name):
        dict.__delitem__(self, name.upper())

    def __contains__(self, name):
        return dict.__contains__(self, name.upper())

    def get(self, name, default=None):
        return dict.get(self, name.upper(), default)

    def pop(self, name, *default):
        return dict.pop(self, name.upper(), *default)


COLLATIONS = _CollationRegistry()
COLLATIONS["BINARY"] = _binary
COLLATIONS["NOCASE"] = _nocase
COLLATIONS["RTRIM"] = _rtrim


def collation_function(name):
    """The function for collation ``name``; OperationalError as SQLite reports an unknown one."""
    fn = COLLATIONS.get(name)
    if fn is None:
        raise OperationalError(f"no such collation sequence: {name}")
    return fn


# --- Value order --------------------------------------------------------------------------

# Storage class rank: NULL < INTEGER/REAL < TEXT < BLOB.
_RANK = {type(None): 0, int: 1, float: 1, bool: 1, str: 2, bytes: 3, bytearray: 3, memoryview: 3}


def _rank(v):
    r = _RANK.get(v.__class__)
    if r is not None:
        return r
    if isinstance(v, (int, float)):
        return 1
    if isinstance(v, str):
        return 2
    if isinstance(v, (bytes, bytearray, memoryview)):
        return 3
    raise TypeError(f"cannot compare {v.__class__.__name__} as an SQL value")


def compare_values(a, b, collation=None):
    """-1, 0 or 1 as ``a`` sorts before, with, or after ``b`` in SQLite's order.

    ``collation`` (used only when both are text) is None (BINARY), a collation name, or a
    function fn(str, str) -> int. Python compares int with float exactly, with no lossy
    conversion near 2**63, which is what sqlite3IntFloatCompare achieves in C.
    """
    ca = a.__class__
    if ca is b.__class__:
        if ca is str:
            if collation is None:
                if a.isascii() or b.isascii():
                    return (a > b) - (a < b)
                return _binary(a, b)
            fn = collation if callable(collation) else collation_function(collation)
            r = fn(a, b)
            return (r > 0) - (r < 0)
        if a is None:
            return 0
        if ca is memoryview:
            a = bytes(a)
            b = bytes(b)
        return (a > b) - (a < b)
    ra = _rank(a)
    rb = _rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == 3:
        a = bytes(a)
        b = bytes(b)
    elif ra == 2:
        return compare_values(str(a), str(b), collation)
    return (a > b) - (a < b)


class KeyInfo:
    """How an index key compares: a collation name (None: BINARY) and a DESC flag per column.

    Columns beyond the given lists compare BINARY ascending. Collation names resolve on the
    first comparison, so an index may name a collation registered after the schema loads.
    """

    __slots__ = ("collations", "desc", "_plan", "_binary_asc")

    def __init__(self, collations, desc=None):
        self.collations = list(collations)
        self.desc = list(desc) if desc is not None else [False] * len(self.collations)
        self._plan = None
        self._binary_asc = None

    def _resolve(self):
        """Per column: (collation function or None for BINARY, DESC flag)."""
        n = max(len(self.collations), len(self.desc))
        plan = []
        for i in range(n):
            name = self.collations[i] if i < len(self.collations) else None
            fn = None if name is None or name.upper() == "BINARY" else collation_function(name)
            plan.append((fn, bool(self.desc[i]) if i < len(self.desc) else False))
        self._plan = plan
        return plan

    def binary_asc(self):
        """True if every column compares BINARY ascending (so sort_key() orders keys).

        Kept after the first call: every index cursor opened asks.
        """
        r = self._binary_asc
        if r is None:
            r = self._binary_asc = not any(self.desc) and all(
                c is None or c.upper() == "BINARY" for c in self.collations)
        return r

    def __repr__(self):
        return f"KeyInfo({self.collations!r}, {self.desc!r})"


_BINARY_ASC = (None, False)


def sort_key(values):
    """A tuple Python orders as SQLite orders these values under BINARY ASC, or None.

    Each value becomes (storage class rank, value): NULL < numbers < text < blob, ints and
    floats compared exactly. B-tree search bisects over these instead of calling
    compare_record per probe. None when Python's order could differ: NaN, text with the
    surrogate escapes of invalid UTF-8 (code point order is not byte order there), or a
    value of another type.
    """
    if len(values) == 2:
        # An index on one integer column: its key is (value, rowid).
        a, b = values
        if a.__class__ is int and b.__class__ is int:
            return (1, a, 1, b)
    out = []
    for v in values:
        c = v.__class__
        if c is int:
            out += (1, v)
        elif c is str:
            if not v.isascii():
                try:
                    v.encode("utf-8")
                except UnicodeEncodeError:
                    return None
            out += (2, v)
        elif v is None:
            out += (0, 0)
        elif c is float:
            if v != v:
                return None
            out += (1, v)
        elif c is bytes:
            out += (3, v)
        else:
            return None
    return tuple(out)


def compare_record(rec, key_values, key_info):
    """Compare stored record ``rec`` (payload or Record) with the unpacked key ``key_values``.

    Only the first len(key_values) columns take part (a prefix key compares equal to every
    record it prefixes); if the record has fewer columns, the comparison stops there with 0,
    as sqlite3VdbeRecordCompare does. Columns are decoded only until one differs.
    """
    if rec.__class__ is Record:
        p = rec.payload
        types = rec._types
        if types is None:
            types = rec._parse()
        offsets = rec._offsets
    else:
        p = rec
        types, offsets = _parse_header(p)
    plan = key_info._plan
    if plan is None:
        plan = key_info._resolve()
    nplan = len(plan)
    for i in range(min(len(key_values), len(types))):
        a = _value(p, types[i], offsets[i])
        b = key_values[i]
        fn, desc = plan[i] if i < nplan else _BINARY_ASC
        c = a.__class__
        if c is b.__class__ and c is not str and c is not memoryview:
            if a == b:
                continue
            r = 1 if a > b else -1
        elif fn is not None and c is str and b.__class__ is str:
            r = fn(a, b)
            if not r:
                continue
            r = 1 if r > 0 else -1
        else:
            r = compare_values(a, b)
            if not r:
                continue
        return -r if desc else r
    return 0


def compare_records(a, b, key_info):
    """Compare two stored records (payloads or Records) column by column with ``key_info``.

    Compares the columns both records have (decoding them only until one differs); equal on
    those means 0.
    """
    if a.__class__ is not Record:
        a = Record(a)
    if b.__class__ is not Record:
        b = Record(b)
    ta = a._types
    if ta is None:
        ta = a._parse()
    tb = b._types
    if tb is None:
        tb = b._parse()
    pa = a.payload
    pb = b.payload
    oa = a._offsets
    ob = b._offsets
    plan = key_info._plan
    if plan is None:
        plan = key_info._resolve()
    nplan = len(plan)
    for i in range(min(len(ta), len(tb))):
        x = _value(pa, ta[i], oa[i])
        y = _value(pb, tb[i], ob[i])
        fn, desc = plan[i] if i < nplan else _BINARY_ASC
        c = x.__class__
        if c is y.__class__ and c is not str:
            if x == y:
                continue
            r = 1 if x > y else -1
        elif fn is not None and c is str and y.__class__ is str:
            r = fn(x, y)
            if not r:
                continue
            r = 1 if r > 0 else -1
        else:
            r = compare_values(x, y)
            if not r:
                continue
        return -r if desc else r
    return 0
