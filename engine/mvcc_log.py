"""Turso's MVCC logical log (``<database>-log``): its format, appends, recovery and checkpoint.

An MVCC database (header bytes 18/19 = 255) keeps the row versions of each commit in this
log, fsynced per commit; ``__turso_internal_mvcc_meta`` holds ``persistent_tx_ts_max``,
the last commit_ts the B-tree already contains. limbodb also commits each transaction's
pages to the WAL (with that meta row), so the log is replayed only for commits whose WAL
frames were lost, or for a log Turso wrote. Format (Turso's LOG_VERSION 2, little-endian):

  log header  OFFSET SIZE DESCRIPTION
                 0     4  magic 0x4C4D4C32 ("2LML" on disk)
                 4     1  version 2
                 5     1  flags, 0
                 6     2  header length, 56
                 8     8  salt (random; a new one after each truncation)
                16    36  reserved, zero
                52     4  CRC32C of bytes 0..55 with this field zero
  frame          0     4  "MVTX"          4  8  payload size   12  4  op count
                16     8  commit_ts      24  -  ops            end 4  CRC32C, end+4 4 "MVTE"
                The CRC chains: CRC32C of bytes 0..end continued from the previous frame's
                CRC (the first frame's from CRC32C(salt as 8 LE bytes)).
  op             tag u8 (0 upsert row, 1 delete row, 2 upsert index key, 3 delete index key,
                4 database header), flags u8 (1: the row was in the B-tree already),
                table_id i32 (negative: -1 sqlite_schema, -root for a B-tree, or the id of a
                table not yet checkpointed, which is also its schema row's rootpage), varint
                length, payload (row: rowid varint + record; index: key record; header: 100 bytes)
On an encrypted database (encryption.py) the ops of a frame are cut into 32 KiB chunks (the
last shorter), each stored as ciphertext | 16-byte tag | nonce under the pages' cipher and
key; the associated data of chunk i is salt u64, the payload size u64 (last chunk, else 0),
op count u32, commit_ts u64, i u32 (LE). The payload size field stays the plaintext size;
the headers, trailer and CRC (which covers the bytes as written) are unchanged.
A torn or invalid tail ends the log (the frames before it stay); a frame whose CRC holds
but which fails authentication is an error, as its commit would otherwise vanish. Mirrors Turso
core/mvcc/persistent_storage/logical_log.rs and core/mvcc/database/checkpoint_state_machine.rs.
"""

import os
import struct

from limbodb.errors import corrupt
from limbodb.io.completion import IO, IOResult
from limbodb.storage.btree import SEEK_EQ, BTreeCursor, create_btree, drop_btree
from limbodb.storage.encryption import clear_header, is_encrypted_header
from limbodb.storage.header import HEADER_SIZE
from limbodb.storage.ondisk import get_varint_signed, put_varint
from limbodb.storage.pager import CHECKPOINT_TRUNCATE
from limbodb.storage.record import decode_record, encode_record

LOG_MAGIC = 0x4C4D4C32
LOG_VERSION = 2
LOG_HDR_SIZE = 56
FRAME_MAGIC = 0x5854564D
END_MAGIC = 0x4554564D
TX_HEADER_SIZE = 24
TX_TRAILER_SIZE = 8

OP_UPSERT_TABLE = 0
OP_DELETE_TABLE = 1
OP_UPSERT_INDEX = 2
OP_DELETE_INDEX = 3
OP_UPDATE_HEADER = 4
OP_FLAG_BTREE_RESIDENT = 1

# Turso's default: a commit that leaves the log at least this long checkpoints it.
DEFAULT_LOG_CHECKPOINT_THRESHOLD = 4120 * 1000

META_TABLE = "__turso_internal_mvcc_meta"
META_SQL = "CREATE TABLE __turso_internal_mvcc_meta (k TEXT, v INTEGER NOT NULL)"
META_KEY = "persistent_tx_ts_max"
# Header bytes 18/19 of an MVCC database, as Turso writes them.
MVCC_VERSION = 255

_HDR = struct.Struct("<IBBHQ36sI")
_TX = struct.Struct("<IQIQ")
_TRAILER = struct.Struct("<II")
_OP = struct.Struct("<BBi")
_U32 = struct.Struct("<I")
_AAD = struct.Struct("<QQIQI")

