#!/usr/bin/env python3
"""stek's local fleet: one stekd, two domains, two hosts per domain, each host a stek-agent
feeding its own real nginx, all on 127.0.0.1. Shows rotations, the epoch each agent holds,
and an OpenSSL client resuming across rotations and across the hosts of one domain but never
across domains.

    scripts/fleet.py [--interval 10] [--duration SECONDS] [--dir stek-fleet]

Writes fleet.json into the current directory; keeps stekd's state, the development PKI,
configs and logs under --dir (persistent: a second run reuses the same secrets), and every
file holding key bytes (agent caches, nginx key files) under a fresh directory in /dev/shm,
removed when the fleet stops. Stops cleanly on Ctrl-C or SIGTERM. Exit status: 0 when every
check passed, 1 when a resumption went the wrong way, 2 on a setup error.

The module is also the test suite's fleet (tests/integration/test_fleet.py imports Fleet).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"
SOURCE_DIR = Path(__file__).resolve().parents[1]


class FleetError(Exception):
    """A part of the fleet failed to start or answer; the message says which and why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise FleetError(f"timed out after {timeout:.0f} s waiting for {what}")


def accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=1):
        return True
    return False


def run(args, timeout: float = 30, check: bool = True, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], capture_output=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise FleetError(f"{' '.join(map(str, args))} exited {proc.returncode}: "
                         f"{proc.stderr.decode(errors='replace').strip()}")
    return proc


class Child:
    """A background program with its output in a log file, in its own process group."""

    def __init__(self, name: str, args, log: Path):
        self.name = name
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen([str(a) for a in args], stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            tail = self.log.read_text(errors="replace").splitlines()[-5:]
            raise FleetError(f"{self.name} exited with status {self.proc.returncode}; "
                             f"last lines of {self.log}:\n  " + "\n  ".join(tail))

    def stop(self, timeout: float = 10) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


@dataclass
class Probe:
    """One TLS connection by `openssl s_client`."""
    reused: bool
    key_name: str        # first 16 bytes of the ticket the server sent, hex; "" if none
    session: Path        # the saved session, for a later resumption


@dataclass
class Host:
    name: str
    domain: str
    https_port: int
    metrics_port: int
    dir: Path            # configs and logs (persistent)
    shm: Path            # key files and the agent's cache (tmpfs)
    agent: Child | None = None
    nginx: Child | None = None

    @property
    def include(self) -> Path:
        return self.shm / "tickets.conf"

    def metrics_text(self) -> str:
        """The agent's /metrics page (Prometheus text format)."""
        with urllib.request.urlopen(f"http://{LOOPBACK}:{self.metrics_port}/metrics",
                                    timeout=5) as r:
            return r.read().decode()

    def metrics(self) -> dict[str, float]:
        """The agent's Prometheus samples by name (labels summed)."""
        text = self.metrics_text()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name_labels, value = line.rsplit(" ", 1)
                name = name_labels.split("{", 1)[0]
                out[name] = out.get(name, 0.0) + float(value)
        return out


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log notice;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    fastcgi_temp_path {dir}/tmp;
    uwsgi_temp_path {dir}/tmp;
    scgi_temp_path {dir}/tmp;
    server {{
        listen {host}:{port} ssl;
        server_name localhost;
        # One certificate for the whole fleet: OpenSSL binds a session to the certificate
        # (session id context), so hosts that resume each other's tickets share it.
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache off;          # resumption by ticket only
        ssl_session_tickets on;
        ssl_session_timeout {timeout}s; # = stek's lifetime hint, H x I
        include {include};              # written by stek-agent's nginx sink
        location / {{ return 200 "{name} ({domain})\\n"; }}
    }}
}}
"""


class Fleet:
    """stekd + per host (stek-agent + nginx). start() brings all up, stop() takes all down and
    erases the tmpfs key directory. stop_stekd()/start_stekd() restart the key server alone."""

    def __init__(self, workdir: Path, bindir: Path, *, interval: int = 10, history: int = 3,
                 lookahead: int = 2, domains=("eu-west", "us-east"), hosts_per_domain: int = 2,
                 long_poll_timeout: int = 30):
        if interval < 3:
            raise FleetError("--interval must be at least 3 seconds")
        self.dir = workdir.resolve()
        self.bindir = bindir.resolve()
        self.interval, self.history, self.lookahead = interval, history, lookahead
        self.domains = list(domains)
        self.long_poll_timeout = long_poll_timeout
        self.shm = Path(tempfile.mkdtemp(prefix="stek-fleet-", dir="/dev/shm"))
        self.stekd_port = free_port()
        self.stekd_metrics_port = free_port()
        self.stekd: Child | None = None
        self.stekd_runs = 0
        self.hosts = [Host(f"{d}-{i}", d, free_port(), free_port(), self.dir / f"{d}-{i}",
                           self.shm / f"{d}-{i}")
                      for d in self.domains for i in range(1, hosts_per_domain + 1)]

    # ------------------------------------------------------------------ parts

    def binary(self, name: str) -> Path:
        path = self.bindir / "apps" / name / name
        if not path.exists():
            raise FleetError(f"{path} is missing: build it first (scripts/build.sh)")
        return path

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.stekd_port}"

    @property
    def pki(self) -> Path:
        return self.dir / "pki"

    @property
    def lifetime_hint(self) -> int:
        return self.history * self.interval

    def epoch(self, t: float | None = None) -> int:
        return int(time.time() if t is None else t) // self.interval

    def _make_pki(self) -> None:
        wanted = [f"host-{h.name}.crt" for h in self.hosts]
        if all((self.pki / f).exists() for f in wanted):
            return
        args = [self.binary("stekctl"), "pki", "init", "--dir", self.pki, "--force"]
        for h in self.hosts:
            args += ["--host", f"{h.name}={h.domain}"]
        run(args)
        # The TLS certificate the nginx hosts serve to clients (not stekd's PKI: a client
        # of the web servers never sees stek's CA).
        key, cert = self.dir / "web.key", self.dir / "web.crt"
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", key])
        key.chmod(0o600)
        run(["openssl", "req", "-x509", "-new", "-key", key, "-out", cert, "-days", "30",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])

    def _write_stekd_config(self) -> Path:
        config = self.dir / "stekd.toml"
        config.write_text(f"""\
