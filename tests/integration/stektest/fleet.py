"""stek's local fleet, made of the harness's parts: one stekd, N domains of M hosts, each host a
stek-agent feeding its own real server, all on 127.0.0.1. A domain's hosts run one product
(products do not resume each other's tickets): nginx (the default) or HAProxy (fed live through
its runtime API). scripts/fleet.py is its command line (a mixed fleet: one domain of each);
tests/integration/test_fleet.py and test_scan_stek_managed.py drive it directly.

stekd's state, the development PKI, configs and logs live under the fleet's directory
(persistent: a second fleet on the same directory reuses the same secrets); every file that
holds key bytes (agent caches, nginx key files) lives in a fresh directory on /dev/shm, removed
by stop()."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .agent import Agent, write_config
from .haproxy import Haproxy
from .nginx import Nginx, include_keys
from .pki import make_cert
from .proc import LOOPBACK, HarnessError, free_port, wait_until
from .ring import epoch, names_by_epoch
from .stekd import Stekd
from .tls import TlsResult, tls_connect

PRODUCTS = ("nginx", "haproxy")


@dataclass
class Host:
    name: str
    domain: str
    https_port: int
    metrics_port: int
    dir: Path            # configs and logs (persistent)
    shm: Path            # key files and the agent's cache (tmpfs)
    product: str = "nginx"  # one of PRODUCTS
    agent: Agent | None = None
    nginx: Nginx | None = None
    haproxy: Haproxy | None = None

    @property
    def include(self) -> Path:
        """The nginx include the agent's sink writes (ssl_session_ticket_key lines)."""
        return self.shm / "tickets.conf"

    @property
    def haproxy_keys(self) -> Path:
        """HAProxy's tls-ticket-keys file, which the agent's sink writes for its start-up."""
        return self.shm / "tickets.keys"

    @property
    def server(self):
        """The host's server process (nginx or HAProxy), None before start."""
        return self.nginx if self.product == "nginx" else self.haproxy

    def metrics_text(self) -> str:
        """The agent's /metrics page (Prometheus text format)."""
        return self.agent.metrics_text()

    def metrics(self) -> dict[str, float]:
        """The agent's Prometheus samples by name (labels summed)."""
        return self.agent.metrics()


