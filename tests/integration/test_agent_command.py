# ctest-timeout: 240  ctest-cost: 40
"""stek-agent's generic sink (type = "command", issue 11, Deliver 6), with a real stekd and a
real HAProxy it knows nothing about: the sink writes the ring as haproxy80 and runs a command
after each change (here: SIGUSR2 to HAProxy's master-worker). While the command fails, the
failure is counted and retried with backoff, and the file keeps the new keys; once the command
works again HAProxy reloads onto them and resumes tickets."""

import base64
import time

from stektest import Haproxy, tls_connect, wait_until
from stektest.agent import Agent, ShmDir, write_config
from stektest.proc import LOOPBACK, free_port
from stektest.ring import epoch
from stektest.stekd import Stekd

DOMAIN = "eu-west"
INTERVAL, HISTORY = 4, 2

COMMAND = """#!/bin/sh
# Runs after each change of the key file; fails while {fail} exists.
echo run >> '{runs}'
[ -e '{fail}' ] && exit 3
[ -e '{pid_file}' ] || exit 0
exec kill -USR2 "$(cat '{pid_file}')"
"""


def encrypting_name(path):
    """The haproxy80 file's encrypting key name: the first 16 bytes of its penultimate line
    (docs/formats.md). Read here, not by stekctl: the ASan stekctl takes seconds to start on a
    loaded machine, longer than the checks between two boundaries may take."""
    lines = path.read_text().split()
    return base64.b64decode(lines[-2])[:16].hex()


def ticket_under_the_files_key(port, keys, workdir):
    """A fresh ticket from HAProxy if its key is the one the file named for encryption just
    before or just after the connection, else None. Reading the file once, after, would miss
    when a boundary rewrites it during the connection."""
    before = encrypting_name(keys)
    r = tls_connect(port, workdir, "1.2")
    return r if r.key_name in (before, encrypting_name(keys)) else None


def test_command_sink_feeds_any_server_and_retries_a_failing_command(tmp_path):
    stekd = Stekd(tmp_path / "stekd", domains=(DOMAIN,), interval=INTERVAL, history=HISTORY,
                  long_poll_timeout=20)
    runs, fail = tmp_path / "RUNS", tmp_path / "FAIL"
    with ShmDir() as shm, stekd:
        keys = shm / "out" / "tickets.keys"
        keys.parent.mkdir()
        haproxy = Haproxy(tmp_path / "haproxy", keys, socket=False, master_worker=True,
                          start=False)
        script = tmp_path / "reload.sh"
        script.write_text(COMMAND.format(runs=runs, fail=fail, pid_file=haproxy.pid_file))
        port = free_port()
        config = write_config(
            tmp_path / "agent.toml", servers=[stekd.url], cache_dir=shm / "cache",
            poll_timeout=20, metrics_listen=f"{LOOPBACK}:{port}",
            tls={"cert": stekd.pki / "host-web1.crt", "key": stekd.pki / "host-web1.key",
                 "ca": stekd.pki / "ca.crt"},
            sinks=[{"type": "command", "format": "haproxy80", "path": keys,
                    "command": ["sh", script], "command_timeout": 5}])
        agent = Agent(config, tmp_path / "agent.log", metrics_port=port)
        with agent:
            agent.wait_listening()
            wait_until(lambda: agent.check_alive() or keys.exists(), 30, what="the key file")
            assert keys.stat().st_mode & 0o777 == 0o600
            haproxy.start()
            with haproxy:
                # Rotations reload HAProxy through the command: tickets resume across them.
                tried = resumed = 0
                previous = None
                for _ in range(3):
                    e = epoch(INTERVAL)
                    current = wait_until(
                        lambda: ticket_under_the_files_key(haproxy.port, keys, tmp_path),
                        INTERVAL + 5, what="HAProxy on the file's encrypting key")
                    for session in filter(None, (previous, current.session_file)):
                        if epoch(INTERVAL) == e:
                            tried += 1
                            resumed += tls_connect(haproxy.port, tmp_path, "1.2",
                                                   resume=session).reused
                    previous = current.session_file
                    time.sleep(max(0.0, (e + 1) * INTERVAL - time.time()) + 0.3)
                print(f"command sink: resumed {resumed}/{tried} across rotations")
                assert tried >= 4 and resumed == tried
                assert agent.metrics()["stek_agent_sink_failures_total"] == 0

                # The command fails: the file still gets the next epoch's keys, HAProxy keeps
                # its old ones, and the command is retried, less and less often.
                runs_before = len(runs.read_text().split())
                failed_at = time.monotonic()
                fail.write_text("")
                served = encrypting_name(keys)
                wait_until(lambda: encrypting_name(keys) != served, 2 * INTERVAL + 5,
                           what="the file holding the next epoch's keys")
                agent.wait_metric("stek_agent_sink_failures_total", lambda v: v >= 2, timeout=30)
                time.sleep(8)
                failing_runs = len(runs.read_text().split()) - runs_before
                failures = agent.metrics()["stek_agent_sink_failures_total"]
                elapsed = time.monotonic() - failed_at
                print(f"command sink: {failing_runs} runs of the failing command in "
                      f"{elapsed:.0f} s; {failures:.0f} failed applies reported")
                # The first failure, then retries after 4-5 s, 8-10 s, ... (not every 5 s refresh
                # nor at every 4 s boundary).
                assert 2 <= failing_runs <= elapsed / 4 + 1
                assert keys.exists() and encrypting_name(keys) != served

                # It works again: HAProxy reloads onto the file's keys.
                fail.unlink()
                wait_until(lambda: ticket_under_the_files_key(haproxy.port, keys, tmp_path), 40,
                           what="HAProxy reloaded after the retry")
        log = agent.log_path.read_text()
    assert "command failed" in log
