"""The MVCC logical log: its format, what commits append, replay at open, checkpoint, power loss."""

import gc
import os
import random
import shutil
import struct

import pytest

import limbodb
from limbodb.io.sim import FAULT_POWER_LOSS, FAULT_POWER_TORN, PowerLossError, SimulatedIO
from limbodb.mvcc_log import (
    LOG_HDR_SIZE, OP_DELETE_INDEX, OP_DELETE_TABLE, OP_FLAG_BTREE_RESIDENT, OP_UPDATE_HEADER,
    OP_UPSERT_INDEX, OP_UPSERT_TABLE, crc32c, encode_frame, encode_log_header, parse_log,
)
from limbodb.storage.database import Database
from limbodb.storage.encryption import EncryptionContext
from limbodb.storage.ondisk import put_varint
from limbodb.storage.record import decode_record, encode_record


def _open(path, **kw):
    return limbodb.connect(str(path), isolation_level=None, **kw)


def _mvcc(path, **kw):
    c = _open(path, **kw)
    assert c.execute("PRAGMA journal_mode = mvcc").fetchall() == [("mvcc",)]
    return c


def _frames(path):
    with open(str(path) + "-log", "rb") as f:
        return parse_log(f.read())[1]


def _forget(io):
    """Drop the registry entries of Databases on ``io``: a crashed process's state dies with it."""
    for key, db in list(Database._registry.items()):
        if db.io is io:
            del Database._registry[key]


def test_crc32c_is_castagnoli():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"6789", crc32c(b"12345")) == crc32c(b"123456789")


def test_frames_round_trip_and_a_torn_tail_ends_the_log():
    salt = 0x0123456789ABCDEF
    crc = crc32c(salt.to_bytes(8, "little"))
    ops1 = [(OP_UPSERT_TABLE, 0, -3, put_varint(7) + encode_record([None, "x"])),
            (OP_UPSERT_INDEX, 0, -4, encode_record(["x", 7]))]
    ops2 = [(OP_DELETE_TABLE, OP_FLAG_BTREE_RESIDENT, -3, put_varint(7)),
            (OP_DELETE_INDEX, OP_FLAG_BTREE_RESIDENT, -4, encode_record(["x", 7]))]
    f1, crc = encode_frame(ops1, 5, crc)
    f2, crc2 = encode_frame(ops2, 7, crc)
    log = encode_log_header(salt) + f1 + f2
    assert log[:8] == b"2LML\x02\x008\x00" and f1[:4] == b"MVTX" and f1[-4:] == b"MVTE"
    got_salt, frames, end, last = parse_log(log)
    assert (got_salt, end, last) == (salt, len(log), crc2)
    assert frames == [(5, ops1), (7, ops2)]
    # A torn second frame, or one whose bytes changed, leaves the first.
    assert parse_log(log[:-3])[1] == [(5, ops1)]
    bad = bytearray(log)
    bad[len(log) - 12] ^= 1
    assert parse_log(bytes(bad))[1] == [(5, ops1)]
    # A damaged header fails closed.
    bad = bytearray(log)
    bad[10] ^= 1
    with pytest.raises(limbodb.DatabaseError):
        parse_log(bytes(bad))


