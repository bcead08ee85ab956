"""Corrupt input never hangs and never escapes as anything but limbodb.DatabaseError.

Databases made by sqlite3 (page sizes 1024 and 4096: indexes, a three-level index
tree, overflow chains, a freelist) are truncated, overwritten with garbage, or
attacked at one precise structure (cell pointers, cell counts, cyclic child and
overflow pointers, the freelist, payload and record header sizes). Each damaged
file goes through harness.check_case: count, scans, index lookups, integrity_check
and an INSERT+commit under a time limit; results must be right (equal to sqlite3's
when sqlite3 finds the file sound) or a DatabaseError, and the INSERT may write only
the pages of t1, i1, page 1, free pages and damaged pages. Then a seeded random
damage fuzz loop (LIMBODB_SOAK=N runs N cases instead of the default 300).
"""

import os
import random
import sqlite3

import pytest

import limbodb

from . import pages as P
from .harness import QUERIES, check_case, make_db, probe

SOAK = int(os.environ.get("LIMBODB_SOAK", "0"))
FUZZ_CASES = SOAK or 300


class Base:
    """One pristine database and where its structures are."""

    def __init__(self, directory, page_size):
        self.data = make_db(str(directory), page_size)
        self.ps = page_size
        con = sqlite3.connect(os.path.join(str(directory), f"base{page_size}.db"))
        self.roots = dict(con.execute("SELECT name, rootpage FROM sqlite_schema"))
        con.close()
        self.trees = {name: P.tree_pages(self.data, root) for name, root in self.roots.items()}
        used = {pgno for pages in self.trees.values() for pgno, _ in pages}
        self.chains = P.overflow_chains(self.data, used)
        self.trunks = P.freelist_trunks(self.data)
        # An INSERT into t1 may change t1's and i1's trees, page 1 and free pages, nothing else.
        self.writable = ({pgno for name in ("t1", "i1") for pgno, _ in self.trees[name]}
                         | {1} | set(P.freelist(self.data)))

    def first_leaf(self, name):
        return next(p for p, _ in self.trees[name] if P.header(self.data, p)[0] in (10, 13))

    def interiors(self, name):
        return [(p, d) for p, d in self.trees[name] if P.header(self.data, p)[0] in (2, 5)]


@pytest.fixture(scope="module", params=[1024, 4096])
def base(request, tmp_path_factory):
    return Base(tmp_path_factory.mktemp(f"base{request.param}"), request.param)


def _put(data, off, raw):
    data[off:off + len(raw)] = raw


def _garbage(b, data, pgno, start=0):
    rng = random.Random(pgno)
    off = P.page(data, pgno)
    _put(data, off + start, rng.randbytes(b.ps - start))


def _set_child(data, pgno, i, child):
    _, n, ptrs, _ = P.header(data, pgno)
    hdr = P.page(data, pgno) + (100 if pgno == 1 else 0)
    _put(data, ptrs[i] if i < n else hdr + 8, P.U32.pack(child))


def _cell0(b, data, name):
    return P.header(data, b.first_leaf(name))[2][0]


