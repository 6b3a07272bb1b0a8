#!/usr/bin/env python3
"""Stress harness for in-domain resumption: the local fleet (scripts/fleet.py's stekd, two
domains of two hosts, stek-agent + real nginx each) with a short interval, under CPU and I/O
load from stress-ng, and a client resuming tickets across the hosts of each domain as fast as
it can. Every in-domain resumption that fails is written with the timeline around it.

    scripts/stress.sh [--resumptions 10000] [--interval 3] [--load "--cpu 2 --io 2 --hdd 1"]

(scripts/stress.sh installs stress-ng, builds the release programs and runs this file.)

One trial: a fresh ticket from one host of a domain, presented at once to the other host of
the same domain (TLS 1.3 and 1.2 alternately, directions alternating). Trials run
back to back, so many land within a fraction of a second of an epoch boundary, where the
hosts' agents rotate and their nginx reload.

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
                    record = {
                        "failure": f"{domain} ticket from {a.name} refused by {b.name}",
                        "tls": version, "ticket_key": ticket.key_name,
                        "issued_at": issued, "seconds_into_epoch": round(into, 3),
                        "epoch": fleet.epoch(issued), "presented_after": round(
                            time.time() - issued, 3),
                        "issuer": host_state(a), "refuser": host_state(b),
                        "issuer_log": log_tail(a.dir / "agent.log"),
                        "refuser_log": log_tail(b.dir / "agent.log"),
                    }
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                    print(f"[{time.monotonic() - start:7.1f}s] FAILED: {record['failure']} "
                          f"(key {ticket.key_name[:8]}, {into:.2f}s into epoch "
                          f"{record['epoch']}; {b.name} served "
                          f"{[k[:8] for k in record['refuser']['include']]})", flush=True)
                if tried % 500 == 0:
                    print(f"[{time.monotonic() - start:7.1f}s] {tried} resumptions, "
                          f"{failed} failed", flush=True)
                if tried % 50 == 0:
                    fleet.sweep_client_sessions(set())
        except HarnessError as e:
            print(f"stress: {e}", file=sys.stderr)
            errors += 1
        finally:
            fleet.stop()
            if load:
                load.terminate()
                load.wait(timeout=30)
        summary = {"summary": True, "resumptions": tried, "failed": failed,
                   "within_half_a_second_of_a_boundary": near_boundary,
                   "connection_errors": errors, "seconds": round(time.monotonic() - start, 1),
                   "interval": args.interval, "load": args.load}
        out.write(json.dumps(summary) + "\n")
    print(json.dumps(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
