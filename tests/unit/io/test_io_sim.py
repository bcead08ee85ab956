"""SimulatedIO: delays, reordering, determinism, fault injection and power loss."""

import pytest

from limbodb.errors import (
    IOError_, InternalError, SQLITE_IOERR_FSTAT, SQLITE_IOERR_FSYNC, SQLITE_IOERR_READ, SQLITE_IOERR_TRUNCATE,
    SQLITE_IOERR_WRITE,
)
from limbodb.io import Completion
from limbodb.io.sim import (
    FAULT_ERROR, FAULT_POWER_LOSS, FAULT_POWER_TORN, FAULT_SHORT_READ, SECTOR_SIZE, PowerLossError, SimulatedIO,
)


def _scenario(seed, **options):
    """A fixed sequence of calls; returns the trace and the order reads finished in."""
    io = SimulatedIO(seed, **options)
    f = io.open_file("t1.db")
    g = io.open_file("t1.db-wal")
    for i in range(6):
        f.pwrite(i * 100, bytes([i]) * 100)
    g.pwrite(0, b"w" * 32)
    _drain(io)
    order = []
    for i in range(6):
        f.pread(i * 100, 100).add_callback(lambda c, i=i: order.append(i))
    f.sync()
    _drain(io)
    g.size()
    _drain(io)
    return io.trace, order


def _drain(io):
    """Finish everything pending, whatever its outcome."""
    while io.pending:
        io.run_once()


def test_no_operation_finishes_synchronously():
    io = SimulatedIO(seed=11)
    f = io.open_file("t1.db")
    ops = [f.pwrite(0, b"abc"), f.pread(0, 3), f.sync(), f.truncate(1), f.size()]
    assert not any(c.finished() for c in ops)
    c = ops[0]
    io.wait_for(c)
    for _ in range(50):
        r = f.pread(0, 3)
        assert not r.finished()
        io.wait_for(r)


def test_each_run_once_finishes_a_non_empty_subset():
    io = SimulatedIO(seed=5)
    f = io.open_file("t1.db")
    cs = [f.pread(i, 1) for i in range(40)]
    batches = []
    while io.pending:
        before = sum(c.finished() for c in cs)
        io.run_once()
        batches.append(sum(c.finished() for c in cs) - before)
    assert all(n >= 1 for n in batches)
    assert len(batches) > 1 and max(batches) > 1
    assert all(c.finished() for c in cs)


def test_completions_finish_out_of_submission_order():
    orders = [_scenario(seed)[1] for seed in range(5)]
    assert all(sorted(o) == list(range(6)) for o in orders)
    assert any(o != list(range(6)) for o in orders)


def test_one_batch_finishes_in_random_order():
    orders = []
    for seed in range(5):
        io = SimulatedIO(seed, finish_probability=1.0)
        f = io.open_file("t1.db")
        order = []
        for i in range(8):
            f.pread(0, 1).add_callback(lambda c, i=i: order.append(i))
        io.run_once()
        assert sorted(order) == list(range(8))
        orders.append(order)
    assert any(o != list(range(8)) for o in orders)


def test_same_seed_gives_the_same_trace_byte_for_byte():
    t1, o1 = _scenario(42, error_rate=0.1, short_read_rate=0.1)
    t2, o2 = _scenario(42, error_rate=0.1, short_read_rate=0.1)
    assert "\n".join(t1).encode() == "\n".join(t2).encode()
    assert o1 == o2
    assert len(t1) > 20 and any("fault=" in line for line in t1)


def test_different_seeds_give_different_traces():
    traces = {"\n".join(_scenario(seed)[0]) for seed in range(6)}
    assert len(traces) > 1


def test_reads_see_finished_writes_before_sync():
    io = SimulatedIO(seed=2)
    f = io.open_file("t1.db")
    io.wait_for(f.pwrite(0, b"volatile"))
    assert io.wait_for(f.pread(0, 8)) == b"volatile"
    assert io.file_bytes("t1.db") == b"volatile"
    assert io.file_bytes("t1.db", durable=True) == b""


