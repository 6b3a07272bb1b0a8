# ctest-timeout: 600  ctest-cost: 36
"""stek-scan against real nginx on 127.0.0.1. Each finding is produced by a server set up
to show it, next to a near-miss server that must not show it, so a missed finding and a
false one both fail."""

import json
import struct
import subprocess
import threading
import time
import zlib
from datetime import datetime, timezone

import pytest

from stektest import LOOPBACK, Nginx, binary, have, run, stekctl


def scan(*args, timeout=120, expect=(0, 1)):
    """Runs stek-scan with JSON on stdout; returns the parsed report."""
    proc = run([binary("stek-scan"), *args, "--json", "-", "-q"], timeout=timeout, check=False)
    assert proc.returncode in expect, (
        f"stek-scan exited {proc.returncode}\n{proc.stderr.decode(errors='replace')}")
    return json.loads(proc.stdout)


def findings(doc, fid):
    return [f for f in doc["findings"] if f["id"] == fid]


def ep(server):
    return f"{LOOPBACK}:{server.port}"


def key_name(path, fmt="nginx80"):
    doc = json.loads(stekctl("inspect", "--json", "--format", fmt, path).stdout)
    return doc["keys"][0]["name"]


def keygen(path, fmt="nginx80"):
    stekctl("keygen", "--format", fmt, "--out", path)
    return path


