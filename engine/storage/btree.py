"""Table and index B-trees: cursors, seek, insert and delete with balancing.

A cursor's position is a stack of (Page, child index) ancestors plus the current
page, its ``PageInfo`` (``page.aux``) and cell ``_ci``; on an index tree it may
stand on an interior cell, since those are entries too.
Re-entrancy: first/last/seek restart from the root when called again after IO;
next/prev record a pending descent before they can wait, so a repeated call
finishes it and never advances twice. A mutation that fits its page with no
overflow is done in place without waiting. Any other runs as a generator in
``_mut``: a load phase that may yield (save other cursors, read siblings,
allocate pages, fill new overflow pages) builds every new page in memory, a
write phase that cannot wait writes them, then freed pages go to
``pager.free_page``. Interrupted, the tree is unchanged (or fully changed),
at worst with leaked pages. Cursors belong to one transaction; between executions
of a statement they are parked (``park``/``unpark``), keeping a position only
while the pager saw no write, commit or rollback.
Reading: ``column`` serves scans from decoded columns cached per table leaf
(``PageInfo.cols``, kept aligned by btree_page's cell edits, bounded per leaf and
in total); SQLite has no such cache (its C decodes a record faster than Python
indexes a list of them).
Mirrors sqlite src/btree.c (balance_nonroot/deeper/quick), Turso core/storage/btree.rs.
"""

import weakref
from bisect import bisect_left, bisect_right
from collections import deque

from limbodb.errors import CorruptError, InternalError, corrupt, invariant
from limbodb.io.completion import IO
from limbodb.storage.balance import (
    allocate, balance, free, load, node_of, overflow_chain, underfull,
)
from limbodb.storage.btree_page import (
    UNDECODED, decode_page, drop_cell, free_space, index_sort_key, init_page, insert_cell,
    parse_cell, replace_cell, set_child, varint_end,
)
from limbodb.storage.ondisk import (
    PAGE_INDEX_INTERIOR, PAGE_INDEX_LEAF, PAGE_TABLE_INTERIOR, PAGE_TABLE_LEAF, U32, VARINT_1, get_varint,
    local_payload_size, max_local, put_varint,
)
from limbodb.storage.record import Record, column_at, compare_record, decode_record, sort_key

SEEK_EQ = 0
SEEK_GE = 1
SEEK_GT = 2
SEEK_LE = 3
SEEK_LT = 4


class CursorState:
    """Where a cursor stands (``_state``); each pending state is resumed by the next call."""

    INVALID = 0        # not on an entry (never moved, empty tree, or past an end)
    VALID = 1          # on entry _ci of _page
    DESCEND_LEFT = 2   # pending: descend from child _ci of interior _page to the leftmost entry
    DESCEND_RIGHT = 3  # pending: descend from child _ci of interior _page to the rightmost entry
    REQUIRE_SEEK = 4   # the tree changed: _saved (rowid or record bytes) says where the cursor was
    AFTER_DELETE = 5   # this cursor deleted the entry after _ci (which may be -1) on leaf _page


_INVALID = CursorState.INVALID
_VALID = CursorState.VALID
_DESCEND_LEFT = CursorState.DESCEND_LEFT
_DESCEND_RIGHT = CursorState.DESCEND_RIGHT
_REQUIRE_SEEK = CursorState.REQUIRE_SEEK
_AFTER_DELETE = CursorState.AFTER_DELETE

_pack_u32 = U32.pack

# Deeper than this is a cycle of child pointers (sqlite's BTCURSOR_MAX_DEPTH).
MAX_DEPTH = 20

# Column lists one table leaf may keep in its PageInfo.cols (BTreeCursor.column): a scan
# reads a few columns; the bound keeps a wide SELECT * from multiplying the page's memory
# once per column.
MAX_CACHED_COLUMNS = 4
# Values in column lists across every connection of the process (about 56 bytes each with
# their list slot, for ints and short text): past this the oldest lists are dropped.
# 65536 is about 3.5 MiB, the order of the default page cache (2000 KiB of pages).
MAX_CACHED_VALUES = 1 << 16
# The PageInfo.cols dicts that got a list, oldest first, with that list's length. A dict
# is emptied when its entry leaves (its PageInfo, if still alive, fills it again on demand),
# so the lists of pages the page cache dropped count until their entry leaves too.
_COLUMN_LISTS = deque()
_cached_values = 0


def _remember_column(cols, n):
    """Account for a new column list of ``n`` values in ``cols``; drop the oldest past the budget."""
    global _cached_values
    _COLUMN_LISTS.append((cols, n))
    _cached_values += n
    while _cached_values > MAX_CACHED_VALUES and _COLUMN_LISTS:
        old, m = _COLUMN_LISTS.popleft()
        old.clear()
        _cached_values -= m

# Open cursors by (id(pager), root): a mutation saves the positions of the others
# (SQLite saveAllCursors). A live cursor holds its pager, so the id cannot be reused.
# Each value is a set of weak references whose callback is the set's own discard, so
# registering a cursor, counting and forgetting them cost no Python-level call (a
# WeakSet's do); iterate over a copy (a collection may discard during the loop).
_OPEN = {}


def _cursors(refs):
    """The live cursors of a set in ``_OPEN``."""
    return [c for c in [r() for r in list(refs)] if c is not None]


