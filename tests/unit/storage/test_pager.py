"""Pager: reading sqlite3's files, writing files sqlite3 accepts, cache, freelist, transactions."""

import sqlite3

import pytest

from limbodb.errors import (
    BusyError, CorruptError, IOError_, InternalError, NotSupportedError, SQLITE_BUSY_SNAPSHOT,
)
from limbodb.io import BlockingIO, MemoryIO, run_sync
from limbodb.io.sim import FAULT_ERROR, SimulatedIO
from limbodb.storage.pager import Database, Pager

from .pager_util import (
    create_table_by_hand, drive, open_pager, read_all_pages, sqlite_check, sqlite_pages,
)


def make_sqlite_db(path, page_size=4096, rows=50, journal_mode="DELETE", delete_some=False):
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA page_size={page_size}")
    con.execute(f"PRAGMA journal_mode={journal_mode}")
    con.execute("CREATE TABLE t1(a, b)")
    con.execute("CREATE INDEX i1 ON t1(b)")
    con.executemany("INSERT INTO t1 VALUES(?, ?)", [(i, "x" * (i % 300)) for i in range(rows)])
    con.commit()
    if delete_some:
        con.execute("DELETE FROM t1 WHERE a % 3 != 0")
        con.commit()
    con.close()


@pytest.mark.parametrize("page_size", [512, 1024, 4096, 65536])
def test_pages_of_sqlite3_database_read_back_byte_for_byte(tmp_path, page_size):
    path = str(tmp_path / "t1.db")
    make_sqlite_db(path, page_size, rows=400)
    expected = open(path, "rb").read()
    io = BlockingIO()
    pager = open_pager(io, path)
    assert pager.page_size == page_size
    pages = read_all_pages(io, pager)
    assert b"".join(pages[i] for i in sorted(pages)) == expected
    drive(io, pager.close)


def test_database_with_freelist_reads_and_reports_its_freelist(tmp_path):
    path = str(tmp_path / "t1.db")
    make_sqlite_db(path, 1024, rows=600, delete_some=True)
    con = sqlite3.connect(path)
    nfree = con.execute("PRAGMA freelist_count").fetchone()[0]
    con.close()
    assert nfree > 0
    expected = open(path, "rb").read()
    io = BlockingIO()
    pager = open_pager(io, path)
    drive(io, pager.begin_read_tx)
    assert pager.header_field("freelist_count") == nfree
    pager.end_read_tx()
    pages = read_all_pages(io, pager)
    assert b"".join(pages[i] for i in sorted(pages)) == expected
    drive(io, pager.close)


def test_allocate_reuses_freelist_and_free_rebuilds_it_as_sqlite_expects(tmp_path):
    path = str(tmp_path / "t1.db")
    make_sqlite_db(path, 1024, rows=600, delete_some=True)
    _, before = sqlite_check(path)
    io = BlockingIO()
    pager = open_pager(io, path)
    drive(io, pager.begin_write_tx)
    size = pager.db_size
    nfree = pager.header_field("freelist_count")
    got = [drive(io, pager.allocate_page) for _ in range(nfree)]
    assert all(p.pgno <= size and not any(p.data) and p.dirty for p in got)
    assert pager.header_field("freelist_count") == 0 and pager.db_size == size
    assert drive(io, pager.allocate_page).pgno == size + 1
    for p in got:
        drive(io, pager.free_page, p.pgno)
    drive(io, pager.free_page, size + 1)
    assert pager.header_field("freelist_count") == nfree + 1
    drive(io, pager.commit)
    drive(io, pager.close)
    ok, after = sqlite_check(path)
    assert ok == [("ok",)] and after == before
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA freelist_count").fetchone() == (nfree + 1,)
    con.close()


def test_trunk_without_leaves_is_reused_itself(tmp_path):
    io = MemoryIO()
    pager = open_pager(io, "t1.db")
    drive(io, pager.begin_write_tx)
    pages = [drive(io, pager.allocate_page).pgno for _ in range(3)]
    drive(io, pager.free_page, pages[0])
    assert pager.header_field("freelist_trunk") == pages[0]
    drive(io, pager.free_page, pages[1])
    # pages[1] became a leaf of trunk pages[0]: allocation takes the leaf, then the trunk.
    assert drive(io, pager.allocate_page).pgno == pages[1]
    assert drive(io, pager.allocate_page).pgno == pages[0]
    assert pager.header_field("freelist_trunk") == 0
    assert pager.header_field("freelist_count") == 0


