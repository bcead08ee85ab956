"""AES (FIPS-197) and AES-GCM (NIST SP 800-38D) in pure Python, for encrypted databases.

Owns the AES round function that AEGIS also uses, AES-128/256 block encryption and
AES-GCM with a 12-byte nonce and a 16-byte tag. It is the fallback where the
``cryptography`` package is missing (Pyodide); encryption.py prefers that package's
AES-GCM when it imports.

Speed: a whole page is one Python int. Every 16-byte lane of it goes through the same
round at once: SubBytes is ``bytes.translate``, ShiftRows and MixColumns are shifts and
masks across all lanes, so a round costs a few dozen big-int operations whatever the
number of blocks. CTR mode makes every counter block independent, so a page's key
stream is one such wide AES. GHASH is sequential and uses Shoup's 8-bit tables.
Lanes are big-endian: byte 0 of a block is the most significant byte of its lane.
Mirrors Turso core/storage/encryption.rs (the aes-gcm crate's Aes128Gcm/Aes256Gcm).
"""

import hmac

# --- the AES S-box, computed (GF(2^8) inverse then the affine map) -----------------------


def _xtime(b):
    b <<= 1
    return (b ^ 0x11B) if b & 0x100 else b


def _build_sbox():
    exp, log = [0] * 512, [0] * 256
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x ^= _xtime(x)  # multiply by the generator 3
    for i in range(255, 512):
        exp[i] = exp[i - 255]
    sbox = bytearray(256)
    for a in range(256):
        inv = exp[255 - log[a]] if a else 0
        s = inv
        for k in range(1, 5):
            s ^= ((inv << k) | (inv >> (8 - k))) & 0xFF
        sbox[a] = s ^ 0x63
    return bytes(sbox)


SBOX = _build_sbox()
# xtime(SBOX[x]): the "2 *" half of MixColumns, folded into the byte substitution.
SBOX2 = bytes(_xtime(s) & 0xFF for s in SBOX)


class LaneMasks:
    """Masks for ``nbytes`` of 16-byte AES lanes (nbytes a multiple of 16)."""

    __slots__ = ("nbytes", "row0", "sr", "hi8", "lo8", "hi16", "lo16")

    def __init__(self, nbytes):
        n = nbytes // 16

        def rep(block):
            return int.from_bytes(block * n, "big")

        self.nbytes = nbytes
        # ShiftRows: row r (bytes r, r+4, r+8, r+12 of a lane) rotates left by r columns,
        # i.e. the lane rotates left by 32*r bits, restricted to row r's bytes.
        rows = [bytes(0xFF if i % 4 == r else 0 for i in range(16)) for r in range(4)]
        self.row0 = rep(rows[0])
        sr = []
        for r in (1, 2, 3):
            k = 32 * r
            row = int.from_bytes(rows[r], "big")
            hi = row & ~((1 << k) - 1)
            lo = row & ((1 << k) - 1)
            sr.append((k, 128 - k, rep(hi.to_bytes(16, "big")), rep(lo.to_bytes(16, "big"))))
        self.sr = tuple(sr)
        # MixColumns: rotations of every 32-bit column word.
        self.hi8 = rep(b"\xff\xff\xff\x00" * 4)
        self.lo8 = rep(b"\x00\x00\x00\xff" * 4)
        self.hi16 = rep(b"\xff\xff\x00\x00" * 4)
        self.lo16 = rep(b"\x00\x00\xff\xff" * 4)


_masks = {}


def lane_masks(nbytes):
    m = _masks.get(nbytes)
    if m is None:
        m = _masks[nbytes] = LaneMasks(nbytes)
    return m


def shift_rows(x, m):
    (k1, j1, h1, l1), (k2, j2, h2, l2), (k3, j3, h3, l3) = m.sr
    return ((x & m.row0) | ((x << k1) & h1) | ((x >> j1) & l1) | ((x << k2) & h2)
            | ((x >> j2) & l2) | ((x << k3) & h3) | ((x >> j3) & l3))


