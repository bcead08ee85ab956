"""Encryption throughput: MB/s of each cipher encrypting and decrypting whole pages.

Each cipher runs on its pure-Python implementation and, for AES-GCM, also on the
``cryptography`` package (when installed). The reference is sqlite3 scanning an
unencrypted database of the same size (fetching every blob) from a warm page cache:
the ratio says how many times slower page encryption is than sqlite3 reading the same
bytes, and the "limbodb read" row (--read) is limbodb reading the encrypted database.

    python tests/bench/bench_encryption.py [--mb 2] [--page-size 4096]
"""

import argparse
import os
import sqlite3
import tempfile
import time

import limbodb
from limbodb.storage.encryption import CIPHERS, NATIVE_AES_GCM, EncryptionContext


def best_of(fn, repeat=3):
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        dt = time.perf_counter() - t
        best = dt if best is None or dt < best else best
    return best


def sqlite3_scan_seconds(path, nbytes):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b BLOB)")
    rows = nbytes // 1000
    con.executemany("INSERT INTO t1(b) VALUES (?)", ((os.urandom(1000),) for _ in range(rows)))
    con.commit()
    con.execute("SELECT b FROM t1").fetchall()
    return best_of(lambda: con.execute("SELECT b FROM t1").fetchall())


def page_seconds(ctx, pages):
    def run():
        for i, p in enumerate(pages):
            ctx.decrypt_page(i + 2, ctx.encrypt_page(i + 2, p))
    return best_of(run)


def limbodb_read_seconds(folder, cipher, hexkey, nbytes):
    path = os.path.join(folder, cipher + ".db")
    enc = {"cipher": cipher, "hexkey": hexkey}
    con = limbodb.connect(path, encryption=enc)
    con.execute("CREATE TABLE t1(a INTEGER PRIMARY KEY, b BLOB)")
    con.executemany("INSERT INTO t1(b) VALUES (?)", ((os.urandom(1000),) for _ in range(nbytes // 1000)))
    con.commit()
    con.close()

    def run():
        c = limbodb.connect(path, encryption=enc)
        c.execute("SELECT b FROM t1").fetchall()
        c.close()
    return best_of(run, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=1.0, help="megabytes of pages per cipher")
    ap.add_argument("--page-size", type=int, default=4096)
    ap.add_argument("--read", action="store_true", help="also time limbodb reading an encrypted db")
    args = ap.parse_args()
    ps = args.page_size
    npages = max(1, int(args.mb * 1e6) // ps)
    pages = [bytearray(os.urandom(ps)) for _ in range(npages)]
    nbytes = npages * ps
    with tempfile.TemporaryDirectory() as folder:
        ref = sqlite3_scan_seconds(os.path.join(folder, "plain.db"), nbytes)
        ref_mbs = nbytes / ref / 1e6
        print("%-12s %-14s %10s %10s" % ("cipher", "implementation", "MB/s", "x sqlite3"))
        print("%-12s %-14s %10.1f %10s" % ("(none)", "sqlite3 scan", ref_mbs, "1.0"))
        for cipher in sorted(CIPHERS):
            hexkey = "ab" * CIPHERS[cipher][1]
            impls = [("pure python", False)]
            if CIPHERS[cipher][3] == 0 and NATIVE_AES_GCM:
                impls.append(("cryptography", True))
            for label, native in impls:
                secs = page_seconds(EncryptionContext(cipher, hexkey, native=native), pages)
                # Each page is encrypted and decrypted: twice its bytes go through the cipher.
                mbs = 2 * nbytes / secs / 1e6
                print("%-12s %-14s %10.2f %9.0fx" % (cipher, label, mbs, ref_mbs / mbs))
            if args.read:
                secs = limbodb_read_seconds(folder, cipher, hexkey, nbytes)
                mbs = nbytes / secs / 1e6
                print("%-12s %-14s %10.2f %9.0fx" % (cipher, "limbodb read", mbs, ref_mbs / mbs))


if __name__ == "__main__":
    main()
