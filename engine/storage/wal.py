"""The write-ahead log: its file format, the shared WAL index and recovery.

WAL file: a 32-byte header then frames of a 24-byte header and one page each.

OFFSET SIZE WAL HEADER                      OFFSET SIZE FRAME HEADER
     0    4 magic 0x377f0682 / 0x377f0683        0    4 pgno
     4    4 format version 3007000               4    4 db size after commit (commit
     8    4 page size                                   frames only, else 0)
    12    4 checkpoint sequence                  8    4 salt-1 (copied from the header)
    16    4 salt-1 (incremented per restart)    12    4 salt-2
    20    4 salt-2 (random per restart)         16    4 checksum-1 (cumulative, over
    24    4 checksum-1 of bytes 0..23           20    4 checksum-2  bytes 0..7 + page)
    28    4 checksum-2
All fields are big-endian; the magic's low bit says in which byte order the checksum
reads 32-bit words (1: big-endian). SQLite on x86 writes 0x377f0682 (little-endian
words), and so does limbodb; recovery accepts both.

``WalIndex`` is the in-memory wal-index (SQLite's -shm, here a Python object shared by
the connections of one Database): pgno -> frame numbers, max frame, backfill mark.
Frames past the last valid commit frame are ignored (a torn or stale tail).
Mirrors sqlite src/wal.c, Turso core/storage/wal.rs.
"""

import random
import struct
from bisect import bisect_right

WAL_MAGIC_LE = 0x377F0682
WAL_MAGIC_BE = 0x377F0683
WAL_VERSION = 3007000
WAL_HEADER_SIZE = 32
FRAME_HEADER_SIZE = 24

WAL_HEADER = struct.Struct(">IIIIIIII")
FRAME_HEADER = struct.Struct(">IIIIII")
_CKSUM_PAIR = struct.Struct(">II")
_FRAME_FIRST8 = struct.Struct(">II")
_FRAME_LAST16 = struct.Struct(">IIII")
_WAL_HEADER_FIRST24 = struct.Struct(">IIIIII")
_M32 = 0xFFFFFFFF

_word_structs = {}


def wal_checksum(data, s0, s1, big_endian):
    """SQLite's walChecksumBytes: Fibonacci-weighted sums of 32-bit word pairs."""
    n = len(data) // 4
    key = (n, big_endian)
    st = _word_structs.get(key)
    if st is None:
        st = _word_structs[key] = struct.Struct(("<>"[big_endian]) + "I" * n)
    words = st.unpack(data)
    # Eight pairs per turn, reduced mod 2**32 once per turn: the sums are only added,
    # so the result is the same, and a page costs a third fewer operations.
    whole = n - n % 16
    for a0, b0, a1, b1, a2, b2, a3, b3, a4, b4, a5, b5, a6, b6, a7, b7 in zip(*[iter(words[:whole])] * 16):
        s0 += a0 + s1
        s1 += b0 + s0
        s0 += a1 + s1
        s1 += b1 + s0
        s0 += a2 + s1
        s1 += b2 + s0
        s0 += a3 + s1
        s1 += b3 + s0
        s0 += a4 + s1
        s1 += b4 + s0
        s0 += a5 + s1
        s1 += b5 + s0
        s0 += a6 + s1
        s1 += b6 + s0
        s0 = (s0 + a7 + s1) & _M32
        s1 = (s1 + b7 + s0) & _M32
    for i in range(whole, n, 2):
        s0 = (s0 + words[i] + s1) & _M32
        s1 = (s1 + words[i + 1] + s0) & _M32
    return s0, s1


def wal_header_bytes(page_size, ckpt_seq, salt1, salt2, big_endian=False):
    """A WAL header and its checksum (the seed for the first frame's checksum)."""
    magic = WAL_MAGIC_BE if big_endian else WAL_MAGIC_LE
    head = _WAL_HEADER_FIRST24.pack(magic, WAL_VERSION, page_size, ckpt_seq, salt1, salt2)
    s0, s1 = wal_checksum(head, 0, 0, big_endian)
    return head + _CKSUM_PAIR.pack(s0, s1), (s0, s1)


