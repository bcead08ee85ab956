"""Cost of the IOResult done path: returning the value vs a Done wrapper vs a generator.

Run: python tests/bench/bench_io_fastpath.py

Measures (timeit, best of several runs) a three-deep call chain whose leaf has
the value cached, written three ways, and checks with tracemalloc that the
chosen convention (``r = f(); if r.__class__ is IO: return r``) allocates no
memory block on its done path while the Done wrapper allocates one per level.
Backs STYLE.md section 7's "returning the value vs a Done wrapper vs a
generator round trip" numbers.
"""

import timeit
import tracemalloc
from itertools import repeat

from limbodb.io.completion import IO

PAGE = bytes(4096)
CACHE = {1: PAGE}


# Convention: the value itself, or an IO marker.
def leaf_value(pgno):
    page = CACHE.get(pgno)
    if page is None:
        raise AssertionError("the benchmark only exercises the cached path")
    return page


def mid_value(pgno):
    r = leaf_value(pgno)
    if r.__class__ is IO:
        return r
    return r


def top_value(pgno):
    r = mid_value(pgno)
    if r.__class__ is IO:
        return r
    return r


# A Done wrapper allocated per call.
class Done:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def leaf_done(pgno):
    return Done(CACHE[pgno])


def mid_done(pgno):
    r = leaf_done(pgno)
    if r.__class__ is not Done:
        return r
    return Done(r.value)


def top_done(pgno):
    r = mid_done(pgno)
    if r.__class__ is not Done:
        return r
    return Done(r.value)


# Generators: `yield from` through the chain, driven by the caller.
def leaf_gen(pgno):
    return CACHE[pgno]
    yield  # noqa: unreachable - makes this a generator


def mid_gen(pgno):
    return (yield from leaf_gen(pgno))


def top_gen(pgno):
    return (yield from mid_gen(pgno))


def drive_gen(pgno):
    try:
        next(top_gen(pgno))
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the cached path never waits")


VARIANTS = {"value": top_value, "Done wrapper": top_done, "generator": drive_gen}


def peak_alloc(fn, n=2000):
    """Largest traced memory (bytes) held at any moment while calling ``fn(1)`` n times.

    Any block allocated on the path shows up in the peak even if it is freed at
    once; the loop itself (over a prebuilt itertools.repeat) allocates nothing.
    """
    for _ in repeat(None, 200):  # warm up: specialisation, frame chunks
        fn(1)
    tracemalloc.start()
    try:
        for _ in repeat(None, 200):
            fn(1)
        calls = repeat(None, n)  # built before the peak is reset: it is not on the path
        tracemalloc.reset_peak()
        for _ in calls:
            fn(1)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - current


def main():
    number = 200_000
    print(f"three-deep chain, cached page, {number} calls, best of 5:")
    base = None
    for name, fn in VARIANTS.items():
        assert fn(1) is PAGE or getattr(fn(1), "value", None) is PAGE
        t = min(timeit.repeat(lambda: fn(1), number=number, repeat=5)) / number * 1e9
        base = base or t
        print(f"  {name:<14} {t:7.1f} ns/call  ({t / base:4.2f}x)")
    print("tracemalloc, peak bytes held on the done path:")
    for name, fn in VARIANTS.items():
        print(f"  {name:<14} {peak_alloc(fn):5d}")
    assert peak_alloc(top_value) == 0, "the value-returning done path must not allocate"


if __name__ == "__main__":
    main()
