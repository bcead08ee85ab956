"""limbodb: a pure-Python, SQLite-compatible, in-process SQL database engine.

The package itself is a drop-in for Python's ``sqlite3`` module (``import
limbodb as sqlite3``): ``connect``, ``Connection``, ``Cursor``, ``Row``, the
DB-API 2.0 globals, adapters and converters, and the exception hierarchy.
The DB-API names load ``limbodb.dbapi`` (and with it the whole engine) on
first use, so importing one layer (``limbodb.storage.pager``) stays cheap and
independent of the layers above it. The engine's own layers live in
submodules (``limbodb.connection``, ``limbodb.statement``, ``limbodb.schema``,
``limbodb.io``, ...).
"""

from limbodb import errors
from limbodb.errors import (  # noqa: F401
    DatabaseError, DataError, Error, IntegrityError, InterfaceError, InternalError,
    NotSupportedError, OperationalError, ProgrammingError, Warning,
)

__version__ = "0.1.0"

_DBAPI_NAMES = frozenset((
    "LEGACY_TRANSACTION_CONTROL", "PARSE_COLNAMES", "PARSE_DECLTYPES", "Binary", "Connection", "Cursor", "Date",
    "DateFromTicks", "PrepareProtocol", "Row", "Time", "TimeFromTicks", "Timestamp", "TimestampFromTicks", "adapt",
    "adapters", "apilevel", "complete_statement", "connect", "converters", "paramstyle", "register_adapter",
    "register_converter", "sqlite_version", "sqlite_version_info", "threadsafety", "version", "version_info",
))


def __getattr__(name):
    if name in _DBAPI_NAMES:
        from limbodb import dbapi
        value = getattr(dbapi, name)
    elif name.startswith("SQLITE_") and hasattr(errors, name):
        # sqlite3 exports the result codes (SQLITE_CONSTRAINT_UNIQUE, ...) for sqlite_errorcode checks.
        value = getattr(errors, name)
    else:
        raise AttributeError(f"module 'limbodb' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    codes = {n for n in dir(errors) if n.startswith("SQLITE_")}
    return sorted(set(globals()) | _DBAPI_NAMES | codes)
