"""One connection's pager: snapshots, page reads, the write transaction and commit.

A ``Pager`` reads pages of its snapshot (a WAL frame <= its read mark, else the database
file), keeps them in its own ``PageCache``, and, inside the single write transaction of
its ``Database``, holds changed pages in memory (dirty pages never spill to the file:
a transaction must fit in memory) until ``commit`` appends them to the WAL.

Transaction states (pager.c's eState, reduced):
    NONE --begin_read_tx--> READ --begin_write_tx--> WRITE --commit/rollback--> NONE
    WRITE --I/O error in commit--> ERROR (sticky) --rollback--> NONE
In ERROR every write is refused with the original error; the database is as of the
last commit because frames are published only after they are synced.
Read-ahead (``prefetch``): on backends with ``async_reads``, a scan's next pages are read
into ``_inflight`` before they are asked for; they are dropped when the transaction ends
(commit, rollback, end_read_tx) or the snapshot changes, and a read's error surfaces
only if that page is read.
Mirrors sqlite src/pager.c, Turso core/storage/pager.rs.
"""

from limbodb.errors import (
    BusyError, IOError_, NotSupportedError, OperationalError, SQLITE_BUSY_SNAPSHOT, corrupt,
    invariant,
)
from limbodb.io.completion import IO, IOResult
from limbodb.storage import freelist, savepoint
from limbodb.storage.database import (
    CHECKPOINT_FULL, CHECKPOINT_PASSIVE, CHECKPOINT_RESTART, CHECKPOINT_TRUNCATE, Checkpoint,
    Database,
)
from limbodb.storage.header import SQLITE_VERSION_NUMBER, get_field, new_page1, set_field
from limbodb.storage.page_cache import DEFAULT_CACHE_SIZE, Page, PageCache, cache_capacity
from limbodb.storage.wal import FRAME_HEADER_SIZE

__all__ = [
    "Database", "Pager", "Page", "CHECKPOINT_PASSIVE", "CHECKPOINT_FULL", "CHECKPOINT_RESTART",
    "CHECKPOINT_TRUNCATE",
]

TX_NONE = 0
TX_READ = 1
TX_WRITE = 2

_CLOSED = "closed"
_SECTOR = 512

# Pages read ahead at most (measured on io_uring: cold reads pay off 32-64 at a time).
READAHEAD_WINDOW = 64
# A transaction's first read-ahead window; it doubles at each refill up to READAHEAD_WINDOW,
# as the kernel's does, so a query that stops after a leaf or two reads little extra.
READAHEAD_START = 4


class CommitState:
    """Resume points of ``Pager.commit``; each says which side effects already happened.

    START: nothing yet. INIT_WRITE / INIT_SYNC (a new, unencrypted database's first commit
    only): the first sector of an empty database's page 1 is being written to / synced in
    the database file, so the file is never empty while the WAL holds data (SQLite
    deletes a WAL beside an empty database file); nothing else has changed. WRITE: page 1's header updated in memory, the WAL may have been
    restarted (only when every frame was already in the database file) and the frames'
    pwrite issued. SYNC: the frames are written; the WAL sync issued. CHECKPOINT: the
    commit is published (durable and visible); an automatic checkpoint is running.
    """

    START = 0
    WRITE = 1
    SYNC = 2
    CHECKPOINT = 3
    INIT_WRITE = 4
    INIT_SYNC = 5


class _Commit:
    __slots__ = ("state", "completion", "pgnos", "db_size", "cksum", "checkpoint", "sync")

    def __init__(self, sync=True):
        self.sync = sync
        self.state = CommitState.START
        self.completion = None
        self.pgnos = None
        self.db_size = 0
        self.cksum = None
        self.checkpoint = None