def test_many_free_pages_spread_over_several_trunks_pass_integrity_check(tmp_path):
    path = str(tmp_path / "t1.db")
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size=512")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t1(a)")
    con.commit()
    con.close()
    io = BlockingIO()
    pager = open_pager(io, path)
    drive(io, pager.begin_write_tx)
    pgnos = [drive(io, pager.allocate_page).pgno for _ in range(400)]
    for pgno in pgnos:
        drive(io, pager.free_page, pgno)
    drive(io, pager.commit)
    drive(io, pager.begin_read_tx)
    trunks = []
    t = pager.header_field("freelist_trunk")
    while t:
        trunks.append(t)
        t = int.from_bytes(drive(io, pager.read_page, t).data[:4], "big")
    pager.end_read_tx()
    assert len(trunks) >= 3
    drive(io, pager.close)
    ok, _ = sqlite_check(path)
    assert ok == [("ok",)]
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA freelist_count").fetchone() == (400,)
    con.close()


def test_table_built_by_hand_is_read_by_sqlite3(tmp_path):
    path = str(tmp_path / "t1.db")
    io = BlockingIO()
    pager = open_pager(io, path)
    create_table_by_hand(io, pager, "t1", [(1, "one"), (2, 2.5), (7, None)])
    drive(io, pager.commit)
    drive(io, pager.close)
    ok, rows = sqlite_check(path)
    assert ok == [("ok",)]
    assert rows == {"t1": [(1, "one"), (2, 2.5), (7, None)]}


def test_cached_page_is_the_same_object_and_lru_is_bounded(tmp_path):
    path = str(tmp_path / "t1.db")
    make_sqlite_db(path, 1024, rows=600)
    io = BlockingIO()
    pager = open_pager(io, path)
    pager.set_cache_size(10)
    drive(io, pager.begin_read_tx)
    kept = drive(io, pager.read_page, 2)
    assert drive(io, pager.read_page, 2) is kept
    for pgno in range(3, pager.db_size + 1):
        drive(io, pager.read_page, pgno)
    assert len(pager.cache.lru) <= 10
    # Evicted from the LRU but still referenced: the same object comes back.
    assert drive(io, pager.read_page, 2) is kept
    pager.end_read_tx()
    drive(io, pager.close)


def test_negative_cache_size_counts_kibibytes(tmp_path):
    io = MemoryIO()
    pager = open_pager(io, "t1.db")
    pager.set_cache_size(-400)
    assert pager.cache.capacity == 100
    pager.set_cache_size(-2000)
    assert pager.cache.capacity == 500


def test_dirty_pages_stay_pinned_beyond_cache_capacity(tmp_path):
    io = MemoryIO()
    pager = open_pager(io, "t1.db")
    pager.set_cache_size(10)
    drive(io, pager.begin_write_tx)
    for i in range(40):
        page = drive(io, pager.allocate_page)
        page.data[0:4] = (i + 1000).to_bytes(4, "big")
        del page
    drive(io, pager.commit)
    other = Pager(pager.db)
    drive(io, other.begin_read_tx)
    assert [int.from_bytes(drive(io, other.read_page, p).data[:4], "big") for p in range(2, 42)] == \
        list(range(1000, 1040))
    other.end_read_tx()


def test_read_in_flight_is_not_issued_twice():
    mem = MemoryIO()
    pager = open_pager(mem, "t1.db")
    drive(mem, pager.begin_write_tx)
    drive(mem, pager.allocate_page).data[0] = 42
    drive(mem, pager.commit)
    drive(mem, pager.close)
    io = SimulatedIO(seed=3, files={"t1.db": bytes(mem.files["t1.db"])})
    pager = open_pager(io, "t1.db")
    drive(io, pager.begin_read_tx)
    r1 = pager.read_page(2)
    r2 = pager.read_page(2)
    assert r1.__class__.__name__ == "IO" and r1.completion is r2.completion
    page = drive(io, pager.read_page, 2)
    assert page.data[0] == 42
    reads = [t for t in io.trace if " read t1.db off=4096 " in t]
    assert len(reads) == 1


def test_page_number_out_of_range_is_corrupt(tmp_path):
    io = MemoryIO()
    pager = open_pager(io, "t1.db")
    drive(io, pager.begin_read_tx)
    for pgno in (0, 2, 10):
        with pytest.raises(CorruptError) as ei:
            pager.read_page(pgno)
        assert ei.value.pgno == pgno