@pytest.mark.parametrize("op, code", [
    ("read", SQLITE_IOERR_READ), ("write", SQLITE_IOERR_WRITE), ("sync", SQLITE_IOERR_FSYNC),
    ("truncate", SQLITE_IOERR_TRUNCATE), ("size", SQLITE_IOERR_FSTAT),
])
def test_injected_error_carries_op_offset_path_and_extended_code(op, code):
    io = SimulatedIO(seed=9, fail_at={1: FAULT_ERROR})
    f = io.open_file("t1.db")
    io.wait_for(f.pwrite(0, b"x" * 1000))  # op #0
    c = {"read": lambda: f.pread(512, 10), "write": lambda: f.pwrite(512, b"y"), "sync": f.sync,
         "truncate": lambda: f.truncate(512), "size": f.size}[op]()
    with pytest.raises(IOError_) as e:
        io.wait_for(c)
    err = e.value
    assert err.op == op and err.path == "t1.db" and err.sqlite_errorcode == code
    assert err.offset == c.offset
    assert err.args[0] == "disk I/O error"
    assert c.error() is err
    # A failed operation leaves the file unchanged.
    assert io.file_bytes("t1.db") == b"x" * 1000
    assert f"#1 {op} {err.sqlite_errorname}" in io.trace


def test_fault_plan_chooses_faults_by_op_and_offset():
    seen = []

    def plan(index, op, path, offset):
        seen.append((index, op, path, offset))
        return FAULT_ERROR if op == "read" and offset == 4096 else None

    io = SimulatedIO(seed=1, fault_plan=plan)
    f = io.open_file("t1.db")
    io.wait_for(f.pwrite(0, bytes(8192)))
    assert io.wait_for(f.pread(0, 4)) == bytes(4)
    with pytest.raises(IOError_) as e:
        io.wait_for(f.pread(4096, 4))
    assert e.value.offset == 4096
    assert seen == [(0, "write", "t1.db", 0), (1, "read", "t1.db", 0), (2, "read", "t1.db", 4096)]


def test_error_rate_one_fails_everything_and_zero_nothing():
    io = SimulatedIO(seed=4, error_rate=1.0)
    f = io.open_file("t1.db")
    cs = [f.pwrite(0, b"a"), f.pread(0, 1), f.sync()]
    _drain(io)
    assert all(isinstance(c.error(), IOError_) for c in cs)
    io = SimulatedIO(seed=4, error_rate=0.0)
    f = io.open_file("t1.db")
    assert io.wait_for(f.pwrite(0, b"a")) == 1


def test_short_read_returns_a_strict_prefix():
    io = SimulatedIO(seed=6, fail_at={1: FAULT_SHORT_READ, 2: FAULT_SHORT_READ})
    f = io.open_file("t1.db")
    io.wait_for(f.pwrite(0, bytes(range(200))))
    got = io.wait_for(f.pread(0, 200))
    assert len(got) < 200 and got == bytes(range(len(got)))
    assert io.wait_for(f.sync()) is None  # a short-read fault on a non-read is ignored


def test_cancelled_operation_never_reaches_the_file():
    io = SimulatedIO(seed=8)
    f = io.open_file("t1.db")
    c = f.pwrite(0, b"never")
    c.cancel()
    _drain(io)
    assert io.file_bytes("t1.db") == b""
    assert "#0 write cancelled" in io.trace


def test_wait_for_with_nothing_pending_raises_instead_of_spinning():
    io = SimulatedIO(seed=0)
    with pytest.raises(InternalError):
        io.wait_for(Completion("read"))


def test_clock_advances_with_run_once():
    io = SimulatedIO(seed=0)
    t0 = io.now()
    io.run_once()
    assert io.now() > t0


def _write_sync_then_unsynced(io, old, new):
    f = io.open_file("t1.db")
    io.wait_for(f.pwrite(0, old))
    io.wait_for(f.sync())
    io.wait_for(f.pwrite(0, new))
    return f


def test_power_loss_lose_keeps_synced_data_and_drops_unsynced_writes():
    io = SimulatedIO(seed=12)
    f = _write_sync_then_unsynced(io, b"A" * 1024, b"B" * 2048)
    io.wait_for(f.truncate(100))
    calls = []
    pending = f.pwrite(4096, b"C" * 10)
    pending.add_callback(calls.append)
    io.power_loss("lose")
    assert not pending.finished() and calls == []
    assert io.file_bytes("t1.db") == b"A" * 1024
    io2 = io.after_power_loss(seed=1)
    g = io2.open_file("t1.db")
    assert io2.wait_for(g.size()) == 1024
    assert io2.wait_for(g.pread(0, 4096)) == b"A" * 1024
    assert io2.file_bytes("t1.db", durable=True) == b"A" * 1024


