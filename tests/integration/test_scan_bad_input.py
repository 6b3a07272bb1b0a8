# ctest-timeout: 300  ctest-cost: 18
"""stek-scan on endpoints that are not healthy TLS servers: nothing listening, a server
that speaks something else, one that never answers, one that hangs up, one that issues no
tickets, and a certificate nobody trusts. Each gets a clear status within its time bound,
and the scan of the others goes on."""

import json
import signal
import socket
import subprocess
import threading

import pytest

from stektest import (LOOPBACK, Nginx, Process, binary, free_port, run, shared_cert,
                      stekctl, wait_for_port)
from stektest.proc import count_lines


class TcpServer:
    """A plain TCP server on 127.0.0.1 whose connections get `behaviour`:
    "http" answers 400, "silent" reads and never writes, "close" hangs up at once."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(32)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            if self.behaviour == "close":
                conn.close()
            elif self.behaviour == "http":
                conn.settimeout(2)
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass
                conn.close()
            else:
                self.held.append(conn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)
        for c in self.held:
            c.close()
        self.sock.close()


def scan_ms(doc):
    """How long the scan took by the scanner's clock (from its report), program start excluded."""
    return doc["finished_unix_ms"] - doc["started_unix_ms"]


def scan_json(*args, timeout=60):
    proc = run([binary("stek-scan"), *args, "--json", "-", "-q"], timeout=timeout, check=False)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else None, proc


def test_broken_endpoints_get_clear_statuses_within_their_bounds():
    refused_port = free_port()  # nothing listens there
    with TcpServer("http") as http, TcpServer("silent") as silent, TcpServer("close") as closer:
        eps = {
            "refused": f"{LOOPBACK}:{refused_port}",
            "not_tls": f"{LOOPBACK}:{http.port}",
            "timeout": f"{LOOPBACK}:{silent.port}",
            "closed": f"{LOOPBACK}:{closer.port}",
        }
        rc, doc, proc = scan_json("once", *eps.values(), "--connect-timeout", "2s",
                                  "--handshake-timeout", "2s")
    assert rc == 3, proc.stderr  # no endpoint completed a handshake
    # One silent endpoint costs one handshake timeout, all of it; the rest answer at once. Timed
    # by the scanner's own clock: starting the (ASan) program on a loaded machine is not the
    # scan's time, and took seconds there.
    took = {c["status"]: c["duration_ms"] for c in doc["connections"]}
    assert took["timeout"] >= 1950, took
    assert scan_ms(doc) < (2 + 4) * 1000, (scan_ms(doc), took)
    status = {c["endpoint"]: c["status"] for c in doc["connections"]}
    assert status == {ep: want for want, ep in eps.items()}
    for c in doc["connections"]:
        assert c["detail"], c
    failed = [f for f in doc["findings"] if f["id"] == "connection_failed"]
    assert sorted(f["endpoints"][0] for f in failed) == sorted(eps.values())


def test_a_broken_endpoint_does_not_stop_the_scan_of_a_good_one(tmp_path):
    key = tmp_path / "k.nginx80"
    stekctl("keygen", "--format", "nginx80", "--out", key)
    with TcpServer("silent") as silent, Nginx(tmp_path / "nginx", key_files=[key]) as nginx:
        rc, doc, proc = scan_json("once", f"{LOOPBACK}:{silent.port}", f"{LOOPBACK}:{nginx.port}",
                                  "--sni", "localhost", "--handshake-timeout", "1s")
    assert rc == 1, proc.stderr  # the dead endpoint is a warning, not a failure of the scan
    good = [e for e in doc["endpoints"] if e["endpoint"] == f"{LOOPBACK}:{nginx.port}"][0]
    assert good["tickets"] >= 1 and good["ok"] == 2


def test_watch_of_a_silent_server_ends_on_time():
    with TcpServer("silent") as silent:
        rc, doc, proc = scan_json("watch", f"{LOOPBACK}:{silent.port}", "--duration", "2s",
                                  "--every", "1s", "--handshake-timeout", "1s")
    assert rc == 3, proc.stderr
    # Three steps of one bounded connection each (nothing to resume), then done.
    assert len(doc["connections"]) == 3
    assert all(c["status"] == "timeout" for c in doc["connections"])
    assert scan_ms(doc) < (3 * 1 + 2 + 3) * 1000, scan_ms(doc)


