"""A real stekd for integration tests: development PKI, config, process, and HTTPS calls with
client certificates (Python's ssl module, a client independent of stek's own code)."""

from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path

from stektest import LOOPBACK, Process, free_port, run, stekctl, wait_for_port, binary

DEFAULT_HOSTS = {"web1": ["eu-west"], "web2": ["eu-west"], "web3": ["us-east"],
                 "web4": ["us-east"], "stranger": ["nowhere"]}


def make_pki(directory: Path, hosts: dict[str, list[str]] | None = None) -> Path:
    hosts = hosts or DEFAULT_HOSTS
    args = ["pki", "init", "--dir", directory]
    for host, domains in hosts.items():
        args += ["--host", f"{host}={','.join(domains)}"]
    stekctl(*args)
    return directory


class Stekd:
    """stekd with its own PKI and state in `directory`. start()/stop() can be repeated."""

    def __init__(self, directory: Path, domains=("eu-west", "us-east"), interval: int = 3600,
                 history: int = 18, lookahead: int = 2, long_poll_timeout: int = 30,
                 hosts: dict[str, list[str]] | None = None, limits: str = "",
                 start: bool = True):
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.pki = directory / "pki"
        if not (self.pki / "ca.key").exists():
            make_pki(self.pki, hosts)
        self.port = free_port()
        self.metrics_port = free_port()
        self.interval, self.history, self.lookahead = interval, history, lookahead
        self.state = directory / "state.json"
        self.audit = directory / "audit.jsonl"
        self.config = directory / "stekd.toml"
        self.config.write_text(f"""\
[server]
listen = "{LOOPBACK}:{self.port}"
metrics_listen = "{LOOPBACK}:{self.metrics_port}"
long_poll_timeout = {long_poll_timeout}
[tls]
cert = "pki/stekd.crt"
key = "pki/stekd.key"
client_ca = "pki/ca.crt"
[schedule]
interval = {interval}
history = {history}
lookahead = {lookahead}
[store]
path = "state.json"
kek_file = "pki/kek"
[domains]
names = {json.dumps(list(domains))}
[audit]
path = "audit.jsonl"
{limits}
""")
        self.proc: Process | None = None
        self.runs = 0
        if start:
            self.start()

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"

    @property
    def log(self) -> Path:
        return self.dir / f"stekd-{self.runs}.log"

    def start(self, wait: bool = True) -> Process:
        self.runs += 1
        self.proc = Process([binary("stekd"), "--config", self.config], self.log)
        if wait:
            wait_for_port(self.port, proc=self.proc.proc)
        return self.proc

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.dir.glob("stekd-*.log")))

    # ---- HTTPS with a client certificate

    def context(self, identity: str | None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        if identity is not None:
            ctx.load_cert_chain(str(self.pki / f"{identity}.crt"), str(self.pki / f"{identity}.key"))
        return ctx

    def request(self, path: str, identity: str | None = "host-web1", method: str = "GET",
                timeout: float = 40, context: ssl.SSLContext | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPSConnection(LOOPBACK, self.port, timeout=timeout,
                                           context=context or self.context(identity))
        try:
            conn.request(method, path, headers=headers or {})
            res = conn.getresponse()
            return res.status, {k.lower(): v for k, v in res.getheaders()}, res.read()
        finally:
            conn.close()

    def ring(self, identity: str = "host-web1", query: str = "") -> tuple[int, dict]:
        status, headers, body = self.request("/v1/keyring" + query, identity)
        assert status == 200, (status, body)
        return int(headers["x-stek-ring-version"]), json.loads(body)

    def admin(self, *args) -> str:
        return stekctl(*args, "--server", self.url, "--cert", self.pki / "admin-admin.crt",
                       "--key", self.pki / "admin-admin.key", "--ca", self.pki / "ca.crt").stdout.decode()

    def metrics(self) -> str:
        conn = http.client.HTTPConnection(LOOPBACK, self.metrics_port, timeout=10)
        try:
            conn.request("GET", "/metrics")
            return conn.getresponse().read().decode()
        finally:
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
