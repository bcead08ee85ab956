"""Page objects and one connection's page cache.

A ``Page`` is a pgno and a ``bytearray`` of page_size bytes; ``aux`` belongs to the
B-tree. The cache is a bounded LRU (PRAGMA cache_size: positive = pages, negative =
KiB) beside a weak-value map: while anything still references a Page, lookups return
that same object, so a cursor never holds a stale copy. Dirty pages are pinned (held by
``dirty``) until commit or rollback; the LRU never drops them from the cache.

Invariant: every Page reachable from ``lru`` or ``dirty`` is also in ``weak``; a page
is in at most one cache. Mirrors sqlite src/pcache.c, Turso core/storage/page_cache.rs.
"""

from collections import OrderedDict
from weakref import WeakValueDictionary

DEFAULT_CACHE_SIZE = -2000


class Page:
    """One database page as the pager hands it out."""

    __slots__ = ("pgno", "data", "dirty", "aux", "__weakref__")

    def __init__(self, pgno, data):
        self.pgno = pgno
        self.data = data
        self.dirty = False
        self.aux = None

    def __repr__(self):
        return f"<Page {self.pgno}{' dirty' if self.dirty else ''}>"


def cache_capacity(cache_size, page_size):
    """Pages to keep for a PRAGMA cache_size value (negative: KiB of page data)."""
    if cache_size < 0:
        return max(10, (-cache_size * 1024) // page_size)
    return max(10, cache_size)


class PageCache:
    """Bounded LRU of clean and dirty pages plus the weak identity map."""

    __slots__ = ("lru", "weak", "dirty", "capacity")

    def __init__(self, capacity):
        self.lru = OrderedDict()
        self.weak = WeakValueDictionary()
        self.dirty = {}
        self.capacity = capacity

    def get(self, pgno):
        """The cached page or None (the pager inlines the LRU hit; this is the full lookup)."""
        page = self.lru.get(pgno)
        if page is not None:
            self.lru.move_to_end(pgno)
            return page
        page = self.weak.get(pgno)
        if page is not None:
            self._insert_lru(pgno, page)
        return page

    def insert(self, page):
        pgno = page.pgno
        self.weak[pgno] = page
        self._insert_lru(pgno, page)

    def _insert_lru(self, pgno, page):
        lru = self.lru
        lru[pgno] = page
        # Evicting a dirty page only drops it from the LRU: ``dirty`` still pins it.
        while len(lru) > self.capacity:
            lru.popitem(last=False)

    def make_dirty(self, page):
        page.dirty = True
        self.dirty[page.pgno] = page

    def clean_all(self):
        """After commit: every dirty page is now the committed version."""
        for page in self.dirty.values():
            page.dirty = False
        self.dirty.clear()

    def drop_dirty(self):
        """After rollback: forget every dirty page so the next read reloads it."""
        for pgno, page in self.dirty.items():
            page.dirty = False
            self.lru.pop(pgno, None)
            if self.weak.get(pgno) is page:
                del self.weak[pgno]
        self.dirty.clear()

    def discard(self, pgno):
        """Forget one clean page (another connection changed it)."""
        self.lru.pop(pgno, None)
        self.weak.pop(pgno, None)

    def clear(self):
        self.lru.clear()
        self.weak = WeakValueDictionary()
        self.dirty.clear()

    def set_capacity(self, capacity):
        self.capacity = capacity
        lru = self.lru
        while len(lru) > capacity:
            lru.popitem(last=False)
