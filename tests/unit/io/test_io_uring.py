"""UringIO beyond the shared contract: batching, ordering, cancel, errors, close, backpressure."""

import errno
import os
import select
import subprocess
import sys
import time

import pytest

from limbodb.errors import IOError_, InternalError, OperationalError, SQLITE_IOERR_READ, SQLITE_IOERR_WRITE
from limbodb.io import OPEN_READONLY, Completion
from limbodb.io.uring.backend import UringFile
from limbodb.io.uring.choose import liburing_available, open_uring, uring_unavailable_reason

BINDINGS = ["ctypes"] + (["liburing"] if liburing_available() else [])


@pytest.fixture(params=BINDINGS)
def binding(request):
    reason = uring_unavailable_reason(request.param)
    if reason:
        pytest.skip(f"io_uring unavailable: {reason}")
    return request.param


@pytest.fixture
def uio(binding):
    """A UringIO whose reads all go through the ring (these tests are about the ring)."""
    io = open_uring(binding=binding)
    io.nowait_reads = False
    yield io
    io.close()


@pytest.fixture
def f(uio, tmp_path):
    handle = uio.open_file(str(tmp_path / "t1.db"))
    yield handle
    handle.close()


def test_operations_wait_in_the_queue_until_run_once(uio, f):
    c = f.pwrite(0, b"abc")
    assert uio.enter_calls == 0 and not c.finished()
    uio.wait_for(c)
    assert uio.enter_calls >= 1


def test_sixty_four_reads_are_submitted_in_one_io_uring_enter(uio, f):
    uio.wait_for(f.pwrite(0, bytes(range(256)) * 1024))
    before = uio.enter_calls
    reads = [f.pread(i * 4096, 4096) for i in range(64)]
    uio.run_once()
    assert uio.enter_calls == before + 1
    assert uio.in_flight + sum(c.finished() for c in reads) == 64
    for i, c in enumerate(reads):
        assert uio.wait_for(c) == (bytes(range(256)) * 16)
    # The waits that followed needed at most a few more enters, not one per read.
    assert uio.enter_calls - before < 64


def test_barrier_sync_finishes_after_every_write_submitted_with_it(uio, f):
    order = []
    writes = [f.pwrite(i * 512, bytes([i % 251]) * 512) for i in range(100)]
    for c in writes:
        c.add_callback(lambda c: order.append(("write", c.offset)))
    s = f.sync(barrier=True)
    s.add_callback(lambda c: order.append(("sync", None)))
    uio.run_once()
    assert uio.enter_calls == 1  # the 100 writes and the sync went in together
    uio.wait_for(s)
    assert len(order) == 101 and order[-1] == ("sync", None)
    assert uio.wait_for(f.pread(99 * 512, 512)) == bytes([99]) * 512


@pytest.mark.parametrize("barrier", [False, True])
def test_a_barrier_sync_waits_for_an_earlier_operation_that_has_not_finished(uio, f, barrier):
    # A read from an empty pipe stays in the kernel until the pipe is written.
    r, w = os.pipe()
    pipe = UringFile(uio, "pipe", r)
    try:
        read = pipe.pread(0, 5)
        s = f.sync(barrier=barrier)
        for _ in range(20):
            uio.poll()
            if s.finished():
                break
            time.sleep(0.002)
        assert s.finished() is not barrier and not read.finished()
        os.write(w, b"hello")
        assert uio.wait_for(read) == b"hello"
        assert uio.wait_for(s) is None
    finally:
        pipe.close()
        os.close(w)


def test_cancel_before_submission_never_reaches_the_kernel(uio, f):
    c = f.pwrite(0, b"never")
    c.cancel()
    keep = f.pwrite(10, b"kept")
    uio.wait_for(keep)
    assert c.error().args[0] == "interrupted"
    assert uio.wait_for(f.size()) == 14
    assert uio.wait_for(f.pread(0, 5)) == bytes(5)


def test_cancel_in_flight_ignores_its_cqe_and_the_io_stays_usable(uio, f):
    uio.wait_for(f.pwrite(0, b"x" * 8192))
    first = f.pread(0, 1)
    c = f.pread(0, 8192)
    # Cancelled while the kernel holds it: both were submitted in the same enter.
    first.add_callback(lambda _: c.cancel())
    uio.wait_for(first)
    with pytest.raises(OperationalError, match="interrupted"):
        uio.wait_for(c)
    while uio.in_flight:
        uio.run_once()
    assert uio.in_flight == 0 and f.outstanding == 0
    assert uio.wait_for(f.pread(4096, 3)) == b"xxx"


