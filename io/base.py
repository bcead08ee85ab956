"""The File and IO contracts every backend implements.

A ``File`` offers pread/pwrite/sync/truncate/size, each returning a
``Completion`` that the backend finishes (synchronously for MemoryIO and
BlockingIO, later for SimulatedIO, io_uring and OPFS). A read's result is the
bytes read (short at end of file); a write's is the count written; size's is
the length in bytes; sync's and truncate's are None.

An ``IO`` opens files and drives completions: ``run_once()`` reaps what has
finished and runs callbacks; ``wait_for(c)`` loops on it until ``c`` finishes
and returns its result or raises its error. Only the caller (dbapi, asyncio,
the JS worker, tests) waits; the engine never does.

Locks: ``File.lock(level)`` is a non-blocking advisory lock attempt returning
True or False (SHARED or EXCLUSIVE, SQLite's POSIX byte ranges where the
backend has real files); backends without other processes always succeed.

``IO.async_reads`` is True for backends whose reads can be in flight together
(SimulatedIO, io_uring): only there does the pager read ahead of a scan.
"""

import time

from limbodb.errors import OperationalError

# Open flags.
OPEN_READONLY = 1
OPEN_READWRITE = 2
OPEN_CREATE = 4

# Lock levels (SQLite's names).
NO_LOCK = 0
SHARED_LOCK = 1
EXCLUSIVE_LOCK = 4


class File:
    """One open file of a backend."""

    path = ""

    def pread(self, offset, n):
        raise NotImplementedError

    def pwrite(self, offset, data):
        raise NotImplementedError

    def sync(self):
        raise NotImplementedError

    def truncate(self, n):
        raise NotImplementedError

    def size(self):
        raise NotImplementedError

    def lock(self, level):
        """Try to take an advisory lock at ``level``; True on success. Never waits."""
        return True

    def unlock(self):
        """Drop every lock this file holds."""

    def close(self):
        """Release the file; completions already submitted still finish."""


class IO:
    """A backend: opens files and drives their completions."""

    # False when reads finish inside pread (MemoryIO, BlockingIO): reading ahead
    # there would only spend time and memory on pages a scan may never reach.
    async_reads = False

    def open_file(self, path, flags=OPEN_READWRITE | OPEN_CREATE):
        raise NotImplementedError

    def exists(self, path):
        raise NotImplementedError

    def remove(self, path):
        """Delete a file if it exists (synchronous: a metadata operation)."""
        raise NotImplementedError

    def run_once(self):
        """Reap finished operations and run their callbacks. Never blocks for long."""

    def wait_for(self, completion):
        """Drive I/O until ``completion`` finishes; return its result or raise its error."""
        spins = 0
        while not completion.finished():
            self.run_once()
            spins += 1
            if spins > 10_000_000:
                raise OperationalError("I/O completion never finished: " + repr(completion))
        return completion.raise_if_failed()

    def now(self):
        return time.monotonic()
