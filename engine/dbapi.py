"""The DB-API 2.0 layer: a drop-in for Python's ``sqlite3`` module.

Owns ``connect``, ``Connection``, ``Cursor``, ``Row``, the adapter and
converter registries and sqlite3's transaction control: the 3.11 legacy
``isolation_level`` behaviour (an implicit BEGIN before INSERT/UPDATE/DELETE/
REPLACE) and 3.12's ``autocommit`` attribute. This is the one synchronous
place: it drives ``Statement.step()``, waiting on the I/O backend whenever a
step returns IO, and retries a BUSY statement until ``timeout`` before raising
``OperationalError("database is locked")``. Mirrors CPython's
Modules/_sqlite (connection.c, cursor.c, row.c, microprotocols.c) and
Lib/sqlite3.
"""

import datetime
import re
import threading
import time

from limbodb.connection import Connection as _EngineConnection
from limbodb.errors import (
    BusyError, DatabaseError, DataError, Error, IntegrityError, InterfaceError, InternalError,
    NotSupportedError, OperationalError, ProgrammingError, SQLITE_BUSY, Warning,
)
from limbodb.functions.scalar import SQLITE_VERSION
from limbodb.io.completion import run_sync
from limbodb.parser import complete_statement
from limbodb.statement import BUSY, DONE, IO, ROW
from limbodb.storage.encryption import split_encryption_uri
from limbodb.storage.wal_frames import WalFrames
from limbodb.vdbe.realfmt import str_of_real

apilevel = "2.0"
threadsafety = 1
paramstyle = "qmark"
# The SQLite release whose behaviour limbodb reproduces, and the sqlite3 module version it mirrors.
sqlite_version = SQLITE_VERSION
sqlite_version_info = tuple(int(x) for x in SQLITE_VERSION.split("."))
version = "2.6.0"
version_info = (2, 6, 0)

PARSE_DECLTYPES = 1
PARSE_COLNAMES = 2
LEGACY_TRANSACTION_CONTROL = -1

Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime
Binary = memoryview


def DateFromTicks(ticks):
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks):
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks):
    return Timestamp(*time.localtime(ticks)[:6])


class PrepareProtocol:
    """The protocol object adapters are registered for (PEP 246, as sqlite3 has it)."""


adapters = {}
converters = {}
# Exact types bound as they are: sqlite3 skips adaptation for them unless an adapter is registered.
_NO_ADAPT = {type(None), int, float, str, bytes, bytearray}


def register_adapter(typ, adapter):
    """Adapt values of exactly ``typ`` with ``adapter(value)`` before binding."""
    adapters[(typ, PrepareProtocol)] = adapter
    _NO_ADAPT.discard(typ)


def register_converter(name, converter):
    """Convert columns declared (or named ``[name]``) as ``name`` with ``converter(bytes)``."""
    converters[name.upper()] = converter


def adapt(obj, proto=PrepareProtocol, alt=None):
    """sqlite3.adapt: the registered adapter, else ``obj.__conform__(proto)``, else ``alt``."""
    adapter = adapters.get((type(obj), proto))
    if adapter is not None:
        return adapter(obj)
    conform = getattr(obj, "__conform__", None)
    if conform is not None:
        adapted = conform(proto)
        if adapted is not None:
            return adapted
    if alt is not None:
        return alt
    raise ProgrammingError("can't adapt")


def _adapt_param(value):
    if value.__class__ in _NO_ADAPT:
        return value
    return adapt(value, PrepareProtocol, value)


def _register_default_adapters():
    # Python 3.11 registers these by default (deprecated in 3.12, kept for compatibility).
    register_adapter(datetime.date, lambda val: val.isoformat())
    register_adapter(datetime.datetime, lambda val: val.isoformat(" "))

    def convert_date(val):
        return datetime.date(*map(int, val.split(b"-")))

    def convert_timestamp(val):
        datepart, timepart = val.split(b" ")
        year, month, day = map(int, datepart.split(b"-"))
        timepart_full = timepart.split(b".")
        hours, minutes, seconds = map(int, timepart_full[0].split(b":"))
        micro = int("{:0<6.6}".format(timepart_full[1].decode())) if len(timepart_full) == 2 else 0
        return datetime.datetime(year, month, day, hours, minutes, seconds, micro)

    register_converter("date", convert_date)
    register_converter("timestamp", convert_timestamp)


