"""Connection.open: reading sqlite_schema of a database sqlite3 wrote, on blocking, memory and simulated I/O."""

import sqlite3

import pytest

from limbodb.connection import Connection
from limbodb.io import BlockingIO, MemoryIO, run_sync
from limbodb.io.sim import SimulatedIO


def _sqlite_db(path, ntables=3):
    db = sqlite3.connect(path)
    for i in range(ntables):
        # Long column lists make sqlite_schema span several pages.
        cols = ", ".join(f"column_with_a_long_name_{j} TEXT" for j in range(12))
        db.execute(f"CREATE TABLE t{i}(id INTEGER PRIMARY KEY, u UNIQUE, {cols})")
        db.execute(f"CREATE INDEX i{i} ON t{i}(u, column_with_a_long_name_0 DESC)")
    db.execute("CREATE VIEW v AS SELECT 1")
    db.commit()
    rows = db.execute("SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master").fetchall()
    cookie = db.execute("PRAGMA schema_version").fetchone()[0]
    db.close()
    return rows, cookie


def _summary(schema):
    tables = {n: (t.root, [c.name for c in t.columns], sorted((i.name, i.root) for i in t.indexes))
              for n, t in schema.tables.items()}
    return tables, sorted(schema.views), schema.cookie


def _expected(rows, cookie):
    from limbodb.schema import Schema
    return _summary(Schema.from_rows(rows, cookie))


def test_open_reads_the_schema_of_a_sqlite3_file(tmp_path):
    path = str(tmp_path / "t.db")
    rows, cookie = _sqlite_db(path, ntables=20)
    io = BlockingIO()
    conn = Connection(path, io)
    run_sync(io, conn.open)
    assert _summary(conn.schema) == _expected(rows, cookie)
    assert len(conn.schema.tables) == 20 and conn.autocommit
    run_sync(io, conn.close)
    assert conn.closed


@pytest.mark.parametrize("seed", range(5))
def test_open_is_reentrant_under_simulated_io(tmp_path, seed):
    path = str(tmp_path / "t.db")
    rows, cookie = _sqlite_db(path, ntables=12)
    with open(path, "rb") as f:
        data = f.read()
    io = SimulatedIO(seed, files={"t.db": data})
    conn = Connection("t.db", io)
    waits = 0
    while True:
        r = conn.open()
        if r is None:
            break
        waits += 1
        while not r.completion.finished():
            io.run_once()
    assert waits > 0
    assert _summary(conn.schema) == _expected(rows, cookie)


def test_new_database_has_an_empty_schema():
    io = MemoryIO()
    conn = Connection(":memory:", io)
    run_sync(io, conn.open)
    assert conn.schema.tables == {} and conn.schema.cookie == 0
    assert conn.schema.table("sqlite_master").root == 1


def test_default_backends_by_path(tmp_path):
    assert isinstance(Connection(":memory:").io, MemoryIO)
    assert isinstance(Connection(str(tmp_path / "x.db")).io, BlockingIO)


def test_refresh_schema_ends_its_read_transaction(tmp_path):
    path = str(tmp_path / "t.db")
    _sqlite_db(path)
    io = BlockingIO()
    conn = Connection(path, io)
    run_sync(io, conn.open)
    generation = conn.schema_generation
    run_sync(io, conn.refresh_schema)
    # Unchanged cookie: no reload, and no snapshot left open.
    assert conn.schema_generation == generation
    assert not conn._read_tx
