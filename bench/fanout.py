#!/usr/bin/env python3
"""stekd fan-out benchmark: N simulated agents long-poll one stekd on 127.0.0.1; one
rotation wakes them all. Reports the time to the last agent holding the new ring, the
baseline of the same N agents fetching the ring at once, and stekd's CPU and memory per agent.

    python3 bench/fanout.py --agents 10000 [--build build]
"""

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from stektest.proc import rss_kib  # noqa: E402


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, default=10000)
    ap.add_argument("--identities", type=int, default=100, help="distinct host certificates")
    ap.add_argument("--build", default=str(ROOT / "build"))
    args = ap.parse_args()
    os.environ["STEK_BUILD_DIR"] = args.build
    from stekd_harness import Stekd  # noqa: E402
    from stektest import stekctl  # noqa: E402

    # Both processes need a descriptor per connection.
    want = args.agents + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), max(hard, want)))

    work = Path(tempfile.mkdtemp(prefix="stek-fanout-"))
    pki = work / "stekd" / "pki"
    hosts = {f"agent-{i}": ["bench"] for i in range(args.identities)}
    t = time.monotonic()
    stekctl("pki", "init", "--dir", pki, *sum((["--host", f"{h}=bench"] for h in hosts), []), timeout=600)
    print(f"made {args.identities} host certificates in {time.monotonic() - t:.1f} s")
    per_identity = args.agents // args.identities + 1
    stekd = Stekd(work / "stekd", domains=("bench",), long_poll_timeout=600,
                  limits=f"[limits]\nconnections_per_identity = {per_identity}\n"
                         f"max_connections = {args.agents + 100}\n")
    try:
        pid = stekd.proc.pid
        rss0 = rss_kib(pid)
        client = [str(Path(args.build) / "bench" / "fanout_client"), "--port", str(stekd.port),
                  "--ca", str(pki / "ca.crt"), "--cert-prefix", str(pki / "host-agent"),
                  "--identities", str(args.identities), "--admin-cert", str(pki / "admin-admin.crt"),
                  "--admin-key", str(pki / "admin-admin.key"), "--agents", str(args.agents)]
        proc = subprocess.Popen(client, stdout=subprocess.PIPE, text=True)
        lines = []
        cpu_before = rss_ready = None
        for line in proc.stdout:
            lines.append(line.rstrip())
            print(line.rstrip())
            if line.startswith("READY"):
                rss_ready = rss_kib(pid)
                cpu_before = cpu_seconds(pid)
        proc.wait(timeout=900)
        cpu_fanout = cpu_seconds(pid) - cpu_before
        out = dict(re.findall(r"^(\w+) ([\d.]+)$", "\n".join(lines), re.M))
        n = int(out["agents"])
        print(f"stekd_rss_idle_mib {rss0 / 1024:.1f}")
        print(f"stekd_rss_with_agents_mib {rss_ready / 1024:.1f}")
        print(f"stekd_kib_per_agent {(rss_ready - rss0) / n:.1f}")
        print(f"stekd_cpu_fanout_s {cpu_fanout:.3f}")
        print(f"stekd_cpu_us_per_agent_fanout {cpu_fanout / n * 1e6:.1f}")
        print(f"reproduce: python3 bench/fanout.py --agents {args.agents} --identities {args.identities}")
        return proc.returncode
    finally:
        stekd.stop()


if __name__ == "__main__":
    sys.exit(main())
