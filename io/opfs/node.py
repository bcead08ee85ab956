"""NodeIO: host files from Pyodide under Node.js, through Node's synchronous ``fs`` calls.

A NODEFS mount would give Python plain file descriptors, but its fsync does
nothing and its locks always succeed, so a commit would not be durable and two
processes could corrupt a file. NodeIO calls ``fs.readSync``/``writeSync``/
``fsyncSync``/``ftruncateSync``/``fstatSync`` on a host descriptor instead:
every completion is finished before the call returns, and ``sync`` is a real
fsync, as durable as BlockingIO on CPython.

Cross-process exclusion: ``lock()`` creates ``<db>-lock`` exclusively (``wx``)
and writes the process id into it; a second process finds it and gets
"database is locked". ``unlock()`` removes it. Caveat: a process killed
before closing leaves the file behind. A lock whose process id no longer
exists on this host is treated as stale and taken over; on a shared network
filesystem that check is meaningless and the file must be removed by hand.
SQLite processes do not see this lock (no POSIX locks are reachable from JS).
"""

from pyodide.ffi import JsException

from limbodb.errors import (
    OperationalError, SQLITE_CANTOPEN, SQLITE_IOERR_FSTAT, SQLITE_IOERR_FSYNC, SQLITE_IOERR_READ,
    SQLITE_IOERR_TRUNCATE, SQLITE_IOERR_WRITE,
)
from limbodb.io.base import File, IO, OPEN_CREATE, OPEN_READONLY
from limbodb.io.completion import Completion
from limbodb.io.opfs.jsbuffers import BufferPool, fail, read_result


class NodeFile(File):
    __slots__ = ("path", "fd", "_io", "_lock_path")

    def __init__(self, io, path, fd):
        self._io = io
        self.path = path
        self.fd = fd
        self._lock_path = None

    def pread(self, offset, n):
        c = Completion("read", offset)
        buf = self._io.pool.get(n)
        try:
            got = self._io.fs.readSync(self.fd, buf, 0, n, offset)
        except JsException as e:
            return fail(c, SQLITE_IOERR_READ, self.path, e)
        c.complete(read_result(buf, got))
        return c

    def pwrite(self, offset, data):
        c = Completion("write", offset)
        n = len(data)
        buf = self._io.pool.load(data)
        writeSync = self._io.fs.writeSync
        done = 0
        try:
            while done < n:
                done += writeSync(self.fd, buf, done, n - done, offset + done)
        except JsException as e:
            return fail(c, SQLITE_IOERR_WRITE, self.path, e)
        c.complete(n)
        return c

    def sync(self):
        c = Completion("sync")
        try:
            self._io.fs.fsyncSync(self.fd)
        except JsException as e:
            return fail(c, SQLITE_IOERR_FSYNC, self.path, e)
        c.complete(None)
        return c

    def truncate(self, n):
        c = Completion("truncate", n)
        try:
            self._io.fs.ftruncateSync(self.fd, n)
        except JsException as e:
            return fail(c, SQLITE_IOERR_TRUNCATE, self.path, e)
        c.complete(None)
        return c

    def size(self):
        c = Completion("size")
        try:
            n = self._io.fs.fstatSync(self.fd).size
        except JsException as e:
            return fail(c, SQLITE_IOERR_FSTAT, self.path, e)
        c.complete(int(n))
        return c

    def lock(self, level):
        if self._lock_path is None:
            path = self.path + "-lock"
            if not self._io.take_lock_file(path):
                return False
            self._lock_path = path
        return True

    def unlock(self):
        if self._lock_path is not None:
            self._io.remove(self._lock_path)
            self._lock_path = None

    def close(self):
        if self.fd is not None:
            self.unlock()
            self._io.fs.closeSync(self.fd)
            self.fd = None


class NodeIO(IO):
    """Host files through Node's ``fs`` module (passed in from JS with ``process``)."""

    def __init__(self, fs, process):
        self.fs = fs
        self.process = process
        self.pool = BufferPool()
        consts = fs.constants
        self._o_rdonly = consts.O_RDONLY
        self._o_rdwr = consts.O_RDWR
        self._o_creat = consts.O_CREAT

    def open_file(self, path, flags=OPEN_CREATE):
        mode = self._o_rdonly if flags & OPEN_READONLY else self._o_rdwr
        if flags & OPEN_CREATE:
            mode |= self._o_creat
        try:
            fd = self.fs.openSync(path, mode, 0o644)
        except JsException as e:
            raise OperationalError("unable to open database file", SQLITE_CANTOPEN) from e
        return NodeFile(self, path, fd)

    def exists(self, path):
        return bool(self.fs.existsSync(path))

    def remove(self, path):
        try:
            self.fs.unlinkSync(path)
        except JsException as e:
            if getattr(e, "code", None) != "ENOENT":
                raise OperationalError("disk I/O error") from e

    def take_lock_file(self, path):
        """Create ``path`` exclusively with this process id in it; False if a live process holds it."""
        for _ in range(2):
            try:
                fd = self.fs.openSync(path, "wx", 0o644)
            except JsException as e:
                if getattr(e, "code", None) != "EEXIST":
                    raise OperationalError("unable to open database file", SQLITE_CANTOPEN) from e
                if not self._stale(path):
                    return False
                self.remove(path)
                continue
            try:
                self.fs.writeSync(fd, str(self.process.pid) + "\n")
            finally:
                self.fs.closeSync(fd)
            return True
        return False

    def _stale(self, path):
        """True when the lock file names a process that no longer exists on this host."""
        try:
            text = str(self.fs.readFileSync(path, "utf8")).strip()
        except JsException:
            return False
        if not text.isdigit():
            return False  # being written right now, or not ours: leave it alone
        try:
            self.process.kill(int(text), 0)
        except JsException as e:
            return getattr(e, "code", None) == "ESRCH"
        return False
