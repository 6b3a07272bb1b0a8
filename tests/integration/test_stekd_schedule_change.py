# ctest-timeout: 240  ctest-cost: 60
"""stekd restarted with a shorter history (issue 10, Deliver 9): real stekd, stek-agent and
nginx with a 6-second interval. A ticket issued under history 3 still resumes on nginx until
its key's epoch + 3 ends, although stekd now runs with history 0; then the key is erased from
stekd and from the agent's nginx key files, and the transition ends (audited). Another interval
is refused by a start and by --check-config, and the state file is left as it was."""

import subprocess
import time

from stektest import Nginx, binary, stops_resuming, tls_connect, wait_until
from stektest.agent import Agent, ShmDir, write_config
from stektest.nginx import include_keys
from stektest.proc import LOOPBACK, free_port
from stektest.stekd import Stekd

DOMAIN = "eu-west"
INTERVAL, OLD_HISTORY = 6, 3


def epoch_now() -> int:
    return int(time.time()) // INTERVAL


def wait_for_time(t: float) -> None:
    wait_until(lambda: time.time() >= t, t - time.time() + 30, interval=0.1,
               what=f"unix time {t}")


def test_old_ticket_resumes_until_its_old_lifetime_ends_after_a_shorter_history(tmp_path):
    stekd = Stekd(tmp_path / "stekd", domains=(DOMAIN,), interval=INTERVAL,
                  history=OLD_HISTORY, lookahead=2, long_poll_timeout=20)
    include = tmp_path / "tickets.conf"
    with ShmDir() as shm, stekd:
        nginx = Nginx(tmp_path / "nginx", include=include, session_timeout="120s", start=False)
        port = free_port()
        keys_dir = shm / "keys"
        config = write_config(
            tmp_path / "agent.toml", servers=[stekd.url], cache_dir=shm / "cache",
            poll_timeout=20, metrics_listen=f"{LOOPBACK}:{port}",
            tls={"cert": stekd.pki / "host-web1.crt", "key": stekd.pki / "host-web1.key",
                 "ca": stekd.pki / "ca.crt"},
            sinks=[{"type": "nginx", "dir": keys_dir, "include": include,
                    "reload": "signal", "pid_file": nginx.pid_file}])
        agent = Agent(config, tmp_path / "agent.log", metrics_port=port)
        with agent:
            agent.wait_listening()
            wait_until(lambda: agent.check_alive() or include_keys(include), 30,
                       what="the agent's first keys")
            nginx.start()
            with nginx:
                # Issue the ticket inside an epoch (not while the agent applies a boundary).
                wait_until(lambda: 2 <= time.time() % INTERVAL < 3, 2 * INTERVAL, interval=0.05,
                           what="the middle of an epoch")
                ticket = tls_connect(nginx.port, tmp_path, "1.2", tag="old")
                assert tls_connect(nginx.port, tmp_path, "1.2", resume=ticket.session_file).reused
                _, ring = stekd.ring("host-web1")
                k = next(key["epoch"] for key in ring["keys"] if key["name"] == ticket.key_name)
                assert k >= epoch_now() - 1

                # Restart stekd with history 0: under it alone, key k is expired at k + 1.
                stekd.stop()
                stekd.config.write_text(stekd.config.read_text().replace(
                    f"history = {OLD_HISTORY}", "history = 0"))
                stekd.start()
                changed = wait_until(lambda: stekd.audit_events("schedule_changed"), 20,
                                     what="the schedule change in the audit log")
                assert changed[0]["previous"]["history"] == OLD_HISTORY
                assert changed[0]["schedule"]["history"] == 0
                assert changed[0]["transition"]["history"] == OLD_HISTORY

                # The last epoch of the ticket's old lifetime: it still resumes there.
                last = k + OLD_HISTORY
                wait_for_time(last * INTERVAL + 1.5)
                resumed = tls_connect(nginx.port, tmp_path, "1.2", resume=ticket.session_file)
                checked_at = time.time()
                assert checked_at < (last + 1) * INTERVAL, "the check ran late; machine too slow"
                assert resumed.reused, "a ticket live under the old schedule stopped resuming"
                assert ticket.key_name in include_keys(include)

                # After it: the key is gone from stekd's ring, the agent's files and nginx.
                wait_for_time((last + 1) * INTERVAL)
                wait_until(lambda: ticket.key_name not in include_keys(include), 20,
                           what="the old key dropped from the nginx include")
                wait_until(lambda: not any(ticket.key_name in p.name
                                           for p in keys_dir.iterdir()), 20,
                           what="the old key's file erased")
                stops_resuming(nginx.port, tmp_path, "1.2", ticket.session_file, within=15)
                erased = [e["epoch"] for e in stekd.audit_events("epoch_secret_erased")]
                assert k in erased

                # The transition ends when the last key made under history 3 expires.
                ended = wait_until(lambda: stekd.audit_events("schedule_transition_ended"),
                                   10 * INTERVAL, what="the end of the transition")
                assert ended[0]["keys_kept_until"] == changed[0]["keys_kept_until"]
                _, ring = stekd.ring("host-web1")
                assert ring["schedule"]["history"] == 0
                assert stekd.proc.alive()


def test_another_interval_is_refused_by_start_and_check_config(tmp_path):
    stekd = Stekd(tmp_path / "stekd", domains=(DOMAIN,), interval=INTERVAL, history=2)
    with stekd:
        stekd.stop()
        before = stekd.state.read_bytes()
        stekd.config.write_text(stekd.config.read_text().replace(
            f"interval = {INTERVAL}", f"interval = {2 * INTERVAL}"))
        check = subprocess.run([binary("stekd"), "--config", stekd.config, "--check-config"],
                               capture_output=True, timeout=60)
        said = check.stdout.decode() + check.stderr.decode()
        assert check.returncode == 1, said
        assert f"schedule.interval = {INTERVAL}" in said and "Changing the schedule" in said
        proc = stekd.start(wait=False)
        assert proc.wait(60) == 1
        assert "Changing the schedule" in stekd.logs()
        assert stekd.state.read_bytes() == before
