# ctest-timeout: 300  ctest-cost: 70
"""stek-scan against TLS stacks other than OpenSSL, from Debian packages, on 127.0.0.1: it
must tell each ticket layout from the bytes alone and follow the key name (or Java's key id)
through real rotations where the server allows a short one (Caddy, JSSE), and report a
stable key where it does not rotate within a test (gnutls-serv, NSS selfserv)."""

import json
import subprocess
import time

import pytest

from stektest import LOOPBACK, Nginx, binary, run
from stektest.proc import count_lines
from stektest.stacks import Caddy, GnutlsServ, JsseServer, NssSelfserv, java_program, missing


def scan(*args, timeout=120):
    proc = run([binary("stek-scan"), *args, "--json", "-", "-q"], timeout=timeout, check=False)
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout)


def findings(doc, fid):
    return [f for f in doc["findings"] if f["id"] == fid]


def layout(doc):
    [e] = doc["endpoints"]
    return e["ticket_layout"]


def need(*programs):
    if absent := missing(*programs):
        pytest.skip(f"not installed: {', '.join(absent)} (scripts/setup.sh peers)")


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_caddy_go_layout_and_its_rotation_interval(tmp_path, version):
    """Caddy 2.6 rotating every 2 s: Go's layout, and the interval within one probe step."""
    need("caddy")
    with Caddy(tmp_path / "caddy", rotation="2s") as caddy:
        doc = scan("watch", f"{LOOPBACK}:{caddy.port}", "--sni", "localhost", "--tls", version,
                   "--duration", "7s", "--every", "1s")
    assert layout(doc)["layout"] == "go"
    assert layout(doc)["confidence"] == "high"
    assert not findings(doc, "key_name_hidden")
    [rot] = findings(doc, "rotation")
    assert rot["evidence"]["rotations"] >= 2
    assert abs(rot["evidence"]["median_interval_s"] - 2.0) <= 1.0 + 0.3
    # Tickets under the current key resume: the names read are the server's real keys.
    resumes = [c for c in doc["connections"] if c["kind"] == "resume"]
    assert resumes and sum(c["resumed"] for c in resumes) >= len(resumes) - 2


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_gnutls_serv_layout_and_one_key(tmp_path, version):
    """gnutls-serv derives its ticket key for hours: one key name, GnuTLS's layout."""
    need("gnutls-serv")
    with GnutlsServ(tmp_path / "gnutls") as server:
        # Two steps: two fresh tickets even where a TLS 1.2 resumption renews none.
        doc = scan("watch", f"{LOOPBACK}:{server.port}", "--sni", "localhost", "--tls", version,
                   "--duration", "1s", "--every", "1s")
    assert layout(doc) | {"reason": ""} == {"layout": "gnutls", "confidence": "high",
                                            "key_name_bytes": 16, "reason": ""}
    [e] = doc["endpoints"]
    assert len(e["key_names"]) == 1 and e["key_names"][0]["tickets"] >= 2
    assert e["resumption"]["resumed"] >= 1


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_nss_selfserv_layout_and_one_key(tmp_path, version):
    need("selfserv", "certutil", "pk12util")
    with NssSelfserv(tmp_path / "nss") as server:
        # Two steps: two fresh tickets even where a TLS 1.2 resumption renews none.
        doc = scan("watch", f"{LOOPBACK}:{server.port}", "--sni", "localhost", "--tls", version,
                   "--duration", "1s", "--every", "1s")
    assert layout(doc)["layout"] == "nss"
    assert layout(doc)["confidence"] == "high"
    [e] = doc["endpoints"]
    assert len(e["key_names"]) == 1 and e["key_names"][0]["tickets"] >= 2
    assert e["resumption"]["resumed"] >= 1


def test_jsse_key_id_and_its_rotation_interval(tmp_path):
    """OpenJDK 17's JSSE with a 3 s key timeout: a 4-byte key id, followed over rotations.
    JSSE rotates lazily (at the first ticket after the timeout), so the interval is at
    least 3 s and at most 3 s plus one probe step."""
    java = java_program()
    if java is None:
        pytest.skip("OpenJDK 17 with jdk.compiler not installed (scripts/setup.sh peers)")
    with JsseServer(tmp_path / "java", java, key_timeout=3) as server:
        doc = scan("watch", f"{LOOPBACK}:{server.port}", "--sni", "localhost", "--tls", "1.3",
                   "--duration", "8s", "--every", "1s")
    assert layout(doc)["layout"] == "java"
    assert layout(doc)["key_name_bytes"] == 4
    [rot] = findings(doc, "rotation")
    assert rot["evidence"]["rotations"] >= 1
    names = [k["key_name"] for k in doc["endpoints"][0]["key_names"]]
    assert all(n.endswith("0" * 24) for n in names)  # 4 bytes of id, zero-padded
    # Successive ids count up by one.
    ids = [int(n[:8], 16) for n in names]
    assert all(b == (a + 1) % 2**32 for a, b in zip(ids, ids[1:]))
    if rot["evidence"]["median_interval_s"] is not None:
        assert 3.0 - 0.3 <= rot["evidence"]["median_interval_s"] <= 4.0 + 0.5


def test_nginx_is_openssl_layout_with_high_confidence(tmp_path):
    with Nginx(tmp_path / "nginx") as nginx:
        doc = scan("once", f"{LOOPBACK}:{nginx.port}", "--sni", "localhost")
    assert layout(doc)["layout"] == "openssl"
    assert layout(doc)["confidence"] == "high"


def test_acceptance_window_by_resumption_alone(tmp_path):
    """Layout-free key life: at the end of a watch, older tickets are offered back at
    halving ages. nginx with a static key file opens them all, the oldest as old as the
    watch; nginx reloaded without a key file (new random keys) refuses the ones from
    before the reload."""
    key = tmp_path / "static.key"
    run([binary("stekctl"), "keygen", "--format", "nginx80", "--out", key])
    with Nginx(tmp_path / "static", key_files=[key]) as nginx:
        doc = scan("watch", f"{LOOPBACK}:{nginx.port}", "--sni", "localhost", "--tls", "1.2",
                   "--duration", "4s", "--every", "1s", "--no-retired")
    [w] = findings(doc, "acceptance_window")
    assert w["evidence"]["shortest_refused_age_s"] is None
    assert w["evidence"]["longest_resumed_age_s"] >= 3.5
    assert len(w["evidence"]["checks"]) >= 2

    with Nginx(tmp_path / "random") as nginx:
        proc = subprocess.Popen(
            [binary("stek-scan"), "watch", f"{LOOPBACK}:{nginx.port}", "--sni", "localhost",
             "--tls", "1.2", "--duration", "4s", "--every", "1s", "--no-retired", "--json", "-"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # Reload once the first ticket is taken (a fixed sleep missed it under load), so
            # the oldest ticket predates the reload.
            assert count_lines(proc.stderr, " fresh: ", 1, 60) == 1, "no fresh connection"
            nginx.reload()
            reloaded = time.time()
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        ended = time.time()
    doc = json.loads(out)
    [w] = findings(doc, "acceptance_window")
    # The oldest ticket predates the reload and is refused; a ticket from after it resumes.
    assert w["evidence"]["shortest_refused_age_s"] is not None
    assert w["evidence"]["shortest_refused_age_s"] >= 0
    checks = w["evidence"]["checks"]
    assert not checks[0]["resumed"]
    assert checks[-1]["resumed"] or checks[-1]["age_s"] > ended - reloaded