def test_write_to_a_read_only_file_fails_with_ioerror_naming_op_and_offset(uio, f, tmp_path):
    uio.wait_for(f.pwrite(0, b"data"))
    ro = uio.open_file(str(tmp_path / "t1.db"), OPEN_READONLY)
    try:
        with pytest.raises(IOError_) as e:
            uio.wait_for(ro.pwrite(4096, b"x"))
        assert (e.value.op, e.value.offset, e.value.sqlite_errorcode) == ("write", 4096, SQLITE_IOERR_WRITE)
        assert e.value.__cause__.errno == errno.EBADF
        assert "offset=4096" in str(e.value)
    finally:
        ro.close()


def test_read_of_a_directory_fails_with_ioerror_read(uio, tmp_path):
    fd = os.open(str(tmp_path), os.O_RDONLY)
    d = UringFile(uio, str(tmp_path), fd)
    try:
        with pytest.raises(IOError_) as e:
            uio.wait_for(d.pread(0, 10))
        assert (e.value.op, e.value.sqlite_errorcode) == ("read", SQLITE_IOERR_READ)
        assert e.value.__cause__.errno == errno.EISDIR
    finally:
        d.close()


def test_close_with_a_write_in_flight_keeps_the_descriptor_until_it_finishes(uio, tmp_path):
    path = str(tmp_path / "t2.db")
    g = uio.open_file(path)
    fd = g.fd
    c = g.pwrite(0, b"written after close")
    g.close()
    os.fstat(fd)  # still open
    uio.wait_for(c)
    with pytest.raises(OSError):
        os.fstat(fd)
    with open(path, "rb") as h:
        assert h.read() == b"written after close"


def test_more_operations_than_the_completion_queue_holds_all_finish(binding, tmp_path):
    io = open_uring(entries=8, binding=binding)
    io.nowait_reads = False
    try:
        g = io.open_file(str(tmp_path / "t3.db"))
        io.wait_for(g.pwrite(0, bytes(range(256)) * 16))
        reads = [g.pread(i % 4096, 16) for i in range(600)]
        peak = 0
        while not all(c.finished() for c in reads):
            io.run_once()
            peak = max(peak, io.in_flight)
        assert peak <= io.ring.cq_entries
        assert [c.result for c in reads[:3]] == [bytes(range(16)), bytes(range(1, 17)), bytes(range(2, 18))]
        g.close()
    finally:
        io.close()


def test_eventfd_becomes_readable_when_a_completion_is_posted(uio, f):
    uio.drain_eventfd()
    c = f.pwrite(0, b"ping")
    uio.poll()
    readable, _, _ = select.select([uio.fileno()], [], [], 5)
    assert readable == [uio.fileno()]
    uio.drain_eventfd()
    uio.wait_for(c)
    assert c.result == 4


def test_truncate_without_kernel_support_finishes_synchronously(uio, f):
    uio.wait_for(f.pwrite(0, b"0123456789"))
    uio.has_ftruncate = False
    c = f.truncate(3)
    assert c.finished()
    assert uio.wait_for(f.pread(0, 10)) == b"012"


def test_a_raising_callback_leaves_the_other_completions_to_finish(uio, f):
    a = f.pwrite(0, b"a")
    b = f.pwrite(1, b"b")

    def boom(c):
        raise RuntimeError("callback failed")

    a.add_callback(boom)
    b.add_callback(boom)
    raised = 0
    while not (a.finished() and b.finished()):
        try:
            uio.run_once()
        except RuntimeError:
            raised += 1
    assert raised == 2 and a.result == 1 and b.result == 1


def test_wait_for_a_completion_nobody_will_finish_raises(uio):
    with pytest.raises(InternalError):
        uio.wait_for(Completion("read", 0))


def test_importing_the_package_loads_no_linux_specific_module():
    code = ("import sys, limbodb.io.uring; "
            "assert 'limbodb.io.uring.ring' not in sys.modules and 'limbodb.io.uring.backend' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)



def test_a_cached_read_finishes_at_once_and_a_cold_one_goes_to_the_ring(binding, tmp_path):
    io = open_uring(binding=binding)
    path = str(tmp_path / "t5.db")
    g = io.open_file(path)
    try:
        io.wait_for(g.pwrite(0, b"c" * 65536))
        io.wait_for(g.sync())
        before = io.enter_calls
        warm = g.pread(4096, 4096)
        assert warm.finished() and warm.result == b"c" * 4096 and io.enter_calls == before
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
        cold = g.pread(8192, 4096)
        assert not cold.finished()
        assert io.wait_for(cold) == b"c" * 4096 and io.enter_calls > before
        tail = g.pread(65536 - 10, 100)  # partly past the end: the ring finds the end of file
        assert io.wait_for(tail) == b"c" * 10
    finally:
        g.close()
        io.close()
