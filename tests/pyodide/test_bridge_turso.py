"""The JS binding's Python half (limbodb.io.opfs.bridge) for Turso's features, on CPython:
encrypted opens, the WAL frame API, and a schema reloaded after another connection changed it."""

import shutil
import sqlite3

import pytest

from limbodb.errors import DatabaseError
from limbodb.io import BlockingIO
from limbodb.io.opfs.bridge import SQLITE, Bridge

HEXKEY = "aa" * 32


@pytest.fixture
def bridge():
    return Bridge(BlockingIO())


def rows(bridge, cid, sql):
    sid, _ = bridge.prepare(cid, sql)
    try:
        return bridge.rows(sid, None, 0, False)[0]
    finally:
        bridge.finalize(sid)


def test_an_encrypted_open_needs_the_key(bridge, tmp_path):
    path = str(tmp_path / "enc.db")
    cid = bridge.open(path, False, False, "aes256gcm", HEXKEY)
    bridge.exec(cid, "create table t(x); insert into t values ('secret text')")
    bridge.close(cid)
    data = (tmp_path / "enc.db").read_bytes()
    assert data.startswith(b"Turso\0") and b"secret text" not in data
    cid = bridge.open(path, False, False, "aes256gcm", HEXKEY)
    assert rows(bridge, cid, "select x from t") == [("secret text",)]
    bridge.close(cid)
    with pytest.raises(DatabaseError):
        bridge.open(path)
    assert bridge.take_error()[2] == "SQLITE_NOTADB"


def test_frames_shipped_between_connections_make_an_equal_replica(bridge, tmp_path):
    p = bridge.open(str(tmp_path / "p.db"))
    bridge.exec(p, "pragma journal_mode = wal; pragma user_version = 1")
    bridge.exec(p, "pragma wal_checkpoint(truncate)")
    bridge.wal_auto_checkpoint_disable(p)
    assert bridge.wal_frame_count(p) == 0
    shutil.copyfile(tmp_path / "p.db", tmp_path / "r.db")
    r = bridge.open(str(tmp_path / "r.db"))
    bridge.wal_auto_checkpoint_disable(r)
    bridge.exec(p, "create table t(a integer primary key, b); insert into t(b) values ('x'), ('y')")
    frames = [bridge.wal_get_frame(p, n) for n in range(1, bridge.wal_frame_count(p) + 1)]
    bridge.wal_insert_begin(r)
    for n, frame in enumerate(frames, 1):
        bridge.wal_insert_frame(r, n, frame)
    forged = frames[0][:-1] + bytes([frames[0][-1] ^ 1])
    with pytest.raises(BaseException):
        bridge.wal_insert_frame(r, 1, forged)
    assert bridge.take_error()[0] == SQLITE
    bridge.wal_insert_end(r)
    assert bridge.wal_frame_count(r) == len(frames)
    # The replica's connection reloads the schema the inserted frames brought.
    assert rows(bridge, r, "select a, b from t order by a") == [(1, "x"), (2, "y")]
    shutil.copyfile(tmp_path / "r.db", tmp_path / "copy.db")
    shutil.copyfile(tmp_path / "r.db-wal", tmp_path / "copy.db-wal")
    con = sqlite3.connect(tmp_path / "copy.db")
    assert con.execute("pragma integrity_check").fetchall() == [("ok",)]
    assert con.execute("select a, b from t order by a").fetchall() == [(1, "x"), (2, "y")]
    con.close()
    bridge.close(p)
    bridge.close(r)