ATTACKS = {
    "truncated_to_50_bytes": lambda b, d: d[:50],
    "truncated_to_one_page": lambda b, d: d[:b.ps],
    "truncated_mid_page": lambda b, d: d[:len(d) // 2 + b.ps // 3],
    "truncated_at_a_page_boundary": lambda b, d: d[:(len(d) // b.ps // 2) * b.ps],
    "last_page_missing": lambda b, d: d[:-b.ps],
    "garbage_table_leaf": lambda b, d: _garbage(b, d, b.first_leaf("t1")),
    "garbage_table_interior": lambda b, d: _garbage(b, d, b.roots["t1"]),
    "garbage_index_interior": lambda b, d: _garbage(b, d, b.interiors("i3")[-1][0]),
    "garbage_overflow_page": lambda b, d: _garbage(b, d, b.chains[0][-1]),
    "garbage_first_overflow_page": lambda b, d: _garbage(b, d, b.chains[1][0]),
    "garbage_freelist_trunk": lambda b, d: _garbage(b, d, b.trunks[0]),
    "garbage_page1_after_header": lambda b, d: _garbage(b, d, 1, 100),
    "zeroed_table_leaf": lambda b, d: _put(d, P.page(d, b.first_leaf("t1")), bytes(b.ps)),
    "zeroed_index_root": lambda b, d: _put(d, P.page(d, b.roots["i3"]), bytes(b.ps)),
    "cell_pointer_beyond_page": lambda b, d: _put(d, P.page(d, b.first_leaf("t1")) + 8, b"\xff\xf0"),
    "cell_pointer_into_header": lambda b, d: _put(d, P.page(d, b.first_leaf("t1")) + 8, b"\x00\x02"),
    "cell_pointer_at_page_end": lambda b, d: _put(d, P.page(d, b.first_leaf("t1")) + 8,
                                                  P.U16.pack(b.ps - 4)),
    "cell_count_huge_leaf": lambda b, d: _put(d, P.page(d, b.first_leaf("t1")) + 3, b"\xff\xff"),
    "cell_count_huge_interior": lambda b, d: _put(d, P.page(d, b.roots["t1"]) + 3, b"\xff\xff"),
    "cell_count_huge_index": lambda b, d: _put(d, P.page(d, b.first_leaf("i3")) + 3, b"\x7f\xff"),
    "interior_points_to_itself": lambda b, d: _set_child(d, b.roots["t1"], 0, b.roots["t1"]),
    "interior_right_child_is_itself": lambda b, d: _set_child(d, b.roots["i3"], 99999, b.roots["i3"]),
    "interior_points_to_its_ancestor": lambda b, d: _set_child(
        d, max(b.interiors("i3"), key=lambda pd: pd[1])[0], 0, b.roots["i3"]),
    "child_pointer_zero": lambda b, d: _set_child(d, b.roots["t1"], 1, 0),
    "child_pointer_beyond_file": lambda b, d: _set_child(d, b.roots["t1"], 1, 10 ** 6),
    "child_pointer_to_index_page": lambda b, d: _set_child(d, b.roots["t1"], 0, b.first_leaf("i3")),
    "child_pointer_to_page_1": lambda b, d: _set_child(d, b.roots["t3"], 0, 1),
    "two_parents_share_a_child": lambda b, d: _set_child(
        d, b.roots["t1"], 1, P.children(d, b.roots["t1"])[0]),
    "overflow_chain_loops_back": lambda b, d: _put(d, P.page(d, b.chains[0][-1]), P.U32.pack(b.chains[0][0])),
    "overflow_page_points_to_itself": lambda b, d: _put(d, P.page(d, b.chains[2][0]),
                                                        P.U32.pack(b.chains[2][0])),
    "overflow_pointer_beyond_file": lambda b, d: _put(d, P.page(d, b.chains[3][-1]), P.U32.pack(10 ** 6)),
    "freelist_trunk_cycle": lambda b, d: _put(d, P.page(d, b.trunks[0]), P.U32.pack(b.trunks[0])),
    "freelist_leaf_beyond_file": lambda b, d: _put(d, P.page(d, b.trunks[0]) + 8, P.U32.pack(10 ** 6)),
    "freelist_leaf_is_a_live_page": lambda b, d: _put(d, P.page(d, b.trunks[0]) + 8, P.U32.pack(b.roots["t2"])),
    "freelist_leaf_count_huge": lambda b, d: _put(d, P.page(d, b.trunks[0]) + 4, P.U32.pack(10 ** 6)),
    "freelist_count_huge": lambda b, d: _put(d, 36, P.U32.pack(10 ** 6)),
    "freelist_trunk_beyond_file": lambda b, d: _put(d, 32, P.U32.pack(10 ** 6)),
    "database_size_huge": lambda b, d: _put(d, 28, P.U32.pack(10 ** 6)),
    "payload_size_negative": lambda b, d: _put(d, _cell0(b, d, "t1"), b"\xff" * 9 + b"\x01"),
    "payload_size_huge": lambda b, d: _put(d, _cell0(b, d, "t1"), b"\xbf\xff\xff\xff\x7f"),
    "payload_size_just_past_local": lambda b, d: _put(d, _cell0(b, d, "t2"), b"\x87\x68"),
    "index_payload_size_huge": lambda b, d: _put(d, _cell0(b, d, "i1"), b"\x8f\xff\xff\x7f"),
    "record_header_larger_than_payload": lambda b, d: _put(d, _cell0(b, d, "t2") + 2, b"\x7f"),
    "record_header_size_varint_huge": lambda b, d: _put(d, _cell0(b, d, "t2") + 2, b"\xff\xff\x7f"),
    "record_serial_type_past_payload": lambda b, d: _put(d, _cell0(b, d, "t2") + 3, b"\x7f"),
    "record_reserved_serial_type": lambda b, d: _put(d, _cell0(b, d, "t2") + 3, b"\x0a"),
    "page_type_unknown": lambda b, d: _put(d, P.page(d, b.first_leaf("t2")), b"\x07"),
    "leaf_marked_interior": lambda b, d: _put(d, P.page(d, b.first_leaf("t1")), b"\x05"),
    "interior_marked_leaf": lambda b, d: _put(d, P.page(d, b.roots["t1"]), b"\x0d"),
    "freeblock_chain_cycle": lambda b, d: _put(d, P.page(d, b.first_leaf("t1")) + 1,
                                               P.U16.pack(b.ps - 40)) or _put(
        d, P.page(d, b.first_leaf("t1")) + b.ps - 40, P.U16.pack(b.ps - 40) + b"\x00\x08"),
    "content_start_inside_pointer_array": lambda b, d: _put(d, P.page(d, b.first_leaf("t1")) + 5, b"\x00\x09"),
    "page_size_field_invalid": lambda b, d: _put(d, 16, b"\x03\x00"),
    "bad_magic": lambda b, d: _put(d, 0, b"SQLite format 4\x00"),
    "text_encoding_utf16": lambda b, d: _put(d, 56, P.U32.pack(2)),
    "reserved_bytes_huge": lambda b, d: _put(d, 20, b"\xff"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_damaged_database_gives_results_or_database_error(base, attack, tmp_path):
    data = bytearray(base.data)
    damaged = ATTACKS[attack](base, data)
    if damaged is None:
        damaged = data
    assert bytes(damaged) != base.data
    check_case(str(tmp_path), {"t1.db": bytes(damaged)}, base.writable)


def test_pristine_database_matches_sqlite(base, tmp_path):
    out = check_case(str(tmp_path), {"t1.db": base.data}, base.writable)
    assert out[-1] == "inserted" and len(out) == len(QUERIES) + 1


def test_cyclic_child_pointer_is_reported_as_malformed(base):
    data = bytearray(base.data)
    ATTACKS["interior_points_to_itself"](base, data)
    out, _ = probe({"t1.db": bytes(data)})
    scan = out[QUERIES.index("SELECT * FROM t1")]
    assert isinstance(scan, limbodb.DatabaseError)
    assert "malformed" in str(scan)


def test_random_damage_fuzz(base, tmp_path):
    """Seeded damage: byte flips over up to three pages, a page header byte, or a 4-byte pointer."""
    rng = random.Random(base.ps)
    npages = len(base.data) // base.ps
    for _ in range(FUZZ_CASES // 2):
        data = bytearray(base.data)
        mode = rng.random()
        if mode < 0.5:
            hit = {rng.randrange(1, npages + 1) for _ in range(rng.randint(1, 3))}
            for pgno in hit:
                for _ in range(rng.randint(1, 12)):
                    off = rng.randrange(100 if pgno == 1 else 0, base.ps)
                    data[P.page(data, pgno) + off] = rng.randrange(256)
        elif mode < 0.8:
            pgno = rng.randrange(2, npages + 1)
            hit = {pgno}
            data[P.page(data, pgno) + rng.randrange(12)] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        else:
            pgno = rng.randrange(2, npages + 1)
            hit = {pgno}
            off = P.page(data, pgno) + rng.randrange(base.ps - 4)
            target = rng.choice([0, 1, 2, pgno, npages, npages + 1, 2 ** 31])
            data[off:off + 4] = P.U32.pack(target)
        check_case(str(tmp_path), {"t1.db": bytes(data)}, base.writable | hit)


def test_integrity_check_of_an_empty_file_is_ok():
    # A zero-length file is an empty database, for sqlite3 too; there is no page 1 to refer to.
    out, _ = probe({"t1.db": b""})
    assert out[QUERIES.index("PRAGMA integrity_check")] == [("ok",)]
