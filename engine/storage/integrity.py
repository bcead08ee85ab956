"""PRAGMA integrity_check's B-tree and freelist checker.

Walks every tree named in ``roots`` the way sqlite's checkTreePage does (right
child first, then cells from last to first, carrying the largest allowed rowid
down so out-of-order rowids are reported at the same cell), follows overflow
chains and the freelist, checks each page's cell, freeblock and fragment
accounting, and finally reports pages no tree or freelist uses. Messages are
SQLite 3.40's texts; the caller (the pragma) prefixes "*** in database main ***"
and joins them, as sqlite does. Index key order is not checked here (SQLite
checks index contents against the table rows in the VDBE).
``check_tree`` is the structural walker the tests run after every batch.
Re-entrant: each walk is a generator kept per (pager, roots) until it finishes.
Mirrors sqlite src/btree.c (sqlite3BtreeIntegrityCheck, checkTreePage, checkList, checkRef).
"""

import struct

from limbodb.errors import CorruptError
from limbodb.io.completion import IO
from limbodb.storage.btree_page import decode_page, parse_cell, signed64, varint_end
from limbodb.storage.ondisk import (
    LEAF_HEADER, PAGE_INDEX_INTERIOR, PAGE_INDEX_LEAF, PAGE_TABLE_INTERIOR, PAGE_TABLE_LEAF, U16, U32,
    get_varint, header_size,
)
from limbodb.storage.pager import TX_WRITE
from limbodb.storage.record import compare_records

MAX_ERRORS = 100
_LARGEST_INT64 = (1 << 63) - 1
_PENDING_BYTE = 0x40000000
_TYPES = (PAGE_INDEX_INTERIOR, PAGE_TABLE_INTERIOR, PAGE_INDEX_LEAF, PAGE_TABLE_LEAF)

_PENDING = {}  # (id(pager), roots) -> unfinished check