_register_default_adapters()

_ISOLATION_LEVELS = ("", "DEFERRED", "IMMEDIATE", "EXCLUSIVE")
_DML = frozenset(("INSERT", "UPDATE", "DELETE", "REPLACE"))


# Whitespace and comments, then the first word: how sqlite3 tells INSERT/UPDATE/DELETE/REPLACE.
_FIRST_WORD = re.compile(r"(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?(?:\*/|\Z))*([A-Za-z]*)", re.S)


def _first_keyword(sql):
    """The first word of ``sql`` after whitespace and comments, upper-cased."""
    return _FIRST_WORD.match(sql).group(1).upper()


def _as_bytes(v):
    cls = v.__class__
    if cls is bytes:
        return v
    if cls is str:
        return v.encode("utf-8", "surrogateescape")
    if cls is float:
        return str_of_real(v).encode()
    return str(v).encode()


def _column_name(name, detect_types):
    if detect_types & PARSE_COLNAMES:
        pos = name.find("[")
        if pos >= 0:
            return name[:pos - 1] if pos > 0 and name[pos - 1] == " " else name[:pos]
    return name


class Row:
    """sqlite3.Row: a tuple addressable by index and by case-insensitive column name."""

    __slots__ = ("_description", "_data")

    def __init__(self, cursor, data):
        if not isinstance(cursor, Cursor):
            raise TypeError("Row() argument 1 must be sqlite3.Cursor")
        if not isinstance(data, tuple):
            raise TypeError("Row() argument 2 must be tuple")
        self._description = cursor.description
        self._data = data

    def keys(self):
        return [d[0] for d in self._description or ()]

    def __getitem__(self, key):
        if isinstance(key, str):
            lkey = key.lower()
            for i, d in enumerate(self._description or ()):
                if d[0].lower() == lkey:
                    return self._data[i]
            raise IndexError("No item with that key")
        return self._data[key]

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return iter(self._data)

    def __eq__(self, other):
        if not isinstance(other, Row):
            return NotImplemented
        return self._description == other._description and self._data == other._data

    def __ne__(self, other):
        if not isinstance(other, Row):
            return NotImplemented
        return not self == other

    def __hash__(self):
        return hash(self._description) ^ hash(self._data)

    def __repr__(self):
        return f"<limbodb.Row object at {id(self):#x}>"