def test_commits_append_frames_with_the_rows_final_states(tmp_path):
    path = tmp_path / "f.db"
    c = _mvcc(path)
    with open(path, "rb") as f:
        assert f.read(20)[18:20] == b"\xff\xff"
    c.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT)")
    c.execute("CREATE INDEX i1 ON t1(b)")
    c.execute("INSERT INTO t1 VALUES(1, 'x'), (2, 'y'), (3, 'w')")
    c.execute("UPDATE t1 SET b = 'v' WHERE a = 3")
    frames = _frames(path)
    ts = [t for t, _ in frames]
    assert ts == sorted(ts) and len(set(ts)) == len(ts)
    (_, create), (_, index), (_, ins), (_, upd3) = frames
    # A table not yet checkpointed is named by a negative id, its schema row's rootpage too.
    row = decode_record(create[0][3][1:])
    assert create[0][:3] == (OP_UPSERT_TABLE, 0, -1) and row[:3] == ["table", "t1", "t1"]
    tid = row[3]
    assert tid < 0 and create[1][0] == OP_UPDATE_HEADER
    iid = decode_record(index[0][3][1:])[3]
    assert iid < 0 and iid != tid
    assert sorted((op[0], op[2]) for op in ins) == [(OP_UPSERT_TABLE, tid)] * 3 + [(OP_UPSERT_INDEX, iid)] * 3
    # An update ends the old version and adds the new one, as Turso logs it; the row is not
    # in the database file yet, so nothing is flagged B-tree resident.
    assert upd3 == [(OP_DELETE_INDEX, 0, iid, encode_record(["w", 3])),
                    (OP_UPSERT_INDEX, 0, iid, encode_record(["v", 3])),
                    (OP_DELETE_TABLE, 0, tid, put_varint(3)),
                    (OP_UPSERT_TABLE, 0, tid, put_varint(3) + encode_record([None, "v"]))]
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.execute("UPDATE t1 SET b = 'z' WHERE a = 1")
    c.execute("DELETE FROM t1 WHERE a = 2")
    c.execute("PRAGMA user_version = 9")
    (_, upd), (_, dele), (_, hdr) = _frames(path)
    # After the checkpoint the rows are in the file: their old versions are flagged.
    root = -tid
    iid = -root - 1
    assert upd == [(OP_DELETE_INDEX, OP_FLAG_BTREE_RESIDENT, iid, encode_record(["x", 1])),
                   (OP_UPSERT_INDEX, 0, iid, encode_record(["z", 1])),
                   (OP_DELETE_TABLE, OP_FLAG_BTREE_RESIDENT, -root, put_varint(1)),
                   (OP_UPSERT_TABLE, OP_FLAG_BTREE_RESIDENT, -root, put_varint(1) + encode_record([None, "z"]))]
    assert (OP_DELETE_TABLE, OP_FLAG_BTREE_RESIDENT, -root, put_varint(2)) in dele
    assert [op[0] for op in hdr] == [OP_UPDATE_HEADER]
    assert int.from_bytes(hdr[0][3][60:64], "big") == 9
    c.close()


def test_checkpoint_empties_the_log_and_a_reopen_keeps_everything(tmp_path):
    path = tmp_path / "c.db"
    c = _mvcc(path)
    c.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b)")
    c.execute("INSERT INTO t1 VALUES(1, 'one')")
    assert os.path.getsize(str(path) + "-log") > LOG_HDR_SIZE
    assert c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall() == [(0, 0, 0)]
    assert os.path.getsize(str(path) + "-log") == 0
    c.execute("INSERT INTO t1 VALUES(2, 'two')")
    # Frames after a truncation start a new log with a new header.
    assert [len(ops) for _, ops in _frames(path)] == [1]
    c.close()
    assert os.path.getsize(str(path) + "-log") == 0
    c = _open(path)
    assert c.execute("PRAGMA journal_mode").fetchall() == [("mvcc",)]
    assert c.execute("SELECT * FROM t1").fetchall() == [(1, "one"), (2, "two")]
    (key, ts), = c.execute("SELECT * FROM __turso_internal_mvcc_meta").fetchall()
    assert key == "persistent_tx_ts_max" and ts >= 3
    c.close()


def test_a_log_past_the_threshold_is_checkpointed_by_the_commit(tmp_path):
    path = tmp_path / "th.db"
    c = _mvcc(path)
    c._engine.db.mvcc.threshold = 2000
    c.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b)")
    sizes = []
    for i in range(30):
        c.execute("INSERT INTO t1 VALUES(?, ?)", (i, "x" * 100))
        sizes.append(os.path.getsize(str(path) + "-log"))
    assert max(sizes) < 2000 + 300 and sizes.count(0) >= 1
    assert c.execute("SELECT count(*) FROM t1").fetchall() == [(30,)]
    c.close()


def _copy_without_wal(src, dst):
    """The database file and log as a crash that lost the (unsynced) WAL would leave them."""
    shutil.copy(src, dst)
    shutil.copy(str(src) + "-log", str(dst) + "-log")


def test_replay_rebuilds_tables_and_indexes_the_wal_lost(tmp_path):
    path = tmp_path / "r.db"
    c = _mvcc(path)
    c.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT, c)")
    c.execute("CREATE INDEX i1 ON t1(b COLLATE NOCASE DESC)")
    c.execute("CREATE TABLE t2(x UNIQUE, y)")
    c.executemany("INSERT INTO t1(b, c) VALUES(?, ?)", [("k%d" % i, "v" * i) for i in range(200)])
    c.execute("INSERT INTO t2 VALUES(1, 2), (3, 4)")
    c.execute("UPDATE t1 SET b = upper(b) WHERE a % 3 = 0")
    c.execute("DELETE FROM t1 WHERE a % 5 = 0")
    c.execute("CREATE TABLE t3(z)")
    c.execute("INSERT INTO t3 VALUES('gone')")
    c.execute("DROP TABLE t3")
    c.execute("PRAGMA user_version = 42")
    expected = c.execute("SELECT * FROM t1 ORDER BY a").fetchall()
    copy = tmp_path / "copy.db"
    _copy_without_wal(path, copy)
    c.close()
    d = _open(copy)
    assert d.execute("SELECT * FROM t1 ORDER BY a").fetchall() == expected
    assert d.execute("SELECT a FROM t1 INDEXED BY i1 ORDER BY b COLLATE NOCASE DESC").fetchall() == \
        c_sorted(expected)
    assert d.execute("SELECT * FROM t2").fetchall() == [(1, 2), (3, 4)]
    assert d.execute("SELECT name FROM sqlite_schema WHERE name = 't3'").fetchall() == []
    assert d.execute("PRAGMA user_version").fetchall() == [(42,)]
    assert d.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    d.close()
    assert os.path.getsize(str(copy) + "-log") == 0


