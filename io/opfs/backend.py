"""OpfsIO: the Origin Private File System from Pyodide in a browser's dedicated Web Worker.

Opening an OPFS file is asynchronous, so the worker (bindings/js/src/opfs.js)
opens each database file and its ``-wal`` and ``-journal`` with
``createSyncAccessHandle()`` before Python runs, and passes them in as a map
from path to handle. From then on everything is synchronous:
``read``/``write``/``getSize``/``truncate`` finish each completion before the
call returns, and ``flush`` runs only in ``sync()``, which the pager calls at
commit and checkpoint. A sync access handle is exclusive, so a second tab
fails in the worker with "database is locked" before Python sees the file.

OPFS files cannot be deleted while a handle is open: ``remove`` truncates to
zero bytes and ``exists`` is true only for a non-empty file, which is what
SQLite needs of a WAL or a journal (an empty one is the same as none).
"""

from pyodide.ffi import JsException

from limbodb.errors import (
    OperationalError, SQLITE_CANTOPEN, SQLITE_IOERR_FSTAT, SQLITE_IOERR_FSYNC, SQLITE_IOERR_READ,
    SQLITE_IOERR_TRUNCATE, SQLITE_IOERR_WRITE,
)
from limbodb.io.base import File, IO, OPEN_CREATE
from limbodb.io.completion import Completion
from limbodb.io.opfs.jsbuffers import BufferPool, fail, read_result


class OpfsFile(File):
    __slots__ = ("path", "handle", "_pool")

    def __init__(self, path, handle, pool):
        self.path = path
        self.handle = handle
        self._pool = pool

    def pread(self, offset, n):
        c = Completion("read", offset)
        buf = self._pool.get(n)
        try:
            got = self.handle.read(buf, at=offset)
        except JsException as e:
            return fail(c, SQLITE_IOERR_READ, self.path, e)
        c.complete(read_result(buf, got))
        return c

    def pwrite(self, offset, data):
        c = Completion("write", offset)
        n = len(data)
        try:
            done = self.handle.write(self._pool.load(data), at=offset)
        except JsException as e:
            return fail(c, SQLITE_IOERR_WRITE, self.path, e)
        if done != n:  # the quota ran out part way
            return fail(c, SQLITE_IOERR_WRITE, self.path, None)
        c.complete(n)
        return c

    def sync(self):
        c = Completion("sync")
        try:
            self.handle.flush()
        except JsException as e:
            return fail(c, SQLITE_IOERR_FSYNC, self.path, e)
        c.complete(None)
        return c

    def truncate(self, n):
        c = Completion("truncate", n)
        try:
            self.handle.truncate(n)
        except JsException as e:
            return fail(c, SQLITE_IOERR_TRUNCATE, self.path, e)
        c.complete(None)
        return c

    def size(self):
        c = Completion("size")
        try:
            n = self.handle.getSize()
        except JsException as e:
            return fail(c, SQLITE_IOERR_FSTAT, self.path, e)
        c.complete(int(n))
        return c

    def close(self):
        """The worker owns the handle and closes it when the database closes."""


class OpfsIO(IO):
    """Files are the sync access handles the worker opened (a JS Map from path to handle)."""

    def __init__(self, handles):
        self.handles = handles
        self.pool = BufferPool()

    def open_file(self, path, flags=OPEN_CREATE):
        h = self.handles.get(path)
        if h is None:
            raise OperationalError("unable to open database file", SQLITE_CANTOPEN)
        return OpfsFile(path, h, self.pool)

    def exists(self, path):
        h = self.handles.get(path)
        return h is not None and h.getSize() > 0

    def remove(self, path):
        h = self.handles.get(path)
        if h is not None:
            h.truncate(0)
            h.flush()
