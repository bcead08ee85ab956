"""Cell-level editing of one B-tree page: header, cell pointers, freeblocks, cells.

Owns the byte layout of a single page (fileformat2 §1.6, sqlite btreeInt.h):
the 8/12-byte page header at ``hdr`` (100 on page 1, else 0), the cell pointer
array after it, the cell content area growing down from ``content start``, the
freeblock chain (ascending offsets, each block >= 4 bytes) and the count of
fragmented bytes (free runs of 1-3 bytes). ``PageInfo`` is the decoded view the
B-tree caches in ``page.aux``; every function here that edits ``page.data``
either keeps that view exact or resets ``page.aux`` to None.
Invariant kept by every edit: content start + freeblocks + fragments + cells
account for every byte after the pointer array.
Mirrors sqlite src/btree.c (insertCell, dropCell, freeSpace, allocateSpace,
defragmentPage, decodeFlags) and Turso core/storage/btree.rs page editing.
"""

import struct
from bisect import bisect_left, bisect_right
from itertools import accumulate, repeat
from operator import sub

from limbodb.errors import corrupt
from limbodb.storage.ondisk import (
    LEAF_HEADER as _HDR, PAGE_INDEX_INTERIOR, PAGE_INDEX_LEAF, PAGE_TABLE_INTERIOR, PAGE_TABLE_LEAF,
    U16 as _U16, U32 as _U32, get_varint, header_size, local_payload_size,
)
from limbodb.storage.record import decode_record, sort_key

_FREEBLOCK = struct.Struct(">HH")  # next freeblock offset, size of this block
_PAGE_TYPES = frozenset((PAGE_INDEX_INTERIOR, PAGE_TABLE_INTERIOR, PAGE_INDEX_LEAF, PAGE_TABLE_LEAF))
_PTRS = {}  # ncells -> Struct of the cell pointer array
_NO_KEY = 1 << 30  # PageInfo.skmin before any sort key is stored
# A PageInfo.cols entry not decoded yet (or whose cell spills to overflow pages).
UNDECODED = object()


def _ptr_struct(n):
    s = _PTRS.get(n)
    if s is None:
        s = _PTRS[n] = struct.Struct(">%dH" % n)
    return s


def varint_end(data, off):
    """Offset just past the varint at ``off`` (the 9th byte of a varint is always its last)."""
    last = off + 8
    while off < last and data[off] & 0x80:
        off += 1
    return off + 1


def signed64(v):
    """A varint read as unsigned becomes SQLite's signed 64-bit rowid."""
    return v - 0x10000000000000000 if v >= 0x8000000000000000 else v


class PageInfo:
    """Decoded view of one B-tree page, cached in ``page.aux``.

    ``ptrs`` are cell offsets; ``keys`` the rowids of a table page's cells;
    ``children`` the child pgnos of an interior page (cell children then the
    right-most pointer, so ``children[ncells] == right``). ``skeys`` serves
    index search: None until the first search, False if the page cannot use
    it, else one entry per cell, its record's ``sort_key`` tuple once a probe
    needed it (``index_sort_key``) or None before; ``skmin`` the length of the
    shortest key ever stored there (searches bisect in C only when no stored key is
    shorter than theirs). ``free`` is the page's free bytes once ``free_space``
    counted them (None before), kept by each edit as SQLite keeps MemPage.nFree,
    so an edit does not walk the freeblock chain again. ``cols`` (table leaves, None
    until a scan asks, see BTreeCursor.column) maps a column number to one decoded
    value per cell or UNDECODED; insert_cell and drop_cell keep its lists aligned.
    ``fblocks`` lists the freeblocks' offsets in chain (ascending) order once the chain
    was walked (None before), kept by each edit, so freeing a cell's bytes finds its
    neighbours by bisection where SQLite's freeSpace walks the chain.
    """

    __slots__ = ("ptype", "leaf", "index", "hdr", "ncells", "ptrs", "keys", "children", "right",
                 "skeys", "skmin", "free", "cols", "fblocks")

    def __init__(self, ptype, hdr, ptrs):
        self.ptype = ptype
        self.leaf = ptype >= PAGE_INDEX_LEAF
        self.index = ptype == PAGE_INDEX_LEAF or ptype == PAGE_INDEX_INTERIOR
        self.hdr = hdr
        self.ncells = len(ptrs)
        self.ptrs = ptrs
        self.keys = None
        self.children = None
        self.right = 0
        self.skeys = None
        self.skmin = _NO_KEY
        self.free = None
        self.cols = None
        self.fblocks = None


