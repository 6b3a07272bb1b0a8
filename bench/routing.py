#!/usr/bin/env python3
"""Resumption behind one HAProxy, side by side: a shared domain key, per-host keys without
routing, per-host keys with stek's ticket-aware routing (contrib/haproxy/stek_route.lua),
STEK-less servers with and without routing, and the cost of routing per connection. Real
stekd, N hosts (stek-agent + nginx each), N libstek example servers in STEK-less mode (each
with its server prefix, one static map entry each) and one HAProxy in `mode tcp` on
127.0.0.1, through the test harness (tests/integration/stektest).

A population of clients (Python's ssl module: OpenSSL underneath, no process per connection)
each makes one full handshake and then reconnects R times offering its session. Reported per
setup and TLS version: the share of reconnections that resumed, and the share of all sessions
that one host's leaked keys would open (its sessions over all, or all of them for a shared key;
STEK-less servers have no key: what one compromised server's session cache holds).

Usage (after scripts/build.sh asan or release):
  python3 bench/routing.py --build-dir build-asan --hosts 4 --clients 50 --reconnects 5
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from stektest import LOOPBACK, wait_until  # noqa: E402
from stektest.fleet import Fleet  # noqa: E402
from stektest.lb import RoutingHaproxy  # noqa: E402
import libstek_server  # noqa: E402

DOMAIN = "edge"
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def context(version: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    v = ssl.TLSVersion.TLSv1_2 if version == "1.2" else ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = ctx.maximum_version = v
    return ctx


def connect(ctx: ssl.SSLContext, port: int, session=None):
    """One request; returns (resumed, host that answered, session to offer next, seconds)."""
    t0 = time.perf_counter()
    with socket.create_connection((LOOPBACK, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
            s.sendall(REQUEST)
            body = b""
            while chunk := s.recv(65536):
                body += chunk
            elapsed = time.perf_counter() - t0
            host = next((w for w in body.decode(errors="replace").split()
                         if w.startswith(DOMAIN + "-")), "?")
            return s.session_reused, host, s.session, elapsed


def population(port: int, version: str, clients: int, reconnects: int,
               hosts_now=None) -> dict:
    """hosts_now: sessions held per host so far (a callable), for servers whose answer does
    not name them: the issuers are then the difference over the run."""
    before = hosts_now() if hosts_now else None
    ctx = context(version)
    resumed = total = 0
    issuers: dict[str, int] = {}
    for _ in range(clients):
        _, host, session, _ = connect(ctx, port)
        issuers[host] = issuers.get(host, 0) + 1
        for _ in range(reconnects):
            # Offer the first session every time: the client keeps the ticket it was given.
            reused, host, _, _ = connect(ctx, port, session)
            # Every connection leaves a session (a new one, or the resumed one) on the host
            # that answered: what that host's keys open.
            issuers[host] = issuers.get(host, 0) + 1
            resumed += reused
            total += 1
    if hosts_now:
        after = hosts_now()
        issuers = {h: after[h] - before[h] for h in after}
    return {"rate": resumed / total, "issuers": issuers}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cost(lb: RoutingHaproxy, ports: dict[str, int], connections: int) -> dict:
    """Per port: median seconds per full TLS 1.3 handshake + request, and HAProxy CPU
    microseconds per connection. Blocks of each port alternate (after a warm-up) so that load
    from other work on the machine falls on both alike."""
    ctx = context("1.3")
    for port in ports.values():
        for _ in range(10):
            connect(ctx, port)
    times = {p: [] for p in ports}
    cpu = {p: 0.0 for p in ports}
    block = max(1, connections // 4)
    for _ in range(4):
        for p, port in ports.items():
            before = cpu_seconds(lb.proc.pid)
            times[p] += [connect(ctx, port)[3] for _ in range(block)]
            cpu[p] += cpu_seconds(lb.proc.pid) - before
    return {p: (statistics.median(times[p]), cpu[p] / len(times[p]) * 1e6) for p in ports}


def run_setup(args, per_host: bool, work: Path) -> dict:
    fleet = Fleet(work / "fleet", args.build_dir, interval=args.interval, history=3,
                  lookahead=2, long_poll_timeout=10, domains=(DOMAIN,),
                  hosts_per_domain=args.hosts, per_host=(DOMAIN,) if per_host else ())
    lb = RoutingHaproxy(work / "lb", {h.name: h.https_port for h in fleet.hosts})
    if per_host:
        fleet.route = lb.route  # a shared key has no host to route to: no map
    cwd = os.getcwd()
    os.chdir(work)
    try:
        fleet.start()
        names = {h.name for h in fleet.hosts}
        wait_until(lambda: lb.servers_up() == names, 30, what="every nginx up in HAProxy")
        if per_host:
            wait_until(lambda: set(lb.routes().values()) == names, 30, what="the routing map")
        out = {}
        for version in ("1.2", "1.3"):
            out[("plain", version)] = population(lb.plain_port, version, args.clients,
                                                 args.reconnects)
            out[("routed", version)] = population(lb.routed_port, version, args.clients,
                                                  args.reconnects)
        out["cost"] = cost(lb, {"plain": lb.plain_port, "routed": lb.routed_port},
                           args.cost_connections)
        return out
    finally:
        os.chdir(cwd)
        lb.stop()
        fleet.stop()


STATELESS = "stateless"


def run_stateless(args, work: Path) -> dict:
    """N example servers in STEK-less mode, each with its own server prefix, behind the same
    kind of HAProxy; the map holds one static entry per server (docs/routing.md)."""
    libstek_server.BUILD_DIR = args.build_dir
    servers, lb = {}, None
    try:
        for i in range(1, args.hosts + 1):
            name = f"{STATELESS}-{i}"
            prefix = f"5e1f{i:028x}"
            servers[name] = (prefix, libstek_server.ExampleServer(
                work / name, tickets="stateless", extra=["--server-prefix", prefix]))
        lb = RoutingHaproxy(work / "lb", {n: s.port for n, (_, s) in servers.items()},
                            routes={p: n for n, (p, _) in servers.items()})
        wait_until(lambda: lb.servers_up() == set(servers), 30, what="every server up")

        def sessions_made() -> dict[str, int]:
            # Every handshake leaves a session (new or resumed) on the server that made it.
            return {n: s.status()["handshakes"] for n, (_, s) in servers.items()}

        out = {}
        for version in ("1.2", "1.3"):
            for port_name, port in (("plain", lb.plain_port), ("routed", lb.routed_port)):
                out[(port_name, version)] = population(port, version, args.clients,
                                                       args.reconnects, sessions_made)
        return out
    finally:
        if lb is not None:
            lb.stop()
        for _, s in servers.values():
            s.stop()


def leaked_share(result: dict, per_host: bool) -> float:
    if not per_host:
        return 1.0
    issuers = result["issuers"]  # sessions held per host; the worst host leaks its share
    return max(issuers.values()) / sum(issuers.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", type=Path, default=ROOT / "build-asan")
    ap.add_argument("--hosts", type=int, default=4)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--reconnects", type=int, default=5)
    ap.add_argument("--cost-connections", type=int, default=200)
    ap.add_argument("--interval", type=int, default=60,
                    help="epoch seconds (long enough that no rotation falls in a run)")
    args = ap.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    with tempfile.TemporaryDirectory(prefix="stek-bench-routing-") as tmp:
        shared = run_setup(args, False, Path(tmp) / "shared")
        per_host = run_setup(args, True, Path(tmp) / "per-host")
        stateless = run_stateless(args, Path(tmp) / STATELESS)
    n = args.hosts
    print(f"{n} hosts, {args.clients} clients x {args.reconnects} reconnections per setup "
          "and TLS version\n")
    print("| setup | TLS | resumed | sessions one leaked host key opens "
          "(STEK-less: one server's cache) |")
    print("|---|---|---|---|")
    rows = [("shared domain key, round robin", shared, "plain", False),
            ("per-host keys, round robin", per_host, "plain", True),
            ("per-host keys, routed (stek_route.lua)", per_host, "routed", True),
            ("STEK-less (libstek), round robin", stateless, "plain", True),
            ("STEK-less (libstek), routed by server prefix", stateless, "routed", True)]
    for label, res, port, ph in rows:
        for v in ("1.2", "1.3"):
            r = res[(port, v)]
            print(f"| {label} | {v} | {100 * r['rate']:.1f} % | "
                  f"{100 * leaked_share(r, ph):.0f} % |")
    print("\n| port | median full handshake + request | HAProxy CPU per connection |")
    print("|---|---|---|")
    for label, res in (("shared key", shared), ("per-host", per_host)):
        for p in ("plain", "routed"):
            median, cpu = res["cost"][p]
            print(f"| {label}, {p} | {median * 1e3:.2f} ms | {cpu:.0f} µs |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
