"""The ``io_backend`` fixture: every backend of limbodb.io behind one contract.

Each test gets a fresh backend and a ``file_path`` valid for it (a real file
under tmp_path for BlockingIO and io_uring, the same string as a key for the others).
"""

import pytest

from limbodb.io import BlockingIO, MemoryIO
from limbodb.io.sim import SimulatedIO
from limbodb.io.uring.choose import liburing_available, open_uring, uring_unavailable_reason

BACKENDS = {
    "memory": lambda: MemoryIO(),
    "blocking": lambda: BlockingIO(),
    "sim": lambda: SimulatedIO(seed=7),
    # io_uring over the ctypes driver (what CI has); skipped where the kernel refuses io_uring.
    "uring": lambda: open_uring(binding="ctypes"),
    # ... with every read through the ring (no RWF_NOWAIT page-cache fast path).
    "uring_ring_only": lambda: _ring_only(open_uring(binding="ctypes")),
}
if liburing_available():  # the optional limbodb[uring] binding, where installed
    BACKENDS["uring_liburing"] = lambda: _ring_only(open_uring(binding="liburing"))

_URING_BINDING = {"uring": "ctypes", "uring_ring_only": "ctypes", "uring_liburing": "liburing"}


def _ring_only(io):
    io.nowait_reads = False
    return io


@pytest.fixture(params=sorted(BACKENDS))
def io_factory(request):
    """Builds fresh backends of one kind (for tests that need several, e.g. under hypothesis)."""
    if request.param in _URING_BINDING:
        reason = uring_unavailable_reason(_URING_BINDING[request.param])
        if reason:
            pytest.skip(f"io_uring unavailable: {reason}")
    return BACKENDS[request.param]


@pytest.fixture
def io_backend(io_factory):
    return io_factory()


@pytest.fixture
def file_path(tmp_path):
    return str(tmp_path / "t1.db")


@pytest.fixture
def f(io_backend, file_path):
    """A fresh, empty file opened on the backend under test."""
    handle = io_backend.open_file(file_path)
    yield handle
    handle.close()
