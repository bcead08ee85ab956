"""Hot rollback-journal playback (SQLite's `-journal`, journal_mode=DELETE and friends).

A crash in the middle of a rollback-mode transaction leaves original page images in the
journal; before anything reads the database those images are written back, the file is
truncated to its original size and synced, and the journal deleted (pager.c
pager_playback). limbodb never writes a rollback journal: it only rolls one back.

OFFSET SIZE JOURNAL HEADER (padded to the sector size)   PAGE RECORD
     0    8 magic d9 d5 05 f9 20 a1 63 d7                 4  pgno
     8    4 nRec: records in this segment (-1: to EOF)    ps original page image
    12    4 checksum nonce                                 4  nonce + data[ps-200],
    16    4 database size in pages before the txn              data[ps-400], ... (bytes)
    20    4 sector size        24  4 page size
A journal may hold several segments, each starting at a sector boundary. Playback stops
at the first bad header or record checksum (the rest was never synced).
Mirrors sqlite src/pager.c (readJournalHdr, pager_playback_one_page).
"""

import struct

from limbodb.io.completion import IO, CompletionGroup, IOResult

JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
_JHDR = struct.Struct(">IIIII")
_U32 = struct.Struct(">I")
PENDING_BYTE = 0x40000000


def journal_pages(buf):
    """Parse journal bytes: return (original db size in pages, page size, [(pgno, data)]).

    Returns None when the journal is not hot (no valid first header or no records).
    """
    if len(buf) < 28 or buf[:8] != JOURNAL_MAGIC:
        return None
    off = 0
    orig_size = None
    ps = None
    records = []
    while off + 28 <= len(buf) and buf[off:off + 8] == JOURNAL_MAGIC:
        nrec, nonce, dbsize, sector, hps = _JHDR.unpack_from(buf, off + 8)
        if sector < 32 or sector > 0x10000 or sector & (sector - 1):
            sector = 512
        if hps < 512 or hps > 65536 or hps & (hps - 1):
            break
        if orig_size is None:
            orig_size, ps = dbsize, hps
        elif hps != ps:
            break
        off += sector
        rec = ps + 8
        if nrec == 0xFFFFFFFF:
            nrec = (len(buf) - off) // rec
        ok = True
        for _ in range(nrec):
            if off + rec > len(buf):
                ok = False
                break
            pgno = _U32.unpack_from(buf, off)[0]
            data = buf[off + 4:off + 4 + ps]
            cksum = nonce
            i = ps - 200
            while i > 0:
                cksum += data[i]
                i -= 200
            if pgno == 0 or cksum & 0xFFFFFFFF != _U32.unpack_from(buf, off + 4 + ps)[0]:
                ok = False
                break
            records.append((pgno, data))
            off += rec
        if not ok or nrec == 0:
            break
        # The next segment's header starts at the next sector boundary.
        off = -(-off // sector) * sector
    if orig_size is None or not records:
        return None
    return orig_size, ps, records


class HotJournalRollback:
    """Re-entrant playback of a hot journal into the database file.

    States: START -> SIZE (journal size asked) -> READ (journal read issued) -> WRITE (page writes and the truncate
    issued) -> SYNC (database sync issued) -> DONE (journal deleted). A crash at any
    point leaves the journal in place, so playback simply runs again on the next open.
    """

    __slots__ = ("io", "db_file", "journal_path", "state", "completion", "journal_file")

    START, SIZE, READ, WRITE, SYNC, DONE = range(6)

    def __init__(self, io, db_file, journal_path):
        self.io = io
        self.db_file = db_file
        self.journal_path = journal_path
        self.state = self.START
        self.completion = None
        self.journal_file = None

    def _wait(self):
        c = self.completion
        if not c.finished():
            return IO(c)
        c.raise_if_failed()
        return None

    def step(self) -> IOResult[None]:
        """Re-entrant: play the journal back; returns None when done (or not hot)."""
        while True:
            st = self.state
            if st != self.START and st != self.DONE:
                r = self._wait()
                if r is not None:
                    return r
            if st == self.START:
                if not self.io.exists(self.journal_path):
                    self.state = self.DONE
                    return None
                self.journal_file = self.io.open_file(self.journal_path)
                self.completion = self.journal_file.size()
                self.state = self.SIZE
            elif st == self.SIZE:
                self.completion = self.journal_file.pread(0, self.completion.result)
                self.state = self.READ
            elif st == self.READ:
                parsed = journal_pages(bytes(self.completion.result))
                if parsed is None:
                    self._finish(delete=False)
                    return None
                orig_size, ps, records = parsed
                group = CompletionGroup()
                pending_pgno = PENDING_BYTE // ps + 1
                for pgno, data in records:
                    if pgno != pending_pgno and pgno <= orig_size:
                        group.add(self.db_file.pwrite((pgno - 1) * ps, data))
                group.add(self.db_file.truncate(orig_size * ps))
                self.completion = group.build()
                self.state = self.WRITE
            elif st == self.WRITE:
                self.completion = self.db_file.sync()
                self.state = self.SYNC
            elif st == self.SYNC:
                self._finish(delete=True)
                return None
            else:
                return None

    def _finish(self, delete):
        if self.journal_file is not None:
            self.journal_file.close()
            self.journal_file = None
        if delete:
            self.io.remove(self.journal_path)
        self.state = self.DONE
