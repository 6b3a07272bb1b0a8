"""A real etcd cluster on 127.0.0.1 (Debian's etcd-server, /usr/bin/etcd) for the stekd-on-etcd
tests: N members with TLS and client certificates on the client port (what stekd requires),
plain HTTP between members on the peer port, every port free a moment ago, data in a temporary
directory; and stekd replicas configured for it (store.backend = "etcd")."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import urllib.request
from pathlib import Path

from .pki import make_cert, make_pki
from .proc import LOOPBACK, HarnessError, Process, free_port, run, wait_until
from .stekd import Stekd

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


def have_etcd() -> bool:
    return os.access(ETCD, os.X_OK)


class EtcdCluster:
    """`size` members named e0..e(N-1); start() launches every member, kill(i)/restart(i) one."""

    def __init__(self, directory: Path, size: int = 3):
        self.dir = directory.resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        tls = self.dir / "tls"
        tls.mkdir(exist_ok=True)
        self.ca = tls / "ca.crt"
        ca_key = tls / "ca.key"
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", ca_key, "-out", self.ca, "-days", "2", "-subj", "/CN=etcd-ca"])
        self.server_cert, self.server_key = make_cert(tls, "etcd-server", ca=(self.ca, ca_key))
        self.client_cert, self.client_key = make_cert(tls, "stekd-client", ca=(self.ca, ca_key),
                                                      san="DNS:stekd")
        self.names = [f"e{i}" for i in range(size)]
        self.client_ports = [free_port() for _ in self.names]
        self.peer_ports = [free_port() for _ in self.names]
        self.procs: list[Process | None] = [None] * size

    @property
    def endpoints(self) -> list[str]:
        return [f"https://{LOOPBACK}:{p}" for p in self.client_ports]

    def _args(self, i: int) -> list:
        cluster = ",".join(f"{n}=http://{LOOPBACK}:{p}" for n, p in zip(self.names,
                                                                        self.peer_ports))
        return [ETCD, "--name", self.names[i], "--data-dir", self.dir / self.names[i],
                "--listen-client-urls", self.endpoints[i],
                "--advertise-client-urls", self.endpoints[i],
                "--listen-peer-urls", f"http://{LOOPBACK}:{self.peer_ports[i]}",
                "--initial-advertise-peer-urls", f"http://{LOOPBACK}:{self.peer_ports[i]}",
                "--initial-cluster", cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", f"stek-{self.dir.name}",
                "--cert-file", self.server_cert, "--key-file", self.server_key,
                "--trusted-ca-file", self.ca, "--client-cert-auth",
                # Quick elections on a loaded 2-core machine, and erased values compacted away.
                "--heartbeat-interval", "100", "--election-timeout", "1000",
                "--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000",
                "--logger", "zap", "--log-level", "warn"]

    def start(self, i: int | None = None, timeout: float = 30) -> None:
        for k in ([i] if i is not None else range(len(self.names))):
            self.procs[k] = Process(self._args(k), self.dir / f"{self.names[k]}.log",
                                    name=f"etcd-{self.names[k]}", append=True)
        wait_until(self.has_quorum, timeout, interval=0.2, what="etcd quorum")

    def kill(self, i: int) -> None:
        """SIGKILL, as a crash."""
        proc = self.procs[i]
        if proc is not None:
            proc.stop(timeout=5, sig=9)
            self.procs[i] = None

    def stop(self) -> None:
        for i in range(len(self.names)):
            if self.procs[i] is not None:
                self.procs[i].stop(timeout=10)
                self.procs[i] = None

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        ctx.load_cert_chain(str(self.client_cert), str(self.client_key))
        return ctx

    def call(self, i: int, path: str, body: dict, timeout: float = 3) -> dict:
        req = urllib.request.Request(self.endpoints[i] + path, json.dumps(body).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=timeout, context=self._context()) as res:
            return json.loads(res.read())

    def has_quorum(self) -> bool:
        """A linearizable read answered by some running member."""
        for i, proc in enumerate(self.procs):
            if proc is None:
                continue
            try:
                self.call(i, "/v3/kv/range", {"key": "AA=="}, timeout=2)
                return True
            except OSError:
                continue
        return False

    def range_prefix(self, prefix: str) -> list[dict]:
        import base64
        key = base64.b64encode(prefix.encode()).decode()
        end = base64.b64encode(prefix[:-1].encode() + bytes([ord(prefix[-1]) + 1])).decode()
        for i, proc in enumerate(self.procs):
            if proc is None:
                continue
            try:
                out = self.call(i, "/v3/kv/range", {"key": key, "range_end": end})
            except OSError:
                continue
            return [{"key": base64.b64decode(kv["key"]).decode(),
                     "value": base64.b64decode(kv.get("value", "")).decode(errors="replace"),
                     "lease": kv.get("lease", "0")} for kv in out.get("kvs", [])]
        raise HarnessError("no etcd member answered")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class EtcdStekd(Stekd):
    """One stekd replica on `cluster` under `prefix`; replicas made with the same `pki` share
    their KEK, CA and certificates, as the replicas of one fleet do."""

    def __init__(self, directory: Path, cluster: EtcdCluster, pki: Path, prefix: str = "/stek",
                 lease_ttl: int = 2, poll_ms: int = 200, **kw):
        directory = directory.resolve()
        directory.mkdir(parents=True, exist_ok=True)
        if not (directory / "pki").exists():
            (directory / "pki").symlink_to(pki.resolve(), target_is_directory=True)
        super().__init__(directory, start=False, **kw)
        store = (f'kek_file = "pki/kek"\nbackend = "etcd"\n'
                 f'endpoints = {json.dumps(cluster.endpoints)}\nprefix = "{prefix}"\n'
                 f'etcd_ca = "{cluster.ca}"\netcd_cert = "{cluster.client_cert}"\n'
                 f'etcd_key = "{cluster.client_key}"\nlease_ttl = {lease_ttl}\n'
                 f'poll_interval_ms = {poll_ms}\ntimeout_ms = 1000\n')
        text = self.config.read_text().replace('kek_file = "pki/kek"\n', store)
        self.config.write_text(text)

    def start(self, wait: bool = True, init: bool | None = True, prefix=()) -> Process:
        # --init lets a replica start on an empty prefix; on a stored state it changes nothing.
        return super().start(wait=wait, init=init, prefix=prefix)

    def health(self) -> tuple[int, str]:
        from . import metrics
        return metrics.get(self.metrics_port, "/healthz", timeout=5)


def role(replica: EtcdStekd) -> str:
    """The replica's /healthz text (its etcd role); "" while it does not answer."""
    try:
        return replica.health()[1]
    except OSError:
        return ""


