# ctest-timeout: 300  ctest-cost: 30
"""stek-agent killed during the nginx reload that follows `rotate-domain-secret`, then restarted
(issue 10, Deliver 3): real stekd, stek-agent and nginx, openssl s_client for the tickets.

How the crash lands deterministically between "new key files written" and "nginx reloaded",
with no test hook in the agent: the sink reloads nginx with a command (reload = "command"), a
small script of this test. While a BLOCK file exists, the script records its pid in a MARK file
and hangs instead of signalling nginx; the agent runs it only after writing every key file and
the include. The test waits for MARK, checks that the new files are there and that nginx still
resumes the old ticket (it was not reloaded), then kills the agent's process group with SIGKILL
(the agent and the hanging script). The restarted agent finds the files already holding the
rotated keys: only its applied-state record (cache_dir/<domain>.applied, written after a
confirmed reload) tells it that nginx never read them."""

import json
import signal

from stektest import Nginx, stops_resuming, tls_connect, wait_until
from stektest.agent import Agent, ShmDir, write_config
from stektest.nginx import include_keys
from stektest.proc import LOOPBACK, free_port
from stektest.stekd import Stekd

DOMAIN = "eu-west"

RELOAD_SCRIPT = """#!/bin/sh
# nginx reload for stek-agent; hangs (simulating a reload in progress) while {block} exists.
if [ -e '{block}' ]; then
  echo $$ > '{mark}'
  exec sleep 300
fi
[ -e '{pid_file}' ] || exit 0  # nginx not started yet: it reads the files when it starts
exec kill -HUP "$(cat '{pid_file}')"
"""


def agents_row(stekd, host):
    rows = json.loads(stekd.admin("agents", "--json"))
    return next(r for r in rows if r["host"] == host)


def domain_ring_version(stekd):
    status = json.loads(stekd.admin("status", "--json"))
    return next(d["ring_version"] for d in status["domains"] if d["name"] == DOMAIN)


def test_agent_killed_before_the_reload_reloads_after_restart(tmp_path):
    stekd = Stekd(tmp_path / "stekd", domains=(DOMAIN,), long_poll_timeout=20)
    block, mark = tmp_path / "BLOCK", tmp_path / "MARK"
    nginx_dir = tmp_path / "nginx"
    include = tmp_path / "tickets.conf"
    with ShmDir() as shm, stekd:
        nginx = Nginx(nginx_dir, include=include, session_timeout="60s", start=False)
        script = tmp_path / "reload.sh"
        script.write_text(RELOAD_SCRIPT.format(block=block, mark=mark, pid_file=nginx.pid_file))
        port = free_port()
        config = write_config(
            tmp_path / "agent.toml", servers=[stekd.url], cache_dir=shm / "cache",
            poll_timeout=20, metrics_listen=f"{LOOPBACK}:{port}",
            tls={"cert": stekd.pki / "host-web1.crt", "key": stekd.pki / "host-web1.key",
                 "ca": stekd.pki / "ca.crt"},
            sinks=[{"type": "nginx", "dir": shm / "keys", "include": include,
                    "reload": "command", "reload_command": ["sh", script]}])

        def start_agent():
            agent = Agent(config, tmp_path / "agent.log", metrics_port=port, append=True)
            agent.wait_listening()
            return agent

        agent = start_agent()
        wait_until(lambda: agent.check_alive() or include_keys(include), 30,
                   what="the agent's first keys")
        nginx.start()
        with nginx:
            before = tls_connect(nginx.port, tmp_path, "1.2", tag="before")
            assert before.key_name == include_keys(include)[0]
            assert tls_connect(nginx.port, tmp_path, "1.2", resume=before.session_file).reused
            old_keys = include_keys(include)

            # The compromise response; the agent writes the new keys, then hangs in the reload.
            block.write_text("")
            stekd.admin("rotate-domain-secret", DOMAIN, "--yes")
            wait_until(lambda: agent.check_alive() or mark.exists(), 60,
                       what="the agent to write the rotated keys and start the reload")
            new_keys = include_keys(include)
            assert new_keys and not set(new_keys) & set(old_keys), "rotated keys are on disk"
            agent.stop(sig=signal.SIGKILL)  # the agent and the hanging reload script
            # nginx never reloaded: the compromised keys still resume.
            assert tls_connect(nginx.port, tmp_path, "1.2", resume=before.session_file).reused

            # Restart: files already hold the new keys; nginx has not read them.
            block.unlink()
            agent = start_agent()
            with agent:
                agent.wait_metric("stek_agent_sink_reloads_total", lambda v: v >= 1, timeout=30)
                stops_resuming(nginx.port, tmp_path, "1.2", before.session_file, within=15)
                fresh = wait_until(
                    lambda: (lambda r: r if r.key_name == new_keys[0] else None)(
                        tls_connect(nginx.port, tmp_path, "1.2", tag="after")),
                    15, what="nginx encrypting under the rotated key")
                assert tls_connect(nginx.port, tmp_path, "1.2", resume=fresh.session_file).reused

                # stekd shows what it served this host, next to what the host claims.
                def served_current():
                    row = agents_row(stekd, "web1")
                    served = row.get("served") or {}
                    return row if served.get("ring_version") == domain_ring_version(stekd) else None
                row = wait_until(served_current, 30, what="stekd's record of the served ring")
                assert row["served"]["secret_versions"] == [2]
                table = stekd.admin("agents")
                assert "SERVED RING" in table.splitlines()[0]
                assert str(row["served"]["ring_version"]) in table

                # SIGHUP re-applies and reloads nginx although nothing changed.
                reloads = agent.metrics()["stek_agent_sink_reloads_total"]
                workers = nginx._workers()
                agent.send_signal(signal.SIGHUP)
                agent.wait_metric("stek_agent_sink_reloads_total", lambda v: v > reloads)
                wait_until(lambda: nginx._workers() and not (nginx._workers() & workers), 15,
                           what="nginx's workers replaced by the SIGHUP reload")
