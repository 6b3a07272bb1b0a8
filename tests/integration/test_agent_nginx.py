# ctest-timeout: 300  ctest-cost: 42
"""stek-agent feeding a real nginx: the nginx sink's key files, include and SIGHUP reloads make
nginx rotate at every epoch boundary with zero failed resumptions, erase expired keys, take a
replacement ring at once, and fall back to no stek keys (never an expired one) when the held
keys run out. The agent reads ring files here (--ring-file), so these tests need no stekd."""

import json
import time

from stektest import Nginx, stops_resuming, ticket_of_the_epoch, tls_connect, wait_until
from stektest.agent import ShmDir, start_agent, write_config
from stektest.nginx import include_keys
from stektest.proc import HarnessError
from stektest.ring import assert_no_key_bytes, key_by_epoch, make_ring, write_ring

DOMAIN = "eu-west"


def epoch_now(interval: int) -> int:
    return int(time.time()) // interval


def nginx_sink(keys, include, nginx_dir, **extra):
    sink = {"type": "nginx", "dir": keys, "include": include, "reload": "signal",
            "pid_file": nginx_dir / "nginx.pid"}
    sink.update(extra)
    return sink


def start(tmp_path, shm, ring, *, interval, nginx_conf=True, json_sink=False):
    """Agent on a ring file, then nginx including the agent's file. Returns (agent, nginx)."""
    ring_file = tmp_path / "ring.json"
    write_ring(ring_file, ring)
    include = tmp_path / "tickets.conf"
    nginx_dir = tmp_path / "nginx"
    sink = nginx_sink(shm / "keys", include, nginx_dir)
    if nginx_conf:
        sink["nginx_conf"] = nginx_dir / "nginx.conf"
    sinks = [sink]
    if json_sink:
        sinks.append({"type": "json", "path": shm / "app" / "ring.json"})
    config = write_config(tmp_path / "agent.toml", domain=DOMAIN, cache_dir=shm / "cache",
                          sinks=sinks)
    if nginx_conf:
        # The sink reads nginx.conf for ssl_session_timeout. Until stektest's nginx writes its
        # own (18h), a conf that fits the lifetime hint.
        nginx_dir.mkdir()
        (nginx_dir / "nginx.conf").write_text("events {}\nhttp { ssl_session_timeout 1s; }\n")
    agent = start_agent(tmp_path, config, "--ring-file", ring_file)
    wait_until(lambda: include_keys(include), 20, what="agent writes the include")
    if nginx_conf:
        assert agent.metrics()["stek_agent_sink_warnings"] == 0
    nginx = Nginx(nginx_dir, include=include)
    return agent, nginx


