"""WAL: format compatibility with sqlite3, recovery, checkpoints, autocheckpoint, close."""

import shutil
import sqlite3
import struct

import pytest

from limbodb.io import BlockingIO, MemoryIO
from limbodb.io.sim import SimulatedIO
from limbodb.storage.pager import (
    CHECKPOINT_FULL, CHECKPOINT_PASSIVE, CHECKPOINT_RESTART, CHECKPOINT_TRUNCATE, Pager,
)
from limbodb.storage.wal import (
    FRAME_HEADER_SIZE, WAL_HEADER_SIZE, WAL_MAGIC_BE, WAL_MAGIC_LE, recover, wal_checksum,
)

from .pager_util import drive, open_pager, read_all_pages, sqlite_check, sqlite_pages


def leftover_wal(tmp_path, page_size=1024, commits=5):
    """Copy a db and its -wal while sqlite3 still has them open (as if it was killed)."""
    src = tmp_path / "src.db"
    con = sqlite3.connect(src)
    con.execute(f"PRAGMA page_size={page_size}")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("CREATE TABLE t1(a, b)")
    con.commit()
    for i in range(commits):
        con.executemany("INSERT INTO t1 VALUES(?, ?)", [(i, "v" * (j * 7 % 200)) for j in range(40)])
        con.commit()
    dst = tmp_path / "t1.db"
    shutil.copy(src, dst)
    shutil.copy(str(src) + "-wal", str(dst) + "-wal")
    con.close()
    return str(dst)


def reencode_big_endian(wal):
    """Rewrite a little-endian-checksum WAL with magic 0x377f0683 and big-endian checksums."""
    out = bytearray(wal)
    ps = struct.unpack_from(">I", out, 8)[0]
    struct.pack_into(">I", out, 0, WAL_MAGIC_BE)
    s = wal_checksum(bytes(out[:24]), 0, 0, True)
    struct.pack_into(">II", out, 24, *s)
    off = WAL_HEADER_SIZE
    while off + FRAME_HEADER_SIZE + ps <= len(out):
        s = wal_checksum(bytes(out[off:off + 8]), *s, True)
        s = wal_checksum(bytes(out[off + 24:off + 24 + ps]), *s, True)
        struct.pack_into(">II", out, off + 16, *s)
        off += FRAME_HEADER_SIZE + ps
    return bytes(out)


def test_sqlite3_writes_little_endian_checksums_and_limbodb_does_too(tmp_path):
    path = leftover_wal(tmp_path)
    assert struct.unpack(">I", open(path + "-wal", "rb").read(4))[0] == WAL_MAGIC_LE
    io = MemoryIO()
    pager = open_pager(io, "t2.db")
    drive(io, pager.begin_write_tx)
    drive(io, pager.commit)
    assert struct.unpack_from(">I", io.files["t2.db-wal"], 0)[0] == WAL_MAGIC_LE


def test_leftover_sqlite3_wal_is_recovered(tmp_path):
    path = leftover_wal(tmp_path)
    assert len(open(path, "rb").read()) < 5 * 1024  # the rows are only in the -wal
    io = BlockingIO()
    pager = open_pager(io, path)
    ours = read_all_pages(io, pager)
    drive(io, pager.close)
    shutil.copy(path, str(tmp_path / "ref.db"))
    _, theirs = sqlite_pages(str(tmp_path / "ref.db"))
    assert ours == theirs
    ok, rows = sqlite_check(path)
    assert ok == [("ok",)] and len(rows["t1"]) == 200


def test_checksums_in_either_byte_order_are_accepted(tmp_path):
    path = leftover_wal(tmp_path)
    wal = open(path + "-wal", "rb").read()
    le = recover(wal, 1024)
    be_bytes = reencode_big_endian(wal)
    assert be_bytes != wal
    be = recover(be_bytes, 1024)
    assert be.big_endian and not le.big_endian
    assert (be.max_frame, be.db_size, be.frames) == (le.max_frame, le.db_size, le.frames)
    assert le.max_frame > 0
    # And a big-endian WAL opens: the page bytes are the same as with the original.
    io = MemoryIO()
    io.files["a.db"] = bytearray(open(path, "rb").read())
    io.files["a.db-wal"] = bytearray(wal)
    io.files["b.db"] = bytearray(open(path, "rb").read())
    io.files["b.db-wal"] = bytearray(be_bytes)
    assert read_all_pages(io, open_pager(io, "a.db")) == read_all_pages(io, open_pager(io, "b.db"))


