"""The Python half of the JavaScript binding: connections and statements by number.

The JS ``Database``/``Statement`` classes (bindings/js/src) call a ``Bridge``
either directly (Node, or inside a worker) or through postMessage (a browser
page talking to its worker), so everything is addressed by small integer ids
and every result is plain data: lists, ints, floats, str, bytes, None.
``convert`` (Pyodide's ``to_js``) turns a result into JS values in one call;
``bigint`` (JS ``BigInt``) makes integers exact for safeIntegers.

An error is re-raised after being recorded; the JS side then reads
``take_error()`` ([kind, message, code name, extended code]) to build a
``SqliteError`` with SQLite's code, or a RangeError/TypeError where
better-sqlite3 throws those. Busy is never waited for here: JS has one thread,
so a locked database fails at once with SQLITE_BUSY. Nothing here imports
Pyodide, so the tests run it on CPython too.
"""

import functools

from limbodb.connection import Connection
from limbodb.errors import (
    BusyError, Error, InterfaceError, OperationalError, ProgrammingError, SQLITE_BUSY, SQLITE_CANTOPEN,
)
from limbodb.io import MemoryIO, run_sync
from limbodb.statement import BUSY, DONE, ROW
from limbodb.storage.wal_frames import WalFrames

# take_error() kinds: which JS error class to throw.
SQLITE = "sqlite"
RANGE = "range"
TYPE = "type"


def _identity(value):
    return value


def _reported(method):
    """Record any exception for take_error() before it propagates to JS."""
    @functools.wraps(method)
    def call(self, *args):
        try:
            return method(self, *args)
        except BaseException as e:
            self._record(e)
            raise
    return call


_PLAIN = frozenset((int, float, str, bool, type(None)))


def _from_js(value):
    """A JS function's result as an SQL value: a typed array becomes bytes, the rest passes through."""
    if value.__class__ in _PLAIN:
        return value
    to_bytes = getattr(value, "to_bytes", None)
    return to_bytes() if to_bytes is not None else value


class _Session:
    __slots__ = ("conn", "io", "_frames")

    def __init__(self, conn, io):
        self.conn = conn
        self.io = io
        self._frames = None

    def frames(self):
        """The connection's WalFrames, rebuilt if the connection's pager changed."""
        f = self._frames
        if f is None or f.pager is not self.conn.pager:
            f = self._frames = WalFrames(self.conn.pager)
        return f


