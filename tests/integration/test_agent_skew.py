# ctest-timeout: 180  ctest-cost: 15
"""stek-agent measures its clock skew against a real stekd (issue 16, item 3): stekd states its
time on every keyring answer (X-Stek-Time-Ms, X-Stek-Held-Ms); an agent whose wall clock runs
45 s ahead under libfaketime, with I = 60 s (the bound is I/2 = 30 s, docs/design.md), reports
/healthz 503 naming the skew and stek_agent_clock_skew_seconds = -45 within its uncertainty,
also after long polls that stekd held for seconds; an agent on the real clock beside it is
healthy with a skew of about zero."""

import pytest

from stektest import LOOPBACK, binary, free_port, wait_until
from stektest import metrics as prom
from stektest.agent import Agent, ShmDir, write_config
from stektest.faketime import faketime_library, offset_env
from stektest.stekd import Stekd

DOMAIN = "eu-west"
INTERVAL = 60
OFFSET = 45.0  # seconds this agent's clock runs ahead: beyond I/2
POLL = 4  # seconds stekd holds each long poll
# Both ends state milliseconds, truncated: the estimate may be off by that much more.
ROUNDING = 0.002


def start_agent(tmp_path, shm, stekd, host, env=None) -> Agent:
    port = free_port()
    config = write_config(
        tmp_path / f"{host}.toml", servers=[stekd.url], cache_dir=shm / host,
        poll_timeout=POLL, metrics_listen=f"{LOOPBACK}:{port}",
        tls={"cert": stekd.pki / f"host-{host}.crt", "key": stekd.pki / f"host-{host}.key",
             "ca": stekd.pki / "ca.crt"},
        sinks=[{"type": "json", "path": shm / f"{host}-ring.json"}])
    agent = Agent(config, tmp_path / f"{host}.log", metrics_port=port, env=env, name=host)
    agent.wait_listening()
    return agent


def skew(agent) -> tuple[float, float]:
    m = agent.metrics()
    return m["stek_agent_clock_skew_seconds"], m["stek_agent_clock_skew_uncertainty_seconds"]


def after_a_held_poll(agent) -> dict:
    """The metrics once the agent has had an answer to a long poll that stekd held: its last
    sync moves on by at least the poll time after the first answer."""
    first = agent.wait_metric("stek_agent_last_sync_timestamp_seconds", lambda v: v > 0,
                              timeout=60)
    since = first["stek_agent_last_sync_timestamp_seconds"]
    return agent.wait_metric("stek_agent_last_sync_timestamp_seconds",
                             lambda v: v >= since + POLL - 1, timeout=4 * POLL + 20)


@pytest.mark.skipif(faketime_library() is None, reason="libfaketime is not installed "
                    "(Debian package libfaketime; scripts/setup.sh installs it)")
def test_agent_ahead_beyond_the_bound_fails_healthz_and_measures_the_offset(tmp_path):
    stekd = Stekd(tmp_path / "stekd", domains=(DOMAIN,), interval=INTERVAL, history=2,
                  lookahead=2, long_poll_timeout=POLL)
    with ShmDir() as shm, stekd:
        ahead = start_agent(tmp_path, shm, stekd, "web1",
                            env=offset_env(binary("stek-agent"), OFFSET))
        real = start_agent(tmp_path, shm, stekd, "web2")
        with ahead, real:
            m = ahead.wait_metric("stek_agent_clock_skew_alarm", lambda v: v == 2, timeout=60)
            assert m["stek_agent_serving"] == 1  # the ring is fine: only the clock is not
            assert m["stek_agent_clock_skew_limit_seconds"] == INTERVAL / 2
            status, body = prom.get(ahead.metrics_port, "/healthz")
            assert status == 503, body
            assert "clock skew" in body and "ahead of stekd" in body, body
            measured, uncertainty = skew(ahead)
            print(f"ahead by {OFFSET} s: skew {measured} s +- {uncertainty} s (first answer)")
            assert abs(measured + OFFSET) <= uncertainty + ROUNDING

            # Answers to long polls that stekd held for POLL seconds: the hold is not counted
            # as uncertainty (it would be POLL / 2 = 2 s otherwise).
            for agent, offset in ((ahead, OFFSET), (real, 0.0)):
                m = after_a_held_poll(agent)
                measured, uncertainty = skew(agent)
                print(f"{agent.name} off by {offset} s: skew {measured} s +- {uncertainty} s "
                      f"(after a held poll)")
                assert uncertainty < POLL / 4, uncertainty
                assert abs(measured + offset) <= uncertainty + ROUNDING

            assert ahead.healthz() == 503
            assert real.healthz() == 200
            m = real.metrics()
            assert m["stek_agent_clock_skew_alarm"] == 0
            assert m["stek_agent_serving"] == 1
            ahead.check_alive()
