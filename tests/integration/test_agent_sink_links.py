# ctest-timeout: 120
"""A sink never writes or zeroes through a link (issue 10, Deliver 8): a real stek-agent whose
nginx key directory holds a hard link, named like a stale key file, to a file that is not the
agent's. Erasing the stale name must leave the other file's bytes intact; a symbolically linked
include is refused, and its target stays as it was."""

import time

from stektest import wait_until
from stektest.agent import ShmDir, start_agent, write_config
from stektest.nginx import include_keys
from stektest.ring import make_ring, write_ring

DOMAIN = "eu-west"


def test_erasure_never_zeroes_a_hard_linked_file_and_a_linked_include_is_refused(tmp_path):
    interval, history = 3600, 2
    e = int(time.time()) // interval
    ring_file = tmp_path / "ring.json"
    write_ring(ring_file, make_ring(DOMAIN, e - history, e + 2, interval=interval,
                                    history=history))
    with ShmDir() as shm:
        keys = shm / "keys"
        keys.mkdir(mode=0o700)
        precious = shm / "precious"  # same filesystem as the key directory
        precious.write_bytes(b"not the agent's data\n")
        stale = keys / ("ab" * 16 + ".key")
        stale.hardlink_to(precious)
        include = tmp_path / "tickets.conf"
        config = write_config(tmp_path / "agent.toml", domain=DOMAIN, cache_dir=shm / "cache",
                              sinks=[{"type": "nginx", "dir": keys, "include": include,
                                      "reload": "none"}])
        agent = start_agent(tmp_path, config, "--ring-file", ring_file)
        with agent:
            wait_until(lambda: agent.check_alive() or include_keys(include), 20,
                       what="the agent's keys")
            wait_until(lambda: not stale.exists(), 20, what="the stale name removed")
            assert precious.read_bytes() == b"not the agent's data\n"
            wait_until(lambda: agent.metrics()["stek_agent_sink_failures_total"] >= 1, 20,
                       what="the refusal counted")

        # A symbolic link where the include goes: refused, its target untouched.
        include.unlink()
        target = tmp_path / "nginx.conf"
        target.write_text("user nginx;\n")
        include.symlink_to(target)
        config = write_config(tmp_path / "agent2.toml", domain=DOMAIN, cache_dir=shm / "cache",
                              sinks=[{"type": "nginx", "dir": keys, "include": include,
                                      "reload": "none"}])
        agent = start_agent(tmp_path, config, "--ring-file", ring_file)
        with agent:
            wait_until(lambda: agent.metrics()["stek_agent_sink_failures_total"] >= 1, 20,
                       what="the linked include refused")
            assert include.is_symlink()
            assert target.read_text() == "user nginx;\n"
