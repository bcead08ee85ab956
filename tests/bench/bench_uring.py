"""io_uring vs os.pread: 4 KiB page reads of a 64 MiB file, cold and warm page cache.

Run: python tests/bench/bench_uring.py [--mib 64] [--db-mib 0] [--repeat 3]

Reads every 4 KiB page of the file, in sequential and in random (seeded) order:
os.pread one page at a time (what BlockingIO does), UringIO one page at a
time (submit, wait, repeat: what the pager does today, one read per miss),
and UringIO with 32 or 64 reads in flight (what a read-ahead hook would
submit in one io_uring_enter); each with every read through the ring, and
"nowait" (the default) where cached pages are copied by preadv(RWF_NOWAIT)
and only misses go to the ring. "Cold" drops the file from the page cache with
posix_fadvise(POSIX_FADV_DONTNEED) before each run (no root needed; it drops
clean pages only, so the file is fsynced first); random runs also set
POSIX_FADV_RANDOM so kernel read-ahead does not pre-load the pages.
Prints seconds per run (best of --repeat), pages/s and the ratio to os.pread.
With --db-mib N it also times a cold full scan (SELECT count(*), sum(length(b)))
of an N MiB database (rows inserted in random order) through limbodb with
io_uring vs BlockingIO (and with the
file first read 64 pages at a time through the ring: the bound on what a pager
read-ahead hook could gain), and the
limbodb.aio throughput of 100 concurrent point-query tasks (aiosqlite beside
it when that package is installed).
"""

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time

PAGE = 4096


def drop_cache(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def make_file(path, mib):
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(block)


def read_pread(path, order, random_hint):
    fd = os.open(path, os.O_RDONLY)
    try:
        if random_hint:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        total = 0
        for pgno in order:
            total += len(os.pread(fd, PAGE, pgno * PAGE))
        return total
    finally:
        os.close(fd)


def read_uring(io, path, order, random_hint, depth):
    from limbodb.io import OPEN_READONLY
    f = io.open_file(path, OPEN_READONLY)
    try:
        if random_hint:
            os.posix_fadvise(f.fd, 0, 0, os.POSIX_FADV_RANDOM)
        total = 0
        wait_for = io.wait_for
        if depth == 1:
            for pgno in order:
                total += len(wait_for(f.pread(pgno * PAGE, PAGE)))
            return total
        for i in range(0, len(order), depth):
            batch = [f.pread(pgno * PAGE, PAGE) for pgno in order[i:i + depth]]
            for c in batch:
                total += len(wait_for(c))
        return total
    finally:
        f.close()


def best_of(repeat, cold, path, fn, *args):
    times = []
    for _ in range(repeat):
        if cold:
            drop_cache(path)
        else:
            fn(*args)  # warm it
        t0 = time.perf_counter()
        n = fn(*args)
        times.append(time.perf_counter() - t0)
    return min(times), n


def bench_pages(path, mib, repeat):
    from limbodb.io.uring.choose import liburing_available, open_uring
    npages = mib * (1 << 20) // PAGE
    seq = list(range(npages))
    rnd = seq[:]
    random.Random(7).shuffle(rnd)
    rings = [("ctypes", open_uring(binding="ctypes"))]
    if liburing_available():
        rings.append(("liburing", open_uring(binding="liburing")))
    for name, io in rings:
        if isinstance(io, str):
            print(f"io_uring ({name}) unavailable: {io}")
            return
    print(f"{mib} MiB file, {npages} pages of {PAGE} bytes; best of {repeat}")
    print(f"{'cache':5} {'order':6} {'method':31} {'seconds':>8} {'pages/s':>10} {'vs pread':>8}")
    for cold in (False, True):
        for order_name, order in (("seq", seq), ("random", rnd)):
            hint = order_name == "random"
            base, n = best_of(repeat, cold, path, read_pread, path, order, hint)
            assert n == npages * PAGE
            rows = [("os.pread x1", base)]
            for name, io in rings:
                for nowait, depths in ((False, (1, 32, 64)), (True, (1, 64))):
                    io.nowait_reads = nowait
                    for depth in depths:
                        t, n = best_of(repeat, cold, path, read_uring, io, path, order, hint, depth)
                        assert n == npages * PAGE
                        rows.append((f"UringIO[{name}] x{depth}{' nowait' if nowait else ''}", t))
            for label, t in rows:
                print(f"{'cold' if cold else 'warm':5} {order_name:6} {label:31} {t:8.3f} {npages / t:10.0f} "
                      f"{base / t:7.2f}x")
    for _, io in rings:
        io.close()


def make_db(path, mib):
    """Rows inserted in random key order, so a scan visits leaf pages out of file order
    (as in any table that grew by random inserts) and kernel read-ahead helps little."""
    rows = mib * (1 << 20) // 230
    keys = list(range(rows))
    random.Random(11).shuffle(keys)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT)")
    con.executemany("INSERT INTO t1 VALUES (?, ?)", ((i, os.urandom(100).hex()) for i in keys))
    con.commit()
    con.close()
    return rows


