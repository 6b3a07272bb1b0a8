# ctest-timeout: 300  ctest-cost: 16
"""stek-scan against a real HAProxy whose ticket key is rotated at runtime over the admin
socket (`set ssl tls-key`), the way an operator or stek-agent rotates it without reload."""

import base64
import json
import os
import subprocess
import time

from stektest import LOOPBACK, Haproxy, binary, stekctl
from stektest.proc import count_lines


def test_runtime_key_rotation_is_observed_with_its_interval(tmp_path):
    keys = tmp_path / "tickets.haproxy80"
    stekctl("keygen", "--format", "haproxy80", "--out", keys)
    with Haproxy(tmp_path / "haproxy", keys) as haproxy:
        endpoint = f"{LOOPBACK}:{haproxy.port}"
        proc = subprocess.Popen(
            [binary("stek-scan"), "watch", endpoint, "--sni", "localhost", "--duration", "12s",
             "--every", "1s", "--json", "-"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # The clock starts at the scan's first connection, not at its start: starting the
            # scanner takes seconds on a loaded machine, and a rotation before its first ticket
            # would go unseen (loaded run, stop 14: 2 rotations seen of 3).
            assert count_lines(proc.stderr, " fresh: ", 1, 60) == 1, "no first connection"
            started = time.time()
            # Every 3 s, half a step off the scan's 1 s grid, so that no rotation coincides
            # with a scheduled probe; the last 3.5 s before the watch ends.
            for at in (2.5, 5.5, 8.5):
                time.sleep(max(0.0, started + at - time.time()))
                new_key = base64.b64encode(os.urandom(80)).decode()
                reply = haproxy.admin(f"set ssl tls-key {keys.resolve()} {new_key}")
                assert "updated" in reply, reply
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode in (0, 1), err
    doc = json.loads(out)
    assert not [f for f in doc["findings"] if f["id"] == "never_rotates"]
    [rot] = [f for f in doc["findings"] if f["id"] == "rotation"]
    ev = rot["evidence"]
    assert ev["rotations"] == 3
    assert ev["key_names"] == 4
    # Rotated every 3 s. A rotation is seen at the first ticket after it, so each observed
    # interval is 3 s give or take the scan's own resolution (the longest gap between two
    # tickets: probes slip behind their 1 s grid when one is slow, which happens on loaded
    # machines); 0.3 s more for the admin command. A missed rotation would show as 6 s.
    slack = ev["resolution_s"] + 0.3
    assert ev["resolution_s"] < 2.5, ev
    for interval in ev["intervals_s"]:
        assert abs(interval - 3.0) <= slack, (ev["intervals_s"], ev["resolution_s"])
    # HAProxy keeps three keys (previous, current, next): the key retired by the last
    # rotation still opens its tickets, the two before it are gone.
    retired = ev["retired_checks"]
    assert len(retired) == 3
    by_age = sorted(retired, key=lambda r: r["age_s"])
    assert [r["resumed"] for r in by_age] == [True, False, False], by_age