def unix(utc: str) -> float:
    return datetime.strptime(utc, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_static_key_file_never_rotates(tmp_path, version):
    key = keygen(tmp_path / "static.nginx80")
    with Nginx(tmp_path / "nginx", key_files=[key]) as nginx:
        doc = scan("watch", ep(nginx), "--sni", "localhost", "--tls", version,
                   "--duration", "3s", "--every", "1s")
    [f] = findings(doc, "never_rotates")
    assert f["endpoints"] == [ep(nginx)]
    assert f["evidence"]["key_name"] == key_name(key)
    assert f["evidence"]["observed_s"] >= 2.5
    assert f["evidence"]["tickets"] >= 4
    assert f["severity"] == "warning"
    assert not findings(doc, "rotation")
    # Every offered ticket resumed: the key really is the one in use.
    resumes = [c for c in doc["connections"] if c["kind"] == "resume"]
    assert resumes and all(c["resumed"] for c in resumes)


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA non-interlaced PNG (what rsvg-convert writes) into a
    list of rows of (r, g, b) tuples. Enough of PNG for checking colours, no PIL needed."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    bpp = 4 if ctype == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xff
            elif f == 2:
                line[i] = (line[i] + b) & 0xff
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xff
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xff
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return rows


def test_reload_without_key_file_rotates_on_every_reload(tmp_path):
    """nginx without ssl_session_ticket_key makes random keys at every configuration load:
    each reload is a rotation, and tickets of the old key stop resuming."""
    svg = tmp_path / "timeline.svg"
    with Nginx(tmp_path / "nginx") as nginx:
        proc = subprocess.Popen(
            [binary("stek-scan"), "watch", ep(nginx), "--sni", "localhost", "--duration", "9s",
             "--every", "1s", "--json", "-", "-q", "--svg", svg],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            started = time.time()
            reloads = []
            for at in (3.5, 6.5):
                time.sleep(max(0.0, started + at - time.time()))
                before = time.time()
                nginx.reload()
                reloads.append((before, time.time()))
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 1, err.decode(errors="replace")
    doc = json.loads(out)
    assert not findings(doc, "never_rotates")
    [rot] = findings(doc, "rotation")
    assert rot["evidence"]["rotations"] == 2
    assert rot["evidence"]["key_names"] == 3
    for when, (hup, done) in zip(rot["evidence"]["rotation_times"], reloads):
        # Seen at the first connection after the reload took effect.
        assert hup - 0.05 <= unix(when) <= done + 2.0, (when, hup, done)
    # nginx forgot the old keys: their tickets no longer resume.
    retired = rot["evidence"]["retired_checks"]
    assert len(retired) == 2 and not any(r["resumed"] for r in retired)
    # 18 h hint, keys lived about 3 s, and old tickets were refused: a broken promise.
    [hint] = findings(doc, "hint_exceeds_key_life")
    assert hint["severity"] == "warning"
    assert hint["evidence"]["retired_ticket_refused_within_hint"] is True

    # The timeline: one bar per key name, each in its own colour, visible once rendered.
    text = svg.read_text()
    assert text.count("<title>") >= 3
    names = [k["key_name"] for k in doc["endpoints"][0]["key_names"]]
    colours = {}
    for name in names:
        i = text.index(f"<title>{name}")
        colours[name] = text.rindex('fill="#', 0, i)
        colours[name] = text[colours[name] + 6:colours[name] + 13]
    assert len(set(colours.values())) == 3
    # The two retired keys' refused tickets: triangles, at the time they were offered.
    assert text.count('class="retired refused"') == 2
    if not have("rsvg-convert"):
        pytest.skip("rsvg-convert (librsvg2-bin) not installed: SVG not rendered")
    png = tmp_path / "timeline.png"
    run(["rsvg-convert", "-o", png, svg])
    pixels = png_pixels(png)
    counts = {}
    for row in pixels:
        for px in row:
            counts[px] = counts.get(px, 0) + 1
    for name, colour in colours.items():
        rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        assert counts.get(rgb, 0) >= 40, f"key {name} colour {colour} not rendered"


def test_two_nginx_sharing_a_key_file_share_a_stek(tmp_path):
    key = keygen(tmp_path / "shared.nginx80")
    with Nginx(tmp_path / "a", key_files=[key]) as a, Nginx(tmp_path / "b", key_files=[key]) as b:
        doc = scan("compare", ep(a), ep(b), "--sni", "localhost")
    [f] = findings(doc, "shared_stek")
    assert sorted(f["endpoints"]) == sorted([ep(a), ep(b)])
    assert f["evidence"]["key_name"] == key_name(key)
    cross = {(c["from"], c["to"]): c["resumed"] for c in f["evidence"]["cross_resumption"]}
    assert cross == {(ep(a), ep(b)): True, (ep(b), ep(a)): True}


def test_a_tls12_ticket_is_offered_at_tls12_to_a_server_that_also_speaks_tls13(tmp_path):
    """a speaks TLS 1.2 only, b 1.2 and 1.3, one key file: a's 1.2 ticket must be offered to b
    at 1.2, or b negotiates 1.3, ignores it, and the shared key looks unshared."""
    key = keygen(tmp_path / "shared.nginx80")
    with Nginx(tmp_path / "a", key_files=[key], protocols="TLSv1.2") as a, \
            Nginx(tmp_path / "b", key_files=[key]) as b:
        doc = scan("compare", ep(a), ep(b), "--sni", "localhost")
    cross = {(c["offered"]["from"], c["endpoint"]): c["resumed"]
             for c in doc["connections"] if c["kind"] == "cross" and c["status"] == "ok"}
    assert cross[(ep(a), ep(b))] is True
    # b's TLS 1.3 ticket cannot resume on a server without TLS 1.3: refused, not an error.
    assert cross[(ep(b), ep(a))] is False


def test_two_nginx_with_their_own_keys_share_nothing(tmp_path):
    ka = keygen(tmp_path / "a.nginx80")
    kb = keygen(tmp_path / "b.nginx80")
    with Nginx(tmp_path / "a", key_files=[ka]) as a, Nginx(tmp_path / "b", key_files=[kb]) as b:
        doc = scan("compare", ep(a), ep(b), "--sni", "localhost")
    assert not findings(doc, "shared_stek")
    assert not findings(doc, "cross_resumption")
    cross = [c for c in doc["connections"] if c["kind"] == "cross"]
    assert len(cross) == 2 and all(c["status"] == "ok" and not c["resumed"] for c in cross)


def test_a_decrypt_only_key_shared_between_endpoints_is_found_by_cross_resumption(tmp_path):
    """b issues under its own key but still holds a's key for decryption (nginx lists it
    second): no key name is shared, yet a's tickets resume on b."""
    ka = keygen(tmp_path / "a.nginx80")
    kb = keygen(tmp_path / "b.nginx80")
    with Nginx(tmp_path / "a", key_files=[ka]) as a, \
            Nginx(tmp_path / "b", key_files=[kb, ka]) as b:
        doc = scan("compare", ep(a), ep(b), "--sni", "localhost")
    assert not findings(doc, "shared_stek")
    [f] = findings(doc, "cross_resumption")
    assert f["evidence"]["from"] == ep(a) and f["evidence"]["to"] == ep(b)
    assert f["evidence"]["key_name"] == key_name(ka)


@pytest.mark.parametrize("size,bits", [(48, 128), (80, 256)])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_all_zero_key_is_reported(tmp_path, size, bits, version):
    zero = tmp_path / f"zero{size}.key"
    zero.write_bytes(bytes(size))
    zero.chmod(0o600)
    # stek's own tools refuse such a key by design; nginx takes it.
    assert stekctl("inspect", "--format", f"nginx{size}", zero, check=False).returncode != 0
    good = keygen(tmp_path / f"good.nginx{size}", f"nginx{size}")
    with Nginx(tmp_path / "zero", key_files=[zero]) as z, \
            Nginx(tmp_path / "good", key_files=[good]) as g:
        doc = scan("once", ep(z), ep(g), "--sni", "localhost", "--tls", version, expect=(1,))
    [f] = findings(doc, "zero_key")
    assert f["severity"] == "critical"
    assert f["endpoints"] == [ep(z)]
    assert f["evidence"]["hmac_sha256_all_zero_key"] is True
    assert f["evidence"]["aes_cbc_all_zero_key_bits"] == bits
    assert doc["findings"][0]["id"] == "zero_key"  # most severe first
    assert doc["worst_severity"] == "critical"


def test_psk_ke_is_reported_only_where_the_server_allows_it(tmp_path):
    """TLS 1.3 resumption without (EC)DHE: nginx refuses it by default and accepts it with
    OpenSSL's AllowNoDHEKEX option."""
    key = keygen(tmp_path / "k.nginx80")
    with Nginx(tmp_path / "strict", key_files=[key]) as strict, \
            Nginx(tmp_path / "lax", key_files=[key],
                  extra="        ssl_conf_command Options AllowNoDHEKEX;") as lax:
        doc = scan("once", ep(strict), ep(lax), "--sni", "localhost", "--tls", "1.3")
    results = {p["endpoint"]: p for p in doc["psk_ke"]}
    assert results[ep(lax)]["result"] == "accepted", results[ep(lax)]
    assert results[ep(strict)]["result"] == "rejected", results[ep(strict)]
    # The refusal counts only because the same ticket resumed with psk_dhe_ke.
    assert "with a key share" in results[ep(strict)]["control_detail"]
    assert [f["endpoints"] for f in findings(doc, "psk_ke_accepted")] == [[ep(lax)]]


def test_lifetime_hint_over_seven_days_is_reported(tmp_path):
    """OpenSSL caps the TLS 1.3 ticket lifetime at 7 days but sends nginx's
    ssl_session_timeout unchanged as the TLS 1.2 hint."""
    key = keygen(tmp_path / "k.nginx80")
    with Nginx(tmp_path / "long", key_files=[key], session_timeout="8d") as long_, \
            Nginx(tmp_path / "week", key_files=[key], session_timeout="7d") as week:
        doc = scan("once", ep(long_), ep(week), "--sni", "localhost", "--tls", "1.2")
    [f] = findings(doc, "hint_over_7_days")
    assert f["endpoints"] == [ep(long_)]
    assert f["evidence"]["lifetime_hint_s"] == 8 * 86400
    hints = {e["endpoint"]: e["lifetime_hint_s"]["max"] for e in doc["endpoints"]}
    assert hints[ep(week)] == 7 * 86400
