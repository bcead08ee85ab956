"""limbodb.aio: the asyncio API, shaped like aiosqlite's, awaiting the disk itself.

``async with connect(path) as db`` (or ``db = await connect(path)``),
``await db.execute(sql, params)`` → Cursor, ``await cur.fetchone()/fetchmany()/
fetchall()``, ``async for row in cur``, ``executemany``, ``executescript``,
``commit``/``rollback``/``close``, ``async with db.transaction():``. Statements
step until they return IO, then the task awaits the completion: with io_uring
the ring's eventfd is registered with the running loop (``loop.add_reader``)
and its reader callback reaps CQEs, whose completion callbacks wake the task;
other backends get ``run_once()`` and ``asyncio.sleep(0)``. No threads, no
executor, no blocking call on the loop; BUSY retries sleep with
``asyncio.sleep`` until ``timeout``. Cursor reuses limbodb.dbapi's binding,
description and conversion (``limbodb.Row`` works as row_factory), with
sqlite3's legacy ``isolation_level`` transactions. Mirrors aiosqlite's core.py
and cursor.py, without its thread.
"""

import asyncio
import weakref

from limbodb import dbapi as _dbapi
from limbodb.connection import Connection as _EngineConnection
from limbodb.errors import BusyError, OperationalError, ProgrammingError, SQLITE_BUSY
from limbodb.io.completion import IO as _WAITING
from limbodb.io.uring.choose import resolve_io
from limbodb.statement import BUSY, DONE, IO, ROW

__all__ = ["connect", "Connection", "Cursor", "Row"]

Row = _dbapi.Row

# A statement that never waits for I/O (warm cache, MemoryIO) still lets other
# tasks run after this many steps.
_STEPS_PER_YIELD = 256

# Which UringIOs' eventfds each event loop's selector watches: loop -> WeakSet of backends.
_watched = weakref.WeakKeyDictionary()


def _watch(io, loop):
    """Register ``io``'s eventfd with ``loop`` once; its callback reaps CQEs and runs their callbacks."""
    ios = _watched.get(loop)
    if ios is None:
        ios = _watched[loop] = weakref.WeakSet()
    if io in ios:
        return
    ios.add(io)

    def ready():
        io.drain_eventfd()
        if io.ring is not None:
            io.poll()

    loop.add_reader(io.fileno(), ready)


def _wake(fut, _completion):
    if not fut.done():
        fut.set_result(None)


def connect(database, *, io="auto", timeout=5.0, isolation_level="", detect_types=0, uri=False):
    """A Connection to ``database``: ``await`` it, or use it with ``async with``.

    ``io`` is ``"auto" | "uring" | "blocking"`` (see limbodb.io.uring.choose_io,
    and the LIMBODB_IO environment variable) or a backend instance;
    ``:memory:`` databases use MemoryIO.
    """
    return Connection(database, io, timeout, isolation_level, detect_types, uri)


class _Pending:
    """What ``execute`` returns: awaitable (→ Cursor) and an async context manager closing the cursor."""

    __slots__ = ("_coro", "_cursor")

    def __init__(self, coro):
        self._coro = coro
        self._cursor = None

    def __await__(self):
        return self._coro.__await__()

    async def __aenter__(self):
        self._cursor = await self._coro
        return self._cursor

    async def __aexit__(self, exc_type, exc, tb):
        await self._cursor.close()
        return False


class _Transaction:
    """``async with db.transaction():`` BEGIN, then COMMIT, or ROLLBACK on an exception."""

    __slots__ = ("_conn",)

    def __init__(self, conn):
        self._conn = conn

    async def __aenter__(self):
        conn = self._conn
        await conn._run("BEGIN " + (conn.isolation_level or ""))
        return conn

    async def __aexit__(self, exc_type, exc, tb):
        if exc_type is None:
            await self._conn.commit()
        else:
            await self._conn.rollback()
        return False


