"""A small driver of the io_uring kernel ABI on x86-64 Linux (ctypes + mmap).

Owns the only syscall, ctypes and mmap code of limbodb: ``io_uring_setup`` and
``io_uring_enter``/``io_uring_register`` through libc's ``syscall(2)``, the SQ
and CQ rings and the SQE array mapped with ``mmap``. Single-threaded; the kernel
is the only other party. Ordering: x86-64 is TSO (stores are not reordered with
stores, loads not with loads) and each mmap access below is a separate C call,
so writing the SQEs before storing the SQ tail, and reading a CQE after loading
the CQ tail (then storing the CQ head after reading it), is the
release/acquire discipline liburing's barriers give on this architecture.
The SQ index array is filled once with the identity map, so SQE slot i is
always array entry i. ``LiburingRing`` (liburing_ring.py) offers the same
methods over the PyPI ``liburing`` package. Mirrors liburing src/queue.c,
src/setup.c and include/liburing/barrier.h.
"""

import ctypes
import errno
import mmap
import os
import struct

SYS_IO_URING_SETUP = 425
SYS_IO_URING_ENTER = 426
SYS_IO_URING_REGISTER = 427

# Opcodes (include/uapi/linux/io_uring.h).
IORING_OP_FSYNC = 3
IORING_OP_READ = 22
IORING_OP_WRITE = 23
IORING_OP_FTRUNCATE = 55  # Linux 6.9+

# SQE flags.
IOSQE_IO_DRAIN = 1 << 1

IORING_ENTER_GETEVENTS = 1
IORING_FEAT_SINGLE_MMAP = 1
IORING_SQ_CQ_OVERFLOW = 1 << 1
IORING_OFF_SQ_RING = 0
IORING_OFF_CQ_RING = 0x8000000
IORING_OFF_SQES = 0x10000000
IORING_REGISTER_EVENTFD = 4
IORING_REGISTER_PROBE = 8
IO_URING_OP_SUPPORTED = 1

# struct io_uring_params: 10 u32 (sq_entries .. resv[3]), then io_sqring_offsets
# (head, tail, ring_mask, ring_entries, flags, dropped, array, resv1, u64 user_addr)
# and io_cqring_offsets (head, tail, ring_mask, ring_entries, overflow, cqes,
# flags, resv1, u64 user_addr): 120 bytes.
_PARAMS = struct.Struct("<10I8IQ8IQ")
# struct io_uring_sqe (64 bytes): opcode, flags, ioprio, fd, off, addr, len,
# rw_flags, user_data, buf_index, personality, splice_fd_in, addr3, pad.
_SQE = struct.Struct("<BBHiQQIIQHHiQQ")
# struct io_uring_cqe (16 bytes): user_data, res, flags.
_CQE = struct.Struct("<QiI")
_U32 = struct.Struct("<I")
# struct io_uring_probe: last_op, ops_len, resv, resv2[3]; then 8-byte io_uring_probe_op.
_PROBE_HEADER = 16
_PROBE_OP = struct.Struct("<BBHI")
_PROBE_OPS = 256

_char_from_buffer = ctypes.c_char.from_buffer
_addressof = ctypes.addressof
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_c_long = ctypes.c_long
# syscall(2) is variadic: every argument goes as a C long (ctypes would pass a bare int as a 32-bit int).
_NR_ENTER = _c_long(SYS_IO_URING_ENTER)
_ZERO = _c_long(0)


def _syscall(*args):
    """syscall(2) with integer arguments; raises OSError on failure (retrying EINTR)."""
    cargs = [_c_long(a) for a in args]
    while True:
        r = _libc.syscall(*cargs)
        if r >= 0:
            return r
        e = ctypes.get_errno()
        if e != errno.EINTR:
            raise OSError(e, os.strerror(e))


