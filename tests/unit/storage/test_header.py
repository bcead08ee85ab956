"""The 100-byte database header: new databases, validation on open, field access."""

import sqlite3

import pytest

from limbodb.errors import CorruptError, DatabaseError, NotSupportedError, SQLITE_NOTADB
from limbodb.io import BlockingIO, MemoryIO
from limbodb.storage.header import get_field, new_page1, parse_header, set_field
from limbodb.storage.pager import Database

from .pager_util import drive, open_db, open_pager, sqlite_check


def test_new_database_written_by_pager_passes_sqlite_integrity_check(tmp_path):
    io = BlockingIO()
    path = str(tmp_path / "t1.db")
    pager = open_pager(io, path)
    drive(io, pager.begin_write_tx)
    drive(io, pager.commit)
    drive(io, pager.close)
    ok, rows = sqlite_check(path)
    assert ok == [("ok",)] and rows == {}
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert con.execute("PRAGMA page_size").fetchone() == (4096,)
    con.execute("CREATE TABLE t1(a)")
    con.commit()
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


def test_new_database_header_matches_sqlite3_fresh_file(tmp_path):
    ref = tmp_path / "ref.db"
    con = sqlite3.connect(ref)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t1(a)")
    con.commit()
    con.close()
    theirs = ref.read_bytes()[:100]
    ours = new_page1(4096)[:100]
    # Equal except the fields a CREATE TABLE changes: change counter, page count,
    # schema cookie, version-valid-for (and the writer's version number).
    differing = {i for i in range(100) if theirs[i] != ours[i]}
    allowed = set(range(24, 32)) | set(range(40, 44)) | set(range(92, 100))
    assert differing <= allowed


def test_zero_byte_file_is_a_new_empty_database(tmp_path):
    io = BlockingIO()
    path = tmp_path / "t1.db"
    path.write_bytes(b"")
    pager = open_pager(io, str(path))
    drive(io, pager.begin_read_tx)
    assert pager.db_size == 0
    assert pager.header_field("page_size") == 4096
    assert drive(io, pager.read_page, 1).data[100] == 13
    pager.end_read_tx()
    drive(io, pager.close)


@pytest.mark.parametrize("content", [b"not a database at all" * 10, b"SQLite format 2\x00" + bytes(84)])
def test_bad_magic_is_not_a_database(content):
    io = MemoryIO()
    io.files["t1.db"] = bytearray(content)
    db = Database.open(io, "t1.db")
    with pytest.raises(DatabaseError) as ei:
        drive(io, db.open)
    assert str(ei.value) == "file is not a database"
    assert ei.value.sqlite_errorcode == SQLITE_NOTADB


@pytest.mark.parametrize("page_size_field", [0, 3, 1000, 256])
def test_impossible_page_size_is_refused(page_size_field):
    data = new_page1(4096)
    data[16:18] = page_size_field.to_bytes(2, "big")
    with pytest.raises(DatabaseError):
        parse_header(data, 4096)


def test_bad_payload_fractions_are_corrupt():
    data = new_page1(4096)
    data[21] = 63
    with pytest.raises(CorruptError):
        parse_header(data, 4096)


def test_utf16_database_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "t1.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA encoding='UTF-16le'")
    con.execute("CREATE TABLE t1(a)")
    con.commit()
    con.close()
    io = BlockingIO()
    with pytest.raises(NotSupportedError, match="UTF-16"):
        open_db(io, str(path))


def test_page_size_field_one_means_65536():
    data = new_page1(65536)
    assert data[16:18] == b"\x00\x01"
    assert get_field(data, "page_size") == 65536
    assert parse_header(data, 65536).page_size == 65536


def test_database_size_trusted_only_when_version_valid_for_matches():
    data = new_page1(1024)
    set_field(data, "database_size", 7)
    set_field(data, "change_counter", 5)
    set_field(data, "version_valid_for", 5)
    assert parse_header(data, 3 * 1024).db_size == 7
    set_field(data, "version_valid_for", 4)
    assert parse_header(data, 3 * 1024).db_size == 3


def test_header_fields_round_trip_through_pager_and_sqlite3(tmp_path):
    io = BlockingIO()
    path = str(tmp_path / "t1.db")
    pager = open_pager(io, path)
    drive(io, pager.begin_write_tx)
    pager.set_header_field("user_version", -5)
    pager.set_header_field("application_id", 0x12345678)
    drive(io, pager.commit)
    drive(io, pager.begin_read_tx)
    assert pager.header_field("user_version") == -5
    pager.end_read_tx()
    drive(io, pager.close)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone() == (-5,)
    assert con.execute("PRAGMA application_id").fetchone() == (0x12345678,)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()
