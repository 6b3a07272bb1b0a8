# ctest-timeout: 300  ctest-cost: 21
"""stek-scan on stek-managed hosts: the local fleet (stektest.fleet, the one scripts/fleet.py
runs: a real stekd, two domains of two hosts, each a real stek-agent feeding a real nginx)
watched from outside.

stek-scan must report the configured interval within one interval, key names shared by the
hosts of a domain and never across domains (each name one stekd serves for that domain),
and that a ticket keeps resuming for the whole lifetime hint H x I and not beyond.
"""

import json
import os
import subprocess
import time

from stektest import BUILD_DIR, LOOPBACK, binary
from stektest.fleet import Fleet

INTERVAL = 3  # seconds per epoch: short, so a watch sees several rotations
HISTORY = 2   # epochs a ticket stays decryptable after its own


def test_stek_schedule_is_seen_at_its_interval_shared_within_a_domain_only(tmp_path):
    fleet = Fleet(tmp_path / "stek-fleet", BUILD_DIR, interval=INTERVAL, history=HISTORY,
                  lookahead=2, long_poll_timeout=10)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        fleet.start()
        os.chdir(cwd)
        eps = {h.name: f"{LOOPBACK}:{h.https_port}" for h in fleet.hosts}
        duration = 5 * INTERVAL + 1
        report = tmp_path / "scan.json"  # a file, not a pipe: the loop below does not read
        proc = subprocess.Popen(
            [binary("stek-scan"), "watch", *eps.values(), "--sni", "localhost", "--tls", "1.2",
             "--duration", f"{duration}s", "--every", "1s", "--json", report, "-q"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Every key name stekd serves per domain while the watch runs (a ring holds only
        # K(d, e-H .. e+L), so it is fetched every second).
        served = {d: set() for d in fleet.domains}
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            for h in fleet.hosts:
                _, ring = fleet.fetch_ring(h)
                served[h.domain] |= {k["name"] for k in ring["keys"]}
            time.sleep(1)
        _, err = proc.communicate(timeout=30)
    finally:
        os.chdir(cwd)
        fleet.stop()
    assert proc.returncode in (0, 1), err.decode(errors="replace")
    doc = json.loads(report.read_text())

    seen = {name: {k["key_name"] for e in doc["endpoints"] if e["endpoint"] == ep
                   for k in e["key_names"]} for name, ep in eps.items()}
    by_domain = {d: [h.name for h in fleet.hosts if h.domain == d] for d in fleet.domains}
    a, b = fleet.domains
    (a1, a2), (b1, b2) = by_domain[a], by_domain[b]
    # Every name seen is one stekd served to the host's own domain.
    for d, names in by_domain.items():
        for n in names:
            assert seen[n] and seen[n] <= served[d], (n, seen[n], served[d])
    # Shared within a domain, never across domains.
    assert len(seen[a1] & seen[a2]) >= 3 and len(seen[b1] & seen[b2]) >= 3
    assert not ((seen[a1] | seen[a2]) & (seen[b1] | seen[b2]))
    shared = [sorted(f["endpoints"]) for f in doc["findings"] if f["id"] == "shared_stek"]
    assert sorted([eps[a1], eps[a2]]) in shared and sorted([eps[b1], eps[b2]]) in shared
    assert all(s in (sorted([eps[a1], eps[a2]]), sorted([eps[b1], eps[b2]])) for s in shared)
    # The configured interval, within one watch step (1 s), on every host.
    hint = HISTORY * INTERVAL
    for name, ep in eps.items():
        [rot] = [f for f in doc["findings"] if f["id"] == "rotation" and f["endpoints"] == [ep]]
        assert rot["evidence"]["rotations"] >= 3, (name, rot["evidence"])
        assert abs(rot["evidence"]["median_interval_s"] - INTERVAL) <= 1.05, (name, rot["evidence"])
        # stek's promise: a ticket opens for the whole lifetime hint H x I, whichever epoch
        # it was issued in, and not for long after (nginx's ssl_session_timeout is H x I too).
        retired = rot["evidence"]["retired_checks"]
        assert retired, (name, rot["evidence"])
        for r in retired:
            if r["age_s"] < hint - 0.5:
                assert r["resumed"] is True, (name, r)
            elif r["age_s"] > hint + 1.05:  # OpenSSL checks the timeout in whole seconds
                assert r["resumed"] is False, (name, r)
        hints = [f for f in doc["findings"]
                 if f["id"] == "hint_exceeds_key_life" and f["endpoints"] == [ep]]
        assert all(f["severity"] == "info" for f in hints), hints
