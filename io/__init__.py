"""limbodb's I/O layer: the Completion contract and its backends.

``limbodb.io.IO`` is the backend contract (open_file, run_once, wait_for, now);
the engine's "waiting" marker is ``limbodb.io.completion.IO`` (Turso's
IOResult::IO). Backends: MemoryIO, BlockingIO, SimulatedIO here; io_uring in
``limbodb.io.uring``; OPFS and Node in ``limbodb.io.opfs``.
"""

from limbodb.io.base import (
    EXCLUSIVE_LOCK, NO_LOCK, OPEN_CREATE, OPEN_READONLY, OPEN_READWRITE, SHARED_LOCK, File, IO,
)
from limbodb.io.completion import Completion, CompletionGroup, IOResult, io_yield_many, io_yield_one, is_io, run_sync
from limbodb.io.memory import MemoryIO
from limbodb.io.blocking import BlockingIO
from limbodb.io.sim import SimulatedIO

__all__ = [
    "Completion", "CompletionGroup", "IOResult", "io_yield_one", "io_yield_many", "is_io", "run_sync",
    "File", "IO", "MemoryIO", "BlockingIO", "SimulatedIO",
    "OPEN_READONLY", "OPEN_READWRITE", "OPEN_CREATE", "NO_LOCK", "SHARED_LOCK", "EXCLUSIVE_LOCK",
]
