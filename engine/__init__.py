"""limbodb: a pure-Python, SQLite-compatible, in-process SQL database engine."""

from limbodb.errors import (  # noqa: F401
    DatabaseError, DataError, Error, IntegrityError, InterfaceError, InternalError,
    NotSupportedError, OperationalError, ProgrammingError, Warning,
)

__version__ = "0.1.0"
