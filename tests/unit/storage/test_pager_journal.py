"""Hot rollback journals left by a crashed sqlite3 process are rolled back on open."""

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from limbodb.io import BlockingIO, MemoryIO
from limbodb.storage.journal import journal_pages

from .pager_util import drive, open_pager, read_all_pages, sqlite_check

CRASH_MID_TRANSACTION = textwrap.dedent("""
    import os, sqlite3, sys
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute("PRAGMA cache_size=2")
    con.execute("BEGIN")
    con.execute("UPDATE t1 SET b = b || 'changed'")
    con.execute("INSERT INTO t1 SELECT a + 1000, b FROM t1")
    os._exit(0)
""")


def make_hot_journal(tmp_path, page_size):
    path = str(tmp_path / "t1.db")
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA page_size={page_size}")
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("CREATE TABLE t1(a, b)")
    con.executemany("INSERT INTO t1 VALUES(?, ?)", [(i, "r" * (i % 150)) for i in range(300)])
    con.commit()
    con.close()
    before = open(path, "rb").read()
    subprocess.run([sys.executable, "-c", CRASH_MID_TRANSACTION, path], check=True)
    assert os.path.getsize(path + "-journal") > 0
    assert open(path, "rb").read() != before  # the cache spilled into the database file
    return path, before


@pytest.mark.parametrize("page_size", [1024, 4096])
def test_hot_journal_from_killed_sqlite3_is_rolled_back(tmp_path, page_size):
    path, before = make_hot_journal(tmp_path, page_size)
    ref = tmp_path / "ref"
    ref.mkdir()
    shutil.copy(path, ref / "t1.db")
    shutil.copy(path + "-journal", ref / "t1.db-journal")
    con = sqlite3.connect(ref / "t1.db")
    con.execute("SELECT count(*) FROM t1").fetchone()
    con.close()
    expected = (ref / "t1.db").read_bytes()
    assert expected == before
    io = BlockingIO()
    pager = open_pager(io, path)
    assert not os.path.exists(path + "-journal")
    pages = read_all_pages(io, pager)
    assert b"".join(pages[p] for p in sorted(pages)) == expected
    drive(io, pager.close)
    ok, rows = sqlite_check(path)
    assert ok == [("ok",)] and len(rows["t1"]) == 300


def test_journal_parser_stops_at_a_bad_record_checksum(tmp_path):
    path, _ = make_hot_journal(tmp_path, 1024)
    journal = bytearray(open(path + "-journal", "rb").read())
    orig_size, ps, records = journal_pages(bytes(journal))
    assert ps == 1024 and orig_size > 0 and len(records) > 2
    sector = int.from_bytes(journal[20:24], "big")
    # The checksum samples every 200th byte from the end: page offset 424 is one of them.
    second = sector + (4 + ps + 4) + 4 + 424
    journal[second] ^= 0xFF
    assert len(journal_pages(bytes(journal))[2]) == 1


def test_journal_with_zeroed_header_is_not_hot():
    io = MemoryIO()
    io.files["t1.db-journal"] = bytearray(4096)
    pager = open_pager(io, "t1.db")
    assert "t1.db-journal" in io.files
    drive(io, pager.begin_read_tx)
    assert pager.db_size == 0
    pager.end_read_tx()