class BTreeCursor:
    """A cursor over one table (``key_info`` None) or index B-tree."""

    __slots__ = (
        "pager", "root", "key_info", "_index", "_usable", "_max_local", "_state", "_page", "_info", "_ci",
        "_pages", "_idxs", "_saved", "_mut", "_ovfl", "_count", "_open", "_epoch", "_sk", "_edge",
        "_ref", "_mark", "__weakref__",
    )

    def __init__(self, pager, root_pgno, key_info=None):
        self.pager = pager
        self.root = root_pgno
        self.key_info = key_info
        self._index = key_info is not None
        # Index keys order as sort_key tuples: search bisects the pages' cached skeys.
        self._sk = key_info is not None and key_info.binary_asc()
        self._usable = usable = pager.usable_size
        # The largest payload a leaf cell holds with no overflow page.
        self._max_local = max_local(not self._index, usable)
        self._state = _INVALID
        self._page = None
        self._info = None
        self._ci = 0
        self._pages = []
        self._idxs = []
        self._saved = None
        self._mut = None
        self._ovfl = None
        self._count = None
        self._epoch = None
        self._edge = None
        key = (id(pager), root_pgno)
        s = _OPEN.get(key)
        if s is None:
            s = _OPEN[key] = set()
        ref = self._ref = weakref.ref(self, s.discard)
        s.add(ref)
        self._open = s

    def park(self):
        """Unregister this idle cursor, so that a later ``unpark`` can serve the next
        execution of the same statement without building a new cursor (and, on a table,
        without a descent: see seek). False (nothing done) while a mutation is unfinished.

        A parked cursor is invisible to writers (they neither save nor adjust it), so it
        keeps a position only with the pager's write count and snapshot: ``unpark`` keeps the
        position only if no page was written, no commit or rollback happened, and the pager
        reads the same snapshot (a new transaction may see other connections' commits).
        """
        if self._mut is not None:
            return False
        self._open.discard(self._ref)
        self._saved = None
        self._count = None
        if self._state == _VALID:
            pager = self.pager
            self._mark = pager.writes, pager.db_size, pager._snap_seq
        else:
            self._forget()
        return True

    def unpark(self):
        """Register a parked cursor again, on its old entry if nothing changed meanwhile;
        False (left parked) if the pager's page size changed (VACUUM), as it cannot serve."""
        if self._usable != self.pager.usable_size:
            return False
        self._open.add(self._ref)
        if self._state == _VALID:
            pager = self.pager
            mark = self._mark
            epoch = self._epoch
            if epoch is None or mark[0] != pager.writes or mark[1] != pager.db_size \
                    or mark[2] != pager._snap_seq \
                    or epoch[0] != pager.generation or epoch[1] != pager.db.commit_seq:
                self._forget()
        return True

    def _forget(self):
        """Drop the position (and every Page it holds)."""
        self._state = _INVALID
        self._drop_path()
        self._epoch = None
        self._edge = None

    def _drop_path(self):
        """Let go of the pages from the root to the current leaf (a new path list, so a
        kept right-edge answer no longer matches: see _at_right_edge)."""
        self._pages = []
        self._idxs = []
        self._page = None
        self._info = None
        self._ovfl = None

    # --- movement -----------------------------------------------------------------

    def _to_root(self):
        """Re-entrant: reset the stack to the root page."""
        r = self.pager.read_page(self.root)
        if r.__class__ is IO:
            return r
        self._pages = []
        self._idxs = []
        info = r.aux or decode_page(r)
        if info.index != self._index:
            raise corrupt(pgno=r.pgno)
        self._page = r
        self._info = info
        self._ovfl = None
        self._state = _INVALID
        pager = self.pager
        # _current_epoch, inline: every seek starts here.
        self._epoch = pager.generation, pager.db.commit_seq
        return None

    def _child_info(self, child):
        """The PageInfo of ``child``, about to be entered from ``_page``; corrupt if it cannot be one."""
        info = child.aux or decode_page(child)
        if info.index != self._index or len(self._pages) >= MAX_DEPTH:
            raise corrupt(pgno=child.pgno)
        return info

    def _current_epoch(self):
        """Changes at every commit and rollback: Page objects held from before may be stale."""
        pager = self.pager
        return pager.generation, pager.db.commit_seq

    def _descend(self, left):
        """Re-entrant: finish a pending descent from child ``_ci`` of ``_page`` to an edge entry."""
        pager = self.pager
        while True:
            info = self._info
            if info.leaf:
                n = info.ncells
                if n == 0:
                    if self._pages:
                        raise corrupt(pgno=self._page.pgno)
                    self._state = _INVALID
                    return False
                self._ci = 0 if left else n - 1
                self._state = _VALID
                return True
            r = pager.read_page(info.children[self._ci])
            if r.__class__ is IO:
                return r
            child = self._child_info(r)
            if left and child.leaf and pager.readahead:
                self._read_ahead(info.children, self._ci)
            info = child
            self._pages.append(self._page)
            self._idxs.append(self._ci)
            self._page = r
            self._info = info
            self._ci = 0 if left else info.ncells

    def _read_ahead(self, children, ci):
        """A forward scan entered leaf ``ci`` of interior ``_page``: read the next leaves
        ahead, and near the page's end the next interior page (or its first leaves)."""
        pager = self.pager
        window = pager.readahead
        wanted = children[ci + 1:ci + 1 + window]
        short = ci + 1 + window - len(children)
        # Only pages already decoded are looked into: read-ahead never reports corruption.
        pinfo = self._pages[-1].aux if short > 0 and self._pages else None
        if pinfo is not None:
            i = self._idxs[-1] + 1
            if i < len(pinfo.children):
                sibling = pinfo.children[i]
                page = pager.cached_page(sibling)
                if page is None:
                    wanted.append(sibling)
                elif page.aux is not None and not page.aux.leaf:
                    wanted += page.aux.children[:short]
        pager.prefetch(wanted)

    def first(self):
        """Re-entrant: move to the smallest entry; False if the tree is empty."""
        r = self._to_root()
        if r is not None:
            return r
        self._ci = 0
        self._state = _DESCEND_LEFT
        return self._descend(True)

    def last(self):
        """Re-entrant: move to the largest entry; False if the tree is empty."""
        r = self._to_root()
        if r is not None:
            return r
        self._ci = self._info.ncells
        self._state = _DESCEND_RIGHT
        return self._descend(False)

    def next(self):
        """Re-entrant: move to the next entry; False at the end."""
        st = self._state
        if st == _VALID:
            ci = self._ci + 1
            info = self._info
            if info.leaf:
                if ci < info.ncells:
                    self._ci = ci
                    return True
                return self._climb_next()
            # On an interior entry of an index tree: next is the leftmost of the child after it.
            self._ci = ci
            self._state = _DESCEND_LEFT
            return self._descend(True)
        if st == _DESCEND_LEFT:
            return self._descend(True)
        if st == _AFTER_DELETE:
            self._state = _VALID
            return self.next()
        if st == _REQUIRE_SEEK:
            r = self._restore(SEEK_GE)
            if r.__class__ is IO:
                return r
            return self.next() if r == 2 else r == 1
        if st == _DESCEND_RIGHT:
            return self._descend(False)
        return False

    def prev(self):
        """Re-entrant: move to the previous entry; False at the start."""
        st = self._state
        if st == _VALID:
            info = self._info
            if info.leaf:
                ci = self._ci - 1
                if ci >= 0:
                    self._ci = ci
                    return True
                return self._climb_prev()
            self._state = _DESCEND_RIGHT
            return self._descend(False)
        if st == _DESCEND_RIGHT:
            return self._descend(False)
        if st == _AFTER_DELETE:
            if self._ci >= 0:
                self._state = _VALID
                return True
            self._ci = 0
            self._state = _VALID
            return self._climb_prev()
        if st == _REQUIRE_SEEK:
            r = self._restore(SEEK_LE)
            if r.__class__ is IO:
                return r
            return self.prev() if r == 2 else r == 1
        if st == _DESCEND_LEFT:
            return self._descend(True)
        return False

    def _climb_next(self):
        pages = self._pages
        idxs = self._idxs
        while pages:
            page = pages.pop()
            i = idxs.pop()
            info = page.aux or decode_page(page)
            self._page = page
            self._info = info
            if i < info.ncells:
                if info.index:
                    self._ci = i
                    self._state = _VALID
                    return True
                self._ci = i + 1
                self._state = _DESCEND_LEFT
                return self._descend(True)
        self._state = _INVALID
        return False

    def _climb_prev(self):
        pages = self._pages
        idxs = self._idxs
        while pages:
            page = pages.pop()
            i = idxs.pop()
            info = page.aux or decode_page(page)
            self._page = page
            self._info = info
            if i > 0:
                self._ci = i - 1
                if info.index:
                    self._state = _VALID
                    return True
                self._state = _DESCEND_RIGHT
                return self._descend(False)
        self._state = _INVALID
        return False

    def _restore(self, op):
        """Re-entrant: reposition after the tree changed, by seeking the saved key with ``op``.

        Returns 2 if the saved entry still exists (the cursor is on it), 1 if the
        cursor is on the entry after (SEEK_GE) or before (SEEK_LE) where it was,
        0 if there is no such entry.
        """
        saved = self._saved
        key = decode_record(saved) if self._index else saved
        r = self.seek(key, op)
        if r.__class__ is IO:
            self._state = _REQUIRE_SEEK
            return r
        if not r:
            self._saved = None
            return 0
        if self._index:
            p = self.payload()
            if p.__class__ is IO:
                self._state = _REQUIRE_SEEK
                return p
            exact = p == saved
        else:
            exact = self._info.keys[self._ci] == saved
        self._saved = None
        return 2 if exact else 1

    def _cell_payload(self, page, info, ci):
        """Re-entrant: the full payload of cell ``ci`` (reading its overflow chain if any)."""
        data = page.data
        off = info.ptrs[ci]
        usable = self._usable
        size, start, local, ovfl = parse_cell(data, off, info.ptype, usable)
        if start + local + (4 if ovfl else 0) > usable:
            raise corrupt(pgno=page.pgno)
        if not ovfl:
            return data[start:start + local]
        st = self._ovfl
        if st is None or st[0] is not page or st[1] != off:
            if size - local > (usable - 4) * self.pager.db_size:
                # More overflow pages than the file has: a looping chain would never end.
                raise corrupt(pgno=page.pgno)
            st = self._ovfl = [page, off, [bytes(data[start:start + local])], ovfl, size - local, None]
        elif st[5] is not None:
            return st[5]
        parts = st[2]
        per = self._usable - 4
        pager = self.pager
        while st[4] > 0:
            pgno = st[3]
            if pgno == 0 or pgno > pager.db_size:
                raise corrupt(pgno=page.pgno)
            r = pager.read_page(pgno)
            if r.__class__ is IO:
                return r
            d = r.data
            take = per if st[4] > per else st[4]
            parts.append(bytes(d[4:4 + take]))
            st[3] = U32.unpack_from(d, 0)[0]
            st[4] -= take
        st[5] = b"".join(parts)
        return st[5]

    def _at_right_edge(self):
        """True if every ancestor was left through its right-most child.

        A True answer is kept for the (path list, leaf) it was found for: a leaf has one
        path while the tree keeps its shape, and any change of shape gives every cursor
        on the tree a new path list (a re-seek, or _save_position), so appends to the
        right-most leaf ask the ancestors once.
        """
        pages = self._pages
        edge = self._edge
        if edge is not None and edge[0] is pages and edge[1] is self._page:
            return True
        for page, i in zip(pages, self._idxs):
            info = page.aux or decode_page(page)
            if i != info.ncells:
                return False
        self._edge = (pages, self._page)
        return True

    def _search(self, page, info, key, upper, kk=None):
        """Re-entrant: (position of the first cell >= key (> key if ``upper``), exact match).

        ``kk`` is the index key's sort_key, if it has one and the index is BINARY ASC.
        """
        if not self._index:
            keys = info.keys
            if upper:
                return bisect_right(keys, key), False
            i = bisect_left(keys, key)
            return i, i < len(keys) and keys[i] == key
        if kk is not None:
            sk = info.skeys
            if sk is None:
                sk = info.skeys = [None] * info.ncells
            if sk is not False:
                r = self._bisect_sort_keys(page, info, sk, kk, upper)
                if r is not None:
                    return r
        ki = self.key_info
        lo = 0
        hi = info.ncells
        exact = False
        while lo < hi:
            mid = (lo + hi) >> 1
            p = self._cell_payload(page, info, mid)
            if p.__class__ is IO:
                return p
            c = compare_record(p, key, ki)
            if c < 0 or (upper and c == 0):
                lo = mid + 1
            else:
                if c == 0:
                    exact = True
                hi = mid
        return lo, exact

    def _bisect_sort_keys(self, page, info, sk, kk, upper):
        """_search by the page's sort keys, filling those it probes; None if the page cannot.

        Tuples order exactly as compare_record under BINARY ASC as long as no record is
        shorter than the key (where SQLite stops at the record's last column instead).
        """
        w = len(kk)
        if upper:
            # Past every record with this prefix: 9 exceeds the rank at position w of any.
            kk = kk + (9,)
        usable = self._usable
        lo = 0
        hi = len(sk)
        if info.skmin >= w:
            # No stored key is shorter than this one, so C's bisect may compare them all;
            # it raises TypeError at the first unknown key (None), which the loop fills.
            try:
                lo = bisect_left(sk, kk)
            except TypeError:
                pass
            else:
                hi = lo
        while lo < hi:
            mid = (lo + hi) >> 1
            k = sk[mid]
            if k is None:
                k = index_sort_key(page, info, mid, usable)
                if k is None:
                    info.skeys = False
                    return None
            if len(k) < w:
                info.skeys = False
                return None
            if k < kk:
                lo = mid + 1
            else:
                hi = mid
        if upper or lo == len(sk):
            return lo, False
        k = sk[lo]
        if k is None:
            k = index_sort_key(page, info, lo, usable)
            if k is None:
                info.skeys = False
                return None
        if len(k) < w:
            info.skeys = False
            return None
        return lo, k[:w] == kk

    def _seek_leaf(self, key, upper, stop_on_equal, kk=None):
        """Re-entrant: descend to the leaf position for ``key``; returns (pos, exact).

        With ``stop_on_equal`` (index inserts) an equal interior cell stops the descent there.
        ``kk``: the index key's sort_key (see _search).
        """
        r = self._to_root()
        if r is not None:
            return r
        pager = self.pager
        index = self._index
        # _to_root gave the cursor fresh stack lists; only this loop adds to them.
        pages = self._pages
        idxs = self._idxs
        if kk is not None:
            w = len(kk)
            probe = kk + (9,) if upper else kk
        while True:
            page = self._page
            info = self._info
            sk = info.skeys if kk is not None else None
            if sk and info.skmin >= w:
                # _bisect_sort_keys' first try, inline (one search per level of every
                # index seek); a key not decoded yet (None) raises and takes the full path.
                try:
                    i = bisect_left(sk, probe)
                except TypeError:
                    r = self._search(page, info, key, upper, kk)
                    if r.__class__ is IO:
                        return r
                    i, exact = r
                else:
                    exact = not upper and i < len(sk) and sk[i][:w] == kk
            elif not index:
                # _search on a table page, inline.
                keys = info.keys
                if upper:
                    i = bisect_right(keys, key)
                    exact = False
                else:
                    i = bisect_left(keys, key)
                    exact = i < len(keys) and keys[i] == key
            else:
                r = self._search(page, info, key, upper, kk)
                if r.__class__ is IO:
                    return r
                i, exact = r
            if info.leaf or (exact and stop_on_equal and index):
                return i, exact
            r = pager.read_page(info.children[i])
            if r.__class__ is IO:
                return r
            # _child_info, inline: every level of every seek passes here.
            info = r.aux or decode_page(r)
            if info.index != index or len(pages) >= MAX_DEPTH:
                raise corrupt(pgno=r.pgno)
            pages.append(page)
            idxs.append(i)
            self._page = r
            self._info = info

    def seek(self, key, op):
        """Re-entrant: position by ``key`` (rowid, or list of index values) and ``op``.

        Returns True when on an entry satisfying ``op`` (for SEEK_EQ: equal to the
        key, comparing only the given prefix on an index).
        """
        if op == SEEK_EQ and not self._index and self._state == _VALID:
            # A rowid on the current leaf, or past it on the right-most leaf, needs no descent
            # (sqlite3BtreeTableMoveto's shortcut): inserts by ascending rowid seek there.
            info = self._info
            keys = info.keys if info.leaf else None
            epoch = self._epoch
            pager = self.pager
            if keys and keys[0] <= key and epoch is not None and epoch[0] == pager.generation \
                    and epoch[1] == pager.db.commit_seq and (key <= keys[-1] or self._at_right_edge()):
                p = bisect_left(keys, key)
                if p < len(keys):
                    self._ci = p
                    return keys[p] == key
                self._ci = p - 1
                return False
        upper = op == SEEK_GT or op == SEEK_LE
        kk = sort_key(key) if self._sk else None
        r = self._seek_leaf(key, upper, False, kk)
        if r.__class__ is IO:
            return r
        p = r[0]
        n = self._info.ncells
        if op == SEEK_LT or op == SEEK_LE:
            if p > 0:
                self._ci = p - 1
                self._state = _VALID
                return True
            self._ci = 0
            self._state = _VALID
            return self._climb_prev()
        if p < n:
            self._ci = p
            self._state = _VALID
        elif n == 0 and not self._pages:
            self._state = _INVALID
            return False
        elif op == SEEK_EQ and not self._index:
            # The key would be the last of this leaf: it is missing. Staying here lets an
            # insert of that key skip the descent (sqlite's OPFLAG_USESEEKRESULT).
            self._ci = n - 1
            self._state = _VALID
            return False
        else:
            self._ci = n - 1
            self._state = _VALID
            r = self._climb_next()
            if r is not True:
                return r
        if op != SEEK_EQ:
            return True
        if not self._index:
            return self._info.keys[self._ci] == key
        if kk is not None:
            sk = self._info.skeys
            if sk:
                k = sk[self._ci]
                if k is not None and len(k) >= len(kk):
                    return k[:len(kk)] == kk
        pl = self.payload()
        if pl.__class__ is IO:
            return pl
        return compare_record(pl, key, self.key_info) == 0

    # --- reading the current entry --------------------------------------------------

    def rowid(self):
        """The current entry's rowid (on an index: the record's last column)."""
        if self._state == _REQUIRE_SEEK:
            saved = self._saved
            if not self._index:
                return saved
            rec = Record(saved)
            return rec.column(rec.ncols - 1)
        info = self._info
        if info.keys is not None and info.leaf:
            return info.keys[self._ci]
        sk = info.skeys
        if sk:
            # The seek that found this entry decoded it: its last value is the rowid.
            k = sk[self._ci]
            if k and k[-1].__class__ is int and k[-2] == 1:
                return k[-1]
        p = self._cell_payload(self._page, info, self._ci)
        if p.__class__ is IO:
            raise InternalError("rowid() of an index entry with overflow needs payload() first")
        rec = Record(p)
        return rec.column(rec.ncols - 1)

    def entry_sort_key(self):
        """The sort_key of the index entry the cursor is on, or None if it has none.

        Only on an index whose keys order as sort_key tuples (BINARY ASC); the tuple
        is cached in the page's ``skeys``, where a seek that found the entry put it.
        """
        if not self._sk or self._state != _VALID:
            return None
        info = self._info
        sk = info.skeys
        if sk is None:
            sk = info.skeys = [None] * info.ncells
        elif sk is False:
            return None
        k = sk[self._ci]
        if k is None:
            k = index_sort_key(self._page, info, self._ci, self._usable)
        return k

    def _current_payload(self):
        """Re-entrant: the current entry's payload (a bytearray copy when it is all local)."""
        if self._state != _VALID:
            if self._state != _REQUIRE_SEEK:
                raise InternalError("cursor is not on an entry")
            r = self._restore(SEEK_GE)
            if r.__class__ is IO:
                return r
            if not r:
                raise InternalError("cursor is not on an entry")
        return self._cell_payload(self._page, self._info, self._ci)

    def payload(self):
        """Re-entrant: the current entry's payload bytes (record bytes)."""
        p = self._current_payload()
        if p.__class__ is bytearray:
            return bytes(p)
        return p

    def record(self):
        """Re-entrant: the current entry's Record."""
        if self._state == _VALID:
            info = self._info
            if info.ptype == PAGE_TABLE_LEAF:
                # A table row without overflow (nearly all): slice its payload straight
                # from the page.
                data = self._page.data
                span = _local_row_payload(data, info.ptrs[self._ci], self._usable)
                if span is not None:
                    return Record(data[span[0]:span[1]])
        p = self._current_payload()
        if p.__class__ is IO:
            return p
        return Record(p)

    def column(self, i):
        """Column ``i`` of the current table row from its leaf's column cache, or UNDECODED.

        The cache (``PageInfo.cols``, kept aligned by insert_cell/drop_cell and gone with
        the PageInfo) holds one decoded value per cell, so a scan that runs again over
        the same pages reads a list instead of a record. A scan entering a leaf at its
        first cell decodes the column of every cell at once; a cursor that landed inside
        the leaf (a seek) fills only its own cell. UNDECODED means the cache cannot
        answer: not on a table leaf row, a cell with overflow pages, or the page already
        caching MAX_CACHED_COLUMNS columns; the caller reads ``record()`` instead.
        All leaves' lists together hold at most MAX_CACHED_VALUES values, the oldest
        dropped first. Never waits and never raises for a cell other than the current one.
        """
        if self._state != _VALID:
            return UNDECODED
        info = self._info
        if info.ptype != PAGE_TABLE_LEAF:
            return UNDECODED
        cols = info.cols
        if cols is None:
            cols = info.cols = {}
        values = cols.get(i)
        ci = self._ci
        data = self._page.data
        usable = self._usable
        if values is None:
            if len(cols) >= MAX_CACHED_COLUMNS:
                return UNDECODED
            if ci == 0:
                values = _leaf_column(data, info.ptrs, i, usable)
            else:
                values = [UNDECODED] * info.ncells
            cols[i] = values
            _remember_column(cols, len(values))
        v = values[ci]
        if v is UNDECODED:
            v = values[ci] = _cell_column(data, info.ptrs[ci], i, usable)
        return v

    def count(self):
        """Re-entrant: number of entries in the tree."""
        st = self._count
        if st is None:
            st = self._count = [[self.root], 0, 0]
        stack = st[0]
        pager = self.pager
        leaf_type = PAGE_INDEX_LEAF if self._index else PAGE_TABLE_LEAF
        window = pager.readahead
        while stack:
            if window:
                # Pages are popped from the end: read the next ones ahead.
                pager.prefetch(stack[:-window - 1:-1])
            r = pager.read_page(stack[-1])
            if r.__class__ is IO:
                return r
            stack.pop()
            st[2] += 1
            if r.aux is None and st[2] <= pager.db_size:
                # A leaf's count is in its header: no need to decode its cell pointers.
                data = r.data
                hdr = 100 if r.pgno == 1 else 0
                if data[hdr] == leaf_type:
                    n = (data[hdr + 3] << 8) | data[hdr + 4]
                    if hdr + 8 + 6 * n <= len(data):
                        st[1] += n
                        continue
            info = r.aux or decode_page(r)
            if info.index != self._index or st[2] > pager.db_size:
                # A wrong page kind, or more pages than the file has: a cycle of child pointers.
                self._count = None
                raise corrupt(pgno=r.pgno)
            if info.leaf:
                st[1] += info.ncells
            else:
                if info.index:
                    st[1] += info.ncells
                stack.extend(info.children)
        self._count = None
        return st[1]

    # --- mutation -------------------------------------------------------------------

    def _run_mut(self):
        g = self._mut
        try:
            r = g.send(None)
        except StopIteration:
            self._mut = None
            return None
        except BaseException:
            self._mut = None
            raise
        return r

    def _save_position(self):
        """Re-entrant: remember where this cursor is, because another cursor changes the tree."""
        st = self._state
        if st == _VALID:
            if self._index:
                p = self.payload()
                if p.__class__ is IO:
                    return p
                self._saved = p
            else:
                self._saved = self._info.keys[self._ci] if self._info.leaf else None
            self._state = _REQUIRE_SEEK
        elif st == _AFTER_DELETE:
            self._state = _REQUIRE_SEEK
        elif st != _REQUIRE_SEEK:
            self._state = _INVALID
        self._drop_path()
        return None

    def _adjust_others(self, page, ci, delta):
        """Keep other cursors right across an in-place change of leaf ``page`` at cell ``ci``.

        ``delta`` is 1 for an insert, -1 for a delete, 0 for a replacement. Cursors on other
        pages are untouched (no page but this one changes); on this page a VALID cursor's
        index shifts, one on a deleted cell, or in any other state, saves its position.
        """
        for c in _cursors(self._open):
            if c is self or c._page is not page:
                continue
            c._ovfl = None
            if c._state == _VALID:
                i = c._ci
                if delta == 0 or i < ci:
                    continue
                if delta > 0 or i > ci:
                    c._ci = i + delta
                    continue
            # Its cell is the deleted one and local (no overflow), so saving cannot wait.
            c._save_position()

    def _save_others(self):
        for c in _cursors(self._open):
            if c is not self:
                while True:
                    r = c._save_position()
                    if r.__class__ is not IO:
                        break
                    yield r

    def _make_cell(self, key, payload, ovfl_pgno, local):
        if self._index:
            head = put_varint(len(key))
            body = key
        else:
            head = put_varint(len(payload)) + put_varint(key)
            body = payload
        if ovfl_pgno:
            return head + body[:local] + _pack_u32(ovfl_pgno)
        return head + body

    def insert(self, key, payload, values=None):
        """Re-entrant: insert (table: rowid ``key``, record ``payload``; index: record ``key``).

        Replaces an entry with an equal key; leaves the cursor on the new entry.
        ``values``: optionally, the index record's column values (what ``key``
        decodes to), which saves decoding it.
        """
        if self._mut is not None:
            return self._run_mut()
        index = self._index
        kk = None
        if index:
            body = key
            # Values only stand for the record when they survive encoding unchanged,
            # which sort_key vouches for (it rejects NaN, odd text and other types).
            kk = sort_key(values) if values is not None else None
            if kk is not None:
                skey = values
                if not self._sk:
                    kk = None
            else:
                skey = decode_record(key)
                if self._sk:
                    kk = sort_key(skey)
        else:
            body = payload
            skey = key
        p = -1
        if not index and self._state == _VALID:
            # Appends and in-range keys skip the descent (sqlite's BTCF_AtLast shortcut).
            info = self._info
            keys = info.keys if info.leaf else None
            epoch = self._epoch
            pager = self.pager
            if keys and keys[0] <= key and epoch is not None and epoch[0] == pager.generation \
                    and epoch[1] == pager.db.commit_seq and (key <= keys[-1] or self._at_right_edge()):
                if key > keys[-1]:
                    p = len(keys)  # an append: no bisect needed
                    exact = False
                else:
                    p = bisect_left(keys, key)
                    exact = keys[p] == key
        elif kk is not None and self._state == _VALID:
            # A key above every other of the tree goes last on the right-most leaf with no
            # descent: an index filled in key order (CREATE INDEX after its sorter).
            info = self._info
            sk = info.skeys if info.leaf else None
            epoch = self._epoch
            pager = self.pager
            # Only from the leaf's last entry (where the previous append left the cursor):
            # random keys rarely come from there, so they skip the ancestors' check.
            if sk and self._ci == len(sk) - 1 and epoch is not None and epoch[0] == pager.generation \
                    and epoch[1] == pager.db.commit_seq:
                last = sk[-1]
                if last is not None and len(last) == len(kk) and kk > last and self._at_right_edge():
                    p = len(sk)
                    exact = False
        if p < 0:
            r = self._seek_leaf(skey, False, True, kk)
            if r.__class__ is IO:
                return r
            p, exact = r
        usable = self._usable
        info = self._info
        page = self._page
        size = len(body)
        if info.leaf and size <= self._max_local:
            head = VARINT_1[size] if size < 0x80 else put_varint(size)
            if index:
                cell = head + key
            else:
                cell = head + (VARINT_1[key] if 0 <= key < 0x80 else put_varint(key)) + payload
            need = len(cell)
            need = (need if need > 4 else 4) + 2
            data = page.data
            free = info.free
            if free is None:
                free = free_space(data, info)
            old_ovfl = 0
            if exact:
                off = info.ptrs[p]
                _, start, local, old_ovfl = parse_cell(data, off, info.ptype, usable)
                old_size = start - off + local  # cell_size of a local cell
                if old_size < 4:
                    old_size = 4
                free += old_size + 2
            if need <= free and not old_ovfl:
                if len(self._open) > 1:
                    self._adjust_others(page, p, 0 if exact else 1)
                self.pager.mark_dirty(page)
                old_info = info
                if not exact:
                    info = insert_cell(page, info, p, cell, usable, None if index else key, free, kk)
                elif replace_cell(page, info, p, cell, old_size, kk) is None:
                    # No room in place: drop the old cell, then insert as for a new key.
                    info = drop_cell(page, info, p, usable, old_size)
                    info = insert_cell(page, info, p, cell, usable, None if index else key, None, kk)
                if info is not old_info:
                    # Defragmenting decoded the page afresh: other cursors must see the new view.
                    for c in _cursors(self._open):
                        if c._page is page:
                            c._info = info
                self._info = info
                self._ci = p
                self._state = _VALID
                self._ovfl = None
                return None
        self._mut = self._insert_gen(key, payload, skey, p, exact, kk)
        return self._run_mut()

    def _insert_gen(self, key, payload, skey, p, exact, kk):
        pager = self.pager
        usable = self._usable
        index = self._index
        yield from self._save_others()
        pages = self._pages + [self._page]
        idxs = list(self._idxs)
        body = key if index else payload
        local = local_payload_size(not index, len(body), usable)
        first_ovfl = 0
        if local < len(body):
            first_ovfl = yield from self._write_overflow(body[local:])
        cell = self._make_cell(key, payload, first_ovfl, local)
        if len(cell) < 4:
            cell += bytes(4 - len(cell))
        if not index and not exact and len(pages) > 1:
            done = yield from self._quick_split(pages, p, cell, key)
            if done:
                return
        node = node_of(pages[-1], usable)
        to_free = []
        append = False
        if exact:
            old = node.cells[p]
            if node.ptype == PAGE_INDEX_INTERIOR:
                cell = old[:4] + cell
                old = old[4:]
            o = parse_cell(old, 0, PAGE_INDEX_LEAF if index else PAGE_TABLE_LEAF, usable)[3]
            if o:
                to_free = yield from overflow_chain(pager, o)
            node.cells[p] = cell
            if index:
                node.keys[p] = None if first_ovfl else kk
        else:
            node.cells.insert(p, cell)
            if index:
                node.keys.insert(p, None if first_ovfl else kk)
            append = (p == len(node.cells) - 1 and node.ptype >= PAGE_INDEX_LEAF and len(pages) > 1
                      and idxs[-1] == (pages[-2].aux or decode_page(pages[-2])).ncells)
        freed = yield from balance(self.pager, self._index, pages, idxs, {len(pages) - 1: node}, append)
        for pgno in to_free + freed:
            yield from free(pager, pgno)
        while True:
            r = self._seek_leaf(skey, False, True, kk)
            if r.__class__ is not IO:
                break
            yield r
        self._ci = r[0]
        self._state = _VALID

    def _quick_split(self, pages, p, cell, key):
        """Generator: sqlite's balance_quick, done in place; True if done, else nothing changed.

        Applies to a new last row of a full table leaf that is its parent's right-most
        child, when the parent has room for one more divider: the row goes alone on a
        new right-most leaf, and the parent gains the divider (the old leaf's largest
        rowid) in front of it. The old leaf is not touched, where the general balance
        would rebuild it cell by cell. The only wait is the page allocation, before
        any write; the cursor ends on the new row.
        """
        leaf = pages[-1]
        info = leaf.aux or decode_page(leaf)
        parent = pages[-2]
        pinfo = parent.aux or decode_page(parent)
        usable = self._usable
        if (info.ptype != PAGE_TABLE_LEAF or p != info.ncells or not info.ncells
                or self._idxs[-1] != pinfo.ncells or len(cell) + 2 <= free_space(leaf.data, info)):
            return False
        div = _pack_u32(leaf.pgno) + put_varint(info.keys[-1])
        if len(div) + 2 > free_space(parent.data, pinfo):
            return False
        pager = self.pager
        page = yield from allocate(pager)
        pager.mark_dirty(page)
        init_page(page, PAGE_TABLE_LEAF, usable)
        ninfo = insert_cell(page, decode_page(page), 0, cell, usable, key)
        pager.mark_dirty(parent)
        n = pinfo.ncells
        pinfo = insert_cell(parent, pinfo, n, div, usable)
        invariant(ninfo is not None and pinfo is not None, "balance_quick: a cell measured to fit does not")
        set_child(parent, pinfo, n + 1, page.pgno)
        self._idxs[-1] = n + 1
        self._page = page
        self._info = ninfo
        self._ci = 0
        self._state = _VALID
        self._ovfl = None
        return True

    def _write_overflow(self, rest):
        """Generator: allocate and fill the overflow chain for ``rest``; returns its first pgno."""
        pager = self.pager
        per = self._usable - 4
        chunks = [rest[i:i + per] for i in range(0, len(rest), per)]
        pgs = []
        for _ in chunks:
            pg = yield from allocate(pager)
            pgs.append(pg)
        for i, pg in enumerate(pgs):
            nxt = pgs[i + 1].pgno if i + 1 < len(pgs) else 0
            pager.mark_dirty(pg)
            d = pg.data
            U32.pack_into(d, 0, nxt)
            d[4:4 + len(chunks[i])] = chunks[i]
            pg.aux = None
        return pgs[0].pgno

    def delete(self):
        """Re-entrant: delete the current entry; ``next()`` then moves to the entry after it."""
        if self._mut is not None:
            return self._run_mut()
        pager = self.pager
        epoch = self._epoch
        if self._state == _VALID and (epoch is None or epoch[0] != pager.generation
                                      or epoch[1] != pager.db.commit_seq):
            # Positioned in an earlier transaction: find the entry again in fresh pages.
            r = self._save_position()
            if r is not None:
                return r
        if self._state == _REQUIRE_SEEK:
            r = self._restore(SEEK_GE)
            if r.__class__ is IO:
                return r
            if r != 2:
                raise InternalError("delete: the cursor's entry no longer exists")
        if self._state != _VALID:
            raise InternalError("delete: cursor is not on an entry")
        info = self._info
        page = self._page
        ci = self._ci
        usable = self._usable
        if info.leaf:
            data = page.data
            off = info.ptrs[ci]
            size, start, local, ovfl = parse_cell(data, off, info.ptype, usable)
            if not ovfl:
                csize = start - off + local  # cell_size of a local cell
                if csize < 4:
                    csize = 4
                cap = usable - info.hdr - 8
                if not self._pages or (info.ncells > 1 and not underfull(
                        cap - free_space(data, info) - csize - 2, cap, usable)):
                    self._saved = info.keys[ci] if not self._index else bytes(data[start:start + local])
                    if len(self._open) > 1:
                        self._adjust_others(page, ci, -1)
                    pager.mark_dirty(page)
                    self._info = drop_cell(page, info, ci, usable, csize)
                    self._ci = ci - 1
                    self._state = _AFTER_DELETE
                    self._ovfl = None
                    return None
        self._mut = self._delete_gen()
        return self._run_mut()

    def _delete_gen(self):
        pager = self.pager
        usable = self._usable
        index = self._index
        if index:
            while True:
                saved = self.payload()
                if saved.__class__ is not IO:
                    break
                yield saved
        else:
            saved = self._info.keys[self._ci]
        yield from self._save_others()
        pages = self._pages + [self._page]
        idxs = list(self._idxs)
        ci = self._ci
        node = node_of(pages[-1], usable)
        cell = node.cells[ci]
        o = parse_cell(cell, 0, node.ptype, usable)[3]
        to_free = (yield from overflow_chain(pager, o)) if o else []
        nodes = {}
        if node.ptype == PAGE_INDEX_INTERIOR:
            # Replace the interior entry with its predecessor, the last entry of the
            # rightmost leaf of its left subtree (SQLite's delete of an interior cell).
            top = len(pages) - 1
            nodes[top] = node
            child = U32.unpack_from(cell, 0)[0]
            idxs.append(ci)
            while True:
                pg = yield from load(pager, child)
                pages.append(pg)
                info = pg.aux or decode_page(pg)
                if info.leaf:
                    break
                idxs.append(info.ncells)
                child = info.right
            leaf = node_of(pages[-1], usable)
            if not leaf.cells:
                raise corrupt(pgno=pages[-1].pgno)
            pred = leaf.cells.pop()
            node.cells[ci] = cell[:4] + pred
            node.keys[ci] = leaf.keys.pop()
            nodes[len(pages) - 1] = leaf
        else:
            del node.cells[ci]
            if index:
                del node.keys[ci]
            nodes[len(pages) - 1] = node
        freed = yield from balance(self.pager, self._index, pages, idxs, nodes, False)
        for pgno in to_free + freed:
            yield from free(pager, pgno)
        self._saved = saved
        self._state = _REQUIRE_SEEK
        self._drop_path()

