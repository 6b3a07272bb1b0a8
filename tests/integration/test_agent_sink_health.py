# ctest-timeout: 150  ctest-cost: 20
"""Each sink's status in stek-agent's /healthz and /metrics (issue 11, Deliver 7), and SIGHUP
re-reading the configuration, with a real nginx fed from a ring file (--ring-file, no stekd):
a broken reload command makes /healthz 503 naming the sink while the failures are counted and
the last success time stays where it was; fixing the command in the file and sending SIGHUP
brings 200 back and nginx onto the ring; a json sink added by SIGHUP gets the held ring at
once, and one removed by SIGHUP is withdrawn (its file erased) and never written again. A
missing pid_file (reload = "signal") is a warning, not a failure."""

import signal
import subprocess
import time

from stektest import Nginx, tls_connect, wait_until
from stektest.agent import Agent, ShmDir, write_config
from stektest.metrics import get, labelled
from stektest.proc import LOOPBACK, free_port
from stektest.ring import assert_no_key_bytes, epoch, make_ring, names_by_epoch, write_ring

DOMAIN = "eu-west"
INTERVAL = 60  # one epoch outlasts the test: only SIGHUPs and failures change anything


def sink_metric(agent, metric, sink):
    return labelled(agent.metrics_text()).get(f'{metric}{{sink="{sink}"}}')


def encrypting_name(ring):
    """The name of the key that encrypts now (the test may cross an epoch boundary)."""
    return names_by_epoch(ring)[epoch(INTERVAL)]


def test_a_failing_reload_fails_healthz_until_sighup_brings_a_working_configuration(tmp_path):
    e0 = int(time.time()) // INTERVAL
    ring = make_ring(DOMAIN, e0 - 2, e0 + 4, interval=INTERVAL)
    ring_file = tmp_path / "ring.json"
    write_ring(ring_file, ring)
    with ShmDir() as shm:
        include = shm / "nginx" / "tickets.conf"
        include.parent.mkdir()
        include.write_text("# no stek keys yet\n")
        nginx = Nginx(tmp_path / "nginx", include=include)
        good = ["nginx", "-c", nginx.conf, "-p", nginx.dir, "-e", nginx.dir / "error.log",
                "-s", "reload"]
        broken = ["nginx", "-c", tmp_path / "no-such-nginx.conf", "-p", nginx.dir, "-e",
                  nginx.dir / "error.log", "-s", "reload"]
        json_file = shm / "ring.json"
        port = free_port()
        nginx_sink = {"type": "nginx", "dir": include.parent, "include": include,
                      "reload": "command", "reload_timeout": 10}
        sink = f"nginx:{include}"

        def configure(command, *extra_sinks):
            write_config(tmp_path / "agent.toml", domain=DOMAIN, cache_dir=shm / "cache",
                         metrics_listen=f"{LOOPBACK}:{port}",
                         sinks=[dict(nginx_sink, reload_command=command), *extra_sinks])

        configure(good)
        agent = Agent(tmp_path / "agent.toml", tmp_path / "agent.log", "--ring-file", ring_file,
                      metrics_port=port)
        with nginx, agent:
            agent.wait_listening()
            wait_until(lambda: agent.healthz() == 200 and
                       (sink_metric(agent, "stek_agent_sink_last_success_timestamp_seconds",
                                    sink) or 0) > 0, 20, what="the first successful apply")
            first_success = sink_metric(agent, "stek_agent_sink_last_success_timestamp_seconds",
                                        sink)
            assert sink_metric(agent, "stek_agent_sink_applied_ring_version", sink) == \
                ring["version"]

            # The reload command breaks: SIGHUP rebuilds the sink and re-applies, which fails.
            configure(broken)
            agent.send_signal(signal.SIGHUP)
            wait_until(lambda: agent.healthz() == 503, 20, what="/healthz 503")
            status, body = get(port, "/healthz")
            assert status == 503 and sink in body and "reload" in body, body
            # Retried every 5 s: the count grows, the last success stays where it was.
            wait_until(lambda: (sink_metric(agent, "stek_agent_sink_failures_total", sink)
                                or 0) >= 2, 30, what="a retried failure")
            assert sink_metric(agent, "stek_agent_sink_failing", sink) == 1
            assert sink_metric(agent, "stek_agent_sink_last_success_timestamp_seconds",
                               sink) == first_success
            assert sink_metric(agent, "stek_agent_sink_last_failure_timestamp_seconds",
                               sink) >= first_success
            failures = sink_metric(agent, "stek_agent_sink_failures_total", sink)
            print(f"sink health: {failures:.0f} failed applies while the command was broken; "
                  f"last success stayed at {first_success:.0f}")

            # Fixed in the file, SIGHUP: 200 again, and nginx serves the ring's key.
            configure(good)
            agent.send_signal(signal.SIGHUP)
            wait_until(lambda: agent.healthz() == 200, 20, what="/healthz 200 after the fix")
            assert sink_metric(agent, "stek_agent_sink_failing", sink) == 0
            assert sink_metric(agent, "stek_agent_sink_last_success_timestamp_seconds",
                               sink) > first_success
            wait_until(lambda: tls_connect(nginx.port, tmp_path, "1.2").key_name ==
                       encrypting_name(ring), 20, what="nginx on the ring's encrypting key")

            # A json sink added by SIGHUP gets the held ring at once.
            json_sink = f"json:{json_file}"
            configure(good, {"type": "json", "path": json_file})
            agent.send_signal(signal.SIGHUP)
            wait_until(json_file.exists, 20, what="the added json sink's file")
            wait_until(lambda: sink_metric(agent, "stek_agent_sink_applied_ring_version",
                                           json_sink) == ring["version"], 20,
                       what="the json sink's status")

            # Removed by SIGHUP: withdrawn (file erased), gone from the metrics, never written
            # again, not even by the re-apply of a later SIGHUP.
            configure(good)
            agent.send_signal(signal.SIGHUP)
            wait_until(lambda: not json_file.exists(), 20, what="the removed sink's file erased")
            wait_until(lambda: json_sink not in agent.metrics_text(), 20,
                       what="the removed sink out of the metrics")
            reloads = sink_metric(agent, "stek_agent_sink_reloads_total", sink)
            agent.send_signal(signal.SIGHUP)
            wait_until(lambda: sink_metric(agent, "stek_agent_sink_reloads_total", sink) >
                       reloads, 20, what="the next SIGHUP's re-apply")
            assert not json_file.exists()
            assert agent.healthz() == 200

            # A configuration that does not parse is refused whole: the agent keeps running.
            (tmp_path / "agent.toml").write_text("this is = = not toml\n")
            reloads = sink_metric(agent, "stek_agent_sink_reloads_total", sink)
            agent.send_signal(signal.SIGHUP)
            wait_until(lambda: sink_metric(agent, "stek_agent_sink_reloads_total", sink) >
                       reloads, 20, what="the re-apply after a bad configuration")
            assert agent.healthz() == 200 and sink in agent.metrics_text()
            agent.check_alive()
        log = (tmp_path / "agent.log").read_text()
        assert "keeping the running configuration" in log
        assert_no_key_bytes(log, [ring])