class _Check:
    __slots__ = ("pager", "npage", "usable", "seen", "errors", "prefix")

    def __init__(self, pager, page1=None):
        self.pager = pager
        self.npage = pager.db_size
        if page1 is not None and pager.tx_state != TX_WRITE:
            # sqlite checks against btreePagecount: the header's page count when it is valid
            # (change counter == version-valid-for), which a damaged WAL commit frame cannot
            # inflate. A write transaction updates the header only when it commits.
            n = U32.unpack_from(page1, 28)[0]
            if 0 < n < self.npage and page1[24:28] == page1[92:96]:
                self.npage = n
        self.usable = pager.usable_size
        self.seen = set()
        self.errors = []
        self.prefix = ""

    def msg(self, text):
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(self.prefix + text)

    def ref(self, pgno):
        """True (and a message) if ``pgno`` is out of range or already used (checkRef)."""
        if pgno > self.npage or pgno < 1:
            self.msg("invalid page number %d" % pgno)
            return True
        if pgno in self.seen:
            self.msg("2nd reference to page %d" % pgno)
            return True
        self.seen.add(pgno)
        return False

    def read(self, pgno):
        while True:
            r = self.pager.read_page(pgno)
            if r.__class__ is not IO:
                return r
            yield r

    def check_list(self, is_freelist, pgno, expected):
        """Follow a freelist trunk chain or an overflow chain expected to hold ``expected`` pages."""
        n = expected
        nerr = len(self.errors)
        while pgno and len(self.errors) < MAX_ERRORS:
            if self.ref(pgno):
                break
            n -= 1
            page = yield from self.read(pgno)
            data = page.data
            if is_freelist:
                k = U32.unpack_from(data, 4)[0]
                if k > self.usable // 4 - 2:
                    self.msg("freelist leaf count too big on page %d" % pgno)
                    n -= 1
                else:
                    for i in range(k):
                        self.ref(U32.unpack_from(data, 8 + 4 * i)[0])
                    n -= k
            pgno = U32.unpack_from(data, 0)[0]
        if n and nerr == len(self.errors):
            what = "size" if is_freelist else "overflow list length"
            self.msg("%s is %d but should be %d" % (what, expected - n, expected))

    def check_tree_page(self, pgno, max_key, cell_prefix, v2):
        """Check the subtree at ``pgno``; returns (depth, smallest rowid seen).

        ``cell_prefix`` names the referring cell; ``v2`` is its cell index, which
        sqlite also prints while checking this page's right child.
        """
        self.prefix = cell_prefix
        if pgno == 0:
            return 0, max_key
        if self.ref(pgno):
            return 0, max_key
        page = yield from self.read(pgno)
        data = page.data
        usable = self.usable
        hdr = 100 if pgno == 1 else 0
        ptype = data[hdr]
        if ptype not in _TYPES:
            self.prefix = "Page %d: " % pgno
            self.msg("btreeInitPage() returns error code 11")
            self.prefix = cell_prefix
            return 0, max_key
        _, first_free, ncells, content, frag = LEAF_HEADER.unpack_from(data, hdr)
        content = content or 65536
        leaf = ptype >= PAGE_INDEX_LEAF
        cell_start = hdr + header_size(ptype)
        if ncells > (self.pager.page_size - 8) // 6 or cell_start + 2 * ncells > usable:
            # More cells than fit on a page (btreeInitPage's MX_CELL check).
            self.prefix = "Page %d: " % pgno
            self.msg("btreeInitPage() returns error code 11")
            self.prefix = cell_prefix
            return 0, max_key
        depth = -1
        key_can_be_equal = True
        spans = []
        coverage = True
        if not leaf:
            right = U32.unpack_from(data, hdr + 8)[0]
            self.prefix = "On tree page %d cell %d: " % (pgno, v2)
            depth, max_key = yield from self.check_tree_page(right, max_key, self.prefix, v2)
            key_can_be_equal = False
        for i in range(ncells - 1, -1, -1):
            if len(self.errors) >= MAX_ERRORS:
                break
            self.prefix = "On tree page %d cell %d: " % (pgno, i)
            pc = U16.unpack_from(data, cell_start + 2 * i)[0]
            if pc < content or pc > usable - 4:
                self.msg("Offset %d out of range %d..%d" % (pc, content, usable - 4))
                coverage = False
                continue
            size = local = ovfl = 0
            try:
                if ptype == PAGE_TABLE_INTERIOR:
                    nsize = varint_end(data, pc + 4) - pc
                else:
                    size, local_off, local, ovfl = parse_cell(data, pc, ptype, usable)
                    nsize = max(4, local_off - pc + local + (4 if ovfl else 0))
            except (IndexError, struct.error, CorruptError):
                # A cell header that runs off the page: sqlite sees the same cell overflow it.
                nsize = usable
            if pc + nsize > usable:
                self.msg("Extends off end of page")
                coverage = False
                continue
            if ptype == PAGE_TABLE_LEAF or ptype == PAGE_TABLE_INTERIOR:
                off = pc + 4 if ptype == PAGE_TABLE_INTERIOR else varint_end(data, pc)
                key = signed64(get_varint(data, off)[0])
                if (key > max_key) if key_can_be_equal else (key >= max_key):
                    self.msg("Rowid %d out of order" % key)
                max_key = key
                key_can_be_equal = False
            if ovfl:
                npages = (size - local + usable - 5) // (usable - 4)
                yield from self.check_list(False, ovfl, npages)
                self.prefix = "On tree page %d cell %d: " % (pgno, i)
            if not leaf:
                child = U32.unpack_from(data, pc)[0]
                d2, max_key = yield from self.check_tree_page(child, max_key, self.prefix, i)
                self.prefix = "On tree page %d cell %d: " % (pgno, i)
                key_can_be_equal = False
                if d2 != depth:
                    self.msg("Child page depth differs")
                    depth = d2
            else:
                spans.append((pc, pc + nsize - 1))
        self.prefix = ""
        if coverage and len(self.errors) < MAX_ERRORS:
            if not leaf:
                spans = []
                for i in range(ncells):
                    pc = U16.unpack_from(data, cell_start + 2 * i)[0]
                    spans.append((pc, pc + _cell_size(data, pc, ptype, usable) - 1))
            blk = first_free
            while blk > 0 and blk <= usable - 4:
                nxt, sz = U16.unpack_from(data, blk)[0], U16.unpack_from(data, blk + 2)[0]
                spans.append((blk, blk + sz - 1))
                if nxt and nxt <= blk + sz:
                    break
                blk = nxt
            spans.sort()
            nfrag = 0
            prev = content - 1
            overlap = False
            for a, b in spans:
                if prev >= a:
                    self.msg("Multiple uses for byte %d of page %d" % (a, pgno))
                    overlap = True
                    break
                nfrag += a - prev - 1
                prev = b
            nfrag += usable - prev - 1
            if not overlap and nfrag != frag:
                self.msg("Fragmentation of %d bytes reported as %d on page %d" % (nfrag, frag, pgno))
        self.prefix = cell_prefix
        return depth + 1, max_key


def _cell_size(data, pc, ptype, usable):
    if ptype == PAGE_TABLE_INTERIOR:
        return varint_end(data, pc + 4) - pc
    size, local_off, local, ovfl = parse_cell(data, pc, ptype, usable)
    return max(4, local_off - pc + local + (4 if ovfl else 0))