def decode_page(page):
    """Decode ``page``'s header and cell pointers (and rowids/children) into ``page.aux``."""
    data = page.data
    pgno = page.pgno
    hdr = 100 if pgno == 1 else 0
    ptype = data[hdr]
    if ptype not in _PAGE_TYPES:
        raise corrupt(pgno=pgno)
    n = (data[hdr + 3] << 8) | data[hdr + 4]
    leaf = ptype >= PAGE_INDEX_LEAF
    start = hdr + (8 if leaf else 12)
    first_cell = start + 2 * n
    # A cell needs at least 4 bytes, and none may start inside the pointer array (btreeInitPage);
    # the content area may not start there either (btreeComputeFreeSpace).
    if first_cell > len(data) - 4 * (n > 0) or first_cell > (_U16.unpack_from(data, hdr + 5)[0] or 65536):
        raise corrupt(pgno=pgno)
    ptrs = list(_ptr_struct(n).unpack_from(data, start))
    if n and (min(ptrs) < first_cell or max(ptrs) > len(data) - 4):
        raise corrupt(pgno=pgno)
    info = PageInfo(ptype, hdr, ptrs)
    try:
        _decode_keys(info, data, ptype, hdr, ptrs, leaf)
    except IndexError:
        # A damaged cell whose varint runs off the end of the page.
        raise corrupt(pgno=pgno) from None
    page.aux = info
    return info


def _decode_keys(info, data, ptype, hdr, ptrs, leaf):
    """Fill ``info``'s rowids (table pages) and children (interior pages)."""
    if ptype == PAGE_TABLE_LEAF:
        keys = []
        append = keys.append
        for off in ptrs:
            # Skip the payload-size varint, then read the rowid; 1-3 byte rowids inline.
            off = off + 1 if data[off] < 0x80 else varint_end(data, off)
            b = data[off]
            if b < 0x80:
                append(b)
                continue
            b2 = data[off + 1]
            if b2 < 0x80:
                append(((b & 0x7F) << 7) | b2)
                continue
            b3 = data[off + 2]
            if b3 < 0x80:
                append(((b & 0x7F) << 14) | ((b2 & 0x7F) << 7) | b3)
            else:
                append(signed64(get_varint(data, off)[0]))
        info.keys = keys
    elif not leaf:
        right = _U32.unpack_from(data, hdr + 8)[0]
        info.right = right
        u32 = _U32.unpack_from
        children = [u32(data, off)[0] for off in ptrs]
        children.append(right)
        info.children = children
        if ptype == PAGE_TABLE_INTERIOR:
            keys = []
            append = keys.append
            for off in ptrs:
                b = data[off + 4]
                if b < 0x80:
                    append(b)
                else:
                    append(signed64(get_varint(data, off + 4)[0]))
            info.keys = keys


