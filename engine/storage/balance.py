"""Rebalancing B-tree pages: redistribute cells among siblings, grow and shrink the root.

``balance`` takes the path from the root to a changed page and the new content
of the changed levels (``Node``: cells as bytes), and works up: a page that
overflows or is less than a third full shares cells with up to two siblings
(sqlite's balance_nonroot, or balance_quick for an append at the right edge),
which changes its parent's dividers. A split left by an overflow leaves every page
at most ``SPLIT_FILL`` full (see there); the root moves its content to a new child
when it overflows (balance_deeper) and takes its only child's content when it
fits (balance_shallower), so the root pgno never changes. Every read and page
allocation happens first (the generator yields IO); only then are pages
written, each rebuilt from its cell list, or, for a parent whose dividers
alone changed, edited in place. Freed pgnos are returned for the caller to free.
Index pages keep the cached sort keys of their cells across the rebuild (each
Node carries them in a list beside its cells), so the next searches need not
decode every record again.
Mirrors sqlite src/btree.c (balance, balance_nonroot, balance_deeper, balance_quick).
"""

from bisect import bisect_right
from functools import partial
from itertools import accumulate, repeat
from operator import add, is_not

from limbodb.errors import corrupt, invariant
from limbodb.io.completion import IO
from limbodb.storage.btree_page import (
    build_page, capacity, cell_bytes, cell_size, cells_of, decode_page, drop_cell, free_space,
    insert_cell, set_child, signed64, varint_end,
)
from limbodb.storage.ondisk import (
    PAGE_INDEX_INTERIOR, PAGE_INDEX_LEAF, PAGE_TABLE_INTERIOR, PAGE_TABLE_LEAF, U32, get_varint,
    put_varint,
)

_pack_u32 = U32.pack
_known = partial(is_not, None)  # a sort key that is known (not None), tested in C


# Pages made by splitting an overflowing page are filled to at most this fraction of
# their capacity. SQLite packs them full, which is cheap in C; here a balance copies
# and re-lays hundreds of cells in Python, and brim-full pages make the next insert
# into any of them balance again (random index inserts balanced once per ~40 inserts
# at 1.0, once per ~270 at 0.9, for ~9% more pages).
SPLIT_FILL = 0.9


def underfull(used, cap, usable):
    """SQLite balances a page after a delete when more than 2/3 of it is free."""
    return cap - used > usable * 2 // 3


class Node:
    """A page's new content during a mutation: cells (bytes, in order) and right child.

    On an index, ``keys`` holds each cell's sort key (None where not known), in
    step with ``cells``; on a table it is None.
    A parent that only has some dividers replaced starts lazy (``cells`` None,
    ``edit`` = (first, last, dividers, their keys, pgno of child first+len(dividers))):
    if the edit fits, the write phase applies it in place instead of rebuilding a
    page of hundreds of cells.
    """

    __slots__ = ("page", "ptype", "cells", "keys", "right", "edit")

    def __init__(self, page, ptype, cells, right, keys=None):
        self.page = page
        self.ptype = ptype
        self.cells = cells
        self.keys = keys
        self.right = right
        self.edit = None

    def used(self):
        cells = self.cells
        return sum(map(len, cells)) + 2 * len(cells)

    def materialize(self, usable):
        """Turn a lazy node into its full cell list (with the edit applied)."""
        page = self.page
        info = page.aux or decode_page(page)
        self.cells = cells = cells_of(page, info, usable)
        keys = self.keys = _page_keys(info)
        if self.edit is not None:
            first, last, dividers, div_keys, child = self.edit
            self.edit = None
            cells[first:last] = dividers
            if keys is not None:
                keys[first:last] = div_keys
            pos = first + len(dividers)
            if pos < len(cells):
                cells[pos] = _pack_u32(child) + cells[pos][4:]
            else:
                self.right = child

    def edit_in_place(self, usable):
        """Write phase of a lazy node: replace its dividers in the page itself."""
        page = self.page
        info = page.aux or decode_page(page)
        first, last, dividers, div_keys, child = self.edit
        for _ in range(last - first):
            info = drop_cell(page, info, first, usable)
        for j, d in enumerate(dividers):
            info = insert_cell(page, info, first + j, d, usable, None, None,
                               None if div_keys is None else div_keys[j])
            invariant(info is not None, "a divider that was measured to fit does not")
        set_child(page, info, first + len(dividers), child)

    def install_keys(self):
        """After the page was rebuilt from ``cells``: give its fresh PageInfo the known keys."""
        keys = self.keys
        if keys is not None and keys.count(None) < len(keys):
            page = self.page
            info = page.aux or decode_page(page)
            info.skeys = keys
            info.skmin = min(map(len, filter(_known, keys)))