def _local_row_payload(data, off, usable):
    """(start, end) of the payload of the table leaf cell at ``off``, past its two varints;
    None if the payload spills to overflow pages (or runs past the page)."""
    size = data[off]
    if size < 0x80:
        off += 1
    else:
        size, n = get_varint(data, off)
        off += n
    if data[off] < 0x80:
        off += 1
    elif data[off + 1] < 0x80:
        off += 2
    else:
        off = varint_end(data, off)
    end = off + size
    if size > usable - 35 or end > usable:
        return None
    return off, end


def _cell_column(data, off, i, usable):
    """Column ``i`` of the table leaf cell at ``off``; UNDECODED if it spills to overflow pages."""
    span = _local_row_payload(data, off, usable)
    if span is None:
        return UNDECODED
    return column_at(data, span[0], span[1], i)


def _leaf_column(data, ptrs, i, usable):
    """Column ``i`` of every cell of a table leaf, as _cell_column gives it.

    A damaged cell stays UNDECODED: its error is raised only if the scan reaches that
    row (through record()), as it would be without the cache.
    """
    out = []
    append = out.append
    for off in ptrs:
        try:
            append(_cell_column(data, off, i, usable))
        except (CorruptError, IndexError):
            append(UNDECODED)
    return out


# --- whole trees ----------------------------------------------------------------------

