"""Page-cache read-ahead on sequential scans: same rows, fewer waits, errors only when used."""

import pytest

from limbodb.connection import Connection
from limbodb.errors import OperationalError
from limbodb.io import MemoryIO, run_sync
from limbodb.io.sim import FAULT_ERROR, SimulatedIO
from limbodb.io.uring.choose import open_uring
from limbodb.vdbe import DONE, IO, ROW

SCRIPT = [
    "CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT, c INTEGER)",
    "INSERT INTO t1(b, c) VALUES" + ", ".join(f"('row {i:04d} {'x' * (60 + i % 90)}', {i % 23})"
                                            for i in range(2500)),
    "CREATE INDEX i1 ON t1(c, b)",
    "DELETE FROM t1 WHERE a % 9 = 0",
]
SCANS = [
    "SELECT * FROM t1",
    "SELECT count(*) FROM t1",
    "SELECT c, b FROM t1 ORDER BY c, b",
    "SELECT a, length(b) FROM t1 WHERE a > 1200",
    "SELECT a FROM t1 LIMIT 40",
]


def run(conn, sql):
    """Step ``sql`` to the end; (rows, IO results of step())."""
    st, _ = conn.prepare(sql)
    rows = []
    waits = 0
    while True:
        r = st.step()
        if r == ROW:
            rows.append(st.row())
        elif r == DONE:
            return rows, waits
        else:
            assert r == IO
            waits += 1
            while not st.completion.finished():
                conn.io.run_once()


def connect(io, readahead=None):
    conn = Connection("db", io)
    run_sync(io, conn.open)
    if readahead is not None:
        conn.pager.readahead = readahead
    return conn


@pytest.fixture(scope="module")
def files():
    """The database (schema and rows in the WAL, not yet checkpointed), as SimulatedIO files."""
    io = MemoryIO()
    conn = connect(io)
    for sql in SCRIPT:
        run(conn, sql)
    return {path: bytes(data) for path, data in io.files.items()}


@pytest.fixture(scope="module")
def expected(files):
    io = MemoryIO()
    io.files.update({p: bytearray(d) for p, d in files.items()})
    conn = connect(io)
    return [run(conn, q)[0] for q in SCANS]


def session(conn, other):
    """Scans around a commit from ``other`` and a rolled-back write of ``conn`` itself."""
    out = [run(conn, q)[0] for q in SCANS]
    run(conn, "BEGIN")
    out.append(run(conn, "SELECT a, b FROM t1 LIMIT 3")[0])
    run(other, "UPDATE t1 SET b = 'other ' || a WHERE a % 5 = 1")
    out.append(run(conn, "SELECT a, b FROM t1 WHERE a % 5 = 1")[0])
    run(conn, "COMMIT")
    out.append(run(conn, "SELECT a, b FROM t1 WHERE a % 5 = 1")[0])
    run(conn, "BEGIN")
    out.append(run(conn, "SELECT count(*) FROM t1")[0])
    run(conn, "UPDATE t1 SET b = 'mine' WHERE a % 3 = 2")
    out.append(run(conn, "SELECT a, b FROM t1")[0])
    run(conn, "ROLLBACK")
    out.append(run(conn, "SELECT a, b FROM t1")[0])
    return out


def test_readahead_is_off_where_reads_finish_synchronously(files):
    io = MemoryIO()
    io.files.update({p: bytearray(d) for p, d in files.items()})
    pager = connect(io).pager
    assert pager.readahead == 0
    run_sync(io, pager.begin_read_tx)
    pager.prefetch(range(2, pager.db_size + 1))
    assert pager.cached_page(pager.db_size) is None


@pytest.fixture(scope="module")
def memory_session(files):
    mem = MemoryIO()
    mem.files.update({p: bytearray(d) for p, d in files.items()})
    return session(connect(mem), connect(mem))


@pytest.mark.parametrize("seed", range(8))
def test_scans_with_readahead_on_simulated_io_match_memory_io(files, expected, memory_session, seed):
    want = memory_session
    io = SimulatedIO(seed, files=files)
    conn = connect(io)
    assert conn.pager.readahead > 0
    got = session(conn, connect(io))
    assert got[:len(SCANS)] == expected
    assert got == want


