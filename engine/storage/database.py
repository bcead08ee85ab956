"""The shared per-file ``Database``: files, lock, WAL index, readers, writer, checkpoints.

One ``Database`` exists per file per process (registry keyed by backend and real path;
``:memory:`` is never shared); every connection's ``Pager`` points at it. It owns the
database and -wal files, the process's exclusive lock on the database file (taken at
open: a second process, limbodb or sqlite3, gets "database is locked"), the WAL index,
the read marks of live snapshots and the single-writer flag.

Read marks (SQLite's aReadMark): a snapshot taken when every WAL frame is already in the
database file has mark 0 and reads only the file; otherwise its mark is the WAL's max
frame. A checkpoint may backfill only frames <= the smallest mark, and the WAL may
restart only when no snapshot has a mark > 0.
Mirrors sqlite src/wal.c (walCheckpoint, walRestartLog), Turso core/storage/database.rs.
"""

import itertools
import os

from limbodb.errors import BusyError, DatabaseError, SQLITE_NOTADB, corrupt, invariant
from limbodb.io.base import EXCLUSIVE_LOCK
from limbodb.io.completion import IO, CompletionGroup, IOResult
from limbodb.storage.encryption import clear_header, is_encrypted_header
from limbodb.storage.header import DEFAULT_PAGE_SIZE, HEADER_SIZE, page_size_ok, parse_header
from limbodb.storage.journal import HotJournalRollback
from limbodb.storage.wal import FRAME_HEADER_SIZE, WalIndex, recover

CHECKPOINT_PASSIVE = 0
CHECKPOINT_FULL = 1
CHECKPOINT_RESTART = 2
CHECKPOINT_TRUNCATE = 3

DEFAULT_AUTOCHECKPOINT = 1000

_memory_ids = itertools.count(1)


class _OpenDescriptor:
    """``Database.open(io, path)`` is the registry lookup; ``db.open()`` is re-entrant opening."""

    def __get__(self, obj, cls):
        if obj is None:
            return cls.shared
        return obj.open_step


