"""Pager read-ahead: cold full scans of a database through SQL, with and without it.

Run: python tests/bench/bench_readahead.py [--db-mib 32] [--repeat 3]

Builds a --db-mib MiB database with sqlite3 (rows inserted in random key order,
so leaves are scattered through the file and kernel read-ahead helps little),
then times "SELECT count(*), sum(length(b)) FROM t1" (a scan by next()) and
"SELECT count(*) FROM t1" (the B-tree count) on a cold page cache:
posix_fadvise(POSIX_FADV_DONTNEED) after an fsync before every run (no root
needed; clean pages only). Compared: sqlite3, limbodb io="blocking", and
limbodb io="uring" with read-ahead off (pager.readahead = 0) and on (the
default window). Prints the best of --repeat runs, io_uring_enter calls, and
ratios to sqlite3 and to BlockingIO.
"""

import argparse
import os
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_uring import drop_cache, make_db  # noqa: E402

QUERIES = [
    ("scan", "SELECT count(*), sum(length(b)) FROM t1"),
    ("count", "SELECT count(*) FROM t1"),
]


def run_sqlite(path, sql):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchone(), 0
    finally:
        con.close()


def run_limbodb(io, readahead):
    import limbodb

    def run(path, sql):
        con = limbodb.connect(path, io=io)
        try:
            if readahead is not None:
                con._engine.pager.readahead = readahead
            uring = getattr(con._engine.io, "enter_calls", None)
            before = uring or 0
            got = con.execute(sql).fetchone()
            return got, (con._engine.io.enter_calls - before) if uring is not None else 0
        finally:
            con.close()
    return run


def best(path, repeat, fn, sql):
    times = []
    for _ in range(repeat):
        drop_cache(path)
        if os.path.exists(path + "-wal"):
            drop_cache(path + "-wal")
        t0 = time.perf_counter()
        got, enters = fn(path, sql)
        times.append(time.perf_counter() - t0)
    return min(times), got, enters


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db-mib", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from limbodb.io.uring.choose import uring_unavailable_reason
    reason = uring_unavailable_reason()
    runners = [("sqlite3", run_sqlite), ("limbodb blocking", run_limbodb("blocking", None))]
    if reason:
        print(f"io_uring unavailable ({reason}): only sqlite3 and BlockingIO are timed")
    else:
        runners += [("limbodb uring, no read-ahead", run_limbodb("uring", 0)),
                    ("limbodb uring, read-ahead", run_limbodb("uring", None))]
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", ".")) as d:
        path = os.path.join(d, "t1.db")
        rows = make_db(path, args.db_mib)
        print(f"{args.db_mib} MiB database, {rows} rows, {os.path.getsize(path) // 4096} pages; "
              f"cold page cache, best of {args.repeat}")
        for qname, sql in QUERIES:
            print(f"\n{qname}: {sql}")
            results = {}
            want = None
            for name, fn in runners:
                t, got, enters = best(path, args.repeat, fn, sql)
                want = want or got
                assert got == want, (name, got, want)
                results[name] = t
                shown = f"  {enters:6d} io_uring_enter" if "uring" in name else ""
                print(f"  {name:30} {t:8.3f} s  {t / results['sqlite3']:6.2f}x sqlite3{shown}")
            base = results["limbodb blocking"]
            for name in results:
                if "uring" in name:
                    print(f"  BlockingIO / ({name}): {base / results[name]:.2f}x")
            if "limbodb uring, read-ahead" in results:
                ratio = results["limbodb uring, no read-ahead"] / results["limbodb uring, read-ahead"]
                print(f"  read-ahead speed-up on io_uring: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
