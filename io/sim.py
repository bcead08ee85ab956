"""SimulatedIO: a seeded in-memory backend that makes every operation wait.

One ``random.Random(seed)`` decides everything: the same seed and the same calls
give the same ``trace`` (a list of strings), byte for byte. Nothing finishes
synchronously; each ``run_once()`` finishes a random non-empty subset of the
pending operations in random order. An operation takes effect when it finishes
(as in Turso's simulator), so wait for a write before reading its bytes.
Each file has a volatile image (finished writes; reads see it) and a durable
image (as of the last finished sync). Faults: ``fail_at``, ``fault_plan``,
``error_rate``, ``short_read_rate`` (see SimulatedIO). ``power_loss("lose"|"torn")``
keeps the durable image (plus, when torn, each unsynced 512-byte sector with
probability 1/2), drops pending operations unfinished, and makes every later use
raise PowerLossError; ``after_power_loss(seed)`` is a fresh SimulatedIO over the
surviving files. Mirrors Turso simulator/runner/file.rs and SQLite's test_devsym.c.
"""

import random

from limbodb.errors import (
    IOError_, InternalError, OperationalError, SQLITE_CANTOPEN, SQLITE_IOERR_FSTAT, SQLITE_IOERR_FSYNC,
    SQLITE_IOERR_READ, SQLITE_IOERR_TRUNCATE, SQLITE_IOERR_WRITE, errorname,
)
from limbodb.io.base import File, IO, OPEN_CREATE
from limbodb.io.completion import Completion

FAULT_ERROR = "error"
FAULT_SHORT_READ = "short_read"
FAULT_POWER_LOSS = "power_loss"
FAULT_POWER_TORN = "power_loss_torn"

SECTOR_SIZE = 512

_ERROR_CODE = {
    "read": SQLITE_IOERR_READ, "write": SQLITE_IOERR_WRITE, "sync": SQLITE_IOERR_FSYNC,
    "truncate": SQLITE_IOERR_TRUNCATE, "size": SQLITE_IOERR_FSTAT,
}

# Unsynced-history record kinds.
_U_WRITE = 0
_U_TRUNCATE = 1


class PowerLossError(Exception):
    """A SimulatedIO (or one of its files) was used after its power was cut.

    Deliberately not a limbodb DatabaseError: the engine must not mistake the
    simulated crash for a disk error it could recover from.
    """


class _FileData:
    """One simulated file: volatile and durable images plus the unsynced history."""

    __slots__ = ("path", "volatile", "durable", "unsynced")

    def __init__(self, path, data=b""):
        self.path = path
        self.volatile = bytearray(data)
        self.durable = bytes(data)
        self.unsynced = []


class _Op:
    __slots__ = ("index", "op", "data", "offset", "arg", "completion", "fault")

    def __init__(self, index, op, data, offset, arg, completion, fault):
        self.index = index
        self.op = op
        self.data = data
        self.offset = offset
        self.arg = arg
        self.completion = completion
        self.fault = fault


def _write_into(buf, offset, data):
    # An empty write does not extend the file (POSIX pwrite).
    if offset > len(buf) and data:
        buf.extend(bytes(offset - len(buf)))
    buf[offset:offset + len(data)] = data


def _resize(buf, n):
    if n < len(buf):
        del buf[n:]
    else:
        buf.extend(bytes(n - len(buf)))


class SimFile(File):
    """A handle on a simulated file; operations queue on the owning SimulatedIO."""

    __slots__ = ("path", "_io", "_data")

    def __init__(self, io, data):
        self._io = io
        self._data = data
        self.path = data.path

    def pread(self, offset, n):
        return self._io._submit("read", self._data, offset, n)

    def pwrite(self, offset, data):
        return self._io._submit("write", self._data, offset, bytes(data))

    def sync(self):
        return self._io._submit("sync", self._data, None, None)

    def truncate(self, n):
        return self._io._submit("truncate", self._data, n, n)

    def size(self):
        return self._io._submit("size", self._data, None, None)