def test_short_read_inside_the_database_is_corrupt(tmp_path):
    path = str(tmp_path / "t1.db")
    make_sqlite_db(path, 1024, rows=300)
    io = BlockingIO()
    pager = open_pager(io, path)
    drive(io, pager.begin_read_tx)
    last = pager.db_size
    with open(path, "r+b") as f:
        f.truncate((last - 1) * 1024 + 100)
    with pytest.raises(CorruptError):
        drive(io, pager.read_page, last)
    pager.end_read_tx()


def test_rollback_restores_pages_and_bumps_generation():
    io = MemoryIO()
    pager = open_pager(io, "t1.db")
    drive(io, pager.begin_write_tx)
    drive(io, pager.allocate_page).data[0:3] = b"abc"
    drive(io, pager.commit)
    drive(io, pager.begin_write_tx)
    page = drive(io, pager.read_page, 2)
    pager.mark_dirty(page)
    page.data[0:3] = b"xyz"
    drive(io, pager.allocate_page)
    gen = pager.generation
    pager.rollback()
    assert pager.generation == gen + 1
    drive(io, pager.begin_read_tx)
    assert pager.db_size == 2
    fresh = drive(io, pager.read_page, 2)
    assert fresh is not page and bytes(fresh.data[0:3]) == b"abc"
    pager.end_read_tx()


def test_writes_outside_a_write_transaction_are_refused():
    io = MemoryIO()
    pager = open_pager(io, "t1.db")
    drive(io, pager.begin_read_tx)
    page1 = drive(io, pager.read_page, 1)
    with pytest.raises(InternalError):
        pager.mark_dirty(page1)
    with pytest.raises(InternalError):
        pager.allocate_page()


def _commit_page(io, pager, pgno, byte):
    drive(io, pager.begin_write_tx)
    if pgno > pager.db_size:
        page = drive(io, pager.allocate_page)
        assert page.pgno == pgno
    else:
        page = drive(io, pager.read_page, pgno)
        pager.mark_dirty(page)
    page.data[0] = byte
    drive(io, pager.commit)


def test_reader_keeps_its_snapshot_while_another_connection_commits():
    io = MemoryIO()
    writer = open_pager(io, "t1.db")
    _commit_page(io, writer, 2, 1)
    _commit_page(io, writer, 3, 1)
    reader = Pager(writer.db)
    drive(io, reader.begin_read_tx)
    assert drive(io, reader.read_page, 2).data[0] == 1
    _commit_page(io, writer, 2, 2)
    _commit_page(io, writer, 3, 2)
    _commit_page(io, writer, 4, 2)
    assert drive(io, reader.read_page, 2).data[0] == 1
    assert drive(io, reader.read_page, 3).data[0] == 1
    assert reader.db_size == 3
    with pytest.raises(BusyError) as ei:
        drive(io, reader.begin_write_tx)
    assert ei.value.sqlite_errorcode == SQLITE_BUSY_SNAPSHOT
    reader.end_read_tx()
    drive(io, reader.begin_read_tx)
    assert [drive(io, reader.read_page, p).data[0] for p in (2, 3, 4)] == [2, 2, 2]
    reader.end_read_tx()


def test_second_writer_gets_busy_until_the_first_commits():
    io = MemoryIO()
    a = open_pager(io, "t1.db")
    b = Pager(a.db)
    drive(io, a.begin_write_tx)
    with pytest.raises(BusyError):
        drive(io, b.begin_write_tx)
    b.end_read_tx()
    drive(io, a.commit)
    drive(io, b.begin_write_tx)
    b.rollback()


def test_connections_of_one_process_share_the_database(tmp_path):
    io = BlockingIO()
    path = str(tmp_path / "t1.db")
    a = open_pager(io, path)
    b = open_pager(io, path)
    assert a.db is b.db
    _commit_page(io, a, 2, 9)
    drive(io, b.begin_read_tx)
    assert drive(io, b.read_page, 2).data[0] == 9
    b.end_read_tx()
    drive(io, a.close)
    drive(io, b.close)


def test_memory_databases_are_never_shared():
    io = MemoryIO()
    assert Database.open(io, ":memory:") is not Database.open(io, ":memory:")
    pager = open_pager(io, ":memory:")
    _commit_page(io, pager, 2, 5)
    drive(io, pager.begin_read_tx)
    assert drive(io, pager.read_page, 2).data[0] == 5
    pager.end_read_tx()
    drive(io, pager.close)


