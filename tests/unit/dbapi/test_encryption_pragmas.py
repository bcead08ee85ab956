"""PRAGMA cipher / hexkey create an encrypted database, as in Turso."""

import pytest

import limbodb

KEY = "ab" * 32


def test_pragmas_encrypt_a_new_database_and_the_key_is_needed_to_open_it(tmp_path):
    path = str(tmp_path / "enc.db")
    con = limbodb.connect(path)
    con.execute("PRAGMA cipher = 'aegis256'")
    con.execute(f"PRAGMA hexkey = '{KEY}'")
    assert con.execute("PRAGMA cipher").fetchall() == [("aegis256",)]
    assert con.execute("PRAGMA hexkey").fetchall() == [(None,)]
    con.execute("CREATE TABLE t1(a)")
    con.execute("INSERT INTO t1 VALUES (42)")
    con.commit()
    con.close()
    with open(path, "rb") as f:
        assert b"CREATE TABLE t1" not in f.read()
    with pytest.raises(limbodb.DatabaseError, match="encrypted"):
        limbodb.connect(path).execute("SELECT * FROM t1").fetchall()
    again = limbodb.connect(path, encryption={"cipher": "aegis256", "hexkey": KEY})
    assert again.execute("SELECT a FROM t1").fetchall() == [(42,)]
    again.close()
