"""VACUUM and VACUUM INTO: compact files sqlite3 accepts, same contents, SQLite's errors."""

import os
import sqlite3

import pytest

import limbodb
from limbodb.io.sim import SimulatedIO


def _fill(c):
    c.execute("PRAGMA user_version = 7")
    c.execute("PRAGMA application_id = 1234")
    c.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b, c UNIQUE)")
    c.execute("CREATE INDEX tb ON t(b)")
    c.execute("CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID")
    c.execute("CREATE TABLE s(id INTEGER PRIMARY KEY AUTOINCREMENT, x)")
    c.execute("CREATE VIEW v AS SELECT a, c FROM t WHERE a < 10")
    c.executemany("INSERT INTO t(b, c) VALUES(?, ?)", [(str(i) * 30, i) for i in range(1500)])
    c.executemany("INSERT INTO w VALUES(?, ?)", [(f"k{i:05}", b"x" * (i % 700)) for i in range(400)])
    c.executemany("INSERT INTO s(x) VALUES(?)", [(i,) for i in range(50)])
    c.commit()
    c.execute("DELETE FROM t WHERE a % 3 <> 0")
    c.execute("DELETE FROM w WHERE k > 'k00100'")
    c.execute("DROP TABLE s")
    c.commit()


def _contents(c):
    out = [c.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name").fetchall()]
    for q in ("SELECT * FROM t", "SELECT * FROM w", "SELECT * FROM v", "SELECT b FROM t ORDER BY b",
              "PRAGMA user_version", "PRAGMA application_id", "PRAGMA page_size"):
        out.append(c.execute(q).fetchall())
    return out


def _check_with_sqlite(path):
    c = sqlite3.connect(path)
    try:
        assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert c.execute("PRAGMA freelist_count").fetchone() == (0,)
        return _contents(c)
    finally:
        c.close()


def test_vacuum_compacts_the_file_in_place(tmp_path):
    path = str(tmp_path / "l.db")
    c = limbodb.connect(path)
    _fill(c)
    before = _contents(c)
    assert c.execute("PRAGMA freelist_count").fetchone()[0] > 0
    pages = c.execute("PRAGMA page_count").fetchone()[0]
    c.execute("VACUUM")
    assert c.execute("PRAGMA freelist_count").fetchone() == (0,)
    assert c.execute("PRAGMA page_count").fetchone()[0] < pages
    assert _contents(c) == before
    assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    c.execute("INSERT INTO t(b, c) VALUES('after', -1)")
    c.commit()
    c.close()
    assert os.path.getsize(path) < pages * 4096
    after = _check_with_sqlite(path)
    assert after[1] == before[1] + [(1501, "after", -1)]


def test_vacuum_into_writes_a_compact_copy_sqlite_opens(tmp_path):
    path = str(tmp_path / "l.db")
    out = str(tmp_path / "copy.db")
    c = limbodb.connect(path)
    _fill(c)
    before = _contents(c)
    c.execute("VACUUM INTO ?", (out,))
    assert _check_with_sqlite(out) == before
    assert os.path.getsize(out) < os.path.getsize(path) + os.path.getsize(path + "-wal")
    with open(out, "rb") as f:
        assert f.read(20)[18:20] == b"\x01\x01"
    mine = limbodb.connect(out)
    assert _contents(mine) == before
    mine.close()
    c.close()


def test_vacuum_of_a_file_written_by_sqlite3(tmp_path):
    path = str(tmp_path / "s.db")
    s = sqlite3.connect(path)
    _fill(s)
    expected = _contents(s)
    s.close()
    size = os.path.getsize(path)
    c = limbodb.connect(path)
    c.execute("VACUUM")
    c.close()
    assert _check_with_sqlite(path) == expected
    assert os.path.getsize(path) <= size


@pytest.mark.parametrize("sql", ["VACUUM", "VACUUM INTO 'x.db'"])
def test_vacuum_is_refused_inside_a_transaction(tmp_path, sql):
    msgs = []
    for mod in (sqlite3, limbodb):
        c = mod.connect(str(tmp_path / f"{mod.__name__}.db"), isolation_level=None)
        c.execute("CREATE TABLE t(a)")
        c.execute("BEGIN")
        with pytest.raises(mod.OperationalError) as e:
            c.execute(sql.replace("x.db", str(tmp_path / f"{mod.__name__}-x.db")))
        msgs.append(str(e.value))
        c.execute("ROLLBACK")
        c.close()
    assert msgs[0] == msgs[1] == "cannot VACUUM from within a transaction"


@pytest.mark.parametrize("target", ["NULL", "5", "'exists.db'"])
def test_vacuum_into_errors_match_sqlite(tmp_path, target):
    other = sqlite3.connect(tmp_path / "exists.db")
    other.execute("CREATE TABLE x(y)")
    other.close()
    msgs = []
    for mod in (sqlite3, limbodb):
        c = mod.connect(str(tmp_path / f"{mod.__name__}.db"))
        c.execute("CREATE TABLE t(a)")
        with pytest.raises(mod.OperationalError) as e:
            c.execute(f"VACUUM INTO {target}".replace("exists.db", str(tmp_path / "exists.db")))
        msgs.append(str(e.value))
        c.close()
    assert msgs[0] == msgs[1]


@pytest.mark.parametrize("seed", range(3))
def test_vacuum_is_reentrant_under_simulated_io(tmp_path, seed):
    path = str(tmp_path / "s.db")
    s = sqlite3.connect(path)
    _fill(s)
    expected = _contents(s)
    s.close()
    with open(path, "rb") as f:
        io = SimulatedIO(seed, files={"s.db": f.read()})
    c = limbodb.connect("s.db", io=io)
    c.execute("VACUUM INTO 'copy.db'")
    c.execute("VACUUM")
    assert _contents(c) == expected
    assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    c.close()
    out = tmp_path / "copy.db"
    out.write_bytes(bytes(io.files["copy.db"].volatile))
    assert _check_with_sqlite(str(out)) == expected


def test_vacuum_with_a_statement_in_progress_is_refused_like_sqlite():
    msgs = []
    for mod in (sqlite3, limbodb):
        c = mod.connect(":memory:")
        c.execute("VACUUM")
        c.execute("CREATE TABLE t(a)")
        c.executemany("INSERT INTO t VALUES(?)", [(i,) for i in range(100)])
        c.commit()
        cur = c.execute("SELECT * FROM t")
        cur.fetchone()
        with pytest.raises(mod.OperationalError) as e:
            c.execute("VACUUM")
        msgs.append(str(e.value))
        cur.fetchall()
        c.execute("VACUUM")
        assert c.execute("SELECT count(*) FROM t").fetchall() == [(100,)]
        c.close()
    assert msgs[0] == msgs[1] == "cannot VACUUM - SQL statements in progress"


def test_another_connection_sees_the_vacuumed_database(tmp_path):
    path = str(tmp_path / "l.db")
    c1 = limbodb.connect(path)
    c2 = limbodb.connect(path)
    c1.execute("CREATE TABLE t(a, b)")
    c1.executemany("INSERT INTO t VALUES(?, ?)", [(i, "x" * 100) for i in range(500)])
    c1.commit()
    assert c2.execute("SELECT count(*) FROM t").fetchall() == [(500,)]
    c1.execute("DELETE FROM t WHERE a > 10")
    c1.commit()
    c1.execute("VACUUM")
    assert c2.execute("SELECT count(*), sum(a) FROM t").fetchall() == [(11, 55)]
    assert c2.execute("PRAGMA page_count").fetchall() == [(2,)]
    c2.execute("INSERT INTO t VALUES(1000, 'y')")
    c2.commit()
    assert c1.execute("SELECT count(*), sum(a) FROM t").fetchall() == [(12, 1055)]
    c1.close()
    c2.close()
    s = sqlite3.connect(path)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    s.close()


def test_vacuum_into_from_a_memory_database_writes_a_real_file(tmp_path):
    out = tmp_path / "copy.db"
    c = limbodb.connect(":memory:")
    c.execute("CREATE TABLE t(a, b)")
    c.executemany("INSERT INTO t VALUES(?, ?)", [(i, "v" * i) for i in range(200)])
    c.commit()
    c.execute("VACUUM INTO ?", (str(out),))
    c.close()
    s = sqlite3.connect(out)
    assert s.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert s.execute("SELECT count(*), sum(length(b)) FROM t").fetchone() == (200, 19900)
    s.close()
