# ctest-timeout: 300  ctest-cost: 4
"""STEK-less mode (--tickets stateless) resumes with clients from outside the project, over
TLS 1.2 (session ids) and TLS 1.3 (stateful tickets), however the connection ends: with the
client's close_notify, the server's, or none at all. OpenSSL drops a session from its own cache
when a connection is freed without the server's close_notify; libstek's cache keeps it."""

import re
import socket
import ssl

import pytest

from libstek_server import ExampleServer, client_context, curl_twice, gnutls_resume, https_get
from stektest import LOOPBACK, have, run, shared_cert, tls_connect

VERSIONS = ["1.2", "1.3"]


@pytest.fixture
def stateless_server(tmp_path):
    with ExampleServer(tmp_path, tickets="stateless") as server:
        yield server


def test_s_client_reconnect_resumes_every_time(stateless_server):
    """s_client -reconnect: one full handshake, then five reconnections that offer the session;
    the client closes each one with close_notify before sending anything, and the server frees
    the connection without answering it. (TLS 1.2 only: s_client reconnects before it has read
    a TLS 1.3 ticket, whatever the server.)"""
    proc = run(["openssl", "s_client", "-connect", f"{LOOPBACK}:{stateless_server.port}",
                "-servername", "localhost", "-tls1_2", "-reconnect"],
               input=b"", timeout=30, check=False)
    out = proc.stdout.decode(errors="replace")
    lines = re.findall(r"^(New|Reused), TLSv", out, re.M)
    assert len(lines) == 6, out
    assert lines.count("Reused") == 5, out


@pytest.mark.parametrize("version", VERSIONS)
def test_s_client_sess_in_resumes(stateless_server, tmp_path, version):
    first = tls_connect(stateless_server.port, tmp_path, version)
    assert not first.reused
    for _ in range(3):
        assert tls_connect(stateless_server.port, tmp_path, version,
                           resume=first.session_file).reused


@pytest.mark.parametrize("version", VERSIONS)
def test_resumes_after_the_client_drops_the_connection(stateless_server, version):
    """The client ends the first connection without close_notify (a TCP close right after the
    handshake, as browsers and Go's crypto/tls often do); the session still resumes."""
    ctx = client_context(version=version)
    raw = socket.create_connection((LOOPBACK, stateless_server.port), timeout=10)
    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        if version == "1.3":  # tickets arrive after the handshake: read some of the answer
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            tls.recv(1)
        session = tls.session
        tls.shutdown(socket.SHUT_RDWR)  # a TCP close: no close_notify
    _, body, _, reused = https_get(stateless_server.port, version=version, session=session)
    assert reused and "resumed=1" in body


@pytest.mark.skipif(not have("gnutls-cli"), reason="gnutls-bin not installed")
@pytest.mark.parametrize("version", VERSIONS)
def test_gnutls_cli_resumes(stateless_server, version):
    resumed, out = gnutls_resume(stateless_server.port, version)
    assert resumed, out


@pytest.mark.skipif(not have("curl"), reason="curl not installed")
@pytest.mark.parametrize("version", VERSIONS)
def test_curl_resumes(stateless_server, version):
    assert curl_twice(stateless_server.port, version) == [False, True]


def test_status_counts_cached_sessions(stateless_server, tmp_path):
    tls_connect(stateless_server.port, tmp_path, "1.2")
    assert stateless_server.status()["cached_sessions"] >= 1
