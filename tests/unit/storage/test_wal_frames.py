"""The WAL frame API: a replica kept equal to its primary by shipping frames."""

import itertools
import random
import shutil
import sqlite3

import pytest

import limbodb
from limbodb.storage.wal_frames import WalConflictError


def bootstrap(primary):
    """Give the primary a database file of its own (sqlite3 ignores, and deletes, a -wal
    beside an empty database file) and an empty WAL, whose frame 1 is the next commit."""
    primary.execute("PRAGMA user_version = 1")
    primary.commit()
    primary.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    primary.wal_auto_checkpoint_disable()
    assert primary.wal_frame_count() == 0


def open_pair(tmp_path, encryption=None, timeout=5.0):
    """A primary and a replica started from a copy of its database file."""
    primary = limbodb.connect(str(tmp_path / "primary.db"), encryption=encryption)
    bootstrap(primary)
    shutil.copyfile(tmp_path / "primary.db", tmp_path / "replica.db")
    replica = limbodb.connect(str(tmp_path / "replica.db"), encryption=encryption, timeout=timeout)
    replica.wal_auto_checkpoint_disable()
    return primary, replica


def ship(primary, replica):
    """Send the frames the replica lacks; returns how many were sent."""
    start, end = replica.wal_frame_count() + 1, primary.wal_frame_count()
    replica.wal_insert_begin()
    try:
        for n in range(start, end + 1):
            replica.wal_insert_frame(n, primary.wal_get_frame(n))
    finally:
        replica.wal_insert_end()
    return end - start + 1


_views = itertools.count()


def sqlite3_view(tmp_path, name):
    """Open a copy of a database and its -wal with sqlite3 (the originals stay locked).

    Each copy has a new name: a -shm left by an earlier copy would be a stale wal-index.
    """
    snap = tmp_path / ("snap%d-%s" % (next(_views), name))
    shutil.copyfile(tmp_path / name, snap)
    shutil.copyfile(tmp_path / (name + "-wal"), str(snap) + "-wal")
    return sqlite3.connect(snap)


def dump(con):
    tables = [r[0] for r in con.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").fetchall()]
    return {t: con.execute("SELECT * FROM %s ORDER BY rowid" % t).fetchall() for t in tables}


def test_a_replica_fed_frames_equals_its_primary_after_every_commit(tmp_path):
    primary, replica = open_pair(tmp_path)
    rng = random.Random(7)
    primary.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT, c BLOB)")
    primary.commit()
    for step in range(12):
        op = step % 4
        if op == 0:
            primary.executemany("INSERT INTO t1(b, c) VALUES (?, ?)",
                                [("v%d" % rng.randrange(10**6), rng.randbytes(rng.randrange(2000)))
                                 for _ in range(40)])
        elif op == 1:
            primary.execute("UPDATE t1 SET b = b || 'x' WHERE a % 3 = ?", (step % 3,))
        elif op == 2:
            primary.execute("DELETE FROM t1 WHERE a % 5 = ?", (step % 5,))
        else:
            primary.execute("CREATE TABLE IF NOT EXISTS t2(a, b)")
            primary.execute("INSERT INTO t2 VALUES (?, ?)", (step, "s"))
        primary.commit()
        assert ship(primary, replica) > 0
        assert replica.wal_frame_count() == primary.wal_frame_count()
        want_con = sqlite3_view(tmp_path, "primary.db")
        want = dump(want_con)
        want_con.close()
        assert want["t1"] == primary.execute("SELECT * FROM t1 ORDER BY rowid").fetchall()
        got_con = sqlite3_view(tmp_path, "replica.db")
        assert dump(got_con) == want
        assert got_con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        got_con.close()
        # The replica's own connection sees the shipped data too.
        assert replica.execute("SELECT count(*), total(length(c)) FROM t1").fetchone() == \
            primary.execute("SELECT count(*), total(length(c)) FROM t1").fetchone()
    primary.close()
    replica.close()


def test_same_frames_again_are_accepted_and_change_nothing(tmp_path):
    primary, replica = open_pair(tmp_path)
    primary.execute("CREATE TABLE t1(a)")
    primary.commit()
    ship(primary, replica)
    count = replica.wal_frame_count()
    replica.wal_insert_begin()
    for n in range(1, count + 1):
        replica.wal_insert_frame(n, primary.wal_get_frame(n))
    replica.wal_insert_end()
    assert replica.wal_frame_count() == count
    primary.close()
    replica.close()


def test_a_conflicting_frame_is_reported_and_never_applied(tmp_path):
    primary, replica = open_pair(tmp_path)
    other = limbodb.connect(str(tmp_path / "other.db"))
    other.wal_auto_checkpoint_disable()
    for con, value in ((primary, "primary"), (other, "other")):
        con.execute("CREATE TABLE t1(a)")
        con.execute("INSERT INTO t1 VALUES (?)", (value,))
        con.commit()
    ship(primary, replica)
    replica.wal_insert_begin()
    with pytest.raises(WalConflictError, match="conflicts"):
        for n in range(1, other.wal_frame_count() + 1):
            replica.wal_insert_frame(n, other.wal_get_frame(n))
    replica.wal_insert_end()
    assert replica.execute("SELECT a FROM t1").fetchall() == [("primary",)]
    assert replica.wal_frame_count() == primary.wal_frame_count()
    for con in (primary, replica, other):
        con.close()