def _page_keys(info):
    """A fresh list of the sort keys known of an index page's cells; None for a table page."""
    sk = info.skeys
    if sk.__class__ is list:
        return sk[:]
    if info.index:
        return [None] * info.ncells
    return None


def node_of(page, usable):
    """A Node holding ``page``'s current cells (and, on an index, their known sort keys)."""
    info = page.aux or decode_page(page)
    return Node(page, info.ptype, cells_of(page, info, usable), info.right, _page_keys(info))


def _lazy_node(page):
    info = page.aux or decode_page(page)
    return Node(page, info.ptype, None, info.right)


def _lazy_fit(node, cap, usable):
    """(bytes used, cell count) of a lazy node's page once its edit is applied."""
    page = node.page
    info = page.aux or decode_page(page)
    data = page.data
    first, last, dividers, _, _ = node.edit
    ptype = info.ptype
    removed = sum([cell_size(data, info.ptrs[i], ptype, usable) + 2 for i in range(first, last)])
    added = sum([(len(d) if len(d) > 4 else 4) + 2 for d in dividers])
    return cap - free_space(data, info) - removed + added, info.ncells - (last - first) + len(dividers)


def load(pager, pgno):
    """Generator: page ``pgno``, yielding IO until the pager has it."""
    while True:
        r = pager.read_page(pgno)
        if r.__class__ is not IO:
            return r
        yield r


def allocate(pager):
    """Generator: a new page from the pager, yielding IO until it has one."""
    while True:
        r = pager.allocate_page()
        if r.__class__ is not IO:
            return r
        yield r


def free(pager, pgno):
    """Generator: put ``pgno`` on the freelist, yielding IO while the pager waits."""
    while True:
        r = pager.free_page(pgno)
        if r.__class__ is not IO:
            return
        yield r


def overflow_chain(pager, first):
    """Generator: the pgnos of the overflow chain starting at ``first``."""
    out = []
    pgno = first
    while pgno:
        if pgno > pager.db_size or pgno in out:
            raise corrupt(pgno=pgno)
        out.append(pgno)
        page = yield from load(pager, pgno)
        pgno = U32.unpack_from(page.data, 0)[0]
    return out


def _table_leaf_rowid(cell):
    return signed64(get_varint(cell, varint_end(cell, 0))[0])


