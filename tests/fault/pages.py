"""A small independent reader of SQLite page layout, to aim the damage in the corrupt-input tests.

Deliberately separate from limbodb's storage code: the tests must locate pages
with their own reading of the file format, not with the code under test.
"""

import struct

U16 = struct.Struct(">H")
U32 = struct.Struct(">I")


def page_size(data):
    ps = U16.unpack_from(data, 16)[0]
    return 65536 if ps == 1 else ps


def page(data, pgno):
    ps = page_size(data)
    return (pgno - 1) * ps


def header(data, pgno):
    """(type, ncells, cell pointer offsets (absolute), right child or None) of b-tree page ``pgno``."""
    base = page(data, pgno)
    hdr = base + (100 if pgno == 1 else 0)
    ptype = data[hdr]
    n = U16.unpack_from(data, hdr + 3)[0]
    interior = ptype in (2, 5)
    start = hdr + (12 if interior else 8)
    ptrs = [base + U16.unpack_from(data, start + 2 * i)[0] for i in range(n)]
    right = U32.unpack_from(data, hdr + 8)[0] if interior else None
    return ptype, n, ptrs, right


def children(data, pgno):
    ptype, n, ptrs, right = header(data, pgno)
    if right is None:
        return []
    return [U32.unpack_from(data, p)[0] for p in ptrs] + [right]


def tree_pages(data, root):
    """Every b-tree page under ``root`` as (pgno, depth), root first (depth-first)."""
    out = []
    stack = [(root, 0)]
    while stack:
        pgno, depth = stack.pop()
        out.append((pgno, depth))
        stack.extend((c, depth + 1) for c in reversed(children(data, pgno)))
    return out


def overflow_chains(data, tree_pgnos):
    """Overflow chains (lists of pgnos) of the pages that are neither b-tree nor freelist pages."""
    ps = page_size(data)
    npages = len(data) // ps
    free = set(freelist(data))
    others = [p for p in range(2, npages + 1) if p not in tree_pgnos and p not in free]
    nxt = {p: U32.unpack_from(data, page(data, p))[0] for p in others}
    heads = set(others) - set(nxt.values())
    chains = []
    for h in sorted(heads):
        chain = [h]
        while nxt.get(chain[-1]):
            chain.append(nxt[chain[-1]])
        chains.append(chain)
    return chains


def freelist(data):
    """Every freelist page, trunks first in chain order, then their leaves."""
    trunk = U32.unpack_from(data, 32)[0]
    trunks, leaves = [], []
    while trunk and trunk not in trunks:
        trunks.append(trunk)
        base = page(data, trunk)
        k = U32.unpack_from(data, base + 4)[0]
        leaves.extend(U32.unpack_from(data, base + 8 + 4 * i)[0] for i in range(k))
        trunk = U32.unpack_from(data, base)[0]
    return trunks + leaves


def freelist_trunks(data):
    trunk = U32.unpack_from(data, 32)[0]
    out = []
    while trunk and trunk not in out:
        out.append(trunk)
        trunk = U32.unpack_from(data, page(data, trunk))[0]
    return out