class SimulatedIO(IO):
    """Seeded delaying, reordering, fault-injecting, power-cutting backend.

    Operations are numbered by submission (0-based, across all files). Faults:
    ``fail_at={index: kind}``, ``fault_plan(index, op, path, offset) -> kind | None``,
    or random by ``error_rate`` / ``short_read_rate`` (reads). Kinds:
    FAULT_ERROR finishes with IOError_ (op, offset, path and SQLITE_IOERR_READ,
    _WRITE, _FSYNC, _TRUNCATE or _FSTAT) and leaves the file unchanged;
    FAULT_SHORT_READ returns a strict prefix of the bytes (ignored on other
    operations); FAULT_POWER_LOSS / FAULT_POWER_TORN cut the power as that
    operation is submitted: it never happens and the call raises PowerLossError.
    A higher ``finish_probability`` finishes more operations per run_once().
    """

    async_reads = True

    def __init__(self, seed=0, *, files=None, finish_probability=0.5, error_rate=0.0, short_read_rate=0.0,
                 fail_at=None, fault_plan=None):
        """``files`` maps path -> bytes: initial contents, already durable."""
        self.seed = seed
        self.rng = random.Random(seed)
        self.finish_probability = finish_probability
        self.error_rate = error_rate
        self.short_read_rate = short_read_rate
        self.fail_at = dict(fail_at or {})
        self.fault_plan = fault_plan
        self.trace = []
        self.files = {path: _FileData(path, data) for path, data in (files or {}).items()}
        self.pending = []
        self.op_count = 0
        self.powered = True
        self._clock = 0.0

    # -- IO contract ---------------------------------------------------------

    def open_file(self, path, flags=OPEN_CREATE):
        self._check_power()
        data = self.files.get(path)
        if data is None:
            if not flags & OPEN_CREATE:
                raise OperationalError("unable to open database file", SQLITE_CANTOPEN)
            data = self.files[path] = _FileData(path)
            self.trace.append(f"create {path}")
        return SimFile(self, data)

    def exists(self, path):
        self._check_power()
        return path in self.files

    def remove(self, path):
        self._check_power()
        if self.files.pop(path, None) is not None:
            self.trace.append(f"remove {path}")

    def run_once(self):
        """Finish a random non-empty subset of the pending operations, in random order."""
        self._check_power()
        self._clock += 0.001
        pending = self.pending
        if not pending:
            return
        rng = self.rng
        p = self.finish_probability
        batch = [op for op in pending if rng.random() < p] or [rng.choice(pending)]
        rng.shuffle(batch)
        # Each op leaves `pending` before its callbacks run, so a raising
        # callback leaves the rest of the batch pending, not lost.
        for op in batch:
            pending.remove(op)
            self._finish(op)
            if not self.powered:
                return

    def wait_for(self, completion):
        while not completion.finished():
            self._check_power()
            if not self.pending:
                raise InternalError(f"waiting for {completion!r}, but SimulatedIO has nothing pending")
            self.run_once()
        return completion.raise_if_failed()

    def now(self):
        return self._clock

    # -- power loss ----------------------------------------------------------

    def power_loss(self, mode="lose"):
        """Cut the power: drop pending operations and keep what the disk would have."""
        if mode not in ("lose", "torn"):
            raise ValueError(f"power_loss mode must be 'lose' or 'torn', not {mode!r}")
        self._check_power()
        self.powered = False
        for op in self.pending:
            self.trace.append(f"#{op.index} {op.op} dropped")
        self.pending = []
        self.trace.append(f"power loss ({mode})")
        for path in sorted(self.files):
            f = self.files[path]
            image = bytearray(f.durable)
            if mode == "torn":
                for rec in f.unsynced:
                    self._replay_torn(path, image, rec)
            f.volatile = image
            f.durable = bytes(image)
            f.unsynced = []

    def _replay_torn(self, path, image, rec):
        rng = self.rng
        if rec[0] == _U_TRUNCATE:
            kept = rng.random() < 0.5
            if kept:
                _resize(image, rec[1])
            self.trace.append(f"torn {path} truncate {rec[1]} {'kept' if kept else 'lost'}")
            return
        offset, data = rec[1], rec[2]
        end = offset + len(data)
        mask = []
        start = offset
        while start < end:
            stop = min(end, (start // SECTOR_SIZE + 1) * SECTOR_SIZE)
            if rng.random() < 0.5:
                _write_into(image, start, data[start - offset:stop - offset])
                mask.append("1")
            else:
                mask.append("0")
            start = stop
        self.trace.append(f"torn {path} write off={offset} sectors={''.join(mask)}")

    def after_power_loss(self, seed=None, **options):
        """A fresh, powered SimulatedIO over the files that survived; ``options`` as for __init__."""
        if self.powered:
            raise InternalError("after_power_loss() before power_loss()")
        if seed is None:
            seed = self.rng.getrandbits(32)
        return SimulatedIO(seed, files={p: f.durable for p, f in self.files.items()}, **options)

    def file_bytes(self, path, durable=False):
        """The current (or durable) contents of a file, for checks in tests."""
        f = self.files[path]
        return f.durable if durable else bytes(f.volatile)

    def _check_power(self):
        if not self.powered:
            raise PowerLossError("SimulatedIO used after power loss")

    # -- operations ------------------------------------------------------------

    def _submit(self, op, data, offset, arg):
        self._check_power()
        index = self.op_count
        self.op_count = index + 1
        fault = self._choose_fault(index, op, data.path, offset)
        shown = len(arg) if op == "write" else arg
        self.trace.append(f"#{index} {op} {data.path} off={offset} n={shown}" + (f" fault={fault}" if fault else ""))
        if fault == FAULT_POWER_LOSS or fault == FAULT_POWER_TORN:
            self.power_loss("lose" if fault == FAULT_POWER_LOSS else "torn")
            raise PowerLossError(f"power lost at operation #{index} ({op})")
        c = Completion(op, offset)
        self.pending.append(_Op(index, op, data, offset, arg, c, fault))
        return c

    def _choose_fault(self, index, op, path, offset):
        fault = self.fail_at.get(index)
        if fault is None and self.fault_plan is not None:
            fault = self.fault_plan(index, op, path, offset)
        if fault is None and self.error_rate and self.rng.random() < self.error_rate:
            fault = FAULT_ERROR
        if fault is None and op == "read" and self.short_read_rate and self.rng.random() < self.short_read_rate:
            fault = FAULT_SHORT_READ
        if fault not in (None, FAULT_ERROR, FAULT_SHORT_READ, FAULT_POWER_LOSS, FAULT_POWER_TORN):
            raise ValueError(f"unknown fault kind {fault!r}")
        return fault

    def _finish(self, op):
        c = op.completion
        tag = f"#{op.index} {op.op}"
        if c.finished():
            # Cancelled by its owner while queued: it never reaches the disk.
            self.trace.append(f"{tag} cancelled")
            return
        if op.fault == FAULT_ERROR:
            code = _ERROR_CODE[op.op]
            self.trace.append(f"{tag} {errorname(code)}")
            c.fail(IOError_("disk I/O error", code, op=op.op, offset=op.offset, path=op.data.path))
            return
        f = op.data
        kind = op.op
        if kind == "read":
            result = bytes(f.volatile[op.offset:op.offset + op.arg])
            if op.fault == FAULT_SHORT_READ and result:
                result = result[:self.rng.randrange(len(result))]
            shown = len(result)
        elif kind == "write":
            _write_into(f.volatile, op.offset, op.arg)
            f.unsynced.append((_U_WRITE, op.offset, op.arg))
            result = shown = len(op.arg)
        elif kind == "sync":
            f.durable = bytes(f.volatile)
            f.unsynced = []
            result = shown = None
        elif kind == "truncate":
            _resize(f.volatile, op.arg)
            f.unsynced.append((_U_TRUNCATE, op.arg))
            result = shown = None
        else:
            result = shown = len(f.volatile)
        self.trace.append(f"{tag} ok {shown}")
        c.complete(result)
