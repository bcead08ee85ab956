"""CREATE INDEX fills the new index from a sorter, in key order (sqlite3RefillIndex).

Appending in key order packs the leaves as SQLite's own build does, so the file is
about SQLite's size (inserting in table order left split headroom in every leaf:
142 pages against SQLite's 114 for one text index); the order must be the index's
own (DESC, collations, mixed storage classes, duplicates ordered by rowid), which
sqlite3's integrity_check verifies on the file, and UNIQUE still fails on a
duplicate key with SQLite's message.
"""

import os
import random
import sqlite3

import pytest

import limbodb


def _words(rnd):
    return " ".join(rnd.choice(("zero", "one", "two", "three", "four", "five")) for _ in range(rnd.randrange(1, 6)))


def _build(mod, path, rows, indexes):
    con = mod.connect(path, isolation_level=None)
    con.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b, c TEXT)")
    con.execute("BEGIN")
    con.executemany("INSERT INTO t VALUES(?, ?, ?)", rows)
    con.execute("COMMIT")
    for sql in indexes:
        con.execute(sql)
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    return pages


def _rows(n, seed):
    rnd = random.Random(seed)
    out = []
    for i in range(1, n + 1):
        b = rnd.choice((rnd.randrange(4 * n), rnd.random() * 100, None, _words(rnd), b"\x00\x01" * rnd.randrange(3),
                        rnd.randrange(50)))
        out.append((i, b, _words(rnd).title()))
    return out


def test_an_index_on_an_unsorted_column_is_packed_as_sqlites(tmp_path):
    rnd = random.Random(1)
    rows = [(i, rnd.randrange(60000), " ".join(str(rnd.randrange(10**6)) for _ in range(3))) for i in range(1, 8001)]
    base = [_build(m, os.path.join(tmp_path, f"{n}0.db"), rows, []) for m, n in ((limbodb, "l"), (sqlite3, "s"))]
    built = [_build(m, os.path.join(tmp_path, f"{n}.db"), rows, ["CREATE INDEX tc ON t(c)"])
             for m, n in ((limbodb, "l"), (sqlite3, "s"))]
    lim_index, sqlite_index = built[0] - base[0], built[1] - base[1]
    assert lim_index <= sqlite_index * 1.03 + 1, (lim_index, sqlite_index)


@pytest.mark.parametrize("index", [
    "CREATE INDEX ib ON t(b)",
    "CREATE INDEX ib ON t(b DESC, c)",
    "CREATE INDEX ib ON t(c COLLATE NOCASE, b DESC)",
    "CREATE INDEX ib ON t(c COLLATE RTRIM DESC)",
    "CREATE INDEX ib ON t(a, b)",
    "CREATE INDEX ib ON t(b, a DESC)",
])
def test_the_index_built_in_sorted_order_is_sqlites(tmp_path, index):
    rows = _rows(3000, 7)
    lim = os.path.join(tmp_path, "l.db")
    ref = os.path.join(tmp_path, "s.db")
    _build(limbodb, lim, rows, [index])
    _build(sqlite3, ref, rows, [index])
    check = sqlite3.connect(lim)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    q = "SELECT a, b, c FROM t INDEXED BY ib ORDER BY " + index.split("(", 1)[1].rstrip(")") + ", a"
    got = limbodb.connect(lim).execute(q).fetchall()
    assert got == sqlite3.connect(ref).execute(q).fetchall()
    # The same entries in the same order as in SQLite's index (read by sqlite3 from both files).
    scan = "SELECT a FROM t INDEXED BY ib"
    assert check.execute(scan).fetchall() == sqlite3.connect(ref).execute(scan).fetchall()


def test_a_unique_index_over_duplicates_fails_as_sqlites_and_leaves_no_index(tmp_path):
    rows = [(i, i % 500 if i != 777 else 3, "x") for i in range(1, 2000)]
    rows = [(i, b if i > 500 else i + 1000, c) for i, b, c in rows]
    for mod, name in ((limbodb, "l.db"), (sqlite3, "s.db")):
        path = os.path.join(tmp_path, name)
        _build(mod, path, rows, [])
        con = mod.connect(path, isolation_level=None)
        with pytest.raises(mod.IntegrityError, match=r"UNIQUE constraint failed: t\.b"):
            con.execute("CREATE UNIQUE INDEX ub ON t(b)")
        assert con.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'ub'").fetchone() == (0,)
        con.execute("CREATE UNIQUE INDEX ua ON t(a, b)")
        con.close()
    assert sqlite3.connect(os.path.join(tmp_path, "l.db")).execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_unique_index_allows_repeated_nulls(tmp_path):
    rows = [(i, None if i % 3 else i, "y") for i in range(1, 1500)]
    path = os.path.join(tmp_path, "l.db")
    _build(limbodb, path, rows, ["CREATE UNIQUE INDEX ub ON t(b)"])
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert con.execute("SELECT count(*) FROM t INDEXED BY ub WHERE b IS NULL").fetchone() == (1000,)


@pytest.mark.parametrize("index, scan", [
    ("CREATE INDEX ie ON t(lower(c), b DESC)", "SELECT a FROM t INDEXED BY ie WHERE lower(c) > ''"),
    ("CREATE INDEX ie ON t(b) WHERE a % 3 = 0", "SELECT a FROM t INDEXED BY ie WHERE a % 3 = 0"),
    ("CREATE UNIQUE INDEX ie ON t(c, a) WHERE b IS NOT NULL", "SELECT a FROM t INDEXED BY ie WHERE b IS NOT NULL"),
])
def test_expression_and_partial_indexes_are_built_sorted_and_rebuilt_by_reindex(tmp_path, index, scan):
    rows = _rows(3000, 11)
    lim = os.path.join(tmp_path, "l.db")
    ref = os.path.join(tmp_path, "s.db")
    _build(limbodb, lim, rows, [index])
    _build(sqlite3, ref, rows, [index])
    con = limbodb.connect(lim, isolation_level=None)
    con.execute("REINDEX ie")
    con.close()
    check = sqlite3.connect(lim)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert check.execute(scan).fetchall() == sqlite3.connect(ref).execute(scan).fetchall()