def test_synced_data_survives_both_power_loss_modes():
    for mode in ("lose", "torn"):
        io = SimulatedIO(seed=3)
        f = io.open_file("t1.db")
        io.wait_for(f.pwrite(0, b"D" * 3000))
        io.wait_for(f.sync())
        io.power_loss(mode)
        assert io.after_power_loss().file_bytes("t1.db") == b"D" * 3000


def test_io_is_unusable_after_power_loss():
    io = SimulatedIO(seed=0)
    f = io.open_file("t1.db")
    io.power_loss()
    for call in (io.run_once, lambda: f.pread(0, 1), lambda: f.pwrite(0, b"x"), lambda: io.open_file("t2.db"),
                 lambda: io.exists("t1.db"), io.power_loss):
        with pytest.raises(PowerLossError):
            call()
    with pytest.raises(InternalError):
        SimulatedIO(seed=0).after_power_loss()


@pytest.mark.parametrize("kind, mode", [(FAULT_POWER_LOSS, "lose"), (FAULT_POWER_TORN, "torn")])
def test_power_loss_fault_cuts_power_at_that_operation(kind, mode):
    io = SimulatedIO(seed=2, fail_at={2: kind})
    f = io.open_file("t1.db")
    io.wait_for(f.pwrite(0, b"a" * 10))
    io.wait_for(f.sync())
    with pytest.raises(PowerLossError):
        f.pwrite(0, b"b" * 10)
    assert not io.powered and f"power loss ({mode})" in io.trace
    assert io.after_power_loss().file_bytes("t1.db") == b"a" * 10


def test_torn_power_loss_keeps_each_sector_whole_old_or_new():
    nsect = 8
    old, new = b"o" * (SECTOR_SIZE * nsect), b"n" * (SECTOR_SIZE * nsect)
    outcomes = [set() for _ in range(nsect)]
    mixed_images = 0
    for seed in range(12):
        io = SimulatedIO(seed)
        _write_sync_then_unsynced(io, old, new)
        io.power_loss("torn")
        image = io.after_power_loss().file_bytes("t1.db")
        assert len(image) == len(old)
        for s in range(nsect):
            sector = image[s * SECTOR_SIZE:(s + 1) * SECTOR_SIZE]
            assert sector in (old[:SECTOR_SIZE], new[:SECTOR_SIZE])
            outcomes[s].add(sector[:1])
        mixed_images += b"o" in image and b"n" in image
    assert all(o == {b"o", b"n"} for o in outcomes)
    assert mixed_images > 0  # sectors of one write survive independently


def test_torn_write_splits_at_absolute_sector_boundaries():
    io = SimulatedIO(seed=0)
    f = io.open_file("t1.db")
    io.wait_for(f.pwrite(0, bytes(2048)))
    io.wait_for(f.sync())
    io.wait_for(f.pwrite(300, b"\xff" * 1000))  # touches sectors 0, 1 and 2 (bytes 300..1299)
    io.power_loss("torn")
    image = io.file_bytes("t1.db")
    pieces = [(300, 512), (512, 1024), (1024, 1300)]
    mask = io.trace[-1].rsplit("=", 1)[1]
    assert len(mask) == 3
    for (lo, hi), bit in zip(pieces, mask):
        assert image[lo:hi] == (b"\xff" if bit == "1" else b"\0") * (hi - lo)
    assert image[:300] == bytes(300) and image[1300:] == bytes(748)


def test_torn_power_loss_is_deterministic_per_seed():
    images = []
    for _ in range(2):
        io = SimulatedIO(seed=77)
        _write_sync_then_unsynced(io, b"o" * 4096, b"n" * 4096)
        io.power_loss("torn")
        images.append((io.file_bytes("t1.db"), list(io.trace)))
    assert images[0] == images[1]


def test_power_cut_from_a_callback_stops_wait_for():
    io = SimulatedIO(seed=10)
    f = io.open_file("t1.db")
    first = f.pwrite(0, b"a")
    first.add_callback(lambda _c: io.power_loss())
    never = Completion("read")  # finished by nobody: only the power cut can end the wait
    with pytest.raises(PowerLossError):
        io.wait_for(never)
    assert first.succeeded() and not never.finished()