def aes_round(x, rk, m):
    """AESRound(in, rk) on every lane of ``x``: MixColumns(ShiftRows(SubBytes(x))) ^ rk."""
    nbytes = m.nbytes
    sb = shift_rows(x, m).to_bytes(nbytes, "big")
    a = int.from_bytes(sb.translate(SBOX), "big")
    b = int.from_bytes(sb.translate(SBOX2), "big")
    # r_i = 2a_i ^ 3a_(i+1) ^ a_(i+2) ^ a_(i+3): rotl8 puts byte i+1 of a column at i.
    hi8, lo8 = m.hi8, m.lo8
    ab = a ^ b
    t = a ^ (((a << 8) & hi8) | ((a >> 24) & lo8))
    return (b ^ (((ab << 8) & hi8) | ((ab >> 24) & lo8))
            ^ (((t << 16) & m.hi16) | ((t >> 16) & m.lo16)) ^ rk)


def _last_round(x, rk, m):
    sb = shift_rows(x, m).to_bytes(m.nbytes, "big")
    return int.from_bytes(sb.translate(SBOX), "big") ^ rk


# --- AES key schedule and wide block encryption ------------------------------------------

_RCON = (0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1B, 0x36)


def expand_key(key):
    """Round keys (as 16-byte strings) of AES-128 or AES-256."""
    nk = len(key) // 4
    if len(key) not in (16, 32):
        raise ValueError("AES key must be 16 or 32 bytes")
    rounds = nk + 6
    words = [bytes(key[4 * i:4 * i + 4]) for i in range(nk)]
    for i in range(nk, 4 * (rounds + 1)):
        t = words[i - 1]
        if i % nk == 0:
            t = bytes((t[1], t[2], t[3], t[0])).translate(SBOX)
            t = bytes((t[0] ^ _RCON[i // nk - 1], t[1], t[2], t[3]))
        elif nk > 6 and i % nk == 4:
            t = t.translate(SBOX)
        w = words[i - nk]
        words.append(bytes(a ^ b for a, b in zip(w, t)))
    return [b"".join(words[4 * r:4 * r + 4]) for r in range(rounds + 1)]


class AES:
    """AES block encryption of many independent blocks at once (ECB over one wide int)."""

    __slots__ = ("round_keys", "_wide")

    def __init__(self, key):
        self.round_keys = expand_key(key)
        self._wide = {}

    def _keys_for(self, nbytes):
        w = self._wide.get(nbytes)
        if w is None:
            n = nbytes // 16
            w = self._wide[nbytes] = [int.from_bytes(rk * n, "big") for rk in self.round_keys]
        return w

    def encrypt_blocks(self, data):
        """The encryption of each 16-byte block of ``data`` (len a multiple of 16)."""
        nbytes = len(data)
        m = lane_masks(nbytes)
        rks = self._keys_for(nbytes)
        x = int.from_bytes(data, "big") ^ rks[0]
        for rk in rks[1:-1]:
            x = aes_round(x, rk, m)
        return _last_round(x, rks[-1], m).to_bytes(nbytes, "big")


# --- GHASH and GCM ------------------------------------------------------------------------

_R = 0xE1 << 120


def _mulx(v):
    return (v >> 1) ^ _R if v & 1 else v >> 1


def _mulx8_table():
    out = []
    for low in range(256):
        v = low
        for _ in range(8):
            v = _mulx(v)
        out.append(v)
    return out


_MULX8 = _mulx8_table()


class GHash:
    """GHASH_H with Shoup's tables: T[j][b] = (byte b at position j) * H."""

    __slots__ = ("tables",)

    def __init__(self, h):
        powers = [h]
        for _ in range(7):
            powers.append(_mulx(powers[-1]))
        t0 = [0] * 256
        for b in range(1, 256):
            low = b & -b
            t0[b] = t0[b ^ low] ^ powers[7 - low.bit_length() + 1]
        tables = [t0]
        red = _MULX8
        for _ in range(15):
            prev = tables[-1]
            tables.append([(v >> 8) ^ red[v & 0xFF] for v in prev])
        self.tables = tables

    def digest(self, ad, ct):
        """GHASH over ad and ct (each zero-padded to 16 bytes) and their bit lengths."""
        tables = self.tables
        t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15 = tables
        y = 0
        for data in (ad, ct):
            n = len(data)
            if n % 16:
                data = bytes(data) + bytes(16 - n % 16)
            for off in range(0, len(data), 16):
                y ^= int.from_bytes(data[off:off + 16], "big")
                b = y.to_bytes(16, "big")
                y = (t0[b[0]] ^ t1[b[1]] ^ t2[b[2]] ^ t3[b[3]] ^ t4[b[4]] ^ t5[b[5]] ^ t6[b[6]]
                     ^ t7[b[7]] ^ t8[b[8]] ^ t9[b[9]] ^ t10[b[10]] ^ t11[b[11]] ^ t12[b[12]]
                     ^ t13[b[13]] ^ t14[b[14]] ^ t15[b[15]])
        y ^= ((len(ad) * 8) << 64) | (len(ct) * 8)
        b = y.to_bytes(16, "big")
        return (t0[b[0]] ^ t1[b[1]] ^ t2[b[2]] ^ t3[b[3]] ^ t4[b[4]] ^ t5[b[5]] ^ t6[b[6]]
                ^ t7[b[7]] ^ t8[b[8]] ^ t9[b[9]] ^ t10[b[10]] ^ t11[b[11]] ^ t12[b[12]]
                ^ t13[b[13]] ^ t14[b[14]] ^ t15[b[15]])


class AuthenticationError(Exception):
    """The tag does not match: wrong key, or the bytes were changed."""


_counter_suffixes = {}


def _counters(nblocks):
    """Blocks 0..nblocks-1 holding only the 32-bit counter 2, 3, ... (nonce part zero)."""
    c = _counter_suffixes.get(nblocks)
    if c is None:
        c = _counter_suffixes[nblocks] = int.from_bytes(
            b"".join(bytes(12) + (i + 2).to_bytes(4, "big") for i in range(nblocks)), "big")
    return c


_nonce_spread = {}


def _spread(nblocks):
    """Multiplying a 96-bit nonce by this puts it in the top 12 bytes of every lane."""
    s = _nonce_spread.get(nblocks)
    if s is None:
        s = _nonce_spread[nblocks] = sum(1 << (128 * k + 32) for k in range(nblocks))
    return s


class AesGcm:
    """AES-GCM with 12-byte nonces and 16-byte tags (the ``cryptography`` AESGCM shape)."""

    __slots__ = ("aes", "ghash")

    def __init__(self, key):
        self.aes = AES(key)
        self.ghash = GHash(int.from_bytes(self.aes.encrypt_blocks(bytes(16)), "big"))

    def _ctr(self, nonce, data):
        n = len(data)
        nblocks = (n + 15) // 16
        ctr = (int.from_bytes(nonce, "big") * _spread(nblocks)) | _counters(nblocks)
        stream = self.aes.encrypt_blocks(ctr.to_bytes(16 * nblocks, "big"))
        ks = int.from_bytes(stream[:n], "big")
        return (int.from_bytes(data, "big") ^ ks).to_bytes(n, "big")

    def _tag(self, nonce, ad, ct):
        j0 = self.aes.encrypt_blocks(bytes(nonce) + b"\x00\x00\x00\x01")
        return (self.ghash.digest(ad, ct) ^ int.from_bytes(j0, "big")).to_bytes(16, "big")

    def encrypt(self, nonce, data, ad):
        """Ciphertext followed by the 16-byte tag."""
        ct = self._ctr(nonce, data) if data else b""
        return ct + self._tag(nonce, ad or b"", ct)

    def decrypt(self, nonce, data, ad):
        """The plaintext of ciphertext+tag; AuthenticationError if the tag is wrong."""
        if len(data) < 16:
            raise AuthenticationError()
        ct, tag = bytes(data[:-16]), bytes(data[-16:])
        if not hmac.compare_digest(self._tag(nonce, ad or b"", ct), tag):
            raise AuthenticationError()
        return self._ctr(nonce, ct) if ct else b""
