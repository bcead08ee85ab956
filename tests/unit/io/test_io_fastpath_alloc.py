"""The IOResult done path allocates nothing (tracemalloc), unlike a Done wrapper.

Full timings: tests/bench/bench_io_fastpath.py.
"""

import tracemalloc
from itertools import repeat

from limbodb.io.completion import IO

CACHE = {1: bytes(4096)}


def read_page(pgno):
    """Re-entrant: the page (always cached here)."""
    return CACHE[pgno]


def read_cell(pgno):
    """Re-entrant: the page, through one level of propagation."""
    r = read_page(pgno)
    if r.__class__ is IO:
        return r
    return r


def step(pgno):
    """Re-entrant: one more level of propagation, as a VM handler would."""
    r = read_cell(pgno)
    if r.__class__ is IO:
        return r
    return r


class Done:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def step_with_wrapper(pgno):
    r = Done(CACHE[pgno])
    if r.__class__ is not Done:
        return r
    return Done(r.value)


def _peak_bytes(fn, n=1000):
    for _ in repeat(None, 100):
        fn(1)
    tracemalloc.start()
    try:
        for _ in repeat(None, 100):
            fn(1)
        calls = repeat(None, n)
        tracemalloc.reset_peak()
        for _ in calls:
            fn(1)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - current


def test_done_path_allocates_nothing():
    assert step(1) is CACHE[1]
    assert _peak_bytes(step) == 0


def test_a_done_wrapper_allocates_so_the_measure_is_sensitive():
    assert _peak_bytes(step_with_wrapper) > 0