def test_nginx_resumes_across_rotations_and_forgets_expired_keys(tmp_path):
    interval, history = 4, 2
    e0 = epoch_now(interval)
    # Keys for 41 epochs: five observed epochs take about 6 on an idle machine, up to 20 on
    # a loaded one (each epoch's checks then overrun it); the loop stops 4 epochs before the
    # keys run out, so the checks after it still find the current and next keys.
    last = e0 + 40
    ring = make_ring(DOMAIN, e0 - history, last, interval=interval, history=history)
    names = {e: k["name"] for e, k in key_by_epoch(ring).items()}
    with ShmDir() as shm:
        agent, nginx = start(tmp_path, shm, ring, interval=interval)
        with agent, nginx:
            sessions = {}  # (version, epoch issued) -> session file
            resumed = failed = refused_expired = 0
            epochs_seen = []
            # Five epochs, and on (while the ring lasts) until enough checks had a verdict: on a
            # loaded machine more checks cross a boundary and give none.
            while epoch_now(interval) < last - 4 and (
                    len(epochs_seen) < 5 or resumed < 12 or refused_expired < 2):
                e = epoch_now(interval)
                # nginx issues tickets under K(e) once the agent has rotated and reloaded it.
                for version in ("1.2", "1.3"):
                    issued, fresh = ticket_of_the_epoch(nginx.port, tmp_path, version, names,
                                                        interval, within=interval + 5)
                    sessions[(version, issued)] = fresh.session_file
                # Newest first, so this epoch's tickets are judged before it ends.
                for (version, issued), session in sorted(sessions.items(),
                                                         key=lambda kv: -kv[0][1]):
                    before = epoch_now(interval)
                    result = tls_connect(nginx.port, tmp_path, version, resume=session)
                    if epoch_now(interval) != before:
                        continue  # crossed a boundary mid-check: no verdict
                    if issued >= before - history + 1:
                        # K(issued) is in nginx's list: the ticket must resume.
                        if result.reused:
                            resumed += 1
                        else:
                            failed += 1
                    elif issued <= before - history - 2:
                        # K(issued) expired over an epoch ago and is erased: no resumption.
                        assert not result.reused, f"ticket of epoch {issued} resumed in {before}"
                        refused_expired += 1
                        del sessions[(version, issued)]  # judged; keeps each round short
                if not epochs_seen or epochs_seen[-1] != e:
                    epochs_seen.append(e)
                # Sleep into the next epoch.
                time.sleep(max(0.0, (e + 1) * interval - time.time()) + 0.2)
            assert failed == 0, f"{failed} resumptions failed ({resumed} succeeded)"
            assert resumed >= 12
            assert refused_expired >= 2, "expired tickets were never tried"
            assert len(epochs_seen) >= 4  # at least 3 rotations observed

            # Key files: exactly nginx's list (encrypt, next, 2 decrypt), 80 bytes, mode 0600.
            def files_match():
                e = epoch_now(interval)
                want = {names[e], names[e + 1], names[e - 1], names[e - 2]}
                have = {p.stem for p in (shm / "keys").glob("*.key")}
                return have == want and include_keys(tmp_path / "tickets.conf")[0] == names[e]
            wait_until(files_match, interval, what="key files match the current epoch")
            for p in (shm / "keys").glob("*.key"):
                assert p.stat().st_size == 80
                assert p.stat().st_mode & 0o777 == 0o600
            # The include lists the encrypting key first, then next, then decrypt newest first.
            e = epoch_now(interval)
            order = include_keys(tmp_path / "tickets.conf")
            if epoch_now(interval) == e:
                assert order == [names[e], names[e + 1], names[e - 1], names[e - 2]]

            m = agent.metrics()
            assert m["stek_agent_serving"] == 1
            assert m["stek_agent_sync_failures_total"] == 0
            assert m["stek_agent_sink_reloads_total"] >= 3
            assert m["stek_agent_sink_erasures_total"] >= 3
            assert m["stek_agent_keys_erased_total"] >= 3
            assert m["stek_agent_ring_version"] == ring["version"]
            assert 0 < m["stek_agent_runway_seconds"] <= (last + 1 - e0) * interval
            # stektest's nginx says ssl_session_timeout 18h; the lifetime hint is H x I = 8 s.
            # The agent re-read nginx.conf after nginx replaced it.
            assert m["stek_agent_sink_warnings"] == 1
            assert agent.healthz() == 200
            metrics_text = agent.metrics_text()
        log = agent.log_path.read_text()
    assert_no_key_bytes(log + metrics_text, [ring])


