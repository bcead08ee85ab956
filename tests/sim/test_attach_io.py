"""ATTACH and DETACH under SimulatedIO: opening the attached file (header, page 1, WAL
recovery, schema) and closing it are I/O the VM waits for by returning IO from step(),
never by blocking; the statement then completes with the database attached (or gone).
Also the encrypted form Turso uses, ``ATTACH 'file:x.db?cipher=..&hexkey=..'``.
"""

import pytest

from limbodb.connection import Connection
from limbodb.errors import DatabaseError
from limbodb.io.completion import run_sync
from limbodb.io.sim import SimulatedIO
from limbodb.statement import IO
from limbodb.storage.database import Database

from .stepping import run_statement

KEY = "b1bbfda4ee0bc3a44d0dbb0e9d2c0a1e5b0f1f1c0c6b6a8e1d7d2f7e8a9b0c1d"


@pytest.fixture(autouse=True)
def _forget_sim_databases():
    yield
    for key in [k for k, db in Database._registry.items() if isinstance(db.io, SimulatedIO)]:
        del Database._registry[key]


def _open(io, path, **kw):
    conn = Connection(path, io, **kw)
    run_sync(io, conn.open)
    return conn


def _make_aux(io, path, encryption=None):
    aux = _open(io, path, encryption=encryption)
    for sql in ("CREATE TABLE t1(a, b)", "INSERT INTO t1 VALUES (1, 'x'), (2, 'y')"):
        run_statement(io, aux, sql)
    run_sync(io, aux.close)


def test_attach_yields_io_while_the_file_opens_and_then_reads_it():
    io = SimulatedIO(seed=7, finish_probability=0.3)
    _make_aux(io, "aux.db")
    conn = _open(io, "main.db")
    _, waits = run_statement(io, conn, "ATTACH 'aux.db' AS aux")
    assert waits > 0
    assert conn.attach_pending is None
    rows, _ = run_statement(io, conn, "SELECT a, b FROM aux.t1 ORDER BY a")
    assert rows == [(1, "x"), (2, "y")]
    rows, _ = run_statement(io, conn, "PRAGMA database_list")
    assert [r[1] for r in rows] == ["main", "aux"]


def test_attach_recovers_the_attached_wal_without_blocking():
    io = SimulatedIO(seed=11, finish_probability=0.3)
    aux = _open(io, "aux.db")
    run_statement(io, aux, "CREATE TABLE t1(a)")
    run_statement(io, aux, "INSERT INTO t1 VALUES (42)")
    # Leave the WAL behind (no close, no checkpoint), as a crashed writer would.
    files = {p: io.file_bytes(p, durable=True) for p in io.files}
    assert files["aux.db-wal"]
    io2 = SimulatedIO(seed=12, files=files, finish_probability=0.3)
    conn = _open(io2, "main.db")
    _, waits = run_statement(io2, conn, "ATTACH 'aux.db' AS aux")
    assert waits > 0
    assert run_statement(io2, conn, "SELECT a FROM aux.t1")[0] == [(42,)]


def test_detach_yields_io_while_the_attached_file_closes():
    io = SimulatedIO(seed=3, finish_probability=0.3)
    _make_aux(io, "aux.db")
    conn = _open(io, "main.db")
    run_statement(io, conn, "ATTACH 'aux.db' AS aux")
    run_statement(io, conn, "INSERT INTO aux.t1 VALUES (3, 'z')")
    # The last connection's close checkpoints the WAL into aux.db: I/O the VM waits for.
    _, waits = run_statement(io, conn, "DETACH aux")
    assert waits > 0
    assert [r[1] for r in run_statement(io, conn, "PRAGMA database_list")[0]] == ["main"]
    again = _open(io, "aux.db")
    assert run_statement(io, again, "SELECT count(*) FROM t1")[0] == [(3,)]


def test_attach_reset_mid_open_then_another_attach_starts_over():
    io = SimulatedIO(seed=5, finish_probability=0.2)
    _make_aux(io, "a1.db")
    _make_aux(io, "a2.db")
    conn = _open(io, "main.db")
    stmt, _ = conn.prepare("ATTACH 'a1.db' AS x")
    assert stmt.step() == IO
    assert conn.attach_pending is not None
    stmt.finalize()
    run_statement(io, conn, "ATTACH 'a2.db' AS y")
    assert conn.attach_pending is None
    assert [r[1] for r in run_statement(io, conn, "PRAGMA database_list")[0]] == ["main", "y"]


def test_encrypted_attached_file_reads_with_its_uri_key_and_refuses_without():
    io = SimulatedIO(seed=9, finish_probability=0.3)
    _make_aux(io, "enc.db", encryption={"cipher": "aegis256", "hexkey": KEY})
    assert io.file_bytes("enc.db")[:5] == b"Turso"
    conn = _open(io, "main.db")
    with pytest.raises(DatabaseError, match="encrypted"):
        run_statement(io, conn, "ATTACH 'enc.db' AS e")
    assert conn.attach_pending is None
    # KEY is parsed and ignored (SQLite without a codec, and Turso): still refused.
    with pytest.raises(DatabaseError, match="encrypted"):
        run_statement(io, conn, f"ATTACH 'enc.db' AS e KEY '{KEY}'")
    assert [r[1] for r in run_statement(io, conn, "PRAGMA database_list")[0]] == ["main"]
    _, waits = run_statement(io, conn, f"ATTACH 'file:enc.db?cipher=aegis256&hexkey={KEY}' AS e")
    assert waits > 0
    assert run_statement(io, conn, "SELECT a, b FROM e.t1 ORDER BY a")[0] == [(1, "x"), (2, "y")]
    run_statement(io, conn, "INSERT INTO e.t1 VALUES (3, 'secret-marker')")
    assert io.file_bytes("enc.db-wal")
    assert b"secret-marker" not in io.file_bytes("enc.db-wal")
    run_statement(io, conn, "DETACH e")
    assert b"secret-marker" not in io.file_bytes("enc.db")


def test_attach_with_a_cipher_uri_creates_an_encrypted_file():
    io = SimulatedIO(seed=4, finish_probability=0.5)
    conn = _open(io, "main.db")
    run_statement(io, conn, f"ATTACH 'file:new.db?cipher=aes256gcm&hexkey={KEY}' AS n")
    run_statement(io, conn, "CREATE TABLE n.t2(v)")
    run_statement(io, conn, "INSERT INTO n.t2 VALUES ('hidden-text')")
    run_statement(io, conn, "DETACH n")
    assert io.file_bytes("new.db")[:5] == b"Turso"
    assert b"hidden-text" not in io.file_bytes("new.db")
    reopened = _open(io, "new.db", encryption={"cipher": "aes256gcm", "hexkey": KEY})
    assert run_statement(io, reopened, "SELECT v FROM t2")[0] == [("hidden-text",)]
