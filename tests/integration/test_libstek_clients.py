# ctest-timeout: 600  ctest-cost: 25
"""Clients from outside the project resume against the example server using libstek: openssl
s_client, gnutls-cli, Python's ssl module and curl, over TLS 1.2 and 1.3, before and after key
rotations (by the library's own clock and by stek-agent rewriting the ring file)."""

import time

import pytest

from libstek_server import (ExampleServer, KeyPool, curl_twice, gnutls_resume, https_get,
                            resumed_flag, wait_key_change)
from stektest import have, tls_connect

VERSIONS = ["1.2", "1.3"]


@pytest.fixture
def ring_server(tmp_path):
    pool = KeyPool()
    ring = tmp_path / "ring.json"
    pool.write(ring)
    with ExampleServer(tmp_path, ring=ring) as server:
        server.pool, server.ring = pool, ring
        yield server


@pytest.mark.parametrize("version", VERSIONS)
def test_openssl_s_client_resumes(ring_server, tmp_path, version):
    first = tls_connect(ring_server.port, tmp_path, version)
    assert not first.reused
    assert first.key_name == ring_server.pool.name(ring_server.pool.epoch())
    assert first.lifetime_hint == 18 * 3600
    second = tls_connect(ring_server.port, tmp_path, version, resume=first.session_file)
    assert second.reused


@pytest.mark.skipif(not have("gnutls-cli"), reason="gnutls-bin not installed")
@pytest.mark.parametrize("version", VERSIONS)
def test_gnutls_cli_resumes(ring_server, version):
    resumed, out = gnutls_resume(ring_server.port, version)
    assert resumed, out


@pytest.mark.parametrize("version", VERSIONS)
def test_python_ssl_resumes(ring_server, version):
    _, body, session, reused = https_get(ring_server.port, version=version)
    assert not reused and not resumed_flag(body)
    _, body, _, reused = https_get(ring_server.port, version=version, session=session)
    assert reused and resumed_flag(body)


@pytest.mark.skipif(not have("curl"), reason="curl not installed")
@pytest.mark.parametrize("version", VERSIONS)
def test_curl_resumes(ring_server, version):
    assert curl_twice(ring_server.port, version) == [False, True]


def test_counters_see_every_resumption(ring_server, tmp_path):
    before = ring_server.keys()["counters"]
    first = tls_connect(ring_server.port, tmp_path, "1.3")
    for _ in range(3):
        assert tls_connect(ring_server.port, tmp_path, "1.3", resume=first.session_file).reused
    after = ring_server.keys()["counters"]
    assert after["resumed"] - before["resumed"] == 3
    assert after["renewed"] == before["renewed"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_client_resumes_across_a_rotation_by_the_clock(tmp_path, version):
    """Two-second epochs: the library rotates on its own at each boundary. A ticket from the
    previous epoch resumes, and is renewed under the new current key."""
    pool = KeyPool(interval=2, history=5, lookahead=30)  # keys for a minute ahead
    ring = tmp_path / "ring.json"
    pool.write(ring)
    with ExampleServer(tmp_path, ring=ring) as server:
        # Start just after a boundary (and after the server's rotation, which lags it by up to
        # 0.1 s) so both sessions come from one epoch.
        time.sleep(pool.interval - time.time() % pool.interval + 0.4)
        start_key = server.keys()["current_key"]
        assert start_key == pool.name(pool.epoch())
        first = tls_connect(server.port, tmp_path, version)
        _, _, py_session, _ = https_get(server.port, version=version)
        assert first.key_name == start_key
        renewed_before = server.keys()["counters"]["renewed"]

        new_key = wait_key_change(server, start_key)
        assert new_key == pool.name(pool.epoch())

        again = tls_connect(server.port, tmp_path, version, resume=first.session_file)
        assert again.reused
        assert again.key_name == new_key, "the old ticket was renewed under the new key"
        _, body, _, reused = https_get(server.port, version=version, session=py_session)
        assert reused and resumed_flag(body)
        assert server.keys()["counters"]["renewed"] - renewed_before == 2
        # Clients that keep their own sessions across the boundary.
        if have("gnutls-cli"):
            resumed, out = gnutls_resume(server.port, version)
            assert resumed, out
        assert curl_twice(server.port, version) == [False, True]


def test_agent_feeds_keys_and_an_outage_runs_down_the_runway(tmp_path):
    """stek-agent rewrites the ring as epochs pass; while it is gone the server rotates through
    the keys it holds and reports the runway left; when they run out it issues no tickets (full
    handshakes only); when the agent is back, tickets resume again."""
    pool = KeyPool(interval=2, history=3, lookahead=2)
    ring = tmp_path / "ring.json"
    pool.write(ring)
    with ExampleServer(tmp_path, ring=ring) as server:
        first = tls_connect(server.port, tmp_path, "1.3")
        version = 1
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the agent at work across at least two epochs
            version += 1
            pool.write(ring, version=version)
            time.sleep(0.5)
        assert server.keys()["ring_version"] == version
        assert tls_connect(server.port, tmp_path, "1.3", resume=first.session_file).reused

        ring.unlink()  # the agent is gone
        time.sleep(0.3)
        keys = server.keys()
        assert keys["source_present"] is False
        assert keys["has_keys"] is True
        assert 0 < keys["runway_seconds"] <= (pool.lookahead + 1) * pool.interval
        time.sleep(keys["runway_seconds"] + 1.5)
        keys = server.keys()
        assert keys["has_keys"] is False and keys["runway_seconds"] == 0
        assert keys["current_key"] == ""
        dry = tls_connect(server.port, tmp_path, "1.3")
        assert dry.tickets == [], "no ticket without a current key"
        assert not tls_connect(server.port, tmp_path, "1.3", resume=first.session_file).reused

        pool.write(ring, version=version + 1)  # the agent is back
        time.sleep(0.5)
        assert server.keys()["has_keys"] is True
        back = tls_connect(server.port, tmp_path, "1.3")
        assert back.key_name == pool.name(pool.epoch())
        assert tls_connect(server.port, tmp_path, "1.3", resume=back.session_file).reused


def test_compromise_replacement_by_the_agent_stops_old_tickets(ring_server, tmp_path):
    """A compromise rotation replaces the current key at once: its tickets stop resuming, by
    intent, and new tickets use the replacement."""
    pool, ring = ring_server.pool, ring_server.ring
    old = tls_connect(ring_server.port, tmp_path, "1.2")
    _, _, py_session, _ = https_get(ring_server.port, version="1.3")
    e = pool.epoch()
    pool.keys[e] = pool.key(e + 1000)
    pool.write(ring, version=2)
    new_key = wait_key_change(ring_server, old.key_name)
    assert new_key == pool.name(e)
    assert ring_server.keys()["ring_version"] == 2
    fresh = tls_connect(ring_server.port, tmp_path, "1.2")
    assert fresh.key_name == new_key
    assert not tls_connect(ring_server.port, tmp_path, "1.2", resume=old.session_file).reused
    _, body, _, reused = https_get(ring_server.port, version="1.3", session=py_session)
    assert not reused and not resumed_flag(body)
    assert tls_connect(ring_server.port, tmp_path, "1.2", resume=fresh.session_file).reused