class Cursor:
    """sqlite3.Cursor."""

    def __init__(self, connection):
        if not isinstance(connection, Connection):
            raise TypeError("Cursor() argument 1 must be limbodb.Connection")
        self.connection = connection
        self.arraysize = 1
        self.row_factory = connection.row_factory
        self.lastrowid = None
        self.rowcount = -1
        self.description = None
        self._stmt = None
        self._next_row = None
        self._is_dml = False
        self._closed = False
        self._converters = None

    # ------------------------------------------------------------ executing

    def execute(self, sql, parameters=()):
        self._check()
        if not isinstance(sql, str):
            raise TypeError(f"execute() argument 1 must be str, not {type(sql).__name__}")
        conn = self.connection
        self._finish()
        stmt = conn._prepare_one(sql)
        self._start(stmt, sql)
        if stmt is None:
            return self
        try:
            self._bind(stmt, parameters)
            conn._trace(stmt)
            if self._is_dml:
                self.rowcount = 0
            self._advance()
            self._describe(stmt)
            self.lastrowid = conn._engine.last_insert_rowid
        except BaseException:
            self.rowcount = -1
            self._finish()
            raise
        return self

    def executemany(self, sql, seq_of_parameters):
        self._check()
        if not isinstance(sql, str):
            raise TypeError(f"executemany() argument 1 must be str, not {type(sql).__name__}")
        conn = self.connection
        self._finish()
        stmt = conn._prepare_one(sql)
        self._start(stmt, sql)
        if stmt is None:
            return self
        if not self._is_dml:
            self._finish()
            raise ProgrammingError("executemany() can only execute DML statements.")
        self.rowcount = 0
        try:
            for parameters in iter(seq_of_parameters):
                stmt.reset()
                if parameters.__class__ is not tuple or not stmt.bind_plain(parameters, _NO_ADAPT):
                    self._bind(stmt, parameters)
                if conn._trace_callback is not None:
                    conn._trace(stmt)
                while conn._step(stmt) == ROW:
                    pass
                self.rowcount += stmt.changes
        except BaseException:
            self.rowcount = -1
            raise
        finally:
            self._finish()
        return self

    def executescript(self, sql_script):
        self._check()
        if not isinstance(sql_script, str):
            raise ValueError("script argument must be unicode.")
        conn = self.connection
        self._finish()
        self.description = None
        self.rowcount = -1
        if conn._autocommit_mode == LEGACY_TRANSACTION_CONTROL and conn.in_transaction:
            conn._run("COMMIT")
        engine = conn._engine
        offset = 0
        while True:
            stmt, offset = conn._prepare_at(sql_script, offset)
            if stmt is None:
                break
            conn._trace(stmt)
            try:
                while conn._step(stmt) == ROW:
                    pass
            finally:
                stmt.finalize()
        self.lastrowid = engine.last_insert_rowid
        return self

    def _start(self, stmt, sql):
        conn = self.connection
        self._stmt = stmt
        self.description = None
        self._converters = None
        self._next_row = None
        self._is_dml = _first_keyword(sql) in _DML
        self.rowcount = -1
        if stmt is not None and self._is_dml and conn._autocommit_mode == LEGACY_TRANSACTION_CONTROL \
                and conn._isolation_level is not None and not conn.in_transaction:
            conn._run("BEGIN " + conn._isolation_level)

    def _describe(self, stmt):
        """Set description and converters from the statement as it ran (it may have been re-prepared)."""
        names = stmt.column_names
        if names:
            dt = self.connection._detect_types
            self.description = tuple((_column_name(n, dt), None, None, None, None, None, None) for n in names)
            self._converters = self._column_converters(stmt) if dt else None

    def _column_converters(self, stmt):
        dt = self.connection._detect_types
        out = []
        any_conv = False
        decltypes = stmt.column_decltypes or [None] * len(stmt.column_names)
        for name, decl in zip(stmt.column_names, decltypes):
            conv = None
            if dt & PARSE_COLNAMES:
                lb = name.find("[")
                if lb >= 0:
                    rb = name.find("]", lb)
                    if rb > lb:
                        conv = converters.get(name[lb + 1:rb].upper())
            if conv is None and dt & PARSE_DECLTYPES and decl:
                key = decl.split("(")[0].split(" ")[0].strip()
                conv = converters.get(key.upper())
            any_conv = any_conv or conv is not None
            out.append(conv)
        return out if any_conv else None

    def _bind(self, stmt, parameters):
        cls = parameters.__class__
        if cls is tuple or cls is list:
            # The common case, values no adapter applies to, without building a new list.
            no_adapt = _NO_ADAPT
            for v in parameters:
                if v.__class__ not in no_adapt:
                    break
            else:
                stmt.bind(parameters)
                return
        if isinstance(parameters, dict):
            params = {k: _adapt_param(v) for k, v in parameters.items()}
        elif hasattr(parameters, "__getitem__") and hasattr(parameters, "__len__"):
            params = [_adapt_param(parameters[i]) for i in range(len(parameters))]
        else:
            raise ProgrammingError("parameters are of unsupported type")
        stmt.bind(params)

    def _advance(self):
        """Step to the next row (kept in ``_next_row``); at the end, count the changes and
        release the statement (its VM is reused by the next execution of the same SQL)."""
        stmt = self._stmt
        r = self.connection._step(stmt)
        if r == ROW:
            self._next_row = stmt.row()
            return
        self._next_row = None
        if self._is_dml:
            self.rowcount += stmt.changes
        self._finish()

    def _finish(self):
        stmt = self._stmt
        if stmt is not None:
            self._stmt = None
            self._next_row = None
            stmt.finalize()

    # ------------------------------------------------------------ fetching

    def _convert(self, row):
        conv = self._converters
        tf = self.connection.text_factory
        if conv is not None or tf is not str:
            out = []
            for i, v in enumerate(row):
                c = conv[i] if conv is not None else None
                if c is not None:
                    # Converters see the value as bytes; NULL stays None without a call.
                    v = None if v is None else c(_as_bytes(v))
                elif tf is not str and v.__class__ is str:
                    v = _apply_text_factory(tf, v)
                out.append(v)
            row = tuple(out)
        rf = self.row_factory
        if rf is not None:
            return rf(self, row)
        return row

    def fetchone(self):
        self._check()
        row = self._next_row
        if row is None:
            return None
        try:
            self._advance()
        except BaseException:
            self._finish()
            raise
        return self._convert(row)

    def fetchmany(self, size=None):
        if size is None:
            size = self.arraysize
        out = []
        while size > 0:
            row = self.fetchone()
            if row is None:
                break
            out.append(row)
            size -= 1
        return out

    def fetchall(self):
        self._check()
        out = []
        plain = self._converters is None and self.connection.text_factory is str and self.row_factory is None
        convert = self._convert
        advance = self._advance
        while True:
            row = self._next_row
            if row is None:
                return out
            try:
                advance()
            except BaseException:
                self._finish()
                raise
            out.append(row if plain else convert(row))

    def __iter__(self):
        return self

    def __next__(self):
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    # ------------------------------------------------------------ the rest of the API

    def close(self):
        self.connection._check()
        self._finish()
        self._closed = True

    def setinputsizes(self, sizes):
        pass

    def setoutputsize(self, size, column=None):
        pass

    def _check(self):
        if self._closed:
            raise ProgrammingError("Cannot operate on a closed cursor.")
        self.connection._check()

    def __del__(self):
        # A cursor dropped before its rows were all read releases its statement, and so
        # the snapshot it holds, as sqlite3's cursors do.
        stmt = getattr(self, "_stmt", None)
        if stmt is not None:
            self._stmt = None
            try:
                stmt.finalize()
            except Error:
                pass


