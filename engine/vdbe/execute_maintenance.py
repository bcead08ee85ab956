"""Opcodes for whole-database maintenance: VACUUM [INTO], ANALYZE, REINDEX.

Each walks many B-trees, so each runs as a generator kept in ``vm.state``
under ``("maint", pc)``: it yields the ``IO`` of any read that must wait and
is resumed at the same instruction, where it left off (a reset VM clears
``vm.state``, dropping a half-done walk). VACUUM copies every B-tree, in
sqlite_schema order, into a scratch database on MemoryIO (whose completions
finish at once, so driving it with ``run_sync`` never blocks), then either
writes that compact image over the main database inside the write
transaction (the commit frame's smaller size shrinks the file at checkpoint)
or, for VACUUM INTO, to a new file in rollback-journal format, as SQLite's.
Mirrors sqlite src/vacuum.c (sqlite3RunVacuum), src/analyze.c (statGet) and
src/build.c (sqlite3RefillIndex).
"""

from limbodb.errors import NotSupportedError, OperationalError
from limbodb.io.base import OPEN_CREATE, OPEN_READWRITE
from limbodb.io.blocking import BlockingIO
from limbodb.io.completion import IO as IOM
from limbodb.io.completion import run_sync
from limbodb.io.memory import MemoryIO
from limbodb.storage.btree import BTreeCursor, clear_btree, create_btree
from limbodb.storage.database import Database
from limbodb.storage.header import get_field, set_field
from limbodb.storage.pager import Pager
from limbodb.storage.record import compare_values, encode_record
from limbodb.vdbe.program import EXIT_IO


def _call(fn, *args):
    """Generator: call re-entrant ``fn`` until it returns, yielding each IO to wait for."""
    while True:
        r = fn(*args)
        if r.__class__ is not IOM:
            return r
        yield r


def _drive(vm, pc, make, nxt):
    """Run (or resume) the generator of the instruction at ``pc``; ``nxt`` once it has ended."""
    key = ("maint", pc)
    state = vm.state
    gen = state.get(key)
    if gen is None:
        gen = state[key] = make()
    try:
        r = next(gen)
    except StopIteration:
        del state[key]
        return nxt
    except BaseException:
        state.pop(key, None)
        raise
    vm.completion = r.completion
    vm.pc = pc
    return EXIT_IO


# ---------------------------------------------------------------- VACUUM

def _key_info(schema, kind, name):
    """(is_index, KeyInfo or None) of the B-tree of the sqlite_schema row (kind, name)."""
    lname = name.lower()
    if kind == "index":
        idx = schema.indexes.get(lname)
        return True, idx.key_info() if idx is not None else None
    table = schema.tables.get(lname)
    if table is not None and table.without_rowid:
        return True, next(i for i in table.indexes if i.origin == "pk").key_info()
    return False, None


def _compact_image(conn):
    """Generator: the pages of a compact copy of the main database (page 1 header included)."""
    src = conn.pager
    if src.usable_size != src.page_size:
        raise NotSupportedError("VACUUM of a database with reserved bytes is not supported")
    rows = []
    cur = BTreeCursor(src, 1)
    ok = yield from _call(cur.first)
    while ok:
        rec = yield from _call(cur.record)
        rows.append((cur.rowid(), rec.values()))
        ok = yield from _call(cur.next)
    mio = MemoryIO()
    scratch = Database(mio, ":memory:")
    run_sync(mio, scratch.open)
    scratch.set_page_size(src.page_size)
    dst = Pager(scratch)
    run_sync(mio, dst.begin_read_tx)
    run_sync(mio, dst.begin_write_tx)
    schema_rows = []
    for rowid, values in rows:
        kind, name, root = values[0], values[1], values[3]
        if isinstance(root, int) and root > 0:
            is_index, key_info = _key_info(conn.schema, kind, name)
            new_root = run_sync(mio, create_btree, dst, is_index)
            yield from _copy_btree(src, root, dst, new_root, key_info, is_index, mio)
            values = list(values)
            values[3] = new_root
        schema_rows.append((rowid, values))
    out = BTreeCursor(dst, 1)
    for rowid, values in schema_rows:
        run_sync(mio, out.insert, rowid, encode_record(values))
    pages = [bytearray(run_sync(mio, dst.read_page, p).data) for p in range(1, dst.db_size + 1)]
    page1 = pages[0]
    page1[:100] = src.page1().data[:100]
    for name in ("freelist_trunk", "freelist_count", "largest_root_page", "incremental_vacuum"):
        set_field(page1, name, 0)
    set_field(page1, "database_size", len(pages))
    set_field(page1, "schema_cookie", get_field(page1, "schema_cookie") + 1)
    return pages


