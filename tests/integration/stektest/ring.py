"""Key rings as stekd serves them: the role of each key (one definition for the harness), rings
built from keys that `stekctl derive` really derives, and the search for key bytes that must
never appear in a log, a metric or a state file."""

from __future__ import annotations

import base64
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .proc import stekctl


def epoch(interval: int, t: float | None = None) -> int:
    """The epoch at Unix time t (now by default): floor(t / I)."""
    return int(time.time() if t is None else t) // interval


def role(key_epoch: int, current: int, history: int) -> str:
    """The role stekd gives K(d, key_epoch) when `current` is the epoch now: encrypt (current),
    next (current + 1), pending (later), decrypt (the H epochs before), expired (older)."""
    if key_epoch > current + 1:
        return "pending"
    if key_epoch == current + 1:
        return "next"
    if key_epoch == current:
        return "encrypt"
    if key_epoch >= current - history:
        return "decrypt"
    return "expired"


def make_ring(domain: str, first: int, last: int, *, interval: int, history: int = 2,
              lookahead: int = 2, version: int | None = None, now: int | None = None,
              domain_secret: str | None = None) -> dict:
    """A stek ring file (as a dict) holding K(domain, e) for e = first..last, newest first,
    with random test secrets and the roles and version stekd would give them at `now`.
    One `stekctl derive` per key, run side by side: one after another, the ASan build's
    starts took over nine seconds for six keys on a loaded machine, longer than tests with a
    3-second interval can wait for a ring that still covers now."""
    now = int(time.time()) if now is None else now
    current = epoch(interval, now)
    domain_secret = domain_secret or os.urandom(32).hex()

    def derive(e: int) -> dict:
        return json.loads(stekctl(
            "derive", "--epoch-secret", os.urandom(32).hex(), "--domain-secret", domain_secret,
            "--domain", domain, "--epoch", str(e), "--format", "json", "--out", "-",
            "--interval", str(interval), "--history", str(history),
            "--lookahead", str(lookahead)).stdout)

    epochs = range(last, first - 1, -1)
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(epochs)))) as pool:
        docs = list(pool.map(derive, epochs))
    keys, schedule = [], None
    for e, doc in zip(epochs, docs):
        schedule = doc["schedule"]
        key = doc["keys"][0]
        key["role"] = role(e, current, history)
        key["secret_version"] = 1
        if key["role"] != "expired":
            keys.append(key)
    return {"stek_ring": 1, "version": version if version is not None else (current << 20) + 1,
            "generated_at": now, "schedule": schedule, "keys": keys}


def write_ring(path: Path, ring: dict) -> None:
    """Replaces path atomically, as stekd's answers replace each other."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(ring, indent=1))
    tmp.chmod(0o600)
    tmp.replace(path)


def key_by_epoch(ring: dict) -> dict[int, dict]:
    return {k["epoch"]: k for k in ring["keys"]}


def names_by_epoch(ring: dict) -> dict[int, str]:
    return {k["epoch"]: k["name"] for k in ring["keys"]}


def secret_strings(rings) -> list[str]:
    """Every text form of every secret in the rings: base64 and hex of each HMAC and AES key,
    and of the 80-byte nginx record. None of these may appear in logs or metrics."""
    out = []
    for ring in rings:
        for k in ring["keys"]:
            hmac = base64.b64decode(k["hmac_key"])
            aes = base64.b64decode(k["aes_key"])
            record = bytes.fromhex(k["name"]) + hmac + aes
            for secret in (hmac, aes):
                out += [base64.b64encode(secret).decode(), secret.hex(), secret.hex().upper()]
            out += [base64.b64encode(record).decode(), record[16:].hex()]
    return out


def assert_no_key_bytes(text: str, rings) -> None:
    for s in secret_strings(rings):
        # 16 characters of a 32-byte secret's encoding cannot appear by chance.
        assert s[:16] not in text, "key bytes leaked"