# Written by scripts/fleet.py: a demonstration schedule, far shorter than production's.
[server]
listen = "{LOOPBACK}:{self.stekd_port}"
metrics_listen = "{LOOPBACK}:{self.stekd_metrics_port}"
long_poll_timeout = {self.long_poll_timeout}
[tls]
cert = "pki/stekd.crt"
key = "pki/stekd.key"
client_ca = "pki/ca.crt"
[schedule]
interval = {self.interval}
history = {self.history}
lookahead = {self.lookahead}
[store]
path = "state.json"
kek_file = "pki/kek"
[domains]
names = {json.dumps(self.domains)}
[audit]
path = "audit.jsonl"
""")
        return config

    def start_stekd(self) -> None:
        self.stekd_runs += 1
        self.stekd = Child("stekd", [self.binary("stekd"), "--config", self.dir / "stekd.toml"],
                           self.dir / "stekd.log")
        wait_until(lambda: self.stekd.check_alive() or accepts(self.stekd_port), 20,
                   "stekd to listen")

    def stop_stekd(self) -> None:
        if self.stekd:
            self.stekd.stop()

    def _start_host(self, h: Host) -> None:
        h.dir.mkdir(parents=True, exist_ok=True)
        (h.dir / "tmp").mkdir(exist_ok=True)
        h.shm.mkdir(mode=0o700, parents=True, exist_ok=True)
        nginx_conf = h.dir / "nginx.conf"
        nginx_conf.write_text(NGINX_CONF.format(
            dir=h.dir, host=LOOPBACK, port=h.https_port, cert=self.dir / "web.crt",
            key=self.dir / "web.key", timeout=self.lifetime_hint, include=h.include,
            name=h.name, domain=h.domain))
        agent_conf = h.dir / "stek-agent.toml"
        agent_conf.write_text(f"""\