def _apply_text_factory(tf, v):
    if tf is bytes:
        return v.encode("utf-8", "surrogateescape")
    return tf(v.encode("utf-8", "surrogateescape"))


class Connection:
    """sqlite3.Connection."""

    Warning = Warning
    Error = Error
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    DataError = DataError
    OperationalError = OperationalError
    IntegrityError = IntegrityError
    InternalError = InternalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError

    def __init__(self, database, timeout=5.0, detect_types=0, isolation_level="", check_same_thread=True,
                 factory=None, cached_statements=128, uri=False, *, autocommit=LEGACY_TRANSACTION_CONTROL,
                 io=None, encryption=None):
        # ``factory`` is accepted (and unused) because sqlite3.Connection's signature has it.
        # ``encryption``: {"cipher": ..., "hexkey": ...}, also given as file:db?cipher=..&hexkey=..
        database, uri_encryption = split_encryption_uri(database)
        if uri_encryption is not None:
            uri, encryption = True, encryption or uri_encryption
        path, readonly = _database_path(database, uri)
        self._thread = threading.get_ident()
        self._check_same_thread = check_same_thread
        self._engine = None
        self._detect_types = detect_types
        self._isolation_level = _check_isolation_level(isolation_level)
        self._autocommit_mode = _check_autocommit(autocommit)
        self._trace_callback = None
        self.row_factory = None
        self.text_factory = str
        engine = _EngineConnection(path, io, cached_statements, readonly, encryption=encryption)
        engine.busy_timeout = int(float(timeout) * 1000)
        self._engine = engine
        self._wait(engine.open)
        if self._autocommit_mode is False:
            self._run("BEGIN")

    # ------------------------------------------------------------ the I/O loop

    def _wait(self, fn, *args):
        """Run a re-entrant engine call to its end, waiting on I/O and retrying while busy."""
        deadline = None
        io = self._engine.io
        while True:
            try:
                return run_sync(io, fn, *args)
            except BusyError:
                deadline = self._busy_wait(deadline)

    def _busy_wait(self, deadline):
        """Sleep before retrying a busy operation; raise "database is locked" after the timeout."""
        now = time.monotonic()
        if deadline is None:
            deadline = now + self._engine.busy_timeout / 1000
        if now >= deadline:
            raise OperationalError("database is locked", SQLITE_BUSY)
        time.sleep(min(0.002, max(deadline - now, 0)))
        return deadline

    def _step(self, stmt):
        """Step ``stmt`` to its next ROW or DONE, driving I/O and retrying BUSY until the timeout."""
        io = self._engine.io
        deadline = None
        started = stmt.running
        while True:
            try:
                r = stmt.step()
            except BusyError:
                if started:
                    raise
                # Nothing was returned yet and the write was rolled back: run it again from the start.
                stmt.reset()
                deadline = self._busy_wait(deadline)
                continue
            if r == ROW or r == DONE:
                return r
            if r == IO:
                c = stmt.completion
                while not c.finished():
                    io.run_once()
                continue
            if r == BUSY:
                if started:
                    stmt.reset()
                    raise OperationalError("database is locked", SQLITE_BUSY)
                stmt.reset()
                deadline = self._busy_wait(deadline)

    def _prepare_at(self, sql, offset):
        engine = self._engine
        try:
            return engine.prepare(sql, offset)
        except OperationalError:
            # The schema may have been changed by another connection: reload it and try once more.
            generation = engine.schema_generation
            self._wait(engine.refresh_schema)
            if engine.schema_generation == generation:
                raise
            return engine.prepare(sql, offset)

    def _prepare_one(self, sql):
        stmt, end = self._prepare_at(sql, 0)
        if stmt is not None and sql[end:].strip():
            rest, _ = self._prepare_at(sql, end)
            if rest is not None:
                rest.finalize()
                stmt.finalize()
                raise ProgrammingError("You can only execute one statement at a time.")
        return stmt

    def _run(self, sql):
        """Execute one internal statement (BEGIN, COMMIT, ROLLBACK) to its end."""
        stmt, _ = self._prepare_at(sql, 0)
        self._trace(stmt)
        try:
            while self._step(stmt) == ROW:
                pass
        finally:
            stmt.finalize()

    def _trace(self, stmt):
        """Report a statement about to run (with its parameters expanded) to the trace callback."""
        cb = self._trace_callback
        if cb is not None:
            cb(stmt.expanded_sql())

    def _check(self):
        if self._engine is None or self._engine.closed:
            raise ProgrammingError("Cannot operate on a closed database.")
        if self._check_same_thread and threading.get_ident() != self._thread:
            raise ProgrammingError(
                "SQLite objects created in a thread can only be used in that same thread. "
                f"The object was created in thread id {self._thread} and this is thread id "
                f"{threading.get_ident()}.")

    # ------------------------------------------------------------ the sqlite3 API

    def cursor(self, factory=Cursor):
        self._check()
        cur = factory(self)
        if not isinstance(cur, Cursor):
            raise TypeError("factory must return a cursor, not " + type(cur).__name__)
        return cur

    def execute(self, sql, parameters=()):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, parameters):
        return self.cursor().executemany(sql, parameters)

    def executescript(self, sql_script):
        return self.cursor().executescript(sql_script)

    def commit(self):
        self._check()
        if self._autocommit_mode is True:
            return
        if self.in_transaction:
            self._run("COMMIT")
        if self._autocommit_mode is False:
            self._run("BEGIN")

    def rollback(self):
        self._check()
        if self._autocommit_mode is True:
            return
        if self.in_transaction:
            self._run("ROLLBACK")
        if self._autocommit_mode is False:
            self._run("BEGIN")

    def close(self):
        engine = self._engine
        if engine is None or engine.closed:
            return
        if self._check_same_thread and threading.get_ident() != self._thread:
            self._check()
        if not engine.autocommit:
            self._run("ROLLBACK")
        self._wait(engine.close)

    def __enter__(self):
        self._check()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self.commit()
            except BaseException:
                self.rollback()
                raise
        else:
            self.rollback()
        return False

    def __del__(self):
        engine = getattr(self, "_engine", None)
        if engine is not None and not engine.closed:
            try:
                self._wait(engine.close)
            except Error:
                pass

    @property
    def in_transaction(self):
        self._check()
        return not self._engine.autocommit

    @property
    def total_changes(self):
        self._check()
        return self._engine.total_changes

    @property
    def isolation_level(self):
        return self._isolation_level

    @isolation_level.setter
    def isolation_level(self, value):
        self._check()
        level = _check_isolation_level(value)
        if level is None and self._autocommit_mode == LEGACY_TRANSACTION_CONTROL and self.in_transaction:
            self._run("COMMIT")
        self._isolation_level = level

    @property
    def autocommit(self):
        return self._autocommit_mode

    @autocommit.setter
    def autocommit(self, value):
        self._check()
        mode = _check_autocommit(value)
        if mode is True and self.in_transaction:
            self._run("COMMIT")
        elif mode is False and not self.in_transaction:
            self._run("BEGIN")
        self._autocommit_mode = mode

    def create_function(self, name, narg, func, *, deterministic=False):
        self._check()
        if func is not None and not callable(func):
            raise TypeError("func must be callable")
        self._engine.create_function(name, narg, func, deterministic)

    def create_aggregate(self, name, n_arg, aggregate_class):
        self._check()
        self._engine.create_aggregate(name, n_arg, aggregate_class)

    def create_window_function(self, name, num_params, aggregate_class, /):
        self._check()
        self._engine.create_window_function(name, num_params, aggregate_class)

    def create_collation(self, name, callable_):
        self._check()
        if callable_ is not None and not callable(callable_):
            raise TypeError("parameter must be callable")
        self._engine.create_collation(name, callable_)

    def interrupt(self):
        if self._engine is None or self._engine.closed:
            raise ProgrammingError("Cannot operate on a closed database.")
        self._engine.interrupt()

    # ------------------------------------------------------------ WAL frame API (replication)

    def _wal_frames(self):
        self._check()
        frames = getattr(self, "_frames", None)
        if frames is None or frames.pager is not self._engine.pager:
            frames = self._frames = WalFrames(self._engine.pager)
        return frames

    def wal_frame_count(self):
        """Committed frames in the WAL."""
        return self._wal_frames().frame_count()

    def wal_get_frame(self, n):
        """Frame ``n`` (1-based): its 24-byte header followed by its page, as stored."""
        return self._wait(self._wal_frames().get_frame, n)

    def wal_insert_begin(self):
        """Start inserting frames (takes the write lock)."""
        self._wait(self._wal_frames().insert_begin)

    def wal_insert_frame(self, n, frame):
        """Insert a primary's frame ``n``; WalConflictError if it differs or leaves a gap."""
        self._wait(self._wal_frames().insert_frame, n, frame)

    def wal_insert_end(self):
        """End the insert session, dropping a transaction whose commit frame did not come."""
        self._wal_frames().insert_end()

    def wal_auto_checkpoint_disable(self):
        """Stop automatic checkpoints, so frame numbers stay those of the primary."""
        self._check()
        self._engine.pager.set_wal_autocheckpoint(0)

    def set_trace_callback(self, trace_callback):
        self._check()
        self._trace_callback = trace_callback

    def iterdump(self):
        """SQL text that recreates the database, as sqlite3's iterdump yields it."""
        self._check()
        return _iterdump(self)


