"""MVCC: ``PRAGMA journal_mode = mvcc`` and ``BEGIN CONCURRENT`` (Turso's concurrent writes).

A concurrent transaction writes, without the writer lock, private dirty pages on its own
snapshot (snapshot isolation). Each write transaction on an MVCC database records its write
set: (root, rowid), or (root, index values less the rowid) for UNIQUE indexes and WITHOUT
ROWID tables. A write to a key committed after our snapshot, or owned by another open
concurrent transaction, fails at once with "Write-write conflict" (SQLITE_BUSY) and rolls
the transaction back (first writer wins, as Turso). COMMIT takes the writer lock (a held
BEGIN/IMMEDIATE lock is a conflict too); with no commit since our snapshot the pages commit
as they are, else it rebases: reads the final state of each touched key from its pages,
drops them, replays those states on a fresh snapshot through B-tree cursors, commits.
Unlike Turso: durability is the WAL's, with no ``-log`` file; the mode lives in the shared
Database (not in header bytes 18/19), so the file stays SQLite's. DDL needs an exclusive
transaction, and a DDL commit makes older concurrent transactions conflict at COMMIT.
Mirrors Turso core/mvcc/database.
"""

from limbodb.errors import OperationalError, SQLITE_BUSY
from limbodb.io.completion import IO, IOResult
from limbodb.storage.btree import SEEK_EQ, BTreeCursor
from limbodb.storage.record import decode_record
from limbodb.vdbe.insn import OE_ROLLBACK

CONFLICT_MESSAGE = "Write-write conflict"
DDL_MESSAGE = ("Transaction error: DDL statements require an exclusive transaction "
               "(use BEGIN instead of BEGIN CONCURRENT)")
NOT_ENABLED_MESSAGE = "Transaction error: Concurrent transaction mode is only supported when MVCC is enabled"

# Commit phases of a concurrent transaction; each says what already happened.
# LOCK: nothing. GATHER: we hold the writer lock; ``ops`` holds the final states read so far.
# REBEGIN: our private pages are dropped, the lock is still ours. APPLY: on a fresh snapshot
# as the writer, ``ops[idx:]`` remain to replay. PAGES: the pager's own commit is running.
_LOCK = 0
_GATHER = 1
_REBEGIN = 2
_APPLY = 3
_PAGES = 4

# Phases of one key's read (GATHER) or replay (APPLY).
_SEEK = 0
_READ = 1
_WRITE = 2


def conflict_error():
    """The error of a write-write conflict; the VM rolls the whole transaction back for it."""
    e = OperationalError(CONFLICT_MESSAGE, SQLITE_BUSY)
    e.on_error = OE_ROLLBACK
    return e


class MvccDatabase:
    """Per-Database MVCC state, shared by the connections of one process."""

    __slots__ = ("enabled", "committed", "owners", "active", "schema_seq")

    def __init__(self):
        self.enabled = False
        # conflict key -> commit_seq of the last commit that wrote it
        self.committed = {}
        # conflict key -> the open concurrent MvccTx that wrote it
        self.owners = {}
        self.active = set()
        # commit_seq of the last commit that changed what replay cannot (schema, clears)
        self.schema_seq = -1

    def publish(self, tx, seq):
        """Record ``tx``'s write set as committed by commit number ``seq``.

        Called before the pages are published, while ``tx`` holds the writer lock, so no
        other commit can take ``seq``; a commit that then fails leaves only extra conflicts.
        """
        committed = self.committed
        if len(self.active) > (tx in self.active):
            for k in tx.keys:
                committed[k] = seq
        if tx.unlogged:
            self.schema_seq = seq

    def release(self, tx):
        """``tx`` ended: drop its key ownership; forget history no open transaction needs."""
        owners = self.owners
        for k in tx.keys:
            if owners.get(k) is tx:
                del owners[k]
        self.active.discard(tx)
        if not self.active:
            self.committed.clear()


def mvcc_state(db):
    """The MvccDatabase of a storage Database (created on first use)."""
    st = db.__dict__.get("mvcc")
    if st is None:
        st = db.mvcc = MvccDatabase()
    return st


def mvcc_enabled(conn):
    db = conn.db
    return db is not None and mvcc_state(db).enabled


def set_journal_mode(conn, mode):
    """PRAGMA journal_mode = X at step time: the resulting mode's name, as Turso reports it."""
    st = mvcc_state(conn.db)
    mode = str(mode).lower()
    if mode in ("mvcc", "experimental_mvcc"):
        st.enabled = True
    elif mode == "wal":
        st.enabled = False
    return journal_mode(conn)


def journal_mode(conn):
    """The mode PRAGMA journal_mode reports: sqlite3's unless MVCC is on."""
    if mvcc_state(conn.db).enabled:
        return "mvcc"
    return "memory" if conn.path == ":memory:" else "wal"


