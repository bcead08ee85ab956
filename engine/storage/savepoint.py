"""Savepoints of a pager's write transaction: SQLite's sub-journal, kept in memory.

A ``Savepoint`` records the database size when it was opened and, for every page first
written after that (while it is the newest savepoint), what the page was: a copy of its
bytes if it was already dirty in this transaction (or is page 1, which the pager keeps
loaded), or None if it was clean (rolling back then just forgets the page, so the next
read fetches the committed version). Pages past the recorded size are new and need no
record. ``Pager.mark_dirty`` calls ``record`` on the first write of a page after the
newest savepoint opened: pages carry the pager's dirty epoch in ``page.dirty``, and
opening or rolling back to a savepoint starts a new epoch, so the check stays one
comparison. Rolling back to savepoint k applies the records of k and every newer one,
the oldest copy winning. Releasing k merges its records into k-1 (older entries win).
Mirrors sqlite src/pager.c (sqlite3PagerOpenSavepoint, pagerPlaybackSavepoint).
"""


class Savepoint:
    """One open savepoint of a write transaction."""

    __slots__ = ("db_size", "pages")

    def __init__(self, db_size):
        self.db_size = db_size
        self.pages = {}


def open_savepoint(pager):
    """A new newest savepoint on ``pager`` (write transaction only)."""
    sp = Savepoint(pager.db_size)
    pager.savepoints.append(sp)
    pager.dirty_epoch += 1
    return sp


def record(pager, page):
    """Before the first write of ``page`` since the newest savepoint opened: remember it."""
    sp = pager.savepoints[-1]
    pgno = page.pgno
    if pgno > sp.db_size or pgno in sp.pages:
        return
    was_dirty = bool(page.dirty)
    sp.pages[pgno] = (bytes(page.data) if was_dirty or pgno == 1 else None, was_dirty)


def _index(pager, sp):
    for i, s in enumerate(pager.savepoints):
        if s is sp:
            return i
    return -1


def rollback_to(pager, sp):
    """Undo every page change made since ``sp`` opened; ``sp`` stays open (emptied).

    A savepoint no longer on the stack (its transaction ended) is ignored.
    """
    sps = pager.savepoints
    i = _index(pager, sp)
    if i < 0:
        return
    merged = {}
    for s in sps[i:]:
        for pgno, data in s.pages.items():
            merged.setdefault(pgno, data)
    cache = pager.cache
    dirty = cache.dirty
    for pgno, (data, was_dirty) in merged.items():
        page = cache.get(pgno)
        if page is None:
            continue
        if data is None:
            _forget(cache, pgno, page)
            continue
        page.data[:] = data
        page.aux = None
        if not was_dirty:
            # Page 1 was clean at the savepoint: it is again, and stays loaded.
            page.dirty = False
            dirty.pop(pgno, None)
    for pgno in [p for p in dirty if p > sp.db_size]:
        _forget(cache, pgno, dirty[pgno])
    pager.db_size = sp.db_size
    del sps[i + 1:]
    sp.pages = {}
    pager.dirty_epoch += 1
    # Cursors holding pages from before must re-seek (see BTreeCursor._current_epoch).
    pager.generation += 1


def _forget(cache, pgno, page):
    page.dirty = False
    cache.dirty.pop(pgno, None)
    cache.lru.pop(pgno, None)
    if cache.weak.get(pgno) is page:
        del cache.weak[pgno]


def release(pager, sp):
    """Forget ``sp`` and every newer savepoint, keeping their changes."""
    sps = pager.savepoints
    i = _index(pager, sp)
    if i < 0:
        return
    if i > 0:
        parent = sps[i - 1]
        limit = parent.db_size
        pages = parent.pages
        for s in sps[i:]:
            for pgno, data in s.pages.items():
                if pgno <= limit and pgno not in pages:
                    pages[pgno] = data
    del sps[i:]
