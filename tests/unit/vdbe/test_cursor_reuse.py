"""B-tree cursors outlive one execution of a statement (VM.reset parks them).

A parked cursor is unregistered from its tree, so writers through other cursors
neither see nor pay for it; the next execution's OpenRead/OpenWrite takes it
back. It keeps its position only while no page was written and no transaction
ended in between, and a table seek on the leaf it stands on (or past the
right-most leaf's end) needs no descent. Each case below checks both that reuse
happens and that the answers stay SQLite's across interleavings that invalidate
the kept position.
"""

import os
import random
import sqlite3

import limbodb
from limbodb.storage import btree
from limbodb.storage.btree import BTreeCursor
from limbodb.statement import ROW


def _live(pager, root):
    """Registered (open, unparked) B-tree cursors on tree ``root`` of ``pager``."""
    return btree._cursors(btree._OPEN.get((id(pager), root), ()))


def _pair(tmp_path):
    lim = limbodb.connect(os.path.join(tmp_path, "l.db"), isolation_level=None)
    ref = sqlite3.connect(os.path.join(tmp_path, "s.db"), isolation_level=None)
    for c in (lim, ref):
        c.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER, c TEXT)")
        c.execute("CREATE INDEX tb ON t(b)")
    return lim, ref


def _root(con, name):
    return con.execute("SELECT rootpage FROM sqlite_schema WHERE name = ?", (name,)).fetchone()[0]


def test_the_next_execution_reuses_the_parked_cursors_and_parked_ones_are_unregistered(tmp_path):
    con = limbodb.connect(os.path.join(tmp_path, "l.db"), isolation_level=None)
    con.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER, c TEXT)")
    con.execute("CREATE INDEX tb ON t(b)")
    troot, iroot = _root(con, "t"), _root(con, "tb")
    stmt = con._prepare_one("INSERT INTO t VALUES(?, ?, ?)")
    pager = con._engine.pager
    seen = []
    con.execute("BEGIN")
    for i in range(1, 50):
        stmt.reset()
        stmt.bind((i, i * 7 % 13, "x%d" % i))
        while stmt.step() == ROW:
            pass
        seen.append(tuple(id(c.btc) for c in stmt.vm.cursors if c is not None))
        assert len(_live(pager, troot)) == 1 and len(_live(pager, iroot)) == 1
    stmt.reset()
    # Reset parked both: no cursor of the statement is registered on either tree now.
    assert _live(pager, troot) == [] and _live(pager, iroot) == []
    assert all(c is None or c.btc.__class__ is BTreeCursor for c in stmt.vm.parked)
    con.execute("COMMIT")
    assert len(set(seen)) == 1, "each execution built new cursors"
    assert con.execute("SELECT count(*), sum(b) FROM t").fetchone() == (49, sum(i * 7 % 13 for i in range(1, 50)))


