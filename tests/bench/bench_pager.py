"""Pager costs: cached read_page, cold page reads, WAL checksums, commits, checkpoints.

Run: python tests/bench/bench_pager.py

Prints per-operation times (best of several timeit runs) for a 4096-byte-page database
on BlockingIO in a temporary directory, checks with tracemalloc that a cached
read_page allocates nothing, and, as the yardstick, the time sqlite3 takes to commit
the same number of one-page transactions in WAL mode with synchronous=FULL.
"""

import os
import sqlite3
import tempfile
import time
import timeit
import tracemalloc

from limbodb.io import BlockingIO, run_sync
from limbodb.storage.pager import CHECKPOINT_TRUNCATE, Database, Pager
from limbodb.storage.wal import wal_checksum

NPAGES = 2000
NCOMMITS = 200


def open_pager(io, path):
    db = Database.open(io, path)
    run_sync(io, db.open)
    return Pager(db)


def best(stmt, number, repeat=5):
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number


def main():
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "bench.db")
    io = BlockingIO()
    pager = open_pager(io, path)
    pager.set_wal_autocheckpoint(0)
    run_sync(io, pager.begin_write_tx)
    for i in range(NPAGES):
        page = run_sync(io, pager.allocate_page)
        page.data[0:4] = i.to_bytes(4, "big")
    t0 = time.perf_counter()
    run_sync(io, pager.commit)
    print(f"commit of {NPAGES} pages: {(time.perf_counter() - t0) * 1e3:.1f} ms")
    t0 = time.perf_counter()
    run_sync(io, pager.checkpoint, CHECKPOINT_TRUNCATE)
    print(f"checkpoint (TRUNCATE) of {NPAGES} frames: {(time.perf_counter() - t0) * 1e3:.1f} ms")

    run_sync(io, pager.begin_read_tx)
    page = pager.read_page(2)
    read_page = pager.read_page
    print(f"cached read_page: {best(lambda: read_page(2), 200_000) * 1e9:.0f} ns")
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(1000):
        read_page(2)
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename")
                if s.size_diff > 0 and "storage" in str(s.traceback))
    tracemalloc.stop()
    print(f"cached read_page allocations: {grown} bytes over 1000 calls")
    del page
    pager.end_read_tx()

    cold = Pager(pager.db)
    cold.set_cache_size(NPAGES + 10)
    run_sync(io, cold.begin_read_tx)
    t0 = time.perf_counter()
    for pgno in range(2, NPAGES + 2):
        run_sync(io, cold.read_page, pgno)
    print(f"cold read_page from the file: {(time.perf_counter() - t0) / NPAGES * 1e6:.1f} us")
    cold.end_read_tx()

    data = os.urandom(4096)
    print(f"wal_checksum of a 4096-byte page: {best(lambda: wal_checksum(data, 0, 0, False), 200) * 1e6:.0f} us")

    t0 = time.perf_counter()
    for i in range(NCOMMITS):
        run_sync(io, pager.begin_write_tx)
        page = run_sync(io, pager.read_page, 2 + i)
        pager.mark_dirty(page)
        page.data[4] = i & 0xFF
        run_sync(io, pager.commit)
    ours = (time.perf_counter() - t0) / NCOMMITS
    run_sync(io, pager.checkpoint, CHECKPOINT_TRUNCATE)
    run_sync(io, cold.close)
    run_sync(io, pager.close)

    ref = os.path.join(tmp, "ref.db")
    con = sqlite3.connect(ref, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b)")
    t0 = time.perf_counter()
    for i in range(NCOMMITS):
        con.execute("INSERT INTO t1 VALUES(?, ?)", (i, b"x" * 100))
    theirs = (time.perf_counter() - t0) / NCOMMITS
    con.close()
    print(f"one-page commit: limbodb {ours * 1e6:.0f} us, sqlite3 one-row commit {theirs * 1e6:.0f} us "
          f"(ratio {ours / theirs:.2f})")


if __name__ == "__main__":
    main()
