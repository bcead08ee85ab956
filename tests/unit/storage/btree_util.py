"""Helpers for the B-tree tests: a pager in a write transaction, a driven cursor, checks."""

from limbodb.io import MemoryIO, run_sync
from limbodb.io.completion import IO
from limbodb.storage.btree import BTreeCursor, create_btree
from limbodb.storage.integrity import check_tree, integrity_check
from limbodb.storage.pager import Database, Pager


def open_pager(io=None, path=":memory:", page_size=None, cache_size=-2000):
    """A Pager on a fresh database, inside a write transaction."""
    io = io or MemoryIO()
    db = Database.open(io, path)
    run_sync(io, db.open)
    if page_size is not None:
        db.set_page_size(page_size)
    pager = Pager(db, cache_size=cache_size)
    run_sync(io, pager.begin_write_tx)
    return io, pager


class Driven:
    """A BTreeCursor whose re-entrant calls are driven to their result by ``io``.

    ``waits`` counts the IO results the cursor returned (each call is repeated after one).
    """

    def __init__(self, io, pager, root, key_info=None):
        self.io = io
        self.cursor = BTreeCursor(pager, root, key_info)
        self.waits = 0

    def __getattr__(self, name):
        fn = getattr(self.cursor, name)
        if name == "rowid":
            return fn

        def counted(*args):
            r = fn(*args)
            if r.__class__ is IO:
                self.waits += 1
            return r

        return lambda *args: run_sync(self.io, counted, *args)


def new_tree(io, pager, key_info=None):
    root = run_sync(io, create_btree, pager, key_info is not None)
    return root, Driven(io, pager, root, key_info)


def scan(cur):
    """Every entry in order: rowids (table) or payload bytes (index)."""
    out = []
    ok = cur.first()
    while ok:
        out.append(cur.rowid() if cur.cursor.key_info is None else cur.payload())
        ok = cur.next()
    return out


def scan_back(cur):
    out = []
    ok = cur.last()
    while ok:
        out.append(cur.rowid() if cur.cursor.key_info is None else cur.payload())
        ok = cur.prev()
    return out


def assert_sound(io, pager, roots, key_infos=None):
    """integrity_check is "ok" for the whole file and the walker finds nothing wrong."""
    assert run_sync(io, integrity_check, pager, [1] + list(roots)) == ["ok"]
    key_infos = key_infos or {}
    for root in roots:
        assert run_sync(io, check_tree, pager, root, key_infos.get(root)) == []


def commit(io, pager):
    """Commit the write transaction and start the next one."""
    run_sync(io, pager.commit)
    run_sync(io, pager.begin_write_tx)