def test_a_missing_pid_file_is_a_warning_until_the_server_writes_it(tmp_path):
    e0 = int(time.time()) // INTERVAL
    ring = make_ring(DOMAIN, e0 - 2, e0 + 4, interval=INTERVAL)
    ring_file = tmp_path / "ring.json"
    write_ring(ring_file, ring)
    with ShmDir() as shm:
        pid_file = tmp_path / "server.pid"
        sink = f"nginx:{shm / 'nginx' / 'tickets.conf'}"
        port = free_port()
        write_config(tmp_path / "agent.toml", domain=DOMAIN, cache_dir=shm / "cache",
                     metrics_listen=f"{LOOPBACK}:{port}",
                     sinks=[{"type": "nginx", "dir": shm / "nginx",
                             "include": shm / "nginx" / "tickets.conf", "reload": "signal",
                             "pid_file": pid_file}])
        (shm / "nginx").mkdir()
        agent = Agent(tmp_path / "agent.toml", tmp_path / "agent.log", "--ring-file", ring_file,
                      metrics_port=port)
        with agent:
            agent.wait_listening()
            wait_until(lambda: sink_metric(agent, "stek_agent_sink_pid_file_problem", sink) == 1,
                       20, what="the pid_file warning")
            status, body = get(port, "/healthz")
            assert status == 200 and "warning" in body and str(pid_file) in body, body
            # A stale file (no such process) is the same warning.
            pid_file.write_text("4194303\n")
            agent.send_signal(signal.SIGHUP)
            wait_until(lambda: "not running" in get(port, "/healthz")[1], 20,
                       what="the stale pid_file warning")
            # The server runs and writes its pid: the warning clears at the next refresh.
            server = subprocess.Popen(["nohup", "sleep", "120"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)  # ignores the reload's SIGHUP
            pid_file.write_text(f"{server.pid}\n")
            agent.send_signal(signal.SIGHUP)
            wait_until(lambda: sink_metric(agent, "stek_agent_sink_pid_file_problem", sink) == 0,
                       20, what="the warning cleared")
            assert "warning" not in get(port, "/healthz")[1]
            server.kill()
            server.wait()
        assert "pid_file" in (tmp_path / "agent.log").read_text()