class WalIndex:
    """The shared view of the WAL: which frame holds which page, up to which frame.

    ``generation`` changes each time the WAL restarts (new salts): a snapshot taken in an
    older generation must not look frames up in this one.
    """

    __slots__ = ("page_size", "big_endian", "ckpt_seq", "salt1", "salt2", "cksum",
                 "max_frame", "db_size", "backfilled", "frames", "frame_pgno", "generation",
                 "header_written")

    def __init__(self, page_size):
        self.page_size = page_size
        self.big_endian = False
        self.ckpt_seq = 0
        self.salt1 = random.getrandbits(32)
        self.salt2 = random.getrandbits(32)
        self.cksum = (0, 0)
        self.max_frame = 0
        self.db_size = 0
        self.backfilled = 0
        self.frames = {}
        self.frame_pgno = []
        self.generation = 0
        # False until a header for the current salts is on disk: the next append writes it.
        self.header_written = False

    def frame_offset(self, frame):
        return WAL_HEADER_SIZE + (frame - 1) * (FRAME_HEADER_SIZE + self.page_size)

    def find_frame(self, pgno, max_frame):
        """The latest frame <= max_frame holding pgno, or 0."""
        lst = self.frames.get(pgno)
        if lst is None:
            return 0
        f = lst[-1]
        if f <= max_frame:
            return f
        i = bisect_right(lst, max_frame)
        return lst[i - 1] if i else 0

    def restart(self):
        """Start a new generation: the next append overwrites the WAL from its header.

        Only valid when every frame has been backfilled into the database file and no
        reader still needs a frame (the caller checks).
        """
        self.ckpt_seq = (self.ckpt_seq + 1) & _M32
        self.salt1 = (self.salt1 + 1) & _M32
        self.salt2 = random.getrandbits(32)
        self.max_frame = 0
        self.backfilled = 0
        self.frames = {}
        self.frame_pgno = []
        self.generation += 1
        self.header_written = False

    def build_frames(self, pages, db_size):
        """Bytes to append for one commit: [header +] frames, the last a commit frame.

        ``pages`` is a list of (pgno, data). Returns (offset, bytes, new checksum); the
        index is unchanged until ``publish``.
        """
        ps = self.page_size
        be = self.big_endian
        parts = []
        if self.header_written:
            s0, s1 = self.cksum
            offset = self.frame_offset(self.max_frame + 1)
        else:
            head, (s0, s1) = wal_header_bytes(ps, self.ckpt_seq, self.salt1, self.salt2, be)
            parts.append(head)
            offset = 0
        salt1, salt2 = self.salt1, self.salt2
        last = len(pages) - 1
        for i, (pgno, data) in enumerate(pages):
            first8 = _FRAME_FIRST8.pack(pgno, db_size if i == last else 0)
            s0, s1 = wal_checksum(first8, s0, s1, be)
            s0, s1 = wal_checksum(data, s0, s1, be)
            parts.append(first8)
            parts.append(_FRAME_LAST16.pack(salt1, salt2, s0, s1))
            parts.append(data)
        return offset, b"".join(parts), (s0, s1)

    def publish(self, pgnos, db_size, cksum):
        """Make frames appended by ``build_frames`` visible: they are synced and committed."""
        frames = self.frames
        frame_pgno = self.frame_pgno
        f = self.max_frame
        for pgno in pgnos:
            f += 1
            frame_pgno.append(pgno)
            lst = frames.get(pgno)
            if lst is None:
                frames[pgno] = [f]
            else:
                lst.append(f)
        self.max_frame = f
        self.db_size = db_size
        self.cksum = cksum
        self.header_written = True


def recover(buf, page_size):
    """Rebuild a WalIndex from the bytes of a -wal file (SQLite's walIndexRecover).

    ``page_size`` is the database's page size, or 0 when the database file is empty
    (then the WAL header's page size is taken). Returns None if the header is missing
    or invalid (the WAL is then treated as empty); otherwise an index holding every
    frame up to the last commit frame whose salts and cumulative checksum are valid.
    """
    if len(buf) < WAL_HEADER_SIZE:
        return None
    magic, version, ps, ckpt_seq, salt1, salt2, c0, c1 = WAL_HEADER.unpack_from(buf, 0)
    if magic & 0xFFFFFFFE != WAL_MAGIC_LE or version != WAL_VERSION:
        return None
    if ps < 512 or ps > 65536 or ps & (ps - 1) or (page_size and ps != page_size):
        return None
    be = bool(magic & 1)
    s0, s1 = wal_checksum(bytes(buf[:24]), 0, 0, be)
    if (s0, s1) != (c0, c1):
        return None
    idx = WalIndex(ps)
    idx.big_endian = be
    idx.ckpt_seq, idx.salt1, idx.salt2 = ckpt_seq, salt1, salt2
    idx.cksum = (s0, s1)
    idx.header_written = True
    frame_size = FRAME_HEADER_SIZE + ps
    off = WAL_HEADER_SIZE
    pending = []
    mv = memoryview(buf)
    while off + frame_size <= len(buf):
        pgno, commit, fs1, fs2, fc0, fc1 = FRAME_HEADER.unpack_from(buf, off)
        if pgno == 0 or fs1 != salt1 or fs2 != salt2:
            break
        s0, s1 = wal_checksum(mv[off:off + 8], s0, s1, be)
        s0, s1 = wal_checksum(mv[off + FRAME_HEADER_SIZE:off + frame_size], s0, s1, be)
        if (s0, s1) != (fc0, fc1):
            break
        pending.append(pgno)
        if commit:
            idx.publish(pending, commit, (s0, s1))
            pending = []
        off += frame_size
    mv.release()
    return idx