def test_kept_positions_are_dropped_when_another_statement_writes_the_tree(tmp_path):
    lim, ref = _pair(tmp_path)
    rnd = random.Random(4)
    for c in (lim, ref):
        c.execute("BEGIN")
    a = 0
    for step in range(3000):
        a += rnd.choice((1, 1, 1, 2, 50))
        op = rnd.random()
        for c in (lim, ref):
            # Ascending appends (the position kept across executions is used) mixed with
            # deletes, inserts below the end, updates moving rows, and savepoint rollbacks,
            # each of which must drop the positions the insert statement's cursors keep.
            c.execute("INSERT INTO t VALUES(?, ?, ?)", (a, a % 97, "v" * (a % 40)))
            if op < 0.1:
                c.execute("DELETE FROM t WHERE a BETWEEN ? AND ?", (a - 30, a - 10))
            elif op < 0.15:
                c.execute("INSERT OR REPLACE INTO t VALUES(?, ?, ?)", (a - 5, -a, "w" * 300))
            elif op < 0.18:
                c.execute("UPDATE t SET a = a + 100000 WHERE a = ?", (a - 2,))
            elif op < 0.2:
                c.execute("SAVEPOINT s")
                c.execute("INSERT INTO t VALUES(?, ?, ?)", (a + 1, 1, "z" * 900))
                c.execute("ROLLBACK TO s")
                c.execute("RELEASE s")
        if step % 500 == 499:
            for c in (lim, ref):
                c.execute("COMMIT")
                c.execute("BEGIN")
    for c in (lim, ref):
        c.execute("COMMIT")
    q = "SELECT a, b, c FROM t ORDER BY a"
    assert lim.execute(q).fetchall() == ref.execute(q).fetchall()
    q = "SELECT b, a FROM t INDEXED BY tb ORDER BY b, a"
    assert lim.execute(q).fetchall() == ref.execute(q).fetchall()
    lim.close()
    assert sqlite3.connect(os.path.join(tmp_path, "l.db")).execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_rowid_lookups_from_a_kept_position_find_rows_before_within_and_after_its_leaf(tmp_path):
    lim, ref = _pair(tmp_path)
    rows = [(i, i % 11, "r%d" % i) for i in range(1, 4000, 3)]
    for c in (lim, ref):
        c.execute("BEGIN")
        c.executemany("INSERT INTO t VALUES(?, ?, ?)", rows)
        c.execute("COMMIT")
    rnd = random.Random(9)
    keys = [rnd.randrange(-5, 4100) for _ in range(2000)]
    # Runs of nearby keys (served from the leaf the cursor kept) and jumps between leaves.
    keys += sorted(keys[:500]) + [5000, 3998, 3999, 4000, 1, 0, -1]
    for c in (lim, ref):
        c.execute("BEGIN")
    q = "SELECT b, c FROM t WHERE a = ?"
    for k in keys:
        assert lim.execute(q, (k,)).fetchall() == ref.execute(q, (k,)).fetchall(), k
        if k % 7 == 0:
            for c in (lim, ref):
                c.execute("UPDATE t SET c = c || 'u' WHERE a = ?", (k + 1,))
    for c in (lim, ref):
        c.execute("COMMIT")
    q = "SELECT sum(length(c)) FROM t"
    assert lim.execute(q).fetchone() == ref.execute(q).fetchone()


def test_a_commit_by_another_connection_drops_the_kept_position(tmp_path):
    path = os.path.join(tmp_path, "l.db")
    one = limbodb.connect(path, isolation_level=None)
    one.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b)")
    two = limbodb.connect(path, isolation_level=None)
    for i in range(1, 600):
        one.execute("INSERT INTO t VALUES(?, ?)", (i, "a" * 50))
        if i % 3 == 0:
            # The other connection's rows land where ``one``'s cursor was parked.
            two.execute("INSERT INTO t VALUES(?, ?)", (10000 + i, "b" * 50))
            two.execute("DELETE FROM t WHERE a = ?", (i - 1,))
        assert one.execute("SELECT b FROM t WHERE a = ?", (i,)).fetchone() == ("a" * 50,)
    # 599 rows of ``one``, 199 of ``two``, 199 of ``one``'s deleted by ``two``.
    assert one.execute("SELECT count(*) FROM t").fetchone() == (599,)
    one.close()
    two.close()
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_a_position_taken_inside_an_old_snapshot_is_dropped_when_a_newer_one_begins(tmp_path):
    # b's position is taken after a's commit but inside b's older read transaction, so the
    # Page objects it holds are the old snapshot's; the next transaction must not reuse them.
    path = os.path.join(tmp_path, "w.db")
    a = limbodb.connect(path, isolation_level=None)
    a.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b INTEGER)")
    a.executemany("INSERT INTO t VALUES (?, ?)", [(i, i) for i in range(1, 200)])
    b = limbodb.connect(path, isolation_level=None)
    q = "SELECT b FROM t WHERE a = ?"
    b.execute("BEGIN")
    assert b.execute(q, (100,)).fetchall() == [(100,)]
    a.execute("UPDATE t SET b = -1 WHERE a = 100")
    assert b.execute(q, (100,)).fetchall() == [(100,)]
    b.execute("COMMIT")
    assert b.execute(q, (100,)).fetchall() == [(-1,)]