def _check_gen(pager, roots):
    if pager.db_size == 0:
        # An empty file is an empty database (sqlite says "ok" before the first write).
        return ["ok"]
    page1 = yield from _Check(pager).read(1)
    hdr = page1.data
    ck = _Check(pager, hdr)
    if ck.npage * pager.page_size > _PENDING_BYTE:
        ck.seen.add(_PENDING_BYTE // pager.page_size + 1)
    ck.prefix = "Main freelist: "
    yield from ck.check_list(True, U32.unpack_from(hdr, 32)[0], U32.unpack_from(hdr, 36)[0])
    ck.prefix = ""
    for root in roots:
        if len(ck.errors) >= MAX_ERRORS:
            break
        yield from ck.check_tree_page(root, _LARGEST_INT64, "", 0)
    for pgno in range(1, ck.npage + 1):
        if len(ck.errors) >= MAX_ERRORS:
            break
        if pgno not in ck.seen:
            ck.prefix = ""
            ck.msg("Page %d is never used" % pgno)
    return ck.errors or ["ok"]


def _tree_gen(pager, root, key_info):
    """The tree checker (BTrees check.py style) behind ``check_tree``."""
    ck = _Check(pager)
    problems = []
    entries = []
    leaf_depths = set()
    kinds = set()
    usable = ck.usable

    def payload(page, off, ptype):
        size, start, local, ovfl = parse_cell(page.data, off, ptype, usable)
        parts = [bytes(page.data[start:start + local])]
        rest = size - local
        while rest > 0:
            if not ovfl or ovfl > ck.npage:
                problems.append("page %d: overflow chain too short" % page.pgno)
                break
            opage = yield from ck.read(ovfl)
            take = min(rest, usable - 4)
            parts.append(bytes(opage.data[4:4 + take]))
            rest -= take
            ovfl = U32.unpack_from(opage.data, 0)[0]
        return b"".join(parts)

    def walk(pgno, depth, lo, hi):
        if ck.ref(pgno):
            problems.extend(ck.errors)
            del ck.errors[:]
            return
        page = yield from ck.read(pgno)
        info = decode_page(page)
        kinds.add(info.index)
        if pgno != root and info.ncells == 0:
            problems.append("page %d: non-root page with no cells" % pgno)
        if info.leaf:
            leaf_depths.add(depth)
        for i in range(info.ncells + (0 if info.leaf else 1)):
            if not info.leaf:
                clo = lo if i == 0 else info.keys[i - 1] if info.keys else None
                chi = info.keys[i] if info.keys and i < info.ncells else hi
                yield from walk(info.children[i], depth + 1, clo, chi)
                if i == info.ncells:
                    break
            if info.index:
                p = yield from payload(page, info.ptrs[i], info.ptype)
                entries.append(p)
            elif info.leaf:
                k = info.keys[i]
                if (lo is not None and k <= lo) or (hi is not None and k > hi):
                    problems.append("page %d cell %d: rowid %d outside (%s, %s]" % (pgno, i, k, lo, hi))
                entries.append(k)
            else:
                k = info.keys[i]
                if (lo is not None and k <= lo) or (hi is not None and k > hi):
                    problems.append("page %d cell %d: divider %d outside (%s, %s]" % (pgno, i, k, lo, hi))

    yield from walk(root, 0, None, None)
    if len(leaf_depths) > 1:
        problems.append("leaves at different depths: %s" % sorted(leaf_depths))
    if len(kinds) > 1:
        problems.append("table and index pages mixed")
    for i in range(1, len(entries)):
        a = entries[i - 1]
        b = entries[i]
        if key_info is None:
            bad = a.__class__ is int and b.__class__ is int and a >= b
        else:
            bad = compare_records(a, b, key_info) >= 0
        if bad:
            problems.append("entries %d and %d out of order" % (i - 1, i))
    return problems


def check_tree(pager, root, key_info=None):
    """Re-entrant: structural problems of one tree, [] when sound.

    Checks what integrity_check does not: index key order under ``key_info``
    (collations, DESC), divider rowids bounding their subtrees, equal leaf
    depth, no empty non-root page, one page kind per tree.
    """
    return _run((id(pager), root, "tree"), lambda: _tree_gen(pager, root, key_info))


def _run(key, make):
    g = _PENDING.get(key)
    if g is None:
        g = _PENDING[key] = make()
    try:
        r = g.send(None)
    except StopIteration as stop:
        del _PENDING[key]
        return stop.value
    except BaseException:
        del _PENDING[key]
        raise
    return r


def integrity_check(pager, roots):
    """Re-entrant: SQLite's integrity_check messages for the trees at ``roots``, or ["ok"]."""
    roots = list(roots)
    return _run((id(pager), tuple(roots)), lambda: _check_gen(pager, roots))
