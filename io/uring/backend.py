"""UringIO: the File/IO contract on Linux io_uring.

A read first copies what the page cache holds with ``preadv(RWF_NOWAIT)``
(never waits), so a warm read finishes before pread returns at os.pread's
cost; the rest of a read, pwrite, sync (and truncate where the kernel has
IORING_OP_FTRUNCATE, 6.9+; else it finishes synchronously, as size() does)
queue an operation. ``run_once()`` moves the queue into SQEs, enters the
kernel once for the batch, and finishes completions from the CQEs. An
in-flight read owns one pinned ``bytearray``; a write copies its data. Short
transfers are resubmitted for the rest. At most ``cq_entries`` operations are
in the kernel (no CQ overflow). A cancelled operation is not submitted, or its
CQE is ignored; a closed file keeps its descriptor until its operations end.
The ring's eventfd (``fileno()``) is signalled per CQE, for asyncio's
``loop.add_reader``. Opening and locks are BlockingIO's. Mirrors Turso
core/io/io_uring.rs.
"""

import collections
import errno
import os

from limbodb.errors import (
    IOError_, InternalError, SQLITE_IOERR_FSYNC, SQLITE_IOERR_READ, SQLITE_IOERR_TRUNCATE, SQLITE_IOERR_WRITE,
)
from limbodb.io.base import OPEN_CREATE
from limbodb.io.blocking import BlockingFile, BlockingIO
from limbodb.io.completion import Completion
from limbodb.io.uring.ring import (
    IORING_OP_FSYNC, IORING_OP_FTRUNCATE, IORING_OP_READ, IORING_OP_WRITE, IOSQE_IO_DRAIN, Ring, buffer_address,
)

_preadv = getattr(os, "preadv", None)
_RWF_NOWAIT = getattr(os, "RWF_NOWAIT", 0)

_ERROR_CODE = {
    IORING_OP_READ: SQLITE_IOERR_READ, IORING_OP_WRITE: SQLITE_IOERR_WRITE,
    IORING_OP_FSYNC: SQLITE_IOERR_FSYNC, IORING_OP_FTRUNCATE: SQLITE_IOERR_TRUNCATE,
}


class _Op:
    """One queued or in-flight operation; ``done`` bytes of ``want`` are transferred."""

    __slots__ = ("completion", "file", "opcode", "offset", "buf", "addr", "pin", "done", "want", "flags")

    def __init__(self, completion, file, opcode, offset, buf, want, flags=0):
        self.completion = completion
        self.file = file
        self.opcode = opcode
        self.offset = offset
        self.buf = buf
        self.addr, self.pin = buffer_address(buf) if buf is not None else (0, None)
        self.done = 0
        self.want = want
        self.flags = flags


class UringFile(BlockingFile):
    """A file whose reads, writes and syncs go through the owning UringIO's ring."""

    __slots__ = ("_io", "outstanding", "closing")

    def __init__(self, io, path, fd):
        super().__init__(path, fd)
        self._io = io
        self.outstanding = 0
        self.closing = False

    def pread(self, offset, n):
        c = Completion("read", offset)
        buf = bytearray(n)
        io = self._io
        got = 0
        if io.nowait_reads and n:
            # Bytes already in the page cache are copied here without waiting (RWF_NOWAIT);
            # only what would wait for the disk goes to the ring.
            try:
                got = _preadv(self.fd, (buf,), offset, _RWF_NOWAIT)
            except BlockingIOError:
                pass
            except OSError as e:
                if e.errno == errno.EOPNOTSUPP:  # this file system cannot: stop trying
                    io.nowait_reads = False
                # Other errors (EBADF, EISDIR) are reported by the ring's read, as IOError_.
            if got == n:
                c.complete(bytes(buf))
                return c
        op = _Op(c, self, IORING_OP_READ, offset, buf, n)
        op.done = got  # a short read here is a partly cached range or the end of the file
        io._queue_op(op)
        return c

    def pwrite(self, offset, data):
        c = Completion("write", offset)
        # The caller may change a bytearray (a dirty page) before the kernel reads it.
        buf = bytearray(data)
        self._io._queue_op(_Op(c, self, IORING_OP_WRITE, offset, buf, len(buf)))
        return c

    def sync(self, barrier=False):
        """fsync; with ``barrier`` it starts only after every operation submitted before it
        has finished, and nothing submitted after it starts before it finishes (IOSQE_IO_DRAIN)."""
        c = Completion("sync")
        self._io._queue_op(_Op(c, self, IORING_OP_FSYNC, 0, None, 0, IOSQE_IO_DRAIN if barrier else 0))
        return c

    def truncate(self, n):
        if not self._io.has_ftruncate:
            return super().truncate(n)
        c = Completion("truncate", n)
        self._io._queue_op(_Op(c, self, IORING_OP_FTRUNCATE, n, None, 0))
        return c

    def close(self):
        # The kernel may still use the descriptor: close it when the last operation finishes.
        self.closing = True
        if self.outstanding == 0:
            super().close()


