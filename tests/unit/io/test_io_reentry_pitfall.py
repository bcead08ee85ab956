"""The re-entrancy pitfall: mutating shared state before a yield point.

A re-entrant function is called again from the top after each IO it returns.
Under MemoryIO nothing ever waits, so a function that bumps a counter before a
yield point looks right; SimulatedIO never finishes a read synchronously, so
the re-entry happens and the counter is bumped twice. Keeping progress in an
explicit state object fixes it.
"""

import pytest

from limbodb.io import MemoryIO, io_yield_one, run_sync
from limbodb.io.completion import IO
from limbodb.io.sim import SimulatedIO

PAGE = 512
PGNOS = (1, 2)
CELLS = {1: 7, 2: 5}


class PageReader:
    """A tiny page cache: at most one read in flight per page, finished pages kept."""

    def __init__(self, f):
        self.f = f
        self.pages = {}
        self.reading = {}

    def read(self, pgno):
        """Re-entrant: the page's bytes."""
        page = self.pages.get(pgno)
        if page is not None:
            return page
        c = self.reading.get(pgno)
        if c is None:
            c = self.reading[pgno] = self.f.pread((pgno - 1) * PAGE, PAGE)
        if not c.finished():
            return io_yield_one(c)
        del self.reading[pgno]
        page = self.pages[pgno] = c.raise_if_failed()
        return page


class Totals:
    def __init__(self):
        self.cells = 0


def count_cells_buggy(reader, totals):
    """Re-entrant (wrong): adds each page's cell count before the next yield point."""
    for pgno in PGNOS:
        r = reader.read(pgno)
        if r.__class__ is IO:
            return r
        totals.cells += r[0]
    return totals.cells


class CountState:
    __slots__ = ("idx",)

    def __init__(self):
        self.idx = 0  # pages already added to the totals


def count_cells(reader, totals, state):
    """Re-entrant: on resume, pages below ``state.idx`` have already been added."""
    while state.idx < len(PGNOS):
        r = reader.read(PGNOS[state.idx])
        if r.__class__ is IO:
            return r
        totals.cells += r[0]
        state.idx += 1
    return totals.cells


def _reader(io):
    f = io.open_file("t1.db")
    for pgno, cells in CELLS.items():
        io.wait_for(f.pwrite((pgno - 1) * PAGE, bytes([cells]) + bytes(PAGE - 1)))
    return PageReader(f)


def test_buggy_and_correct_agree_under_memory_io():
    io = MemoryIO()
    assert run_sync(io, count_cells_buggy, _reader(io), Totals()) == 12
    assert run_sync(io, count_cells, _reader(io), Totals(), CountState()) == 12


@pytest.mark.parametrize("seed", range(5))
def test_simulated_io_exposes_the_buggy_version(seed):
    io = SimulatedIO(seed)
    buggy = run_sync(io, count_cells_buggy, _reader(io), Totals())
    # Page 1 is added once more for every re-entry after it was read.
    assert buggy != 12
    assert buggy == 2 * CELLS[1] + CELLS[2]
    io = SimulatedIO(seed)
    assert run_sync(io, count_cells, _reader(io), Totals(), CountState()) == 12
