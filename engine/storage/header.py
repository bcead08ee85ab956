"""The 100-byte database header at the start of page 1.

Owns the field table (fileformat2 §1.3), validation of a header read from disk and the
bytes of page 1 for a new database (header plus an empty table-leaf b-tree page, the root
of sqlite_schema). Fields are read and written in place on page 1's bytearray, so the
header is always exactly what page 1 holds; nothing here does I/O.

OFFSET SIZE DESCRIPTION
     0   16 "SQLite format 3\\0"
    16    2 page size (1 means 65536)
    18    1 file format write version (1 legacy/rollback, 2 WAL)
    19    1 file format read version (1 legacy/rollback, 2 WAL)
    20    1 reserved bytes at the end of each page
    21    3 payload fractions: 64, 32, 32
    24    4 file change counter          28 4 database size in pages
    32    4 first freelist trunk page    36 4 total freelist pages
    40    4 schema cookie                44 4 schema format (1..4)
    48    4 default page cache size      52 4 largest root page (auto-vacuum)
    56    4 text encoding (1 UTF-8)      60 4 user version
    64    4 incremental vacuum flag      68 4 application id
    72   20 reserved, zero               92 4 version-valid-for (change counter)
    96    4 SQLITE_VERSION_NUMBER of the last writer
Mirrors sqlite src/btree.c (lockBtree, newDatabase), Turso core/storage/sqlite3_ondisk.rs.
"""

import struct

from limbodb.errors import DatabaseError, NotSupportedError, SQLITE_NOTADB, corrupt

MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100
DEFAULT_PAGE_SIZE = 4096
SQLITE_VERSION_NUMBER = 3040001
MIN_PAGE_SIZE = 512
MAX_PAGE_SIZE = 65536

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")

# name -> (offset, size): the fields set_header_field may change are the 4-byte ones.
FIELDS = {
    "page_size": (16, 2),
    "write_version": (18, 1),
    "read_version": (19, 1),
    "reserved_space": (20, 1),
    "change_counter": (24, 4),
    "database_size": (28, 4),
    "freelist_trunk": (32, 4),
    "freelist_count": (36, 4),
    "schema_cookie": (40, 4),
    "schema_format": (44, 4),
    "default_cache_size": (48, 4),
    "largest_root_page": (52, 4),
    "text_encoding": (56, 4),
    "user_version": (60, 4),
    "incremental_vacuum": (64, 4),
    "application_id": (68, 4),
    "version_valid_for": (92, 4),
    "version_number": (96, 4),
}

# Fields stored as signed 32-bit integers (SQLite reads them with get4byte then casts).
_SIGNED = frozenset(("default_cache_size", "user_version", "application_id"))


def get_field(data, name):
    """Read header field ``name`` from page 1's bytes."""
    off, size = FIELDS[name]
    if size == 4:
        v = _U32.unpack_from(data, off)[0]
        if name in _SIGNED and v >= 0x80000000:
            v -= 1 << 32
        return v
    if size == 2:
        v = _U16.unpack_from(data, off)[0]
        return 65536 if v == 1 else v
    return data[off]


def set_field(data, name, value):
    """Write header field ``name`` into page 1's bytes (a bytearray)."""
    off, size = FIELDS[name]
    if size == 4:
        _U32.pack_into(data, off, value & 0xFFFFFFFF)
    elif size == 2:
        _U16.pack_into(data, off, 1 if value == 65536 else value)
    else:
        data[off] = value


def page_size_ok(ps):
    return MIN_PAGE_SIZE <= ps <= MAX_PAGE_SIZE and ps & (ps - 1) == 0


class HeaderInfo:
    """What the pager needs from a validated header."""

    __slots__ = ("page_size", "reserved", "db_size", "write_version", "read_version")

    def __init__(self, page_size, reserved, db_size, write_version, read_version):
        self.page_size = page_size
        self.reserved = reserved
        self.db_size = db_size
        self.write_version = write_version
        self.read_version = read_version


def parse_header(data, file_size):
    """Validate the first 100 bytes of a database file; return a HeaderInfo.

    ``file_size`` is the database file's length in bytes: the header's page count is
    trusted only when the change counter equals version-valid-for (fileformat2 §1.3.7).
    """
    if len(data) < HEADER_SIZE or bytes(data[:16]) != MAGIC:
        raise DatabaseError("file is not a database", SQLITE_NOTADB)
    ps = get_field(data, "page_size")
    if not page_size_ok(ps):
        raise DatabaseError("file is not a database", SQLITE_NOTADB)
    wv, rv = data[18], data[19]
    if wv == rv == 255:
        # Turso's MVCC database (limbodb/mvcc.py): B-tree pages as SQLite's, plus a -log.
        pass
    elif rv > 2:
        raise DatabaseError("file is not a database", SQLITE_NOTADB)
    elif wv > 2:
        # SQLite opens such a file read-only; limbodb only opens files it may write.
        raise NotSupportedError("database file format write version %d is not supported" % wv)
    reserved = data[20]
    if ps - reserved < 480 or data[21] != 64 or data[22] != 32 or data[23] != 32:
        raise corrupt()
    enc = get_field(data, "text_encoding")
    if enc in (2, 3):
        raise NotSupportedError("UTF-16 databases are not supported (text encoding %d)" % enc)
    if enc not in (0, 1):
        raise corrupt()
    n = get_field(data, "database_size")
    if n == 0 or get_field(data, "change_counter") != get_field(data, "version_valid_for"):
        n = file_size // ps
    return HeaderInfo(ps, reserved, n, wv, rv)


def new_page1(page_size=DEFAULT_PAGE_SIZE, wal=True, reserved=0):
    """Page 1 of a new database: the header and an empty sqlite_schema table leaf.

    Matches what sqlite3 writes on its first commit (change counter 1, page count 1,
    schema format 4, UTF-8), so `PRAGMA integrity_check` passes on the file.
    ``reserved`` bytes at the end of every page are left to encryption (nonce and tag).
    """
    data = bytearray(page_size)
    data[0:16] = MAGIC
    set_field(data, "page_size", page_size)
    data[18] = data[19] = 2 if wal else 1
    data[20] = reserved
    data[21:24] = b"\x40\x20\x20"
    for name, value in (("change_counter", 1), ("database_size", 1), ("schema_format", 4),
                        ("text_encoding", 1), ("version_valid_for", 1),
                        ("version_number", SQLITE_VERSION_NUMBER)):
        set_field(data, name, value)
    # Empty table-leaf page header: type 13, no freeblock, no cells, content at page end.
    data[100] = 13
    _U16.pack_into(data, 105, (page_size - reserved) & 0xFFFF)
    return data