def c_sorted(rows):
    return [(a,) for a, b, _ in sorted(rows, key=lambda r: (r[1].lower(), r[0]), reverse=True)]


def test_rebase_keeps_a_user_version_write(tmp_path):
    path = tmp_path / "uv.db"
    a = _mvcc(path)
    a.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b)")
    b = _open(path)
    a.execute("BEGIN CONCURRENT")
    a.execute("PRAGMA user_version = 5")
    a.execute("INSERT INTO t1 VALUES(1, 'a')")
    b.execute("INSERT INTO t1 VALUES(2, 'b')")
    a.execute("COMMIT")  # rebased onto b's commit
    assert b.execute("PRAGMA user_version").fetchall() == [(5,)]
    assert b.execute("SELECT a FROM t1 ORDER BY a").fetchall() == [(1,), (2,)]
    a.close()
    b.close()


def test_concurrent_inserts_with_automatic_rowids_do_not_conflict(tmp_path):
    path = tmp_path / "rid.db"
    a = _mvcc(path)
    a.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b)")
    a.execute("INSERT INTO t1(b) VALUES('x')")
    b = _open(path)
    a.execute("BEGIN CONCURRENT")
    b.execute("BEGIN CONCURRENT")
    a.execute("INSERT INTO t1(b) VALUES('c')")
    b.execute("INSERT INTO t1(b) VALUES('d')")
    a.execute("INSERT INTO t1(b) VALUES('c2')")
    # Each sees its own rows only; the rowids come from one counter, as in Turso.
    assert a.execute("SELECT * FROM t1").fetchall() == [(1, "x"), (2, "c"), (4, "c2")]
    assert b.execute("SELECT * FROM t1").fetchall() == [(1, "x"), (3, "d")]
    a.execute("COMMIT")
    b.execute("COMMIT")
    assert a.execute("SELECT * FROM t1").fetchall() == [(1, "x"), (2, "c"), (3, "d"), (4, "c2")]
    a.close()
    b.close()


def test_conflict_history_is_pruned_while_a_transaction_stays_open(tmp_path):
    path = tmp_path / "p.db"
    a = _mvcc(path)
    a.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b)")
    b = _open(path)
    c = _open(path)
    st = a._engine.db.mvcc
    sizes = []
    for i in range(400):
        # b and c alternate so one concurrent transaction is always open.
        cur, other = (b, c) if i % 2 else (c, b)
        if not cur.in_transaction:
            cur.execute("BEGIN CONCURRENT")
        cur.execute("INSERT INTO t1 VALUES(?, ?)", (i, i))
        if not other.in_transaction:
            other.execute("BEGIN CONCURRENT")
            other.execute("SELECT count(*) FROM t1").fetchall()  # its snapshot starts here
        cur.execute("COMMIT")
        sizes.append(len(st.committed))
    assert max(sizes) > 64  # the history was needed: each commit had another transaction open
    assert max(sizes) <= 2 * max(64, st.prune_at) + 2
    other.execute("COMMIT")
    assert a.execute("SELECT count(*) FROM t1").fetchall() == [(400,)]
    for x in (a, b, c):
        x.close()


def test_journal_mode_wal_leaves_mvcc_and_empties_the_log(tmp_path):
    path = tmp_path / "w.db"
    c = _mvcc(path)
    c.execute("CREATE TABLE t1(a)")
    c.execute("INSERT INTO t1 VALUES(1)")
    assert c.execute("PRAGMA journal_mode = wal").fetchall() == [("wal",)]
    assert os.path.getsize(str(path) + "-log") == 0
    c.execute("INSERT INTO t1 VALUES(2)")
    c.close()
    with open(path, "rb") as f:
        assert f.read(20)[18:20] == b"\x02\x02"
    c = _open(path)
    assert c.execute("PRAGMA journal_mode").fetchall() == [("wal",)]
    assert c.execute("SELECT a FROM t1").fetchall() == [(1,), (2,)]
    # Back to MVCC: the meta table is the one kept, and commits are logged again.
    assert c.execute("PRAGMA journal_mode = mvcc").fetchall() == [("mvcc",)]
    c.execute("INSERT INTO t1 VALUES(3)")
    assert c.execute("SELECT count(*) FROM sqlite_schema WHERE name LIKE '__turso%'").fetchall() == [(1,)]
    assert len(_frames(path)) == 1
    c.close()