_PENDING = {}  # (id(pager), root, op) -> generator of an unfinished drop/clear


def create_btree(pager, is_index):
    """Re-entrant: a new empty B-tree (a leaf root page); returns the root pgno."""
    r = pager.allocate_page()
    if r.__class__ is IO:
        return r
    init_page(r, PAGE_INDEX_LEAF if is_index else PAGE_TABLE_LEAF, pager.usable_size)
    return r.pgno


def _tree_pages(pager, root):
    """Generator: every page of the tree under ``root`` (overflow pages included), root first."""
    usable = pager.usable_size
    out = []
    stack = [root]
    while stack:
        pgno = stack.pop()
        if pgno in out or pgno > pager.db_size or pgno < 1:
            raise corrupt(pgno=pgno)
        out.append(pgno)
        page = yield from load(pager, pgno)
        info = page.aux or decode_page(page)
        if info.ptype != PAGE_TABLE_INTERIOR:
            data = page.data
            for off in info.ptrs:
                o = parse_cell(data, off, info.ptype, usable)[3]
                if o:
                    chain = yield from overflow_chain(pager, o)
                    out.extend(chain)
        if not info.leaf:
            stack.extend(reversed(info.children))
    return out


def _drop_gen(pager, root, keep_root):
    pgnos = yield from _tree_pages(pager, root)
    for cur in _cursors(_OPEN.get((id(pager), root), ())):
        # Open cursors on the tree now point at nothing (sqlite's BtreeClearTable trips them).
        cur._forget()
    if keep_root:
        page = yield from load(pager, root)
        info = page.aux or decode_page(page)
        pager.mark_dirty(page)
        init_page(page, PAGE_INDEX_LEAF if info.index else PAGE_TABLE_LEAF, pager.usable_size)
        pgnos = pgnos[1:]
    for pgno in pgnos:
        yield from free(pager, pgno)


def _run_pending(key, make):
    g = _PENDING.get(key)
    if g is None:
        g = _PENDING[key] = make()
    try:
        r = g.send(None)
    except StopIteration:
        del _PENDING[key]
        return None
    except BaseException:
        del _PENDING[key]
        raise
    return r


def drop_btree(pager, root):
    """Re-entrant: free every page of the tree, the root included."""
    return _run_pending((id(pager), root, 0), lambda: _drop_gen(pager, root, False))


def clear_btree(pager, root):
    """Re-entrant: free every page but the root, which becomes an empty leaf of its kind."""
    return _run_pending((id(pager), root, 1), lambda: _drop_gen(pager, root, True))
