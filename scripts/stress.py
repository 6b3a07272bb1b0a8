#!/usr/bin/env python3
"""Stress harness for in-domain resumption: the local fleet (scripts/fleet.py's stekd, two
domains of two hosts, stek-agent + real nginx each) with a short interval, under CPU and I/O
load from stress-ng, and a client resuming tickets across the hosts of each domain as fast as
it can. Every in-domain resumption that fails is written with the timeline around it.

    scripts/stress.sh [--resumptions 10000] [--interval 3] [--load "--cpu 2 --io 2 --hdd 1"]

(scripts/stress.sh installs stress-ng, builds the release programs and runs this file.)

One trial: a fresh ticket from one host of a domain, presented at once to the other host of
the same domain (TLS 1.3 and 1.2 alternately, directions alternating), then one older ticket
of the same domain kept from an earlier trial, presented to a host of its domain: alternately
the oldest one still inside its judged life and one of random age, so every age from zero to
the end of the judged life is tried, across every boundary in between. A ticket's judged life
is the lifetime hint (H x I, also nginx's ssl_session_timeout here) minus one interval, the
margin docs/design.md asks for (a ticket in its last seconds may be refused by a host whose
reload or clock is late; the model in tests/model bounds that). Trials run back to back, so
many land within a fraction of a second of an epoch boundary, where the hosts' agents rotate
and their nginx reload.

For each failure the JSON line written to --out has: when (seconds into the epoch, wall
time), the ticket's key name, which keys each host of the domain served at that moment
(its nginx include, in nginx's order: encrypting key first), each agent's epoch and ring
version (its /metrics), nginx's worker pids, and the last lines of both agents' logs. A
summary line ends the file. Exit status: 0 when no in-domain resumption failed, 1 when one
did, 2 on a setup error.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SOURCE_DIR / "tests" / "integration"))
sys.dont_write_bytecode = True

from stektest.fleet import Fleet, Host  # noqa: E402
from stektest.nginx import include_keys  # noqa: E402
from stektest.proc import HarnessError  # noqa: E402
from stektest.tls import TlsResult  # noqa: E402


def host_state(h: Host) -> dict:
    state: dict = {"host": h.name, "include": include_keys(h.include)}
    try:
        m = h.metrics()
        state["agent_epoch"] = int(m.get("stek_agent_current_epoch", -1))
        state["ring_version"] = int(m.get("stek_agent_ring_version", -1))
        state["reloads"] = int(m.get("stek_agent_sink_reloads_total", -1))
    except OSError as e:
        state["metrics_error"] = str(e)
    state["nginx_workers"] = sorted(h.nginx._workers()) if h.nginx else []
    return state


def log_tail(path: Path, lines: int = 8) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def report(out, start: float, fleet: Fleet, domain: str, issuer: Host, refuser: Host,
           version: str, ticket: TlsResult, issued: float) -> None:
    """Writes one refused in-domain ticket with the timeline around it, and says so."""
    into = issued % fleet.interval
    record = {
        "failure": f"{domain} ticket refused by {refuser.name}",
        "tls": version, "ticket_key": ticket.key_name,
        "issued_at": issued, "seconds_into_epoch": round(into, 3),
        "epoch": fleet.epoch(issued), "presented_after": round(time.time() - issued, 3),
        "issuer": issuer.name, "refuser": host_state(refuser),
        "refuser_log": log_tail(refuser.dir / "agent.log"),
    }
    if issuer is not refuser:
        record["issuer_state"] = host_state(issuer)
        record["issuer_log"] = log_tail(issuer.dir / "agent.log")
    out.write(json.dumps(record) + "\n")
    out.flush()
    print(f"[{time.monotonic() - start:7.1f}s] FAILED: {record['failure']} "
          f"(key {ticket.key_name[:8]}, {into:.2f}s into epoch {record['epoch']}, presented "
          f"after {record['presented_after']} s; {refuser.name} served "
          f"{[k[:8] for k in record['refuser']['include']]})", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="In-domain resumption under load, with a "
                                             "timeline of every failure.")
    ap.add_argument("--resumptions", type=int, default=10000,
                    help="in-domain resumptions to try (default: 10000)")
    ap.add_argument("--interval", type=int, default=3, help="seconds per epoch (default: 3)")
    ap.add_argument("--history", type=int, default=3, help="H (default: 3)")
    ap.add_argument("--load", default="--cpu 2 --io 2 --hdd 1",
                    help="stress-ng arguments, or 'none' (default: '--cpu 2 --io 2 --hdd 1')")
    ap.add_argument("--dir", type=Path, default=Path("stek-stress"),
                    help="fleet directory (default: ./stek-stress)")
    ap.add_argument("--out", type=Path, default=Path("stress.jsonl"),
                    help="failures and the summary, JSON lines (default: ./stress.jsonl)")
    ap.add_argument("--build-dir", type=Path, default=SOURCE_DIR / "build",
                    help="where stek's programs were built (default: build/)")
    args = ap.parse_args(argv)

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    load = None
    if args.load != "none":
        if not shutil.which("stress-ng"):
            print("stress: stress-ng is not installed (scripts/stress.sh installs it)",
                  file=sys.stderr)
            return 2
        load = subprocess.Popen(["stress-ng", *shlex.split(args.load), "--temp-path",
                                 str(args.dir.resolve())],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    args.dir.mkdir(parents=True, exist_ok=True)
    try:
        fleet = Fleet(args.dir, args.build_dir, interval=args.interval, history=args.history)
        fleet.start()
    except HarnessError as e:
        print(f"stress: {e}", file=sys.stderr)
        if load:
            load.terminate()
        return 2

    start = time.monotonic()
    tried = failed = near_boundary = errors = 0
    aged_tried = aged_failed = 0
    judged_life = fleet.lifetime_hint - fleet.interval
    # (domain, tls, ticket, issued at, issuer)
    held: list[tuple[str, str, TlsResult, float, Host]] = []
    rng = random.Random(1)
    by_domain = {d: [h for h in fleet.hosts if h.domain == d] for d in fleet.domains}
    with args.out.open("w") as out:
        try:
            while tried < args.resumptions and not stop:
                fleet.check_alive()
                domain = fleet.domains[tried % len(fleet.domains)]
                a, b = by_domain[domain][:2]
                if (tried // len(fleet.domains)) % 2:
                    a, b = b, a
                version = "1.3" if (tried // 4) % 2 == 0 else "1.2"
                try:
                    ticket = fleet.connect(a, version=version)
                    issued = time.time()
                    result = fleet.connect(b, version=version, resume=ticket)
                except HarnessError as e:
                    errors += 1  # a connection that failed is not a refused ticket: counted apart
                    out.write(json.dumps({"error": str(e)[-400:], "at": time.time()}) + "\n")
                    if errors > 100:
                        raise HarnessError("more than 100 connections failed; see " + str(args.out))
                    continue
                tried += 1
                into = issued % fleet.interval
                if into < 0.5 or into > fleet.interval - 0.5:
                    near_boundary += 1
                if not result.reused:
                    failed += 1
                    report(out, start, fleet, domain, a, b, version, ticket, issued)
                held.append((domain, version, ticket, issued, a))

                # An older ticket of this domain, to a host of its domain.
                now = time.time()
                held = [h for h in held if now - h[3] < judged_life]
                mine = [h for h in held if h[0] == domain and now - h[3] > fleet.interval / 2]
                if mine:
                    old = mine[0] if tried % 2 else rng.choice(mine)
                    target = by_domain[domain][rng.randrange(len(by_domain[domain]))]
                    try:
                        aged = fleet.connect(target, version=old[1], resume=old[2])
                    except HarnessError as e:
                        errors += 1
                        out.write(json.dumps({"error": str(e)[-400:], "at": time.time()}) + "\n")
                        continue
                    if time.time() - old[3] < judged_life:  # still inside when it was answered
                        aged_tried += 1
                        if not aged.reused:
                            aged_failed += 1
                            report(out, start, fleet, domain, old[4], target, old[1], old[2],
                                   old[3])
                if tried % 500 == 0:
                    print(f"[{time.monotonic() - start:7.1f}s] {tried} fresh resumptions, "
                          f"{failed} failed; {aged_tried} aged, {aged_failed} failed",
                          flush=True)
                if tried % 50 == 0:
                    fleet.sweep_client_sessions({h[2].session_file for h in held})
        except HarnessError as e:
            print(f"stress: {e}", file=sys.stderr)
            errors += 1
        finally:
            fleet.stop()
            if load:
                load.terminate()
                load.wait(timeout=30)
        summary = {"summary": True, "resumptions": tried + aged_tried,
                   "failed": failed + aged_failed, "fresh_resumptions": tried,
                   "fresh_failed": failed, "aged_resumptions": aged_tried,
                   "aged_failed": aged_failed, "judged_life_s": judged_life,
                   "within_half_a_second_of_a_boundary": near_boundary,
                   "connection_errors": errors, "seconds": round(time.monotonic() - start, 1),
                   "interval": args.interval, "load": args.load}
        out.write(json.dumps(summary) + "\n")
    print(json.dumps(summary))
    return 1 if failed or aged_failed else 0


if __name__ == "__main__":
    sys.exit(main())