def test_io_error_in_commit_is_sticky_until_rollback():
    base = MemoryIO()
    pager = open_pager(base, "t1.db")
    _commit_page(base, pager, 2, 1)
    drive(base, pager.close)
    files = {p: bytes(d) for p, d in base.files.items()}

    def plan(index, op, path, offset):
        return FAULT_ERROR if op == "write" and path.endswith("-wal") else None

    io = SimulatedIO(seed=5, files=files, fault_plan=plan)
    pager = open_pager(io, "t1.db")
    drive(io, pager.begin_write_tx)
    page = drive(io, pager.read_page, 2)
    pager.mark_dirty(page)
    page.data[0] = 2
    with pytest.raises(IOError_):
        run_sync(io, pager.commit)
    page1 = pager.page1()
    with pytest.raises(IOError_):
        pager.mark_dirty(page1)
    with pytest.raises(IOError_):
        pager.commit()
    pager.rollback()
    io.fault_plan = None
    drive(io, pager.begin_read_tx)
    assert drive(io, pager.read_page, 2).data[0] == 1
    pager.end_read_tx()
    _commit_page(io, pager, 2, 3)
    other = Pager(pager.db)
    drive(io, other.begin_read_tx)
    assert drive(io, other.read_page, 2).data[0] == 3
    other.end_read_tx()


def test_rollback_journal_database_switches_to_wal_on_first_write(tmp_path):
    path = str(tmp_path / "t1.db")
    make_sqlite_db(path, 4096, rows=20, journal_mode="DELETE")
    _, before = sqlite_check(path)
    io = BlockingIO()
    pager = open_pager(io, path)
    drive(io, pager.begin_read_tx)
    assert pager.header_field("write_version") == 1
    pager.end_read_tx()
    drive(io, pager.begin_write_tx)
    drive(io, pager.commit)
    drive(io, pager.close)
    ok, after = sqlite_check(path)
    assert ok == [("ok",)] and after == before
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    con.close()


def test_sqlite3_pages_equal_after_limbodb_commits(tmp_path):
    """Commit through the WAL, let sqlite3 checkpoint a copy: same bytes as limbodb reads."""
    path = str(tmp_path / "t1.db")
    make_sqlite_db(path, 1024, rows=100, journal_mode="WAL")
    io = BlockingIO()
    pager = open_pager(io, path)
    create_table_by_hand(io, pager, "t2", [(5, "five")])
    drive(io, pager.commit)
    ours = read_all_pages(io, pager)
    copy = tmp_path / "copy.db"
    copy.write_bytes(open(path, "rb").read())
    (tmp_path / "copy.db-wal").write_bytes(open(path + "-wal", "rb").read())
    ps, theirs = sqlite_pages(str(copy))
    assert theirs == ours
    drive(io, pager.close)


def test_two_memory_databases_on_one_backend_do_not_share_pages():
    io = MemoryIO()
    a = open_pager(io, ":memory:")
    b = open_pager(io, ":memory:")
    _commit_page(io, a, 2, 5)
    drive(io, b.begin_read_tx)
    assert b.db_size == 0
    b.end_read_tx()
    drive(io, a.close)
    drive(io, b.close)
    assert io.files == {}


def test_auto_vacuum_database_is_readable_but_not_writable(tmp_path):
    path = str(tmp_path / "t1.db")
    con = sqlite3.connect(path)
    con.execute("PRAGMA auto_vacuum=FULL")
    con.execute("CREATE TABLE t1(a)")
    con.execute("INSERT INTO t1 VALUES(1)")
    con.commit()
    con.close()
    expected = open(path, "rb").read()
    io = BlockingIO()
    pager = open_pager(io, path)
    pages = read_all_pages(io, pager)
    assert b"".join(pages[p] for p in sorted(pages)) == expected
    with pytest.raises(NotSupportedError):
        drive(io, pager.begin_write_tx)
    pager.end_read_tx()
    drive(io, pager.close)


def test_connections_with_separate_blocking_backends_share_one_database(tmp_path):
    path = str(tmp_path / "t1.db")
    a = open_pager(BlockingIO(), path)
    b = open_pager(BlockingIO(), path)
    assert a.db is b.db
    drive(a.db.io, b.close)
    drive(a.db.io, a.close)
    assert Database.open(BlockingIO(), path) is not a.db


def test_closing_a_connection_twice_leaves_the_others_working():
    io = MemoryIO()
    a = open_pager(io, "t1.db")
    b = Pager(a.db)
    drive(io, a.close)
    drive(io, a.close)
    _commit_page(io, b, 2, 4)
    drive(io, b.begin_read_tx)
    assert drive(io, b.read_page, 2).data[0] == 4
    b.end_read_tx()
    drive(io, b.close)
    assert "t1.db-wal" not in io.files
