"""B-tree costs beside sqlite3's: sequential inserts, random seeks, a full scan.

Run: python tests/bench/bench_btree.py [rows]

Builds a table of ``rows`` (default 100,000) sequential rowids with a small record
through BTreeCursor on a MemoryIO database (4096-byte pages), then 10,000 random
SEEK_EQ lookups, then a full first()/next() scan reading each rowid, a scan reading
column 1 of each row (record()), count(), and an index of (random int, rowid): its
inserts and 10,000 SEEK_EQ lookups by the int. sqlite3 does the equivalent in an
in-memory database (executemany INSERT; a prepared point SELECT by rowid; SELECT
rowid / b / count(*) over the table; CREATE INDEX then INSERT into an indexed
table; SELECT by the indexed column). Each line prints both times and the ratio.
"""

import random
import sqlite3
import sys
import time

from limbodb.io import MemoryIO, run_sync
from limbodb.storage.btree import SEEK_EQ, BTreeCursor, create_btree
from limbodb.storage.pager import Database, Pager
from limbodb.storage.record import KeyInfo, encode_record


def limbodb_side(n, probes):
    io = MemoryIO()
    db = Database.open(io, ":memory:")
    run_sync(io, db.open)
    pager = Pager(db)
    run_sync(io, pager.begin_write_tx)
    root = run_sync(io, create_btree, pager, False)
    cur = BTreeCursor(pager, root)
    records = [encode_record([i, "value %d" % i]) for i in range(1, n + 1)]
    insert = cur.insert
    t0 = time.perf_counter()
    for i, rec in enumerate(records, 1):
        insert(i, rec)  # MemoryIO never makes the B-tree wait
    t_insert = time.perf_counter() - t0

    seek = cur.seek
    t0 = time.perf_counter()
    for k in probes:
        if seek(k, SEEK_EQ) is not True:
            raise AssertionError(k)
    t_seek = time.perf_counter() - t0

    t0 = time.perf_counter()
    count = 0
    rowid = cur.rowid
    nxt = cur.next
    ok = cur.first()
    while ok:
        rowid()
        count += 1
        ok = nxt()
    t_scan = time.perf_counter() - t0
    assert count == n

    t0 = time.perf_counter()
    record = cur.record
    ok = cur.first()
    while ok:
        record().column(1)
        ok = nxt()
    t_column = time.perf_counter() - t0

    t0 = time.perf_counter()
    assert cur.count() == n
    t_count = time.perf_counter() - t0

    iroot = run_sync(io, create_btree, pager, True)
    icur = BTreeCursor(pager, iroot, KeyInfo([None]))
    keys = random.Random(2).sample(range(n * 10), n)
    irecs = [encode_record([k, i]) for i, k in enumerate(keys, 1)]
    t0 = time.perf_counter()
    for rec in irecs:
        icur.insert(rec, None)
    t_iinsert = time.perf_counter() - t0

    iseek = icur.seek
    t0 = time.perf_counter()
    for k in probes:
        if iseek([keys[k - 1]], SEEK_EQ) is not True:
            raise AssertionError(k)
    t_iseek = time.perf_counter() - t0
    return t_insert, t_seek, t_scan, t_column, t_count, t_iinsert, t_iseek


def sqlite_side(n, probes):
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t1(a, b)")
    rows = [(i, i, "value %d" % i) for i in range(1, n + 1)]
    t0 = time.perf_counter()
    con.executemany("INSERT INTO t1(rowid, a, b) VALUES(?, ?, ?)", rows)
    con.commit()
    t_insert = time.perf_counter() - t0

    t0 = time.perf_counter()
    ex = con.execute
    for k in probes:
        ex("SELECT rowid FROM t1 WHERE rowid = ?", (k,)).fetchone()
    t_seek = time.perf_counter() - t0

    t0 = time.perf_counter()
    count = 0
    for _ in con.execute("SELECT rowid FROM t1"):
        count += 1
    t_scan = time.perf_counter() - t0
    assert count == n

    t0 = time.perf_counter()
    for _ in con.execute("SELECT b FROM t1"):
        pass
    t_column = time.perf_counter() - t0

    t0 = time.perf_counter()
    assert con.execute("SELECT count(*) FROM t1").fetchone()[0] == n
    t_count = time.perf_counter() - t0

    con.execute("CREATE TABLE t2(a INTEGER PRIMARY KEY, b)")
    con.execute("CREATE INDEX t2b ON t2(b)")
    keys = random.Random(2).sample(range(n * 10), n)
    t0 = time.perf_counter()
    con.executemany("INSERT INTO t2 VALUES(?, ?)", enumerate(keys, 1))
    con.commit()
    t_iinsert = time.perf_counter() - t0

    t0 = time.perf_counter()
    for k in probes:
        ex("SELECT a FROM t2 WHERE b = ?", (keys[k - 1],)).fetchone()
    t_iseek = time.perf_counter() - t0
    return t_insert, t_seek, t_scan, t_column, t_count, t_iinsert, t_iseek


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    probes = [random.Random(1).randint(1, n) for _ in range(10_000)]
    ours = limbodb_side(n, probes)
    theirs = sqlite_side(n, probes)
    names = ("insert %d sequential rowids" % n, "10,000 random seeks", "full scan of %d rows" % n,
             "scan reading column 1", "count()", "index: insert %d random keys" % n,
             "index: 10,000 random seeks")
    print("%-32s %12s %12s %8s" % ("operation", "limbodb s", "sqlite3 s", "ratio"))
    for name, a, b in zip(names, ours, theirs):
        print("%-32s %12.4f %12.4f %7.1fx" % (name, a, b, a / b))


if __name__ == "__main__":
    main()
