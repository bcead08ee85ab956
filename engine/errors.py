"""SQLite result codes and limbodb's one exception hierarchy.

The classes have the DB-API 2.0 shape of the standard ``sqlite3`` module and use
the same code-to-class mapping as CPython's Modules/_sqlite/util.c, so code
written against ``sqlite3`` catches the same exceptions with the same messages.
Every error carries SQLite's extended result code (``sqlite_errorcode``) and its
name (``sqlite_errorname``). I/O errors also carry the operation and offset.
"""

# Primary result codes (sqlite3.h).
SQLITE_OK = 0
SQLITE_ERROR = 1
SQLITE_INTERNAL = 2
SQLITE_PERM = 3
SQLITE_ABORT = 4
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_NOMEM = 7
SQLITE_READONLY = 8
SQLITE_INTERRUPT = 9
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_NOTFOUND = 12
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_PROTOCOL = 15
SQLITE_EMPTY = 16
SQLITE_SCHEMA = 17
SQLITE_TOOBIG = 18
SQLITE_CONSTRAINT = 19
SQLITE_MISMATCH = 20
SQLITE_MISUSE = 21
SQLITE_NOLFS = 22
SQLITE_AUTH = 23
SQLITE_FORMAT = 24
SQLITE_RANGE = 25
SQLITE_NOTADB = 26
SQLITE_NOTICE = 27
SQLITE_WARNING = 28
SQLITE_ROW = 100
SQLITE_DONE = 101

# Extended result codes used by limbodb.
SQLITE_IOERR_READ = SQLITE_IOERR | (1 << 8)
SQLITE_IOERR_SHORT_READ = SQLITE_IOERR | (2 << 8)
SQLITE_IOERR_WRITE = SQLITE_IOERR | (3 << 8)
SQLITE_IOERR_FSYNC = SQLITE_IOERR | (4 << 8)
SQLITE_IOERR_TRUNCATE = SQLITE_IOERR | (6 << 8)
SQLITE_IOERR_FSTAT = SQLITE_IOERR | (7 << 8)
SQLITE_IOERR_UNLOCK = SQLITE_IOERR | (8 << 8)
SQLITE_IOERR_LOCK = SQLITE_IOERR | (15 << 8)
SQLITE_IOERR_CLOSE = SQLITE_IOERR | (16 << 8)
SQLITE_IOERR_DELETE = SQLITE_IOERR | (10 << 8)
SQLITE_BUSY_RECOVERY = SQLITE_BUSY | (1 << 8)
SQLITE_BUSY_SNAPSHOT = SQLITE_BUSY | (2 << 8)
SQLITE_CANTOPEN_ISDIR = SQLITE_CANTOPEN | (2 << 8)
SQLITE_CORRUPT_PAGE = SQLITE_CORRUPT | (3 << 8)
SQLITE_READONLY_DBMOVED = SQLITE_READONLY | (4 << 8)
SQLITE_ABORT_ROLLBACK = SQLITE_ABORT | (2 << 8)
SQLITE_CONSTRAINT_CHECK = SQLITE_CONSTRAINT | (1 << 8)
SQLITE_CONSTRAINT_COMMITHOOK = SQLITE_CONSTRAINT | (2 << 8)
SQLITE_CONSTRAINT_FOREIGNKEY = SQLITE_CONSTRAINT | (3 << 8)
SQLITE_CONSTRAINT_FUNCTION = SQLITE_CONSTRAINT | (4 << 8)
SQLITE_CONSTRAINT_NOTNULL = SQLITE_CONSTRAINT | (5 << 8)
SQLITE_CONSTRAINT_PRIMARYKEY = SQLITE_CONSTRAINT | (6 << 8)
SQLITE_CONSTRAINT_TRIGGER = SQLITE_CONSTRAINT | (7 << 8)
SQLITE_CONSTRAINT_UNIQUE = SQLITE_CONSTRAINT | (8 << 8)
SQLITE_CONSTRAINT_VTAB = SQLITE_CONSTRAINT | (9 << 8)
SQLITE_CONSTRAINT_ROWID = SQLITE_CONSTRAINT | (10 << 8)
SQLITE_CONSTRAINT_DATATYPE = SQLITE_CONSTRAINT | (12 << 8)

_NAMES = {v: k for k, v in list(globals().items()) if k.startswith("SQLITE_") and isinstance(v, int)}


def errorname(code):
    """SQLite's symbolic name for a (possibly extended) result code."""
    return _NAMES.get(code) or _NAMES.get(code & 0xFF, "SQLITE_UNKNOWN")


