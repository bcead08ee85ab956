"""Encrypted ATTACHed databases, as Turso does them, cross-checked with pyturso.

Turso attaches an encrypted file by a URI naming its cipher and key
(``ATTACH 'file:x.db?cipher=..&hexkey=..' AS x``) and ignores ``KEY``; without the
key the file is refused. Both directions: a file Turso encrypted is attached and
read by limbodb, and one limbodb created through ATTACH opens in pyturso.
"""

import pytest

import limbodb

turso = pytest.importorskip("turso")

KEY = "b1bbfda4ee0bc3a44d0dbb0e9d2c0a1e5b0f1f1c0c6b6a8e1d7d2f7e8a9b0c1d"
ROWS = [(i, "row %d" % i) for i in range(1, 300)]


def _uri(path, cipher="aegis256"):
    return f"file:{path}?cipher={cipher}&hexkey={KEY}"


def test_limbodb_attaches_what_turso_encrypted(tmp_path):
    enc = tmp_path / "enc.db"
    tc = turso.connect(str(enc), experimental_features="encryption",
                       encryption=turso.EncryptionOpts(cipher="aegis256", hexkey=KEY))
    tc.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT)")
    tc.executemany("INSERT INTO t1 VALUES (?, ?)", ROWS)
    tc.commit()
    tc.close()
    con = limbodb.connect(str(tmp_path / "main.db"))
    with pytest.raises(limbodb.DatabaseError, match="encrypted"):
        con.execute(f"ATTACH '{enc}' AS e")
    con.execute(f"ATTACH '{_uri(enc)}' AS e")
    assert con.execute("SELECT a, b FROM e.t1 ORDER BY a").fetchall() == ROWS
    assert con.execute("PRAGMA e.integrity_check").fetchall() == [("ok",)]
    con.close()


@pytest.mark.parametrize("cipher", ["aegis256", "aes128gcm"])
def test_turso_opens_what_limbodb_created_through_attach(tmp_path, cipher):
    key = KEY if cipher != "aes128gcm" else KEY[:32]
    enc = tmp_path / "new.db"
    con = limbodb.connect(str(tmp_path / "main.db"))
    con.execute(f"ATTACH 'file:{enc}?cipher={cipher}&hexkey={key}' AS n")
    con.execute("CREATE TABLE n.t1(a INTEGER PRIMARY KEY, b TEXT)")
    con.executemany("INSERT INTO n.t1 VALUES (?, ?)", ROWS)
    con.commit()
    con.execute("DETACH n")
    con.close()
    assert enc.read_bytes()[:5] == b"Turso"
    tc = turso.connect(str(enc), experimental_features="encryption",
                       encryption=turso.EncryptionOpts(cipher=cipher, hexkey=key))
    assert [tuple(r) for r in tc.execute("SELECT a, b FROM t1 ORDER BY a").fetchall()] == ROWS
    tc.close()


def test_turso_and_limbodb_both_refuse_the_attach_without_a_key(tmp_path):
    enc = tmp_path / "enc.db"
    con = limbodb.connect(_uri(enc), uri=True)
    con.execute("CREATE TABLE t1(a)")
    con.commit()
    con.close()
    tc = turso.connect(str(tmp_path / "tmain.db"), experimental_features="encryption,attach")
    with pytest.raises(turso.DatabaseError):
        tc.execute(f"ATTACH '{enc}' AS e KEY '{KEY}'")
    tc.execute(f"ATTACH '{_uri(enc)}' AS e")
    assert tc.execute("SELECT count(*) FROM e.t1").fetchall() == [(0,)]
    tc.close()
    lc = limbodb.connect(str(tmp_path / "lmain.db"))
    with pytest.raises(limbodb.DatabaseError, match="encrypted"):
        lc.execute(f"ATTACH '{enc}' AS e KEY '{KEY}'")
    lc.close()
