"""The pure-Python ciphers against published test vectors (AES round, AEGIS draft, GCM spec)."""

import os

import pytest

from limbodb.storage.cipher_aegis import Aegis
from limbodb.storage.cipher_aes import AES, AesGcm, AuthenticationError, aes_round, lane_masks

h = bytes.fromhex


def test_aes_round_matches_the_aegis_draft_vector():
    out = aes_round(int.from_bytes(h("000102030405060708090a0b0c0d0e0f"), "big"),
                    int.from_bytes(h("101112131415161718191a1b1c1d1e1f"), "big"), lane_masks(16))
    assert out.to_bytes(16, "big") == h("7a7b4e5638782546a8c0477a3b813f43")


def test_aes_block_encryption_matches_fips_197():
    pt = h("00112233445566778899aabbccddeeff")
    assert AES(h("000102030405060708090a0b0c0d0e0f")).encrypt_blocks(pt * 3) == \
        h("69c4e0d86a7b0430d8cdb78070b4c55a") * 3
    key = h("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
    assert AES(key).encrypt_blocks(pt) == h("8ea2b7ca516745bfeafc49904b496089")


# GCM specification (McGrew & Viega), test case 4 and its AES-256 twin, test case 16.
_GCM_P = h("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
           "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
_GCM_A = h("feedfacedeadbeeffeedfacedeadbeefabaddad2")
_GCM_IV = h("cafebabefacedbaddecaf888")


@pytest.mark.parametrize("key, ct, tag", [
    (h("feffe9928665731c6d6a8f9467308308"),
     h("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
       "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"),
     h("5bc94fbc3221a5db94fae95ae7121a47")),
    (h("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"),
     h("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
       "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"),
     h("76fc6ece0f4e1768cddf8853bb2d551b")),
])
def test_aes_gcm_matches_the_gcm_spec(key, ct, tag):
    g = AesGcm(key)
    assert g.encrypt(_GCM_IV, _GCM_P, _GCM_A) == ct + tag
    assert g.decrypt(_GCM_IV, ct + tag, _GCM_A) == _GCM_P
    with pytest.raises(AuthenticationError):
        g.decrypt(_GCM_IV, ct + bytes(16), _GCM_A)


def test_pure_aes_gcm_equals_the_cryptography_package():
    native = pytest.importorskip("cryptography.hazmat.primitives.ciphers.aead")
    for size in (16, 32):
        key = os.urandom(size)
        ours, theirs = AesGcm(key), native.AESGCM(key)
        for n in (0, 1, 15, 16, 17, 4048):
            nonce, data, ad = os.urandom(12), os.urandom(n), os.urandom(n % 101)
            assert ours.encrypt(nonce, data, ad) == theirs.encrypt(nonce, data, ad)


K128, N128 = h("10010000000000000000000000000000"), h("10000200000000000000000000000000")
K256, N256 = K128 + bytes(16), N128 + bytes(16)
AD8 = h("0001020304050607")
MSG32 = bytes(range(32))
AD42 = bytes(range(42))
MSG40 = bytes(range(16, 56))


@pytest.mark.parametrize("family, key, nonce, ad, msg, ct, tag", [
    (128, K128, N128, b"", bytes(16), h("c1c0e58bd913006feba00f4b3cc3594e"),
     h("abe0ece80c24868a226a35d16bdae37a")),
    (128, K128, N128, b"", b"", b"", h("c2b879a67def9d74e6c14f708bbcc9b4")),
    (128, K128, N128, AD8, MSG32, h("79d94593d8c2119d7e8fd9b8fc77845c5c077a05b2528b6ac54b563aed8efe84"),
     h("cc6f3372f6aa1bb82388d695c3962d9a")),
    (128, K128, N128, AD8, MSG32[:14], h("79d94593d8c2119d7e8fd9b8fc77"),
     h("5c04b3dba849b2701effbe32c7f0fab7")),
    (128, K128, N128, AD42, MSG40,
     h("b31052ad1cca4e291abcf2df3502e6bdb1bfd6db36798be3607b1f94d34478aa7ede7f7a990fec10"),
     h("7542a745733014f9474417b337399507")),
    (256, K256, N256, b"", bytes(16), h("754fc3d8c973246dcc6d741412a4b236"),
     h("3fe91994768b332ed7f570a19ec5896e")),
    (256, K256, N256, b"", b"", b"", h("e3def978a0f054afd1e761d7553afba3")),
    (256, K256, N256, AD8, MSG32, h("f373079ed84b2709faee373584585d60accd191db310ef5d8b11833df9dec711"),
     h("8d86f91ee606e9ff26a01b64ccbdd91d")),
    (256, K256, N256, AD8, MSG32[:14], h("f373079ed84b2709faee37358458"),
     h("c60b9c2d33ceb058f96e6dd03c215652")),
    (256, K256, N256, AD42, MSG40,
     h("57754a7d09963e7c787583a2e7b859bb24fa1e04d49fd550b2511a358e3bca252a9b1b8b30cc4a67"),
     h("ab8a7d53fd0e98d727accca94925e128")),
])
def test_aegis_128l_and_256_match_the_draft_vectors(family, key, nonce, ad, msg, ct, tag):
    a = Aegis(key, family)
    assert a.encrypt(nonce, msg, ad) == ct + tag
    assert a.decrypt(nonce, ct + tag, ad) == msg


@pytest.mark.parametrize("family", [128, 256])
def test_aegis_rejects_the_draft_forgeries(family):
    key, nonce = (K128, N128) if family == 128 else (K256, N256)
    good = Aegis(key, family).encrypt(nonce, MSG32[:14], AD8)
    ct, tag = good[:-16], good[-16:]
    forged = [
        (Aegis(nonce, family), key, AD8, ct + tag),  # key and nonce swapped
        (Aegis(key, family), nonce, AD8, ct[:-1] + bytes((ct[-1] ^ 1,)) + tag),
        (Aegis(key, family), nonce, AD8[:-1] + b"\x08", ct + tag),
        (Aegis(key, family), nonce, AD8, ct + tag[:-1] + bytes((tag[-1] ^ 1,))),
    ]
    for cipher, n, ad, data in forged:
        with pytest.raises(AuthenticationError):
            cipher.decrypt(n, data, ad)


XK128, XN128 = h("000102030405060708090a0b0c0d0e0f"), h("101112131415161718191a1b1c1d1e1f")
XK256 = XK128 + XN128
XN256 = XN128 + h("202122232425262728292a2b2c2d2e2f")
XAD = h("0102030401020304")


@pytest.mark.parametrize("family, lanes, key, nonce, first_state_block", [
    (128, 2, XK128, XN128, "a4fc1ad9a72942fb88bd2cabbba6509a80a40e392fc71084209b6c3319bdc6cc"),
    (128, 4, XK128, XN128, "924eb07635003a37e6c6575ba8ce1929c8b6a5d91475445e936d48e794be0ce2"
                           "fcd37d050e24084befe3bbb219d647602e9f58cfb893a8800220242c373a8b18"),
    (256, 2, XK256, XN256, "eca2bf4538442e8712d4972595744039201405efa9264f07911db58101903087"),
    (256, 4, XK256, XN256, "482a86e8436cd2361063a4b2702769b9d95a2be81c9245b22996f68eea0122f9"
                           "0c2a3b348b1a5e256c6751377318c41ef64436a21653fe7cf2e0829a177db383"),
])
def test_aegis_parallel_modes_initial_state_matches_the_draft(family, lanes, key, nonce,
                                                              first_state_block):
    a = Aegis(key, family, lanes)
    state = a._init(nonce).to_bytes(a.total // 8, "big")
    assert state[:16 * lanes].hex() == first_state_block


# The parallel modes' second vectors: the ciphertexts and tags of the draft reproduce
# with msg 04050607 x 30 for AEGIS-128X and 05060708 x 30 for AEGIS-256X.
@pytest.mark.parametrize("family, lanes, key, nonce, msg, empty_tag, ct_head, tag", [
    (128, 2, XK128, XN128, h("04050607") * 30, "63117dc57756e402819a82e13eca8379",
     "5795544301997f93621b278809d6331b", "1aebc200804f405cab637f2adebb6d77"),
    (128, 4, XK128, XN128, h("04050607") * 30, "5bef762d0947c00455b97bb3af30dfa3",
     "e836118562f4479c9d35c17356a83311", "0e56ab94e2e85db80f9d54010caabfb4"),
    (256, 2, XK256, XN256, h("05060708") * 30, "62cdbab084c83dacdb945bb446f049c8",
     "73110d21a920608fd77b580f1e442808", "94a3bd44ad3381e36335014620ee638e"),
    (256, 4, XK256, XN256, h("05060708") * 30, "3b7fee6cee7bf17888ad11ed2397beb4",
     "bec109547f8316d598b3b7d947ad4c0e", "ec44b512d713f745547be345bcc66b6c"),
])
def test_aegis_parallel_modes_match_the_draft_vectors(family, lanes, key, nonce, msg, empty_tag,
                                                      ct_head, tag):
    a = Aegis(key, family, lanes)
    assert a.encrypt(nonce, b"", b"").hex() == empty_tag
    out = a.encrypt(nonce, msg, XAD)
    assert out[:16].hex() == ct_head and out[-16:].hex() == tag
    assert a.decrypt(nonce, out, XAD) == msg


@pytest.mark.parametrize("family, lanes", [(128, 1), (128, 2), (128, 4), (256, 1), (256, 2), (256, 4)])
def test_aegis_round_trips_every_length_around_the_rate(family, lanes):
    a = Aegis(os.urandom(family // 8), family, lanes)
    for n in (0, 1, 15, 16, 17, 31, 32, 33, 127, 128, 129, 4048):
        nonce, msg, ad = os.urandom(family // 8), os.urandom(n), os.urandom(n % 77)
        assert a.decrypt(nonce, a.encrypt(nonce, msg, ad), ad) == msg
