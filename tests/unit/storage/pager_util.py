"""Helpers for the pager tests: open/drive a pager, build pages by hand, ask sqlite3."""

import sqlite3
import struct

from limbodb.io import run_sync
from limbodb.storage.ondisk import put_varint
from limbodb.storage.pager import Database, Pager
from limbodb.storage.record import encode_record


def open_db(io, path):
    db = Database.open(io, path)
    run_sync(io, db.open)
    return db


def open_pager(io, path):
    return Pager(open_db(io, path))


def drive(io, fn, *args):
    """run_sync, but a failed completion the function never re-checks still raises."""
    return run_sync(io, fn, *args)


def empty_table_leaf(page_size):
    data = bytearray(page_size)
    data[0] = 13
    struct.pack_into(">H", data, 5, page_size & 0xFFFF)
    return data


def add_leaf_cell(data, hdr_off, rowid, payload):
    """Append a table-leaf cell (payload must fit locally) to the page starting at hdr_off."""
    cell = put_varint(len(payload)) + put_varint(rowid) + payload
    ncells = struct.unpack_from(">H", data, hdr_off + 3)[0]
    content = struct.unpack_from(">H", data, hdr_off + 5)[0] or 65536
    start = content - len(cell)
    data[start:content] = cell
    struct.pack_into(">H", data, hdr_off + 8 + 2 * ncells, start)
    struct.pack_into(">H", data, hdr_off + 3, ncells + 1)
    struct.pack_into(">H", data, hdr_off + 5, start)


def create_table_by_hand(io, pager, name, rows):
    """In a write tx: a table ``name(a)`` whose rows fit on one new leaf page; returns its root."""
    drive(io, pager.begin_write_tx)
    page = drive(io, pager.allocate_page)
    page.data[:] = empty_table_leaf(pager.page_size)
    for rowid, value in rows:
        add_leaf_cell(page.data, 0, rowid, encode_record([value]))
    page1 = pager.page1()
    pager.mark_dirty(page1)
    ncells = struct.unpack_from(">H", page1.data, 103)[0]
    record = encode_record(["table", name, name, page.pgno, f"CREATE TABLE {name}(a)"])
    add_leaf_cell(page1.data, 100, ncells + 1, record)
    pager.set_header_field("schema_cookie", pager.header_field("schema_cookie") + 1)
    pager.set_header_field("schema_format", 4)
    pager.set_header_field("text_encoding", 1)
    return page.pgno


def sqlite_check(path):
    """PRAGMA integrity_check through sqlite3, and the file's tables' rows."""
    con = sqlite3.connect(path)
    try:
        ok = con.execute("PRAGMA integrity_check").fetchall()
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name")]
        rows = {t: con.execute(f"SELECT rowid, * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    finally:
        con.close()
    return ok, rows


def sqlite_pages(path):
    """The pages sqlite3 sees after a checkpoint of a copy of the files (bytes per pgno)."""
    con = sqlite3.connect(path)
    ps = con.execute("PRAGMA page_size").fetchone()[0]
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = open(path, "rb").read()
    return ps, {i + 1: data[i * ps:(i + 1) * ps] for i in range(len(data) // ps)}


def read_all_pages(io, pager):
    drive(io, pager.begin_read_tx)
    out = {pgno: bytes(drive(io, pager.read_page, pgno).data) for pgno in range(1, pager.db_size + 1)}
    pager.end_read_tx()
    return out
