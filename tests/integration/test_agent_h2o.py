# ctest-timeout: 240  ctest-cost: 50
"""stek-agent feeding a real h2o 2.2 from a real stekd (issue 11, Deliver 5): the h2o sink
writes h2o's ticket file (YAML, each key with not_before/not_after in Unix seconds), h2o
re-reads it by itself (it polls the file's mtime every 10 s; no signal, no reload), and a
ticket resumes in its own epoch and after rotations, over TLS 1.2 and 1.3. h2o is told the
lifetime hint H x I (`lifetime`, mode "all"), and sends it."""

import time

from stektest import tls_connect, wait_until
from stektest.agent import Agent, ShmDir, write_config
from stektest.h2o import H2o
from stektest.proc import LOOPBACK, free_port
from stektest.ring import epoch
from stektest.stekd import Stekd

DOMAIN = "eu-west"
# Longer than h2o's 10 s poll of the file, so every epoch's key is read before it encrypts.
INTERVAL, HISTORY = 12, 2


def test_h2o_resumes_across_rotations_without_a_signal(tmp_path):
    stekd = Stekd(tmp_path / "stekd", domains=(DOMAIN,), interval=INTERVAL, history=HISTORY,
                  long_poll_timeout=20)
    with ShmDir() as shm, stekd:
        tickets = shm / "h2o" / "tickets.yaml"
        tickets.parent.mkdir()
        h2o = H2o(tmp_path / "h2o", tickets, lifetime=INTERVAL * HISTORY, start=False)
        port = free_port()
        config = write_config(
            tmp_path / "agent.toml", servers=[stekd.url], cache_dir=shm / "cache",
            poll_timeout=20, metrics_listen=f"{LOOPBACK}:{port}",
            tls={"cert": stekd.pki / "host-web1.crt", "key": stekd.pki / "host-web1.key",
                 "ca": stekd.pki / "ca.crt"},
            sinks=[{"type": "h2o", "path": tickets, "h2o_conf": h2o.conf}])
        agent = Agent(config, tmp_path / "agent.log", metrics_port=port)
        with agent:
            agent.wait_listening()
            wait_until(lambda: agent.check_alive() or tickets.exists(), 30,
                       what="the agent's ticket file")
            assert tickets.stat().st_mode & 0o777 == 0o600
            h2o.start()
            with h2o:
                pid = h2o.pid
                names = {}

                def refresh():
                    names.update({k["epoch"]: k["name"] for k in stekd.ring("host-web1")[1]["keys"]})

                sessions = {}
                tried = resumed = 0
                seen = []
                hint = None
                while len(seen) < 3:
                    e = epoch(INTERVAL)
                    refresh()
                    for version in ("1.2", "1.3"):
                        def fresh():
                            before = epoch(INTERVAL)
                            r = tls_connect(h2o.port, tmp_path, version)
                            return (before, r) if r.key_name == names.get(before) else None
                        issued, first = wait_until(fresh, 15,
                                                   what="h2o encrypting under the epoch's key")
                        hint = first.lifetime_hint
                        sessions[(version, issued)] = (first.session_file, time.time())
                    for (version, issued), (session, made) in sorted(sessions.items()):
                        before = epoch(INTERVAL)
                        result = tls_connect(h2o.port, tmp_path, version, resume=session)
                        # A verdict only within the ticket's key history and its lifetime hint
                        # (H x I): an older ticket is expired for client and server alike.
                        if (epoch(INTERVAL) != before or issued < before - HISTORY
                                or time.time() - made > INTERVAL * HISTORY - 2):
                            continue
                        tried += 1
                        resumed += result.reused
                    if not seen or seen[-1] != e:
                        seen.append(e)
                    time.sleep(max(0.0, (e + 1) * INTERVAL - time.time()) + 0.5)
                print(f"h2o: resumed {resumed}/{tried} tickets across {len(seen) - 1} rotations; "
                      f"lifetime hint {hint} s")
                assert len(seen) >= 3  # two rotations
                assert tried >= 6 and resumed == tried
                assert hint == INTERVAL * HISTORY
                assert h2o.pid == pid and h2o.alive()  # never signalled, never restarted
                m = agent.metrics()
                assert m["stek_agent_sink_reloads_total"] == 0
                assert m["stek_agent_sink_failures_total"] == 0
                assert m["stek_agent_sink_warnings"] == 0
                assert "session ticket secrets have been (re)loaded" in h2o.error_log() + \
                    h2o.output()
                secrets = [line.split()[1] for line in tickets.read_text().splitlines()
                           if line.strip().startswith("key:")]
        log = agent.log_path.read_text()
    pieces = [s[i:i + 16] for s in secrets for i in range(0, 192, 16)]
    assert secrets and not any(p in log for p in pieces if p != "0" * 16)  # HMAC key padding