def _copy_btree(src, root, dst, new_root, key_info, is_index, mio):
    """Generator: insert every entry of B-tree ``root`` of ``src`` into ``new_root`` of ``dst``."""
    scur = BTreeCursor(src, root, key_info)
    dcur = BTreeCursor(dst, new_root, key_info)
    ok = yield from _call(scur.first)
    while ok:
        payload = bytes((yield from _call(scur.payload)))
        if is_index:
            run_sync(mio, dcur.insert, payload, None)
        else:
            run_sync(mio, dcur.insert, scur.rowid(), payload)
        ok = yield from _call(scur.next)


def _vacuum_in_place(conn):
    """Generator: replace the main database's pages with a compact copy of them."""
    if not conn.autocommit or conn._nrunning > 1:
        raise OperationalError("cannot VACUUM from within a transaction" if not conn.autocommit
                               else "cannot VACUUM - SQL statements in progress")
    pages = yield from _compact_image(conn)
    pager = conn.pager
    for pgno, data in enumerate(pages, 1):
        page = pager.page1() if pgno == 1 else pager.cached_page(pgno)
        if page is None:
            page = pager.new_page(pgno)
        else:
            pager.mark_dirty(page)
        page.data[:] = data
        page.aux = None
    pager.db_size = len(pages)


def _vacuum_into(conn, path):
    """Generator: write a compact copy of the main database to the new file ``path``."""
    if not conn.autocommit:
        raise OperationalError("cannot VACUUM from within a transaction")
    if not isinstance(path, str):
        raise OperationalError("non-text filename")
    io = conn.io
    if conn.pager.db.is_memory and getattr(io, "files", None) is not None:
        # A :memory: database lives in a private MemoryIO; the copy goes to the real file system.
        io = BlockingIO()
    if io.exists(path):
        f = io.open_file(path, OPEN_READWRITE)
        c = f.size()
        if not c.finished():
            yield IOM(c)
        c.raise_if_failed()
        if c.result:
            f.close()
            raise OperationalError("output file already exists")
    else:
        f = io.open_file(path, OPEN_READWRITE | OPEN_CREATE)
    try:
        pages = yield from _compact_image(conn)
        page1 = pages[0]
        # The copy is a rollback-journal database whose header size is valid.
        page1[18] = page1[19] = 1
        set_field(page1, "change_counter", 1)
        set_field(page1, "version_valid_for", 1)
        for c in (f.pwrite(0, b"".join(pages)), f.sync()):
            if not c.finished():
                yield IOM(c)
            c.raise_if_failed()
    finally:
        f.close()


def op_vacuum(vm, insn, pc):
    """Opcode: Vacuum P1 P2 * * *

    Rebuild the main database compactly; with P1 = 1, write the compact copy
    instead to the file named by register P2 (VACUUM INTO).
    """
    into, p2 = insn.p1, insn.p2
    conn = vm.conn
    regs = vm.regs
    nxt = pc + 1

    def make():
        return _vacuum_into(conn, regs[p2]) if into else _vacuum_in_place(conn)

    def run():
        return _drive(vm, pc, make, nxt)
    return run