def _distribute(sizes, cap, consume, split):
    """Split items (sizes include the 2-byte pointer) into the fewest pages that hold them.

    Returns (start, end) runs. With ``consume`` the item after each run but the
    last moves up to the parent as the divider. Runs are balanced by size, each
    non-empty and within ``cap``. With ``split`` (an overflow is being resolved)
    there are, where the items allow, enough runs to fill none beyond ``SPLIT_FILL``.
    """
    n = len(sizes)
    if n == 0:
        return [(0, 0)]
    # ends[i]: bytes of the items before item i; mids[i]: twice the offset of item i's
    # middle. Both ascend, so each run's end is found by bisection, not item by item.
    ends = list(accumulate(sizes, initial=0))
    mids = list(map(add, ends, ends[1:]))
    total = ends[-1]
    k = max(1, -(-total // cap))
    if split:
        roomy = -(-total // int(cap * SPLIT_FILL))
        # Too few items (or dividers) for that many pages: then the fewest will do.
        plan = _try_split(n, cap, consume, roomy, ends, mids) if roomy > k else None
        if plan is not None:
            return plan
    while True:
        plan = _try_split(n, cap, consume, k, ends, mids)
        if plan is not None:
            return plan
        k += 1
        if k > n:
            raise corrupt("cells too large to balance")


def _try_split(n, cap, consume, k, ends, mids):
    """``k`` runs, or None if the items do not make that many within ``cap``.

    Run j takes items while they fit ``cap`` and their middles lie before (j+1)/k of
    the total (its first item always, if it fits).
    """
    step = 2 if consume else 1
    total = ends[-1]
    target = total / k
    plan = []
    i = 0
    for j in range(k - 1):
        start = i
        # Leave at least one item per remaining page (and one divider before each).
        limit = n - (k - 1 - j) * step
        if limit <= start:
            return None
        fit = bisect_right(ends, ends[start] + cap) - 1
        half = bisect_right(mids, 2 * (target * (j + 1)), start + 1)
        i = min(limit, fit, half)
        if i <= start:
            return None
        plan.append((start, i))
        if consume:
            i += 1
    if i >= n or total - ends[i] > cap:
        return None
    plan.append((i, n))
    return plan


def balance(pager, is_index, pages, idxs, nodes, append):
    """Generator: rebalance from the deepest changed node up, then write every page.

    ``pages`` is the path root..node, ``idxs[l]`` the child index taken at level l,
    ``nodes`` the new content of changed levels; ``append`` says the change added a
    cell at the end of the right-most leaf (split it off alone: balance_quick, which
    SQLite does for tables only; on an index leaf the cell before it becomes the
    divider, so ascending inserts such as CREATE INDEX leave full pages behind).
    Returns the pgnos to free. All reads and allocations happen before the first
    page is written. On an index every node of ``nodes`` carries its cells' ``keys``.
    """
    usable = pager.usable_size
    writes = {}
    freed = []
    level = max(nodes)
    while level >= 0:
        node = nodes.get(level)
        if node is None:
            level -= 1
            continue
        writes[node.page.pgno] = node
        pgno = node.page.pgno
        hdr = 100 if pgno == 1 else 0
        leaf = node.ptype >= PAGE_INDEX_LEAF
        cap = capacity(hdr, node.ptype, usable)
        if node.cells is None:
            used, ncells = _lazy_fit(node, cap, usable)
            if used <= cap and ncells and (level == 0 or not underfull(used, cap, usable)):
                level -= 1
                continue
            node.materialize(usable)
        used = node.used()
        if level == 0:
            if used > cap:
                # balance_deeper: the root's content moves to a new child.
                child_page = yield from allocate(pager)
                child = Node(child_page, node.ptype, node.cells, node.right, node.keys)
                node.ptype = PAGE_INDEX_INTERIOR if is_index else PAGE_TABLE_INTERIOR
                node.cells = []
                if is_index:
                    node.keys = []
                node.right = child_page.pgno
                pages.insert(1, child_page)
                idxs.insert(0, 0)
                nodes = {k + 1: v for k, v in nodes.items()}
                nodes[0] = node
                nodes[1] = child
                writes[child_page.pgno] = child
                level = 1
                continue
            if not leaf and not node.cells:
                # balance_shallower: the root takes its only child's content if it fits.
                cpg = node.right
                child = writes.get(cpg)
                if child is None:
                    cpage = yield from load(pager, cpg)
                    child = node_of(cpage, usable)
                if child.used() <= cap:
                    node.ptype = child.ptype
                    node.cells = child.cells
                    node.keys = child.keys
                    node.right = child.right
                    writes.pop(cpg, None)
                    freed.append(cpg)
                    continue
            break
        if used <= cap and node.cells and not underfull(used, cap, usable):
            level -= 1
            continue
        parent = nodes.get(level - 1)
        if parent is None:
            parent = nodes[level - 1] = _lazy_node(pages[level - 1])
        pinfo = None
        if parent.cells is None:
            pinfo = parent.page.aux or decode_page(parent.page)
            pcells = None
            nchild = pinfo.ncells + 1
        else:
            pcells = parent.cells
            nchild = len(pcells) + 1
        pidx = idxs[level - 1]
        if append and used > cap:
            first = last = pidx
        elif nchild == 1:
            first = last = 0
        else:
            first = max(0, min(pidx - 1, nchild - 3))
            last = min(nchild - 1, first + 2)
        sibs = []
        divs = []
        if not is_index:
            div_keys = None
        elif pinfo is None:
            div_keys = parent.keys[first:last]
        else:
            sk = pinfo.skeys
            div_keys = sk[first:last] if sk.__class__ is list else [None] * (last - first)
        for j in range(first, last + 1):
            if j < last:
                if pinfo is None:
                    divs.append(pcells[j])
                else:
                    divs.append(cell_bytes(parent.page.data, pinfo.ptrs[j], pinfo.ptype, usable))
            if j == pidx:
                sibs.append(node)
                continue
            if pinfo is not None:
                cpg = pinfo.children[j]
            else:
                cpg = parent.right if j == len(pcells) else U32.unpack_from(pcells[j], 0)[0]
            sib = writes.get(cpg)
            if sib is None:
                spage = yield from load(pager, cpg)
                sib = node_of(spage, usable)
            if sib.ptype != node.ptype:
                raise corrupt(pgno=cpg)
            sibs.append(sib)
        ptype = node.ptype
        items = []
        # On an index, item_keys[i] is the sort key of items[i] (a divider keeps its record's).
        item_keys = [] if is_index else None
        for k, sib in enumerate(sibs):
            items.extend(sib.cells)
            if is_index:
                item_keys.extend(sib.keys)
            if k < len(sibs) - 1:
                div = divs[k]
                if ptype == PAGE_INDEX_LEAF:
                    item = div[4:]
                elif not leaf:
                    item = _pack_u32(sib.right) + div[4:]
                else:
                    continue
                items.append(item)
                if is_index:
                    item_keys.append(div_keys[k])
        right_final = sibs[-1].right
        scap = capacity(0, ptype, usable)
        n = len(items)
        if append and used > cap and (ptype == PAGE_TABLE_LEAF or n > 2):
            plan = [(0, n - 1), (n - 1, n)] if ptype == PAGE_TABLE_LEAF else [(0, n - 2), (n - 1, n)]
        else:
            # Cell sizes plus their 2-byte pointers, counted in C (a balance moves hundreds).
            plan = _distribute(list(map(add, map(len, items), repeat(2))), scap, ptype != PAGE_TABLE_LEAF,
                               used > cap)
        append = False
        avail = [s.page for s in sibs]
        while len(avail) < len(plan):
            pg = yield from allocate(pager)
            avail.append(pg)
        for pg in avail[len(plan):]:
            writes.pop(pg.pgno, None)
            freed.append(pg.pgno)
        dividers = []
        new_div_keys = [] if is_index else None
        for j, (s, e) in enumerate(plan):
            pg = avail[j]
            cells = items[s:e]
            right = 0
            if not leaf:
                right = U32.unpack_from(items[e], 0)[0] if j < len(plan) - 1 else right_final
            writes[pg.pgno] = Node(pg, ptype, cells, right, item_keys[s:e] if is_index else None)
            if j < len(plan) - 1:
                if ptype == PAGE_TABLE_LEAF:
                    dividers.append(_pack_u32(pg.pgno) + put_varint(_table_leaf_rowid(cells[-1])))
                    continue
                if leaf:
                    div = _pack_u32(pg.pgno) + items[e]
                else:
                    div = _pack_u32(pg.pgno) + items[e][4:]
                dividers.append(div)
                if is_index:
                    new_div_keys.append(item_keys[e])
        lastpg = avail[len(plan) - 1].pgno
        if pcells is None:
            parent.edit = (first, last, dividers, new_div_keys, lastpg)
        else:
            pcells[first:last] = dividers
            if is_index:
                parent.keys[first:last] = new_div_keys
            pos = first + len(dividers)
            if pos < len(pcells):
                pcells[pos] = _pack_u32(lastpg) + pcells[pos][4:]
            else:
                parent.right = lastpg
        level -= 1
    for node in writes.values():
        page = node.page
        pager.mark_dirty(page)
        if node.cells is None:
            node.edit_in_place(usable)
        else:
            build_page(page, node.ptype, node.cells, node.right, usable)
            node.install_keys()
    return freed