def test_wrong_checksum_of_the_header_makes_the_wal_empty(tmp_path):
    wal = bytearray(open(leftover_wal(tmp_path) + "-wal", "rb").read())
    wal[27] ^= 1
    assert recover(bytes(wal), 1024) is None


def test_torn_tail_is_ignored_up_to_the_last_valid_commit(tmp_path):
    path = leftover_wal(tmp_path, commits=4)
    wal = open(path + "-wal", "rb").read()
    full = recover(wal, 1024)
    commits = [f for f in range(1, full.max_frame + 1)
               if struct.unpack_from(">I", wal, full.frame_offset(f) + 4)[0]]
    last_commit, prev_commit = commits[-1], commits[-2]
    # Cut in the middle of the last transaction's final frame.
    torn = wal[:full.frame_offset(last_commit) + 500]
    assert recover(torn, 1024).max_frame == prev_commit
    # A flipped bit in a frame of the last transaction invalidates it and everything after.
    bad = bytearray(wal)
    bad[full.frame_offset(last_commit) + FRAME_HEADER_SIZE + 100] ^= 0x40
    assert recover(bytes(bad), 1024).max_frame == prev_commit
    # Frames after the last commit frame (an unfinished transaction) are not used.
    extra = bytearray(wal[full.frame_offset(prev_commit + 1):full.frame_offset(last_commit + 1)])
    struct.pack_into(">I", extra, len(extra) - 1024 - FRAME_HEADER_SIZE + 4, 0)
    assert recover(wal[:full.frame_offset(prev_commit + 1)] + bytes(extra), 1024).max_frame == prev_commit


def test_opening_a_torn_wal_gives_the_previous_commit(tmp_path):
    path = leftover_wal(tmp_path, commits=3)
    wal = open(path + "-wal", "rb").read()
    idx = recover(wal, 1024)
    open(path + "-wal", "wb").write(wal[:idx.frame_offset(idx.max_frame) + 10])
    io = BlockingIO()
    pager = open_pager(io, path)
    drive(io, pager.close)
    ok, rows = sqlite_check(path)
    assert ok == [("ok",)] and len(rows["t1"]) == 80


def _commit_page(io, pager, pgno, byte):
    drive(io, pager.begin_write_tx)
    page = drive(io, pager.allocate_page) if pgno > pager.db_size else drive(io, pager.read_page, pgno)
    pager.mark_dirty(page)
    page.data[0] = byte
    drive(io, pager.commit)


def test_checkpoint_stops_at_the_oldest_reader_and_finishes_after_it_ends():
    io = MemoryIO()
    writer = open_pager(io, "t1.db")
    writer.set_wal_autocheckpoint(0)
    _commit_page(io, writer, 2, 1)
    reader = Pager(writer.db)
    drive(io, reader.begin_read_tx)
    mark = writer.db.wal.max_frame
    _commit_page(io, writer, 2, 2)
    _commit_page(io, writer, 3, 3)
    busy, log, done = drive(io, writer.checkpoint, CHECKPOINT_PASSIVE)
    assert (busy, log, done) == (1, writer.db.wal.max_frame, mark)
    # The database file has page 2 as of the reader's snapshot, not the newer commit.
    assert io.files["t1.db"][4096] == 1
    assert drive(io, reader.read_page, 2).data[0] == 1
    assert drive(io, writer.checkpoint, CHECKPOINT_RESTART)[0] == 1
    reader.end_read_tx()
    assert drive(io, writer.checkpoint, CHECKPOINT_FULL) == (0, log, log)
    assert io.files["t1.db"][4096] == 2 and io.files["t1.db"][8192] == 3


def test_checkpoint_truncate_empties_the_wal_and_writes_continue():
    io = MemoryIO()
    pager = open_pager(io, "t1.db")
    for i in range(3):
        _commit_page(io, pager, 2 + i, i + 10)
    assert len(io.files["t1.db-wal"]) > 0
    assert drive(io, pager.checkpoint, CHECKPOINT_TRUNCATE) == (0, 0, 0)
    assert len(io.files["t1.db-wal"]) == 0
    _commit_page(io, pager, 2, 99)
    other = open_pager(io, "t1.db")
    drive(io, other.begin_read_tx)
    assert [drive(io, other.read_page, p).data[0] for p in (2, 3, 4)] == [99, 11, 12]
    other.end_read_tx()


