#!/usr/bin/env python3
"""An independent HPKE (RFC 9180) for the tests: Python's hmac and hashlib, and the
cryptography package's X25519 and AES-GCM (Debian's python3-cryptography). It first
reproduces RFC 9180 Appendix A.1.1 (base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
AES-128-GCM) byte for byte, then prints the same exchange in the project's suite
(AES-256-GCM, aead 0x0002), whose values tests/crypto/test_hpke.c holds. Run it to check
them: /usr/bin/python3 tests/crypto/hpke_ref.py"""
import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import serialization

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def extract(salt, ikm):
    return hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()


def expand(prk, info, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out, i = out + t, i + 1
    return out[:n]


def lext(suite, salt, label, ikm):
    return extract(salt, b"HPKE-v1" + suite + label + ikm)


def lexp(suite, prk, label, info, n):
    return expand(prk, n.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info, n)


def run(aead_id, nk, sk_e, sk_r, info, pts):
    kem = b"KEM\x00\x20"
    suite = b"HPKE\x00\x20\x00\x01" + aead_id.to_bytes(2, "big")
    e = X25519PrivateKey.from_private_bytes(sk_e)
    pk_r = X25519PrivateKey.from_private_bytes(sk_r).public_key().public_bytes(*RAW)
    enc = e.public_key().public_bytes(*RAW)
    dh = e.exchange(X25519PublicKey.from_public_bytes(pk_r))
    shared = lexp(kem, lext(kem, b"", b"eae_prk", dh), b"shared_secret", enc + pk_r, 32)
    ctx = b"\x00" + lext(suite, b"", b"psk_id_hash", b"") + lext(suite, b"", b"info_hash", info)
    secret = lext(suite, shared, b"secret", b"")
    key, nonce = lexp(suite, secret, b"key", ctx, nk), lexp(suite, secret, b"base_nonce", ctx, 12)
    cts = []
    for seq, (aad, pt) in enumerate(pts):
        n = bytes(a ^ b for a, b in zip(nonce, seq.to_bytes(12, "big")))
        cts.append(AESGCM(key).encrypt(n, pt, aad))
    return pk_r, enc, shared, key, nonce, cts


H = bytes.fromhex
INFO = H("4f6465206f6e2061204772656369616e2055726e")
SK_E = H("52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736")
SK_R = H("4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8")
PT = H("4265617574792069732074727574682c20747275746820626561757479")
MSGS = [(b"Count-0", PT), (b"Count-1", PT)]

# RFC 9180 A.1.1, as published
pk_r, enc, shared, key, nonce, cts = run(1, 16, SK_E, SK_R, INFO, MSGS)
assert pk_r.hex() == "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d"
assert enc.hex() == "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431"
assert shared.hex() == "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc"
assert key.hex() == "4531685d41d65f03dc48f6b8302c05b0" and nonce.hex() == "56d890e5accaaf011cff4b7d"
assert cts[0].hex() == ("f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a9"
                        "6d8770ac83d07bea87e13c512a")
assert cts[1].hex() == ("af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab25"
                        "1c03d0c22a56b8ca42c2063b84")
print("RFC 9180 A.1.1 reproduced")
_, _, _, key, nonce, cts = run(2, 32, SK_E, SK_R, INFO, MSGS)
print("aead 2: key", key.hex(), "base_nonce", nonce.hex())
for i, c in enumerate(cts):
    print(f"aead 2: ct{i}", c.hex())