def _enter(fd, to_submit, min_complete, flags):
    """io_uring_enter(2) without a signal mask: the hot syscall, its arguments built once."""
    args = (_NR_ENTER, fd, _c_long(to_submit), _c_long(min_complete), _c_long(flags), _ZERO, _ZERO)
    while True:
        r = _libc.syscall(*args)
        if r >= 0:
            return r
        e = ctypes.get_errno()
        if e != errno.EINTR:
            raise OSError(e, os.strerror(e))


def buffer_address(buf):
    """Address of a writable buffer (a bytearray) and the ctypes view that pins it.

    While the returned view lives, the bytearray cannot be resized, so the
    address stays valid until the kernel is done with it.
    """
    if not buf:
        return 0, None
    pin = _char_from_buffer(buf)  # a one-byte view holds the export as well as a whole-array one, 4x cheaper
    return _addressof(pin), pin


class Ring:
    """One io_uring instance: queue SQEs with ``prep``, ``submit``, ``reap`` CQEs."""

    __slots__ = ("fd", "sq_entries", "cq_entries", "enter_calls", "_sq", "_cq", "_sqes",
                 "_sq_mask", "_sq_tail_off", "_sq_head_off", "_sq_flags_off", "_cq_mask",
                 "_cq_head_off", "_cq_tail_off", "_cqes_off", "_tail", "_cq_head", "_to_submit", "_c_fd")

    def __init__(self, entries=256):
        self.fd = -1
        self._sq = self._cq = self._sqes = None
        params = ctypes.create_string_buffer(_PARAMS.size)
        self.fd = _syscall(SYS_IO_URING_SETUP, entries, ctypes.addressof(params))
        try:
            self._map(_PARAMS.unpack(params.raw))
        except BaseException:
            self.close()
            raise
        self.enter_calls = 0
        self._to_submit = 0
        self._c_fd = _c_long(self.fd)

    def _map(self, p):
        (sq_entries, cq_entries, _flags, _cpu, _idle, features, _wq, _r0, _r1, _r2,
         sq_head, sq_tail, sq_mask, _sq_ring_entries, sq_flags, _dropped, sq_array, _sr, _su,
         cq_head, cq_tail, cq_mask, _cq_ring_entries, _overflow, cqes, _cq_flags, _cr, _cu) = p
        fd = self.fd
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        prot = mmap.PROT_READ | mmap.PROT_WRITE
        sq_size = sq_array + sq_entries * 4
        cq_size = cqes + cq_entries * _CQE.size
        if features & IORING_FEAT_SINGLE_MMAP:
            self._sq = self._cq = mmap.mmap(fd, max(sq_size, cq_size), flags, prot, offset=IORING_OFF_SQ_RING)
        else:
            self._sq = mmap.mmap(fd, sq_size, flags, prot, offset=IORING_OFF_SQ_RING)
            self._cq = mmap.mmap(fd, cq_size, flags, prot, offset=IORING_OFF_CQ_RING)
        self._sqes = mmap.mmap(fd, sq_entries * _SQE.size, flags, prot, offset=IORING_OFF_SQES)
        self.sq_entries = sq_entries
        self.cq_entries = cq_entries
        self._sq_mask = _U32.unpack_from(self._sq, sq_mask)[0]
        self._cq_mask = _U32.unpack_from(self._cq, cq_mask)[0]
        self._sq_head_off = sq_head
        self._sq_tail_off = sq_tail
        self._sq_flags_off = sq_flags
        self._cq_head_off = cq_head
        self._cq_tail_off = cq_tail
        self._cqes_off = cqes
        struct.pack_into(f"<{sq_entries}I", self._sq, sq_array, *range(sq_entries))
        self._tail = _U32.unpack_from(self._sq, sq_tail)[0]
        self._cq_head = _U32.unpack_from(self._cq, cq_head)[0]

    # -- submission ----------------------------------------------------------

    def sq_space(self):
        """Free SQE slots (the kernel consumes SQEs during io_uring_enter)."""
        head = _U32.unpack_from(self._sq, self._sq_head_off)[0]
        return self.sq_entries - ((self._tail - head) & 0xFFFFFFFF)

    def prep(self, opcode, fd, offset, addr, length, user_data, flags=0, buf=None, start=0):
        """Write one SQE into the next free slot; it is not visible to the kernel until ``submit``.

        ``addr`` is ``buf``'s address plus ``start`` (LiburingRing takes the buffer itself).
        """
        tail = self._tail
        _SQE.pack_into(self._sqes, (tail & self._sq_mask) * 64,
                       opcode, flags, 0, fd, offset, addr, length, 0, user_data, 0, 0, 0, 0, 0)
        self._tail = (tail + 1) & 0xFFFFFFFF
        self._to_submit += 1

    def submit(self, wait_nr=0):
        """Publish the queued SQEs and enter the kernel once; wait for ``wait_nr`` CQEs.

        Returns the number of SQEs the kernel consumed. EAGAIN/EBUSY (the
        kernel is short of resources or the CQ overflowed) consume nothing:
        the caller reaps and tries again.
        """
        # Store release: the SQE bytes were written before this tail store.
        _U32.pack_into(self._sq, self._sq_tail_off, self._tail)
        flags = 0
        if wait_nr or _U32.unpack_from(self._sq, self._sq_flags_off)[0] & IORING_SQ_CQ_OVERFLOW:
            flags = IORING_ENTER_GETEVENTS
        self.enter_calls += 1
        try:
            n = _enter(self._c_fd, self._to_submit, wait_nr, flags)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EBUSY):
                return 0
            raise
        self._to_submit -= n
        return n

    @property
    def to_submit(self):
        return self._to_submit

    # -- completion ----------------------------------------------------------

    def cq_ready(self):
        """CQEs posted by the kernel and not yet reaped."""
        return (_U32.unpack_from(self._cq, self._cq_tail_off)[0] - self._cq_head) & 0xFFFFFFFF

    def reap(self, out):
        """Append ``(user_data, res)`` of every posted CQE to ``out`` and release the entries."""
        cq = self._cq
        head = self._cq_head
        tail = _U32.unpack_from(cq, self._cq_tail_off)[0]  # load acquire
        if head == tail:
            return
        mask = self._cq_mask
        base = self._cqes_off
        unpack = _CQE.unpack_from
        while head != tail:
            user_data, res, _flags = unpack(cq, base + (head & mask) * 16)
            out.append((user_data, res))
            head = (head + 1) & 0xFFFFFFFF
        self._cq_head = head
        _U32.pack_into(cq, self._cq_head_off, head)  # store release: entries read above

    # -- registration --------------------------------------------------------

    def register_eventfd(self, efd):
        """Have the kernel signal ``efd`` whenever it posts a CQE."""
        arg = ctypes.c_int(efd)
        _syscall(SYS_IO_URING_REGISTER, self.fd, IORING_REGISTER_EVENTFD, ctypes.addressof(arg), 1)

    def supports(self, opcode):
        """True if the running kernel implements ``opcode`` (IORING_REGISTER_PROBE)."""
        buf = ctypes.create_string_buffer(_PROBE_HEADER + _PROBE_OPS * _PROBE_OP.size)
        _syscall(SYS_IO_URING_REGISTER, self.fd, IORING_REGISTER_PROBE, ctypes.addressof(buf), _PROBE_OPS)
        last_op = buf.raw[0]
        if opcode > last_op:
            return False
        _op, _resv, flags, _resv2 = _PROBE_OP.unpack_from(buf.raw, _PROBE_HEADER + opcode * _PROBE_OP.size)
        return bool(flags & IO_URING_OP_SUPPORTED)

    def __del__(self):
        self.close()

    def close(self, _os_close=os.close):
        # os.close is bound as a default: __del__ may run at exit, after module globals are cleared.
        for m in {id(x): x for x in (self._sq, self._cq, self._sqes) if x is not None}.values():
            m.close()
        self._sq = self._cq = self._sqes = None
        if self.fd >= 0:
            _os_close(self.fd)
            self.fd = -1
