"""The WAL frame API for replication and sync: read frames out, insert frames in.

``WalFrames(pager)`` serves one connection. ``get_frame(n)`` returns frame n as stored
(24-byte header + page, encrypted pages stay encrypted). An insert session
(``insert_begin`` .. ``insert_end``) holds the database's write lock; ``insert_frame(n,
frame)`` takes a primary's frame n: at a position already present it must carry the
same pgno, commit size and page (else ``WalConflictError``, nothing applied); at the
next position it is kept until its transaction's commit frame arrives, then the whole
transaction is appended with this WAL's own salts and checksums, synced and published;
beyond that it is a gap (an error). ``insert_end`` drops an unfinished transaction.

Frame numbers stay aligned with the primary only while neither WAL restarts: disable
automatic checkpoints on both sides (``Pager.set_wal_autocheckpoint(0)``). A replica
starts as a copy of the primary's database file taken when the primary's WAL was empty.
Mirrors Turso core/lib.rs (wal_get_frame, wal_insert_begin/frame/end).
"""

from limbodb.errors import OperationalError
from limbodb.io.completion import IO, IOResult
from limbodb.storage.pager import TX_NONE, TX_WRITE
from limbodb.storage.wal import FRAME_HEADER_SIZE

# States of an insert (each says which side effects have happened).
# IDLE: nothing in flight. COMPARE: a read of the existing frame is issued.
# WRITE: the transaction's frames are being written (the index is unchanged).
# SYNC: written; the WAL sync is issued. Publishing happens after SYNC completes.
IDLE = 0
COMPARE = 1
WRITE = 2
SYNC = 3


class WalConflictError(OperationalError):
    """A frame differs from the one already at its position (or would leave a gap)."""


class WalFrames:
    """One connection's frame reader and insert session."""

    __slots__ = ("pager", "active", "pending", "state", "completion", "op", "_commit")

    def __init__(self, pager):
        self.pager = pager
        self.active = False
        self.pending = []
        self.state = IDLE
        self.completion = None
        self.op = None
        self._commit = None

    def frame_count(self):
        """Frames in the WAL (committed ones)."""
        return self.pager.db.wal.max_frame

    def _frame_size(self):
        return FRAME_HEADER_SIZE + self.pager.page_size

    def _read(self, n):
        db = self.pager.db
        return db.wal_file.pread(db.wal.frame_offset(n), self._frame_size())

    def get_frame(self, n) -> IOResult[bytes]:
        """Re-entrant: frame ``n`` (1-based) as stored: its 24-byte header and its page."""
        if not 1 <= n <= self.frame_count():
            raise OperationalError("no WAL frame %d (the WAL has %d)" % (n, self.frame_count()))
        c = self.completion if self.op == ("get", n) else None
        if c is None:
            c = self.completion = self._read(n)
            self.op = ("get", n)
        if not c.finished():
            return IO(c)
        self.completion = self.op = None
        c.raise_if_failed()
        return bytes(c.result)

    def insert_begin(self) -> IOResult[None]:
        """Re-entrant: start an insert session (takes the write lock; no transaction may be open)."""
        pager = self.pager
        if self.active:
            raise OperationalError("a WAL insert session is already open")
        if pager.tx_state != TX_NONE and self.op != "begin":
            raise OperationalError("cannot insert WAL frames inside a transaction")
        self.op = "begin"
        try:
            r = pager.begin_write_tx()
        except BaseException:
            # Busy (another writer, or a snapshot gone stale): a retry starts afresh.
            self.op = None
            if pager.tx_state != TX_WRITE:
                pager.end_read_tx()
            raise
        if r.__class__ is IO:
            return r
        self.op = None
        self.active = True
        self.pending = []
        return None

    def insert_end(self):
        """End the session; frames of a transaction without its commit frame are dropped."""
        if not self.active:
            return
        self.active = False
        self.pending = []
        self.state = IDLE
        self.completion = self.op = self._commit = None
        self.pager.rollback()

    def insert_frame(self, n, frame) -> IOResult[None]:
        """Re-entrant: insert the primary's frame ``n`` (24-byte header + page)."""
        if not self.active:
            raise OperationalError("wal_insert_frame needs wal_insert_begin first")
        if self.state != IDLE:
            return self._resume()
        frame = bytes(frame)
        if len(frame) != self._frame_size():
            raise OperationalError("a WAL frame of this database is %d bytes, not %d"
                                   % (self._frame_size(), len(frame)))
        wal = self.pager.db.wal
        have = wal.max_frame + len(self.pending)
        if n > have + 1 or n < 1:
            raise WalConflictError("WAL frame %d would leave a gap: the WAL has %d frames"
                                   % (n, have))
        if n <= wal.max_frame:
            self.op = (n, frame)
            self.completion = self._read(n)
            self.state = COMPARE
            return self._resume()
        if n <= have:
            if _same_frame(self.pending[n - wal.max_frame - 1], frame):
                return None
            raise WalConflictError("WAL frame %d conflicts with the frame already there" % n)
        self.pending.append(frame)
        if frame[4:8] == b"\x00\x00\x00\x00":
            return None
        return self._write_transaction()

    def _write_transaction(self):
        db = self.pager.db
        wal = db.wal
        pending = self.pending
        pgnos = [int.from_bytes(f[0:4], "big") for f in pending]
        db_size = int.from_bytes(pending[-1][4:8], "big")
        pages = [(p, f[FRAME_HEADER_SIZE:]) for p, f in zip(pgnos, pending)]
        offset, buf, cksum = wal.build_frames(pages, db_size)
        self._commit = (pgnos, db_size, cksum)
        self.completion = db.wal_file.pwrite(offset, buf)
        self.state = WRITE
        return self._resume()

    def _resume(self):
        c = self.completion
        if not c.finished():
            return IO(c)
        state = self.state
        self.completion = None
        try:
            c.raise_if_failed()
        except BaseException:
            # The frames were not published: the session goes on without them.
            self.state = IDLE
            self.pending = []
            self.op = self._commit = None
            raise
        if state == COMPARE:
            n, frame = self.op
            self.state = IDLE
            self.op = None
            if not _same_frame(bytes(c.result), frame):
                raise WalConflictError("WAL frame %d conflicts with the frame already there" % n)
            return None
        db = self.pager.db
        if state == WRITE:
            self.completion = db.wal_file.sync()
            self.state = SYNC
            return self._resume()
        pgnos, db_size, cksum = self._commit
        db.wal.publish(pgnos, db_size, cksum)
        db.commit_seq += 1
        self.pending = []
        self._commit = None
        self.state = IDLE
        return None


def _same_frame(a, b):
    """Same page number, commit size and page; salts and checksums belong to each WAL."""
    return a[0:8] == b[0:8] and a[FRAME_HEADER_SIZE:] == b[FRAME_HEADER_SIZE:]
