# ctest-timeout: 240  ctest-cost: 30
"""The split-brain guard with real processes (issue 12, item 3): two stekds with state of their
own (one CA, one domain) answer the same ring version with different keys. An agent configured
with both takes the first one's ring; when that stekd is killed and the agent fails over to the
second, it refuses the second's keys, keeps serving the first's (its JSON sink keeps them),
counts stek_agent_ring_conflicts_total and fails /healthz naming both servers, and logs the
conflict once however often it recurs. Restarted from its cache with only the second stekd up,
it refuses again. An agent that only ever talks to the second stekd is fine."""

import json
import shutil
import signal
import time

from stektest import LOOPBACK, free_port, wait_until
from stektest import metrics as prom
from stektest.agent import Agent, ShmDir, write_config
from stektest.stekd import Stekd

DOMAIN = "eu-west"


def ring_names(path) -> list[str]:
    """The key names of a ring file (the JSON sink's output), or [] while there is none."""
    try:
        return sorted(k["name"] for k in json.loads(path.read_text())["keys"])
    except (OSError, ValueError):
        return []


def start_agent(tmp_path, shm, pki, host, servers, name=None) -> Agent:
    port = free_port()
    config = write_config(
        tmp_path / f"{host}.toml", servers=servers, cache_dir=shm / host, poll_timeout=5,
        backoff_initial=0.2, backoff_max=1.0, metrics_listen=f"{LOOPBACK}:{port}",
        tls={"cert": pki / f"host-{host}.crt", "key": pki / f"host-{host}.key",
             "ca": pki / "ca.crt"},
        sinks=[{"type": "json", "path": shm / f"{host}-ring.json"}])
    name = name or host
    agent = Agent(config, tmp_path / f"{name}.log", metrics_port=port, name=name)
    agent.wait_listening()
    return agent


def test_agent_refuses_a_second_stekd_with_other_keys_for_the_same_version(tmp_path):
    first = Stekd(tmp_path / "first", domains=(DOMAIN,))
    # The second stekd: the same CA and certificates, but its own state (stekd --init).
    (tmp_path / "second").mkdir()
    shutil.copytree(first.pki, tmp_path / "second" / "pki",
                    ignore=shutil.ignore_patterns("kek.generation"))
    second = Stekd(tmp_path / "second", domains=(DOMAIN,))
    with ShmDir() as shm, first, second:
        # The premise: one ring version, two sets of keys.
        version_1, ring_1 = first.ring("host-web1")
        version_2, ring_2 = second.ring("host-web1")
        assert version_1 == version_2
        names_1 = sorted(k["name"] for k in ring_1["keys"])
        names_2 = sorted(k["name"] for k in ring_2["keys"])
        assert not set(names_1) & set(names_2)
        print(f"ring version {version_1}: first stekd {ring_1['ring_id'][:12]}, "
              f"second {ring_2['ring_id'][:12]}")

        sink = shm / "web1-ring.json"
        with start_agent(tmp_path, shm, first.pki, "web1", [first.url, second.url]) as agent:
            wait_until(lambda: ring_names(sink) == names_1, 30, what="the first stekd's keys")
            assert agent.healthz() == 200

            killed = time.monotonic()
            first.proc.stop(sig=signal.SIGKILL)
            m = agent.wait_metric("stek_agent_ring_conflicts_total", lambda v: v >= 1,
                                  timeout=30)
            status, body = prom.get(agent.metrics_port, "/healthz")
            print(f"conflict reported {time.monotonic() - killed:.2f} s after the kill; "
                  f"/healthz {status}: {body}")
            assert status == 503
            assert "ring conflict" in body and first.url in body and second.url in body
            assert m["stek_agent_ring_version"] == version_1
            assert m["stek_agent_rings_accepted_total"] == 1
            assert m["stek_agent_serving"] == 1
            assert ring_names(sink) == names_1  # the servers keep the first stekd's keys

            # It keeps refusing (with backoff between rounds) and logs it once.
            agent.wait_metric("stek_agent_ring_conflicts_total", lambda v: v >= 3, timeout=30)
            assert agent.healthz() == 503
            assert ring_names(sink) == names_1
            assert agent.output().count("RING CONFLICT") == 1

        # Restarted from its cache while only the second stekd answers: refused again.
        with start_agent(tmp_path, shm, first.pki, "web1", [first.url, second.url],
                         name="web1-restarted") as agent:
            m = agent.wait_metric("stek_agent_ring_conflicts_total", lambda v: v >= 1,
                                  timeout=30)
            assert m["stek_agent_ring_version"] == version_1
            assert m["stek_agent_rings_accepted_total"] == 1  # the cache's ring
            status, body = prom.get(agent.metrics_port, "/healthz")
            assert status == 503 and second.url in body and "the cache" in body, body
            assert ring_names(sink) == names_1

        # An agent that talks only to the second stekd has nothing to compare: it is fine.
        with start_agent(tmp_path, shm, second.pki, "web2", [second.url]) as other:
            wait_until(lambda: ring_names(shm / "web2-ring.json") == names_2, 30,
                       what="the second stekd's keys")
            m = other.wait_metric("stek_agent_last_sync_timestamp_seconds", lambda v: v > 0)
            assert m["stek_agent_ring_conflicts_total"] == 0
            assert other.healthz() == 200