ENCRYPTED_CHUNK_SIZE = 32 * 1024


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc32c(data, crc=0):
    """CRC32C (Castagnoli) of ``data``, continuing from ``crc`` (crc32c_append's meaning)."""
    table = _CRC_TABLE
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def encode_log_header(salt):
    buf = bytearray(_HDR.pack(LOG_MAGIC, LOG_VERSION, 0, LOG_HDR_SIZE, salt, bytes(36), 0))
    _U32.pack_into(buf, 52, crc32c(buf))
    return bytes(buf)


def parse_log_header(buf):
    """The salt of a valid log header; a damaged header fails closed (Turso's rule)."""
    if len(buf) < LOG_HDR_SIZE:
        raise corrupt("Logical log header too small")
    magic, version, flags, hdr_len, salt, reserved, crc = _HDR.unpack_from(buf, 0)
    if magic != LOG_MAGIC:
        raise corrupt("Invalid logical log magic")
    if version != LOG_VERSION or flags & 0xFE or hdr_len != LOG_HDR_SIZE or any(reserved):
        raise corrupt("Invalid logical log header")
    if crc32c(bytes(buf[:52]) + bytes(4)) != crc:
        raise corrupt("Logical log header checksum mismatch")
    return salt


def _chunks(size):
    """(index, start, end, is_last) of each encrypted chunk of a ``size``-byte payload."""
    count = -(-size // ENCRYPTED_CHUNK_SIZE)
    for i in range(count):
        start = i * ENCRYPTED_CHUNK_SIZE
        yield i, start, min(size, start + ENCRYPTED_CHUNK_SIZE), i == count - 1


def encrypted_size(size, enc):
    """On-disk bytes of a ``size``-byte payload: each chunk grows by its tag and nonce."""
    return size + -(-size // ENCRYPTED_CHUNK_SIZE) * enc.reserved


def encrypt_payload(enc, body, salt, count, commit_ts):
    """The on-disk bytes of a frame's ops ``body``: its chunks sealed, each under its own AD."""
    size = len(body)
    out = bytearray()
    for i, start, end, last in _chunks(size):
        out += enc.seal(body[start:end], _AAD.pack(salt, size if last else 0, count, commit_ts, i))
    return out


def decrypt_payload(enc, buf, off, size, salt, count, commit_ts):
    """The plaintext of the payload at ``off``; a chunk failing authentication is corruption."""
    out = bytearray()
    for i, start, end, last in _chunks(size):
        n = end - start + enc.reserved
        plain = enc.unseal(buf[off:off + n], _AAD.pack(salt, size if last else 0, count, commit_ts, i))
        if plain is None:
            raise corrupt("Logical log frame fails decryption (commit_ts %d): wrong key or altered log"
                          % commit_ts)
        out += plain
        off += n
    return bytes(out)


def encode_frame(ops, commit_ts, prev_crc, enc=None, salt=0):
    """(frame bytes, its CRC) for ``ops`` = [(tag, flags, table_id, payload)]; ``enc`` (an
    EncryptionContext) encrypts the payload, bound to the log's ``salt``."""
    body = bytearray()
    for tag, flags, table_id, payload in ops:
        body += _OP.pack(tag, flags, table_id)
        body += put_varint(len(payload))
        body += payload
    frame = bytearray(_TX.pack(FRAME_MAGIC, len(body), len(ops), commit_ts))
    frame += body if enc is None else encrypt_payload(enc, body, salt, len(ops), commit_ts)
    crc = crc32c(frame, prev_crc)
    frame += _TRAILER.pack(crc, END_MAGIC)
    return bytes(frame), crc


def parse_log(buf, enc=None):
    """Read a whole log: (salt, [(commit_ts, ops)], end of the last valid frame, its CRC).

    An empty file is no log: (None, [], 0, 0). Frames end at the first torn or invalid one.
    ``enc`` (the database's EncryptionContext) decrypts the payloads.
    """
    if not len(buf):
        return None, [], 0, 0
    buf = bytes(buf)
    salt = parse_log_header(buf)
    crc = crc32c(salt.to_bytes(8, "little"))
    off = LOG_HDR_SIZE
    frames = []
    n = len(buf)
    while off + TX_HEADER_SIZE + TX_TRAILER_SIZE <= n:
        magic, size, count, ts = _TX.unpack_from(buf, off)
        end = off + TX_HEADER_SIZE + (size if enc is None else encrypted_size(size, enc))
        if magic != FRAME_MAGIC or end + TX_TRAILER_SIZE > n:
            break
        fcrc, emagic = _TRAILER.unpack_from(buf, end)
        if emagic != END_MAGIC or crc32c(buf[off:end], crc) != fcrc:
            break
        if enc is None:
            ops = _parse_ops(buf, off + TX_HEADER_SIZE, end, count)
        else:
            plain = decrypt_payload(enc, buf, off + TX_HEADER_SIZE, size, salt, count, ts)
            ops = _parse_ops(plain, 0, size, count)
        if ops is None:
            break
        frames.append((ts, ops))
        crc = fcrc
        off = end + TX_TRAILER_SIZE
    return salt, frames, off, crc


def _parse_ops(buf, off, end, count):
    ops = []
    try:
        for _ in range(count):
            tag, flags, table_id = _OP.unpack_from(buf, off)
            ln, k = get_varint_signed(buf, off + 6)
            start = off + 6 + k
            if tag > OP_UPDATE_HEADER or table_id >= 0 and tag != OP_UPDATE_HEADER or start + ln > end:
                return None
            ops.append((tag, flags, table_id, buf[start:start + ln]))
            off = start + ln
    except (IndexError, struct.error):
        return None
    return ops if off == end else None


class LogicalLog:
    """The open log of one Database: where the next frame goes and the CRC it chains from."""

    __slots__ = ("file", "offset", "salt", "crc")

    def __init__(self, file):
        self.file = file
        self.offset = 0
        self.salt = None
        self.crc = 0

    def reset(self):
        """The log is (or will be) empty: the next frame writes a header with a new salt."""
        self.offset = 0
        self.salt = int.from_bytes(os.urandom(8), "little")
        self.crc = crc32c(self.salt.to_bytes(8, "little"))

    def frame(self, ops, commit_ts, enc=None):
        """(offset, bytes, crc) of the append of one frame (the header too, if the log is empty);
        ``enc``: the database's EncryptionContext, which encrypts the payload."""
        if self.salt is None:
            self.reset()
        data, crc = encode_frame(ops, commit_ts, self.crc, enc, self.salt)
        if self.offset == 0:
            data = encode_log_header(self.salt) + data
        return self.offset, data, crc

    def appended(self, nbytes, crc):
        self.offset += nbytes
        self.crc = crc


# --- recovery --------------------------------------------------------------------------------

# Replay phases. Each says what already happened: SIZE/READ: the log's size / bytes asked.
# BEGIN: the log is read (``frames``), the read transaction is starting. META: reading the
# schema and the meta row. WRITE: frames to replay exist; the write transaction is starting.
# APPLY: ops[idx] is next (``step`` says how far its cursor work got). COMMIT: every frame
# applied and the meta row set; the pager commit is running. CHECKPOINT: committed (or
# nothing to replay); the WAL is folded into the database file and the log truncated. DONE.
_R_SIZE, _R_READ, _R_BEGIN, _R_META, _R_APPLY, _R_COMMIT, _R_CHECKPOINT, _R_DONE, _R_WRITE = range(9)
# Steps of one op (``step``): SEEK its key, READ the old schema row, DROP its B-tree, CREATE
# a new one, WRITE the change. _find_meta's scan: SEEK (first), READ (an entry to read),
# WRITE (the entry read: next).
_S_SEEK, _S_READ, _S_DROP, _S_WRITE, _S_CREATE = range(5)


def read_meta(pager, root) -> IOResult[tuple]:
    """Re-entrant: (rowid, persistent_tx_ts_max) of the meta table (rowid None if absent)."""
    if not root:
        return None, 0
    cur = BTreeCursor(pager, root)
    r = cur.first()
    while True:
        if r.__class__ is IO:
            return r
        if not r:
            return None, 0
        rec = cur.record()
        if rec.__class__ is IO:
            return rec
        if rec.column(0) == META_KEY:
            return cur.rowid(), rec.column(1) or 0
        r = cur.next()


class Recovery:
    """Re-entrant replay of the log into the B-tree at open, then a checkpoint (see phases).

    Frames with commit_ts <= persistent_tx_ts_max are already in the B-tree (limbodb's WAL
    or Turso's checkpoint put them there) and are skipped.
    """

    __slots__ = ("conn", "st", "phase", "completion", "frames", "ops", "idx", "step", "cursor",
                 "idmap", "meta_root", "meta_rowid", "max_ts", "found", "row", "header", "ddl",
                 "checkpoint", "rows", "schema", "log_size")

    def __init__(self, conn, st):
        self.conn = conn
        self.st = st
        self.phase = _R_SIZE
        self.completion = None
        self.frames = None
        self.ops = []
        self.idx = 0
        self.step = _S_SEEK
        self.cursor = None
        # table_id of a table created in the log -> the root page replay gave it
        self.idmap = {}
        self.meta_root = None
        self.meta_rowid = None
        self.max_ts = 0
        self.found = False
        self.row = None
        self.header = {}
        self.ddl = False
        self.checkpoint = None
        self.log_size = 0
        # sqlite_schema as replayed so far (rowid -> row), and the Schema built from it
        self.rows = {}
        self.schema = None

    def run(self) -> IOResult[None]:
        """Re-entrant: replay and checkpoint; on return the log is empty or absent."""
        conn = self.conn
        pager = conn.pager
        log = self.st.log
        while True:
            phase = self.phase
            c = self.completion
            if c is not None:
                if not c.finished():
                    return IO(c)
                c.raise_if_failed()
                self.completion = None
            if phase == _R_SIZE:
                self.completion = log.file.size()
                self.phase = _R_READ
            elif phase == _R_READ:
                self.completion = log.file.pread(0, c.result)
                self.phase = _R_BEGIN
            elif phase == _R_BEGIN:
                if self.frames is None:
                    self.log_size = len(c.result)
                    self.frames = parse_log(c.result, conn.db.encryption)[1]
                r = pager.begin_read_tx()
                if r is not None:
                    return r
                self.phase = _R_META
            elif phase == _R_META:
                if self.meta_root is None:
                    root = self._find_meta()
                    if root.__class__ is IO:
                        return root
                    self.meta_root = self.st.meta_root = root
                r = read_meta(pager, self.meta_root)
                if r.__class__ is IO:
                    return r
                self.meta_rowid, persisted = r
                self.max_ts = persisted
                ops = []
                for ts, frame_ops in self.frames:
                    if ts > persisted:
                        ops.extend(frame_ops)
                        self.max_ts = max(self.max_ts, ts)
                self.ops = ops
                self.frames = None
                # Turso's clock rule: past every commit the B-tree or the log has seen.
                self.st.clock = max(self.st.clock, self.max_ts + 1)
                if ops:
                    self.phase = _R_WRITE
                    continue
                pager.end_read_tx()
                if not self.log_size:
                    log.reset()
                    self.phase = _R_DONE
                    return None
                # Only frames the B-tree already has (or a bare header): empty the log.
                self.checkpoint = MvccCheckpoint(pager, self.st, True)
                self.phase = _R_CHECKPOINT
            elif phase == _R_WRITE:
                r = pager.begin_write_tx()
                if r is not None:
                    return r
                self.phase = _R_APPLY
            elif phase == _R_APPLY:
                r = self._apply(pager)
                if r is not None:
                    return r
                r = self._finish_tx(pager)
                if r is not None:
                    return r
                self.phase = _R_COMMIT
            elif phase == _R_COMMIT:
                r = pager.commit()
                if r is not None:
                    return r
                self.checkpoint = MvccCheckpoint(pager, self.st, True)
                self.phase = _R_CHECKPOINT
            elif phase == _R_CHECKPOINT:
                r = self.checkpoint.run()
                if r.__class__ is IO:
                    return r
                self.phase = _R_DONE
                return None
            else:
                return None

    def _find_meta(self) -> IOResult[int]:
        """Re-entrant: read sqlite_schema into ``rows``; the meta table's root page (0: none)."""
        cur = self.cursor
        if cur is None:
            cur = self.cursor = BTreeCursor(self.conn.pager, 1)
            self.step = _S_SEEK
        while True:
            if self.step != _S_READ:
                r = cur.first() if self.step == _S_SEEK else cur.next()
                if r.__class__ is IO:
                    return r
                if not r:
                    break
                self.step = _S_READ
            rec = cur.record()
            if rec.__class__ is IO:
                return rec
            self.rows[cur.rowid()] = tuple(rec.values()[:5])
            self.step = _S_WRITE
        self.cursor = None
        self.step = _S_SEEK
        for typ, name, _tbl, root, _sql in self.rows.values():
            if typ == "table" and name == META_TABLE:
                return root
        return 0

    def _root(self, table_id):
        return self.idmap.get(table_id, -table_id)

    def _apply(self, pager) -> IOResult[None]:
        """Re-entrant: make the B-tree hold each op's row state, in log order."""
        ops = self.ops
        while self.idx < len(ops):
            tag, flags, table_id, payload = ops[self.idx]
            if tag == OP_UPDATE_HEADER:
                for name, off in (("user_version", 60), ("application_id", 68), ("schema_cookie", 40)):
                    self.header[name] = int.from_bytes(payload[off:off + 4], "big", signed=True)
                self.idx += 1
                continue
            if table_id == -1:
                r = self._schema_op(pager, tag, payload)
                if r is not None:
                    return r
                continue
            root = self._root(table_id)
            is_index = tag in (OP_UPSERT_INDEX, OP_DELETE_INDEX)
            cur = self.cursor
            if cur is None:
                cur = self.cursor = BTreeCursor(pager, root, self._key_info(root) if is_index else None)
                self.step = _S_SEEK
            if is_index:
                key, record = list(decode_record(payload)), bytes(payload)
            else:
                key, n = get_varint_signed(payload, 0)
                record = payload[n:]
            if self.step == _S_SEEK:
                found = cur.seek(key, SEEK_EQ)
                if found.__class__ is IO:
                    return found
                self.found = found
                self.step = _S_WRITE
            if tag == OP_DELETE_TABLE or tag == OP_DELETE_INDEX:
                r = cur.delete() if self.found else None
            elif is_index and self.found:
                r = None
            else:
                r = cur.insert(record, None) if is_index else cur.insert(key, record)
            if r.__class__ is IO:
                return r
            self._next()
        return None

    def _next(self):
        self.idx += 1
        self.step = _S_SEEK
        self.cursor = None
        self.row = None

    def _key_info(self, root):
        """The KeyInfo of the index (or WITHOUT ROWID table) at ``root``, from the schema
        as replayed so far."""
        from limbodb.schema import Schema
        from limbodb.translate.without_rowid import pk_index
        if self.schema is None:
            self.schema = Schema.from_rows(list(self.rows.values()))
        for idx in self.schema.indexes.values():
            if idx.root == root:
                return idx.key_info()
        for t in self.schema.tables.values():
            if t.root == root and t.without_rowid:
                return pk_index(t).key_info()
        raise corrupt("the logical log names an unknown index", pgno=root)

    def _schema_op(self, pager, tag, payload) -> IOResult[None]:
        """Re-entrant: one sqlite_schema op. A new table's negative rootpage becomes a new
        B-tree; a deleted table's or index's B-tree is dropped."""
        rowid, n = get_varint_signed(payload, 0)
        cur = self.cursor
        if cur is None:
            cur = self.cursor = BTreeCursor(pager, 1)
            self.step = _S_SEEK
        if self.step == _S_SEEK:
            found = cur.seek(rowid, SEEK_EQ)
            if found.__class__ is IO:
                return found
            self.found = found
            self.step = _S_READ
        if self.step == _S_READ:
            old = None
            if self.found:
                rec = cur.record()
                if rec.__class__ is IO:
                    return rec
                old = rec.values()
            self.row = old
            self.step = _S_DROP
        if self.step == _S_DROP:
            old = self.row
            if tag == OP_UPSERT_TABLE:
                new = decode_record(payload[n:])
            else:
                # A row's update is logged as its delete then its upsert (ALTER TABLE): the
                # upsert that follows says whether the B-tree stays.
                nxt = self.ops[self.idx + 1] if self.idx + 1 < len(self.ops) else None
                new = None
                if nxt is not None and nxt[0] == OP_UPSERT_TABLE and nxt[2] == -1:
                    nrowid, k = get_varint_signed(nxt[3], 0)
                    if nrowid == rowid:
                        new = decode_record(nxt[3][k:])
            if old is not None and old[0] in ("table", "index") and isinstance(old[3], int) and old[3] > 0 \
                    and (new is None or new[3] != old[3] and self._root(new[3]) != old[3]):
                r = drop_btree(pager, old[3])
                if r.__class__ is IO:
                    return r
            self.step = _S_CREATE
        if self.step == _S_CREATE:
            if tag == OP_UPSERT_TABLE:
                new = decode_record(payload[n:])
                rp = new[3]
                if isinstance(rp, int) and rp < 0 and rp not in self.idmap:
                    r = create_btree(pager, new[0] == "index")
                    if r.__class__ is IO:
                        return r
                    self.idmap[rp] = r
            self.step = _S_WRITE
        if tag == OP_UPSERT_TABLE:
            new = list(decode_record(payload[n:]))
            if isinstance(new[3], int) and new[3] < 0:
                new[3] = self.idmap[new[3]]
            self.rows[rowid] = tuple(new[:5])
            r = cur.insert(rowid, encode_record(new))
        else:
            self.rows.pop(rowid, None)
            r = cur.delete() if self.found else None
        if r.__class__ is IO:
            return r
        self.ddl = True
        self.schema = None
        self._next()
        return None

    def _finish_tx(self, pager) -> IOResult[None]:
        """Re-entrant: the meta row says max_ts; header fields and the schema cookie as logged."""
        r = write_meta(pager, self.meta_root, self.meta_rowid, self.max_ts)
        if r is not None:
            return r
        for name, value in self.header.items():
            if name != "schema_cookie":
                pager.set_header_field(name, value)
        cookie = pager.header_field("schema_cookie")
        logged = self.header.get("schema_cookie", cookie)
        if self.ddl or logged > cookie:
            pager.set_header_field("schema_cookie", max(cookie + 1, logged))
        self.header = {}
        return None


def logged_header(raw):
    """The database file's header as Turso logs it: an encrypted file's with SQLite's magic."""
    return clear_header(raw) if is_encrypted_header(raw) else bytes(raw)


def write_meta(pager, root, rowid, ts) -> IOResult[None]:
    """Re-entrant: set persistent_tx_ts_max = ``ts`` (an insert of the same row, so it repeats safely)."""
    if not root:
        return None
    r = BTreeCursor(pager, root).insert(rowid or 1, encode_record([META_KEY, ts]))
    return r if r.__class__ is IO else None


class MvccCheckpoint:
    """Re-entrant MVCC checkpoint: fold the WAL (which holds every commit, with the meta row)
    into the database file, then empty the log, as Turso's ordering has it: WAL pages into
    the database file and fsync, truncate the log and fsync it, truncate the WAL last.

    Phases: 0 (the TRUNCATE checkpoint is running) -> 1 (the database file's header read
    issued: logged header ops start from it, as Turso's pager header is the file's) -> 2 (log
    truncate issued) -> 3 (log fsync issued) -> done. A busy WAL checkpoint leaves the log.
    """

    __slots__ = ("pager", "st", "phase", "completion", "result", "force")

    def __init__(self, pager, st, force=False):
        self.pager = pager
        self.st = st
        self.phase = 0
        self.completion = None
        self.result = None
        # Truncate even a log this process has not appended to (recovery replayed it).
        self.force = force

    def run(self) -> IOResult[tuple]:
        """Re-entrant: returns the WAL checkpoint's (busy, log, checkpointed)."""
        log = self.st.log
        while True:
            c = self.completion
            if c is not None:
                if not c.finished():
                    return IO(c)
                c.raise_if_failed()
                self.completion = None
            if self.phase == 0:
                r = self.pager.checkpoint(CHECKPOINT_TRUNCATE)
                if r.__class__ is IO:
                    return r
                self.result = r
                if log is None:
                    return r
                # Even a busy checkpoint may have copied frames: the file header is re-read.
                self.completion = self.pager.db.db_file.pread(0, HEADER_SIZE)
                self.phase = 1
            elif self.phase == 1:
                self.st.file_header = logged_header(c.result)
                if self.result[0] or log.offset == 0 and not self.force:
                    return self.result
                self.completion = log.file.truncate(0)
                self.phase = 2
            elif self.phase == 2:
                self.completion = log.file.sync()
                self.phase = 3
            else:
                log.reset()
                self.st.new_ids.clear()
                self.st.file_dropped.clear()
                self.st.fresh.clear()
                return self.result
