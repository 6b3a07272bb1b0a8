"""Helpers for stek-agent's integration tests (test_agent_*.py), and a check of the helpers.

Rings are built from keys that `stekctl derive` really derives (random test secrets), with
the roles and version stekd would give them, so the agent is driven by the same ring files
stekd serves. Key directories live on tmpfs (/dev/shm), as the agent requires.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from stektest import Process, binary, free_port, stekctl, wait_until


def role(epoch: int, current: int, history: int) -> str:
    if epoch > current + 1:
        return "pending"
    if epoch == current + 1:
        return "next"
    if epoch == current:
        return "encrypt"
    if epoch >= current - history:
        return "decrypt"
    return "expired"


def make_ring(domain: str, first: int, last: int, *, interval: int, history: int = 2,
              lookahead: int = 2, version: int | None = None, now: int | None = None,
              domain_secret: str | None = None) -> dict:
    """A stek ring file (as a dict) holding K(domain, e) for e = first..last."""
    now = int(time.time()) if now is None else now
    current = now // interval
    domain_secret = domain_secret or os.urandom(32).hex()
    keys, schedule = [], None
    for epoch in range(last, first - 1, -1):
        out = stekctl("derive", "--epoch-secret", os.urandom(32).hex(), "--domain-secret",
                      domain_secret, "--domain", domain, "--epoch", str(epoch), "--format", "json",
                      "--out", "-", "--interval", str(interval), "--history", str(history),
                      "--lookahead", str(lookahead)).stdout
        doc = json.loads(out)
        schedule = doc["schedule"]
        key = doc["keys"][0]
        key["role"] = role(epoch, current, history)
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


class ShmDir:
    """A directory on tmpfs, removed afterwards."""

    def __init__(self):
        self.path = Path(tempfile.mkdtemp(prefix="stek-agent-it-", dir="/dev/shm"))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def write_config(path: Path, *, sinks=(), tls: dict | None = None, **top) -> Path:
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
    if tls:
        lines.append("[tls]")
        lines += [f"{k} = {toml_value(v)}" for k, v in tls.items()]
    for sink in sinks:
        lines.append("[[sink]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in sink.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


class Agent(Process):
    """A running stek-agent with its log and metrics port."""

    def __init__(self, config: Path, log: Path, *args, metrics_port: int | None = None):
        self.metrics_port = metrics_port
        super().__init__([binary("stek-agent"), "--config", config, *args], log)

    def metrics(self) -> dict[str, float]:
        """Prometheus samples by name (labels dropped; each metric here has one sample, or
        several sinks: then the sum)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            text = r.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name_labels, value = line.rsplit(" ", 1)
            name = name_labels.split("{", 1)[0]
            out[name] = out.get(name, 0) + float(value)
        return out

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            return r.read().decode()

    def healthz(self) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/healthz", timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def wait_metric(self, name: str, predicate, timeout: float = 20.0) -> dict:
        def check():
            if not self.alive():
                raise AssertionError(f"stek-agent exited:\n{self.output()}")
            m = self.metrics()
            return m if predicate(m.get(name, 0)) else None
        return wait_until(check, timeout, what=f"metric {name}")


def start_agent(tmp: Path, config: Path, *args) -> Agent:
    port = free_port()
    text = config.read_text()
    config.write_text(f'metrics_listen = "127.0.0.1:{port}"\n' + text)
    agent = Agent(config, tmp / "agent.log", *args, metrics_port=port)
    wait_until(lambda: _listening(agent), 20, what="stek-agent metrics listener")
    return agent


def _listening(agent: Agent) -> bool:
    if not agent.alive():
        raise AssertionError(f"stek-agent exited {agent.proc.returncode}:\n{agent.output()}")
    try:
        agent.metrics()
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- the helpers' own check

def test_rings_have_stekd_roles_and_real_derived_keys(tmp_path):
    interval = 3600
    now = 1_800_000_000
    e = now // interval
    ring = make_ring("eu-west", e - 2, e + 2, interval=interval, history=2, now=now)
    path = tmp_path / "ring.json"
    write_ring(path, ring)
    shown = json.loads(stekctl("inspect", "--json", "--format", "json", path).stdout)
    roles = {k["epoch"]: k["role"] for k in shown["keys"]}
    assert roles == {e - 2: "decrypt", e - 1: "decrypt", e: "encrypt", e + 1: "next", e + 2: "pending"}
    assert {k["domain"] for k in ring["keys"]} == {"eu-west"}
    assert ring["version"] == (e << 20) + 1
    assert len({k["name"] for k in ring["keys"]}) == 5
    assert_no_key_bytes("nothing secret here", [ring])
    try:
        assert_no_key_bytes(json.dumps(ring), [ring])
    except AssertionError:
        pass
    else:
        raise AssertionError("the leak check cannot fail")