def test_replacement_ring_takes_effect_at_once(tmp_path):
    """A newer ring version with a new domain secret (a compromise response) replaces every key
    immediately: new tickets use the new K(e), tickets under the old secret stop resuming."""
    interval, history = 30, 2
    e0 = epoch_now(interval)
    old = make_ring(DOMAIN, e0 - history, e0 + 2, interval=interval, history=history)
    with ShmDir() as shm:
        agent, nginx = start(tmp_path, shm, old, interval=interval, json_sink=True)
        with agent, nginx:
            e = epoch_now(interval)
            before = tls_connect(nginx.port, tmp_path, "1.2")
            assert before.key_name == key_by_epoch(old)[e]["name"]
            new = make_ring(DOMAIN, e0 - history, e0 + 2, interval=interval, history=history,
                            version=old["version"] + 1)
            write_ring(tmp_path / "ring.json", new)
            new_names = {k["name"] for k in new["keys"]}
            wait_until(lambda: tls_connect(nginx.port, tmp_path, "1.2").key_name in new_names, 15,
                       what="nginx on the replacement ring")
            stops_resuming(nginx.port, tmp_path, "1.2", before.session_file)
            old_names = {k["name"] for k in old["keys"]}
            assert not {p.stem for p in (shm / "keys").glob("*.key")} & old_names
            app_ring = json.loads((shm / "app" / "ring.json").read_text())
            assert app_ring["version"] == new["version"]
            # An older version is ignored.
            write_ring(tmp_path / "ring.json", old)
            time.sleep(2.5)
            assert agent.metrics()["stek_agent_ring_version"] == new["version"]
            assert agent.metrics()["stek_agent_rings_accepted_total"] == 2
        log = agent.log_path.read_text()
    assert_no_key_bytes(log, [old, new])


def test_keys_running_out_serves_no_stek_key(tmp_path):
    """Held keys end at epoch e0+3 and nothing newer arrives: from e0+4 on, nginx lists no stek
    key (it falls back to per-process keys), every key file and the cache are erased, /healthz
    says 503, and a ticket under a stek key no longer resumes."""
    interval, history, last = 3, 2, 3
    # The held keys must still cover now when the agent starts and nginx serves them, after the
    # ring is derived (stekctl runs: seconds each for the ASan build on a loaded machine) and
    # written: e0 lies two epochs ahead, and a derivation that ends past e0 + 1 is redone.
    for _ in range(5):
        e0 = epoch_now(interval) + 2
        ring = make_ring(DOMAIN, e0 - history, e0 + last, interval=interval, history=history)
        if epoch_now(interval) <= e0 + 1:
            break
    else:
        raise HarnessError("deriving a ring took over three intervals five times")
    names = {k["name"] for k in ring["keys"]}
    keys_end = (e0 + last + 1) * interval
    with ShmDir() as shm:
        started = int(time.time())
        agent, nginx = start(tmp_path, shm, ring, interval=interval, json_sink=True)
        with agent, nginx:
            wait_until(lambda: tls_connect(nginx.port, tmp_path, "1.2").key_name in names, 10,
                       what="nginx on stek keys")
            stek_ticket = tls_connect(nginx.port, tmp_path, "1.2")
            # The runway ends when the held keys do. The seconds left are as of the agent's last
            # refresh (whole seconds, some time after it started; under load seconds before
            # this read), so they are bounded by the start, not by now.
            m = agent.metrics()
            assert m["stek_agent_runway_end_timestamp_seconds"] == keys_end
            assert 0 < m["stek_agent_runway_seconds"] <= keys_end - started
            agent.wait_metric("stek_agent_serving", lambda v: v == 0,
                              timeout=max(0.0, keys_end - time.time()) + interval + 5)
            wait_until(lambda: not include_keys(tmp_path / "tickets.conf"), 5, what="empty include")
            assert not list((shm / "keys").glob("*.key"))
            assert not (shm / "cache" / f"{DOMAIN}.json").exists()
            assert not (shm / "app" / "ring.json").exists()
            assert agent.healthz() == 503
            # nginx still serves TLS, under keys that are not stek's.
            fallback = wait_until(
                lambda: (lambda r: r if r.ticket and r.key_name not in names else None)(
                    tls_connect(nginx.port, tmp_path, "1.2")), 10, what="nginx on its own keys")
            assert not fallback.reused
            stops_resuming(nginx.port, tmp_path, "1.2", stek_ticket.session_file)
        log = agent.log_path.read_text()
    assert_no_key_bytes(log, [ring])