def test_full_scan_waits_far_less_with_readahead(files, expected):
    waits = {}
    for readahead in (0, 64):
        for i, sql in enumerate(SCANS[:2]):
            conn = connect(SimulatedIO(3, files=files), readahead)
            rows, waits[readahead, i] = run(conn, sql)
            assert rows == expected[i]
    assert waits[64, 0] * 4 < waits[0, 0]
    assert waits[64, 1] * 4 < waits[0, 1]


def read_offsets(files, sql, readahead):
    """Every (path, offset) the statement reads, on a fresh SimulatedIO."""
    seen = set()

    def record(index, op, path, offset):
        if op == "read":
            seen.add((path, offset))

    conn = connect(SimulatedIO(5, files=files, fault_plan=record), readahead)
    rows, _ = run(conn, sql)
    return rows, seen


def test_failed_reads_ahead_of_pages_never_used_do_not_fail_the_query(files, expected):
    sql = SCANS[-1]
    rows, used = read_offsets(files, sql, 0)
    assert rows == expected[-1]
    failed = []

    def fail_unused(index, op, path, offset):
        if op == "read" and (path, offset) not in used:
            failed.append(offset)
            return FAULT_ERROR
        return None

    conn = connect(SimulatedIO(5, files=files, fault_plan=fail_unused))
    assert run(conn, sql)[0] == expected[-1]
    assert failed
    # The pager is not poisoned: the next transaction reads ahead (and fails) again, and works.
    before = len(failed)
    assert run(conn, sql)[0] == expected[-1]
    assert len(failed) > before


def test_failed_read_ahead_surfaces_when_the_page_is_read_then_the_connection_recovers(files, expected):
    _, at_open = read_offsets(files, "SELECT 1", 0)
    _, used_plain = read_offsets(files, SCANS[0], 0)
    rows, used = read_offsets(files, SCANS[0], 64)
    assert rows == expected[0] and used == used_plain
    # The scan's last page: read ahead, long before the scan reaches it.
    target = max(used - at_open, key=lambda r: r[1])
    failed = []

    def fail_once(index, op, path, offset):
        if op == "read" and (path, offset) == target and not failed:
            failed.append(index)
            return FAULT_ERROR
        return None

    conn = connect(SimulatedIO(5, files=files, fault_plan=fail_once))
    with pytest.raises(OperationalError, match="disk I/O error"):
        run(conn, SCANS[0])
    assert failed
    assert run(conn, SCANS[0])[0] == expected[0]


def test_readahead_stays_within_half_the_cache(files, expected):
    conn = connect(SimulatedIO(9, files=files))
    run(conn, "PRAGMA cache_size = 10")
    pager = conn.pager
    run_sync(conn.io, pager.begin_read_tx)
    for _ in range(4):
        pager.prefetch(range(2, pager.db_size + 1))
    assert 0 < len(pager._inflight) <= 5
    pager.end_read_tx()
    assert not pager._inflight
    rows, _ = run(conn, SCANS[0])
    assert rows == expected[0]
    assert len(pager.cache.lru) <= 10


def test_reads_ahead_are_dropped_by_rollback(files):
    conn = connect(SimulatedIO(11, files=files))
    pager = conn.pager
    run(conn, "BEGIN")
    run(conn, "UPDATE t1 SET c = c + 1 WHERE a = 2")
    pager.prefetch(range(2, pager.db_size + 1))
    assert pager._inflight
    run(conn, "ROLLBACK")
    assert not pager._inflight


@pytest.fixture
def uring_file(tmp_path, files):
    """A UringIO whose reads all go through the ring (a cold cache), and the database on disk."""
    io = open_uring()
    if isinstance(io, str):
        pytest.skip(f"io_uring unavailable: {io}")
    io.nowait_reads = False
    for name, data in files.items():
        (tmp_path / name.replace("db", "t1.db")).write_bytes(data)
    yield io, str(tmp_path / "t1.db")
    io.close()


def test_full_scan_enters_io_uring_far_less_with_readahead(uring_file, expected):
    io, path = uring_file
    enters = {}
    for readahead in (0, 64):
        conn = Connection(path, io)
        run_sync(io, conn.open)
        conn.pager.readahead = readahead
        before = io.enter_calls
        assert run(conn, SCANS[0])[0] == expected[0]
        enters[readahead] = io.enter_calls - before
        run_sync(io, conn.close)
    assert enters[64] * 4 < enters[0]