# Written by scripts/fleet.py for host {h.name} of domain {h.domain}.
servers = ["{self.url}"]
cache_dir = "{h.shm / 'cache'}"
poll_timeout = {self.long_poll_timeout}
backoff_max = 5.0   # a demonstration reconnects fast after stekd restarts; production: 60
metrics_listen = "{LOOPBACK}:{h.metrics_port}"
[tls]
cert = "{self.pki / f'host-{h.name}.crt'}"
key = "{self.pki / f'host-{h.name}.key'}"
ca = "{self.pki / 'ca.crt'}"
[[sink]]
type = "nginx"
dir = "{h.shm / 'keys'}"
include = "{h.include}"
reload = "signal"
pid_file = "{h.dir / 'nginx.pid'}"
nginx_conf = "{nginx_conf}"
""")
        h.agent = Child(f"stek-agent {h.name}",
                        [self.binary("stek-agent"), "--config", agent_conf], h.dir / "agent.log")
        # nginx reads the include at start: start it once the agent has written its keys.
        wait_until(lambda: h.agent.check_alive() or h.include.exists(), 30,
                   f"stek-agent of {h.name} to write its nginx keys")
        h.nginx = Child(f"nginx {h.name}", ["nginx", "-c", nginx_conf, "-p", h.dir,
                                            "-e", h.dir / "nginx-error.log"],
                        h.dir / "nginx.out")
        wait_until(lambda: h.nginx.check_alive() or accepts(h.https_port), 20,
                   f"nginx of {h.name} to listen")

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._make_pki()
        self._write_stekd_config()
        self.start_stekd()
        for h in self.hosts:
            self._start_host(h)
        self.write_description(Path.cwd() / "fleet.json")

    def stop(self) -> None:
        for h in self.hosts:
            for child in (h.nginx, h.agent):
                if child:
                    child.stop()
        self.stop_stekd()
        shutil.rmtree(self.shm, ignore_errors=True)

    def check_alive(self) -> None:
        """Raises FleetError when an agent or nginx died. stekd may be down (tests stop it):
        hosts keep rotating from their look-ahead keys."""
        for h in self.hosts:
            for child in (h.agent, h.nginx):
                if child:
                    child.check_alive()

    def description(self) -> dict:
        return {"stekd": self.url,
                "domains": {d: [{"host": h.name, "https": f"{LOOPBACK}:{h.https_port}"}
                                for h in self.hosts if h.domain == d] for d in self.domains}}

    def write_description(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.description(), indent=2) + "\n")
        tmp.replace(path)

    def fetch_ring(self, host: Host) -> tuple[int, dict]:
        """The ring stekd serves to `host` now (its version and the JSON ring), fetched with
        the host's own certificate, as its agent would."""
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(str(self.pki / f"host-{host.name}.crt"),
                            str(self.pki / f"host-{host.name}.key"))
        conn = http.client.HTTPSConnection(LOOPBACK, self.stekd_port, timeout=15, context=ctx)
        try:
            conn.request("GET", "/v1/keyring")
            res = conn.getresponse()
            body = res.read()
            if res.status != 200:
                raise FleetError(f"stekd answered {res.status} to {host.name}")
            return int(res.getheader("X-Stek-Ring-Version")), json.loads(body)
        finally:
            conn.close()

    # ------------------------------------------------------------------ a TLS client

    def connect(self, host: Host, version: str = "1.3", resume: Probe | None = None) -> Probe:
        """One HTTPS request to host's nginx with `openssl s_client`, saving the session."""
        session = self.dir / "client" / f"{host.name}-{time.monotonic_ns()}.pem"
        session.parent.mkdir(exist_ok=True)
        args = ["openssl", "s_client", "-connect", f"{LOOPBACK}:{host.https_port}",
                "-servername", "localhost", "-CAfile", self.dir / "web.crt",
                "-tls1_3" if version == "1.3" else "-tls1_2", "-sess_out", session, "-ign_eof"]
        if resume is not None:
            args += ["-sess_in", resume.session]
        request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        out = run(args, input=request, timeout=15, check=False).stdout.decode(errors="replace")
        m = re.search(r"^(New|Reused), TLSv", out, re.M)
        if not m:
            raise FleetError(f"openssl s_client could not connect to {host.name}:\n{out[-400:]}")
        return Probe(m.group(1) == "Reused", ticket_key_name(session), session)

    def sweep_client_sessions(self, keep: set[Path]) -> None:
        for p in (self.dir / "client").glob("*.pem"):
            if p not in keep:
                p.unlink(missing_ok=True)


def ticket_key_name(session: Path) -> str:
    """The first 16 bytes of the ticket in a saved session (the key name), hex."""
    if not session.exists():
        return ""
    out = run(["openssl", "sess_id", "-in", session, "-noout", "-text"], check=False)
    text = out.stdout.decode(errors="replace")
    m = re.search(r"TLS session ticket:\s*\n\s*0000 - ((?:[0-9a-f]{2}[ -]){16})", text)
    return m.group(1).replace(" ", "").replace("-", "") if m else ""


# ---------------------------------------------------------------------- the demonstration

@dataclass
class Tally:
    expected_yes: int = 0
    failed_yes: list[str] = field(default_factory=list)
    expected_no: int = 0
    failed_no: list[str] = field(default_factory=list)

    def check(self, what: str, reused: bool, expect: bool) -> str:
        if expect:
            self.expected_yes += 1
            if not reused:
                self.failed_yes.append(what)
        else:
            self.expected_no += 1
            if reused:
                self.failed_no.append(what)
        mark = "resumed" if reused else "full handshake"
        return mark + ("" if reused == expect else "  <-- UNEXPECTED")

    @property
    def ok(self) -> bool:
        return not self.failed_yes and not self.failed_no


def short(name: str) -> str:
    return name[:8] if name else "(none)"