def _power_workload(io, rng, seen, arm):
    """MVCC commits on ``io`` until the power goes. ``seen["acked"]`` gets each acknowledged
    state, ``seen["inflight"]`` is the state of the commit running."""
    a = limbodb.connect("p.db", io=io, isolation_level=None)
    b = limbodb.connect("p.db", io=io, isolation_level=None)
    a.execute("PRAGMA journal_mode = mvcc").fetchall()
    if rng.random() < 0.5:
        # Frequent automatic checkpoints (each one folds the WAL in and empties the log).
        a.execute("PRAGMA wal_autocheckpoint = 12").fetchall()
    a.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT)")
    a.execute("CREATE INDEX i1 ON t1(b)")
    model = {}
    seen["acked"].append(dict(model))
    arm()

    def commit(con, sql, args=()):
        seen["inflight"] = dict(model)
        con.execute(sql, args)
        seen["acked"].append(dict(model))

    for _ in range(60):
        r = rng.random()
        if r < 0.4:
            k, v = rng.randrange(40), "v%d" % rng.randrange(1000)
            model[k] = v
            commit(a, "INSERT OR REPLACE INTO t1 VALUES(?, ?)", (k, v))
        elif r < 0.55 and model:
            k = rng.choice(sorted(model))
            del model[k]
            commit(b, "DELETE FROM t1 WHERE a = ?", (k,))
        elif r < 0.9:
            k1, k2 = rng.sample(range(40, 80), 2)
            a.execute("BEGIN CONCURRENT")
            b.execute("BEGIN CONCURRENT")
            a.execute("INSERT OR REPLACE INTO t1 VALUES(?, 'a')", (k1,))
            b.execute("INSERT OR REPLACE INTO t1 VALUES(?, 'b')", (k2,))
            model[k1] = "a"
            commit(a, "COMMIT")
            model[k2] = "b"
            commit(b, "COMMIT")  # rebased onto a's commit
        else:
            a.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("seed", range(40))
def test_power_loss_during_mvcc_commits_keeps_every_acknowledged_commit(seed):
    rng = random.Random(seed)
    kind = FAULT_POWER_TORN if seed % 2 else FAULT_POWER_LOSS
    io = SimulatedIO(seed)
    seen = {"acked": [], "inflight": None}

    def arm():
        # The cut lands among the MVCC commits, after the schema exists.
        io.fail_at[io.op_count + rng.randrange(1, 700)] = kind
    try:
        _power_workload(io, random.Random(seed + 1000), seen, arm)
        seen["inflight"] = None
        io.power_loss("torn" if kind == FAULT_POWER_TORN else "lose")
    except PowerLossError:
        pass
    finally:
        # The abandoned connections' close meets the cut here, inside this test.
        gc.collect()
        _forget(io)
    assert not io.powered
    after = io.after_power_loss(seed)
    try:
        c = limbodb.connect("p.db", io=after, isolation_level=None)
        rows = dict(c.execute("SELECT a, b FROM t1").fetchall())
        assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert c.execute("SELECT a FROM t1 INDEXED BY i1 ORDER BY b, a").fetchall() == \
            [(k,) for k, _ in sorted(rows.items(), key=lambda kv: (kv[1], kv[0]))]
        c.close()
    finally:
        _forget(after)
    # The last acknowledged state, or the one whose commit was in flight at the cut.
    assert rows == seen["acked"][-1] or rows == seen["inflight"], (len(seen["acked"]), rows)