class UringIO(BlockingIO):
    """io_uring backend: one ring, batched submissions, completions finished in run_once()."""

    async_reads = True

    def __init__(self, entries=256, ring=None, nowait_reads=True):
        self.ring = ring if ring is not None else Ring(entries)
        # Reads served from the page cache at once (pread's cost); only misses use the ring.
        self.nowait_reads = bool(nowait_reads and _RWF_NOWAIT and _preadv)
        self.has_ftruncate = self.ring.supports(IORING_OP_FTRUNCATE)
        self._eventfd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        self.ring.register_eventfd(self._eventfd)
        self._queue = collections.deque()
        self._reaped = collections.deque()
        self._ops = {}
        self._next_id = 1
        self.in_flight = 0

    @property
    def enter_calls(self):
        """io_uring_enter calls made so far (one per run_once or poll with work to submit)."""
        return self.ring.enter_calls

    def open_file(self, path, flags=OPEN_CREATE):
        plain = BlockingIO.open_file(self, path, flags)
        return UringFile(self, plain.path, plain.fd)

    def fileno(self):
        """The eventfd the kernel signals when it posts a CQE (for loop.add_reader)."""
        return self._eventfd

    def drain_eventfd(self):
        """Reset the eventfd after it became readable."""
        try:
            os.eventfd_read(self._eventfd)
        except BlockingIOError:
            pass

    # -- the I/O loop --------------------------------------------------------

    def _queue_op(self, op):
        op.file.outstanding += 1
        self._queue.append(op)

    def _fill(self):
        """Move queued operations into free SQEs, keeping at most cq_entries in the kernel."""
        queue = self._queue
        if not queue:
            return
        ring = self.ring
        room = min(ring.sq_space(), ring.cq_entries - self.in_flight)
        ops = self._ops
        while queue and room > 0:
            op = queue.popleft()
            if op.completion.finished():  # cancelled before it reached the kernel
                self._release(op)
                continue
            uid = self._next_id
            self._next_id = uid + 1
            ops[uid] = op
            done = op.done
            ring.prep(op.opcode, op.file.fd, op.offset + done, op.addr + done, op.want - done, uid, op.flags,
                      op.buf, done)
            self.in_flight += 1
            room -= 1

    def poll(self):
        """Submit what is queued and finish what the kernel has completed; never waits."""
        self._fill()
        if self.ring.to_submit:
            self.ring.submit(0)
        self._finish_reaped()

    def run_once(self):
        """Submit the queue in one io_uring_enter, waiting there for one CQE if none is posted yet."""
        self._fill()
        ring = self.ring
        wait = 1 if self.in_flight and not ring.cq_ready() and not self._reaped else 0
        if ring.to_submit or wait:
            ring.submit(wait)
        self._finish_reaped()

    def wait_for(self, completion):
        while not completion.finished():
            if not (self.in_flight or self._queue or self._reaped):
                raise InternalError(f"waiting for {completion!r}, but UringIO has nothing in flight")
            self.run_once()
        return completion.raise_if_failed()

    def _finish_reaped(self):
        reaped = self._reaped
        self.ring.reap(reaped)
        # One CQE at a time leaves the deque before its callbacks run: a raising
        # callback leaves the rest for the next run_once, not lost.
        while reaped:
            uid, res = reaped.popleft()
            op = self._ops.pop(uid)
            self.in_flight -= 1
            self._finish(op, res)

    def _finish(self, op, res):
        c = op.completion
        if c.finished():  # cancelled while in flight
            self._release(op)
            return
        if res < 0:
            self._release(op)
            err = IOError_("disk I/O error", _ERROR_CODE[op.opcode], op=c.op, offset=c.offset, path=op.file.path)
            err.__cause__ = OSError(-res, os.strerror(-res))
            c.fail(err)
            return
        if op.buf is not None:
            op.done += res
            if op.done < op.want:
                if res > 0:  # a short transfer: submit the rest
                    self._queue.appendleft(op)
                    return
                if op.opcode == IORING_OP_WRITE:
                    self._release(op)
                    err = IOError_("disk I/O error", SQLITE_IOERR_WRITE, op=c.op, offset=c.offset,
                                   path=op.file.path)
                    err.__cause__ = OSError(0, "write made no progress")
                    c.fail(err)
                    return
            self._release(op)
            if op.opcode == IORING_OP_READ:
                buf = op.buf
                c.complete(bytes(buf) if op.done == op.want else bytes(buf[:op.done]))
            else:
                c.complete(op.done)
            return
        self._release(op)
        c.complete(None)

    def _release(self, op):
        op.pin = None
        f = op.file
        f.outstanding -= 1
        if f.closing and f.outstanding == 0:
            BlockingFile.close(f)

    def __del__(self):
        self.close()

    def close(self, _os_close=os.close):
        """Release the ring and the eventfd; operations in the kernel are waited for, not finished.

        The kernel may still copy into an in-flight read's buffer, so the ring
        outlives every operation it was given. Queued operations are dropped.
        """
        # os.close is bound as a default: __del__ may run at exit, after module globals are cleared.
        ring = getattr(self, "ring", None)
        if ring is None:
            return
        in_kernel = self.in_flight - len(self._reaped)
        while in_kernel > 0:
            ring.submit(1)
            done = []
            ring.reap(done)
            in_kernel -= len(done)
        ring.close()
        self.ring = None
        _os_close(self._eventfd)