def test_untrusted_certificate_is_noted_and_scanned_anyway(tmp_path):
    key = tmp_path / "k.nginx80"
    stekctl("keygen", "--format", "nginx80", "--out", key)
    cert, _ = shared_cert()
    with Nginx(tmp_path / "nginx", key_files=[key]) as nginx:
        ep = f"{LOOPBACK}:{nginx.port}"
        _, untrusted, _ = scan_json("once", ep, "--sni", "localhost")
        _, trusted, _ = scan_json("once", ep, "--sni", "localhost", "--ca-file", cert)
        _, wrong_name, _ = scan_json("once", ep, "--sni", "other.example", "--ca-file", cert)
    e = untrusted["endpoints"][0]
    assert e["certificate"] == {"verified": False, "error": "self-signed certificate"}
    assert e["tickets"] >= 1  # scanned anyway
    assert [f["id"] for f in untrusted["findings"]] == ["certificate_not_verified"]
    assert trusted["endpoints"][0]["certificate"] == {"verified": True, "error": ""}
    assert not trusted["findings"]
    assert wrong_name["endpoints"][0]["certificate"]["verified"] is False
    assert "hostname" in wrong_name["endpoints"][0]["certificate"]["error"]


@pytest.fixture
def s_server_no_tickets(tmp_path):
    """`openssl s_server -no_ticket`: no stateless tickets. Over TLS 1.2 it issues none; over
    TLS 1.3 OpenSSL sends stateful tickets (session ids), which carry no key name."""
    cert, key = shared_cert()
    port = free_port()
    server = Process(["openssl", "s_server", "-accept", f"{LOOPBACK}:{port}", "-cert", cert,
                      "-key", key, "-no_ticket", "-www", "-quiet"], tmp_path / "s_server.log")
    wait_for_port(port, proc=server.proc)
    yield f"{LOOPBACK}:{port}"
    server.stop()


def test_server_without_tickets_tls12(s_server_no_tickets):
    rc, doc, proc = scan_json("once", s_server_no_tickets, "--tls", "1.2")
    assert rc == 0, proc.stderr
    ids = [f["id"] for f in doc["findings"]]
    assert "no_ticket" in ids
    assert doc["psk_ke"][0]["result"] == "not_tested"
    assert doc["endpoints"][0]["key_names"] == []


def test_server_with_stateful_tls13_tickets_hides_the_key_name(s_server_no_tickets):
    rc, doc, proc = scan_json("once", s_server_no_tickets, "--tls", "1.3")
    assert rc == 0, proc.stderr
    [hidden] = [f for f in doc["findings"] if f["id"] == "key_name_hidden"]
    assert all(n < 80 for n in hidden["evidence"]["lengths"])
    assert doc["endpoints"][0]["key_names"] == []
    assert not [f for f in doc["findings"] if f["id"] == "zero_key"]


def test_interrupted_watch_still_reports(tmp_path):
    key = tmp_path / "k.nginx80"
    stekctl("keygen", "--format", "nginx80", "--out", key)
    with Nginx(tmp_path / "nginx", key_files=[key]) as nginx:
        proc = subprocess.Popen(
            [binary("stek-scan"), "watch", f"{LOOPBACK}:{nginx.port}", "--sni", "localhost",
             "--duration", "1h", "--every", "1s", "--json", "-"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # Interrupt once two fresh connections were reported on standard error (a fixed
            # sleep is not enough on a loaded machine); stdout is read only at the end.
            fresh = count_lines(proc.stderr, " fresh: ", 2, 60)
            assert fresh >= 2, "stek-scan watch reported fewer than 2 fresh connections"
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    doc = json.loads(out)
    assert doc["interrupted"] is True
    assert len([c for c in doc["connections"] if c["kind"] == "fresh"]) >= 2
    assert proc.returncode == 1  # the key never rotated while we looked


@pytest.mark.parametrize("args", [
    ["once"],                                                  # no endpoint
    ["once", "127.0.0.1:0"],                                   # bad port
    ["once", "bad host"],                                      # bad host
    ["compare", "127.0.0.1:1"],                                # compare needs two
    ["watch", "127.0.0.1:1", "--duration", "10s"],             # no --every
    ["watch", "127.0.0.1:1", "--duration", "1s", "--every", "5s"],
    ["watch", "127.0.0.1:1", "--duration", "30d", "--every", "1s"],  # too many steps
    ["once", "127.0.0.1:1", "--tls", "1.1"],
    ["once", "127.0.0.1:1", "--handshake-timeout", "0s"],
    ["once", "127.0.0.1:1", "127.0.0.1:1"],                    # duplicate
])
def test_bad_usage_exits_2_without_connecting(args):
    proc = run([binary("stek-scan"), *args], timeout=10, check=False)
    assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
    assert proc.stderr
