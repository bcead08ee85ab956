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
Durability, as Turso's: header bytes 18/19 = 255 mark an MVCC file; every commit appends
its rows' final states to the ``-log`` (mvcc_log.py) and fsyncs it before its pages go to
the WAL with the meta row (persistent_tx_ts_max = its commit_ts); opening replays the
frames the B-tree lacks, and a checkpoint (PRAGMA wal_checkpoint, a log past Turso's
threshold, the last close) folds the WAL into the file and empties the log. DDL needs an
exclusive transaction, and a DDL commit makes older concurrent transactions conflict at COMMIT.
Mirrors Turso core/mvcc/database.
"""

from limbodb.errors import IOError_, OperationalError, SQLITE_BUSY
from limbodb.io.completion import IO, IOResult
from limbodb.mvcc_log import (
    DEFAULT_LOG_CHECKPOINT_THRESHOLD, META_SQL, META_TABLE, MVCC_VERSION, OP_DELETE_INDEX,
    OP_DELETE_TABLE, OP_FLAG_BTREE_RESIDENT, OP_UPDATE_HEADER, OP_UPSERT_INDEX, OP_UPSERT_TABLE,
    LogicalLog, MvccCheckpoint, Recovery, logged_header, write_meta,
)
from limbodb.storage.btree import SEEK_EQ, BTreeCursor, CursorState, create_btree
from limbodb.storage.header import HEADER_SIZE, get_field, set_field
from limbodb.storage.ondisk import put_varint
from limbodb.storage.pager import CHECKPOINT_TRUNCATE
from limbodb.storage.record import decode_record, encode_record
from limbodb.vdbe.insn import OE_ROLLBACK

CONFLICT_MESSAGE = "Write-write conflict"
DDL_MESSAGE = ("Transaction error: DDL statements require an exclusive transaction "
               "(use BEGIN instead of BEGIN CONCURRENT)")
NOT_ENABLED_MESSAGE = "Transaction error: Concurrent transaction mode is only supported when MVCC is enabled"

# Commit phases; each says what already happened. LOCK: nothing. GATHER (a concurrent
# transaction behind the last commit): we hold the writer lock; ``ops`` holds the final
# states read so far. REBEGIN: our private pages are dropped, the lock is still ours.
# APPLY: on a fresh snapshot as the writer, ``ops[idx:]`` remain to replay. LOG_GATHER: on
# the latest snapshot, reading the final states the log needs. SETUP: the MVCC header and
# meta table of PRAGMA journal_mode = mvcc are being written (``sub``). META: the meta row
# and the frame are built. APPEND / LOG_SYNC: the frame's pwrite / fsync is in flight.
# PAGES: the frame is durable; the pager's own commit is running. CHECKPOINT: committed;
# the MVCC checkpoint is running.
_LOCK = 0
_GATHER = 1
_REBEGIN = 2
_APPLY = 3
_PAGES = 4
_LOG_GATHER = 5
_SETUP = 6
_META = 7
_APPEND = 8
_LOG_SYNC = 9
_CHECKPOINT = 10

# ``sub`` of a transaction that ran PRAGMA journal_mode = wal on an MVCC database.
_LEAVING = 4

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

    __slots__ = ("enabled", "committed", "owners", "active", "schema_seq", "log", "clock",
                 "new_ids", "file_dropped", "rowid_hint", "needs_setup", "opened", "prune_at", "threshold",
                 "file_header", "fresh", "meta_root", "recovery", "header_read")

    def __init__(self):
        self.enabled = False
        # conflict key -> commit_seq of the last commit that wrote it
        self.committed = {}
        # conflict key -> the open concurrent MvccTx that wrote it
        self.owners = {}
        self.active = set()
        # commit_seq of the last commit that changed what replay cannot (schema, clears)
        self.schema_seq = -1
        # The LogicalLog of a file database in MVCC mode (mvcc_log.py), else None.
        self.log = None
        # The next commit_ts (Turso's logical clock; recovery moves it past the log's).
        self.clock = 1
        # Root -> table id of each B-tree created since the last checkpoint: the log names it
        # by that negative id (its schema row's rootpage too), as Turso names tables it has
        # not checkpointed. The id is -root unless a B-tree of the file had that root (it was
        # dropped and its page reused): Turso would take -root for that one, so a new id.
        self.new_ids = {}
        # Roots of the file's B-trees dropped since the last checkpoint.
        self.file_dropped = set()
        # root -> the largest rowid handed out by NewRowid to an open transaction, so
        # concurrent inserts with automatic rowids get distinct ones, as in Turso.
        self.rowid_hint = {}
        # PRAGMA journal_mode = mvcc ran: the next commit marks the header and adds the meta table.
        self.needs_setup = False
        self.opened = False
        self.prune_at = 64
        self.threshold = DEFAULT_LOG_CHECKPOINT_THRESHOLD
        # The database file's header as of the last checkpoint (logged header ops start from it).
        self.file_header = None
        # (root, key) of rows and index keys the log has upserted since the last checkpoint:
        # a delete of one is not flagged B-tree resident (Turso's meaning: in the file).
        self.fresh = set()
        # Root page of __turso_internal_mvcc_meta (0: none yet), found at open or made by setup.
        self.meta_root = 0
        # The first open's replay of the log (mvcc_log.Recovery) and its header read, while running.
        self.recovery = None
        self.header_read = None

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
        active = self.active
        active.discard(tx)
        if not active:
            self.committed.clear()
            self.rowid_hint.clear()
        elif len(self.committed) > 2 * self.prune_at:
            # A commit at or before every open snapshot can never be a conflict again.
            low = min(t.pager.snapshot_seq for t in active)
            committed = self.committed
            for k in [k for k, seq in committed.items() if seq <= low]:
                del committed[k]
            self.prune_at = max(64, len(committed))

    def close(self):
        """The Database's files are closing."""
        if self.log is not None:
            self.log.file.close()
            self.log = None


