"""The freelist: trunk and leaf pages of unused pages, as SQLite lays them out.

Header field 32 names the first trunk page, field 36 counts every free page (trunks
included). A trunk page holds:

OFFSET SIZE DESCRIPTION
     0    4 next trunk page (0: last)
     4    4 number of leaf page numbers that follow (K)
     8  4*K leaf page numbers

Allocation takes leaf 0 of the first trunk (moving the last leaf into its slot), or the
trunk itself when it has no leaves, else appends a page (skipping the lock-byte page).
Freeing adds a leaf to the first trunk while it has room for usable/4 - 8 leaves
(SQLite's limit, for compatibility with old readers), else makes the page a new trunk.
Mirrors sqlite src/btree.c (allocateBtreePage with nearby=0, freePage2).
"""

import struct

from limbodb.errors import corrupt
from limbodb.io.completion import IO, IOResult
from limbodb.storage.page_cache import Page
from limbodb.storage.header import get_field, set_field
from limbodb.storage.journal import PENDING_BYTE

_U32 = struct.Struct(">I")
_TRUNK = struct.Struct(">II")


def allocate_page(pager) -> IOResult[Page]:
    """Re-entrant: a zeroed, dirty page, from the freelist when it has one.

    Nothing changes before the only possible wait (reading the first trunk page).
    """
    page1 = pager.page1()
    hdr = page1.data
    count = get_field(hdr, "freelist_count")
    if count == 0:
        return _append_page(pager)
    trunk_pgno = get_field(hdr, "freelist_trunk")
    if count >= pager.db_size or trunk_pgno < 2 or trunk_pgno > pager.db_size:
        raise corrupt(pgno=1)
    trunk = pager.read_page(trunk_pgno)
    if trunk.__class__ is IO:
        return trunk
    nxt, k = _TRUNK.unpack_from(trunk.data, 0)
    if k > pager.usable_size // 4 - 2:
        raise corrupt(pgno=trunk_pgno)
    pager.mark_dirty(page1)
    set_field(hdr, "freelist_count", count - 1)
    if k == 0:
        set_field(hdr, "freelist_trunk", nxt)
        return _reuse(pager, trunk_pgno)
    tdata = trunk.data
    pgno = _U32.unpack_from(tdata, 8)[0]
    if pgno < 2 or pgno > pager.db_size:
        raise corrupt(pgno=trunk_pgno)
    pager.mark_dirty(trunk)
    if k > 1:
        tdata[8:12] = tdata[4 + 4 * k:8 + 4 * k]
    _U32.pack_into(tdata, 4, k - 1)
    return _reuse(pager, pgno)


def _reuse(pager, pgno):
    """A free page becomes a zeroed dirty page (its old content is never read)."""
    page = pager.cached_page(pgno)
    if page is None:
        return pager.new_page(pgno)
    pager.mark_dirty(page)
    page.data[:] = bytes(len(page.data))
    page.aux = None
    return page


def _append_page(pager):
    pgno = pager.db_size + 1
    if pgno == PENDING_BYTE // pager.page_size + 1:
        # The lock-byte page is never used; SQLite writes it as a blank page and skips it.
        pager.db_size = pgno
        pager.new_page(pgno)
        pgno += 1
    pager.db_size = pgno
    return pager.new_page(pgno)


def free_page(pager, pgno) -> IOResult[None]:
    """Re-entrant: put ``pgno`` on the freelist. Nothing changes before the trunk read."""
    if pgno < 2 or pgno > pager.db_size:
        raise corrupt(pgno=pgno)
    page1 = pager.page1()
    hdr = page1.data
    count = get_field(hdr, "freelist_count")
    trunk_pgno = get_field(hdr, "freelist_trunk") if count else 0
    if trunk_pgno:
        if trunk_pgno > pager.db_size:
            raise corrupt(pgno=1)
        trunk = pager.read_page(trunk_pgno)
        if trunk.__class__ is IO:
            return trunk
        k = _U32.unpack_from(trunk.data, 4)[0]
        if k > pager.usable_size // 4 - 2:
            raise corrupt(pgno=trunk_pgno)
        if k < pager.usable_size // 4 - 8:
            pager.mark_dirty(page1)
            pager.mark_dirty(trunk)
            set_field(hdr, "freelist_count", count + 1)
            _U32.pack_into(trunk.data, 8 + 4 * k, pgno)
            _U32.pack_into(trunk.data, 4, k + 1)
            return None
    pager.mark_dirty(page1)
    set_field(hdr, "freelist_count", count + 1)
    set_field(hdr, "freelist_trunk", pgno)
    page = _reuse(pager, pgno)
    _TRUNK.pack_into(page.data, 0, trunk_pgno, 0)
    return None
