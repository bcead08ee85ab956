"""BlockingIO: real files through os.pread/os.pwrite/os.fsync.

Every completion is finished before the call returns. Locks are SQLite's POSIX
advisory locks (fcntl) on the same byte ranges SQLite uses, so a SQLite process
and a limbodb process exclude each other.
"""

import errno
import os

from limbodb.errors import (
    IOError_, OperationalError, SQLITE_CANTOPEN, SQLITE_IOERR_FSYNC, SQLITE_IOERR_READ,
    SQLITE_IOERR_TRUNCATE, SQLITE_IOERR_WRITE, SQLITE_IOERR_FSTAT,
)
from limbodb.io.base import File, IO, OPEN_CREATE, OPEN_READONLY, SHARED_LOCK, EXCLUSIVE_LOCK
from limbodb.io.completion import Completion

try:
    import fcntl
except ImportError:  # Pyodide and other platforms without POSIX locks
    fcntl = None

# SQLite syncs data with fdatasync where the platform has it: the file size is
# the only metadata a database needs, and fdatasync covers a size change.
_fdatasync = getattr(os, "fdatasync", os.fsync)

# os_unix.c: the lock byte ranges at 1 GiB in every database file.
PENDING_BYTE = 0x40000000
RESERVED_BYTE = PENDING_BYTE + 1
SHARED_FIRST = PENDING_BYTE + 2
SHARED_SIZE = 510


class BlockingFile(File):
    __slots__ = ("path", "fd", "lock_level")

    def __init__(self, path, fd):
        self.path = path
        self.fd = fd
        self.lock_level = 0

    def _fail(self, c, code, e):
        c.fail(IOError_("disk I/O error", code, op=c.op, offset=c.offset, path=self.path))
        c.error().__cause__ = e
        return c

    def pread(self, offset, n):
        c = Completion("read", offset)
        try:
            data = os.pread(self.fd, n, offset)
        except OSError as e:
            return self._fail(c, SQLITE_IOERR_READ, e)
        c.complete(data)
        return c

    def pwrite(self, offset, data):
        c = Completion("write", offset)
        try:
            view = memoryview(data)
            done = 0
            while done < len(view):
                done += os.pwrite(self.fd, view[done:], offset + done)
        except OSError as e:
            return self._fail(c, SQLITE_IOERR_WRITE, e)
        c.complete(done)
        return c

    def sync(self):
        c = Completion("sync")
        try:
            _fdatasync(self.fd)
        except OSError as e:
            return self._fail(c, SQLITE_IOERR_FSYNC, e)
        c.complete(None)
        return c

    def truncate(self, n):
        c = Completion("truncate", n)
        try:
            os.ftruncate(self.fd, n)
        except OSError as e:
            return self._fail(c, SQLITE_IOERR_TRUNCATE, e)
        c.complete(None)
        return c

    def size(self):
        c = Completion("size")
        try:
            n = os.fstat(self.fd).st_size
        except OSError as e:
            return self._fail(c, SQLITE_IOERR_FSTAT, e)
        c.complete(n)
        return c

    def lock(self, level):
        if fcntl is None or level <= self.lock_level:
            return True
        # SHARED: a read lock on the shared range; EXCLUSIVE: a write lock on it.
        kind = fcntl.F_RDLCK if level == SHARED_LOCK else fcntl.F_WRLCK
        try:
            fcntl.lockf(self.fd, (fcntl.LOCK_SH if kind == fcntl.F_RDLCK else fcntl.LOCK_EX) | fcntl.LOCK_NB,
                        SHARED_SIZE, SHARED_FIRST, os.SEEK_SET)
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EAGAIN):
                return False
            raise
        self.lock_level = level if level in (SHARED_LOCK, EXCLUSIVE_LOCK) else self.lock_level
        return True

    def unlock(self):
        if fcntl is None or not self.lock_level:
            return
        fcntl.lockf(self.fd, fcntl.LOCK_UN, SHARED_SIZE, SHARED_FIRST, os.SEEK_SET)
        self.lock_level = 0

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class BlockingIO(IO):
    """Blocking POSIX backend; completions finish before the call returns."""

    def open_file(self, path, flags=OPEN_CREATE):
        osflags = os.O_RDONLY if flags & OPEN_READONLY else os.O_RDWR
        if flags & OPEN_CREATE:
            osflags |= os.O_CREAT
        try:
            fd = os.open(path, osflags | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as e:
            raise OperationalError("unable to open database file", SQLITE_CANTOPEN) from e
        return BlockingFile(path, fd)

    def exists(self, path):
        return os.path.exists(path)

    def remove(self, path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