class Warning(Exception):  # noqa: A001 - DB-API 2.0 name
    """DB-API 2.0 Warning."""


class Error(Exception):
    """Base of every limbodb error; carries SQLite's result code and name."""

    sqlite_errorcode = SQLITE_ERROR
    error_offset = -1

    def __init__(self, msg="", code=None, offset=-1):
        super().__init__(msg)
        if code is not None:
            self.sqlite_errorcode = code
        self.error_offset = offset

    @property
    def sqlite_errorname(self):
        return errorname(self.sqlite_errorcode)


class InterfaceError(Error):
    sqlite_errorcode = SQLITE_MISUSE


class DatabaseError(Error):
    pass


class DataError(DatabaseError):
    sqlite_errorcode = SQLITE_TOOBIG


class OperationalError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    sqlite_errorcode = SQLITE_CONSTRAINT


class InternalError(DatabaseError):
    sqlite_errorcode = SQLITE_INTERNAL


class ProgrammingError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


class IOError_(OperationalError):
    """An I/O operation failed; names the operation, path and offset.

    (Named with a trailing underscore so it never shadows the builtin OSError alias.)
    """

    sqlite_errorcode = SQLITE_IOERR

    def __init__(self, msg="disk I/O error", code=SQLITE_IOERR, op=None, offset=None, path=None):
        super().__init__(msg, code)
        self.op = op
        self.offset = offset
        self.path = path

    def __str__(self):
        base = super().__str__()
        detail = [x for x in (self.op and f"op={self.op}", self.path and f"path={self.path}",
                              self.offset is not None and f"offset={self.offset}") if x]
        return f"{base} ({', '.join(detail)})" if detail else base


class BusyError(OperationalError):
    """The database is locked by another connection or process (SQLITE_BUSY)."""

    sqlite_errorcode = SQLITE_BUSY

    def __init__(self, msg="database is locked", code=SQLITE_BUSY):
        super().__init__(msg, code)


class CorruptError(DatabaseError):
    """The file is not a well-formed SQLite database (SQLITE_CORRUPT)."""

    sqlite_errorcode = SQLITE_CORRUPT

    def __init__(self, msg="database disk image is malformed", code=SQLITE_CORRUPT, pgno=None):
        super().__init__(msg, code)
        self.pgno = pgno


# CPython Modules/_sqlite/util.c: which class a primary result code raises.
_CLASS_FOR_CODE = {
    SQLITE_INTERNAL: InternalError,
    SQLITE_NOTFOUND: InternalError,
    SQLITE_NOMEM: MemoryError,
    SQLITE_ERROR: OperationalError,
    SQLITE_PERM: OperationalError,
    SQLITE_ABORT: OperationalError,
    SQLITE_BUSY: OperationalError,
    SQLITE_LOCKED: OperationalError,
    SQLITE_READONLY: OperationalError,
    SQLITE_INTERRUPT: OperationalError,
    SQLITE_IOERR: OperationalError,
    SQLITE_FULL: OperationalError,
    SQLITE_CANTOPEN: OperationalError,
    SQLITE_PROTOCOL: OperationalError,
    SQLITE_EMPTY: OperationalError,
    SQLITE_SCHEMA: OperationalError,
    SQLITE_CORRUPT: DatabaseError,
    SQLITE_NOTADB: DatabaseError,
    SQLITE_TOOBIG: DataError,
    SQLITE_CONSTRAINT: IntegrityError,
    SQLITE_MISMATCH: IntegrityError,
    SQLITE_MISUSE: InterfaceError,
    SQLITE_RANGE: InterfaceError,
}


def error_for_code(code, msg):
    """Build the exception sqlite3 would raise for result ``code`` with ``msg``."""
    cls = _CLASS_FOR_CODE.get(code & 0xFF, DatabaseError)
    if cls is MemoryError:
        return MemoryError(msg)
    return cls(msg, code)


def raise_code(code, msg):
    """Raise the exception sqlite3 would raise for result ``code``."""
    raise error_for_code(code, msg)


def corrupt(msg="database disk image is malformed", pgno=None):
    """A CorruptError naming the page (SQLITE_CORRUPT_PAGE when a page is known)."""
    return CorruptError(msg, SQLITE_CORRUPT_PAGE if pgno is not None else SQLITE_CORRUPT, pgno)


def invariant(cond, msg):
    """Check an invariant before a disk write; never stripped by -O."""
    if not cond:
        raise InternalError(f"internal invariant violated: {msg}")
