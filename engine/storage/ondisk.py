"""On-disk encodings shared by the storage layer: varints, B-tree page layout, payload spill.

Owns SQLite's variable-length integer (1–9 bytes), the B-tree page types and page header
layout, the four cell layouts (as OFFSET/SIZE/DESCRIPTION tables, like btreeInt.h) and the
formulas that decide how much of a cell's payload stays on the page and how much spills to
overflow pages. Editing cells inside a page belongs to btree.py, not here.

Invariant: every multi-byte integer on disk is big-endian. Varints hold unsigned 64-bit
values; rowids are signed: put_varint stores a negative as its 64-bit two's complement (a
9-byte varint) and get_varint_signed reads it back, so negative rowids round-trip.

Mirrors sqlite src/btreeInt.h and src/util.c (sqlite3GetVarint/sqlite3PutVarint),
Turso core/storage/sqlite3_ondisk.rs.
"""

import struct

# --- Varints ------------------------------------------------------------------------------
#
# A varint is 1–9 bytes. Bytes 1–8 carry 7 bits each, high bit set meaning "more follows";
# a 9th byte, if reached, carries a full 8 bits. Big-endian: the first byte holds the most
# significant group. The encoder always uses the shortest form, as SQLite does.

_U64 = 0xFFFFFFFFFFFFFFFF
_I64_SIGN = 1 << 63


def get_varint(buf, off):
    """Decode the varint at ``buf[off]``: return ``(value, nbytes)``; value is unsigned 64-bit.

    ``buf`` is bytes, bytearray or memoryview. A varint running off the end of ``buf``
    raises IndexError; callers reading untrusted pages check bounds and report corruption.
    """
    b = buf[off]
    if b < 0x80:
        return b, 1
    v = b & 0x7F
    b = buf[off + 1]
    if b < 0x80:
        return (v << 7) | b, 2
    v = (v << 7) | (b & 0x7F)
    for i in range(2, 8):
        b = buf[off + i]
        if b < 0x80:
            return (v << 7) | b, i + 1
        v = (v << 7) | (b & 0x7F)
    return (v << 8) | buf[off + 8], 9


def get_varint_signed(buf, off):
    """Like get_varint, but the value is read as a signed 64-bit integer (a rowid)."""
    v, n = get_varint(buf, off)
    if v >= _I64_SIGN:
        v -= 1 << 64
    return v, n


# One-byte encodings (values 0-127) are by far the most common (record headers, small rowids).
VARINT_1 = tuple(bytes((i,)) for i in range(128))


def put_varint(v):
    """Encode ``v`` as a varint. Negative values are stored as their 64-bit two's complement."""
    if 0 <= v < 0x80:
        return VARINT_1[v]
    v &= _U64
    if v < 0x4000:
        return bytes(((v >> 7) | 0x80, v & 0x7F))
    if v < 0x200000:
        # Rowids up to two million: the common case past two bytes, without the loop.
        return bytes(((v >> 14) | 0x80, ((v >> 7) & 0x7F) | 0x80, v & 0x7F))
    if v >> 56:
        # Nine bytes: the low 8 bits go whole into the last byte.
        out = bytearray(9)
        out[8] = v & 0xFF
        v >>= 8
        for i in range(7, -1, -1):
            out[i] = (v & 0x7F) | 0x80
            v >>= 7
        return bytes(out)
    n = (v.bit_length() + 6) // 7
    out = bytearray(n)
    out[n - 1] = v & 0x7F
    v >>= 7
    for i in range(n - 2, -1, -1):
        out[i] = (v & 0x7F) | 0x80
        v >>= 7
    return bytes(out)


def varint_len(v):
    """Number of bytes put_varint(v) produces (negatives count as 9)."""
    if 0 <= v < 0x80:
        return 1
    v &= _U64
    if v >> 56:
        return 9
    return (v.bit_length() + 6) // 7


# --- B-tree pages -------------------------------------------------------------------------
#
# Page types (the first byte of the B-tree page header).
PAGE_INDEX_INTERIOR = 2
PAGE_TABLE_INTERIOR = 5
PAGE_INDEX_LEAF = 10
PAGE_TABLE_LEAF = 13

