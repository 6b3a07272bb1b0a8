#!/usr/bin/env python3
"""stek's local fleet: one stekd, two domains, two hosts per domain, each host a stek-agent
feeding its own real server, all on 127.0.0.1: a mixed fleet, the hosts of eu-west run nginx
(key files and a reload), those of us-east HAProxy (keys set live through its runtime API);
one product per domain, since products do not resume each other's tickets. Shows rotations,
the epoch each agent holds, and an OpenSSL client resuming across rotations and across the
hosts of one domain but never across domains.

    scripts/fleet.py [--interval 10] [--duration SECONDS] [--dir stek-fleet]
                     [--products nginx,haproxy]

Writes fleet.json into the current directory (stekd's URL; per domain, each host's name,
HTTPS address and product); keeps stekd's state, the development PKI,
configs and logs under --dir (persistent: a second run reuses the same secrets), and every
file holding key bytes (agent caches, nginx key files) under a fresh directory in /dev/shm,
removed when the fleet stops. It reports ready once every host serves its domain's ring.
Stops cleanly on Ctrl-C, SIGTERM or at the end of --duration; a round cut short by the stop
is not counted. Exit status: 0 when every check passed, 1 when a resumption went the wrong
way, 2 on a setup error.

This file is the command line only: the fleet and its parts (stekd, stek-agent and nginx
launchers, the PKI, the resumption check) are the test suite's harness,
tests/integration/stektest/, which the integration tests drive too.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SOURCE_DIR / "tests" / "integration"))
sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree

from stektest.fleet import Fleet  # noqa: E402
from stektest.proc import LOOPBACK, HarnessError  # noqa: E402
from stektest.ring import names_by_epoch  # noqa: E402
from stektest.tls import TlsResult  # noqa: E402

FleetError = HarnessError  # the name this module used to raise; kept for its importers
DOMAINS = ("eu-west", "us-east")


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

    def add(self, other: Tally) -> None:
        self.expected_yes += other.expected_yes
        self.failed_yes += other.failed_yes
        self.expected_no += other.expected_no
        self.failed_no += other.failed_no

    @property
    def ok(self) -> bool:
        return not self.failed_yes and not self.failed_no


def short(name: str) -> str:
    return name[:8] if name else "(none)"


class Stopped(Exception):
    """The fleet is stopping: the round in progress is abandoned, and its checks not counted."""


# Epochs after its own that a product still opens a ticket: HAProxy holds one previous key
# (docs/stek-agent.md); nginx every key of stek's history. HAProxy's tickets also live only
# tune.ssl.lifetime, which the fleet sets to I, the longest HAProxy can honour: the last
# round's ticket (about I old) is then mostly past it, and not tried.
PREVIOUS_KEYS = {"haproxy": 1}


def past_session_lifetime(product: str, lifetime: float, issued_before: float,
                          now: float) -> bool:
    """Whether a ticket whose handshake started at issued_before may be past the product's
    session lifetime at `now`. Only HAProxy's is shorter than stek's history (tune.ssl.lifetime).
    The server's session time is no earlier than issued_before, and OpenSSL refuses a session
    for its age only once more than `lifetime` seconds have passed, so whenever HAProxy refuses
    a ticket for its age, this is true."""
    return product == "haproxy" and now - issued_before > lifetime


def demo_round(fleet: Fleet, tally: Tally, previous: dict[str, tuple[TlsResult, int, float]],
               say, stopping, clock=time.time) -> dict[str, tuple[TlsResult, int, float]]:
    """For each domain: a fresh ticket from its first host, resumed on every host of the fleet
    (yes within the domain, no elsewhere), and the ticket from the previous round resumed on
    the domain's last host (yes: it was issued under an older key). On HAProxy that ticket is
    not tried once it may be past tune.ssl.lifetime or older than HAProxy's one previous key,
    and a refusal is not counted when it became so during the check. Raises Stopped as soon
    as stopping() is true: a check cut short by the stop is not a failure. `clock` is the
    wall clock (injected by the tests of this logic)."""
    fresh: dict[str, tuple[TlsResult, int, float]] = {}
    round_tally = Tally()
    for domain in fleet.domains:
        mine = [h for h in fleet.hosts if h.domain == domain]
        first = mine[0]
        issued = fleet.epoch()
        issued_before = clock()
        ticket = fleet.connect(first)
        fresh[domain] = (ticket, issued, issued_before)
        say(f"  {domain}: new ticket from {first.name}, key {short(ticket.key_name)}")
        for h in fleet.hosts:
            if h is first:
                continue
            expect = h.domain == domain
            result = fleet.connect(h, resume=ticket)
            if stopping():
                raise Stopped
            say(f"    resumed on {h.name:<12} -> "
                + round_tally.check(f"{domain} ticket on {h.name}", result.reused, expect))
        if domain in previous:
            old, old_epoch, old_at = previous[domain]
            if past_session_lifetime(first.product, fleet.interval, old_at, clock()):
                say(f"    previous round's ticket (key {short(old.key_name)}) is up to "
                    f"{clock() - old_at:.1f} s old, past HAProxy's tune.ssl.lifetime of "
                    f"{fleet.interval} s: not tried")
                continue
            # The epoch of the key that encrypted it (a loaded host may rotate late), by name.
            _, ring = fleet.fetch_ring(first)
            by_name = {name: e for e, name in names_by_epoch(ring).items()}
            old_epoch = by_name.get(old.key_name, old_epoch)
            holds = PREVIOUS_KEYS.get(first.product, fleet.history)
            age = fleet.epoch() - old_epoch
            if age > holds:
                say(f"    previous round's ticket (key {short(old.key_name)}) is {age} epochs "
                    f"old: {first.product} no longer holds its key, not tried")
                continue
            result = fleet.connect(mine[-1], resume=old)
            if stopping():
                raise Stopped
            if not result.reused:
                age = fleet.epoch() - old_epoch
                if age > holds:
                    say(f"    previous round's ticket (key {short(old.key_name)}) became {age} "
                        f"epochs old during the check: {first.product} no longer holds its "
                        f"key, not counted")
                    continue
                if past_session_lifetime(first.product, fleet.interval, old_at, clock()):
                    say(f"    previous round's ticket (key {short(old.key_name)}) became up to "
                        f"{clock() - old_at:.1f} s old during the check, past HAProxy's "
                        f"tune.ssl.lifetime of {fleet.interval} s: not counted")
                    continue
            say(f"    last rotation's ticket (key {short(old.key_name)}) on {mine[-1].name:<12} -> "
                + round_tally.check(f"previous {domain} ticket on {mine[-1].name}",
                                    result.reused, True))
    tally.add(round_tally)
    fleet.sweep_client_sessions({t.session_file for t, _, _ in fresh.values()})
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
                    "stek-agent and a real server on 127.0.0.1 (eu-west nginx, us-east "
                    "HAProxy by default).")
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
    ap.add_argument("--products", default="nginx,haproxy",
                    help="the product of each domain's hosts, in the order eu-west,us-east: "
                         "nginx or haproxy (default: nginx,haproxy)")
    args = ap.parse_args(argv)
    products = [p.strip() for p in args.products.split(",")]
    if len(products) != len(DOMAINS):
        ap.error(f"--products names {len(products)} product(s) for {len(DOMAINS)} domains")

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
                      lookahead=args.lookahead, domains=DOMAINS,
                      products=dict(zip(DOMAINS, products)))
    except HarnessError as e:
        print(f"fleet: {e}", file=sys.stderr)
        return 2
    tally = Tally()
    try:
        say(f"starting stekd on {fleet.url} (I={fleet.interval}s, H={fleet.history}, "
            f"L={fleet.lookahead}; lifetime hint {fleet.lifetime_hint}s), state in {fleet.dir}")
        fleet.start()
        for d in fleet.domains:
            say(f"domain {d}: " + ", ".join(f"{h.name} ({h.product}) "
                                             f"https://{LOOPBACK}:{h.https_port}"
                                             for h in fleet.hosts if h.domain == d))
        fleet.wait_ready()
        say("every host serves its domain's ring")
        say(f"wrote {Path.cwd() / 'fleet.json'}; key files live in {fleet.shm} (tmpfs)")
        say("Ctrl-C stops the fleet" + (f"; stopping after {args.duration:.0f}s"
                                         if args.duration else ""))
        previous: dict[str, tuple[TlsResult, int, float]] = {}
        last_epoch = None
        def stopping() -> bool:
            return bool(stop_requested) or (
                args.duration is not None and time.monotonic() - start >= args.duration)

        while not stopping():
            fleet.check_alive()
            e = fleet.epoch()
            # A round a second after each boundary, when agents have rotated and nginx reloaded.
            if e != last_epoch and time.time() - e * fleet.interval >= 1.0:
                say(f"epoch {e}: agents: {agents_line(fleet)}")
                try:
                    previous = demo_round(fleet, tally, previous, say, stopping)
                except Stopped:
                    say("  (round cut short by the stop: not counted)")
                    break
                last_epoch = e
            time.sleep(0.2)
    except HarnessError as e:
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