class Connection:
    """An asyncio connection; every method that may touch the disk is a coroutine."""

    def __init__(self, database, io, timeout, isolation_level, detect_types, uri):
        path, readonly = _dbapi._database_path(database, uri)
        io = resolve_io(path, io)
        self._path = path
        self._readonly = readonly
        self._io_arg = io
        self._engine = None
        self._io = None
        self._uring = False
        self._timeout = float(timeout)
        self._isolation_level = _dbapi._check_isolation_level(isolation_level)
        self._detect_types = detect_types
        self._steps = 0
        self.row_factory = None
        self.text_factory = str

    # ------------------------------------------------------------ opening and the I/O loop

    def __await__(self):
        return self._open().__await__()

    async def __aenter__(self):
        return await self._open()

    async def __aexit__(self, exc_type, exc, tb):
        await self.close()
        return False

    async def _open(self):
        if self._engine is None:
            engine = _EngineConnection(self._path, self._io_arg, readonly=self._readonly)
            self._engine = engine
            self._io = engine.io
            self._uring = hasattr(engine.io, "fileno") and hasattr(engine.io, "poll")
            try:
                await self._wait(engine.open)
            except BaseException:
                self._engine = None
                raise
        return self

    async def _await_completion(self, c):
        """Wait for ``c`` without blocking the loop."""
        io = self._io
        if self._uring:
            loop = asyncio.get_running_loop()
            _watch(io, loop)
            io.poll()  # submit now; a cached read may finish right here
            while not c.finished():
                fut = loop.create_future()
                c.add_callback(lambda done, fut=fut: _wake(fut, done))
                await fut
            return
        while True:
            io.run_once()
            await asyncio.sleep(0)
            if c.finished():
                return

    async def _wait(self, fn, *args):
        """Run a re-entrant engine call to its end, awaiting its I/O and retrying while busy."""
        deadline = None
        while True:
            try:
                r = fn(*args)
                while r.__class__ is _WAITING:
                    await self._await_completion(r.completion)
                    r = fn(*args)
                return r
            except BusyError:
                deadline = await self._busy_wait(deadline)

    async def _busy_wait(self, deadline):
        now = asyncio.get_running_loop().time()
        if deadline is None:
            deadline = now + self._timeout
        if now >= deadline:
            raise OperationalError("database is locked", SQLITE_BUSY)
        await asyncio.sleep(min(0.002, deadline - now))
        return deadline

    async def _step(self, stmt):
        """Step ``stmt`` to its next ROW or DONE: await its I/O, retry BUSY until the timeout."""
        deadline = None
        started = stmt.running
        self._steps += 1
        if self._steps >= _STEPS_PER_YIELD:
            self._steps = 0
            await asyncio.sleep(0)
        while True:
            try:
                r = stmt.step()
            except BusyError:
                if started:
                    raise
                deadline = await self._busy_wait(deadline)
                continue
            if r == ROW or r == DONE:
                return r
            if r == IO:
                await self._await_completion(stmt.completion)
                continue
            if r == BUSY:
                stmt.reset()
                if started:
                    raise OperationalError("database is locked", SQLITE_BUSY)
                deadline = await self._busy_wait(deadline)

    async def _prepare_at(self, sql, offset):
        engine = self._engine
        try:
            return engine.prepare(sql, offset)
        except OperationalError:
            # Another connection may have changed the schema: reload it and try once more.
            generation = engine.schema_generation
            await self._wait(engine.refresh_schema)
            if engine.schema_generation == generation:
                raise
            return engine.prepare(sql, offset)

    async def _prepare_one(self, sql):
        stmt, end = await self._prepare_at(sql, 0)
        if stmt is not None and sql[end:].strip():
            rest, _ = await self._prepare_at(sql, end)
            if rest is not None:
                rest.finalize()
                stmt.finalize()
                raise ProgrammingError("You can only execute one statement at a time.")
        return stmt

    async def _run(self, sql):
        """Execute one internal statement (BEGIN, COMMIT, ROLLBACK) to its end."""
        stmt, _ = await self._prepare_at(sql, 0)
        try:
            while await self._step(stmt) == ROW:
                pass
        finally:
            stmt.finalize()

    def _check(self):
        if self._engine is None or self._engine.closed:
            raise ProgrammingError("Cannot operate on a closed database.")

    # ------------------------------------------------------------ the aiosqlite API

    async def cursor(self):
        self._check()
        return Cursor(self)

    def execute(self, sql, parameters=()):
        return _Pending(self._execute("execute", sql, parameters))

    def executemany(self, sql, seq_of_parameters):
        return _Pending(self._execute("executemany", sql, seq_of_parameters))

    def executescript(self, sql_script):
        return _Pending(self._execute("executescript", sql_script))

    async def _execute(self, method, *args):
        self._check()
        cur = Cursor(self)
        return await getattr(cur, method)(*args)

    async def execute_fetchall(self, sql, parameters=()):
        cur = await self.execute(sql, parameters)
        try:
            return await cur.fetchall()
        finally:
            await cur.close()

    def transaction(self):
        return _Transaction(self)

    async def commit(self):
        self._check()
        if self.in_transaction:
            await self._run("COMMIT")

    async def rollback(self):
        self._check()
        if self.in_transaction:
            await self._run("ROLLBACK")

    async def close(self):
        engine = self._engine
        if engine is None or engine.closed:
            return
        if not engine.autocommit:
            await self._run("ROLLBACK")
        await self._wait(engine.close)

    async def create_function(self, name, narg, func, *, deterministic=False):
        self._check()
        self._engine.create_function(name, narg, func, deterministic)

    def interrupt(self):
        self._check()
        self._engine.interrupt()

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
        level = _dbapi._check_isolation_level(value)
        if level is None and self.in_transaction:
            raise ProgrammingError("commit or roll back before setting isolation_level to None")
        self._isolation_level = level

    @property
    def io(self):
        """The I/O backend this connection awaits."""
        return self._io


