# ctest-timeout: 300  ctest-cost: 45
"""stek-agent feeding a real HAProxy 2.6 from a real stekd (issue 11, Deliver 2).

The haproxy sink writes the tls-ticket-keys file before HAProxy starts (in stekd's first
interval, a young ring with no previous key: the current key fills the previous line), then
rotates HAProxy's three keys (previous, current, next) through the runtime API at every
epoch boundary: no reload, HAProxy's pid and start time stay the same, and a ticket resumes
in its own epoch and the next one, over TLS 1.2 and 1.3. Without a stats socket the sink
falls back to the file and a reload (SIGUSR2 to the master-worker), and says so."""

import time

from stektest import Haproxy, tls_connect, wait_until
from stektest.agent import Agent, ShmDir, write_config
from stektest.proc import LOOPBACK, free_port
from stektest.ring import epoch
from stektest.stekd import Stekd

DOMAIN = "eu-west"
INTERVAL, HISTORY = 4, 2


class Names:
    """Key name by epoch, from the rings stekd serves this host (names only)."""

    def __init__(self, stekd):
        self.stekd, self.names = stekd, {}

    def refresh(self):
        _, ring = self.stekd.ring("host-web1")
        self.names.update({k["epoch"]: k["name"] for k in ring["keys"]})
        return self.names


def start(tmp_path, shm, stekd, *, socket=True):
    """Agent (haproxy sink) on stekd, then HAProxy on the file the agent wrote."""
    hdir = tmp_path / "haproxy"
    keys = shm / "haproxy" / "tickets.keys"
    keys.parent.mkdir()
    haproxy = Haproxy(hdir, keys, socket=socket, master_worker=not socket, start=False)
    sink = {"type": "haproxy", "path": keys, "socket": hdir / "admin.sock",
            "haproxy_cfg": haproxy.conf}
    if socket:
        sink["reload"] = "none"
    else:
        sink.update(reload="signal", pid_file=haproxy.pid_file)
    port = free_port()
    config = write_config(
        tmp_path / "agent.toml", servers=[stekd.url], cache_dir=shm / "cache", poll_timeout=20,
        metrics_listen=f"{LOOPBACK}:{port}",
        tls={"cert": stekd.pki / "host-web1.crt", "key": stekd.pki / "host-web1.key",
             "ca": stekd.pki / "ca.crt"},
        sinks=[sink])
    agent = Agent(config, tmp_path / "agent.log", metrics_port=port)
    agent.wait_listening()
    wait_until(lambda: agent.check_alive() or keys.exists(), 30, what="the agent's key file")
    assert keys.stat().st_mode & 0o777 == 0o600
    lines = keys.read_text().split()
    assert len(lines) == 3
    _, ring = stekd.ring("host-web1")
    if epoch(INTERVAL) - 1 not in {k["epoch"] for k in ring["keys"]}:
        # stekd's first interval: no previous key yet, the current one fills its slot.
        assert lines[0] == lines[1]
    haproxy.start()
    return agent, haproxy


def resumption_rounds(tmp_path, port, names, epochs):
    """For `epochs` epochs: a fresh ticket per epoch and version, then every ticket of this
    epoch and the last resumed. Returns (tried, resumed, older_tried, older_resumed, seen)."""
    sessions = {}
    tried = resumed = older_tried = older_resumed = 0
    seen = []
    while len(seen) < epochs:
        e = epoch(INTERVAL)
        names.refresh()
        for version in ("1.2", "1.3"):
            def fresh():
                before = epoch(INTERVAL)
                r = tls_connect(port, tmp_path, version)
                return (before, r) if r.key_name == names.names.get(before) else None
            issued, first = wait_until(fresh, INTERVAL + 5,
                                       what="HAProxy encrypting under the epoch's key")
            sessions[(version, issued)] = first.session_file
        for (version, issued), session in sorted(sessions.items()):
            before = epoch(INTERVAL)
            result = tls_connect(port, tmp_path, version, resume=session)
            if epoch(INTERVAL) != before:
                continue  # crossed a boundary mid-check: no verdict
            if issued >= before - 1:
                tried += 1
                resumed += result.reused
            else:
                # Older than HAProxy's one previous key: stek would still hold it (H = 2),
                # HAProxy cannot. The measured limit of three slots.
                older_tried += 1
                older_resumed += result.reused
        if not seen or seen[-1] != e:
            seen.append(e)
        time.sleep(max(0.0, (e + 1) * INTERVAL - time.time()) + 0.3)
    return tried, resumed, older_tried, older_resumed, seen