# ---------------------------------------------------------------- ANALYZE

def _index_stat(pager, root, key_info, colls):
    """Generator: statGet's "nrow avg..." for an index's key columns (None when it is empty)."""
    ncols = len(colls)
    cur = BTreeCursor(pager, root, key_info)
    n = 0
    distinct = [0] * ncols
    prev = None
    ok = yield from _call(cur.first)
    while ok:
        rec = yield from _call(cur.record)
        key = [rec.column(i) for i in range(ncols)]
        if prev is not None:
            for i in range(ncols):
                if compare_values(prev[i], key[i], colls[i]) != 0:
                    for j in range(i, ncols):
                        distinct[j] += 1
                    break
        prev = key
        n += 1
        ok = yield from _call(cur.next)
    if n == 0:
        return None
    parts = [str(n)]
    for d in distinct:
        nd = d + 1
        v = (n + nd - 1) // nd
        if v == 2 and n * 10 <= nd * 11:
            v = 1
        parts.append(str(v))
    return " ".join(parts)


def _count_rows(pager, root):
    cur = BTreeCursor(pager, root)
    n = yield from _call(cur.count)
    return n


def _analyze(pager, stat_root, targets):
    """Generator: append sqlite_stat1 rows for ``targets`` (see translate/analyze.py _stat_target)."""
    rows = []
    for tbl, root, indexes, count in targets:
        for name, idx_root, key_info, colls in indexes:
            stat = yield from _index_stat(pager, idx_root, key_info, colls)
            if stat is not None:
                rows.append((tbl, name, stat))
        if count:
            n = yield from _count_rows(pager, root)
            if n:
                rows.append((tbl, None, str(n)))
    cur = BTreeCursor(pager, stat_root)
    ok = yield from _call(cur.last)
    rowid = cur.rowid() if ok else 0
    for row in rows:
        rowid += 1
        yield from _call(cur.insert, rowid, encode_record(list(row)))


def op_analyze(vm, insn, pc):
    """Opcode: Analyze P1 * * P4 *

    Append to sqlite_stat1 (root page in register P1) the statistics of the
    tables and indexes listed in P4: "nrow" then, per index column prefix,
    the average number of rows sharing it.
    """
    p1, targets = insn.p1, insn.p4
    conn = vm.conn
    regs = vm.regs
    nxt = pc + 1

    def run():
        return _drive(vm, pc, lambda: _analyze(conn.pager, regs[p1], targets), nxt)
    return run


# ---------------------------------------------------------------- REINDEX

def _reindex(pager, jobs):
    """Generator: empty each index and refill it from its table's rows."""
    for table_root, table_key_info, idx_root, key_info, positions, defaults in jobs:
        yield from _call(clear_btree, pager, idx_root)
        tcur = BTreeCursor(pager, table_root, table_key_info)
        icur = BTreeCursor(pager, idx_root, key_info)
        ok = yield from _call(tcur.first)
        while ok:
            rec = yield from _call(tcur.record)
            key = []
            for pos, dflt in zip(positions, defaults):
                if pos < 0:
                    key.append(tcur.rowid())
                elif dflt is not None and pos >= rec.ncols:
                    key.append(dflt)
                else:
                    key.append(rec.column(pos))
            yield from _call(icur.insert, encode_record(key), None)
            ok = yield from _call(tcur.next)


def op_reindex(vm, insn, pc):
    """Opcode: Reindex * * * P4 *

    Rebuild the indexes in P4, each (table root, table KeyInfo or None, index
    root, index KeyInfo, record positions of the key columns (-1: rowid),
    their DEFAULTs for rows older than the column).
    """
    jobs = insn.p4
    conn = vm.conn
    nxt = pc + 1

    def run():
        return _drive(vm, pc, lambda: _reindex(conn.pager, jobs), nxt)
    return run
