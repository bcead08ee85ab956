"""MVCC on an encrypted database against pyturso: the logical log encrypted as Turso encrypts it.

- Frames limbodb writes decrypt with Turso's layout (32 KiB chunks of ciphertext | tag |
  nonce, associated data salt / payload size / op count / commit_ts / chunk index), for
  each cipher family; the log holds no plaintext of the rows. Decrypted, the same workload
  logs the same ops in both engines (header ops with SQLite's magic, as Turso logs them).
- Files limbodb leaves with an unflushed encrypted log open in pyturso with the key.
- pyturso killed -9 between MVCC commits on an encrypted database: limbodb opens the files
  with the key, replays the log and sees every acknowledged commit.
- A wrong key (or none) fails clearly and leaves the files as they were.
"""

import hashlib
import os
import shutil
import signal
import struct
import subprocess
import sys
import textwrap

import pytest

import limbodb
from limbodb.mvcc_log import LOG_HDR_SIZE, OP_UPDATE_HEADER, TX_HEADER_SIZE, parse_log
from limbodb.storage.encryption import CIPHERS, EncryptionContext, make_aead

turso = pytest.importorskip("turso")

MARKER = "PLAINTEXT-MARKER-7f3a"


def _key(cipher, byte="5c"):
    return byte * CIPHERS[cipher][1]


def _limbodb(path, cipher, key):
    c = limbodb.connect(path, isolation_level=None, encryption={"cipher": cipher, "hexkey": key})
    assert c.execute("PRAGMA journal_mode = mvcc").fetchall() == [("mvcc",)]
    return c


def _turso(path, cipher, key):
    return turso.connect(path, isolation_level=None, experimental_features="encryption",
                         encryption=turso.EncryptionOpts(cipher=cipher, hexkey=key))


def _files(path):
    out = {}
    for suffix in ("", "-wal", "-log"):
        if os.path.exists(path + suffix):
            with open(path + suffix, "rb") as f:
                out[suffix] = hashlib.sha256(f.read()).hexdigest()
    return out


