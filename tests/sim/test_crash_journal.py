"""Hot-journal playback survives power loss at any point: the next open finishes it.

A sqlite3 child process is killed mid-transaction (after its cache spilled into the
database file), leaving a hot -journal. The files are loaded into SimulatedIO, the
playback is cut by a power loss at a random operation, and the reopened database must
equal the file sqlite3 itself produces when it rolls the journal back.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from limbodb.io import run_sync
from limbodb.io.sim import PowerLossError, SimulatedIO
from limbodb.storage.pager import Database, Pager

SEEDS = int(os.environ.get("LIMBODB_SOAK", "40"))

CRASH_MID_TRANSACTION = textwrap.dedent("""
    import os, sqlite3, sys
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute("PRAGMA cache_size=2")
    con.execute("BEGIN")
    con.execute("UPDATE t1 SET b = b || 'changed'")
    con.execute("INSERT INTO t1 SELECT a + 1000, b FROM t1")
    os._exit(0)
""")


@pytest.fixture(scope="module")
def hot_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hot")
    path = str(tmp / "t1.db")
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size=1024")
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("CREATE TABLE t1(a, b)")
    con.executemany("INSERT INTO t1 VALUES(?, ?)", [(i, "r" * (i % 150)) for i in range(200)])
    con.commit()
    con.close()
    subprocess.run([sys.executable, "-c", CRASH_MID_TRANSACTION, path], check=True)
    files = {"t1.db": open(path, "rb").read(), "t1.db-journal": open(path + "-journal", "rb").read()}
    ref = tmp / "ref"
    ref.mkdir()
    shutil.copy(path, ref / "t1.db")
    shutil.copy(path + "-journal", ref / "t1.db-journal")
    con = sqlite3.connect(ref / "t1.db")
    con.execute("SELECT count(*) FROM t1").fetchone()
    con.close()
    return files, (ref / "t1.db").read_bytes()


def forget(io):
    for key, db in list(Database._registry.items()):
        if db.io is io:
            del Database._registry[key]


def open_and_read(io):
    db = Database.open(io, "t1.db")
    run_sync(io, db.open)
    pager = Pager(db)
    run_sync(io, pager.begin_read_tx)
    data = b"".join(bytes(run_sync(io, pager.read_page, p).data) for p in range(1, pager.db_size + 1))
    pager.end_read_tx()
    return data


@pytest.mark.parametrize("seed", range(SEEDS))
def test_power_loss_during_journal_playback_then_reopen_rolls_back(hot_files, seed):
    files, expected = hot_files
    dry = SimulatedIO(seed, files=files)
    assert open_and_read(dry) == expected
    forget(dry)
    target = seed % dry.op_count
    io = SimulatedIO(seed, files=files, fail_at={target: "power_loss_torn" if seed % 2 else "power_loss"})
    with pytest.raises(PowerLossError):
        open_and_read(io)
    forget(io)
    after = io.after_power_loss()
    assert open_and_read(after) == expected
    assert "t1.db-journal" not in after.files
    forget(after)