class Fleet:
    """stekd + per host (stek-agent + nginx). start() brings all up, stop() takes all down and
    erases the tmpfs key directory. stop_stekd()/start_stekd() restart the key server alone."""

    def __init__(self, workdir: Path, bindir: Path, *, interval: int = 10, history: int = 3,
                 lookahead: int = 2, domains=("eu-west", "us-east"), hosts_per_domain: int = 2,
                 long_poll_timeout: int = 30, stekd_tls_extra: str = "", per_host=(),
                 route: dict | None = None, products: dict[str, str] | None = None):
        """per_host: domains whose hosts get keys of their own (stekd's domains.per_host).
        route: {"socket": ..., "map": ...} of a load balancer's HAProxy: every agent also runs
        a haproxy_route sink that maps its keys to its host's name (stektest/lb.py).
        products: the product of each domain's hosts (default nginx)."""
        if interval < 3:
            raise HarnessError("--interval must be at least 3 seconds")
        products = products or {}
        unknown = sorted(set(products.values()) - set(PRODUCTS))
        if unknown:
            raise HarnessError(f"unknown product(s) {unknown}: the fleet runs {list(PRODUCTS)}")
        self.dir = workdir.resolve()
        self.bindir = bindir.resolve()
        self.interval, self.history, self.lookahead = interval, history, lookahead
        self.domains = list(domains)
        self.long_poll_timeout = long_poll_timeout
        names = [(f"{d}-{i}", d) for d in self.domains for i in range(1, hosts_per_domain + 1)]
        self.stekd = Stekd(self.dir, self.domains, interval, history, lookahead,
                           long_poll_timeout, hosts={n: [d] for n, d in names}, start=False,
                           build_dir=self.bindir, tls_extra=stekd_tls_extra,
                           per_host=per_host)
        self.route = route
        self.shm = Path(tempfile.mkdtemp(prefix="stek-fleet-", dir="/dev/shm"))
        self.hosts = [Host(n, d, free_port(), free_port(), self.dir / n, self.shm / n,
                           products.get(d, "nginx")) for n, d in names]

    @property
    def url(self) -> str:
        return self.stekd.url

    @property
    def stekd_port(self) -> int:
        return self.stekd.port

    @property
    def stekd_metrics_port(self) -> int:
        return self.stekd.metrics_port

    @property
    def pki(self) -> Path:
        return self.stekd.pki

    @property
    def lifetime_hint(self) -> int:
        return self.history * self.interval

    def epoch(self, t: float | None = None) -> int:
        return epoch(self.interval, t)

    def web_cert(self) -> tuple[Path, Path]:
        """The certificate every host serves to clients (not stekd's PKI: a client of the web
        servers never sees stek's CA); made once, kept with the fleet's directory."""
        cert, key = self.dir / "web.crt", self.dir / "web.key"
        if cert.exists() and key.exists():
            return cert, key
        return make_cert(self.dir, "web", days=30)

    # ------------------------------------------------------------------ lifecycle

    def start_stekd(self) -> None:
        self.stekd.start()

    def stop_stekd(self) -> None:
        self.stekd.stop()

    def _start_host(self, h: Host) -> None:
        h.dir.mkdir(parents=True, exist_ok=True)
        h.shm.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The server reads its keys at start, and the agent's sink reads the server's
        # configuration: write it now, start the server once the agent has written its keys.
        if h.product == "nginx":
            h.nginx = Nginx(h.dir, h.https_port, include=h.include, name=f"nginx {h.name}",
                            body=f"{h.name} ({h.domain})",
                            session_timeout=f"{self.lifetime_hint}s", cert=self.web_cert(),
                            start=False)
            sink = {"type": "nginx", "dir": h.shm / "keys", "include": h.include,
                    "reload": "signal", "pid_file": h.nginx.pid_file,
                    "nginx_conf": h.nginx.conf}
            written = lambda: include_keys(h.include)  # noqa: E731
        else:
            # HAProxy holds 3 keys (previous, current, next): the sink sets them live through
            # the runtime API at every boundary, no reload.
            h.haproxy = Haproxy(h.dir, h.haproxy_keys, port=h.https_port, cert=self.web_cert(),
                                global_extra=f"tune.ssl.lifetime {self.interval}",
                                start=False)
            sink = {"type": "haproxy", "path": h.haproxy_keys, "socket": h.haproxy.socket,
                    "haproxy_cfg": h.haproxy.conf, "reload": "none"}
            written = h.haproxy_keys.exists
        config = write_config(
            h.dir / "stek-agent.toml", servers=[self.url], cache_dir=h.shm / "cache",
            poll_timeout=self.long_poll_timeout,
            backoff_max=5.0,  # a demonstration reconnects fast after stekd restarts
            metrics_listen=f"{LOOPBACK}:{h.metrics_port}",
            tls={"cert": self.pki / f"host-{h.name}.crt", "key": self.pki / f"host-{h.name}.key",
                 "ca": self.pki / "ca.crt"},
            sinks=[sink] + self._route_sinks(h))
        h.agent = Agent(config, h.dir / "agent.log", metrics_port=h.metrics_port,
                        build_dir=self.bindir, name=f"stek-agent {h.name}", append=True)
        # The nginx sink writes a keyless include before its first ring: wait for the keys, or
        # the server would start on keys of its own and keep them until the next reload.
        wait_until(lambda: h.agent.check_alive() or written(), 30,
                   what=f"stek-agent of {h.name} to write its {h.product} keys")
        if h.nginx:
            h.nginx.start(timeout=20)
        else:
            h.haproxy.start()

    def _route_sinks(self, h: Host) -> list[dict]:
        if not self.route:
            return []
        return [{"type": "haproxy_route", "socket": self.route["socket"],
                 "map": str(self.route["map"]), "server": h.name}]

    def start(self) -> None:
        self.web_cert()
        self.start_stekd()
        for h in self.hosts:
            self._start_host(h)
        self.write_description(Path.cwd() / "fleet.json")

    def stop(self) -> None:
        for h in self.hosts:
            for child in (h.server, h.agent):
                if child:
                    child.stop()
        self.stop_stekd()
        shutil.rmtree(self.shm, ignore_errors=True)

    def check_alive(self) -> None:
        """Raises HarnessError when an agent or server died. stekd may be down (tests stop it):
        hosts keep rotating from their look-ahead keys."""
        for h in self.hosts:
            for child in (h.agent, h.server):
                if child:
                    child.check_alive()

    # ------------------------------------------------------------------ what it serves

    def description(self) -> dict:
        """fleet.json: stekd's URL and every host's HTTPS address and product, by domain."""
        return {"stekd": self.url,
                "domains": {d: [{"host": h.name, "https": f"{LOOPBACK}:{h.https_port}",
                                 "product": h.product}
                                for h in self.hosts if h.domain == d] for d in self.domains}}

    def write_description(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.description(), indent=2) + "\n")
        tmp.replace(path)

    def serves_its_ring(self, host: Host) -> bool:
        """True when host encrypts under the key stekd's ring for host's domain names for the
        current epoch (as of now, on this machine's clock): nginx's include lists it first;
        HAProxy (keys set live, no file to read) issues a ticket under it."""
        _, ring = self.fetch_ring(host)
        want = names_by_epoch(ring).get(self.epoch())
        if host.product == "haproxy":
            return bool(want) and tls_connect(host.https_port, self.dir / "client",
                                              "1.2").key_name == want
        keys = include_keys(host.include)
        return bool(want) and bool(keys) and keys[0] == want

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Waits until every host serves its domain's ring (the epoch's encrypting key first
        in its nginx include). start() returns once the keys exist; this is the moment a
        client can expect every host of a domain to resume the others' tickets."""
        for h in self.hosts:
            wait_until(lambda h=h: self.serves_its_ring(h), timeout,
                       what=f"{h.name} to serve its domain's ring")

    def fetch_ring(self, host: Host) -> tuple[int, dict]:
        """The ring stekd serves to `host` now (its version and the JSON ring), fetched with
        the host's own certificate, as its agent would."""
        return self.stekd.ring(f"host-{host.name}")

    def connect(self, host: Host, version: str = "1.3",
                resume: TlsResult | None = None) -> TlsResult:
        """One HTTPS request to host's server with `openssl s_client`, saving the session."""
        return tls_connect(host.https_port, self.dir / "client", version,
                           resume=resume.session_file if resume else None,
                           tag=f"{host.name}-{time.monotonic_ns()}")

    def sweep_client_sessions(self, keep: set[Path]) -> None:
        for p in (self.dir / "client").glob("*.pem"):
            if p not in keep:
                p.unlink(missing_ok=True)
