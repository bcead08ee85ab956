"""Read the raw records sqlite3 writes, to compare limbodb's encoding byte for byte."""

import sqlite3

from limbodb.storage import ondisk

PAGE_SIZE = 4096


def sqlite_records(tmp_path, columns, rows, name="t.db"):
    """Insert ``rows`` into ``t1(columns)`` with sqlite3; return each row's record payload.

    Every row must fit on the table's single leaf page (page 2 of a fresh database).
    """
    path = tmp_path / name
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA page_size={PAGE_SIZE}")
    con.execute(f"CREATE TABLE t1({columns})")
    marks = ", ".join("?" * len(rows[0]))
    con.executemany(f"INSERT INTO t1 VALUES({marks})", rows)
    con.commit()
    con.close()
    page = path.read_bytes()[PAGE_SIZE:2 * PAGE_SIZE]
    assert page[0] == ondisk.PAGE_TABLE_LEAF, "rows must fit on one leaf page"
    ncells = ondisk.U16.unpack_from(page, ondisk.HDR_NCELLS)[0]
    payloads = []
    for i in range(ncells):
        off = ondisk.U16.unpack_from(page, ondisk.LEAF_HEADER_SIZE + 2 * i)[0]
        size, n = ondisk.get_varint(page, off)
        off += n
        _, n = ondisk.get_varint(page, off)
        off += n
        assert ondisk.local_payload_size(True, size, PAGE_SIZE) == size
        payloads.append(page[off:off + size])
    return payloads
