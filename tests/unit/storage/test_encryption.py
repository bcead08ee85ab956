"""Encrypted databases end to end: page layout, keys, errors, URI form, WAL frames."""

import sqlite3

import pytest

import limbodb
from limbodb.storage.encryption import CIPHERS, EncryptionContext, split_encryption_uri
from limbodb.storage.header import new_page1

KEY32 = "b1bbfda4f589dc9daaf004fe21111e00dc00c98237102f5c7002a5669fc76327"
KEY16 = "2d7a30108d3eb3e45c90a732041fe547"


def key_for(cipher):
    return KEY16 if CIPHERS[cipher][1] == 16 else KEY32


def write_rows(path, enc, n=300):
    con = limbodb.connect(str(path), encryption=enc)
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT)")
    con.executemany("INSERT INTO t1(b) VALUES (?)", [("secret-%d" % i,) for i in range(n)])
    con.commit()
    return con


@pytest.mark.parametrize("cipher", sorted(CIPHERS))
def test_every_cipher_round_trips_a_database_and_hides_its_text(tmp_path, cipher):
    path = tmp_path / "e.db"
    enc = {"cipher": cipher, "hexkey": key_for(cipher)}
    write_rows(path, enc, 50).close()
    raw = path.read_bytes()
    assert raw[:7] == b"Turso\x00" + bytes((CIPHERS[cipher][0],))
    assert raw[20] == CIPHERS[cipher][2] + 16
    assert b"secret-" not in raw
    con = limbodb.connect(str(path), encryption=enc)
    assert con.execute("SELECT count(*), max(b) FROM t1").fetchone() == (50, "secret-9")
    con.close()


def test_page_layout_keeps_the_header_clear_and_authenticates_it():
    ctx = EncryptionContext("aegis256", KEY32)
    page = new_page1(4096, reserved=ctx.reserved)
    page[200:210] = b"0123456789"
    disk = ctx.encrypt_page(1, page)
    assert disk[:16] == b"Turso\x00\x03" + bytes(9) and disk[16:100] == page[16:100]
    assert ctx.decrypt_page(1, disk) == page
    tampered = bytearray(disk)
    tampered[60] ^= 1  # a header byte: it is the associated data
    with pytest.raises(limbodb.DatabaseError, match="wrong encryption key"):
        ctx.decrypt_page(1, tampered)
    other = ctx.encrypt_page(2, page)
    assert ctx.decrypt_page(2, other) == page[:4096 - 48] + bytes(48)
    assert ctx.encrypt_page(2, page) != other  # a fresh nonce per write


def test_pure_python_aes_gcm_reads_what_the_native_one_wrote():
    pytest.importorskip("cryptography")
    native = EncryptionContext("aes256gcm", KEY32)
    pure = EncryptionContext("aes256gcm", KEY32, native=False)
    page = bytearray(range(256)) * 16
    assert pure.decrypt_page(3, native.encrypt_page(3, page))[:4068] == page[:4068]
    assert native.decrypt_page(1, pure.encrypt_page(1, new_page1(4096, reserved=28)))[16:] == \
        new_page1(4096, reserved=28)[16:]


@pytest.mark.parametrize("bad, message", [
    ({"cipher": "aegis256", "hexkey": "00" * 32}, "wrong encryption key"),
    (None, "it is encrypted"),
    ({"cipher": "aes256gcm", "hexkey": KEY32}, "encrypted with aegis256"),
    ({"cipher": "aegis128l", "hexkey": KEY32}, "16-byte key"),
    ({"cipher": "rot13", "hexkey": KEY32}, "unknown cipher"),
])
def test_a_wrong_or_missing_key_fails_clearly_and_leaves_the_file_untouched(tmp_path, bad, message):
    path = tmp_path / "e.db"
    write_rows(path, {"cipher": "aegis256", "hexkey": KEY32}).close()
    before = path.read_bytes()
    with pytest.raises(limbodb.DatabaseError, match=message):
        limbodb.connect(str(path), encryption=bad)
    assert path.read_bytes() == before
    assert not (tmp_path / "e.db-wal").exists() or (tmp_path / "e.db-wal").stat().st_size == 0
    con = limbodb.connect(str(path), encryption={"cipher": "aegis256", "hexkey": KEY32})
    assert con.execute("SELECT count(*) FROM t1").fetchone() == (300,)
    con.close()


