"""MVCC files against pyturso: the same logical log, and each engine opens the other's files.

- The same workload logs the same frames in both engines (ops, flags, table ids, records;
  header ops up to the fields fixed when the file was created: change counter, cache size,
  SQLite version).
- Files limbodb leaves with an unflushed log (its connection never closed) open in pyturso
  with the same rows, with the WAL and without it (then only the log has the commits).
- pyturso killed -9 in the middle of MVCC commits, before any checkpoint: limbodb opens the
  files, replays the log and sees every acknowledged commit; pyturso then reads the result.
"""

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

import limbodb
from limbodb.mvcc_log import OP_UPDATE_HEADER, parse_log

turso = pytest.importorskip("turso")

WORKLOAD = [
    "CREATE TABLE t1 (a INTEGER PRIMARY KEY, b TEXT)",
    "CREATE INDEX i1 ON t1 (b)",
    "INSERT INTO t1 VALUES (1, 'x'), (2, 'y')",
    "INSERT INTO t1 (b) VALUES ('q')",
    "DELETE FROM t1 WHERE a = 2",
    "PRAGMA wal_checkpoint(TRUNCATE)",
    "DELETE FROM t1 WHERE a = 1",
    "INSERT INTO t1 VALUES (5, 'w')",
    "PRAGMA user_version = 3",
    "CREATE TABLE t2 (c, d UNIQUE)",
    "INSERT INTO t2 VALUES (1, 2), (3, x'0102')",
    "DROP TABLE t2",
    "PRAGMA application_id = 77",
]


def _comparable(frames):
    """Frames without commit_ts; header ops without the fields set at file creation."""
    out = []
    for _ts, ops in frames:
        frame = []
        for tag, flags, table_id, payload in ops:
            payload = bytearray(payload)
            if tag == OP_UPDATE_HEADER:
                for start, end in ((24, 28), (48, 52), (92, 100)):
                    payload[start:end] = bytes(end - start)
            frame.append((tag, flags, table_id, bytes(payload)))
        out.append(frame)
    return out


def test_the_same_workload_logs_the_same_frames(tmp_path):
    logs = []
    for mod in (turso, limbodb):
        path = str(tmp_path / (mod.__name__ + ".db"))
        c = mod.connect(path, isolation_level=None)
        assert c.execute("PRAGMA journal_mode = mvcc").fetchall() == [("mvcc",)]
        for sql in WORKLOAD:
            c.execute(sql).fetchall()
        with open(path + "-log", "rb") as f:
            logs.append(_comparable(parse_log(f.read())[1]))
        with open(path, "rb") as f:
            assert f.read(20)[18:20] == b"\xff\xff"
        c.close()
    assert len(logs[1]) == 7
    assert logs[0] == logs[1]


def _limbodb_unflushed(path):
    """A limbodb MVCC database whose last connection never closed: WAL and log hold commits."""
    c = limbodb.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode = mvcc").fetchall()
    c.execute("CREATE TABLE t1 (a INTEGER PRIMARY KEY, b TEXT, c)")
    c.execute("CREATE INDEX i1 ON t1 (b)")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.executemany("INSERT INTO t1 (b, c) VALUES (?, ?)", [("k%03d" % i, i * 1.5) for i in range(60)])
    c.execute("CREATE TABLE t2 (x UNIQUE, y)")
    c.execute("INSERT INTO t2 VALUES ('p', 1), ('q', 2)")
    c.execute("UPDATE t1 SET b = 'changed' WHERE a % 7 = 0")
    c.execute("DELETE FROM t1 WHERE a % 5 = 0")
    c.execute("DELETE FROM t2 WHERE x = 'p'")
    c.execute("CREATE TABLE t3 (z)")
    c.execute("DROP TABLE t3")
    c.execute("PRAGMA user_version = 12")
    b = limbodb.connect(path, isolation_level=None)
    c.execute("BEGIN CONCURRENT")
    b.execute("BEGIN CONCURRENT")
    c.execute("INSERT INTO t1 (b) VALUES ('from c')")
    b.execute("INSERT INTO t1 (b) VALUES ('from b')")
    c.execute("COMMIT")
    b.execute("COMMIT")
    expected = (c.execute("SELECT * FROM t1 ORDER BY a").fetchall(),
                c.execute("SELECT * FROM t2").fetchall())
    return (c, b), expected


@pytest.mark.parametrize("keep_wal", [True, False], ids=["with-wal", "log-only"])
def test_limbodb_files_with_an_unflushed_log_open_in_pyturso(tmp_path, keep_wal):
    src = str(tmp_path / "src.db")
    conns, (rows1, rows2) = _limbodb_unflushed(src)
    assert os.path.getsize(src + "-log") > 56
    dst = str(tmp_path / "copy.db")
    shutil.copy(src, dst)
    shutil.copy(src + "-log", dst + "-log")
    if keep_wal:
        shutil.copy(src + "-wal", dst + "-wal")
    for c in conns:
        c.close()
    t = turso.connect(dst, isolation_level=None)
    assert t.execute("SELECT * FROM t1 ORDER BY a").fetchall() == rows1
    assert t.execute("SELECT * FROM t2").fetchall() == rows2
    assert t.execute("SELECT a FROM t1 WHERE b = 'changed' ORDER BY a").fetchall() == \
        [(a,) for a, b, _ in rows1 if b == "changed"]
    assert t.execute("SELECT name FROM sqlite_schema WHERE name = 't3'").fetchall() == []
    assert t.execute("PRAGMA user_version").fetchall() == [(12,)]
    t.execute("INSERT INTO t1 (b) VALUES ('from turso')")
    assert t.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall() == [(0, 0, 0)]
    assert t.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    t.close()
    c = limbodb.connect(dst)
    assert c.execute("SELECT * FROM t1 ORDER BY a").fetchall()[:-1] == rows1
    assert c.execute("SELECT b FROM t1 ORDER BY a DESC LIMIT 1").fetchall() == [("from turso",)]
    assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    c.close()


