"""stekd as a real process: its development PKI, configuration, state and audit log in one
directory, and HTTPS calls with client certificates (Python's ssl module, a client independent
of stek's own code)."""

from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path

from . import metrics
from .pki import make_pki
from .proc import LOOPBACK, HarnessError, Process, binary, free_port, stekctl, wait_for_port

STEKD_CONF = """\
# Written by stek's Python harness (tests/integration/stektest).
[server]
listen = "{host}:{port}"
metrics_listen = "{host}:{metrics_port}"
long_poll_timeout = {long_poll_timeout}
[tls]
cert = "pki/stekd.crt"
key = "pki/stekd.key"
client_ca = "pki/ca.crt"
{tls_extra}
[schedule]
interval = {interval}
history = {history}
lookahead = {lookahead}
[store]
path = "state.json"
kek_file = "pki/kek"
[domains]
names = {domains}
per_host = {per_host}
[audit]
path = "audit.jsonl"
{limits}
"""


class Stekd:
    """stekd with its PKI (pki/, made at the first start), state and log in `directory`; a
    directory used before keeps its PKI and secrets. start()/stop() can be repeated; the log
    (stekd.log) keeps every run."""

    def __init__(self, directory: Path, domains=("eu-west", "us-east"), interval: int = 3600,
                 history: int = 18, lookahead: int = 2, long_poll_timeout: int = 30,
                 hosts: dict[str, list[str]] | None = None, limits: str = "",
                 start: bool = True, build_dir: Path | None = None, tls_extra: str = "",
                 per_host=()):
        self.dir = directory.resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.build_dir = build_dir
        self.hosts = hosts
        self.pki = self.dir / "pki"
        self.port = free_port()
        self.metrics_port = free_port()
        self.domains = list(domains)
        self.interval, self.history, self.lookahead = interval, history, lookahead
        self.state = self.dir / "state.json"
        self.audit = self.dir / "audit.jsonl"
        self.deny_file = self.dir / "state.json.denied.json"
        self.config = self.dir / "stekd.toml"
        self.config.write_text(STEKD_CONF.format(
            host=LOOPBACK, port=self.port, metrics_port=self.metrics_port,
            long_poll_timeout=long_poll_timeout, interval=interval, history=history,
            lookahead=lookahead, domains=json.dumps(self.domains), limits=limits,
            per_host=json.dumps(list(per_host)),
            tls_extra=tls_extra))
        self.proc: Process | None = None
        self.runs = 0
        if start:
            self.start()

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"

    @property
    def log(self) -> Path:
        return self.dir / "stekd.log"

    @property
    def generation_file(self) -> Path:
        """stekd's generation counter (store.generation_file: beside the KEK by default)."""
        return self.pki / "kek.generation"

    def start(self, wait: bool = True, init: bool | None = None, prefix=(), extra=()) -> Process:
        """Starts stekd, making its PKI first if the directory has none (or lacks a host).
        init (stekd --init, which a missing state file needs): by default only on this object's
        first start in a directory with no state file yet, so that a test which loses the state
        file between starts sees stekd refuse it. prefix: a command that execs stekd, e.g.
        ("prlimit", "--nofile=64:64"); stekd keeps the process id it starts with. extra: more
        flags, e.g. ("--log-format", "json")."""
        make_pki(self.pki, self.hosts, self.build_dir)
        if init is None:
            init = self.runs == 0 and not self.state.exists()
        self.runs += 1
        args = [*prefix, binary("stekd", self.build_dir), "--config", self.config, *extra]
        if init:
            args.append("--init")
        self.proc = Process(args, self.log, name="stekd", append=True)
        if wait:
            # stekd opens its TLS port, then its metrics port: a test that reads metrics as soon
            # as the first accepts was refused under load. Both, in the order stekd opens them.
            wait_for_port(self.port, 20, proc=self.proc)
            wait_for_port(self.metrics_port, 20, proc=self.proc)
        return self.proc

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # ---- HTTPS with a client certificate

    def context(self, identity: str | None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        if identity is not None:
            ctx.load_cert_chain(str(self.pki / f"{identity}.crt"),
                                str(self.pki / f"{identity}.key"))
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
        """The ring stekd serves `identity` now: (its version, the JSON ring), fetched with the
        identity's own certificate, as its agent would."""
        status, headers, body = self.request("/v1/keyring" + query, identity, timeout=15)
        if status != 200:
            raise HarnessError(f"stekd answered {status} to {identity}: {body[:200]!r}")
        return int(headers["x-stek-ring-version"]), json.loads(body)

    def admin_json(self, path: str, method: str = "GET", identity: str = "admin-admin"):
        """One call of the admin API, its JSON answer (raises on anything but 200)."""
        status, _, body = self.request(path, identity, method)
        if status != 200:
            raise HarnessError(f"stekd answered {status} to {method} {path}: {body[:200]!r}")
        return json.loads(body)

    def admin(self, *args) -> str:
        """stekctl with the admin certificate against this stekd; its standard output."""
        return stekctl(*args, "--server", self.url, "--cert", self.pki / "admin-admin.crt",
                       "--key", self.pki / "admin-admin.key", "--ca", self.pki / "ca.crt",
                       build_dir=self.build_dir).stdout.decode()

    def audit_events(self, event: str) -> list[dict]:
        """The audit log's lines of one event."""
        if not self.audit.exists():
            return []
        lines = [json.loads(x) for x in self.audit.read_text().splitlines() if x.strip()]
        return [x for x in lines if x.get("event") == event]

    def metrics_text(self) -> str:
        status, text = metrics.get(self.metrics_port, "/metrics", timeout=10)
        if status != 200:
            raise HarnessError(f"stekd answered {status} on /metrics")
        return text

    def metrics(self) -> dict[str, float]:
        """Samples by full name with labels, e.g. 'stek_ring_version{domain="eu-west"}'."""
        return metrics.labelled(self.metrics_text())

    def healthz(self) -> int:
        return metrics.get(self.metrics_port, "/healthz")[0]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
