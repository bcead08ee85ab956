"""limbodb.aio: sync-equal results, a loop that is never blocked, no threads, cancellation, busy."""

import asyncio
import gc
import os
import sqlite3
import threading
import time

import pytest

import limbodb
import limbodb.aio as aio
from limbodb.io import SimulatedIO
from limbodb.io.uring.choose import uring_unavailable_reason

URING_REASON = uring_unavailable_reason()
ROWS = 6000


@pytest.fixture
def db_path(tmp_path):
    """t1(a INTEGER PRIMARY KEY, b TEXT, c REAL) with ROWS rows of ~200 bytes, in rollback-journal mode."""
    path = str(tmp_path / "t1.db")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT, c REAL)")
    con.executemany("INSERT INTO t1 VALUES (?, ?, ?)", ((i, f"row{i:05d}" + "x" * 190, i / 7) for i in range(ROWS)))
    con.commit()
    con.close()
    return path


def drop_page_cache(path):
    """Ask the kernel to forget the file's cached pages, so the next reads go to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


@pytest.fixture(params=["uring", "blocking"])
def io_kind(request):
    if request.param == "uring" and URING_REASON:
        pytest.skip(f"io_uring unavailable: {URING_REASON}")
    return request.param


QUERIES = [
    ("SELECT a, b, c FROM t1 WHERE a < ? ORDER BY a DESC", (40,)),
    ("SELECT count(*), sum(a), max(b) FROM t1", ()),
    ("SELECT a % 7, count(*) FROM t1 GROUP BY 1 ORDER BY 1", ()),
    ("SELECT * FROM t1 WHERE b LIKE ?", ("row0012%",)),
]


def run(coro):
    return asyncio.run(coro)


async def _ticking(coro):
    """Run ``coro`` beside a task that yields in a loop; return (result, tick times)."""
    ticks = []
    stop = False

    async def ticker():
        while not stop:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0)

    t = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        result = await coro
    finally:
        stop = True
        await t
    return result, ticks


def test_results_equal_the_sync_api_and_sqlite3(db_path, io_kind):
    async def main():
        async with aio.connect(db_path, io=io_kind) as db:
            return [await db.execute_fetchall(sql, params) for sql, params in QUERIES]

    got = run(main())
    sync = limbodb.connect(db_path)
    ref = sqlite3.connect(db_path)
    try:
        for (sql, params), rows in zip(QUERIES, got):
            assert rows == sync.execute(sql, params).fetchall() == ref.execute(sql, params).fetchall()
    finally:
        sync.close()
        ref.close()


def test_writes_commit_rollback_and_cursor_attributes_match_sqlite3(tmp_path, io_kind):
    path = str(tmp_path / "w.db")
    script = "CREATE TABLE t2(a INTEGER PRIMARY KEY, b); CREATE INDEX i2 ON t2(b);"

    async def main():
        async with aio.connect(path, io=io_kind) as db:
            await db.executescript(script)
            cur = await db.executemany("INSERT INTO t2(b) VALUES (?)", [(i * 3,) for i in range(500)])
            assert cur.rowcount == 500 and db.in_transaction
            await db.commit()
            cur = await db.execute("UPDATE t2 SET b = b + 1 WHERE a <= ?", (10,))
            assert cur.rowcount == 10
            await db.rollback()
            cur = await db.execute("INSERT INTO t2(b) VALUES ('last')")
            assert cur.lastrowid == 501
            await db.commit()
            async with db.transaction():
                await db.execute("DELETE FROM t2 WHERE a > 490")
            with pytest.raises(RuntimeError):
                async with db.transaction():
                    await db.execute("DELETE FROM t2")
                    raise RuntimeError("undo")
            assert not db.in_transaction

    run(main())
    ref = sqlite3.connect(path)
    try:
        assert ref.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert ref.execute("SELECT count(*), sum(b) FROM t2").fetchone() == (490, sum(i * 3 for i in range(490)))
    finally:
        ref.close()


def test_row_factory_async_for_fetchmany_and_description(db_path, io_kind):
    async def main():
        async with aio.connect(db_path, io=io_kind) as db:
            db.row_factory = aio.Row
            async with db.execute("SELECT a AS x, b FROM t1 WHERE a < 5") as cur:
                assert [d[0] for d in cur.description] == ["x", "b"]
                first = await cur.fetchmany(2)
                rest = [row async for row in cur]
            return first, rest

    first, rest = run(main())
    assert [r["x"] for r in first + rest] == [0, 1, 2, 3, 4]
    assert first[0].keys() == ["x", "b"]


def test_a_cold_query_never_blocks_a_ticking_task(db_path):
    if URING_REASON:
        pytest.skip(f"io_uring unavailable: {URING_REASON}")

    async def main():
        async with aio.connect(db_path, io="uring") as db:
            # Compile the statement first (it reads only the root page), then go cold.
            await db.execute_fetchall("SELECT a, b FROM t1 WHERE a < 0")
            drop_page_cache(db_path)
            enters = db.io.enter_calls
            started = time.perf_counter()
            rows, ticks = await _ticking(db.execute_fetchall("SELECT a, b FROM t1"))
            return rows, ticks, time.perf_counter() - started, db.io.enter_calls - enters

    # A full collection of the test process's objects would stall the loop for reasons of its own.
    gc.disable()
    try:
        rows, ticks, elapsed, enters = run(main())
    finally:
        gc.enable()
    assert len(rows) == ROWS
    # Pages missed the page cache and were read through the ring (cached ones never
    # enter it), the ticker kept running through the query, and no single stretch
    # held the loop for long.
    assert enters > 0
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) > 10
    assert max(gaps) < max(0.5 * elapsed, 0.005)


def test_no_thread_and_no_executor_is_used(db_path, io_kind, monkeypatch):
    def no_executor(*args, **kwargs):
        raise AssertionError("limbodb.aio used an executor")

    monkeypatch.setattr(asyncio.BaseEventLoop, "run_in_executor", no_executor)
    monkeypatch.setattr(asyncio, "to_thread", no_executor)
    threads = threading.active_count()

    async def main():
        drop_page_cache(db_path)
        async with aio.connect(db_path, io=io_kind) as db:
            rows = await db.execute_fetchall("SELECT count(*) FROM t1")
            assert threading.active_count() == threads
            await db.execute("INSERT INTO t1(b) VALUES ('new')")
            await db.commit()
            loop = asyncio.get_running_loop()
            assert loop._default_executor is None
            return rows

    assert run(main()) == [(ROWS,)]
    assert threading.active_count() == threads


def test_cancelling_a_task_mid_query_leaves_the_connection_usable(db_path, io_kind):
    async def main():
        drop_page_cache(db_path)
        async with aio.connect(db_path, io=io_kind) as db:
            await db.execute("INSERT INTO t1(b) VALUES ('before')")
            await db.commit()
            # A plain scan yields to the loop on I/O and every few hundred rows, so the
            # task is always caught mid-query (with io_uring, ideally while a read is in
            # the kernel).
            drop_page_cache(db_path)
            task = asyncio.create_task(db.execute_fetchall("SELECT a, b FROM t1"))
            for _ in range(5):  # fewer yields than the scan needs to finish
                await asyncio.sleep(0)
                if getattr(db.io, "in_flight", 1):
                    break
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            writer = asyncio.ensure_future(db.executemany("INSERT INTO t1(b) VALUES (?)", [("w",)] * 2000))
            for _ in range(3):
                await asyncio.sleep(0)
            writer.cancel()
            with pytest.raises(asyncio.CancelledError):
                await writer
            await db.rollback()
            return await db.execute_fetchall("SELECT count(*) FROM t1")

    assert run(main()) == [(ROWS + 1,)]
    ref = sqlite3.connect(db_path)
    try:
        assert ref.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert ref.execute("SELECT count(*) FROM t1").fetchone() == (ROWS + 1,)
    finally:
        ref.close()


def test_many_concurrent_readers_on_one_loop(db_path, io_kind):
    async def reader(db, i):
        out = []
        for a in range(i, ROWS, 997):
            cur = await db.execute("SELECT a, substr(b, 1, 8) FROM t1 WHERE a = ?", (a,))
            out.append(await cur.fetchone())
        return out

    async def main():
        dbs = [await aio.connect(db_path, io=io_kind) for _ in range(20)]
        try:
            return await asyncio.gather(*(reader(db, i) for i, db in enumerate(dbs)))
        finally:
            for db in dbs:
                await db.close()

    for i, rows in enumerate(run(main())):
        assert rows == [(a, f"row{a:05d}") for a in range(i, ROWS, 997)]


def test_a_second_writer_waits_with_asyncio_sleep_then_gets_database_is_locked(tmp_path, io_kind):
    path = str(tmp_path / "busy.db")

    async def main():
        async with aio.connect(path, io=io_kind) as a, aio.connect(path, io=io_kind, timeout=0.2) as b:
            await a.execute("CREATE TABLE t1(a)")
            await a.execute("INSERT INTO t1 VALUES (1)")  # a holds the write lock until it commits
            started = time.perf_counter()
            ticks = []

            async def ticker():
                while True:
                    ticks.append(time.perf_counter())
                    await asyncio.sleep(0.001)

            t = asyncio.create_task(ticker())
            with pytest.raises(limbodb.OperationalError, match="database is locked"):
                await b.execute("INSERT INTO t1 VALUES (2)")
            t.cancel()
            # b retried for its whole timeout, sleeping on the loop: the ticker kept running.
            assert time.perf_counter() - started >= 0.2
            assert len(ticks) > 20
            await b.rollback()

            async def commit_later():
                await asyncio.sleep(0.05)
                await a.commit()

            # In autocommit mode each retry starts afresh, so b gets in once a commits.
            b.isolation_level = None
            waiting, _ = await asyncio.gather(b.execute("INSERT INTO t1 VALUES (3)"), commit_later())
            assert waiting.rowcount == 1
            return await a.execute_fetchall("SELECT a FROM t1 ORDER BY a")

    assert run(main()) == [(1,), (3,)]


def test_simulated_io_drives_through_run_once_and_yields():
    io = SimulatedIO(seed=3)

    async def main():
        async with aio.connect("sim.db", io=io) as db:
            await db.executescript("CREATE TABLE t1(a, b); INSERT INTO t1 VALUES (1, 'x'), (2, 'y');")
        # A new connection after the last one closed starts with an empty page cache.
        async with aio.connect("sim.db", io=io) as db:
            return await _ticking(db.execute_fetchall("SELECT b FROM t1 ORDER BY a"))

    rows, ticks = run(main())
    assert rows == [("x",), ("y",)]
    assert len(ticks) > 1


def test_memory_database_sync_iteration_and_closed_connection_errors():
    async def main():
        db = await aio.connect(":memory:")
        cur = await db.execute("SELECT 1, 'a'")
        with pytest.raises(TypeError, match="async for"):
            iter(cur)
        assert await cur.fetchall() == [(1, "a")]
        await db.close()
        with pytest.raises(limbodb.ProgrammingError, match="closed database"):
            await db.execute("SELECT 1")

    run(main())