def mvcc_state(db):
    """The MvccDatabase of a storage Database (created on first use)."""
    st = db.__dict__.get("mvcc")
    if st is None:
        st = db.mvcc = MvccDatabase()
    return st


def mvcc_enabled(conn):
    db = conn.db
    return db is not None and mvcc_state(db).enabled


def _open_log(db, st):
    if st.log is None and not db.is_memory:
        st.log = LogicalLog(db.io.open_file(db.file_path + "-log"))


def mvcc_open(conn) -> IOResult[None]:
    """Re-entrant: at a Database's first open, detect an MVCC file (header bytes 18/19 = 255),
    open its log and replay it (mvcc_log.Recovery)."""
    db = conn.db
    st = mvcc_state(db)
    if st.opened:
        return None
    rec = st.recovery
    if rec is None:
        pager = conn.pager
        r = pager.begin_read_tx()
        if r is not None:
            return r
        is_mvcc = pager.db_size and pager.page1().data[18] == MVCC_VERSION
        pager.end_read_tx()
        if not is_mvcc:
            st.opened = True
            return None
        st.enabled = True
        _open_log(db, st)
        if st.log is None:
            st.opened = True
            return None
        rec = st.recovery = Recovery(conn, st)
        st.header_read = db.db_file.pread(0, HEADER_SIZE)
    try:
        c = st.header_read
        if c is not None:
            if not c.finished():
                return IO(c)
            c.raise_if_failed()
            st.file_header = logged_header(c.result)
            st.header_read = None
        r = rec.run()
    except BaseException:
        # The next open starts over: nothing was published.
        st.recovery = st.header_read = None
        raise
    if r.__class__ is IO:
        return r
    st.recovery = None
    st.opened = True
    return None


def set_journal_mode(conn, mode):
    """PRAGMA journal_mode = X at step time: the resulting mode's name, as Turso reports it.

    Turning MVCC on inside the pragma's write transaction: its commit marks the header
    (bytes 18/19 = 255) and creates the meta table (MvccTx._setup)."""
    st = mvcc_state(conn.db)
    mode = str(mode).lower()
    if mode in ("mvcc", "experimental_mvcc"):
        if not st.enabled:
            st.enabled = True
            _open_log(conn.db, st)
        if conn._write_tx and conn.pager.page1().data[18] != MVCC_VERSION:
            # A database that was MVCC before keeps its meta table (PRAGMA journal_mode = wal).
            meta = conn.schema.tables.get(META_TABLE)
            st.meta_root = meta.root if meta is not None else 0
            st.needs_setup = True
            if conn.mvcc_tx is None:
                conn.mvcc_tx = MvccTx(conn, False)
    elif mode == "wal":
        if st.enabled and conn._write_tx and conn.mvcc_tx is not None:
            # Back to WAL, as Turso: header bytes 18/19 = 2 (the meta table stays); every
            # logged commit is in the WAL already, so the commit then empties the log.
            page1 = conn.pager.page1()
            conn.pager.mark_dirty(page1)
            page1.data[18] = page1.data[19] = 2
            conn.mvcc_tx.sub = _LEAVING
        st.enabled = False
    return journal_mode(conn)