def _iterdump(conn):
    yield "BEGIN TRANSACTION;"
    cu = conn.cursor()
    tables = cu.execute('SELECT "name", "type", "sql" FROM "sqlite_master" '
                        "WHERE \"sql\" NOT NULL AND \"type\" == 'table' ORDER BY \"name\"").fetchall()
    sequence = []
    for name, _type, sql in tables:
        if name == "sqlite_sequence":
            sequence = ['DELETE FROM "sqlite_sequence";']
            sequence += [f"INSERT INTO \"sqlite_sequence\" VALUES('{r[0]}',{r[1]});"
                         for r in cu.execute('SELECT * FROM "sqlite_sequence";').fetchall()]
            continue
        if name == "sqlite_stat1":
            yield 'ANALYZE "sqlite_master";'
        elif name.startswith("sqlite_"):
            continue
        else:
            yield f"{sql};"
        ident = name.replace('"', '""')
        cols = [c.name for c in conn._engine.schema.table(name).columns]
        values = ",".join("'||quote(\"{0}\")||'".format(c.replace('"', '""')) for c in cols)
        for (line,) in cu.execute(f"SELECT 'INSERT INTO \"{ident}\" VALUES({values})' FROM \"{ident}\";"):
            yield f"{line};"
    others = cu.execute('SELECT "name", "type", "sql" FROM "sqlite_master" '
                        "WHERE \"sql\" NOT NULL AND \"type\" IN ('index', 'trigger', 'view')").fetchall()
    for _name, _type, sql in others:
        yield f"{sql};"
    yield from sequence
    yield "COMMIT;"


