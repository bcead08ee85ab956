"""Shared machinery of the corrupt-input tests: build, damage, open under a time limit, judge.

`make_db` builds a database with sqlite3 (a table with an index and overflow rows, a
second table, a freelist). `probe(files)` opens a damaged copy in a MemoryIO with
limbodb and runs the checks of the issue (count, full scans, an index lookup,
integrity_check, an INSERT+commit) under a SIGALRM time limit. The only acceptable
outcomes are results or limbodb.DatabaseError; anything else (a hang, IndexError,
RecursionError, InternalError...) propagates and fails the test. When sqlite3 itself
finds the damaged file sound, limbodb's results must equal sqlite3's and the file
must still be sound after limbodb wrote to it.
"""

import os
import random
import signal
import sqlite3

import limbodb
from limbodb.io.memory import MemoryIO
from limbodb.storage.database import Database

PATH = "t1.db"
TIME_LIMIT = 10
QUERIES = (
    "SELECT count(*) FROM t1",
    "SELECT * FROM t1",
    "SELECT a FROM t1 WHERE b = 'v00050'",
    "SELECT b FROM t1 WHERE b >= 'v00200' ORDER BY b",
    "SELECT * FROM t2",
    "SELECT x FROM t3 WHERE y = '0123" + "y" * 200 + "'",
    "SELECT count(*) FROM t3 WHERE y >= '0300'",
    "PRAGMA integrity_check",
)
INSERT = "INSERT INTO t1(b, c) VALUES('new', x'0102')"


class Hang(Exception):
    """Raised by the alarm: a case ran past its time limit."""


def _on_alarm(signum, frame):
    raise Hang(f"no answer within {TIME_LIMIT} s")


def make_db(directory, page_size):
    """Bytes of a fresh sqlite3 database with indexes, overflow rows and a freelist."""
    path = os.path.join(directory, f"base{page_size}.db")
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA page_size={page_size}")
    # Long index keys make a tree three or more levels deep (and spill to overflow at 1024).
    con.execute("CREATE TABLE t3(x INTEGER PRIMARY KEY, y TEXT)")
    con.execute("CREATE INDEX i3 ON t3(y)")
    con.executemany("INSERT INTO t3 VALUES(?, ?)", [(i, f"{i:04d}" + "y" * 200) for i in range(400)])
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b TEXT, c BLOB)")
    con.execute("CREATE INDEX i1 ON t1(b)")
    rng = random.Random(page_size)
    con.executemany("INSERT INTO t1 VALUES(?, ?, ?)",
                    [(i, f"v{i:05d}", rng.randbytes(5000 if i % 20 == 0 else 20)) for i in range(1, 301)])
    con.execute("CREATE TABLE t2(x, y)")
    con.executemany("INSERT INTO t2 VALUES(?, ?)", [(i, str(i) * 5) for i in range(200)])
    # Deleted last, so the freed pages stay on the freelist.
    con.execute("DELETE FROM t2 WHERE x % 3 = 0")
    con.execute("DELETE FROM t1 WHERE a BETWEEN 100 AND 180")
    con.commit()
    con.close()
    with open(path, "rb") as f:
        return f.read()


def sqlite_answers(directory, files):
    """sqlite3's integrity verdict and query results on ``files`` ({name: bytes}), or None if it errs."""
    for name in ("t1.db", "t1.db-wal", "t1.db-shm", "t1.db-journal"):
        p = os.path.join(directory, name)
        if os.path.exists(p):
            os.remove(p)
    for name, data in files.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    con = sqlite3.connect(os.path.join(directory, PATH))
    con.text_factory = _text
    try:
        # Only reads here: no need to fsync the checkpoint sqlite3 runs when it closes.
        con.execute("PRAGMA synchronous=OFF")
        verdict = con.execute("PRAGMA integrity_check").fetchall()
        if verdict != [("ok",)]:
            return None
        return [con.execute(q).fetchall() for q in QUERIES]
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        # sqlite3 finds the damage (or cannot decode a damaged schema): no oracle for this case.
        return None
    finally:
        con.close()


def _text(raw):
    # limbodb decodes invalid UTF-8 with surrogateescape; decode sqlite3's text the same way.
    return raw.decode("utf-8", "surrogateescape")


def _forget(io):
    # A Database left half-open by an error must not be found by a later MemoryIO reusing its id().
    for key, db in list(Database._registry.items()):
        if db.io is io:
            del Database._registry[key]


def _outcome(e):
    """``e`` if it is an acceptable answer to damage; InternalError (a DatabaseError too) is not."""
    if isinstance(e, limbodb.InternalError):
        raise AssertionError(f"internal error on a damaged file: {e}") from e
    return e


def _attempt(con, sql, out):
    try:
        out.append(con.execute(sql).fetchall())
    except limbodb.DatabaseError as e:
        out.append(_outcome(e))


def probe(files):
    """Open ``files`` ({name: bytes}) with limbodb, run every check; return (answers, files after)."""
    io = MemoryIO()
    for name, data in files.items():
        io.files[name] = bytearray(data)
    out = []
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(TIME_LIMIT)
    try:
        try:
            con = limbodb.connect(PATH, io=io)
        except limbodb.DatabaseError as e:
            return [_outcome(e)], files
        try:
            for sql in QUERIES:
                _attempt(con, sql, out)
            try:
                con.execute(INSERT)
                con.commit()
                out.append("inserted")
            except limbodb.DatabaseError as e:
                out.append(_outcome(e))
        finally:
            try:
                con.close()
            except limbodb.DatabaseError as e:
                _outcome(e)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        _forget(io)
    return out, {name: bytes(data) for name, data in io.files.items()}


def check_case(directory, files, writable=None):
    """Run ``probe`` and compare with sqlite3 when sqlite3 finds the input sound.

    ``writable`` (a set of pgnos) are the pages the INSERT may change besides new
    pages past the input's end: writing any other page damages the file further.
    """
    expected = sqlite_answers(directory, files)
    out, after = probe(files)
    if expected is not None:
        assert out[:len(QUERIES)] == expected
        if out[-1] == "inserted":
            assert sqlite_answers(directory, after) is not None, "limbodb damaged a sound database"
    if writable is not None and "t1.db" in after:
        before, now = files["t1.db"], after["t1.db"]
        ps = page_size_of(before)
        if ps:
            changed = {i // ps + 1 for i in range(0, min(len(before), len(now)) // ps * ps, ps)
                       if before[i:i + ps] != now[i:i + ps]}
            assert changed <= writable, f"pages {sorted(changed - writable)} written"
    return out


def page_size_of(data):
    """The page size a database header declares, or 0 if it has none worth trusting."""
    if len(data) < 100 or not data.startswith(b"SQLite format 3\0"):
        return 0
    ps = int.from_bytes(data[16:18], "big")
    ps = 65536 if ps == 1 else ps
    return ps if ps >= 512 and ps & (ps - 1) == 0 else 0