class Pager:
    """A connection's view of a Database: snapshot, cache, write transaction."""

    __slots__ = ("db", "page_size", "usable_size", "cache_size", "cache", "_lru", "db_size",
                 "generation", "tx_state", "_mark", "_snap_seq", "_cache_gen", "_cache_max",
                 "_cache_seq", "_inflight", "_page1", "_tx_start_size", "_error", "_commit",
                 "_checkpoint", "_closing", "_enc", "savepoints", "dirty_epoch", "readahead",
                 "_ra_window", "writes")

    def __init__(self, db, cache_size=DEFAULT_CACHE_SIZE):
        invariant(db.opened, "Pager(db) needs an opened Database")
        db.refs += 1
        self.db = db
        self.page_size = db.page_size
        self.usable_size = db.page_size - db.reserved
        self.cache_size = cache_size
        self.cache = PageCache(cache_capacity(cache_size, db.page_size))
        self._lru = self.cache.lru
        self.db_size = 0
        self.generation = 0
        self.tx_state = TX_NONE
        self._mark = 0
        self._snap_seq = -1
        self._cache_gen = -1
        self._cache_max = 0
        self._cache_seq = -1
        self._inflight = {}
        self._page1 = None
        self._tx_start_size = 0
        self._error = None
        self._commit = None
        self._checkpoint = None
        self._closing = None
        self._enc = db.encryption
        # Open savepoints of the write transaction, oldest first (storage/savepoint.py);
        # a dirty page whose ``dirty`` equals ``dirty_epoch`` was already recorded.
        self.savepoints = []
        self.dirty_epoch = 1
        # mark_dirty calls so far (change_mark).
        self.writes = 0
        # Pages a scan may have in flight ahead of it; 0 turns read-ahead off.
        self.readahead = READAHEAD_WINDOW if db.io.async_reads else 0
        self._ra_window = READAHEAD_START

    # --- snapshots ----------------------------------------------------------------------------

    def _take_snapshot(self):
        db = self.db
        wal = db.wal
        self._mark = 0 if wal.backfilled == wal.max_frame else wal.max_frame
        db.readers[self] = self._mark
        self.db_size = db.snapshot_db_size()
        seq = db.commit_seq
        self._snap_seq = seq
        if seq != self._cache_seq:
            if wal.generation == self._cache_gen and wal.max_frame >= self._cache_max:
                discard = self.cache.discard
                fp = wal.frame_pgno
                for f in range(self._cache_max, wal.max_frame):
                    discard(fp[f])
            else:
                self.cache.clear()
                self._lru = self.cache.lru
            self._inflight.clear()
        self._cache_gen, self._cache_max, self._cache_seq = wal.generation, wal.max_frame, seq
        self.tx_state = TX_READ

    def begin_read_tx(self) -> IOResult[None]:
        """Re-entrant: take a snapshot (if none is held) and load page 1."""
        if self.tx_state == TX_NONE:
            self._take_snapshot()
        if self._page1 is None:
            p = self.read_page(1)
            if p.__class__ is IO:
                return p
            self._page1 = p
        return None

    def end_read_tx(self):
        """Drop the snapshot (a write transaction must be committed or rolled back first)."""
        invariant(self.tx_state != TX_WRITE, "end_read_tx inside a write transaction")
        self._end_tx()

    def _end_tx(self):
        # Pages read ahead for a scan that stopped early would hold the window until the
        # next commit; a later transaction reads what it needs again.
        self._inflight.clear()
        self._ra_window = READAHEAD_START
        self.savepoints.clear()
        self.db.readers.pop(self, None)
        if self.db.writer is self:
            self.db.writer = None
        self._page1 = None
        self.tx_state = TX_NONE

    @property
    def snapshot_seq(self):
        """The Database's commit_seq when this pager's snapshot was taken."""
        return self._snap_seq

    def begin_write_tx(self, concurrent=False) -> IOResult[None]:
        """Re-entrant: become the Database's writer on top of a current snapshot.

        Raises BusyError when another connection writes, BusyError(SQLITE_BUSY_SNAPSHOT)
        when this connection's snapshot is older than the last commit. ``concurrent``
        (BEGIN CONCURRENT, limbodb/mvcc.py): write private pages on this snapshot, however
        old, without the writer lock; the MVCC commit takes the lock.
        """
        if self.tx_state == TX_WRITE:
            return None
        if self._error is not None:
            raise self._error
        r = self.begin_read_tx()
        if r is not None:
            return r
        db = self.db
        if not concurrent:
            if db.writer is not None and db.writer is not self:
                raise BusyError()
            if self._snap_seq != db.commit_seq:
                raise BusyError("database is locked", SQLITE_BUSY_SNAPSHOT)
        if self.db_size and self.header_field("largest_root_page"):
            # Writing would need the pointer-map pages limbodb does not maintain.
            raise NotSupportedError("auto-vacuum databases are read-only in limbodb")
        if not concurrent:
            db.writer = self
        self.tx_state = TX_WRITE
        self._tx_start_size = self.db_size
        if self.db_size == 0:
            page1 = self._page1
            self.cache.make_dirty(page1)
            self.db_size = 1
        elif self._page1.data[18] not in (2, 255) or self._page1.data[19] != self._page1.data[18]:
            # First write to a rollback-journal database: switch it to WAL, as
            # PRAGMA journal_mode=WAL would (header bytes 18/19 = 2). 255 is Turso's MVCC
            # mode (limbodb/mvcc.py), which commits through the WAL too.
            self.mark_dirty(self._page1)
            self._page1.data[18] = self._page1.data[19] = 2
        return None

    # --- pages --------------------------------------------------------------------------------

    def read_page(self, pgno) -> IOResult[Page]:
        """Re-entrant: the page ``pgno`` of this snapshot (cached: returned at once).

        Outside a transaction the first uncached read takes a snapshot, which lasts until
        end_read_tx/commit/rollback, as begin_read_tx's would.
        """
        page = self._lru.get(pgno)
        if page is not None:
            self._lru.move_to_end(pgno)
            return page
        return self._read_slow(pgno)

    def _read_slow(self, pgno):
        cache = self.cache
        page = cache.weak.get(pgno)
        if page is not None:
            cache.insert(page)
            return page
        if self.tx_state == TX_NONE:
            self._take_snapshot()
        if pgno < 1 or pgno > self.db_size:
            if pgno == 1 and self.db_size == 0:
                # An empty database still has page 1 for readers: the empty schema.
                page = Page(1, new_page1(self.page_size, reserved=self.db.reserved))
                cache.insert(page)
                return page
            raise corrupt(pgno=pgno)
        c = self._inflight.get(pgno)
        if c is None:
            c = self._inflight[pgno] = self._start_read(pgno)
        if not c.finished():
            return IO(c)
        del self._inflight[pgno]
        err = c.error()
        if err is not None:
            if isinstance(err, IOError_):
                raise err
            raise IOError_(str(err), op="read", offset=c.offset) from err
        data = c.result
        enc = self._enc
        if len(data) != self.page_size:
            # A new database's file may hold just page 1's first sector (see CommitState).
            if pgno != 1 or enc is not None or len(data) < _SECTOR:
                raise corrupt(pgno=pgno)
            data = data + bytes(self.page_size - len(data))
        page = Page(pgno, bytearray(data) if enc is None else enc.decrypt_page(pgno, data))
        cache.insert(page)
        return page

    def _start_read(self, pgno):
        """Issue the read of ``pgno`` in this snapshot: its WAL frame <= the mark, else the file."""
        db = self.db
        frame = db.wal.find_frame(pgno, self._mark) if self._mark else 0
        if frame:
            return db.wal_file.pread(db.wal.frame_offset(frame) + FRAME_HEADER_SIZE, self.page_size)
        return db.db_file.pread((pgno - 1) * self.page_size, self.page_size)

    def prefetch(self, pgnos):
        """Start reading those of ``pgnos`` (in order) that are neither cached nor loading.

        Never waits: a later ``read_page`` finds the completion in ``_inflight``. At most
        the window (``READAHEAD_START`` doubling up to ``readahead``, and half the cache)
        is in flight, so the pages it becomes cannot push more than half of the cache out;
        refills wait until half of it is used, so a scan calling this per page issues its
        reads in batches (one io_uring_enter each). Pages a write transaction added are in
        the cache or not in the file: only pages of the snapshot are read ahead.
        """
        window = self.readahead
        if not window or self.tx_state == TX_NONE:
            return
        inflight = self._inflight
        limit = min(self._ra_window, window, self.cache.capacity >> 1)
        if len(inflight) > limit >> 1:
            return
        room = limit - len(inflight)
        if room > 0:
            self._ra_window = min(self._ra_window << 1, window)
        lru = self._lru
        weak = self.cache.weak
        last = self._tx_start_size if self.tx_state == TX_WRITE else self.db_size
        for pgno in pgnos:
            if pgno in inflight or pgno in lru or pgno in weak or not 1 <= pgno <= last:
                continue
            inflight[pgno] = self._start_read(pgno)
            room -= 1
            if not room:
                return

    def cached_page(self, pgno):
        """The live Page object for pgno, or None (no I/O)."""
        return self.cache.get(pgno)

    def new_page(self, pgno):
        """A zeroed dirty page for a pgno whose old content does not matter."""
        page = Page(pgno, bytearray(self.page_size))
        self.cache.insert(page)
        self.mark_dirty(page)
        # A read of its old content (read ahead) would only hold memory now.
        self._inflight.pop(pgno, None)
        return page

    def page1(self):
        """Page 1, loaded since begin_read_tx."""
        page = self._page1
        invariant(page is not None, "page 1 is read only inside a transaction")
        return page

    def mark_dirty(self, page):
        """Declare that ``page.data`` is about to change (write transaction only)."""
        self.writes += 1
        if page.dirty == self.dirty_epoch:
            return
        if self._error is not None:
            raise self._error
        invariant(self.tx_state == TX_WRITE, "mark_dirty outside a write transaction")
        if self.savepoints:
            savepoint.record(self, page)
        if not page.dirty:
            self.cache.make_dirty(page)
        page.dirty = self.dirty_epoch

    def change_mark(self):
        """A mark for ``changed_since``."""
        return self.writes, self.db_size

    def changed_since(self, mark):
        """True if a page was marked dirty, or the file grew, after ``change_mark`` gave ``mark``."""
        return self.writes != mark[0] or self.db_size != mark[1]

    # --- savepoints (storage/savepoint.py) -----------------------------------------------------

    def open_savepoint(self):
        """A new savepoint of the write transaction; returns its handle."""
        invariant(self.tx_state == TX_WRITE, "savepoint outside a write transaction")
        return savepoint.open_savepoint(self)

    def rollback_to_savepoint(self, sp):
        """Undo the changes made since ``sp`` opened; ``sp`` stays open."""
        savepoint.rollback_to(self, sp)

    def release_savepoint(self, sp):
        """Close ``sp`` and every newer savepoint, keeping their changes."""
        savepoint.release(self, sp)

    def allocate_page(self) -> IOResult[Page]:
        """Re-entrant: a zeroed dirty page, reusing the freelist first."""
        invariant(self.tx_state == TX_WRITE, "allocate_page outside a write transaction")
        return freelist.allocate_page(self)

    def free_page(self, pgno) -> IOResult[None]:
        """Re-entrant: put ``pgno`` on the freelist."""
        invariant(self.tx_state == TX_WRITE, "free_page outside a write transaction")
        return freelist.free_page(self, pgno)

    def header_field(self, name):
        return get_field(self.page1().data, name)

    def set_header_field(self, name, value):
        page1 = self.page1()
        self.mark_dirty(page1)
        set_field(page1.data, name, value)

    def set_page_size(self, page_size):
        """PRAGMA page_size: takes effect only on an empty database with no other connection."""
        invariant(self.tx_state == TX_NONE, "page size change inside a transaction")
        self.db.set_page_size(page_size)
        self.page_size = self.db.page_size
        self.usable_size = self.page_size - self.db.reserved
        self.cache.clear()
        self.set_cache_size(self.cache_size)

    def set_encryption(self, ctx):
        """PRAGMA cipher/hexkey: encrypt a still-empty database (no page written, no other
        connection) with EncryptionContext ``ctx``; its pages reserve ``ctx.reserved`` bytes."""
        db = self.db
        if (self.tx_state != TX_NONE or db.file_db_size or db.wal.max_frame or db.refs > 1
                or db.encryption is not None):
            raise OperationalError("encryption can only be set on a new, empty database")
        db.encryption = ctx
        db.reserved = ctx.reserved
        self._enc = ctx
        self.usable_size = self.page_size - ctx.reserved
        self.cache.clear()

    def set_cache_size(self, cache_size):
        """PRAGMA cache_size: positive = pages, negative = KiB."""
        self.cache_size = cache_size
        self.cache.set_capacity(cache_capacity(cache_size, self.page_size))

    # --- commit and rollback ----------------------------------------------------------------

    def commit(self, sync=True) -> IOResult[None]:
        """Re-entrant: append the dirty pages to the WAL, sync, publish; end the transaction.

        See CommitState for the resume points. An I/O error before publishing leaves the
        pager in the sticky ERROR state until rollback(). ``sync=False`` (an MVCC commit
        whose frame is already durable in the logical log, limbodb/mvcc.py) skips the WAL
        fsync (a lost WAL tail is replayed from the log) and the automatic checkpoint.
        """
        if self._error is not None:
            raise self._error
        st = self._commit
        if st is None:
            if self.tx_state != TX_WRITE:
                if self.tx_state == TX_READ:
                    self._end_tx()
                return None
            if not self.cache.dirty:
                self._end_tx()
                return None
            st = self._commit = _Commit(sync)
        try:
            return self._commit_step(st)
        except BaseException as e:
            if st.state != CommitState.CHECKPOINT:
                self._error = e
            self._commit = None
            raise

    def _commit_step(self, st):
        db = self.db
        wal = db.wal
        while True:
            if (st.state == CommitState.START and not db.file_db_size and not wal.max_frame
                    and self._enc is None):
                # Only the first sector carries anything (the rest of an empty page 1 is
                # zeros), and one sector is written whole or not at all: a crash leaves an
                # empty file or a valid empty database, never a torn header. Encrypted
                # files skip this: SQLite cannot open them anyway.
                st.completion = db.db_file.pwrite(0, bytes(new_page1(self.page_size)[:_SECTOR]))
                st.state = CommitState.INIT_WRITE
                continue
            if st.state == CommitState.START:
                self._prepare_page1()
                if wal.max_frame and db.can_restart_wal(exclude=self):
                    wal.restart()
                db_size = self.db_size
                dirty = self.cache.dirty
                pgnos = sorted(p for p in dirty if p <= db_size)
                enc = self._enc
                if enc is None:
                    pages = [(p, dirty[p].data) for p in pgnos]
                else:
                    pages = [(p, enc.encrypt_page(p, dirty[p].data)) for p in pgnos]
                offset, buf, cksum = wal.build_frames(pages, db_size)
                st.pgnos, st.db_size, st.cksum = pgnos, db_size, cksum
                st.completion = db.wal_file.pwrite(offset, buf)
                st.state = CommitState.WRITE
                continue
            c = st.completion
            if c is not None:
                if not c.finished():
                    return IO(c)
                c.raise_if_failed()
            if st.state == CommitState.INIT_WRITE:
                st.completion = db.db_file.sync()
                st.state = CommitState.INIT_SYNC
            elif st.state == CommitState.INIT_SYNC:
                db.file_db_size = 1
                st.completion = None
                st.state = CommitState.START
            elif st.state == CommitState.WRITE:
                if st.sync:
                    st.completion = db.wal_file.sync()
                else:
                    st.completion = None
                    db.wal_unsynced = True
                st.state = CommitState.SYNC
            elif st.state == CommitState.SYNC:
                wal.publish(st.pgnos, st.db_size, st.cksum)
                db.commit_seq += 1
                self.cache.clean_all()
                # A read abandoned earlier may hold a page's pre-commit bytes.
                self._inflight.clear()
                self._cache_gen, self._cache_max, self._cache_seq = wal.generation, wal.max_frame, db.commit_seq
                self._end_tx()
                st.state = CommitState.CHECKPOINT
                st.completion = None
                # An MVCC commit (not st.sync) checkpoints through mvcc.py, which empties the log.
                if db.autocheckpoint <= 0 or wal.max_frame < db.autocheckpoint or not st.sync:
                    self._commit = None
                    return None
                st.checkpoint = Checkpoint(db, CHECKPOINT_PASSIVE)
            else:
                try:
                    r = st.checkpoint.step()
                except IOError_ as e:
                    # The commit is already durable; the checkpoint is retried after the
                    # next commit, so its failure is recorded, not raised.
                    db.last_checkpoint_error = e
                    r = None
                if r.__class__ is IO:
                    return r
                self._commit = None
                return None

    def _prepare_page1(self):
        """Commit always writes page 1 when the file grows (pager_write_changecounter)."""
        page1 = self._page1
        if not page1.dirty and self.db_size == self._tx_start_size:
            return
        if not page1.dirty:
            self.cache.make_dirty(page1)
        data = page1.data
        # A new database's first commit writes change counter 1, as sqlite3 does.
        counter = (get_field(data, "change_counter") + 1) & 0xFFFFFFFF if self._tx_start_size else 1
        set_field(data, "change_counter", counter)
        set_field(data, "version_valid_for", counter)
        set_field(data, "database_size", self.db_size)
        set_field(data, "version_number", SQLITE_VERSION_NUMBER)

    def rollback(self):
        """Drop every change of the write transaction and end it (also clears ERROR)."""
        if self._commit is not None and self._commit.checkpoint is not None:
            self._commit.checkpoint.abandon()
        self._commit = None
        self._error = None
        if self.cache.dirty:
            self.cache.drop_dirty()
            self.generation += 1
        self._inflight.clear()
        if self.tx_state != TX_NONE:
            self._end_tx()

    # --- checkpoint and close -----------------------------------------------------------------

    def checkpoint(self, mode=CHECKPOINT_PASSIVE) -> IOResult[tuple]:
        """Re-entrant: checkpoint the WAL; returns (busy, wal frames, frames checkpointed)."""
        ck = self._checkpoint
        if ck is None:
            ck = self._checkpoint = Checkpoint(self.db, mode)
        try:
            r = ck.step()
        except BaseException:
            self._checkpoint = None
            raise
        if r.__class__ is not IO:
            self._checkpoint = None
        return r

    def set_wal_autocheckpoint(self, frames):
        """PRAGMA wal_autocheckpoint (<= 0 disables it)."""
        self.db.autocheckpoint = frames

    def close(self) -> IOResult[None]:
        """Re-entrant: end any transaction; the last connection checkpoints (TRUNCATE),
        deletes the -wal and releases the lock and files. Closing twice does nothing."""
        db = self.db
        ck = self._closing
        if ck is _CLOSED:
            return None
        if ck is None:
            if self._checkpoint is not None:
                self._checkpoint.abandon()
                self._checkpoint = None
            if self.tx_state == TX_WRITE or self._error is not None or self._commit is not None:
                self.rollback()
            elif self.tx_state == TX_READ:
                self._end_tx()
            db.refs -= 1
            self.cache.clear()
            if db.refs > 0 or not db.opened:
                self._closing = _CLOSED
                return None
            if db.is_memory:
                self._closing = _CLOSED
                db.close_files()
                return None
            ck = self._closing = Checkpoint(db, CHECKPOINT_TRUNCATE)
        try:
            r = ck.step()
        except BaseException:
            self._closing = _CLOSED
            db.close_files()
            raise
        if r.__class__ is IO:
            return r
        self._closing = _CLOSED
        if r[0] == 0 and db.wal.max_frame == 0:
            db.wal_file.close()
            db.wal_file = None
            db.io.remove(db.file_path + "-wal")
        db.close_files()
        return None