def _check_isolation_level(level):
    if level is None:
        return None
    if not isinstance(level, str):
        raise TypeError("isolation_level must be str or None")
    if level.upper() not in _ISOLATION_LEVELS:
        raise ValueError("isolation_level string must be '', 'DEFERRED', 'IMMEDIATE', or 'EXCLUSIVE'")
    return level


def _check_autocommit(value):
    if value is True or value is False or (value == LEGACY_TRANSACTION_CONTROL and type(value) is int):
        return value
    raise ValueError("autocommit must be True, False, or limbodb.LEGACY_TRANSACTION_CONTROL")


def _database_path(database, uri):
    """(path, readonly) for connect()'s ``database`` argument (str, bytes or path-like; maybe a URI)."""
    import os
    path = os.fsdecode(os.fspath(database))
    if not uri or not path.startswith("file:"):
        return path, False
    from urllib.parse import parse_qs, unquote
    rest = path[5:]
    query = ""
    if "?" in rest:
        rest, query = rest.split("?", 1)
    if rest.startswith("//"):
        rest = rest[2:]
        rest = rest[rest.find("/"):] if "/" in rest else ""
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    mode = params.get("mode", "rwc")
    if mode not in ("ro", "rw", "rwc", "memory"):
        raise OperationalError(f"no such access mode: {mode}")
    path = unquote(rest)
    if mode == "memory" or path == ":memory:":
        return ":memory:", False
    if mode in ("ro", "rw") and not os.path.exists(path):
        raise OperationalError("unable to open database file")
    return path, mode == "ro"


