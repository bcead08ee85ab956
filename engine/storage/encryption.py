"""Encryption at rest in Turso's on-disk layout: ciphers, keys, and page encryption.

Every page is encrypted on its own with a fresh random nonce; the nonce and the tag
live in the page's reserved bytes (header byte 20 = nonce + tag size), so the B-tree
never sees them. Page 1 keeps its 100-byte header in the clear, with the first 16
bytes "SQLite format 3\\0" replaced by Turso's header ("Turso", version 0, cipher id,
nine zero bytes); that header is the associated data of page 1's encryption, so it
cannot be altered unnoticed. WAL frames carry pages exactly as the database file does.

    page != 1: [ciphertext: page_size - reserved][tag: 16][nonce]
    page 1:    [Turso header: 16][header 16..100][ciphertext][tag: 16][nonce]

The key is held in memory only. AES-GCM uses the ``cryptography`` package when it
imports (CPython), else the pure-Python cipher_aes; AEGIS is always cipher_aegis.
Mirrors Turso core/storage/encryption.rs (cipher ids, names, layout).
"""

import hashlib
import hmac
import os
from urllib.parse import parse_qsl, urlencode

from limbodb.errors import DatabaseError, SQLITE_CORRUPT, SQLITE_NOTADB
from limbodb.storage.cipher_aegis import Aegis
from limbodb.storage.cipher_aes import AesGcm, AuthenticationError

try:
    from cryptography.exceptions import InvalidTag as _InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM as _NativeAesGcm
except ImportError:  # Pyodide without the wheel, or a minimal install
    _NativeAesGcm = None
    _InvalidTag = AuthenticationError

# True when AES-GCM runs on the ``cryptography`` package (the "encryption" extra).
NATIVE_AES_GCM = _NativeAesGcm is not None

SQLITE_MAGIC = b"SQLite format 3\x00"
TURSO_PREFIX = b"Turso"
TURSO_VERSION = 0
TURSO_HEADER_SIZE = 16
HEADER_SIZE = 100
TAG_SIZE = 16

# name -> (Turso cipher id, key bytes, nonce bytes, AEGIS family or 0 for AES-GCM, lanes)
CIPHERS = {
    "aes128gcm": (1, 16, 12, 0, 1),
    "aes256gcm": (2, 32, 12, 0, 1),
    "aegis256": (3, 32, 32, 256, 1),
    "aegis256x2": (4, 32, 32, 256, 2),
    "aegis256x4": (5, 32, 32, 256, 4),
    "aegis128l": (6, 16, 16, 128, 1),
    "aegis128x2": (7, 16, 16, 128, 2),
    "aegis128x4": (8, 16, 16, 128, 4),
}
_BY_ID = {spec[0]: name for name, spec in CIPHERS.items()}


def cipher_name(name):
    """The canonical cipher name (Turso also accepts "aes-256-gcm", "aegis_256", any case)."""
    key = str(name).strip().lower().replace("-", "").replace("_", "")
    if key not in CIPHERS:
        raise DatabaseError("unknown cipher: %s (expected one of %s)" % (name, ", ".join(CIPHERS)))
    return key


def make_aead(name, key, native=True):
    """An object with encrypt(nonce, data, ad) -> ct+tag and decrypt(nonce, ct+tag, ad).

    ``native=False`` forces the pure-Python AES-GCM (for tests and the benchmark).
    """
    _, key_size, _, family, lanes = CIPHERS[cipher_name(name)]
    if len(key) != key_size:
        raise DatabaseError("cipher %s needs a %d-byte key (%d hex digits), got %d bytes"
                            % (name, key_size, 2 * key_size, len(key)))
    if family:
        return Aegis(key, family, lanes)
    if native and NATIVE_AES_GCM:
        return _NativeAesGcm(bytes(key))
    return AesGcm(key)


def parse_hexkey(hexkey):
    try:
        return bytes.fromhex(str(hexkey).strip())
    except ValueError:
        raise DatabaseError("hexkey must be a string of hexadecimal digits") from None