def test_haproxy_rotates_live_through_the_runtime_api(tmp_path):
    stekd = Stekd(tmp_path / "stekd", domains=(DOMAIN,), interval=INTERVAL, history=HISTORY,
                  long_poll_timeout=20)
    with ShmDir() as shm, stekd:
        agent, haproxy = start(tmp_path, shm, stekd)
        with agent, haproxy:
            names = Names(stekd)
            info = haproxy.info()
            pid, started = info["Pid"], int(time.time()) - int(info["Uptime_sec"])
            first = tls_connect(haproxy.port, tmp_path, "1.2")
            assert first.key_name in names.refresh().values()

            tried, resumed, older_tried, older_resumed, seen = resumption_rounds(
                tmp_path, haproxy.port, names, epochs=4)
            print(f"haproxy runtime API: resumed {resumed}/{tried} tickets of this or the "
                  f"last epoch across {len(seen) - 1} rotations; older tickets resumed "
                  f"{older_resumed}/{older_tried}")
            assert len(seen) >= 4  # at least 3 rotations
            assert tried >= 8 and resumed == tried
            assert older_resumed == 0

            # The same HAProxy process all along: no reload, no restart.
            info = haproxy.info()
            assert info["Pid"] == pid
            assert abs(int(time.time()) - int(info["Uptime_sec"]) - started) <= 2
            assert haproxy.alive()
            m = agent.metrics()
            assert m["stek_agent_sink_reloads_total"] == 0
            assert m["stek_agent_sink_failures_total"] == 0
            # haproxy.cfg sets no tune.ssl.lifetime: HAProxy promises 7200 s, three slots
            # honour I = 4 s, so the agent warns.
            assert m["stek_agent_sink_warnings"] == 1
            assert first.lifetime_hint == 7200
            assert agent.healthz() == 200
            # The file matches what HAProxy runs: the next restart starts where it is.
            dump = haproxy.admin("show tls-keys #0").splitlines()
            file_lines = (shm / "haproxy" / "tickets.keys").read_text().split()
            assert file_lines == [line.split()[1] for line in dump if line[:1].isdigit()]
        log = agent.log_path.read_text()
    assert "runtime API" in log and "no reload" in log
    # Key bytes never reach the log: no 16-character piece of any key line HAProxy held.
    assert not any(line[i:i + 16] in log for line in file_lines for i in range(0, 96, 16))


def test_haproxy_without_socket_falls_back_to_file_and_reload(tmp_path):
    stekd = Stekd(tmp_path / "stekd", domains=(DOMAIN,), interval=INTERVAL, history=HISTORY,
                  long_poll_timeout=20)
    with ShmDir() as shm, stekd:
        agent, haproxy = start(tmp_path, shm, stekd, socket=False)
        with agent, haproxy:
            names = Names(stekd)
            tried, resumed, _, _, seen = resumption_rounds(tmp_path, haproxy.port, names,
                                                           epochs=3)
            print(f"haproxy fallback: resumed {resumed}/{tried} across {len(seen) - 1} "
                  f"rotations")
            assert len(seen) >= 3
            assert tried >= 6 and resumed == tried
            m = agent.metrics()
            assert m["stek_agent_sink_reloads_total"] >= 2
            assert m["stek_agent_sink_failures_total"] == 0
        log = agent.log_path.read_text()
    assert "falling back to the key file and a reload" in log