def demo_round(fleet: Fleet, tally: Tally, previous: dict[str, Probe], say) -> dict[str, Probe]:
    """For each domain: a fresh ticket from its first host, resumed on every host of the fleet
    (yes within the domain, no elsewhere), and the ticket from the previous round resumed on
    the domain's last host (yes: it was issued under an older key)."""
    fresh: dict[str, Probe] = {}
    for domain in fleet.domains:
        mine = [h for h in fleet.hosts if h.domain == domain]
        first = mine[0]
        ticket = fleet.connect(first)
        fresh[domain] = ticket
        say(f"  {domain}: new ticket from {first.name}, key {short(ticket.key_name)}")
        for h in fleet.hosts:
            if h is first:
                continue
            expect = h.domain == domain
            result = fleet.connect(h, resume=ticket)
            say(f"    resumed on {h.name:<12} -> "
                + tally.check(f"{domain} ticket on {h.name}", result.reused, expect))
        if domain in previous:
            old = previous[domain]
            result = fleet.connect(mine[-1], resume=old)
            say(f"    last rotation's ticket (key {short(old.key_name)}) on {mine[-1].name:<12} -> "
                + tally.check(f"previous {domain} ticket on {mine[-1].name}", result.reused, True))
    fleet.sweep_client_sessions({p.session for p in fresh.values()})
    return fresh


def agents_line(fleet: Fleet) -> str:
    parts = []
    for h in fleet.hosts:
        try:
            m = h.metrics()
            runway = int(m.get("stek_agent_runway_seconds", 0))
            parts.append(f"{h.name} e{int(m.get('stek_agent_current_epoch', 0))} "
                         f"({int(m.get('stek_agent_keys_served', 0))} keys, runway {runway}s)")
        except OSError:
            parts.append(f"{h.name} (metrics unreachable)")
    return "; ".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description="Run stek's local fleet: stekd, two domains x two hosts, each host a "
                    "stek-agent and a real nginx on 127.0.0.1.")
    ap.add_argument("--interval", type=int, default=10,
                    help="seconds per epoch (I); production uses 3600 (default: 10)")
    ap.add_argument("--history", type=int, default=3,
                    help="epochs a ticket stays resumable after its own (H) (default: 3)")
    ap.add_argument("--lookahead", type=int, default=2,
                    help="future keys each host holds (L) (default: 2)")
    ap.add_argument("--duration", type=float, default=None,
                    help="stop after this many seconds (default: run until Ctrl-C/SIGTERM)")
    ap.add_argument("--dir", type=Path, default=Path("stek-fleet"),
                    help="stekd state, development PKI, configs and logs (default: ./stek-fleet)")
    ap.add_argument("--build-dir", type=Path, default=SOURCE_DIR / "build",
                    help="where stek's programs were built (default: build/)")
    args = ap.parse_args(argv)

    start = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - start:6.1f}s] {text}", flush=True)

    stop_requested = []

    def on_signal(signum, _frame):
        stop_requested.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        fleet = Fleet(args.dir, args.build_dir, interval=args.interval, history=args.history,
                      lookahead=args.lookahead)
    except FleetError as e:
        print(f"fleet: {e}", file=sys.stderr)
        return 2
    tally = Tally()
    try:
        say(f"starting stekd on {fleet.url} (I={fleet.interval}s, H={fleet.history}, "
            f"L={fleet.lookahead}; lifetime hint {fleet.lifetime_hint}s), state in {fleet.dir}")
        fleet.start()
        for d in fleet.domains:
            say(f"domain {d}: " + ", ".join(f"{h.name} https://{LOOPBACK}:{h.https_port}"
                                             for h in fleet.hosts if h.domain == d))
        say(f"wrote {Path.cwd() / 'fleet.json'}; key files live in {fleet.shm} (tmpfs)")
        say("Ctrl-C stops the fleet" + (f"; stopping after {args.duration:.0f}s"
                                         if args.duration else ""))
        previous: dict[str, Probe] = {}
        last_epoch = None
        while not stop_requested:
            if args.duration is not None and time.monotonic() - start >= args.duration:
                break
            fleet.check_alive()
            e = fleet.epoch()
            # A round a second after each boundary, when agents have rotated and nginx reloaded.
            if e != last_epoch and time.time() - e * fleet.interval >= 1.0:
                say(f"epoch {e}: agents: {agents_line(fleet)}")
                previous = demo_round(fleet, tally, previous, say)
                last_epoch = e
            time.sleep(0.2)
    except FleetError as e:
        say(f"error: {e}")
        fleet.stop()
        return 2
    say("stopping: nginx, stek-agents, stekd; erasing " + str(fleet.shm))
    fleet.stop()
    say(f"resumptions expected and seen: {tally.expected_yes - len(tally.failed_yes)}/"
        f"{tally.expected_yes}; across domains (must be 0): {len(tally.failed_no)}/"
        f"{tally.expected_no}")
    for what in tally.failed_yes:
        say(f"FAILED to resume: {what}")
    for what in tally.failed_no:
        say(f"RESUMED ACROSS DOMAINS: {what}")
    return 0 if tally.ok else 1


if __name__ == "__main__":
    sys.exit(main())
