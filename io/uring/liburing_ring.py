"""The ring over the PyPI ``liburing`` package (the ``limbodb[uring]`` extra).

Offers ring.py's ``Ring`` methods (prep, submit, reap, cq_ready, sq_space,
register_eventfd, supports, close) so UringIO runs on either. liburing's
prep_read/prep_write take whole Python buffers, not addresses: the rare
resubmission of a short transfer's remainder goes through a separate buffer
(copied back into the read's buffer when its CQE is reaped). Imported only
when ``liburing`` is importable.
"""

import liburing as lu

from limbodb.io.uring.ring import IORING_OP_FSYNC, IORING_OP_FTRUNCATE, IORING_OP_READ, IORING_OP_WRITE


class LiburingRing:
    """One io_uring instance through liburing; see ring.Ring for the method contracts."""

    __slots__ = ("_ring", "_cqe", "sq_entries", "cq_entries", "enter_calls", "_to_submit", "_partial", "_exit")

    def __init__(self, entries=256):
        ring = lu.Ring()
        lu.io_uring_queue_init(entries, ring)  # raises OSError (e.g. EPERM, ENOSYS) on failure
        self._ring = ring
        self._cqe = lu.Cqe()
        self.sq_entries = entries
        self.cq_entries = 2 * entries  # the kernel's default CQ size
        self.enter_calls = 0
        self._to_submit = 0
        self._partial = {}  # user_data -> (read buffer, start, separate buffer)
        # Bound now: a ring closed from __del__ at interpreter exit may outlive the module's globals.
        self._exit = lu.io_uring_queue_exit

    def sq_space(self):
        return lu.io_uring_sq_space_left(self._ring)

    def prep(self, opcode, fd, offset, addr, length, user_data, flags=0, buf=None, start=0):
        sqe = lu.io_uring_get_sqe(self._ring)
        if opcode == IORING_OP_READ:
            if start:
                part = bytearray(length)
                self._partial[user_data] = (buf, start, part)
                lu.io_uring_prep_read(sqe, fd, part, offset)
            else:
                lu.io_uring_prep_read(sqe, fd, buf, offset)
        elif opcode == IORING_OP_WRITE:
            lu.io_uring_prep_write(sqe, fd, bytes(buf[start:start + length]) if start else buf, offset)
        elif opcode == IORING_OP_FSYNC:
            lu.io_uring_prep_fsync(sqe, fd)
        elif opcode == IORING_OP_FTRUNCATE:
            lu.io_uring_prep_ftruncate(sqe, fd, offset)
        else:
            raise ValueError(f"opcode {opcode} is not used by UringIO")
        lu.io_uring_sqe_set_data64(sqe, user_data)
        sqe.flags = flags
        self._to_submit += 1

    @property
    def to_submit(self):
        return self._to_submit

    def submit(self, wait_nr=0):
        self.enter_calls += 1
        try:
            if wait_nr:
                n = lu.io_uring_submit_and_wait(self._ring, wait_nr)
            else:
                n = lu.io_uring_submit(self._ring)
        except (BlockingIOError, InterruptedError):
            return 0
        self._to_submit -= n
        return n

    def cq_ready(self):
        return lu.io_uring_cq_ready(self._ring)

    def reap(self, out):
        ring = self._ring
        cqe = self._cqe
        partial = self._partial
        n = lu.io_uring_cq_ready(ring)
        for _ in range(n):
            lu.io_uring_peek_cqe(ring, cqe)
            entry = cqe[0]
            user_data = entry.user_data
            try:
                res = entry.res
            except OSError as e:  # liburing raises a negative res instead of returning it
                res = -e.errno
            lu.io_uring_cq_advance(ring, 1)
            if partial and user_data in partial:
                buf, start, part = partial.pop(user_data)
                if res > 0:
                    buf[start:start + res] = part[:res]
            out.append((user_data, res))

    def register_eventfd(self, efd):
        lu.io_uring_register_eventfd(self._ring, efd)

    def supports(self, opcode):
        probe = lu.io_uring_get_probe_ring(self._ring)
        try:
            return bool(lu.io_uring_opcode_supported(probe, opcode))
        finally:
            lu.io_uring_free_probe(probe)

    def close(self):
        if self._ring is not None:
            self._exit(self._ring)
            self._ring = None