def test_an_encrypted_database_logs_encrypted_frames_and_replays_them(tmp_path):
    enc = {"cipher": "aegis256", "hexkey": "ab" * 32}
    path = str(tmp_path / "e.db")
    c = _mvcc(path, encryption=enc)
    c.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b)")
    c.executemany("INSERT INTO t1 VALUES (?, ?)", [(i, "secret-row-%d" % i) for i in range(20)])
    c.execute("DELETE FROM t1 WHERE a = 3")
    rows = c.execute("SELECT * FROM t1 ORDER BY a").fetchall()
    with open(path + "-log", "rb") as f:
        log = f.read()
    assert b"secret-row" not in log and b"CREATE TABLE" not in log
    # Frames are only readable with the key; the log-only copy replays from them.
    assert parse_log(log)[1] == []
    ctx = EncryptionContext(enc["cipher"], enc["hexkey"])
    assert len(parse_log(log, ctx)[1]) == 22
    copy = str(tmp_path / "copy.db")
    shutil.copy(path, copy)
    shutil.copy(path + "-log", copy + "-log")
    c.close()
    r = _open(copy, encryption=enc)
    assert r.execute("SELECT * FROM t1 ORDER BY a").fetchall() == rows
    assert r.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    r.close()
    # A frame whose CRC holds but whose ciphertext was altered is an error, not a lost commit.
    bad = bytearray(log)
    _ts, size, _count, _ = struct.unpack_from("<IQIQ", bad, LOG_HDR_SIZE)
    bad[LOG_HDR_SIZE + 24] ^= 1
    end = LOG_HDR_SIZE + 24 + size + ctx.reserved
    struct.pack_into("<I", bad, end, crc32c(bytes(bad[LOG_HDR_SIZE:end]), crc32c(bad[8:16])))
    with pytest.raises(limbodb.DatabaseError, match="fails decryption"):
        parse_log(bytes(bad), ctx)


def test_commit_timestamps_continue_past_the_last_checkpoint_after_a_reopen(tmp_path):
    path = tmp_path / "ts.db"
    c = _mvcc(path)
    c.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b)")
    c.executemany("INSERT INTO t1 VALUES(?, 'first')", [(i,) for i in range(5)])
    c.close()  # checkpointed: the meta row holds the last commit_ts
    c = _open(path)
    c.execute("INSERT INTO t1 VALUES(10, 'second')")
    (persisted,), = c.execute("SELECT v FROM __turso_internal_mvcc_meta").fetchall()
    assert [ts for ts, _ in _frames(path)] == [persisted]
    copy = tmp_path / "copy.db"
    _copy_without_wal(path, copy)
    c.close()
    d = _open(copy)
    assert d.execute("SELECT b FROM t1 WHERE a = 10").fetchall() == [("second",)]
    d.close()


# DDL whose replay must keep B-trees apart: schema rows updated in place (ALTER), a page
# of a dropped index reused by a new one, tables created and dropped between checkpoints.
DDL_STEPS = [
    "ALTER TABLE t1 ADD COLUMN d DEFAULT 7",
    "ALTER TABLE t1 RENAME TO t9",
    "ALTER TABLE t9 RENAME COLUMN c TO cc",
    "CREATE TABLE t3 AS SELECT a, b FROM t9 WHERE a < 10",
    "ALTER TABLE t9 DROP COLUMN cc",
    "DELETE FROM t3",
    "PRAGMA wal_checkpoint",
    "ALTER TABLE t9 ADD COLUMN e",
    "DROP INDEX i1",
    "CREATE INDEX i2 ON t9(b DESC)",
    "DROP TABLE t3",
    "CREATE TABLE t4(x UNIQUE)",
    "INSERT INTO t4 VALUES (1), (2)",
]


def ddl_snapshot(con):
    """Schema names and every user table's rows (the meta table's counter aside)."""
    tables = [t for (t,) in con.execute("SELECT name FROM sqlite_schema WHERE type = 'table' "
                                        "AND name NOT LIKE '\\_\\_turso%' ESCAPE '\\' ORDER BY name")]
    return (con.execute("SELECT type, name, tbl_name FROM sqlite_schema ORDER BY name").fetchall(),
            [con.execute("SELECT * FROM " + t).fetchall() for t in tables])


def ddl_workload(path):
    """Yields (step, expected snapshot) while running DDL_STEPS on an MVCC database at ``path``."""
    c = _mvcc(path)
    c.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b, c)")
    c.execute("CREATE INDEX i1 ON t1(b)")
    c.executemany("INSERT INTO t1 VALUES(?, ?, ?)", [(i, "b%d" % i, i) for i in range(50)])
    try:
        for step in DDL_STEPS:
            c.execute(step).fetchall()
            yield step, ddl_snapshot(c)
    finally:
        c.close()


def test_replay_of_ddl_keeps_every_btree_apart(tmp_path):
    for n, (step, expected) in enumerate(ddl_workload(tmp_path / "d.db")):
        copy = tmp_path / ("copy%d.db" % n)
        _copy_without_wal(tmp_path / "d.db", copy)
        d = _open(copy)
        assert ddl_snapshot(d) == expected, step
        assert d.execute("PRAGMA integrity_check").fetchall() == [("ok",)], step
        d.close()
