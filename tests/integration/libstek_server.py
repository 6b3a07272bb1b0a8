"""Helpers for libstek's integration tests: stek ring files written the way stek-agent writes
them (JSON, atomic rename), the example HTTPS server, and the external clients that resume
against it (openssl s_client, gnutls-cli, Python's ssl module, curl). 127.0.0.1 only."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import ssl
import subprocess
import time
from pathlib import Path

from stektest import BUILD_DIR, LOOPBACK, Process, free_port, run, shared_cert, wait_for_port
from stektest.ring import epoch, role


# ---------------------------------------------------------------- ring files

class KeyPool:
    """Random keys per epoch of one domain; writes the window a host holds at time t."""

    def __init__(self, interval: int = 3600, history: int = 18, lookahead: int = 2,
                 domain: str = "test", aes_bytes: int = 32):
        self.interval, self.history, self.lookahead = interval, history, lookahead
        self.domain = domain
        self.aes_bytes = aes_bytes
        self.keys: dict[int, tuple[bytes, bytes, bytes]] = {}

    def epoch(self, t: float | None = None) -> int:
        return epoch(self.interval, t)

    def key(self, e: int) -> tuple[bytes, bytes, bytes]:
        if e not in self.keys:
            n = self.aes_bytes
            self.keys[e] = (os.urandom(16), os.urandom(n), os.urandom(n))
        return self.keys[e]

    def name(self, e: int) -> str:
        return self.key(e)[0].hex()

    def role(self, k: int, e: int) -> str:
        return role(k, e, self.history)

    def ring(self, t: float | None = None, version: int = 1, epochs=None) -> dict:
        e = self.epoch(t)
        epochs = epochs or range(e + self.lookahead, e - self.history - 1, -1)
        keys = []
        for k in epochs:
            name, hmac, aes = self.key(k)
            keys.append({
                "name": name.hex(), "role": self.role(k, e), "domain": self.domain, "epoch": k,
                "not_before": k * self.interval,
                "not_after": (k + self.history + 1) * self.interval - 1,
                "hmac_key": base64.b64encode(hmac).decode(),
                "aes_key": base64.b64encode(aes).decode()})
        return {"stek_ring": 1, "version": version, "generated_at": int(time.time()),
                "schedule": {"interval": self.interval, "history": self.history,
                             "lookahead": self.lookahead},
                "keys": keys}

    def write(self, path: Path, t: float | None = None, version: int = 1, epochs=None) -> None:
        """Writes the ring the way stek-agent does: temp file, then rename over the old one."""
        write_atomic(path, json.dumps(self.ring(t, version, epochs)).encode())


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------- the example server

def example_binary() -> Path:
    return BUILD_DIR / "examples" / "stek-example-server"


class ExampleServer(Process):
    """examples/https_server.cc on 127.0.0.1 in one of its ticket modes."""

    def __init__(self, directory: Path, tickets: str = "ring", ring: Path | None = None,
                 extra=(), cert: tuple[Path, Path] | None = None, port: int | None = None):
        """port: a fixed one (a restart behind a load balancer), else any free one."""
        directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.cert, key = cert or shared_cert()
        args = [example_binary(), "--cert", self.cert, "--key", key, "--port", self.port,
                "--tickets", tickets, *extra]
        if ring is not None:
            args += ["--ring", ring]
        super().__init__(args, directory / f"server-{self.port}.log")
        wait_for_port(self.port, proc=self.proc)

    def status(self) -> dict:
        return json.loads(https_get(self.port, "/status", cafile=self.cert)[1])

    def keys(self) -> dict:
        return self.status()["keys"]


# ---------------------------------------------------------------- clients

_contexts: dict = {}


def client_context(cafile: Path | None = None, version: str | None = None) -> ssl.SSLContext:
    """One SSLContext per (CA, version): Python resumes a session only in the context it came from."""
    key = (str(cafile or shared_cert()[0]), version)
    if key not in _contexts:
        ctx = ssl.create_default_context(cafile=key[0])
        if version is not None:
            v = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
            ctx.minimum_version = ctx.maximum_version = v
        _contexts[key] = ctx
    return _contexts[key]


def https_get(port: int, path: str = "/", cafile: Path | None = None, version: str | None = None,
              session: ssl.SSLSession | None = None, timeout: float = 10.0):
    """One request with Python's ssl module. Returns (response head, body, ssl session, reused)."""
    ctx = client_context(cafile, version)
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
            tls.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                        .encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
            # TLS 1.3 tickets arrive after the handshake; reading the response processed them.
            head, _, body = data.decode().partition("\r\n\r\n")
            return head, body, tls.session, tls.session_reused


def resumed_flag(body: str) -> bool:
    """The example server says in its answer whether the connection resumed."""
    m = re.search(r"resumed=(\d)", body)
    assert m, f"unexpected response: {body!r}"
    return m.group(1) == "1"


def gnutls_resume(port: int, version: str, timeout: float = 20.0) -> tuple[bool, str]:
    """gnutls-cli --resume: connects, then reconnects offering the session. Returns whether the
    second connection resumed (as the server reports it) and the output."""
    prio = "NORMAL:-VERS-ALL:+VERS-TLS" + version
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    proc = run(["gnutls-cli", "--x509cafile", shared_cert()[0], "--resume", "--priority", prio,
                "-p", port, "localhost"], input=request, timeout=timeout, check=False)
    out = proc.stdout.decode(errors="replace")
    bodies = re.findall(r"resumed=(\d)", out)
    return bool(bodies) and bodies[-1] == "1" and "This is a resumed session" in out, out


def curl_twice(port: int, version: str, timeout: float = 20.0) -> list[bool]:
    """curl fetching two URLs in one run: the second connection offers the first's session."""
    flag = "--tlsv1.2" if version == "1.2" else "--tlsv1.3"
    proc = run(["curl", "-s", "--cacert", shared_cert()[0], flag, "--tls-max", version,
                "--resolve", f"localhost:{port}:{LOOPBACK}",
                f"https://localhost:{port}/", f"https://localhost:{port}/"],
               timeout=timeout)
    return [b == "1" for b in re.findall(r"resumed=(\d)", proc.stdout.decode())]


def wait_key_change(server: ExampleServer, old_key: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = server.keys()["current_key"]
        if current != old_key:
            return current
        time.sleep(0.1)
    raise AssertionError(f"current key still {old_key} after {timeout} s")