class Database:
    """State shared by every connection of this process to one database file."""

    _registry = {}

    open = _OpenDescriptor()

    # Open states: each says what has been issued; nothing shared is published before DONE.
    O_START, O_JOURNAL, O_SIZE, O_HEADER, O_WAL_SIZE, O_WAL_READ, O_PAGE1, O_VERIFY, O_DONE = range(9)

    def __init__(self, io, path):
        self.io = io
        self.path = path
        self.is_memory = path == ":memory:"
        # Each :memory: database gets its own file names, so two never share bytes.
        self.file_path = f":memory:{next(_memory_ids)}" if self.is_memory else path
        self.key = None
        # EncryptionContext of an encrypted database (encryption.py), else None.
        self.encryption = None
        self.db_file = None
        self.wal_file = None
        self.page_size = DEFAULT_PAGE_SIZE
        self.reserved = 0
        self.file_db_size = 0
        self.wal = WalIndex(DEFAULT_PAGE_SIZE)
        self.writer = None
        self.readers = {}
        self.refs = 0
        self.commit_seq = 0
        self.checkpointing = False
        # A commit skipped its WAL fsync (an MVCC commit, durable in the logical log):
        # the next checkpoint syncs the WAL before the database file gets newer pages.
        self.wal_unsynced = False
        self.autocheckpoint = DEFAULT_AUTOCHECKPOINT
        # An automatic checkpoint's I/O error does not fail the commit that ran it; it
        # is kept here for diagnostics and the checkpoint is retried after the next commit.
        self.last_checkpoint_error = None
        self.opened = False
        self._state = self.O_START
        self._completion = None
        self._journal = None
        self._file_size = 0
        self._raw_header = None

    @classmethod
    def shared(cls, io, path, encryption=None):
        """The process's Database for ``path`` (created, not yet opened).

        ``encryption`` (an EncryptionContext) is the cipher and key of an encrypted
        database; a connection to a Database already open must give the same one.

        Backends whose files live inside the instance (MemoryIO, SimulatedIO: they have
        a ``files`` namespace) are keyed by instance; real-file backends by their class,
        so every connection to one real file shares one Database, and its files belong
        to the first opener's backend instance.
        """
        path = os.fspath(path)
        if path == ":memory:":
            db = cls(io, path)
            db.encryption = encryption
            return db
        scope = id(io) if getattr(io, "files", None) is not None else type(io)
        key = (scope, os.path.realpath(path))
        db = cls._registry.get(key)
        if db is None:
            db = cls(io, path)
            db.key = key
            db.encryption = encryption
            cls._registry[key] = db
        elif (db.encryption is None) != (encryption is None) or (
                encryption is not None and not encryption.same_key(db.encryption)):
            raise DatabaseError("file is not a database: the encryption key differs from the "
                                "one this database was opened with", SQLITE_NOTADB)
        return db

    # --- opening --------------------------------------------------------------------------

    def _wait(self):
        c = self._completion
        if not c.finished():
            return IO(c)
        c.raise_if_failed()
        return None

    def open_step(self) -> IOResult[None]:
        """Re-entrant: open the database (see _open_step); a failure releases the files and lock."""
        try:
            return self._open_step()
        except BaseException:
            self._state = self.O_START
            self._journal = None
            self.close_files()
            raise

    def set_page_size(self, page_size):
        """PRAGMA page_size: only while the database is still empty (no page written)."""
        invariant(self.opened and not self.file_db_size and not self.wal.max_frame and self.refs <= 1
                  and self.writer is None, "page size can change only on an empty database")
        if not page_size_ok(page_size):
            return
        self.page_size = page_size
        self.wal = WalIndex(page_size)

    def _open_step(self):
        """Re-entrant: open the files, lock, roll back a hot journal, read the header, recover the WAL.

        States: O_START -> O_JOURNAL (hot journal playback) -> O_SIZE (db size asked) ->
        O_HEADER (header read issued) -> O_WAL_SIZE -> O_WAL_READ (whole -wal read) ->
        O_PAGE1 (page 1 read from its WAL frame) -> [O_VERIFY (encrypted: whole page 1
        read, to check the key before anything is shared)] -> O_DONE.
        """
        while True:
            st = self._state
            if st == self.O_DONE:
                return None
            if st == self.O_START:
                self._open_files()
                self._journal = HotJournalRollback(self.io, self.db_file, self.file_path + "-journal")
                self._state = self.O_JOURNAL
                continue
            if st == self.O_JOURNAL:
                r = self._journal.step()
                if r is not None:
                    return r
                self._journal = None
                self._completion = self.db_file.size()
                self._state = self.O_SIZE
                continue
            r = self._wait()
            if r is not None:
                return r
            result = self._completion.result
            if st == self.O_SIZE:
                self._file_size = result
                if result >= HEADER_SIZE:
                    self._completion = self.db_file.pread(0, HEADER_SIZE)
                    self._state = self.O_HEADER
                    continue
                self._completion = self.wal_file.size()
                self._state = self.O_WAL_SIZE
            elif st == self.O_HEADER:
                self._raw_header = bytes(result)
                self._completion = self.wal_file.size()
                self._state = self.O_WAL_SIZE
            elif st == self.O_WAL_SIZE:
                self._completion = self.wal_file.pread(0, result)
                self._state = self.O_WAL_READ
            elif st == self.O_WAL_READ:
                wal = recover(result, 0)
                if wal is not None:
                    frame = wal.find_frame(1, wal.max_frame)
                    if frame:
                        self.wal = wal
                        self._completion = self.wal_file.pread(
                            wal.frame_offset(frame) + FRAME_HEADER_SIZE, HEADER_SIZE)
                        self._state = self.O_PAGE1
                        continue
                self._finish_open(self._raw_header, wal)
            elif st == self.O_PAGE1:
                self._finish_open(bytes(result), self.wal)
            elif st == self.O_VERIFY:
                # Raises DatabaseError on a wrong key; nothing has been written.
                self.encryption.decrypt_page(1, result)
                self._state = self.O_DONE
                self.opened = True

    def _open_files(self):
        io = self.io
        self.db_file = io.open_file(self.file_path)
        if not self.db_file.lock(EXCLUSIVE_LOCK):
            self.db_file.close()
            self.db_file = None
            raise BusyError()
        self.wal_file = io.open_file(self.file_path + "-wal")

    def _clear_header(self, header):
        """The header to parse: an encrypted file's has Turso's magic, which needs the key."""
        enc = self.encryption
        if is_encrypted_header(header):
            if enc is None:
                raise DatabaseError("file is not a database: it is encrypted (open it with "
                                    "its cipher and hexkey)", SQLITE_NOTADB)
            enc.check_header(header)
            return clear_header(header)
        if enc is not None:
            enc.check_header(header)
        return header

    def _finish_open(self, header, wal):
        if header is None and self._file_size:
            raise DatabaseError("file is not a database", SQLITE_NOTADB)
        enc = self.encryption
        if header is None:
            ps = wal.page_size if wal is not None and wal.max_frame else DEFAULT_PAGE_SIZE
            reserved = enc.reserved if enc is not None else 0
            self.page_size, self.reserved, self.file_db_size = ps, reserved, 0
        else:
            info = parse_header(self._clear_header(header), self._file_size)
            if enc is not None and info.reserved != enc.reserved:
                raise DatabaseError("file is not a database: its reserved bytes do not fit "
                                    "cipher %s" % enc.cipher, SQLITE_NOTADB)
            self.page_size, self.reserved = info.page_size, info.reserved
            self.file_db_size = info.db_size
            # The file's own page count, not page 1's from the WAL, is what the file holds.
            if header is not self._raw_header:
                try:
                    raw = self._raw_header
                    self.file_db_size = (parse_header(self._clear_header(raw), self._file_size).db_size
                                         if raw else 0)
                except DatabaseError:
                    self.file_db_size = self._file_size // self.page_size
            # A page count past the file's end is damage (sqlite's lockBtree reports it): a read
            # of a missing page reports the corruption, and no checkpoint extends the file to it.
            self.file_db_size = min(self.file_db_size, self._file_size // self.page_size)
        if wal is None or wal.page_size != self.page_size:
            wal = WalIndex(self.page_size)
        self.wal = wal
        self._raw_header = None
        if enc is not None and header is not None:
            frame = wal.find_frame(1, wal.max_frame) if wal.max_frame else 0
            if frame:
                self._completion = self.wal_file.pread(wal.frame_offset(frame) + FRAME_HEADER_SIZE,
                                                       self.page_size)
            else:
                self._completion = self.db_file.pread(0, self.page_size)
            self._state = self.O_VERIFY
            return
        self._state = self.O_DONE
        self.opened = True

    # --- snapshots --------------------------------------------------------------------------

    def snapshot_db_size(self):
        wal = self.wal
        return wal.db_size if wal.max_frame else self.file_db_size

    def can_restart_wal(self, exclude=None, checkpointing_ok=False):
        """True when every frame is in the database file and no snapshot reads the WAL."""
        wal = self.wal
        if wal.backfilled != wal.max_frame or (self.checkpointing and not checkpointing_ok):
            return False
        for pager, mark in self.readers.items():
            if mark and pager is not exclude:
                return False
        return True

    def close_files(self):
        """Last connection gone: unlock, close, leave the registry."""
        mvcc = self.__dict__.get("mvcc")
        if mvcc is not None:
            mvcc.close()
        if self.db_file is not None:
            self.db_file.unlock()
            self.db_file.close()
            self.db_file = None
        if self.wal_file is not None:
            self.wal_file.close()
            self.wal_file = None
        if self.key is not None and Database._registry.get(self.key) is self:
            del Database._registry[self.key]
        if self.is_memory:
            self.io.remove(self.file_path)
            self.io.remove(self.file_path + "-wal")
        self.opened = False


class Checkpoint:
    """Re-entrant checkpoint of a Database's WAL into its database file.

    States: [WAL_SYNC (a commit skipped its WAL fsync: WAL sync issued) ->] START -> READ
    (frame reads issued) -> WRITE (page writes issued) -> SYNC (db sync issued) ->
    TRUNC_DB (db truncated to its page count) -> TRUNC_WAL (TRUNCATE
    mode: -wal truncated) -> DONE. The backfill mark moves only after the database file
    is synced; a failure leaves it where it was (the WAL still holds every frame).
    Result: (busy, frames in the WAL, frames backfilled), as PRAGMA wal_checkpoint.
    """

    __slots__ = ("db", "mode", "state", "completion", "busy", "mx_safe", "pages", "result")

    START, READ, WRITE, SYNC, TRUNC_DB, TRUNC_WAL, DONE, WAL_SYNC = range(8)

    def __init__(self, db, mode):
        self.db = db
        self.mode = mode
        self.state = self.START
        self.completion = None
        self.busy = 0
        self.mx_safe = 0
        self.pages = None
        self.result = None

    def step(self) -> IOResult[tuple]:
        """Re-entrant: run the checkpoint; returns (busy, log, checkpointed)."""
        db = self.db
        try:
            return self._step(db)
        except BaseException:
            if self.state not in (self.START, self.WAL_SYNC):
                db.checkpointing = False
            self.state = self.DONE
            raise

    def abandon(self):
        """Stop without finishing (its caller went away). Writes already issued only copy
        immutable frames, and the backfill mark has not moved, so a later checkpoint
        simply does the work again."""
        if self.state not in (self.START, self.DONE, self.WAL_SYNC):
            self.db.checkpointing = False
        self.state = self.DONE

    def _step(self, db):
        while True:
            st = self.state
            if st == self.DONE:
                return self.result
            if st == self.START and db.wal_unsynced and not db.checkpointing:
                # Otherwise a crash could keep the file's newer pages beside an older,
                # durable WAL generation whose frames would then be read over them.
                self.completion = db.wal_file.sync()
                self.state = self.WAL_SYNC
                continue
            if st == self.START:
                wal = db.wal
                if db.checkpointing:
                    self.result = (1, wal.max_frame, wal.backfilled)
                    self.state = self.DONE
                    return self.result
                # A mark-0 snapshot reads pages straight from the file: nothing new may land there.
                mx = wal.max_frame
                for mark in db.readers.values():
                    mx = min(mx, mark or wal.backfilled)
                self.busy = int(mx < wal.max_frame)
                if self.mode != CHECKPOINT_PASSIVE and db.writer is not None:
                    self.busy = 1
                self.mx_safe = mx
                if wal.db_size > db.file_db_size + wal.max_frame + 65536 // wal.page_size:
                    # More pages than the file and the WAL could hold: a damaged commit
                    # frame, not a size to grow the file to (sqlite's walCheckpoint check).
                    raise corrupt()
                db.checkpointing = True
                if mx <= wal.backfilled:
                    self.state = self.TRUNC_DB
                    self.completion = None
                    continue
                latest = {}
                frame_pgno = wal.frame_pgno
                limit = wal.db_size
                for f in range(wal.backfilled + 1, mx + 1):
                    pgno = frame_pgno[f - 1]
                    if pgno <= limit:
                        latest[pgno] = f
                ps = wal.page_size
                group = CompletionGroup()
                order = sorted(latest)
                for pgno in order:
                    group.add(db.wal_file.pread(wal.frame_offset(latest[pgno]) + FRAME_HEADER_SIZE, ps))
                self.pages = order
                self.completion = group.build()
                self.state = self.READ
                continue
            c = self.completion
            if c is not None:
                if not c.finished():
                    return IO(c)
                c.raise_if_failed()
            wal = db.wal
            ps = wal.page_size
            if st == self.WAL_SYNC:
                db.wal_unsynced = False
                self.completion = None
                self.state = self.START
            elif st == self.READ:
                group = CompletionGroup()
                for pgno, data in zip(self.pages, c.result):
                    if len(data) != ps:
                        raise corrupt(pgno=pgno)
                    group.add(db.db_file.pwrite((pgno - 1) * ps, data))
                self.pages = None
                self.completion = group.build()
                self.state = self.WRITE
            elif st == self.WRITE:
                self.completion = db.db_file.sync()
                self.state = self.SYNC
            elif st == self.SYNC:
                wal.backfilled = self.mx_safe
                if self.mx_safe == wal.max_frame:
                    db.file_db_size = wal.db_size
                    self.completion = db.db_file.truncate(wal.db_size * ps)
                else:
                    self.completion = None
                self.state = self.TRUNC_DB
            elif st == self.TRUNC_DB:
                self.completion = None
                # sqlite3 reports RESTART's counts as of before the restart, TRUNCATE's after.
                self.result = (wal.max_frame, wal.backfilled)
                if self.mode >= CHECKPOINT_RESTART and not self.busy:
                    if not db.can_restart_wal(checkpointing_ok=True):
                        self.busy = 1
                    elif wal.max_frame or wal.header_written:
                        wal.restart()
                    if not self.busy and self.mode == CHECKPOINT_TRUNCATE:
                        self.completion = db.wal_file.truncate(0)
                self.state = self.TRUNC_WAL
            elif st == self.TRUNC_WAL:
                db.checkpointing = False
                if self.mode == CHECKPOINT_TRUNCATE:
                    self.result = (wal.max_frame, wal.backfilled)
                self.result = (self.busy,) + self.result
                self.state = self.DONE
                return self.result