def bench_db(path, mib):
    import limbodb
    from limbodb.io import BlockingIO
    from limbodb.io.uring.choose import open_uring
    rows = make_db(path, mib)
    print(f"\n{mib} MiB database, {rows} rows: cold full scan through limbodb (one read per page miss)")
    results = {}
    for name, io in (("BlockingIO", BlockingIO()), ("UringIO", open_uring())):
        drop_cache(path)
        con = limbodb.connect(path, io=io)
        t0 = time.perf_counter()
        got = con.execute("SELECT count(*), sum(length(b)) FROM t1").fetchone()
        results[name] = time.perf_counter() - t0
        con.close()
        assert got == (rows, rows * 200), got
        print(f"  {name:10} {results[name]:7.3f} s")
    print(f"  ratio BlockingIO/UringIO: {results['BlockingIO'] / results['UringIO']:.2f}x")
    # What a pager.prefetch hook could give: the file's pages read 64 at a time
    # through the ring (into the OS page cache), then the same scan.
    io = open_uring()
    order = list(range(os.path.getsize(path) // PAGE))
    drop_cache(path)
    t0 = time.perf_counter()
    read_uring(io, path, order, False, 64)
    con = limbodb.connect(path, io=io)
    got = con.execute("SELECT count(*), sum(length(b)) FROM t1").fetchone()
    t = time.perf_counter() - t0
    con.close()
    assert got == (rows, rows * 200), got
    print(f"  UringIO with read-ahead of 64 pages: {t:7.3f} s, {results['BlockingIO'] / t:.2f}x BlockingIO")
    bench_aio(path, rows)


def bench_aio(path, rows):
    import limbodb.aio
    ntasks, per_task = 100, 50
    keys = [random.Random(i).randrange(rows) for i in range(ntasks * per_task)]

    async def run(connect, io_kwargs):
        async def task(db, i):
            for a in keys[i * per_task:(i + 1) * per_task]:
                async with db.execute("SELECT b FROM t1 WHERE a = ?", (a,)) as cur:
                    await cur.fetchone()

        async with connect(path, **io_kwargs) as db:
            t0 = time.perf_counter()
            await asyncio.gather(*(task(db, i) for i in range(ntasks)))
            return time.perf_counter() - t0

    print(f"\n{ntasks} concurrent tasks x {per_task} point queries on one connection (cold cache)")
    candidates = [("limbodb.aio uring", limbodb.aio.connect, {"io": "uring"}),
                  ("limbodb.aio blocking", limbodb.aio.connect, {"io": "blocking"})]
    try:
        import aiosqlite
        candidates.append(("aiosqlite", aiosqlite.connect, {}))
    except ImportError:
        print("  (aiosqlite is not installed: no comparison)")
    for name, connect, kwargs in candidates:
        drop_cache(path)
        t = asyncio.run(run(connect, kwargs))
        print(f"  {name:22} {t:7.3f} s  {ntasks * per_task / t:9.0f} queries/s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--db-mib", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", ".")) as d:
        path = os.path.join(d, "pages.bin")
        make_file(path, args.mib)
        bench_pages(path, args.mib, args.repeat)
        if args.db_mib:
            bench_db(os.path.join(d, "t1.db"), args.db_mib)
    return 0


if __name__ == "__main__":
    sys.exit(main())
