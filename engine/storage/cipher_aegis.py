"""The AEGIS family (draft-irtf-cfrg-aegis-aead) in pure Python: 128L, 128X2/X4, 256, 256X2/X4.

Owns AEGIS encryption and decryption with a 16-byte tag, detached from the page layout
(encryption.py places nonce and tag). AEGIS-128X and AEGIS-256X with D lanes are D
AEGIS-128L/256 states updated in parallel; D = 1 is the plain cipher, so one class
serves all six.

Representation: the whole state is one Python int, block S0 most significant, each
block D*16 bytes (lane 0 first). Update is S'i = AESRound(S(i-1), Si ^ Mi) for every
block at once: the state rotated by one block is the AES input and the state itself
(with the message XORed in) the round key, so one wide cipher_aes.aes_round does a
whole update.
Mirrors Turso core/storage/encryption.rs (the aegis crate), checked against the
draft's test vectors in tests/unit/storage/test_encryption_ciphers.py.
"""

import hmac

from limbodb.storage.cipher_aes import SBOX, SBOX2, AuthenticationError, aes_round, lane_masks

_C0 = bytes.fromhex("000101020305080d1522375990e97962")
_C1 = bytes.fromhex("db3d18556dc22ff12011314273b528dd")


class Aegis:
    """One AEGIS variant: ``family`` 128 (AEGIS-128L/128X) or 256, ``lanes`` D in 1, 2, 4."""

    __slots__ = ("family", "lanes", "key", "nblocks", "bw", "bmask", "total", "masks", "rate",
                 "key_size", "nonce_size", "_shift")

    def __init__(self, key, family, lanes=1):
        self.family = family
        self.lanes = lanes
        self.key_size = self.nonce_size = 16 if family == 128 else 32
        if len(key) != self.key_size:
            raise ValueError("AEGIS-%d needs a %d-byte key" % (family, self.key_size))
        self.key = bytes(key)
        self.nblocks = 8 if family == 128 else 6
        self.bw = 128 * lanes
        self.bmask = (1 << self.bw) - 1
        self.total = self.bw * self.nblocks
        self.masks = lane_masks(16 * lanes * self.nblocks)
        self.rate = (32 if family == 128 else 16) * lanes
        # Bit offset of block i inside the state int.
        self._shift = [(self.nblocks - 1 - i) * self.bw for i in range(self.nblocks)]

    # --- state -----------------------------------------------------------------------------

    def _pack(self, blocks):
        x = 0
        for b in blocks:
            x = (x << self.bw) | b
        return x

    def _update(self, s, m):
        """Update with ``m`` already positioned (M0 at S0 and, for 128, M1 at S4)."""
        bw = self.bw
        rotated = (s >> bw) | ((s & self.bmask) << (self.total - bw))
        return aes_round(rotated, s ^ m, self.masks)

    def _init(self, nonce):
        d = self.lanes

        def wide(block):
            # Every lane starts from the same key and nonce.
            return int.from_bytes(block * d, "big")

        ctx = int.from_bytes(b"".join(bytes((i, d - 1)) + bytes(14) for i in range(d)), "big")
        key, sh = self.key, self._shift
        if self.family == 128:
            kn = wide(bytes(a ^ b for a, b in zip(key, nonce)))
            kv, c0, c1 = wide(key), wide(_C0), wide(_C1)
            s = self._pack([kn, c1, c0, c1, kn, kv ^ c0, kv ^ c1, kv ^ c0])
            ctx_mask = (ctx << sh[3]) | (ctx << sh[7])
            m = (wide(nonce) << sh[0]) | (kv << sh[4])
            for _ in range(10):
                s = self._update(s ^ ctx_mask, m)
            return s
        k0, k1, n0, n1 = key[:16], key[16:], nonce[:16], nonce[16:]
        k0v, k1v, c0, c1 = wide(k0), wide(k1), wide(_C0), wide(_C1)
        k0n0 = wide(bytes(a ^ b for a, b in zip(k0, n0)))
        k1n1 = wide(bytes(a ^ b for a, b in zip(k1, n1)))
        s = self._pack([k0n0, k1n1, c1, c0, k0v ^ c0, k1v ^ c1])
        ctx_mask = (ctx << sh[3]) | (ctx << sh[5])
        top = sh[0]
        msgs = (k0v << top, k1v << top, k0n0 << top, k1n1 << top)
        for _ in range(4):
            for m in msgs:
                s = self._update(s ^ ctx_mask, m)
        return s

    def _keystream(self, s):
        """The z value(s) of Enc/Dec as one int of ``rate`` bytes."""
        sh, bm = self._shift, self.bmask
        if self.family == 128:
            s1 = (s >> sh[1]) & bm
            s2 = (s >> sh[2]) & bm
            s3 = (s >> sh[3]) & bm
            s5 = (s >> sh[5]) & bm
            s6 = (s >> sh[6]) & bm
            s7 = s & bm
            return ((s6 ^ s1 ^ (s2 & s3)) << self.bw) | (s2 ^ s5 ^ (s6 & s7))
        s1 = (s >> sh[1]) & bm
        s2 = (s >> sh[2]) & bm
        s3 = (s >> sh[3]) & bm
        s4 = (s >> sh[4]) & bm
        return s1 ^ s4 ^ (s & bm) ^ (s2 & s3)

    def _position(self, t):
        """A rate-sized input block as the message int of an Update."""
        if self.family == 128:
            bw = self.bw
            return ((t >> bw) << self._shift[0]) | ((t & self.bmask) << self._shift[4])
        return t << self._shift[0]

    def _absorb_ad(self, s, ad):
        rate = self.rate
        if len(ad) % rate:
            ad = bytes(ad) + bytes(rate - len(ad) % rate)
        for off in range(0, len(ad), rate):
            s = self._update(s, self._position(int.from_bytes(ad[off:off + rate], "big")))
        return s

    def _finalize(self, s, ad_len, msg_len):
        d, bw, sh, bm = self.lanes, self.bw, self._shift, self.bmask
        u = int.from_bytes((ad_len * 8).to_bytes(8, "little") + (msg_len * 8).to_bytes(8, "little"),
                           "big")
        uv = int.from_bytes(u.to_bytes(16, "big") * d, "big")
        if self.family == 128:
            t = ((s >> sh[2]) & bm) ^ uv
            m = (t << sh[0]) | (t << sh[4])
        else:
            t = ((s >> sh[3]) & bm) ^ uv
            m = t << sh[0]
        for _ in range(7):
            s = self._update(s, m)
        last = 7 if self.family == 128 else 6
        acc = 0
        for i in range(last):
            acc ^= (s >> sh[i]) & bm
        tag = 0
        lane_mask = (1 << 128) - 1
        for _ in range(d):
            tag ^= acc & lane_mask
            acc >>= 128
        return tag.to_bytes(16, "big")

    # --- public ------------------------------------------------------------------------------

    def _crypt_blocks(self, s, data, full, out, decrypt):
        """Enc (or Dec) of the first ``full`` bytes of ``data`` (whole rate blocks); returns
        the state. The hot loop of a page: Update and AESRound are inlined, with every mask
        in a local, because calls cost more than the big-int operations themselves."""
        m = self.masks
        row0, nbytes = m.row0, m.nbytes
        (k1, j1, h1, l1), (k2, j2, h2, l2), (k3, j3, h3, l3) = m.sr
        hi8, lo8, hi16, lo16 = m.hi8, m.lo8, m.hi16, m.lo16
        bw, bm, rate = self.bw, self.bmask, self.rate
        top = self.total - bw
        sh = self._shift
        fb, sbox, sbox2 = int.from_bytes, SBOX, SBOX2
        append = out.append
        wide = self.family == 128
        sh0, sh1, sh2, sh3, sh4, sh5 = sh[:6]
        sh6 = sh[6] if wide else 0
        for off in range(0, full, rate):
            t = fb(data[off:off + rate], "big")
            if wide:
                z = (((((s >> sh6) ^ (s >> sh1) ^ ((s >> sh2) & (s >> sh3))) & bm) << bw)
                     | (((s >> sh2) ^ (s >> sh5) ^ ((s >> sh6) & s)) & bm))
            else:
                z = ((s >> sh1) ^ (s >> sh4) ^ s ^ ((s >> sh2) & (s >> sh3))) & bm
            x = t ^ z
            append(x.to_bytes(rate, "big"))
            if decrypt:
                t = x
            msg = ((t >> bw) << sh0) | ((t & bm) << sh4) if wide else t << sh0
            # Update: AESRound(state rotated by one block, state ^ message).
            x = (s >> bw) | ((s & bm) << top)
            x = ((x & row0) | ((x << k1) & h1) | ((x >> j1) & l1) | ((x << k2) & h2)
                 | ((x >> j2) & l2) | ((x << k3) & h3) | ((x >> j3) & l3))
            sb = x.to_bytes(nbytes, "big")
            a = fb(sb.translate(sbox), "big")
            b = fb(sb.translate(sbox2), "big")
            ab = a ^ b
            t = a ^ (((a << 8) & hi8) | ((a >> 24) & lo8))
            s = (b ^ (((ab << 8) & hi8) | ((ab >> 24) & lo8))
                 ^ (((t << 16) & hi16) | ((t >> 16) & lo16)) ^ s ^ msg)
        return s

    def encrypt(self, nonce, data, ad):
        """Ciphertext followed by the 16-byte tag."""
        if len(nonce) != self.nonce_size:
            raise ValueError("AEGIS-%d needs a %d-byte nonce" % (self.family, self.nonce_size))
        s = self._init(bytes(nonce))
        ad = ad or b""
        if ad:
            s = self._absorb_ad(s, ad)
        rate = self.rate
        n = len(data)
        out = []
        full = n - n % rate
        s = self._crypt_blocks(s, data, full, out, False)
        if full < n:
            pad = bytes(data[full:]) + bytes(rate - (n - full))
            t = int.from_bytes(pad, "big")
            out.append((t ^ self._keystream(s)).to_bytes(rate, "big")[:n - full])
            s = self._update(s, self._position(t))
        return b"".join(out) + self._finalize(s, len(ad), n)

    def decrypt(self, nonce, data, ad):
        """The plaintext of ciphertext+tag; AuthenticationError if the tag is wrong."""
        if len(data) < 16 or len(nonce) != self.nonce_size:
            raise AuthenticationError()
        s = self._init(bytes(nonce))
        ad = ad or b""
        if ad:
            s = self._absorb_ad(s, ad)
        rate = self.rate
        n = len(data) - 16
        out = []
        full = n - n % rate
        s = self._crypt_blocks(s, data, full, out, True)
        if full < n:
            rest = n - full
            pad = bytes(data[full:n]) + bytes(rate - rest)
            xb = (int.from_bytes(pad, "big") ^ self._keystream(s)).to_bytes(rate, "big")[:rest]
            out.append(xb)
            s = self._update(s, self._position(int.from_bytes(xb + bytes(rate - rest), "big")))
        tag = self._finalize(s, len(ad), n)
        if not hmac.compare_digest(tag, bytes(data[n:])):
            raise AuthenticationError()
        return b"".join(out)
