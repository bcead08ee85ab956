"""limbodb's I/O layer inside Pyodide under Node: MemoryIO, NodeIO on host files, OpfsIO on a JS handle.

One Pyodide boot runs every check (booting costs seconds); each test then
asserts its part of the report, and the host side checks the files with plain
``open`` and Python's ``sqlite3``.
"""

import sqlite3

import pytest

IN_PYODIDE = r'''
import json
import sys

import host
from pyodide.code import run_js

from limbodb.errors import IOError_, OperationalError, SQLITE_CANTOPEN, SQLITE_IOERR_READ
from limbodb.io import EXCLUSIVE_LOCK, OPEN_READONLY, CompletionGroup, MemoryIO
from limbodb.io.opfs.backend import OpfsIO
from limbodb.io.opfs.node import NodeFile, NodeIO

out = {"python": sys.version.split()[0], "startup_ms": host.startupMs}

# MemoryIO: the contract's basics, completions finished at once.
mio = MemoryIO()
f = mio.open_file("m")
group = CompletionGroup([f.pwrite(0, b"hello"), f.pwrite(10, b"!")]).build()
out["memory"] = {
    "group": group.result, "read": f.pread(0, 11).result.hex(), "short": f.pread(8, 10).result.hex(),
    "size": f.size().result, "after_truncate": (f.truncate(3).result, f.size().result),
}

d = host.dir
nio = NodeIO(host.fs, host.process)

# NodeIO writes a file the host reads back.
f = nio.open_file(d + "/from_pyodide.bin")
writes = [f.pwrite(0, bytes(range(256)) * 16).result, f.pwrite(8192, b"tail").result]
f.sync().raise_if_failed()
out["node_write"] = {"writes": writes, "size": f.size().result}
f.truncate(8194).raise_if_failed()
out["node_write"]["size_after_truncate"] = f.size().result
f.close()

# NodeIO reads a file the host wrote, including a short read at its end.
f = nio.open_file(d + "/from_host.bin", OPEN_READONLY)
out["node_read"] = {
    "head": f.pread(0, 4).result.hex(), "middle": f.pread(1000, 3).result.hex(),
    "short": f.pread(f.size().result - 2, 100).result.hex(), "past_end": f.pread(10**6, 10).result.hex(),
}
f.close()

# Errors: a missing file opened read-only, and a read on a bad descriptor.
try:
    nio.open_file(d + "/missing.db", OPEN_READONLY)
except OperationalError as e:
    out["open_missing"] = [str(e), e.sqlite_errorcode == SQLITE_CANTOPEN]
bad = NodeFile(nio, d + "/bad", 987654).pread(0, 10)
out["bad_read"] = [type(bad.error()).__name__, isinstance(bad.error(), IOError_),
                   bad.error().sqlite_errorcode == SQLITE_IOERR_READ]
nio.remove(d + "/missing.db")
out["exists"] = [nio.exists(d + "/from_host.bin"), nio.exists(d + "/missing.db")]

# The lock file: one holder at a time, removed on unlock.
a = nio.open_file(d + "/locked.db")
b = nio.open_file(d + "/locked.db")
locks = [a.lock(EXCLUSIVE_LOCK), nio.exists(d + "/locked.db-lock"), b.lock(EXCLUSIVE_LOCK)]
a.unlock()
locks += [nio.exists(d + "/locked.db-lock"), b.lock(EXCLUSIVE_LOCK)]
a.close()
b.close()
locks.append(nio.exists(d + "/locked.db-lock"))
out["locks"] = locks

# OpfsIO over a JS object with FileSystemSyncAccessHandle's methods.
FakeHandle = run_js("""
(class {
  constructor() { this.bytes = new Uint8Array(0); this.flushes = 0; }
  read(buf, { at }) { const n = Math.max(0, Math.min(buf.length, this.bytes.length - at)); buf.set(this.bytes.subarray(at, at + n)); return n; }
  write(buf, { at }) {
    if (at + buf.length > this.bytes.length) { const g = new Uint8Array(at + buf.length); g.set(this.bytes); this.bytes = g; }
    this.bytes.set(buf, at); return buf.length;
  }
  flush() { this.flushes++; }
  getSize() { return this.bytes.length; }
  truncate(n) { const g = new Uint8Array(n); g.set(this.bytes.subarray(0, n)); this.bytes = g; }
  close() {}
})
""")
handles = run_js("new Map()")
handles.set("db", FakeHandle.new())
handles.set("db-wal", FakeHandle.new())
oio = OpfsIO(handles)
f = oio.open_file("db")
f.pwrite(0, b"abcdef")
f.pwrite(8, b"xy")
opfs = {"read": f.pread(0, 10).result.hex(), "short": f.pread(7, 10).result.hex(), "flushes_before_sync": handles.get("db").flushes}
f.sync()
opfs["flushes_after_sync"] = handles.get("db").flushes
opfs["exists"] = [oio.exists("db"), oio.exists("db-wal"), oio.exists("nothere")]
oio.remove("db")
opfs["after_remove"] = [f.size().result, oio.exists("db")]
try:
    oio.open_file("other.db")
except OperationalError as e:
    opfs["unknown"] = str(e)
out["opfs"] = opfs

# The engine itself on NodeIO: a database the host's sqlite3 then reads.
import limbodb

conn = limbodb.connect(d + "/engine.db", io=nio, isolation_level=None)
conn.execute("create table t(a integer primary key, b text)")
for i in range(200):
    conn.execute("insert into t(b) values (?)", ("value %d" % i,))
out["engine_rows"] = conn.execute("select b from t where a = 100").fetchall()
conn.close()

print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def report(run_in_pyodide, tmp_path_factory):
    d = tmp_path_factory.mktemp("host")
    (d / "from_host.bin").write_bytes(bytes(range(256)) * 8)
    result = run_in_pyodide(IN_PYODIDE, host={"dir": str(d)})
    return result, d


def test_pyodide_runs_a_supported_python(report):
    result, _ = report
    major, minor = map(int, result["python"].split(".")[:2])
    assert (major, minor) >= (3, 11)


def test_memory_backend_honours_the_completion_contract(report):
    m = report[0]["memory"]
    assert m["group"] == [5, 1]
    assert m["read"] == b"hello\0\0\0\0\0!".hex()
    assert m["short"] == b"\0\0!".hex()
    assert m["size"] == 11
    assert m["after_truncate"] == [None, 3]


def test_a_file_written_through_node_io_reads_back_on_the_host(report):
    result, d = report
    assert result["node_write"] == {"writes": [4096, 4], "size": 8196, "size_after_truncate": 8194}
    data = (d / "from_pyodide.bin").read_bytes()
    assert data == bytes(range(256)) * 16 + bytes(4096) + b"ta"


def test_a_host_file_reads_back_through_node_io(report):
    r = report[0]["node_read"]
    assert r["head"] == "00010203"
    assert r["middle"] == bytes([1000 % 256, 1001 % 256, 1002 % 256]).hex()
    assert r["short"] == "feff"
    assert r["past_end"] == ""


def test_node_io_reports_errors_with_sqlite_codes(report):
    result = report[0]
    assert result["open_missing"] == ["unable to open database file", True]
    assert result["bad_read"] == ["IOError_", True, True]
    assert result["exists"] == [True, False]


def test_the_lock_file_admits_one_holder_and_is_removed_on_unlock(report):
    assert report[0]["locks"] == [True, True, False, False, True, False]


def test_opfs_io_reads_writes_and_flushes_only_on_sync(report):
    o = report[0]["opfs"]
    assert o["read"] == b"abcdef\0\0xy".hex()
    assert o["short"] == b"\0xy".hex()
    assert (o["flushes_before_sync"], o["flushes_after_sync"]) == (0, 1)
    assert o["exists"] == [True, False, False]
    assert o["after_remove"] == [0, False]
    assert o["unknown"] == "unable to open database file"


def test_the_engine_on_node_io_writes_a_database_sqlite3_accepts(report):
    result, d = report
    assert result["engine_rows"] == [["value 99"]]
    conn = sqlite3.connect(d / "engine.db")
    try:
        assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert conn.execute("select b from t where a = 200").fetchall() == [("value 199",)]
    finally:
        conn.close()
