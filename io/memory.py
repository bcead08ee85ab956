"""MemoryIO: files held in bytearrays, every completion finished synchronously.

Backs ``:memory:`` databases and tests. Files live in the backend instance, so
two opens of the same path in one MemoryIO see the same bytes.
"""

from limbodb.errors import OperationalError, SQLITE_CANTOPEN
from limbodb.io.base import File, IO, OPEN_CREATE
from limbodb.io.completion import Completion


class MemoryFile(File):
    __slots__ = ("path", "data")

    def __init__(self, path, data):
        self.path = path
        self.data = data

    def pread(self, offset, n):
        c = Completion("read", offset)
        c.complete(bytes(self.data[offset:offset + n]))
        return c

    def pwrite(self, offset, data):
        c = Completion("write", offset)
        buf = self.data
        end = offset + len(data)
        # An empty write does not extend the file (POSIX pwrite).
        if offset > len(buf) and end > offset:
            buf.extend(bytes(offset - len(buf)))
        buf[offset:end] = data
        c.complete(len(data))
        return c

    def sync(self):
        c = Completion("sync")
        c.complete(None)
        return c

    def truncate(self, n):
        c = Completion("truncate", n)
        buf = self.data
        # ftruncate semantics: growing a file pads it with zeros.
        if n < len(buf):
            del buf[n:]
        else:
            buf.extend(bytes(n - len(buf)))
        c.complete(None)
        return c

    def size(self):
        c = Completion("size")
        c.complete(len(self.data))
        return c


class MemoryIO(IO):
    """In-memory backend; completions finish before the call returns."""

    def __init__(self):
        self.files = {}

    def open_file(self, path, flags=OPEN_CREATE):
        data = self.files.get(path)
        if data is None:
            if not flags & OPEN_CREATE:
                raise OperationalError("unable to open database file", SQLITE_CANTOPEN)
            data = self.files[path] = bytearray()
        return MemoryFile(path, data)

    def exists(self, path):
        return path in self.files

    def remove(self, path):
        self.files.pop(path, None)