def index_sort_key(page, info, i, usable):
    """The sort_key of index cell ``i``'s record, stored in ``info.skeys``; None if it has none.

    A cell that spills to overflow pages has none (its record is not all on the page).
    """
    data = page.data
    off = info.ptrs[i]
    if info.ptype == PAGE_INDEX_INTERIOR:
        off += 4
    try:
        size = data[off]
        if size < 0x80:
            off += 1
        else:
            size, n = get_varint(data, off)
            off += n
    except IndexError:
        raise corrupt(pgno=page.pgno) from None
    if size > ((usable - 12) * 64 // 255) - 23 or off + size > usable:
        return None
    k = info.skeys[i] = sort_key(decode_record(data[off:off + size]))
    if k is not None and len(k) < info.skmin:
        info.skmin = len(k)
    return k


def parse_cell(data, off, ptype, usable):
    """(payload size, local payload offset, local size, first overflow pgno or 0) of a cell."""
    if ptype == PAGE_INDEX_INTERIOR:
        off += 4
    b = data[off]
    if b < 0x80:
        size = b
        off += 1
    else:
        size, n = get_varint(data, off)
        off += n
    if ptype == PAGE_TABLE_LEAF:
        off = varint_end(data, off)  # skip the rowid
        if size <= usable - 35:
            return size, off, size, 0
        local = local_payload_size(True, size, usable)
    else:
        local = local_payload_size(False, size, usable)
    if local >= size:
        return size, off, size, 0
    if off + local + 4 > len(data):
        raise corrupt()
    return size, off, local, _U32.unpack_from(data, off + local)[0]


def cell_size(data, off, ptype, usable):
    """Bytes the cell at ``off`` occupies in the content area (at least 4, as SQLite allocates)."""
    if ptype == PAGE_TABLE_INTERIOR:
        return varint_end(data, off + 4) - off
    size, start, local, ovfl = parse_cell(data, off, ptype, usable)
    n = start - off + local + (4 if ovfl else 0)
    return n if n >= 4 else 4


def cell_bytes(data, off, ptype, usable):
    return bytes(data[off:off + cell_size(data, off, ptype, usable)])


def cells_of(page, info, usable):
    """Every cell of the page as bytes, in order."""
    data = page.data
    ptype = info.ptype
    ptrs = info.ptrs
    hdr = info.hdr
    if ptrs and data[hdr + 1] == 0 and data[hdr + 2] == 0 and data[hdr + 7] == 0:
        # No freeblocks or fragments: the cells tile the content area, so each
        # ends where the next one (by offset) starts.
        offs = sorted(ptrs)
        if offs[0] == (_U16.unpack_from(data, hdr + 5)[0] or 65536):
            ends = dict(zip(offs, offs[1:]))
            ends[offs[-1]] = usable
            # One copy of the page, then slices of it are the cells' bytes: slicing the
            # bytearray would copy each cell twice (a bytearray, then bytes).
            whole = bytes(data)
            return [whole[off:ends[off]] for off in ptrs]
    return [cell_bytes(data, off, ptype, usable) for off in ptrs]


def free_space(data, info):
    """Free bytes on the page: gap + freeblocks + fragments (SQLite's nFree).

    Corrupt unless the freeblocks ascend inside the content area (from the content
    start) without overlapping: that keeps a damaged chain from looping or from handing
    out bytes of the header or pointer array (sqlite's btreeComputeFreeSpace checks the same).
    Counted once per decoded page, then kept in ``info.free``.
    """
    total = info.free
    if total is not None:
        return total
    hdr = info.hdr
    _, first, n, top, frag = _HDR.unpack_from(data, hdr)
    if top == 0:
        top = 65536
    blocks, sizes = _walk_chain(data, first, top)
    info.free = top - (hdr + header_size(info.ptype) + 2 * n) + frag + sizes
    info.fblocks = blocks
    return info.free


def _walk_chain(data, first, top):
    """(offsets, total size) of the freeblock chain from ``first``; corrupt unless it
    ascends inside the content area (from ``top``) without overlapping."""
    blocks = []
    total = 0
    blk = first
    end = len(data)
    unpack = _FREEBLOCK.unpack_from
    while blk:
        if blk < top or blk > end - 4:
            raise corrupt()
        nxt, sz = unpack(data, blk)
        if blk + sz > end or (nxt and nxt < blk + sz):
            raise corrupt()
        total += sz
        blocks.append(blk)
        blk = nxt
    return blocks, total


def _freeblocks(data, info):
    """``info.fblocks``, walking (and checking) the chain if it is not known yet.

    Called mid-edit (a cell's pointer already gone): so it leaves ``info.free`` alone.
    """
    blocks = info.fblocks
    if blocks is None:
        _, first, _, top, _ = _HDR.unpack_from(data, info.hdr)
        blocks = info.fblocks = _walk_chain(data, first, top or 65536)[0]
    return blocks


def capacity(hdr, ptype, usable):
    """Bytes available for cells and their pointers on an empty page."""
    return usable - hdr - header_size(ptype)


def build_page(page, ptype, cells, right, usable):
    """Rewrite ``page`` to hold exactly ``cells`` (bytes, in order): no freeblocks, no fragments.

    The caller has called ``pager.mark_dirty(page)``. Resets ``page.aux``.
    """
    data = page.data
    hdr = 100 if page.pgno == 1 else 0
    hsz = header_size(ptype)
    n = len(cells)
    # Cell 0 ends the page, cell 1 sits before it, and so on.
    ptrs = list(map(sub, repeat(usable), accumulate(map(len, cells))))
    top = ptrs[-1] if ptrs else usable
    ptr_end = hdr + hsz + 2 * n
    if ptr_end > top:
        raise corrupt("cells do not fit on page", pgno=page.pgno)
    data[top:usable] = b"".join(reversed(cells))
    _ptr_struct(n).pack_into(data, hdr + hsz, *ptrs)
    data[ptr_end:top] = bytes(top - ptr_end)
    _HDR.pack_into(data, hdr, ptype, 0, n, top & 0xFFFF, 0)
    if hsz == 12:
        _U32.pack_into(data, hdr + 8, right)
    page.aux = None


def init_page(page, ptype, usable):
    """Make ``page`` an empty B-tree page of type ``ptype``."""
    build_page(page, ptype, [], 0, usable)


def defragment(page, info, usable):
    """Pack all cells at the end of the content area (SQLite defragmentPage)."""
    right = info.right
    build_page(page, info.ptype, cells_of(page, info, usable), right, usable)


def _compact(page, info, top, first, usable):
    """Slide the cell content over every freeblock to the end of the page; returns the new top.

    Fragments stay where they lie, so the gap grows by exactly the freeblocks' bytes and
    the cells keep their order: ``page.aux`` stays exact with the pointers moved. SQLite's
    defragmentPage takes this shortcut for up to two freeblocks; a full defragment (every
    cell parsed, the page rebuilt and decoded again) is left for when fragments are needed.
    """
    data = page.data
    hdr = info.hdr
    unpack = _FREEBLOCK.unpack_from
    offs = []
    sizes = []
    pieces = []
    start = top
    blk = first
    while blk:
        nxt, sz = unpack(data, blk)
        if blk < start or blk + sz > usable or (nxt and nxt < blk + sz):
            raise corrupt(pgno=page.pgno)
        offs.append(blk)
        sizes.append(sz)
        pieces.append(data[start:blk])
        start = blk + sz
        blk = nxt
    pieces.append(data[start:usable])
    content = b"".join(pieces)
    new_top = usable - len(content)
    data[new_top:usable] = content
    data[top:new_top] = bytes(new_top - top)
    # A cell moves up by the bytes of the freeblocks after it.
    if len(offs) == 1:
        b, s = offs[0], sizes[0]
        ptrs = [p + s if p < b else p for p in info.ptrs]
    else:
        after = list(accumulate(reversed(sizes)))
        after.reverse()
        after.append(0)
        ptrs = [p + after[bisect_right(offs, p)] for p in info.ptrs]
    n = len(ptrs)
    _ptr_struct(n).pack_into(data, hdr + (8 if info.leaf else 12), *ptrs)
    info.ptrs = ptrs
    info.fblocks = []
    _HDR.pack_into(data, hdr, data[hdr], 0, n, new_top & 0xFFFF, data[hdr + 7])
    return new_top


def _allocate(page, info, nbytes, usable):
    """Offset of ``nbytes`` of content space reserved for a new cell plus 2 pointer bytes, or -1."""
    data = page.data
    hdr = info.hdr
    _, first, n, top, frag = _HDR.unpack_from(data, hdr)
    if top == 0:
        top = 65536
    ptr_end = hdr + (8 if info.leaf else 12) + 2 * n
    if first and ptr_end + 2 <= top:
        prev = hdr + 1
        blk = first
        while blk:
            nxt, sz = _FREEBLOCK.unpack_from(data, blk)
            if sz >= nbytes:
                rest = sz - nbytes
                if rest < 4:
                    if frag + rest > 60:
                        break
                    _U16.pack_into(data, prev, nxt)
                    data[hdr + 7] = frag + rest
                    if info.fblocks is not None:
                        info.fblocks.remove(blk)
                    return blk
                # Keep the front of the block free; the cell takes its tail.
                _U16.pack_into(data, blk + 2, rest)
                return blk + rest
            prev = blk
            blk = nxt
    if ptr_end + 2 + nbytes > top:
        free = free_space(data, info)
        if nbytes + 2 > free:
            return -1
        if first and nbytes + 2 <= free - frag:
            top = _compact(page, info, top, first, usable)
        else:
            defragment(page, info, usable)
            info = decode_page(page)
            top = _U16.unpack_from(data, hdr + 5)[0] or 65536
    top -= nbytes
    _U16.pack_into(data, hdr + 5, top & 0xFFFF)
    return top


def insert_cell(page, info, idx, cell, usable, rowid=None, free=None, skey=None):
    """Insert ``cell`` at position ``idx`` if it fits; return the page's PageInfo or None.

    The caller has called ``pager.mark_dirty(page)``. ``page.aux`` stays exact
    (``rowid`` saves decoding a table leaf cell's key, ``skey`` is an index
    cell's sort_key if known); ``free`` is free_space() if the caller knows it.
    """
    nbytes = len(cell)
    if nbytes < 4:
        cell = cell + bytes(4 - nbytes)
        nbytes = 4
    if nbytes + 2 > (free_space(page.data, info) if free is None else free):
        return None
    data = page.data
    hdr = info.hdr
    ptype, first, n, top, frag = _HDR.unpack_from(data, hdr)
    pstart = hdr + (8 if info.leaf else 12)
    end = pstart + 2 * n
    if not first and end + 2 + nbytes <= (top or 65536):
        # No freeblock to reuse and room in the gap (the common case): _allocate's
        # last step and both header updates in one pack.
        off = (top or 65536) - nbytes
        _HDR.pack_into(data, hdr, ptype, 0, n + 1, off & 0xFFFF, frag)
    else:
        off = _allocate(page, info, nbytes, usable)
        if off < 0:
            return None
        info = page.aux if page.aux is not None else decode_page(page)
        ptype = info.ptype
        _U16.pack_into(data, hdr + 3, n + 1)
    data[off:off + nbytes] = cell
    pos = pstart + 2 * idx
    if pos < end:
        data[pos + 2:end + 2] = data[pos:end]
    _U16.pack_into(data, pos, off)
    info.ptrs.insert(idx, off)
    info.ncells = n + 1
    if info.free is not None:
        # The cell's bytes came out of the gap or a freeblock (any tail under 4 bytes
        # left there stays free as a fragment); its pointer out of the gap.
        info.free -= nbytes + 2
    if ptype == PAGE_TABLE_LEAF:
        if rowid is None:
            rowid = signed64(get_varint(cell, varint_end(cell, 0))[0])
        info.keys.insert(idx, rowid)
        cols = info.cols
        if cols is not None:
            for values in cols.values():
                values.insert(idx, UNDECODED)
        return info
    if ptype != PAGE_INDEX_LEAF:
        info.children.insert(idx, _U32.unpack_from(cell, 0)[0])
        if ptype == PAGE_TABLE_INTERIOR:
            info.keys.insert(idx, signed64(get_varint(cell, 4)[0]))
            return info
    sk = info.skeys
    if sk.__class__ is list:
        # An unknown sort key (None) is filled when a search first probes it.
        sk.insert(idx, skey)
        if skey is not None and len(skey) < info.skmin:
            info.skmin = len(skey)
    return info


def drop_cell(page, info, idx, usable, size=None):
    """Remove cell ``idx``, returning its space to the freeblock list; returns the PageInfo.

    The caller has called ``pager.mark_dirty(page)``. ``page.aux`` stays exact.
    ``size`` is the cell's cell_size() if the caller knows it.
    """
    data = page.data
    off = info.ptrs[idx]
    ptype = info.ptype
    if size is None:
        size = cell_size(data, off, ptype, usable)
    hdr = info.hdr
    n = info.ncells
    pstart = hdr + (8 if info.leaf else 12)
    pos = pstart + 2 * idx
    end = pstart + 2 * n
    data[pos:end - 2] = data[pos + 2:end]
    data[end - 2:end] = b"\0\0"
    _U16.pack_into(data, hdr + 3, n - 1)
    _free_space_range(page, info, off, size)
    del info.ptrs[idx]
    info.ncells = n - 1
    if info.free is not None:
        info.free += size + 2
    if info.keys is not None:
        del info.keys[idx]
        cols = info.cols
        if cols is not None:
            for values in cols.values():
                del values[idx]
    if info.children is not None:
        del info.children[idx]
    sk = info.skeys
    if sk:
        del sk[idx]
    elif sk is False:
        # Unusable perhaps only because of the dropped cell: look again on demand.
        info.skeys = None
    return info


def replace_cell(page, info, idx, cell, old_size, skey=None):
    """Overwrite leaf cell ``idx`` (``old_size`` bytes, no overflow) with ``cell``; PageInfo or None.

    SQLite's btreeOverwriteCell rewrites a same-size cell in place; this also takes a
    smaller cell (its tail returns to the free list, or becomes fragment bytes when
    under 4) and a larger one that fits in the gap with no freeblock to consider (the
    old bytes are then freed). Otherwise returns None with nothing changed, and the
    caller drops and inserts. The cell keeps its key (the caller replaces an equal
    entry), so rowids and the pointer order stay; ``page.aux`` stays exact. The caller
    has called ``pager.mark_dirty(page)``; ``skey`` is an index cell's sort_key if known.
    """
    nbytes = len(cell)
    if nbytes < 4:
        cell = cell + bytes(4 - nbytes)
        nbytes = 4
    data = page.data
    hdr = info.hdr
    off = info.ptrs[idx]
    rest = old_size - nbytes
    if rest >= 4:
        data[off:off + nbytes] = cell
        _free_space_range(page, info, off + nbytes, rest)
    elif rest >= 0:
        frag = data[hdr + 7] + rest
        if frag > 60:
            return None
        data[off:off + nbytes] = cell
        data[hdr + 7] = frag
    else:
        _, first, n, top, _ = _HDR.unpack_from(data, hdr)
        top = top or 65536
        if first or hdr + 8 + 2 * n + nbytes > top:
            return None
        new = top - nbytes
        _U16.pack_into(data, hdr + 5, new & 0xFFFF)
        data[new:top] = cell
        _U16.pack_into(data, hdr + 8 + 2 * idx, new)
        info.ptrs[idx] = new
        _free_space_range(page, info, off, old_size)
    if info.free is not None:
        info.free += rest
    cols = info.cols
    if cols is not None:
        for values in cols.values():
            values[idx] = UNDECODED
    sk = info.skeys
    if sk.__class__ is list:
        sk[idx] = skey
        if skey is not None and len(skey) < info.skmin:
            info.skmin = len(skey)
    elif sk is False:
        # Unusable perhaps only because of the replaced cell: look again on demand.
        info.skeys = None
    return info


def set_child(page, info, idx, pgno):
    """Point child ``idx`` of an interior page (``ncells``: the right-most) at ``pgno``."""
    if idx == info.ncells:
        _U32.pack_into(page.data, info.hdr + 8, pgno)
        info.right = pgno
    else:
        _U32.pack_into(page.data, info.ptrs[idx], pgno)
    info.children[idx] = pgno


def _free_space_range(page, info, start, size):
    """Return [start, start+size) to the free list, merging neighbours (SQLite freeSpace).

    Finds the blocks around ``start`` in ``info.fblocks`` and writes at most two blocks,
    so a delete costs neither a walk of the chain nor a rebuild of it.
    """
    data = page.data
    hdr = info.hdr
    blocks = _freeblocks(data, info)
    _, first, n, top, frag = _HDR.unpack_from(data, hdr)
    if top == 0:
        top = 65536
    unpack = _FREEBLOCK.unpack_from
    i = bisect_left(blocks, start)
    prev = prev_sz = 0  # the last block before start, 0 if none
    if i:
        prev = blocks[i - 1]
        prev_sz = unpack(data, prev)[1]
    blk = blocks[i] if i < len(blocks) else 0
    stop = start + size
    after = blk
    absorbed = False
    if blk:
        nb, sz = unpack(data, blk)
        if blk < stop:
            raise corrupt()
        gap = blk - stop
        if gap < 4 and gap <= frag:
            # At most a fragment's worth of bytes apart: they become one block.
            frag -= gap
            size = blk + sz - start
            after = nb
            absorbed = True
    merged = False
    if prev:
        gap = start - (prev + prev_sz)
        if gap < 0:
            raise corrupt()
        if gap < 4 and gap <= frag:
            frag -= gap
            size += start - prev
            start = prev
            merged = True
    if start == first or not prev:
        gap = start - top
        if gap <= 0 or (gap < 4 and gap <= frag):
            # The first free block touches the content start: grow the gap instead.
            if gap > 0:
                frag -= gap
            _HDR.pack_into(data, hdr, data[hdr], after, n, (start + size) & 0xFFFF, frag)
            # The blocks up to the merged ones are now the gap (only prev can precede).
            del blocks[:i + absorbed]
            return
    _FREEBLOCK.pack_into(data, start, after, size)
    if not prev:
        first = start
    elif not merged:
        _U16.pack_into(data, prev, start)
    if absorbed:
        del blocks[i]
    if not merged:
        blocks.insert(i, start)
    _HDR.pack_into(data, hdr, data[hdr], first, n, top & 0xFFFF, frag)