def connect(database, timeout=5.0, detect_types=0, isolation_level="", check_same_thread=True,
            factory=Connection, cached_statements=128, uri=False, *, autocommit=LEGACY_TRANSACTION_CONTROL,
            io=None, encryption=None):
    """Open a connection, as ``sqlite3.connect``; ``io`` chooses another I/O backend;
    ``encryption={"cipher": ..., "hexkey": ...}`` opens or creates an encrypted database."""
    kwargs = dict(timeout=timeout, detect_types=detect_types, isolation_level=isolation_level,
                  check_same_thread=check_same_thread, cached_statements=cached_statements, uri=uri,
                  autocommit=autocommit)
    if encryption is not None:
        kwargs["encryption"] = encryption
    if io is not None:
        kwargs["io"] = io
    return factory(database, **kwargs)


__all__ = [
    "connect", "Connection", "Cursor", "Row", "PrepareProtocol", "adapt", "adapters", "converters",
    "register_adapter", "register_converter", "complete_statement", "apilevel", "threadsafety", "paramstyle",
    "sqlite_version", "sqlite_version_info", "version", "version_info", "PARSE_DECLTYPES", "PARSE_COLNAMES",
    "LEGACY_TRANSACTION_CONTROL", "Date", "Time", "Timestamp", "DateFromTicks", "TimeFromTicks",
    "TimestampFromTicks", "Binary", "Warning", "Error", "InterfaceError", "DatabaseError", "DataError",
    "OperationalError", "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
]