def test_restart_makes_the_next_commit_reuse_the_wal_from_the_start():
    io = MemoryIO()
    pager = open_pager(io, "t1.db")
    _commit_page(io, pager, 2, 1)
    _commit_page(io, pager, 2, 2)
    salt = pager.db.wal.salt1
    frames = pager.db.wal.max_frame
    assert drive(io, pager.checkpoint, CHECKPOINT_RESTART) == (0, frames, frames)  # as sqlite3 reports
    size = len(io.files["t1.db-wal"])
    _commit_page(io, pager, 2, 3)
    assert len(io.files["t1.db-wal"]) == size
    assert pager.db.wal.salt1 == (salt + 1) & 0xFFFFFFFF and pager.db.wal.max_frame == 1


def test_automatic_checkpoint_backfills_after_enough_frames():
    io = MemoryIO()
    pager = open_pager(io, "t1.db")
    pager.set_wal_autocheckpoint(10)
    wal = pager.db.wal
    seen = []
    for i in range(12):
        _commit_page(io, pager, 2, i)
        seen.append((wal.max_frame, wal.backfilled))
    # Commit 1 writes pages 1 and 2, then one frame per commit: the 9th reaches 10 frames.
    assert seen[8] == (10, 10)
    assert seen[7] == (9, 0)
    # Everything was backfilled, so the next writer restarted the WAL instead of growing it.
    assert seen[9] == (1, 0) and seen[11] == (3, 0)
    assert io.files["t1.db"][4096] == 8


def test_wal_does_not_grow_without_bound_under_default_autocheckpoint():
    io = MemoryIO()
    pager = open_pager(io, "t1.db")
    for i in range(2500):
        _commit_page(io, pager, 2, i & 0xFF)
    assert len(io.files["t1.db-wal"]) <= 1001 * (4096 + 24) + 32


def test_last_close_checkpoints_and_removes_the_wal(tmp_path):
    path = str(tmp_path / "t1.db")
    io = BlockingIO()
    a = open_pager(io, path)
    b = open_pager(io, path)
    _commit_page(io, a, 2, 7)
    drive(io, a.close)
    assert (tmp_path / "t1.db-wal").exists()
    drive(io, b.close)
    assert not (tmp_path / "t1.db-wal").exists()
    assert (tmp_path / "t1.db").read_bytes()[2 * 4096 - 4096] == 7


@pytest.mark.parametrize("page_size", [512, 65536])
def test_sqlite3_reads_limbodb_wal_frames_directly(tmp_path, page_size):
    path = tmp_path / "t1.db"
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA page_size={page_size}")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t1(a)")
    con.commit()
    con.close()
    io = BlockingIO()
    pager = open_pager(io, str(path))
    drive(io, pager.begin_write_tx)
    pager.set_header_field("user_version", 77)
    drive(io, pager.commit)
    # Copy the files while limbodb holds them: sqlite3 must replay limbodb's WAL itself.
    copy = tmp_path / "copy.db"
    shutil.copy(path, copy)
    shutil.copy(str(path) + "-wal", str(copy) + "-wal")
    drive(io, pager.close)
    con = sqlite3.connect(copy)
    assert con.execute("PRAGMA user_version").fetchone() == (77,)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


def test_database_living_only_in_the_wal_opens_and_checkpoints():
    """A new database whose first commits never reached the (empty) database file."""
    io = MemoryIO()
    pager = open_pager(io, "t1.db")
    pager.set_wal_autocheckpoint(0)
    _commit_page(io, pager, 2, 42)
    files = {name: bytes(data) for name, data in io.files.items()}
    # The database file holds only the first sector of an empty database's page 1.
    assert files["t1.db"][:16] == b"SQLite format 3\x00" and len(files["t1.db"]) == 512
    again = MemoryIO()
    again.files = {name: bytearray(data) for name, data in files.items()}
    reopened = open_pager(again, "t1.db")
    drive(again, reopened.begin_read_tx)
    assert reopened.db_size == 2 and drive(again, reopened.read_page, 2).data[0] == 42
    reopened.end_read_tx()
    drive(again, reopened.close)
    assert again.files["t1.db"][4096] == 42 and "t1.db-wal" not in again.files


def test_abandoned_checkpoint_does_not_block_later_ones():
    io = SimulatedIO(seed=2)
    pager = open_pager(io, "t1.db")
    pager.set_wal_autocheckpoint(0)
    for i in range(3):
        _commit_page(io, pager, 2 + i, i + 1)
    assert pager.checkpoint(CHECKPOINT_PASSIVE).__class__.__name__ == "IO"
    assert pager.db.checkpointing
    other = Pager(pager.db)
    drive(io, pager.close)
    assert not pager.db.checkpointing
    assert drive(io, other.checkpoint, CHECKPOINT_TRUNCATE) == (0, 0, 0)
    drive(io, other.close)