def test_a_gap_is_an_error_and_a_transaction_without_its_commit_frame_is_dropped(tmp_path):
    primary, replica = open_pair(tmp_path)
    primary.execute("CREATE TABLE t1(a)")
    primary.commit()
    ship(primary, replica)
    primary.executemany("INSERT INTO t1 VALUES (?)", [("x" * 3000,) for _ in range(10)])
    primary.commit()
    total = primary.wal_frame_count()
    base = replica.wal_frame_count()
    assert total - base >= 3
    replica.wal_insert_begin()
    with pytest.raises(WalConflictError, match="gap"):
        replica.wal_insert_frame(base + 2, primary.wal_get_frame(base + 2))
    # Every frame but the commit frame: nothing becomes visible.
    for n in range(base + 1, total):
        replica.wal_insert_frame(n, primary.wal_get_frame(n))
    # Positions held by the unfinished transaction compare like committed ones.
    replica.wal_insert_frame(base + 1, primary.wal_get_frame(base + 1))
    with pytest.raises(WalConflictError, match="conflicts"):
        replica.wal_insert_frame(base + 1, primary.wal_get_frame(base + 2))
    replica.wal_insert_end()
    assert replica.wal_frame_count() == base
    assert replica.execute("SELECT count(*) FROM t1").fetchone() == (0,)
    assert ship(primary, replica) == total - base
    assert replica.execute("SELECT count(*) FROM t1").fetchone() == (10,)
    primary.close()
    replica.close()


def test_frame_api_misuse_is_refused(tmp_path):
    primary, replica = open_pair(tmp_path)
    with pytest.raises(limbodb.OperationalError, match="no WAL frame"):
        primary.wal_get_frame(1)
    with pytest.raises(limbodb.OperationalError, match="wal_insert_begin first"):
        replica.wal_insert_frame(1, b"")
    replica.wal_insert_begin()
    with pytest.raises(limbodb.OperationalError, match="bytes"):
        replica.wal_insert_frame(1, b"short")
    with pytest.raises(limbodb.OperationalError, match="already open"):
        replica.wal_insert_begin()
    replica.wal_insert_end()
    primary.close()
    replica.close()


def test_encrypted_frames_ship_to_an_encrypted_replica(tmp_path):
    enc = {"cipher": "aegis128l", "hexkey": "2d7a30108d3eb3e45c90a732041fe547"}
    primary, replica = open_pair(tmp_path, enc)
    primary.execute("CREATE TABLE t1(a)")
    primary.executemany("INSERT INTO t1 VALUES (?)", [("secret %d" % i,) for i in range(100)])
    primary.commit()
    ship(primary, replica)
    frame = primary.wal_get_frame(1)
    assert frame[24:29] == b"Turso" and b"secret" not in frame
    assert replica.execute("SELECT count(*) FROM t1").fetchone() == (100,)
    primary.close()
    replica.close()


@pytest.mark.parametrize("seed", range(4))
def test_shipping_frames_is_re_entrant_on_simulated_io(tmp_path, seed):
    from limbodb.io.sim import SimulatedIO
    io = SimulatedIO(seed)
    primary = limbodb.connect("primary.db", io=io)
    bootstrap(primary)
    copy = io.open_file("replica.db")
    io.wait_for(copy.pwrite(0, io.file_bytes("primary.db")))
    copy.close()
    replica = limbodb.connect("replica.db", io=io)
    replica.wal_auto_checkpoint_disable()
    primary.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT)")
    primary.commit()
    for i in range(3):
        primary.executemany("INSERT INTO t1(b) VALUES (?)", [("r%d-%d" % (i, j),) for j in range(50)])
        primary.commit()
        ship(primary, replica)
        ship(primary, replica)  # nothing new: a no-op
    for name in ("primary.db", "replica.db"):
        (tmp_path / name).write_bytes(io.file_bytes(name))
        (tmp_path / (name + "-wal")).write_bytes(io.file_bytes(name + "-wal"))
    want_con = sqlite3_view(tmp_path, "primary.db")
    want = dump(want_con)
    want_con.close()
    got = sqlite3_view(tmp_path, "replica.db")
    assert dump(got) == want and len(want["t1"]) == 150
    assert got.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    got.close()
    primary.close()
    replica.close()


def test_insert_begin_after_busy_starts_from_a_fresh_snapshot(tmp_path):
    primary, replica = open_pair(tmp_path, timeout=0.05)
    writer = limbodb.connect(str(tmp_path / "replica.db"))
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE w(a)")
    with pytest.raises(limbodb.OperationalError, match="locked"):
        replica.wal_insert_begin()
    writer.commit()
    # The failed attempt's snapshot predates the writer's commit; it must not linger.
    replica.wal_insert_begin()
    replica.wal_insert_end()
    assert replica.execute("SELECT name FROM sqlite_schema").fetchall() == [("w",)]
    for con in (primary, replica, writer):
        con.close()