# The B-tree page header starts at offset 100 on page 1 (after the database header) and at
# offset 0 on every other page.
#
#   OFFSET  SIZE  DESCRIPTION
#      0      1   page type: 2, 5, 10 or 13 (flags: 1 intkey, 2 zerodata, 4 leafdata, 8 leaf)
#      1      2   byte offset of the first freeblock, 0 if none
#      3      2   number of cells on the page
#      5      2   start of the cell content area (0 means 65536)
#      7      1   number of fragmented free bytes in the cell content area
#      8      4   right-most child pointer (interior pages only)
#
# The cell pointer array follows the header: one 2-byte offset per cell, in key order.
# A freeblock is: 2 bytes offset of the next freeblock (0 ends the chain), 2 bytes its size.
HDR_TYPE = 0
HDR_FIRST_FREEBLOCK = 1
HDR_NCELLS = 3
HDR_CONTENT_START = 5
HDR_FRAGMENTED = 7
HDR_RIGHT_CHILD = 8
LEAF_HEADER_SIZE = 8
INTERIOR_HEADER_SIZE = 12
DB_HEADER_SIZE = 100  # page 1 only

# type, first freeblock, ncells, content start, fragmented bytes [, right-most child]
LEAF_HEADER = struct.Struct(">BHHHB")
INTERIOR_HEADER = struct.Struct(">BHHHBI")
U16 = struct.Struct(">H")
U32 = struct.Struct(">I")


def is_leaf(page_type):
    return page_type == PAGE_TABLE_LEAF or page_type == PAGE_INDEX_LEAF


def header_size(page_type):
    """Size of the B-tree page header for ``page_type`` (8 on leaves, 12 on interior pages)."""
    if page_type == PAGE_TABLE_LEAF or page_type == PAGE_INDEX_LEAF:
        return LEAF_HEADER_SIZE
    return INTERIOR_HEADER_SIZE


# Cell layouts (P = payload size, L = bytes of payload kept on the page, see below):
#
#   Table leaf (13):       OFFSET  SIZE  DESCRIPTION
#                             0    1-9   varint P
#                             .    1-9   varint rowid (signed 64-bit)
#                             .     L    payload (head of the record)
#                             .     4    first overflow page (only if L < P)
#   Table interior (5):       0     4    left child page number
#                             4    1-9   varint rowid: the largest rowid in the left subtree
#   Index leaf (10):          0    1-9   varint P
#                             .     L    payload (head of the record)
#                             .     4    first overflow page (only if L < P)
#   Index interior (2):       0     4    left child page number
#                             4    1-9   varint P
#                             .     L    payload
#                             .     4    first overflow page (only if L < P)
#
# An overflow page is: 4 bytes next overflow page (0 on the last), then usable_size-4 bytes
# of payload.
OVERFLOW_HEADER_SIZE = 4
MIN_CELL_SIZE = 4  # a smaller cell is padded to 4 bytes so it can become a freeblock


# --- Payload spill ------------------------------------------------------------------------
#
# For usable size U and payload size P (SQLite file format §1.6, "B-tree Pages"):
#   table leaf:  X = U - 35
#   index pages: X = ((U - 12) * 64 // 255) - 23
#   both:        M = ((U - 12) * 32 // 255) - 23,  K = M + ((P - M) % (U - 4))
#   if P <= X, all P bytes are local; else K bytes if K <= X; else M bytes.
# Table interior cells carry no payload.


def max_local(is_table_leaf, usable_size):
    """X: the largest payload kept entirely on a page of this kind."""
    if is_table_leaf:
        return usable_size - 35
    return ((usable_size - 12) * 64 // 255) - 23


def min_local(usable_size):
    """M: the least payload kept on the page once a cell spills."""
    return ((usable_size - 12) * 32 // 255) - 23


def local_payload_size(is_table_leaf, payload_len, usable_size):
    """Bytes of a ``payload_len``-byte payload stored on the B-tree page itself."""
    if is_table_leaf:
        x = usable_size - 35
    else:
        x = ((usable_size - 12) * 64 // 255) - 23
    if payload_len <= x:
        return payload_len
    m = ((usable_size - 12) * 32 // 255) - 23
    k = m + (payload_len - m) % (usable_size - 4)
    return k if k <= x else m


def overflow_page_count(is_table_leaf, payload_len, usable_size):
    """How many overflow pages a payload of ``payload_len`` bytes needs."""
    rest = payload_len - local_payload_size(is_table_leaf, payload_len, usable_size)
    per_page = usable_size - OVERFLOW_HEADER_SIZE
    return (rest + per_page - 1) // per_page
