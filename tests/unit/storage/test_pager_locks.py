"""Two processes: the POSIX lock keeps sqlite3 (or another limbodb) from touching an open file."""

import sqlite3
import subprocess
import sys
import textwrap

import pytest

from limbodb.errors import BusyError
from limbodb.io import BlockingIO
from limbodb.io.blocking import fcntl

from .pager_util import drive, open_pager, sqlite_check

pytestmark = pytest.mark.skipif(fcntl is None, reason="no POSIX locks on this platform")

SQLITE_READ = textwrap.dedent("""
    import sqlite3, sys
    con = sqlite3.connect(sys.argv[1], timeout=0)
    try:
        print(con.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0])
    except sqlite3.OperationalError as e:
        print(e)
""")

SQLITE_HOLD_READ = textwrap.dedent("""
    import sqlite3, sys
    con = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
    con.execute("BEGIN")
    con.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    print("ready", flush=True)
    sys.stdin.readline()
""")

LIMBODB_OPEN = textwrap.dedent("""
    import sys
    from limbodb.errors import BusyError
    from limbodb.io import BlockingIO, run_sync
    from limbodb.storage.pager import Database
    io = BlockingIO()
    db = Database.open(io, sys.argv[1])
    try:
        run_sync(io, db.open)
        print("opened")
    except BusyError as e:
        print(e)
""")


def run_child(script, path):
    out = subprocess.run([sys.executable, "-c", script, path], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def make_db(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t1(a)")
    con.commit()
    con.close()


def test_sqlite3_process_is_locked_out_while_limbodb_has_the_file_open(tmp_path):
    path = str(tmp_path / "t1.db")
    make_db(path)
    io = BlockingIO()
    pager = open_pager(io, path)
    assert run_child(SQLITE_READ, path) == "database is locked"
    drive(io, pager.close)
    assert run_child(SQLITE_READ, path) == "1"


def test_second_limbodb_process_gets_database_is_locked(tmp_path):
    path = str(tmp_path / "t1.db")
    make_db(path)
    io = BlockingIO()
    pager = open_pager(io, path)
    assert run_child(LIMBODB_OPEN, path) == "database is locked"
    drive(io, pager.close)
    assert run_child(LIMBODB_OPEN, path) == "opened"


def test_open_fails_with_busy_while_sqlite3_reads(tmp_path):
    path = str(tmp_path / "t1.db")
    make_db(path)
    child = subprocess.Popen([sys.executable, "-c", SQLITE_HOLD_READ, path],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        with pytest.raises(BusyError, match="database is locked"):
            open_pager(BlockingIO(), path)
    finally:
        child.communicate("\n")
    pager = open_pager(BlockingIO(), path)
    drive(pager.db.io, pager.close)
    ok, rows = sqlite_check(path)
    assert ok == [("ok",)] and rows == {"t1": []}
