"""Shared harness of the SQL-level benchmarks: run one workload list on sqlite3 and limbodb.

A workload is a ``Workload(name, run, writes, file_only)``: ``run(ctx)`` does its work on
``ctx.con`` between ``t0 = ctx.start()`` and ``ctx.stop(t0)`` and returns ``(seconds, answer)``,
where ``answer`` is a small value (row counts, sums) computed outside the timed region.
The harness runs each workload on sqlite3, then on limbodb, each against its own database in
a temp dir, keeps the best of ``--repeat`` runs of read-only workloads, and flags a MISMATCH
(exit 1) when the answers differ: a benchmark never measures a wrong answer. ``--only NAME``
still runs the earlier workloads that write (untimed, unprinted), so the selected one sees
the same data as in a full run. ``--profile`` runs limbodb's side of each selected workload
once under cProfile (timed region only) and prints its top functions.
Used by bench_storage.py (issue #3) and bench_speedtest.py (issue #4).
"""

import argparse
import cProfile
import json
import os
import pstats
import sqlite3
import sys
import tempfile
import time

import limbodb

ENGINES = (("sqlite3", sqlite3), ("limbodb", limbodb))
perf_counter = time.perf_counter


class Workload:
    __slots__ = ("name", "run", "writes", "file_only")

    def __init__(self, name, run, writes=False, file_only=False):
        self.name = name
        self.run = run
        self.writes = writes  # changes the data: run once, and run before a later --only target
        self.file_only = file_only  # needs a file to reopen: skipped with --memory


class Context:
    """What a workload sees: the engine module, its open connection, its file, the sizes."""

    __slots__ = ("mod", "con", "path", "sizes", "profiler")

    def __init__(self, mod, path, sizes):
        self.mod = mod
        self.path = path
        self.sizes = sizes
        self.con = None
        self.profiler = None

    def start(self):
        if self.profiler is not None:
            self.profiler.enable()
        return perf_counter()

    def stop(self, t0):
        """Seconds since ``t0``; the profiler, if any, sees only the timed region."""
        seconds = perf_counter() - t0
        if self.profiler is not None:
            self.profiler.disable()
        return seconds

    def connect(self):
        # Autocommit mode on both sides: every workload writes its own BEGIN/COMMIT, so both
        # engines run exactly the same transactions.
        self.con = self.mod.connect(self.path, isolation_level=None)
        return self.con

    def reopen(self):
        self.con.close()
        return self.connect()


def parse_args(description, names, argv=None):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = the sizes of the issue")
    ap.add_argument("--only", choices=names, action="append", help="run only this workload (repeatable)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N for read-only workloads")
    ap.add_argument("--memory", action="store_true", help="use :memory: databases instead of files")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    ap.add_argument("--profile", action="store_true",
                    help="run limbodb under cProfile (one run, times inflated) and print its hotspots")
    ap.add_argument("--profile-sort", default="tottime", help="pstats sort key for --profile (tottime, cumtime)")
    return ap.parse_args(argv)


def run_workloads(workloads, sizes, args):
    """Run ``workloads`` on both engines; print the table; return the list of result dicts."""
    if args.memory:
        workloads = [w for w in workloads if not w.file_only]
    selected = set(args.only or [w.name for w in workloads])
    last = max(i for i, w in enumerate(workloads) if w.name in selected)
    plan = [w for w in workloads[:last + 1] if w.name in selected or w.writes]
    results = {w.name: {"workload": w.name} for w in plan if w.name in selected}
    with tempfile.TemporaryDirectory(prefix="limbodb-bench-") as tmp:
        ctxs = []
        for label, mod in ENGINES:
            path = ":memory:" if args.memory else os.path.join(tmp, label + ".db")
            ctx = Context(mod, path, sizes)
            con = ctx.connect()
            if not args.memory and mod is sqlite3:
                # limbodb always writes in WAL mode (synchronous=FULL); give sqlite3 the same
                # journal so commits and read transactions cost the same kind of work.
                con.execute("PRAGMA journal_mode=WAL")
            ctxs.append((label, ctx))
        for w in plan:
            timed = w.name in selected
            repeat = max(1, args.repeat) if timed and not w.writes and not args.profile else 1
            for label, ctx in ctxs:
                best = None
                if timed and args.profile and label == "limbodb":
                    ctx.profiler = cProfile.Profile()
                for _ in range(repeat):
                    seconds, answer = w.run(ctx)
                    best = seconds if best is None else min(best, seconds)
                if ctx.profiler is not None:
                    print_profile(w.name, ctx.profiler, args.profile_sort)
                    ctx.profiler = None
                if timed:
                    results[w.name][label] = best
                    results[w.name][label + "_answer"] = answer
        for _, ctx in ctxs:
            ctx.con.close()
    rows = [results[w.name] for w in plan if w.name in results]
    for r in rows:
        r["match"] = r["sqlite3_answer"] == r["limbodb_answer"]
        r["ratio"] = r["limbodb"] / r["sqlite3"] if r["sqlite3"] > 0 else float("inf")
    print_table(rows, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, default=repr)
    return rows


def print_profile(name, profiler, sort):
    print("==== limbodb profile of %s (sorted by %s) ====" % (name, sort))
    pstats.Stats(profiler, stream=sys.stdout).sort_stats(sort).print_stats(25)
    sys.stdout.flush()


def print_table(rows, args):
    mode = ":memory:" if args.memory else "file (WAL)"
    repeat = 1 if args.profile else args.repeat
    print("scale %g, %s databases, best of %d for read-only workloads, sqlite %s%s"
          % (args.scale, mode, repeat, sqlite3.sqlite_version, ", limbodb under cProfile" if args.profile else ""))
    print("%-26s %11s %11s %9s  %s" % ("workload", "sqlite3 s", "limbodb s", "ratio", "answers"))
    for r in rows:
        check = "equal" if r["match"] else "MISMATCH %r != %r" % (r["sqlite3_answer"], r["limbodb_answer"])
        print("%-26s %11.4f %11.4f %8.1fx  %s" % (r["workload"], r["sqlite3"], r["limbodb"], r["ratio"], check))
    sys.stdout.flush()


def main(description, workloads, sizes_for, argv=None):
    """Entry point of a bench script; exits 1 when an answer differs between the engines."""
    args = parse_args(description, [w.name for w in workloads], argv)
    rows = run_workloads(workloads, sizes_for(args.scale), args)
    return 0 if all(r["match"] for r in rows) else 1


def scaled(n, scale, floor=10):
    return max(floor, int(n * scale))