def journal_mode(conn):
    """The mode PRAGMA journal_mode reports: sqlite3's unless MVCC is on."""
    if mvcc_state(conn.db).enabled:
        return "mvcc"
    return "memory" if conn.path == ":memory:" else "wal"


def checkpoint(conn, mode) -> IOResult[tuple]:
    """Re-entrant: PRAGMA wal_checkpoint. On an MVCC database it also empties the log
    (Turso's checkpoint), whatever the mode."""
    st = mvcc_state(conn.db)
    if not st.enabled or st.log is None:
        return conn.pager.checkpoint(mode)
    ck = conn.__dict__.get("mvcc_checkpoint")
    if ck is None:
        ck = conn.mvcc_checkpoint = MvccCheckpoint(conn.pager, st)
    try:
        r = ck.run()
    except BaseException:
        conn.mvcc_checkpoint = None
        raise
    if r.__class__ is not IO:
        conn.mvcc_checkpoint = None
    return r


def close_checkpoint(conn) -> IOResult[None]:
    """Re-entrant: the last connection to an MVCC database checkpoints before it closes, so
    the log it leaves is empty."""
    db = conn.db
    st = db.__dict__.get("mvcc")
    if st is None or st.log is None or db.refs != 1 or conn.pager.tx_state:
        return None
    r = checkpoint(conn, CHECKPOINT_TRUNCATE)
    return r if r.__class__ is IO else None


