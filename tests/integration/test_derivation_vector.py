"""stekctl derive matches an independent implementation of DESIGN.md's derivation, written
here from RFC 5869 with Python's hmac module (no shared code with stek)."""

import base64
import hashlib
import hmac
import json
import os
import struct

import pytest

from stektest import stekctl


def hkdf_sha256(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
        counter += 1
    return okm[:length]


def stek_v1(domain_secret: bytes, epoch_secret: bytes, domain: str, epoch: int) -> dict:
    info = b"stek/v1\x00" + domain.encode("utf-8") + b"\x00" + struct.pack(">Q", epoch)
    okm = hkdf_sha256(domain_secret, epoch_secret, info, 80)
    return {"name": okm[:16], "hmac": okm[16:48], "aes": okm[48:80]}


def test_rfc5869_case1_with_this_implementation():
    # RFC 5869 A.1, to show the reference itself is right.
    okm = hkdf_sha256(bytes.fromhex("000102030405060708090a0b0c"), bytes([0x0b] * 22),
                      bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"), 42)
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                         "34007208d5b887185865")


@pytest.mark.parametrize("domain,epoch", [("eu-west", 498754), ("ü-tenant/β", 0),
                                          ("x", 2**40 + 7)])
def test_stekctl_derive_matches_independent_hkdf(domain, epoch):
    g = os.urandom(32)
    d = os.urandom(32)
    out = stekctl("derive", "--epoch-secret", g.hex(), "--domain-secret", d.hex(), "--domain",
                  domain, "--epoch", str(epoch), "--format", "json", "--out", "-").stdout
    key = json.loads(out)["keys"][0]
    want = stek_v1(d, g, domain, epoch)
    assert key["name"] == want["name"].hex()
    assert base64.b64decode(key["hmac_key"]) == want["hmac"]
    assert base64.b64decode(key["aes_key"]) == want["aes"]
    assert key["domain"] == domain and key["epoch"] == epoch


def test_48_byte_formats_take_the_first_16_bytes_of_each_key():
    g, d = os.urandom(32), os.urandom(32)
    raw = stekctl("derive", "--epoch-secret", g.hex(), "--domain-secret", d.hex(), "--domain",
                  "a", "--epoch", "5", "--format", "apache", "--out", "-").stdout
    want = stek_v1(d, g, "a", 5)
    # Apache: name | HMAC 16 | AES 16
    assert raw == want["name"] + want["hmac"][:16] + want["aes"][:16]
    raw = stekctl("derive", "--epoch-secret", g.hex(), "--domain-secret", d.hex(), "--domain",
                  "a", "--epoch", "5", "--format", "nginx48", "--out", "-").stdout
    # nginx 48: name | AES 16 | HMAC 16
    assert raw == want["name"] + want["aes"][:16] + want["hmac"][:16]


def test_pinned_vector_of_the_unit_tests():
    """The K(d,e) vector pinned in tests/unit/crypto/derive_test.cc, from this independent
    implementation, and stekctl agrees."""
    g = bytes(range(0x00, 0x20))
    d = bytes(range(0x20, 0x40))
    want = stek_v1(d, g, "eu-west", 498754)
    assert want["name"].hex() == "b779a8474b56f44d2a2f547be2d50636"
    assert want["hmac"].hex() == ("22c2a514037f17cd6fd691e8abc12066"
                                  "91481c19730d0bbfb792e932b8b6222c")
    assert want["aes"].hex() == ("8eca1a72f3a6880a43da15c9715b9b0d"
                                 "a6972ab1af8dd2a4c5f4240a75f61584")
    out = stekctl("derive", "--epoch-secret", g.hex(), "--domain-secret", d.hex(), "--domain",
                  "eu-west", "--epoch", "498754", "--format", "nginx80", "--out", "-").stdout
    # nginx 80: name | HMAC 32 | AES 32
    assert out == want["name"] + want["hmac"] + want["aes"]
