"""limbodb's I/O layer inside Pyodide under Node: MemoryIO, NodeIO on host files, OpfsIO on a JS handle.

The ``run_in_pyodide`` functions run in the Pyodide of this module's Node
process (pytest-pyodide, see conftest.py), where limbodb is the working tree's
wheel. NodeIO is given Node's own ``fs`` and ``process`` (the Node runtime's
``require``); the files it touches are the host's, so host tests check them
with plain ``open`` and Python's ``sqlite3``.
"""

import sqlite3

from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["limbodb"])
def test_pyodide_runs_a_supported_python(selenium):
    import sys

    assert sys.platform == "emscripten"
    assert sys.version_info >= (3, 11)


@run_in_pyodide(packages=["limbodb"])
def test_memory_backend_honours_the_completion_contract(selenium):
    from limbodb.io import CompletionGroup, MemoryIO

    f = MemoryIO().open_file("m")
    group = CompletionGroup([f.pwrite(0, b"hello"), f.pwrite(10, b"!")]).build()
    # MemoryIO finishes every completion at once.
    assert group.result == [5, 1]
    assert f.pread(0, 11).result == b"hello\0\0\0\0\0!"
    assert f.pread(8, 10).result == b"\0\0!"
    assert f.size().result == 11
    assert f.truncate(3).result is None
    assert f.size().result == 3


@run_in_pyodide(packages=["limbodb"])
def _write_through_node_io(selenium, path):
    from js import process, require
    from limbodb.io.opfs.node import NodeIO

    f = NodeIO(require("node:fs"), process).open_file(path)
    writes = [f.pwrite(0, bytes(range(256)) * 16).result, f.pwrite(8192, b"tail").result]
    f.sync().raise_if_failed()
    sizes = [f.size().result]
    f.truncate(8194).raise_if_failed()
    sizes.append(f.size().result)
    f.close()
    return writes, sizes


def test_a_file_written_through_node_io_reads_back_on_the_host(selenium, tmp_path):
    path = tmp_path / "from_pyodide.bin"
    assert _write_through_node_io(selenium, str(path)) == ([4096, 4], [8196, 8194])
    assert path.read_bytes() == bytes(range(256)) * 16 + bytes(4096) + b"ta"


@run_in_pyodide(packages=["limbodb"])
def _read_through_node_io(selenium, path):
    from js import process, require
    from limbodb.io import OPEN_READONLY
    from limbodb.io.opfs.node import NodeIO

    f = NodeIO(require("node:fs"), process).open_file(path, OPEN_READONLY)
    try:
        return [f.pread(0, 4).result, f.pread(1000, 3).result, f.pread(f.size().result - 2, 100).result,
                f.pread(10**6, 10).result]
    finally:
        f.close()


def test_a_host_file_reads_back_through_node_io(selenium, tmp_path):
    path = tmp_path / "from_host.bin"
    path.write_bytes(bytes(range(256)) * 8)
    head, middle, short, past_end = _read_through_node_io(selenium, str(path))
    assert head == bytes([0, 1, 2, 3])
    assert middle == bytes([1000 % 256, 1001 % 256, 1002 % 256])
    assert short == b"\xfe\xff"
    assert past_end == b""


@run_in_pyodide(packages=["limbodb"])
def test_node_io_reports_errors_with_sqlite_codes(selenium, tmp_path):
    import pytest
    from js import process, require
    from limbodb.errors import SQLITE_CANTOPEN, SQLITE_IOERR_READ, IOError_, OperationalError
    from limbodb.io import OPEN_READONLY
    from limbodb.io.opfs.node import NodeFile, NodeIO

    d = str(tmp_path)
    nio = NodeIO(require("node:fs"), process)
    with pytest.raises(OperationalError, match="^unable to open database file$") as raised:
        nio.open_file(d + "/missing.db", OPEN_READONLY)
    assert raised.value.sqlite_errorcode == SQLITE_CANTOPEN
    bad = NodeFile(nio, d + "/bad", 987654).pread(0, 10)
    assert isinstance(bad.error(), IOError_)
    assert bad.error().sqlite_errorcode == SQLITE_IOERR_READ
    nio.remove(d + "/missing.db")
    nio.open_file(d + "/there.db").close()
    assert (nio.exists(d + "/there.db"), nio.exists(d + "/missing.db")) == (True, False)


@run_in_pyodide(packages=["limbodb"])
def test_the_lock_file_admits_one_holder_and_is_removed_on_unlock(selenium, tmp_path):
    from js import process, require
    from limbodb.io import EXCLUSIVE_LOCK
    from limbodb.io.opfs.node import NodeIO

    nio = NodeIO(require("node:fs"), process)
    path = str(tmp_path / "locked.db")
    a, b = nio.open_file(path), nio.open_file(path)
    assert a.lock(EXCLUSIVE_LOCK)
    assert nio.exists(path + "-lock")
    assert not b.lock(EXCLUSIVE_LOCK)
    a.unlock()
    assert not nio.exists(path + "-lock")
    assert b.lock(EXCLUSIVE_LOCK)
    a.close()
    b.close()
    assert not nio.exists(path + "-lock")


@run_in_pyodide(packages=["limbodb"])
def test_opfs_io_reads_writes_and_flushes_only_on_sync(selenium):
    import pytest
    from limbodb.errors import OperationalError
    from limbodb.io.opfs.backend import OpfsIO
    from pyodide.code import run_js

    # A JS object with FileSystemSyncAccessHandle's methods, counting flushes.
    FakeHandle = run_js("""
    (class {
      constructor() { this.bytes = new Uint8Array(0); this.flushes = 0; }
      read(buf, { at }) {
        const n = Math.max(0, Math.min(buf.length, this.bytes.length - at));
        buf.set(this.bytes.subarray(at, at + n)); return n;
      }
      write(buf, { at }) {
        if (at + buf.length > this.bytes.length) {
          const g = new Uint8Array(at + buf.length); g.set(this.bytes); this.bytes = g;
        }
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
    assert f.pread(0, 10).result == b"abcdef\0\0xy"
    assert f.pread(7, 10).result == b"\0xy"
    assert handles.get("db").flushes == 0
    f.sync()
    assert handles.get("db").flushes == 1
    assert [oio.exists("db"), oio.exists("db-wal"), oio.exists("nothere")] == [True, False, False]
    oio.remove("db")
    assert (f.size().result, oio.exists("db")) == (0, False)
    with pytest.raises(OperationalError, match="^unable to open database file$"):
        oio.open_file("other.db")


@run_in_pyodide(packages=["limbodb"])
def _fill_a_database_through_node_io(selenium, path):
    import limbodb
    from js import process, require
    from limbodb.io.opfs.node import NodeIO

    conn = limbodb.connect(path, io=NodeIO(require("node:fs"), process), isolation_level=None)
    try:
        conn.execute("create table t(a integer primary key, b text)")
        for i in range(200):
            conn.execute("insert into t(b) values (?)", ("value %d" % i,))
        return conn.execute("select b from t where a = 100").fetchall()
    finally:
        conn.close()


def test_the_engine_on_node_io_writes_a_database_sqlite3_accepts(selenium, tmp_path):
    path = tmp_path / "engine.db"
    assert _fill_a_database_through_node_io(selenium, str(path)) == [("value 99",)]
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]
        assert conn.execute("select b from t where a = 200").fetchall() == [("value 199",)]
    finally:
        conn.close()