class Cursor(_dbapi.Cursor):
    """An asyncio cursor: limbodb.Cursor's binding, description and conversion, with awaited steps."""

    def __init__(self, connection):
        # Not dbapi.Cursor.__init__: that one insists on a sync Connection.
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

    async def execute(self, sql, parameters=()):
        self._check()
        if not isinstance(sql, str):
            raise TypeError(f"execute() argument 1 must be str, not {type(sql).__name__}")
        conn = self.connection
        self._finish()
        stmt = await conn._prepare_one(sql)
        try:
            await self._start(stmt, sql)
            if stmt is None:
                return self
            self._bind(stmt, parameters)
            if self._is_dml:
                self.rowcount = 0
            await self._advance()
            self._describe(stmt)
            self.lastrowid = conn._engine.last_insert_rowid
        except BaseException:
            self.rowcount = -1
            self._finish()
            raise
        return self

    async def executemany(self, sql, seq_of_parameters):
        self._check()
        if not isinstance(sql, str):
            raise TypeError(f"executemany() argument 1 must be str, not {type(sql).__name__}")
        self._finish()
        stmt = await self.connection._prepare_one(sql)
        try:
            await self._start(stmt, sql)
            if stmt is None:
                return self
            if not self._is_dml:
                raise ProgrammingError("executemany() can only execute DML statements.")
            self.rowcount = 0
            for parameters in iter(seq_of_parameters):
                stmt.reset()
                self._bind(stmt, parameters)
                await self._advance()
                while self._next_row is not None:
                    await self._advance()
        except BaseException:
            self.rowcount = -1
            self._finish()
            raise
        return self

    async def executescript(self, sql_script):
        self._check()
        if not isinstance(sql_script, str):
            raise ValueError("script argument must be unicode.")
        conn = self.connection
        self._finish()
        self.description = None
        self.rowcount = -1
        if conn.in_transaction:
            await conn._run("COMMIT")
        offset = 0
        while True:
            stmt, offset = await conn._prepare_at(sql_script, offset)
            if stmt is None:
                break
            try:
                while await conn._step(stmt) == ROW:
                    pass
            finally:
                stmt.finalize()
        self.lastrowid = conn._engine.last_insert_rowid
        return self

    async def _start(self, stmt, sql):
        """Take ``stmt`` as the current statement; sqlite3's implicit BEGIN before DML."""
        conn = self.connection
        self._stmt = stmt
        self.description = None
        self._converters = None
        self._next_row = None
        self._is_dml = _dbapi._first_keyword(sql) in _dbapi._DML
        self.rowcount = -1
        if stmt is not None and self._is_dml and conn._isolation_level is not None and not conn.in_transaction:
            await conn._run("BEGIN " + conn._isolation_level)

    async def _advance(self):
        stmt = self._stmt
        r = await self.connection._step(stmt)
        if r == ROW:
            self._next_row = stmt.row()
            return
        self._next_row = None
        if self._is_dml:
            self.rowcount += stmt.changes

    async def fetchone(self):
        self._check()
        row = self._next_row
        if row is None:
            return None
        try:
            await self._advance()
        except BaseException:
            self._finish()
            raise
        return self._convert(row)

    async def fetchmany(self, size=None):
        if size is None:
            size = self.arraysize
        out = []
        while size > 0:
            row = await self.fetchone()
            if row is None:
                break
            out.append(row)
            size -= 1
        return out

    async def fetchall(self):
        out = []
        fetchone = self.fetchone
        while True:
            row = await fetchone()
            if row is None:
                return out
            out.append(row)

    def __iter__(self):
        raise TypeError("limbodb.aio.Cursor is not iterable: use 'async for'")

    def __next__(self):
        raise TypeError("limbodb.aio.Cursor is not an iterator: use 'async for'")

    def __aiter__(self):
        return self

    async def __anext__(self):
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    async def close(self):
        self._finish()
        self._closed = True

    async def __aenter__(self):
        return self

    async def __aexit__(self, exc_type, exc, tb):
        await self.close()
        return False
