"""Damaged -wal files left beside a sound database: recovery keeps only valid frames.

sqlite3 makes a database in WAL mode with several committed transactions still in
the -wal (no checkpoint). The WAL is then damaged: a bad frame checksum or salt
(recovery stops before that frame), a bad header, a torn tail, and frames with
valid checksums that name page 0, a page far beyond the database, or a huge
database size. harness.check_case opens each pair with limbodb and requires
sqlite3's results (when sqlite3 finds the pair sound) or a DatabaseError.
"""

import os
import shutil
import sqlite3
import struct

import pytest

from .harness import PATH, check_case, make_db

WAL_HEADER = 32
FRAME_HEADER = 24


@pytest.fixture(scope="module", params=[1024, 4096])
def pair(request, tmp_path_factory):
    """(db bytes, wal bytes, page size) with five transactions in the WAL."""
    d = tmp_path_factory.mktemp(f"wal{request.param}")
    make_db(str(d), request.param)
    path = os.path.join(str(d), "w.db")
    shutil.copy(os.path.join(str(d), f"base{request.param}.db"), path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    for i in range(5):
        con.execute("INSERT INTO t1(b, c) VALUES(?, ?)", (f"w{i}", bytes(3000 * i)))
        con.execute("UPDATE t2 SET y = y || ? WHERE x % 5 = ?", (str(i), i))
        con.commit()
    with open(path, "rb") as f:
        db = f.read()
    with open(path + "-wal", "rb") as f:
        wal = f.read()
    con.close()
    return db, wal, request.param


def _checksum(data, big, s1=0, s2=0):
    fmt = ">" if big else "<"
    words = struct.unpack(f"{fmt}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s1 = (s1 + words[i] + s2) & 0xFFFFFFFF
        s2 = (s2 + words[i + 1] + s1) & 0xFFFFFFFF
    return s1, s2


def _reseal(wal, ps):
    """Recompute the header checksum and every frame's cumulative checksum."""
    wal = bytearray(wal)
    big = wal[3] == 0x83
    s = _checksum(bytes(wal[:24]), big)
    struct.pack_into(">II", wal, 24, *s)
    off = WAL_HEADER
    while off + FRAME_HEADER + ps <= len(wal):
        s = _checksum(bytes(wal[off:off + 8]), big, *s)
        s = _checksum(bytes(wal[off + FRAME_HEADER:off + FRAME_HEADER + ps]), big, *s)
        struct.pack_into(">II", wal, off + 16, *s)
        off += FRAME_HEADER + ps
    return bytes(wal)


def _frame(ps, k):
    return WAL_HEADER + k * (FRAME_HEADER + ps)


def _flip(wal, off):
    wal = bytearray(wal)
    wal[off] ^= 0x55
    return bytes(wal)


def _put(wal, off, raw):
    wal = bytearray(wal)
    wal[off:off + len(raw)] = raw
    return bytes(wal)


def _nframes(wal, ps):
    return (len(wal) - WAL_HEADER) // (FRAME_HEADER + ps)


ATTACKS = {
    "frame_checksum_bad": lambda w, ps: _flip(w, _frame(ps, 3) + 16),
    "frame_data_flipped": lambda w, ps: _flip(w, _frame(ps, 2) + FRAME_HEADER + ps // 2),
    "last_frame_data_flipped": lambda w, ps: _flip(w, _frame(ps, _nframes(w, ps) - 1) + FRAME_HEADER + 7),
    "frame_salt_bad": lambda w, ps: _flip(w, _frame(ps, 4) + 8),
    "header_checksum_bad": lambda w, ps: _flip(w, 24),
    "header_magic_bad": lambda w, ps: _put(w, 0, b"\x37\x7f\x06\x99"),
    "header_page_size_bad": lambda w, ps: _reseal(_put(w, 8, struct.pack(">I", 3000)), ps),
    "header_page_size_other": lambda w, ps: _reseal(_put(w, 8, struct.pack(">I", 512 if ps != 512 else 1024)), ps),
    "header_version_bad": lambda w, ps: _reseal(_put(w, 4, struct.pack(">I", 1)), ps),
    "torn_tail_mid_frame": lambda w, ps: w[:len(w) - ps // 2],
    "torn_tail_mid_frame_header": lambda w, ps: w[:_frame(ps, _nframes(w, ps) - 1) + 10],
    "torn_tail_header_only": lambda w, ps: w[:20],
    "frame_for_page_beyond_db": lambda w, ps: _reseal(_put(w, _frame(ps, 1), struct.pack(">I", 10 ** 6)), ps),
    "frame_for_page_zero": lambda w, ps: _reseal(_put(w, _frame(ps, 1), struct.pack(">I", 0)), ps),
    "commit_frame_db_size_huge": lambda w, ps: _reseal(
        _put(w, _frame(ps, _nframes(w, ps) - 1) + 4, struct.pack(">I", 10 ** 6)), ps),
    "commit_frame_db_size_one": lambda w, ps: _reseal(
        _put(w, _frame(ps, _nframes(w, ps) - 1) + 4, struct.pack(">I", 1)), ps),
    "frame_page_garbage_resealed": lambda w, ps: _reseal(
        _put(w, _frame(ps, 1) + FRAME_HEADER, bytes(range(256)) * (ps // 256)), ps),
    "page1_frame_garbage_resealed": lambda w, ps: _reseal(_put(
        w, next(_frame(ps, k) for k in range(_nframes(w, ps))
                if struct.unpack_from(">I", w, _frame(ps, k))[0] == 1) + FRAME_HEADER + 100,
        b"\xee" * 60), ps),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_damaged_wal_gives_results_or_database_error(pair, attack, tmp_path):
    db, wal, ps = pair
    damaged = ATTACKS[attack](wal, ps)
    assert damaged != wal
    check_case(str(tmp_path), {PATH: db, PATH + "-wal": damaged})


def test_intact_wal_matches_sqlite(pair, tmp_path):
    db, wal, ps = pair
    assert _reseal(wal, ps) == wal
    out = check_case(str(tmp_path), {PATH: db, PATH + "-wal": wal})
    assert out[-1] == "inserted"
