# ctest-timeout: 300  ctest-cost: 100
"""stek-agent feeding a real Apache Traffic Server (Debian 12's trafficserver 9.2): the ats
sink writes every server key's 48-byte projection to the ticket key file (the encrypting key
first) and runs `traffic_ctl config reload`. Traffic Server reads every record of the file,
so tickets resume across rotations for stek's whole history. The agent reads a ring file
(--ring-file), so no stekd is needed."""

import json
import time

import pytest

from stektest import have, ticket_of_the_epoch, tls_connect, wait_until
from stektest.agent import ShmDir, start_agent, write_config
from stektest.ats import TrafficServer
from stektest.ring import make_ring, names_by_epoch, write_ring

DOMAIN = "eu-west"

pytestmark = pytest.mark.skipif(not have("traffic_manager"),
                                reason="trafficserver is not installed (scripts/setup.sh peers)")


def epoch_now(interval: int) -> int:
    return int(time.time()) // interval


def record_names(key_file):
    data = key_file.read_bytes()
    return [data[i:i + 16].hex() for i in range(0, len(data), 48)]


def test_traffic_server_resumes_across_rotations_for_the_whole_history(tmp_path):
    interval, history = 6, 2
    e0 = epoch_now(interval)
    last = e0 + 40  # enough keys for a loaded machine; the loop ends 4 epochs before
    ring = make_ring(DOMAIN, e0 - history, last, interval=interval, history=history)
    names = names_by_epoch(ring)
    ring_file = tmp_path / "ring.json"
    write_ring(ring_file, ring)
    ats_dir = (tmp_path / "ats").resolve()
    with ShmDir() as shm:
        key_file = shm / "ats" / "ticket.key"
        # Until Traffic Server runs, the reload fails and the agent retries; Traffic Server
        # reads the file the agent wrote when it starts.
        sink = {"type": "ats", "path": key_file,
                "reload_command": ["env", f"TS_RUNROOT={ats_dir / 'runroot.yaml'}",
                                   "traffic_ctl", "config", "reload"]}
        config = write_config(tmp_path / "agent.toml", domain=DOMAIN, cache_dir=shm / "cache",
                              sinks=[sink])
        agent = start_agent(tmp_path, config, "--ring-file", ring_file)
        with agent:
            wait_until(key_file.exists, 20, what="the agent writes the ticket key file")
            with TrafficServer(ats_dir, key_file, session_timeout=history * interval) as ats:
                sessions = {}  # (version, epoch issued) -> session file
                tally = {"same_tried": 0, "same_resumed": 0, "older_tried": 0,
                         "older_resumed": 0, "expired_tried": 0, "expired_resumed": 0}
                hints = set()
                epochs_seen = []
                # Four epochs, and on (while the ring lasts) until each kind of check had
                # enough verdicts: on a loaded machine more checks cross a boundary.
                while epoch_now(interval) < last - 4 and (
                        len(epochs_seen) < 4 or tally["same_tried"] < 4
                        or tally["older_tried"] < 6 or tally["expired_tried"] < 2):
                    e = epoch_now(interval)
                    for version in ("1.2", "1.3"):
                        issued, fresh = ticket_of_the_epoch(ats.port, tmp_path, version, names,
                                                            interval, within=interval + 15)
                        sessions[(version, issued)] = fresh.session_file
                        if version == "1.2" and fresh.lifetime_hint is not None:
                            hints.add(fresh.lifetime_hint)
                    # Newest first, so this epoch's tickets are judged before it ends.
                    for (version, issued), session in sorted(sessions.items(),
                                                             key=lambda kv: -kv[0][1]):
                        before = epoch_now(interval)
                        result = tls_connect(ats.port, tmp_path, version, resume=session)
                        if epoch_now(interval) != before or issued > before:
                            continue  # crossed a boundary mid-check: no verdict
                        if issued == before:
                            kind = "same"
                        elif issued >= before - history + 1:
                            kind = "older"  # K(issued) is in the file: must resume
                        elif issued <= before - history - 2:
                            kind = "expired"  # K(issued) left the file over an epoch ago
                        else:
                            continue
                        tally[kind + "_tried"] += 1
                        tally[kind + "_resumed"] += result.reused
                        if kind == "expired":
                            del sessions[(version, issued)]  # judged; keeps each round short
                    if not epochs_seen or epochs_seen[-1] != e:
                        epochs_seen.append(e)
                    time.sleep(max(0.0, (e + 1) * interval - time.time()) + 0.3)
                print("traffic server resumption across rotations:", json.dumps(tally),
                      "epochs", len(epochs_seen), "lifetime hints", sorted(hints))
                assert len(epochs_seen) >= 4  # at least 3 rotations
                assert tally["same_tried"] >= 4 and tally["same_resumed"] == tally["same_tried"]
                assert tally["older_tried"] >= 6
                assert tally["older_resumed"] == tally["older_tried"], tally
                assert tally["expired_tried"] >= 2 and tally["expired_resumed"] == 0, tally

                # The file: encrypt, next, then decrypt-only newest first; 48 bytes each.
                def file_matches():
                    e = epoch_now(interval)
                    return record_names(key_file) == [names[e], names[e + 1], names[e - 1],
                                                      names[e - 2]]
                wait_until(file_matches, interval, what="the key file matches the epoch")
                assert key_file.stat().st_mode & 0o777 == 0o600
                assert "failed to read SSL session ticket key" not in ats.diags()