class Bridge:
    """Connections and statements for JS, addressed by integer ids."""

    def __init__(self, file_io=None, convert=None, bigint=None):
        self.file_io = file_io
        self.convert = convert or _identity
        self.bigint = bigint
        self._sessions = {}
        self._stmts = {}
        self._next_id = 1
        self._error = None

    def _record(self, e):
        if isinstance(e, Error) and not isinstance(e, (ProgrammingError, InterfaceError)):
            self._error = [SQLITE, str(e), e.sqlite_errorname, e.sqlite_errorcode]
        elif isinstance(e, (OverflowError, ProgrammingError, InterfaceError)):
            # better-sqlite3 throws RangeError for bad parameter counts and out-of-range integers.
            self._error = [RANGE, str(e), None, None]
        else:
            self._error = [TYPE, f"{type(e).__name__}: {e}", None, None]

    def take_error(self):
        """[kind, message, code name, extended code] of the last error raised to JS, once."""
        err, self._error = self._error, None
        return self.convert(err)

    def _new_id(self):
        i = self._next_id
        self._next_id += 1
        return i

    # ------------------------------------------------------------ connections

    @_reported
    def open(self, path, readonly=False, must_exist=False, cipher=None, hexkey=None):
        """Open a connection; returns its id. ``cipher``/``hexkey`` open or create an encrypted database."""
        io = MemoryIO() if path == ":memory:" or path == "" else self.file_io
        if io is None:
            raise OperationalError("unable to open database file", SQLITE_CANTOPEN)
        if must_exist and io is self.file_io and not io.exists(path):
            raise OperationalError("unable to open database file", SQLITE_CANTOPEN)
        encryption = {"cipher": cipher, "hexkey": hexkey} if cipher or hexkey else None
        conn = Connection(path, io=io, readonly=bool(readonly), encryption=encryption)
        try:
            run_sync(io, conn.open)
        except BaseException as e:
            try:
                run_sync(io, conn.close)
            except Error as close_error:
                e.add_note(f"closing after the failed open failed too: {close_error}")
            raise
        cid = self._new_id()
        self._sessions[cid] = _Session(conn, io)
        return cid

    @_reported
    def close(self, cid):
        """Finalize the connection's statements and close it."""
        s = self._sessions.pop(cid, None)
        if s is None:
            return
        for sid in [k for k, v in self._stmts.items() if v[1] is s]:
            self._stmts.pop(sid)[0].finalize()
        run_sync(s.io, s.conn.close)

    @_reported
    def in_transaction(self, cid):
        return not self._sessions[cid].conn.autocommit

    @_reported
    def exec(self, cid, sql):
        """Run every statement of ``sql``, discarding rows."""
        s = self._sessions[cid]
        offset = 0
        while True:
            stmt, offset = _prepare(s, sql, offset)
            if stmt is None:
                return
            try:
                while _step(s, stmt) == ROW:
                    pass
            finally:
                stmt.finalize()

    @_reported
    def create_function(self, cid, name, narg, fn, deterministic):
        """Make JS function ``fn`` the SQL function ``name`` of ``narg`` arguments (-1: any)."""
        arg = self._js_arg

        def call(*args):
            return _from_js(fn(*[arg(a) for a in args]))

        self._sessions[cid].conn.create_function(name, narg, call, bool(deterministic))

    @_reported
    def create_aggregate(self, cid, name, narg, start, step, result):
        """Make the JS callbacks an aggregate: ``start()`` gives a group's accumulator,
        ``step(acc, *args)`` the next one, ``result(acc)`` the group's value."""
        arg = self._js_arg

        class Aggregate:
            __slots__ = ("acc",)

            def __init__(self):
                self.acc = start()

            def step(self, *args):
                self.acc = step(self.acc, *[arg(a) for a in args])

            def finalize(self):
                return _from_js(result(self.acc))

        self._sessions[cid].conn.create_aggregate(name, narg, Aggregate)

    def _js_arg(self, value):
        # Pyodide hands bytes to JS as a proxy unless converted: convert them to Uint8Array.
        return self.convert(value) if value.__class__ is bytes else value

    @_reported
    def serialize(self, cid):
        """The database file's bytes after a full checkpoint (JS ``db.serialize()``).

        A TRUNCATE checkpoint moves every committed frame into the main file, so
        its bytes alone are the database (encrypted as on disk, for an encrypted
        one). A reader of another connection that keeps the checkpoint from
        finishing is SQLITE_BUSY rather than a file missing its last commits.
        """
        s = self._sessions[cid]
        stmt, _ = _prepare(s, "PRAGMA wal_checkpoint(TRUNCATE)", 0)
        try:
            _step(s, stmt)
            blocked = stmt.row()[0]
        finally:
            stmt.finalize()
        if blocked:
            raise BusyError("database is locked", SQLITE_BUSY)
        f = s.conn.pager.db.db_file
        data = s.io.wait_for(f.pread(0, s.io.wait_for(f.size())))
        return self.convert(bytes(data))

    # ------------------------------------------------------------ WAL frame API (replication)

    @_reported
    def wal_frame_count(self, cid):
        """Committed frames in the connection's WAL."""
        return self._sessions[cid].frames().frame_count()

    @_reported
    def wal_get_frame(self, cid, n):
        """Frame ``n`` (1-based): its 24-byte header and its page, as stored."""
        s = self._sessions[cid]
        return self.convert(run_sync(s.io, s.frames().get_frame, n))

    @_reported
    def wal_insert_begin(self, cid):
        """Start inserting frames (takes the write lock; SQLITE_BUSY at once if held)."""
        s = self._sessions[cid]
        run_sync(s.io, s.frames().insert_begin)

    @_reported
    def wal_insert_frame(self, cid, n, frame):
        """Insert a primary's frame ``n``; an error if it differs from the one there or leaves a gap."""
        s = self._sessions[cid]
        run_sync(s.io, s.frames().insert_frame, n, _from_js(frame))

    @_reported
    def wal_insert_end(self, cid):
        """End the insert session, dropping a transaction whose commit frame did not come."""
        self._sessions[cid].frames().insert_end()

    @_reported
    def wal_auto_checkpoint_disable(self, cid):
        """Stop automatic checkpoints, so frame numbers stay those of the primary."""
        self._sessions[cid].conn.pager.set_wal_autocheckpoint(0)

    # ------------------------------------------------------------ statements

    @_reported
    def prepare(self, cid, sql):
        """Prepare the one statement of ``sql``: [id, [[name, decltype], ...]]."""
        s = self._sessions[cid]
        stmt, end = _prepare(s, sql, 0)
        if stmt is None:
            raise RangeError_("The supplied SQL string contains no statements")
        if sql[end:].strip():
            rest, _ = _prepare(s, sql, end)
            if rest is not None:
                rest.finalize()
                stmt.finalize()
                raise RangeError_("The supplied SQL string contains more than one statement")
        sid = self._new_id()
        self._stmts[sid] = (stmt, s)
        types = stmt.column_decltypes or [None] * len(stmt.column_names)
        cols = [[name, t or None] for name, t in zip(stmt.column_names, types)]
        return self.convert([sid, cols])

    @_reported
    def finalize(self, sid):
        entry = self._stmts.pop(sid, None)
        if entry is not None:
            entry[0].finalize()

    @_reported
    def run(self, sid, params):
        """Execute to the end: [changes, lastInsertRowid]."""
        stmt, s = self._stmts[sid]
        conn = s.conn
        _start(stmt, params)
        before = conn.total_changes
        try:
            while _step(s, stmt) == ROW:
                pass
        finally:
            stmt.reset()
        changes = conn.changes if conn.total_changes != before else 0
        return self.convert([changes, conn.last_insert_rowid])

    @_reported
    def rows(self, sid, params, limit, safe):
        """Start an execution and return up to ``limit`` rows (all if ``limit`` is 0): [rows, done].

        When not done the statement stays on its row for ``more()``.
        """
        stmt, s = self._stmts[sid]
        _start(stmt, params)
        return self._collect(stmt, s, limit, safe)

    @_reported
    def more(self, sid, limit, safe):
        """The next rows of an execution ``rows()`` started: [rows, done]."""
        stmt, s = self._stmts[sid]
        return self._collect(stmt, s, limit, safe)

    @_reported
    def reset(self, sid):
        entry = self._stmts.get(sid)
        if entry is not None:
            entry[0].reset()

    def _collect(self, stmt, s, limit, safe):
        out = []
        done = False
        try:
            while True:
                if _step(s, stmt) != ROW:
                    done = True
                    break
                out.append(stmt.row())
                if limit and len(out) >= limit:
                    break
        except BaseException:
            stmt.reset()
            raise
        if done or limit == 1:
            stmt.reset()
            done = True
        if safe and self.bigint is not None:
            big = self.bigint
            out = [[big(v) if v.__class__ is int else v for v in row] for row in out]
        return self.convert([out, done])


def _prepare(s, sql, offset):
    """``conn.prepare``, retried once with the schema reloaded when it fails: another
    connection (or frames inserted through the WAL frame API) may have changed it."""
    conn = s.conn
    try:
        return conn.prepare(sql, offset)
    except OperationalError:
        generation = conn.schema_generation
        run_sync(s.io, conn.refresh_schema)
        if conn.schema_generation == generation:
            raise
        return conn.prepare(sql, offset)


def _start(stmt, params):
    """Reset ``stmt`` and bind ``params`` (a JS array or object, or None to keep the bindings)."""
    stmt.reset()
    if params is not None:
        stmt.bind(params.to_py() if hasattr(params, "to_py") else params)


def _step(s, stmt):
    """ROW or DONE; BUSY raises SQLITE_BUSY at once (JS cannot sleep between retries)."""
    io = s.io
    while True:
        r = stmt.step()
        if r == ROW or r == DONE:
            return r
        if r == BUSY:
            stmt.reset()
            raise BusyError("database is locked", SQLITE_BUSY)
        c = stmt.completion
        while not c.finished():
            io.run_once()


class RangeError_(ProgrammingError):
    """Reported to JS as a RangeError (better-sqlite3's error for a statement-count mistake)."""
