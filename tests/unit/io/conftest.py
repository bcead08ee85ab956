"""The ``io_backend`` fixture: every backend of limbodb.io behind one contract.

Each test gets a fresh backend and a ``file_path`` valid for it (a real file
under tmp_path for BlockingIO, the same string as a key for the others).
"""

import pytest

from limbodb.io import BlockingIO, MemoryIO
from limbodb.io.sim import SimulatedIO

BACKENDS = {
    "memory": lambda: MemoryIO(),
    "blocking": lambda: BlockingIO(),
    "sim": lambda: SimulatedIO(seed=7),
}


@pytest.fixture(params=sorted(BACKENDS))
def io_factory(request):
    """Builds fresh backends of one kind (for tests that need several, e.g. under hypothesis)."""
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