def status(replica: EtcdStekd) -> int:
    """/healthz's status; 0 while the metrics port is not listening yet (just started)."""
    try:
        return replica.healthz()
    except OSError:
        return 0


def leader_of(replicas):
    """The one running replica that says it leads; None while none or several do."""
    leaders = [r for r in replicas if r.proc and r.proc.alive() and "(etcd leader)" in role(r)]
    return leaders[0] if len(leaders) == 1 else None


@contextlib.contextmanager
def replica_fleet(base: Path, bound: float, count: int = 3, **options):
    """A 3-member etcd cluster and `count` stekd replicas on it (EtcdStekd `options`), started
    and waited for (one leader, every replica healthy, within `bound` s); stops them all."""
    pki = make_pki(base / "pki")
    with EtcdCluster(base / "cluster") as cluster:
        cluster.start()
        replicas = [EtcdStekd(base / f"r{i}", cluster, pki, **options) for i in range(count)]
        try:
            for r in replicas:
                r.start()
            wait_until(lambda: leader_of(replicas) and all(status(r) == 200 for r in replicas),
                       bound, what="one leader and every replica healthy")
            yield cluster, replicas
        finally:
            for r in replicas:
                r.stop()


def main() -> None:
    """`python3 -m stektest.etcd DIR`: a local 3-member cluster in DIR for trying stekd on etcd
    (docs/etcd.md, "Quick start"); prints the [store] lines for stekd.toml; Ctrl-C stops it."""
    import sys
    import time
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "stek-etcd")
    with EtcdCluster(directory) as cluster:
        cluster.start()
        print(f'[store]\nbackend = "etcd"\nendpoints = {json.dumps(cluster.endpoints)}\n'
              f'prefix = "/stek"\netcd_ca = "{cluster.ca}"\netcd_cert = "{cluster.client_cert}"\n'
              f'etcd_key = "{cluster.client_key}"\n', flush=True)
        print("etcd is running (logs in the directory); Ctrl-C stops it", flush=True)
        try:
            while all(p is not None and p.alive() for p in cluster.procs):
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