class MvccTx:
    """One write transaction's write set, and its commit state machine (see the phases)."""

    __slots__ = ("state", "pager", "concurrent", "keys", "touched", "unlogged", "phase", "ops",
                 "idx", "step", "cursor", "floor", "nonunique", "resident", "created", "dropped",
                 "header", "sub", "new_root", "ts", "frame", "completion", "ckpt",
                 "logging", "ids")

    def __init__(self, conn, concurrent):
        self.state = st = mvcc_state(conn.db)
        self.pager = conn.pager
        self.concurrent = concurrent
        self.keys = set()
        # (root, key) -> key_info, in first-touch order: key is a rowid or an index values tuple
        self.touched = {}
        # Touched keys that were in the B-tree before this transaction changed them.
        self.resident = set()
        # B-trees this transaction created / dropped (OP_CreateBtree, OP_Destroy).
        self.created = set()
        self.dropped = set()
        # Header fields set by OP_SetCookie (user_version, application_id, schema_cookie).
        self.header = {}
        self.logging = st.log is not None
        # Entries of non-UNIQUE indexes never conflict: their rows' rowids already do.
        self.nonunique = frozenset(i.root for i in conn.schema.indexes.values() if not i.unique and i.root)
        self.unlogged = False
        self.phase = _LOCK
        self.ops = []
        self.idx = 0
        self.step = _SEEK
        self.cursor = None
        self.sub = 0
        self.new_root = 0
        self.ts = 0
        self.frame = None
        self.completion = None
        self.ckpt = None
        self.ids = {}
        # Commits numbered up to ``floor`` may be missing from the history: a snapshot
        # older than it (taken before registering) cannot be rebased safely.
        self.floor = conn.db.commit_seq if conn.pager.tx_state else -1
        if concurrent:
            st.active.add(self)

    # --- the VM's hooks: one call per row operation ---------------------------------------

    def _touch(self, btc, key, ckey, deleting=False):
        if btc.pager is not self.pager:
            return
        root = btc.root
        if self.concurrent or self.logging:
            tkey = (root, key)
            if tkey not in self.touched:
                self.touched[tkey] = btc.key_info
                if deleting:
                    self.resident.add(tkey)
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
        """OP_Insert on a table cursor: the row ``rowid`` changes (an UPDATE's cursor sits
        on the row, so the row existed)."""
        if btc.__class__ is BTreeCursor:
            self._touch(btc, rowid, rowid, _on_row(btc, rowid))

    def index_write(self, btc, values, deleting=True):
        """OP_IdxDelete (or, through index_insert, OP_IdxInsert): this index entry changes."""
        if btc.__class__ is BTreeCursor:
            values = tuple(values)
            self._touch(btc, values, values[:-1] if len(values) > 1 else values, deleting)

    def index_insert(self, btc, payload):
        if btc.__class__ is BTreeCursor:
            self.index_write(btc, decode_record(payload), False)

    def delete(self, btc) -> IOResult[None]:
        """Re-entrant: OP_Delete of the cursor's current entry (table or index)."""
        if btc.__class__ is not BTreeCursor or btc.pager is not self.pager:
            return None
        if btc.key_info is None:
            self._touch(btc, btc.rowid(), btc.rowid(), True)
            return None
        p = btc.payload()
        if p.__class__ is IO:
            return p
        self.index_write(btc, decode_record(p))
        return None

    def new_rowid(self, btc, rowid):
        """OP_NewRowid chose ``rowid`` on its snapshot: a rowid no other open transaction
        was given (Turso allocates them from one counter per table, so two concurrent
        inserts do not both take max+1 and conflict)."""
        hint = self.state.rowid_hint
        root = btc.root
        last = hint.get(root, 0)
        if rowid <= last:
            rowid = last + 1
        hint[root] = rowid
        return rowid

    def set_header(self, field, value):
        """OP_SetCookie: replayed by a rebase and logged as Turso's header op."""
        self.header[field] = value

    def btree_created(self, root):
        self.created.add(root)
        self.dropped.discard(root)

    def btree_dropped(self, root):
        self.dropped.add(root)

    # --- commit ---------------------------------------------------------------------------------

    def commit(self) -> IOResult[None]:
        """Re-entrant: commit (see the module docstring and the phase list).

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
                self.idx = 0
                self.step = _SEEK
                self.ops = list(self.touched.items())
                if snap == db.commit_seq:
                    self.phase = _LOG_GATHER
                else:
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
                for field, value in self.header.items():
                    if field != "schema_cookie":
                        pager.set_header_field(field, value)
                self.idx = len(self.ops)
                self.phase = _LOG_GATHER
            elif phase == _LOG_GATHER:
                if self.logging and st.enabled:
                    r = self._gather()
                    if r is not None:
                        return r
                self.phase = _SETUP
            elif phase == _SETUP:
                if st.needs_setup:
                    r = self._setup()
                    if r is not None:
                        return r
                self.phase = _META
            elif phase == _META:
                ops = self._log_ops() if self.logging and st.enabled and st.meta_root else None
                if not ops:
                    self.phase = _PAGES
                    continue
                # The meta row says the WAL commit holds this frame; only a commit with a
                # frame moves it, so a lost WAL tail never hides a logged commit.
                self.ts = st.clock
                r = write_meta(pager, st.meta_root, 1, self.ts)
                if r is not None:
                    return r
                self.frame = st.log.frame(ops, self.ts, pager.db.encryption)
                offset, data, _crc = self.frame
                self.completion = st.log.file.pwrite(offset, data)
                self.phase = _APPEND
            elif phase == _APPEND or phase == _LOG_SYNC:
                c = self.completion
                if not c.finished():
                    return IO(c)
                c.raise_if_failed()
                if phase == _APPEND:
                    # Turso's SyncMode::Full: the commit is durable once its frame is synced.
                    self.completion = st.log.file.sync()
                    self.phase = _LOG_SYNC
                    continue
                self.completion = None
                _offset, data, crc = self.frame
                st.log.appended(len(data), crc)
                st.clock = self.ts + 1
                new_ids = st.new_ids
                st.file_dropped.update(r for r in self.dropped if r not in new_ids)
                new_ids.update(self.ids)
                for r in self.dropped:
                    if r not in self.created:
                        new_ids.pop(r, None)
                st.fresh.update(k for k, (_ki, payload) in self.ops if payload is not None)
                self.frame = None
                self.phase = _PAGES
            elif phase == _PAGES:
                r = pager.commit(not self.ts)
                if r is not None:
                    return r
                log = st.log
                wal_full = 0 < db.autocheckpoint <= db.wal.max_frame
                if log is None or (not st.enabled and self.sub != _LEAVING) or (
                        log.offset < st.threshold and not wal_full and not self.sub):
                    return None
                self.ckpt = MvccCheckpoint(pager, st)
                self.phase = _CHECKPOINT
            else:
                # The commit is durable; a failed checkpoint is retried after a later commit.
                try:
                    r = self.ckpt.run()
                except IOError_ as e:
                    pager.db.last_checkpoint_error = e
                    r = None
                if r.__class__ is IO:
                    return r
                return None

    def _setup(self) -> IOResult[None]:
        """Re-entrant: make the database an MVCC one as Turso does: header bytes 18/19 = 255
        and the meta table (persistent_tx_ts_max = 0). ``sub`` 1: root created; 2: schema row
        written; 3: meta row written."""
        pager = self.pager
        st = self.state
        if self.sub == 0:
            page1 = pager.page1()
            pager.mark_dirty(page1)
            page1.data[18] = page1.data[19] = MVCC_VERSION
            if st.meta_root:
                st.needs_setup = False
                self.sub = 3
                return None
            r = create_btree(pager, False)
            if r.__class__ is IO:
                return r
            self.new_root = r
            self.sub = 1
        if self.sub == 1:
            cur = self.cursor
            if cur is None:
                cur = self.cursor = BTreeCursor(pager, 1)
            r = cur.last()
            if r.__class__ is IO:
                return r
            rowid = cur.rowid() + 1 if r else 1
            row = encode_record(["table", META_TABLE, META_TABLE, self.new_root, META_SQL])
            r = cur.insert(rowid, row)
            if r.__class__ is IO:
                return r
            self.cursor = None
            self.sub = 2
        if self.sub == 2:
            r = write_meta(pager, self.new_root, 1, 0)
            if r is not None:
                return r
            pager.set_header_field("schema_cookie", pager.header_field("schema_cookie") + 1)
            st.meta_root = self.new_root
            self.unlogged = True
            st.needs_setup = False
            self.sub = 3
        return None

    def _log_ops(self):
        """The transaction's ops for the log (mvcc_log's format): sqlite_schema ops first,
        then the rows and index keys, then the header if OP_SetCookie changed it."""
        schema_ops = []
        ops = []
        ids = self._table_ids()
        dropped = self.dropped
        resident = self.resident
        fresh = self.state.fresh
        for (root, key), (key_info, payload) in self.ops:
            if root in dropped or root == self.state.meta_root:
                continue
            tkey = (root, key)
            flags = OP_FLAG_BTREE_RESIDENT if tkey in resident and tkey not in fresh else 0
            if key_info is None:
                if payload is None:
                    op = (OP_DELETE_TABLE, flags, ids.get(root, -root), put_varint(key))
                else:
                    if tkey in resident:
                        # A changed row is logged as Turso logs it: the old version's end,
                        # then the new version (a lone upsert would leave two versions).
                        (schema_ops if root == 1 else ops).append(
                            (OP_DELETE_TABLE, flags, ids.get(root, -root), put_varint(key)))
                    if root == 1:
                        payload = _schema_record(payload, ids)
                    op = (OP_UPSERT_TABLE, flags, ids.get(root, -root), put_varint(key) + bytes(payload))
            elif payload is None:
                op = (OP_DELETE_INDEX, flags, ids.get(root, -root), encode_record(list(key)))
            else:
                op = (OP_UPSERT_INDEX, flags, ids.get(root, -root), bytes(payload))
            (schema_ops if root == 1 else ops).append(op)
        schema_ops.extend(ops)
        base = self.state.file_header
        if self.header and base is not None:
            # Turso logs its pager's header, which is the database file's (pages reach the
            # file only at checkpoint) with the logical fields changed: replay applies it.
            header = bytearray(base)
            data = self.pager.page1().data
            for field in ("schema_cookie", "user_version", "application_id"):
                set_field(header, field, get_field(data, field))
            schema_ops.append((OP_UPDATE_HEADER, 0, 0, bytes(header)))
        return schema_ops

    def _table_ids(self):
        """Table ids of the B-trees created since the last checkpoint, this transaction's
        included (kept in ``ids`` until the frame is durable)."""
        st = self.state
        ids = dict(st.new_ids)
        taken = st.file_dropped | {r for r in self.dropped if r not in ids}
        used = set(ids.values())
        # Below every page number: never the -root of a B-tree in the file.
        low = min(-(self.pager.db_size + 1), min(used, default=0) - 1)
        mine = {}
        for root in sorted(self.created - self.dropped):
            if root in taken or -root in used:
                mine[root] = low
                low -= 1
            else:
                mine[root] = -root
            used.add(mine[root])
        self.ids = mine
        ids.update(mine)
        return ids

    def _gather(self) -> IOResult[None]:
        """Re-entrant: ops[i] becomes ((root, key), (key_info, payload or None)) from our pages."""
        ops = self.ops
        while self.idx < len(ops):
            (root, key), key_info = ops[self.idx]
            if root in self.dropped:
                ops[self.idx] = ((root, key), (key_info, None))
                self.idx += 1
                continue
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


def _on_row(btc, rowid):
    """True when the table cursor sits on ``rowid``: the write replaces an existing row."""
    if btc._state != CursorState.VALID:
        return False
    info = btc._info
    return info is not None and btc._ci < len(info.keys) and info.keys[btc._ci] == rowid


def _schema_record(payload, ids):
    """A sqlite_schema record for the log: a B-tree not yet checkpointed is named by its
    negative table id in the rootpage column, as Turso writes it."""
    row = decode_record(payload)
    if len(row) > 3 and row[3].__class__ is int and row[3] in ids:
        row = list(row)
        row[3] = ids[row[3]]
        return encode_record(row)
    return payload