class MvccTx:
    """One write transaction's write set, and a concurrent one's commit state machine."""

    __slots__ = ("state", "pager", "concurrent", "keys", "touched", "unlogged", "phase", "ops",
                 "idx", "step", "cursor", "floor", "nonunique")

    def __init__(self, conn, concurrent):
        self.state = mvcc_state(conn.db)
        self.pager = conn.pager
        self.concurrent = concurrent
        self.keys = set()
        # (root, key) -> key_info, in first-touch order: key is a rowid or an index values tuple
        self.touched = {}
        # Entries of non-UNIQUE indexes never conflict: their rows' rowids already do.
        self.nonunique = frozenset(i.root for i in conn.schema.indexes.values() if not i.unique and i.root)
        self.unlogged = False
        self.phase = _LOCK
        self.ops = []
        self.idx = 0
        self.step = _SEEK
        self.cursor = None
        # Commits numbered up to ``floor`` may be missing from the history: a snapshot
        # older than it (taken before registering) cannot be rebased safely.
        self.floor = conn.db.commit_seq if conn.pager.tx_state else -1
        if concurrent:
            self.state.active.add(self)

    # --- the VM's hooks: one call per row operation ---------------------------------------

    def _touch(self, btc, key, ckey):
        if btc.pager is not self.pager:
            return
        root = btc.root
        if self.concurrent:
            self.touched[(root, key)] = btc.key_info
        if root in self.nonunique:
            return
        ckey = (root, ckey)
        if self.concurrent and ckey not in self.keys:
            st = self.state
            seq = st.committed.get(ckey)
            owner = st.owners.get(ckey)
            if (seq is not None and seq > self.pager.snapshot_seq) or (
                    owner is not None and owner is not self) or st.schema_seq > self.pager.snapshot_seq:
                raise conflict_error()
            st.owners[ckey] = self
        self.keys.add(ckey)

    def table_write(self, btc, rowid):
        """OP_Insert / OP_Delete on a table cursor: the row ``rowid`` changes."""
        if btc.__class__ is BTreeCursor:
            self._touch(btc, rowid, rowid)

    def index_write(self, btc, values):
        """OP_IdxInsert / OP_IdxDelete: the index entry with these values changes."""
        if btc.__class__ is BTreeCursor:
            values = tuple(values)
            self._touch(btc, values, values[:-1] if len(values) > 1 else values)

    def index_insert(self, btc, payload):
        if btc.__class__ is BTreeCursor:
            self.index_write(btc, decode_record(payload))

    def delete(self, btc) -> IOResult[None]:
        """Re-entrant: OP_Delete of the cursor's current entry (table or index)."""
        if btc.__class__ is not BTreeCursor or btc.pager is not self.pager:
            return None
        if btc.key_info is None:
            self._touch(btc, btc.rowid(), btc.rowid())
            return None
        p = btc.payload()
        if p.__class__ is IO:
            return p
        self.index_write(btc, decode_record(p))
        return None

    # --- commit of a concurrent transaction --------------------------------------------------

    def commit(self) -> IOResult[None]:
        """Re-entrant: commit a concurrent transaction (see the module docstring).

        Raises the conflict error, after which the caller rolls the transaction back.
        """
        pager = self.pager
        db = pager.db
        st = self.state
        while True:
            phase = self.phase
            if phase == _LOCK:
                if db.writer is not None and db.writer is not pager:
                    raise conflict_error()
                snap = pager.snapshot_seq
                if snap != db.commit_seq:
                    committed = st.committed
                    if st.schema_seq > snap or snap < self.floor:
                        raise conflict_error()
                    for k in self.keys:
                        seq = committed.get(k)
                        if seq is not None and seq > snap:
                            raise conflict_error()
                st.publish(self, db.commit_seq + 1)
                db.writer = pager
                if snap == db.commit_seq:
                    self.phase = _PAGES
                else:
                    self.ops = list(self.touched.items())
                    self.idx = 0
                    self.step = _SEEK
                    self.phase = _GATHER
            elif phase == _GATHER:
                r = self._gather()
                if r is not None:
                    return r
                pager.rollback()
                # rollback() released the lock; nobody could take it since we did not yield.
                db.writer = pager
                self.phase = _REBEGIN
            elif phase == _REBEGIN:
                r = pager.begin_write_tx()
                if r is not None:
                    return r
                self.idx = 0
                self.step = _SEEK
                self.phase = _APPLY
            elif phase == _APPLY:
                r = self._apply()
                if r is not None:
                    return r
                self.phase = _PAGES
            else:
                r = pager.commit()
                if r is not None:
                    return r
                return None

    def _gather(self) -> IOResult[None]:
        """Re-entrant: ops[i] becomes ((root, key), (key_info, payload or None)) from our pages."""
        ops = self.ops
        while self.idx < len(ops):
            (root, key), key_info = ops[self.idx]
            if self.cursor is None:
                self.cursor = BTreeCursor(self.pager, root, key_info)
            if self.step == _SEEK:
                r = self.cursor.seek(key if key_info is None else list(key), SEEK_EQ)
                if r.__class__ is IO:
                    return r
                if not r:
                    ops[self.idx] = ((root, key), (key_info, None))
                    self.idx += 1
                    self.cursor = None
                    continue
                self.step = _READ
            p = self.cursor.payload()
            if p.__class__ is IO:
                return p
            ops[self.idx] = ((root, key), (key_info, p))
            self.idx += 1
            self.step = _SEEK
            self.cursor = None
        return None

    def _apply(self) -> IOResult[None]:
        """Re-entrant: make each gathered key's state on the fresh snapshot equal ours."""
        ops = self.ops
        while self.idx < len(ops):
            (root, key), (key_info, payload) = ops[self.idx]
            cur = self.cursor
            if cur is None:
                cur = self.cursor = BTreeCursor(self.pager, root, key_info)
            if self.step == _SEEK:
                found = cur.seek(key if key_info is None else list(key), SEEK_EQ)
                if found.__class__ is IO:
                    return found
                if payload is None and not found or payload is not None and found and key_info is not None:
                    # Already as ours: absent, or the same index entry (an index key is its record).
                    self.idx += 1
                    self.cursor = None
                    continue
                self.step = _WRITE
            if payload is None:
                r = cur.delete()
            else:
                r = cur.insert(key if key_info is None else payload, payload)
            if r.__class__ is IO:
                return r
            self.idx += 1
            self.step = _SEEK
            self.cursor = None
        return None