class EncryptionContext:
    """One database's cipher and key; encrypts and decrypts whole pages."""

    __slots__ = ("cipher", "cipher_id", "nonce_size", "reserved", "_aead", "_key_id")

    def __init__(self, cipher, hexkey, native=True):
        self.cipher = cipher_name(cipher)
        key = parse_hexkey(hexkey)
        self.cipher_id, _, self.nonce_size = CIPHERS[self.cipher][:3]
        self.reserved = self.nonce_size + TAG_SIZE
        self._aead = make_aead(self.cipher, key, native)
        # Connections sharing one Database must use the same key: compared by digest.
        self._key_id = hashlib.sha256(self.cipher.encode() + b"\0" + key).digest()

    def same_key(self, other):
        return (other is not None and self.cipher == other.cipher
                and hmac.compare_digest(self._key_id, other._key_id))

    def turso_header(self):
        return TURSO_PREFIX + bytes((TURSO_VERSION, self.cipher_id)) + bytes(9)

    def encrypt_page(self, pgno, data):
        """The on-disk bytes of page ``pgno`` (whose reserved bytes are ignored)."""
        ps = len(data)
        end = ps - self.reserved
        nonce = os.urandom(self.nonce_size)
        if pgno == 1:
            head = self.turso_header() + bytes(data[TURSO_HEADER_SIZE:HEADER_SIZE])
            return head + self._aead.encrypt(nonce, bytes(data[HEADER_SIZE:end]), head) + nonce
        return self._aead.encrypt(nonce, bytes(data[:end]), None) + nonce

    def decrypt_page(self, pgno, data):
        """The plaintext page (reserved bytes zero) as a bytearray; DatabaseError if the
        key is wrong or the page was altered."""
        ps = len(data)
        nonce = bytes(data[ps - self.nonce_size:])
        try:
            if pgno == 1:
                self.check_header(data)
                head = bytes(data[:HEADER_SIZE])
                body = self._aead.decrypt(nonce, bytes(data[HEADER_SIZE:ps - self.nonce_size]), head)
                out = bytearray(SQLITE_MAGIC)
                out += head[TURSO_HEADER_SIZE:]
            else:
                body = self._aead.decrypt(nonce, bytes(data[:ps - self.nonce_size]), None)
                out = bytearray()
        except (AuthenticationError, _InvalidTag):
            if pgno == 1:
                raise DatabaseError("file is not a database: wrong encryption key or cipher",
                                    SQLITE_NOTADB) from None
            raise DatabaseError("database disk image is malformed: page %d fails decryption"
                                % pgno, SQLITE_CORRUPT) from None
        out += body
        out += bytes(self.reserved)
        return out

    def seal(self, data, ad):
        """``data`` encrypted under a fresh nonce as Turso stores a logical-log chunk:
        ciphertext, tag, nonce."""
        nonce = os.urandom(self.nonce_size)
        return self._aead.encrypt(nonce, bytes(data), ad) + nonce

    def unseal(self, blob, ad):
        """The plaintext of a ``seal`` blob, or None when the key, the bytes or ``ad`` differ."""
        n = self.nonce_size
        try:
            return self._aead.decrypt(bytes(blob[-n:]), bytes(blob[:-n]), ad)
        except (AuthenticationError, _InvalidTag):
            return None

    def check_header(self, data):
        """Page 1 (or the first 16 bytes of the file) must carry this cipher's Turso header."""
        if bytes(data[:5]) != TURSO_PREFIX:
            raise DatabaseError("file is not a database: it is not encrypted, but a cipher "
                                "and key were given", SQLITE_NOTADB)
        if data[5] != TURSO_VERSION or data[6] not in _BY_ID or any(data[7:16]):
            raise DatabaseError("file is not a database: unsupported Turso encryption header",
                                SQLITE_NOTADB)
        if data[6] != self.cipher_id:
            raise DatabaseError("file is not a database: it is encrypted with %s, not %s"
                                % (_BY_ID[data[6]], self.cipher), SQLITE_NOTADB)


def is_encrypted_header(data):
    """True when a database file starts with Turso's encryption header."""
    return bytes(data[:5]) == TURSO_PREFIX


def clear_header(data):
    """The 100-byte header of an encrypted file with SQLite's magic restored, for parsing."""
    return SQLITE_MAGIC + bytes(data[TURSO_HEADER_SIZE:HEADER_SIZE])


def encryption_from_options(options):
    """An EncryptionContext from ``{"cipher": ..., "hexkey": ...}`` (or an object with
    those attributes, like pyturso's EncryptionOpts), or None when ``options`` is None."""
    if options is None or isinstance(options, EncryptionContext):
        return options
    if isinstance(options, dict):
        cipher, hexkey = options.get("cipher"), options.get("hexkey")
    else:
        cipher, hexkey = getattr(options, "cipher", None), getattr(options, "hexkey", None)
    if not cipher or not hexkey:
        raise DatabaseError("encryption needs both a cipher and a hexkey")
    return EncryptionContext(cipher, hexkey)


def split_encryption_uri(database):
    """(database without cipher/hexkey, options dict or None) for ``file:db?cipher=..&hexkey=..``.

    Other query parameters stay in the returned URI; anything else is returned unchanged.
    """
    path = database
    if not isinstance(path, str):
        try:
            path = os.fsdecode(os.fspath(path))
        except TypeError:
            return database, None
    if not path.startswith("file:") or "?" not in path:
        return database, None
    base, query = path.split("?", 1)
    params = parse_qsl(query, keep_blank_values=True)
    found = {k: v for k, v in params if k in ("cipher", "hexkey")}
    if not found:
        return path, None
    rest = urlencode([(k, v) for k, v in params if k not in ("cipher", "hexkey")])
    return (base + "?" + rest if rest else base), found


def pragma_encryption(pager, pending, name, value):
    """PRAGMA cipher = 'x' / PRAGMA hexkey = '..' (Turso's way to create an encrypted database).

    ``pending`` is a dict the connection keeps: once both values are there the still-empty
    database is encrypted (Pager.set_encryption). Returns the value a query of the PRAGMA
    shows: the cipher name, or nothing for the key, which is never shown.
    """
    name = name.lower()
    if name == "cipher":
        if value is not None:
            pending["cipher"] = cipher_name(value)
    elif value is not None:
        pending["hexkey"] = str(value)
    if value is not None and "cipher" in pending and "hexkey" in pending:
        ctx = EncryptionContext(pending["cipher"], pending.pop("hexkey"))
        if not ctx.same_key(pager.db.encryption):
            pager.set_encryption(ctx)
    enc = pager.db.encryption
    if name == "cipher":
        return enc.cipher if enc is not None else pending.get("cipher")
    return None