_TURSO_CHILD = textwrap.dedent("""
    import sys, turso
    path = sys.argv[1]
    a = turso.connect(path, isolation_level=None)
    b = turso.connect(path, isolation_level=None)
    a.execute("PRAGMA journal_mode = mvcc").fetchall()
    a.execute("CREATE TABLE t1 (a INTEGER PRIMARY KEY, b TEXT)")
    a.execute("CREATE INDEX i1 ON t1 (b)")
    a.execute("CREATE TABLE t2 (k TEXT PRIMARY KEY, v)")
    i = 0
    while True:
        i += 1
        a.execute("BEGIN CONCURRENT")
        b.execute("BEGIN CONCURRENT")
        a.execute("INSERT INTO t1 VALUES (?, ?)", (2 * i, "a%d" % i))
        b.execute("INSERT INTO t1 VALUES (?, ?)", (2 * i + 1, "b%d" % i))
        a.execute("COMMIT")
        b.execute("COMMIT")
        a.execute("INSERT OR REPLACE INTO t2 VALUES (?, ?)", ("k%d" % (i % 7), i))
        if i % 3 == 0:
            a.execute("UPDATE t1 SET b = 'u' || b WHERE a = ?", (2 * i,))
        if i % 4 == 0:
            a.execute("DELETE FROM t1 WHERE a = ?", (2 * i - 1,))
        sys.stdout.write("%d\\n" % i)
        sys.stdout.flush()
""")


def _expected_after(n):
    t1 = {}
    t2 = {}
    for i in range(1, n + 1):
        t1[2 * i] = "a%d" % i
        t1[2 * i + 1] = "b%d" % i
        t2["k%d" % (i % 7)] = i
        if i % 3 == 0:
            t1[2 * i] = "u" + t1[2 * i]
        if i % 4 == 0:
            t1.pop(2 * i - 1, None)
    return t1, t2


def test_pyturso_killed_before_checkpoint_opens_in_limbodb(tmp_path):
    path = str(tmp_path / "k.db")
    proc = subprocess.Popen([sys.executable, "-c", _TURSO_CHILD, path], stdout=subprocess.PIPE, text=True)
    acked = 0
    try:
        for line in proc.stdout:
            acked = int(line)
            if acked >= 30:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert acked >= 30
    with open(path + "-log", "rb") as f:
        assert len(parse_log(f.read())[1]) >= 3 * acked
    c = limbodb.connect(path)
    t1 = dict(c.execute("SELECT a, b FROM t1").fetchall())
    t2 = dict(c.execute("SELECT k, v FROM t2").fetchall())
    # Every acknowledged commit; the iteration in flight may have committed part of its work.
    done, nxt = _expected_after(acked), _expected_after(acked + 1)
    for k, v in done[0].items():
        assert t1[k] == v or t1.get(k) == nxt[0].get(k)
    assert set(t1) <= set(nxt[0]) | set(done[0])
    assert t2 in (done[1], nxt[1]) or all(t2[k] in (done[1].get(k), nxt[1].get(k)) for k in t2)
    assert c.execute("SELECT a FROM t1 INDEXED BY i1 ORDER BY b, a").fetchall() == \
        [(k,) for k, _ in sorted(t1.items(), key=lambda kv: (kv[1], kv[0]))]
    assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    c.close()
    assert os.path.getsize(path + "-log") == 0
    t = turso.connect(path)
    assert dict(t.execute("SELECT a, b FROM t1").fetchall()) == t1
    assert t.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    t.close()



def test_pyturso_replays_limbodb_ddl_from_the_log_alone(tmp_path):
    # Schema rows updated in place, and a dropped index's page reused by a new index: the
    # log must name the new one by an id Turso does not give the file's old index.
    path = str(tmp_path / "d.db")
    c = limbodb.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode = mvcc").fetchall()
    c.execute("CREATE TABLE t1 (a INTEGER PRIMARY KEY, b)")
    c.execute("CREATE INDEX i1 ON t1 (b)")
    c.executemany("INSERT INTO t1 VALUES (?, ?)", [(i, "b%d" % i) for i in range(30)])
    steps = ["PRAGMA wal_checkpoint(TRUNCATE)", "ALTER TABLE t1 ADD COLUMN c DEFAULT 5",
             "ALTER TABLE t1 RENAME TO t2", "DROP INDEX i1", "CREATE INDEX i2 ON t2 (b DESC)",
             "CREATE TABLE t3 (x UNIQUE)", "INSERT INTO t3 VALUES (1), (2)", "DELETE FROM t2 WHERE a < 5"]
    for n, step in enumerate(steps):
        c.execute(step).fetchall()
        query = "SELECT * FROM %s ORDER BY a" % ("t2" if n >= 2 else "t1")
        expected = (c.execute(query).fetchall(),
                    c.execute("SELECT name FROM sqlite_schema ORDER BY name").fetchall())
        copy = str(tmp_path / ("copy%d.db" % n))
        shutil.copy(path, copy)
        shutil.copy(path + "-log", copy + "-log")
        t = turso.connect(copy)
        assert (t.execute(query).fetchall(),
                t.execute("SELECT name FROM sqlite_schema ORDER BY name").fetchall()) == expected, step
        t.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert t.execute("PRAGMA integrity_check").fetchall() == [("ok",)], step
        t.close()
    c.close()