def test_a_key_given_for_a_plain_database_is_refused(tmp_path):
    path = tmp_path / "plain.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t1(a)")
    con.commit()
    con.close()
    with pytest.raises(limbodb.DatabaseError, match="not encrypted"):
        limbodb.connect(str(path), encryption={"cipher": "aegis256", "hexkey": KEY32})


def test_sqlite3_cannot_read_an_encrypted_file(tmp_path):
    path = tmp_path / "e.db"
    write_rows(path, {"cipher": "aes128gcm", "hexkey": KEY16}).close()
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        sqlite3.connect(path).execute("SELECT * FROM t1").fetchall()


def test_uri_form_carries_cipher_and_hexkey(tmp_path):
    path = tmp_path / "u.db"
    uri = "file:%s?cipher=aegis128l&hexkey=%s" % (path, KEY16)
    con = limbodb.connect(uri)
    con.execute("CREATE TABLE t1(a)")
    con.execute("INSERT INTO t1 VALUES ('x')")
    con.commit()
    con.close()
    assert path.read_bytes()[:5] == b"Turso"
    con = limbodb.connect(uri, uri=True)
    assert con.execute("SELECT a FROM t1").fetchall() == [("x",)]
    con.close()
    assert split_encryption_uri("file:a.db?mode=ro&cipher=x&hexkey=00") == \
        ("file:a.db?mode=ro", {"cipher": "x", "hexkey": "00"})
    assert split_encryption_uri("plain.db") == ("plain.db", None)


def test_wal_frames_are_encrypted_and_recovered_after_a_crash(tmp_path):
    path = tmp_path / "w.db"
    enc = {"cipher": "aegis128x2", "hexkey": KEY16}
    con = write_rows(path, enc, 200)
    con.execute("UPDATE t1 SET b = b || '-changed' WHERE a % 2 = 0")
    con.commit()
    wal = (tmp_path / "w.db-wal").read_bytes()
    assert len(wal) > 32 and b"secret-" not in wal
    # Copy the files as a crash would leave them (the -wal not checkpointed), then reopen.
    (tmp_path / "copy.db").write_bytes(path.read_bytes())
    (tmp_path / "copy.db-wal").write_bytes(wal)
    con.close()
    con = limbodb.connect(str(tmp_path / "copy.db"), encryption=enc)
    assert con.execute("SELECT count(*) FROM t1 WHERE b LIKE '%-changed'").fetchone() == (100,)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()


def test_connections_sharing_a_database_must_share_its_key(tmp_path):
    path = tmp_path / "s.db"
    first = write_rows(path, {"cipher": "aegis256", "hexkey": KEY32}, 10)
    with pytest.raises(limbodb.DatabaseError, match="key differs"):
        limbodb.connect(str(path), encryption={"cipher": "aegis256", "hexkey": "11" * 32})
    second = limbodb.connect(str(path), encryption={"cipher": "aegis256", "hexkey": KEY32})
    assert second.execute("SELECT count(*) FROM t1").fetchone() == (10,)
    second.close()
    first.close()


def test_pragma_cipher_and_hexkey_encrypt_a_new_database(tmp_path):
    from limbodb.storage.encryption import pragma_encryption
    path = tmp_path / "p.db"
    con = limbodb.connect(str(path))
    pager, pending = con._engine.pager, {}
    assert pragma_encryption(pager, pending, "cipher", "AEGIS-256") == "aegis256"
    assert pragma_encryption(pager, pending, "hexkey", KEY32) is None
    assert pragma_encryption(pager, pending, "cipher", None) == "aegis256"
    con.execute("CREATE TABLE t1(a)")
    con.execute("INSERT INTO t1 VALUES ('hidden text')")
    con.commit()
    con.close()
    raw = path.read_bytes()
    assert raw[:7] == b"Turso\x00\x03" and b"hidden text" not in raw
    con = limbodb.connect(str(path), encryption={"cipher": "aegis256", "hexkey": KEY32})
    assert con.execute("SELECT a FROM t1").fetchall() == [("hidden text",)]
    with pytest.raises(limbodb.OperationalError, match="new, empty database"):
        pragma_encryption(con._engine.pager, {"cipher": "aes256gcm"}, "hexkey", KEY32)
    con.close()