def _decrypt_by_hand(log, cipher, key):
    """The plaintext payloads of a log's frames, read by the layout alone (not mvcc_log)."""
    nonce_size = CIPHERS[cipher][2]
    aead = make_aead(cipher, bytes.fromhex(key))
    salt = log[8:16]
    off = LOG_HDR_SIZE
    payloads = []
    while off < len(log):
        magic, size, count, ts = struct.unpack_from("<4sQIQ", log, off)
        assert magic == b"MVTX"
        off += TX_HEADER_SIZE
        chunks = -(-size // 32768)
        plain = b""
        for i in range(chunks):
            n = min(32768, size - 32768 * i)
            blob = log[off:off + n + 16 + nonce_size]
            ad = salt + struct.pack("<QIQI", size if i == chunks - 1 else 0, count, ts, i)
            plain += aead.decrypt(blob[-nonce_size:], blob[:-nonce_size], ad)
            off += len(blob)
        assert len(plain) == size and log[off + 4:off + 8] == b"MVTE"
        payloads.append(plain)
        off += 8
    return payloads


@pytest.mark.parametrize("cipher", ["aes128gcm", "aes256gcm", "aegis256", "aegis128l"])
def test_limbodb_log_is_encrypted_in_turso_layout_and_opens_in_pyturso(tmp_path, cipher):
    key = _key(cipher)
    src = str(tmp_path / "src.db")
    c = _limbodb(src, cipher, key)
    c.execute("CREATE TABLE t1 (a INTEGER PRIMARY KEY, b TEXT, c)")
    c.execute("CREATE INDEX i1 ON t1 (b)")
    # One transaction over 32 KiB: its payload spans several chunks.
    c.execute("BEGIN")
    c.executemany("INSERT INTO t1 (b, c) VALUES (?, ?)",
                  [("%s-%03d" % (MARKER, i), "z" * 700) for i in range(80)])
    c.execute("COMMIT")
    c.execute("UPDATE t1 SET c = 'changed' WHERE a % 9 = 0")
    c.execute("DELETE FROM t1 WHERE a % 10 = 0")
    c.execute("PRAGMA user_version = 21")
    expected = c.execute("SELECT * FROM t1 ORDER BY a").fetchall()
    with open(src + "-log", "rb") as f:
        log = f.read()
    assert MARKER.encode() not in log and b"CREATE TABLE" not in log
    payloads = _decrypt_by_hand(log, cipher, key)
    assert any(MARKER.encode() in p for p in payloads)
    assert max(len(p) for p in payloads) > 32768
    # mvcc_log reads the same frames; with another key the CRCs hold but nothing decrypts.
    frames = parse_log(log, EncryptionContext(cipher, key))[1]
    assert len(frames) == len(payloads)
    for (_ts, ops), plain in zip(frames, payloads):
        assert all(bytes(op[3]) in plain for op in ops)
    with pytest.raises(limbodb.DatabaseError, match="fails decryption"):
        parse_log(log, EncryptionContext(cipher, _key(cipher, "77")))
    dst = str(tmp_path / "copy.db")
    shutil.copy(src, dst)
    shutil.copy(src + "-log", dst + "-log")  # the WAL left behind: only the log has the commits
    c.close()
    t = _turso(dst, cipher, key)
    assert t.execute("SELECT * FROM t1 ORDER BY a").fetchall() == expected
    assert t.execute("PRAGMA user_version").fetchall() == [(21,)]
    assert t.execute("SELECT count(*) FROM t1 INDEXED BY i1 WHERE b > ''").fetchall() == [(len(expected),)]
    t.execute("INSERT INTO t1 (b) VALUES ('from turso')")
    t.close()
    c = limbodb.connect(dst, encryption={"cipher": cipher, "hexkey": key})
    assert c.execute("SELECT * FROM t1 ORDER BY a").fetchall()[:-1] == expected
    assert c.execute("SELECT b FROM t1 ORDER BY a DESC LIMIT 1").fetchall() == [("from turso",)]
    assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    c.close()


_TURSO_CHILD = textwrap.dedent("""
    import sys, turso
    path, cipher, key = sys.argv[1:4]
    def connect():
        return turso.connect(path, isolation_level=None, experimental_features="encryption",
                             encryption=turso.EncryptionOpts(cipher=cipher, hexkey=key))
    a, b = connect(), connect()
    a.execute("PRAGMA journal_mode = mvcc").fetchall()
    a.execute("CREATE TABLE t1 (a INTEGER PRIMARY KEY, b TEXT)")
    a.execute("CREATE INDEX i1 ON t1 (b)")
    i = 0
    while True:
        i += 1
        a.execute("BEGIN CONCURRENT")
        b.execute("BEGIN CONCURRENT")
        a.execute("INSERT INTO t1 VALUES (?, ?)", (2 * i, "%s-a%d" % (sys.argv[4], i)))
        b.execute("INSERT INTO t1 VALUES (?, ?)", (2 * i + 1, "b%d" % i))
        a.execute("COMMIT")
        b.execute("COMMIT")
        if i % 3 == 0:
            a.execute("UPDATE t1 SET b = 'u' || b WHERE a = ?", (2 * i,))
        if i % 4 == 0:
            a.execute("DELETE FROM t1 WHERE a = ?", (2 * i - 1,))
        sys.stdout.write("%d\\n" % i)
        sys.stdout.flush()
""")


def _expected_after(n):
    t1 = {}
    for i in range(1, n + 1):
        t1[2 * i] = "%s-a%d" % (MARKER, i)
        t1[2 * i + 1] = "b%d" % i
        if i % 3 == 0:
            t1[2 * i] = "u" + t1[2 * i]
        if i % 4 == 0:
            t1.pop(2 * i - 1, None)
    return t1


def test_pyturso_killed_before_checkpoint_opens_in_limbodb_with_the_key(tmp_path):
    cipher = "aegis256"
    key = _key(cipher)
    path = str(tmp_path / "k.db")
    proc = subprocess.Popen([sys.executable, "-c", _TURSO_CHILD, path, cipher, key, MARKER],
                            stdout=subprocess.PIPE, text=True)
    acked = 0
    try:
        for line in proc.stdout:
            acked = int(line)
            if acked >= 25:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert acked >= 25
    with open(path + "-log", "rb") as f:
        log = f.read()
    assert MARKER.encode() not in log
    assert len(parse_log(log, EncryptionContext(cipher, key))[1]) >= 2 * acked
    # A wrong key, or none, is refused before anything is replayed: the files stay as they are.
    before = _files(path)
    with pytest.raises(limbodb.DatabaseError, match="not a database"):
        limbodb.connect(path, encryption={"cipher": cipher, "hexkey": _key(cipher, "77")}) \
            .execute("SELECT count(*) FROM t1").fetchall()
    with pytest.raises(limbodb.DatabaseError):
        limbodb.connect(path).execute("SELECT count(*) FROM t1").fetchall()
    assert _files(path) == before
    c = limbodb.connect(path, encryption={"cipher": cipher, "hexkey": key})
    t1 = dict(c.execute("SELECT a, b FROM t1").fetchall())
    # Every acknowledged commit; the iteration in flight may have committed part of its work.
    done, nxt = _expected_after(acked), _expected_after(acked + 1)
    for k, v in done.items():
        assert t1[k] == v or t1.get(k) == nxt.get(k)
    assert set(t1) <= set(nxt) | set(done)
    assert c.execute("SELECT a FROM t1 INDEXED BY i1 ORDER BY b, a").fetchall() == \
        [(k,) for k, _ in sorted(t1.items(), key=lambda kv: (kv[1], kv[0]))]
    assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    c.close()
    assert os.path.getsize(path + "-log") == 0
    t = _turso(path, cipher, key)
    assert dict(t.execute("SELECT a, b FROM t1").fetchall()) == t1
    t.close()


def test_the_same_encrypted_workload_logs_the_same_plaintext_frames(tmp_path):
    # Header ops included: Turso logs the file's header with SQLite's magic and the
    # reserved-bytes count of the cipher, not the "Turso" prefix of the encrypted file.
    cipher, key = "aes256gcm", _key("aes256gcm")
    workload = ["CREATE TABLE t1 (a INTEGER PRIMARY KEY, b TEXT)", "CREATE INDEX i1 ON t1 (b)",
                "INSERT INTO t1 VALUES (1, 'x'), (2, 'y')", "DELETE FROM t1 WHERE a = 2",
                "PRAGMA user_version = 3"]
    logs = []
    for connect in (_turso, _limbodb):
        path = str(tmp_path / ("%s.db" % connect.__name__))
        c = connect(path, cipher, key)
        c.execute("PRAGMA journal_mode = mvcc").fetchall()
        for sql in workload:
            c.execute(sql).fetchall()
        with open(path + "-log", "rb") as f:
            frames = parse_log(f.read(), EncryptionContext(cipher, key))[1]
        out = []
        for _ts, ops in frames:
            for tag, flags, table_id, payload in ops:
                payload = bytearray(payload)
                if tag == OP_UPDATE_HEADER:
                    assert payload[:16] == b"SQLite format 3\x00" and payload[20] == 28
                    # fields fixed at file creation: change counter, cache size, SQLite version
                    for start, end in ((24, 28), (48, 52), (92, 100)):
                        payload[start:end] = bytes(end - start)
                out.append((tag, flags, table_id, bytes(payload)))
        logs.append(out)
        c.close()
    assert any(op[0] == OP_UPDATE_HEADER for op in logs[1])
    assert logs[0] == logs[1]
