"""Encrypted files cross-checked with Turso's own Python package (pyturso): both directions."""

import pytest

import limbodb
from limbodb.storage.encryption import CIPHERS

turso = pytest.importorskip("turso")

KEY32 = "b1bbfda4f589dc9daaf004fe21111e00dc00c98237102f5c7002a5669fc76327"
KEY16 = "2d7a30108d3eb3e45c90a732041fe547"
ROWS = [(i, "row %d" % i, i * 1.5, bytes([i % 256]) * (i % 40)) for i in range(1, 400)]


def key_for(cipher):
    return KEY16 if CIPHERS[cipher][1] == 16 else KEY32


def turso_connect(path, cipher):
    return turso.connect(str(path), experimental_features="encryption",
                         encryption=turso.EncryptionOpts(cipher=cipher, hexkey=key_for(cipher)))


def fill(con):
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT, c REAL, d BLOB)")
    con.execute("CREATE INDEX t1b ON t1(b)")
    con.executemany("INSERT INTO t1 VALUES (?, ?, ?, ?)", ROWS)
    con.commit()


def read(con):
    return [tuple(r) for r in con.execute("SELECT a, b, c, d FROM t1 ORDER BY b").fetchall()]


EXPECTED = sorted(ROWS, key=lambda r: r[1])


@pytest.mark.parametrize("cipher", sorted(CIPHERS))
def test_turso_reads_what_limbodb_encrypted(tmp_path, cipher):
    path = tmp_path / "l.db"
    con = limbodb.connect(str(path), encryption={"cipher": cipher, "hexkey": key_for(cipher)})
    fill(con)
    con.close()
    tc = turso_connect(path, cipher)
    assert read(tc) == EXPECTED
    assert tc.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    tc.close()


@pytest.mark.parametrize("cipher", sorted(CIPHERS))
def test_limbodb_reads_what_turso_encrypted(tmp_path, cipher):
    path = tmp_path / "t.db"
    tc = turso_connect(path, cipher)
    fill(tc)
    tc.close()
    con = limbodb.connect(str(path), encryption={"cipher": cipher, "hexkey": key_for(cipher)})
    assert read(con) == EXPECTED
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


def test_limbodb_reads_turso_wal_frames_before_any_checkpoint(tmp_path):
    path = tmp_path / "t.db"
    tc = turso_connect(path, "aegis256")
    fill(tc)
    tc.execute("UPDATE t1 SET b = 'changed' WHERE a = 7")
    tc.commit()
    # Copy the database and its -wal while Turso still has frames in it.
    (tmp_path / "c.db").write_bytes(path.read_bytes())
    (tmp_path / "c.db-wal").write_bytes((tmp_path / "t.db-wal").read_bytes())
    tc.close()
    con = limbodb.connect(str(tmp_path / "c.db"), encryption={"cipher": "aegis256", "hexkey": KEY32})
    assert con.execute("SELECT b FROM t1 WHERE a = 7").fetchone() == ("changed",)
    assert con.execute("SELECT count(*) FROM t1").fetchone() == (len(ROWS),)
    con.close()


def test_turso_refuses_limbodb_file_with_a_wrong_key(tmp_path):
    path = tmp_path / "l.db"
    con = limbodb.connect(str(path), encryption={"cipher": "aegis256", "hexkey": KEY32})
    fill(con)
    con.close()
    with pytest.raises(turso.DatabaseError, match="Decryption failed"):
        tc = turso.connect(str(path), experimental_features="encryption",
                           encryption=turso.EncryptionOpts(cipher="aegis256", hexkey="00" * 32))
        tc.execute("SELECT * FROM t1").fetchall()


@pytest.mark.parametrize("cipher", ["aes128gcm", "aes256gcm"])
def test_turso_reads_what_the_pure_python_aes_gcm_wrote(tmp_path, cipher):
    from limbodb.storage.encryption import EncryptionContext
    path = tmp_path / "p.db"
    con = limbodb.connect(str(path), encryption=EncryptionContext(cipher, key_for(cipher), native=False))
    fill(con)
    con.close()
    tc = turso_connect(path, cipher)
    assert read(tc) == EXPECTED
    tc.close()
