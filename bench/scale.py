#!/usr/bin/env python3
"""stekd scale benchmark (issue 12 item 5): N simulated agents, each a mutual-TLS connection
holding a long poll, spread over one stekd (file store) or R stekd replicas on a local 3-member
etcd cluster; then one `stekctl rotate-domain-secret` on the first replica. Reports the time
from starting stekctl to the last agent holding the new ring, and stekd's memory per idle
agent connection (RSS with every agent waiting, minus RSS before any connected).

    python3 bench/scale.py --agents 10000                  # one stekd, file store
    python3 bench/scale.py --agents 10000 --replicas 3     # three replicas on etcd
    python3 bench/scale.py --agents 10000 --perf-record fanout.perf   # profile the fan-out

Run it after `bash scripts/build.sh release stekd stekctl fanout_client` (build/). The
agents come from bench/fanout_client (one asio event loop per process, up to --per-client
agents each: one process may hold at most `ulimit -n` descriptors, 20,000 on the project's
machine, so larger N uses several processes). Not part of the test suite.
"""

import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from stektest.proc import rss_kib  # noqa: E402


def raise_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, want), hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def serving(stekd, timeout=60):
    """Waits until `stekd` serves a ring (a replica on a new etcd prefix makes the state)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return stekd.ring("host-agent-0")
        except Exception:  # noqa: BLE001 - 503 until the state is made
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, default=10000)
    ap.add_argument("--replicas", type=int, default=1,
                    help="1: one stekd on its state file; more: replicas on a local etcd")
    ap.add_argument("--identities", type=int, default=100, help="distinct host certificates")
    ap.add_argument("--per-client", type=int, default=18000,
                    help="agents per client process (each needs a descriptor per agent)")
    ap.add_argument("--poll-ms", type=int, default=500,
                    help="replicas: store.poll_interval_ms (stekd's default is 500)")
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--perf-record", metavar="FILE",
                    help="profile the first replica with `perf record -g` from just before "
                         "the rotation until every agent has the new ring (perf report -i FILE)")
    args = ap.parse_args()
    os.environ["STEK_BUILD_DIR"] = args.build
    from stektest import stekctl  # noqa: E402
    from stektest.stekd import Stekd  # noqa: E402

    limit = raise_fd_limit(args.per_client + 1024)
    per_client = min(args.per_client, limit - 200)
    work = Path(tempfile.mkdtemp(prefix="stek-scale-"))
    pki = work / "pki"
    hosts = [f"agent-{i}" for i in range(args.identities)]
    t = time.monotonic()
    stekctl("pki", "init", "--dir", pki, *sum((["--host", f"{h}=bench"] for h in hosts), []),
            timeout=600)
    print(f"made {args.identities} host certificates in {time.monotonic() - t:.1f} s")
    per_replica = -(-args.agents // args.replicas)
    limits = (f"[limits]\nconnections_per_identity = {per_replica // args.identities + 1}\n"
              f"max_connections = {per_replica + 100}\n")
    cluster = None
    replicas = []
    try:
        if args.replicas == 1:
            (work / "r0").mkdir()
            (work / "r0" / "pki").symlink_to(pki)
            replicas = [Stekd(work / "r0", domains=("bench",), long_poll_timeout=600,
                              limits=limits)]
        else:
            from stektest.etcd import EtcdCluster, EtcdStekd  # noqa: E402
            cluster = EtcdCluster(work / "etcd")
            cluster.start()
            replicas = [EtcdStekd(work / f"r{i}", cluster, pki, domains=("bench",),
                                  long_poll_timeout=600, limits=limits, poll_ms=args.poll_ms)
                        for i in range(args.replicas)]
            for r in replicas:  # one at a time: the first makes the state
                r.start()
                serving(r)
        # Every replica serves the same ring before agents connect.
        deadline = time.monotonic() + 60
        while len({r.ring("host-agent-0")[0] for r in replicas}) != 1:
            if time.monotonic() > deadline:
                raise SystemExit("replicas do not agree on the ring")
            time.sleep(0.2)
        for r in replicas:
            os.system(f"prlimit --pid {r.proc.pid} --nofile={limit}:{limit} >/dev/null 2>&1")
        rss0 = [rss_kib(r.proc.pid) for r in replicas]

        ports = ",".join(str(r.port) for r in replicas)
        clients = []
        for start in range(0, args.agents, per_client):
            n = min(per_client, args.agents - start)
            cmd = [str(Path(args.build) / "bench" / "fanout_client"), "--port", ports,
                   "--ca", str(pki / "ca.crt"), "--cert-prefix", str(pki / "host-agent"),
                   "--identities", str(args.identities), "--admin-cert",
                   str(pki / "admin-admin.crt"), "--admin-key", str(pki / "admin-admin.key"),
                   "--agents", str(n), "--first", str(start), "--external-rotation"]
            clients.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
        outputs = []
        for c in clients:  # each prints READY once its agents wait
            lines = []
            for line in c.stdout:
                lines.append(line.rstrip())
                print(line.rstrip())
                if line.startswith("READY"):
                    break
            outputs.append(lines)
        rss_ready = [rss_kib(r.proc.pid) for r in replicas]

        perf = None
        if args.perf_record:
            perf = subprocess.Popen(["perf", "record", "-g", "-q", "-o", args.perf_record,
                                     "-p", str(replicas[0].proc.pid)])
            time.sleep(1)  # perf attaches asynchronously; a fixed wait is fine in a benchmark
        t_rotate = time.monotonic()
        stekctl("rotate-domain-secret", "bench", "--yes", "--server", replicas[0].url,
                      "--ca", pki / "ca.crt", "--cert", pki / "admin-admin.crt",
                      "--key", pki / "admin-admin.key", timeout=60)
        t_stekctl = time.monotonic() - t_rotate
        for c, lines in zip(clients, outputs):
            for line in c.stdout:
                lines.append(line.rstrip())
                print(line.rstrip())
            c.wait(timeout=900)
        if perf:
            perf.send_signal(signal.SIGINT)  # perf writes its file and exits
            perf.wait(timeout=60)
        values = [dict(re.findall(r"^(\w+) ([\d.]+)$", "\n".join(o), re.M)) for o in outputs]
        n = sum(int(v["agents"]) for v in values)
        ok = sum(int(v["fanout_ok"]) for v in values)
        last = max(float(v["last_done_mono"]) for v in values) - t_rotate
        connect = max(float(v["connect_s"]) for v in values)
        result = {
            "agents": n, "replicas": args.replicas, "clients": len(clients),
            "connect_s": round(connect, 1), "stekctl_s": round(t_stekctl, 3),
            "fanout_last_agent_s": round(last, 3), "fanout_ok": ok,
            "stekd_rss_idle_mib": [round(x / 1024, 1) for x in rss0],
            "stekd_rss_with_agents_mib": [round(x / 1024, 1) for x in rss_ready],
            "stekd_kib_per_agent": round((sum(rss_ready) - sum(rss0)) / n, 1),
        }
        print(json.dumps(result))
        print(f"reproduce: python3 bench/scale.py --agents {args.agents} --replicas {args.replicas}"
              f" --identities {args.identities}")
        return 0 if ok == n else 1
    finally:
        for r in replicas:
            r.stop()
        if cluster:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
