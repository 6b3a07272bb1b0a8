# ctest-timeout: 600  ctest-cost: 60
"""stek-scan merge on reports taken from several "vantage points": local nginx stand for the
locations an anycast name reaches from different places. Two locations deliberately share
one key file; a third has its own. Each report alone sees one endpoint and one key; only
the merge shows the shared STEK. Then a stek fleet (a real stekd, two domains of two hosts,
each a real stek-agent feeding a real nginx), each host scanned as its own vantage point:
the merge finds each domain's key on both its hosts and no key across domains. And
`merge --cross-resume`: each location's kept tickets, offered live at the others, resume
exactly between the two that share a key, whatever the key names (TLS 1.2 and 1.3)."""

import base64
import json
import os
import stat
import subprocess

import pytest

from stektest import BUILD_DIR, LOOPBACK, Nginx, binary, run, stekctl
from stektest.fleet import Fleet


def keygen(path):
    stekctl("keygen", "--format", "nginx80", "--out", path)
    return path


def key_name(path):
    doc = json.loads(stekctl("inspect", "--json", "--format", "nginx80", path).stdout)
    return doc["keys"][0]["name"]


def report(nginx, out):
    proc = run([binary("stek-scan"), "once", f"{LOOPBACK}:{nginx.port}", "--sni", "localhost",
                "--json", out, "-q", "--brief"], timeout=60, check=False)
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    return out


def merge(*files, expect):
    proc = run([binary("stek-scan"), "merge", *files, "--json", "-"], timeout=60, check=False)
    assert proc.returncode == expect, proc.stderr.decode(errors="replace")
    return json.loads(proc.stdout) if expect in (0, 1) else proc


def test_a_key_shared_by_two_locations_is_found_only_by_the_merge(tmp_path):
    shared = keygen(tmp_path / "shared.key")
    own = keygen(tmp_path / "own.key")
    with Nginx(tmp_path / "fra", key_files=[shared]) as fra, \
            Nginx(tmp_path / "sfo", key_files=[shared]) as sfo, \
            Nginx(tmp_path / "nrt", key_files=[own]) as nrt:
        files = [report(fra, tmp_path / "fra.json"), report(sfo, tmp_path / "sfo.json"),
                 report(nrt, tmp_path / "nrt.json")]
    for f in files:  # each vantage point alone: one endpoint, nothing shared
        doc = json.loads(f.read_text())
        assert not [x for x in doc["findings"] if x["id"] == "shared_stek"]
    doc = merge(*files, expect=1)
    [f] = doc["findings"]
    assert f["id"] == "shared_across_vantage_points"
    assert f["severity"] == "warning"
    assert f["vantage_points"] == sorted([str(files[0]), str(files[1])])
    assert f["evidence"]["key_name"] == key_name(shared)
    by_name = {k["key_name"]: k["vantage_points"] for k in doc["key_names"]}
    assert by_name == {key_name(shared): 2, key_name(own): 1}
    assert len(doc["vantage_points"]) == 3

    # Distinct keys at every location: nothing to report.
    assert merge(files[0], files[2], expect=0)["findings"] == []


def report_keeping_tickets(nginx, out, tickets, tls):
    proc = run([binary("stek-scan"), "once", f"{LOOPBACK}:{nginx.port}", "--sni", "localhost",
                "--tls", tls, "--json", out, "--keep-tickets", tickets, "-q", "--brief",
                "--no-psk-ke"], timeout=60, check=False)
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    return out, tickets


def kept_sessions(tickets):
    """The DER sessions of a tickets file (stek-scan-tickets 1 COUNT, then ticket lines)."""
    lines = tickets.read_text().splitlines()
    head = lines[0].split()
    assert head[:2] == ["stek-scan-tickets", "1"], lines[0]
    sessions = [base64.b64decode(line.split()[-1]) for line in lines if line.startswith("ticket ")]
    assert len(sessions) == int(head[2])
    return sessions


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_cross_resumption_finds_the_two_locations_that_share_a_key(tmp_path, tls):
    shared = keygen(tmp_path / "shared.key")
    own = keygen(tmp_path / "own.key")
    with Nginx(tmp_path / "fra", key_files=[shared]) as fra, \
            Nginx(tmp_path / "sfo", key_files=[shared]) as sfo, \
            Nginx(tmp_path / "nrt", key_files=[own]) as nrt:
        kept = [report_keeping_tickets(n, tmp_path / f"{tag}.json", tmp_path / f"{tag}.tickets",
                                       tls)
                for tag, n in (("fra", fra), ("sfo", sfo), ("nrt", nrt))]
        reports = [str(r) for r, _ in kept]
        for r, t in kept:
            # The sessions are a secret: the file is 0600, and nothing of them is in the report.
            assert stat.S_IMODE(os.stat(t).st_mode) == 0o600
            [session] = kept_sessions(t)
            text = r.read_text()
            assert base64.b64encode(session).decode() not in text
            for at in range(len(session) - 24):
                window = session[at:at + 24]
                assert window.hex() not in text.lower()
                assert base64.b64encode(window).decode()[:24] not in text
        proc = run([binary("stek-scan"), "merge", *reports, "--json", "-", "--cross-resume",
                    "--tickets", *[str(t) for _, t in kept]], timeout=300, check=False)
        assert proc.returncode == 1, proc.stderr.decode(errors="replace")
        doc = json.loads(proc.stdout)
        table = run([binary("stek-scan"), "merge", *reports, "--cross-resume", "--tickets",
                     *[str(t) for _, t in kept]], timeout=300, check=False)
        assert table.returncode == 1
        assert b"Cross-resumption" in table.stdout

    offers = {(o["from_vantage"], o["to_vantage"]): o for o in doc["cross_resumption"]}
    assert len(offers) == 6, doc["cross_resumption"]  # one ticket each, to the 2 others
    for (src, dst), o in offers.items():
        pair = {src, dst}
        want = "resumed" if pair == {reports[0], reports[1]} else "refused"
        assert o["result"] == want, o
        assert o["tls_version"] == f"TLSv{tls}"
    by_method = {}
    for f in doc["findings"]:
        assert f["id"] == "shared_across_vantage_points"
        by_method.setdefault(f["evidence"]["method"], []).append(sorted(f["vantage_points"]))
    assert by_method["cross_resumption"] == [sorted(reports[:2])]
    assert by_method["key_name"] == [sorted(reports[:2])]


def test_cross_resumption_does_not_try_expired_tickets(tmp_path):
    own = keygen(tmp_path / "own.key")
    with Nginx(tmp_path / "fra", key_files=[own]) as fra, \
            Nginx(tmp_path / "sfo", key_files=[own]) as sfo:
        a, at = report_keeping_tickets(fra, tmp_path / "a.json", tmp_path / "a.tickets", "1.2")
        b, _ = report_keeping_tickets(sfo, tmp_path / "b.json", tmp_path / "b.tickets", "1.2")
        # Issued long ago: older than its lifetime hint (nginx's default 5 minutes).
        lines = at.read_text().splitlines()
        lines = [" ".join(l.split()[:4] + ["1000"] + l.split()[5:]) if l.startswith("ticket ")
                 else l for l in lines]
        at.write_text("\n".join(lines) + "\n")
        proc = run([binary("stek-scan"), "merge", str(a), str(b), "--json", "-", "--cross-resume",
                    "--tickets", str(at), "-"], timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr.decode(errors="replace")  # the shared key name
    doc = json.loads(proc.stdout)
    [o] = doc["cross_resumption"]
    assert o["result"] == "not_tried" and o["detail"].startswith("expired"), o
    assert [f["evidence"]["method"] for f in doc["findings"]] == ["key_name"]


def test_one_name_scanned_from_two_places_is_offered_only_at_the_merges_own(tmp_path):
    """Behind anycast both vantage points scan one name; from wherever the merge runs that
    name reaches one location. Without --here no such offer is made; with --here B, A's
    ticket is offered at B's endpoint (which, run at B, is B's location)."""
    with Nginx(tmp_path / "any", key_files=[keygen(tmp_path / "k")]) as n:
        a, at = report_keeping_tickets(n, tmp_path / "a.json", tmp_path / "a.tickets", "1.3")
        b, bt = report_keeping_tickets(n, tmp_path / "b.json", tmp_path / "b.tickets", "1.3")
        base = [binary("stek-scan"), "merge", str(a), str(b), "--json", "-", "--cross-resume",
                "--tickets", str(at), str(bt)]
        blind = run(base, timeout=120, check=False)
        here = run(base + ["--here", str(b)], timeout=120, check=False)
    assert blind.returncode == 1  # the key name, seen from both
    offers = json.loads(blind.stdout)["cross_resumption"]
    assert len(offers) == 2
    assert all(o["result"] == "not_tried" and "same endpoint" in o["detail"] for o in offers)
    assert here.returncode == 1, here.stderr.decode(errors="replace")
    [o] = json.loads(here.stdout)["cross_resumption"]
    assert (o["from_vantage"], o["to_vantage"], o["result"]) == (str(a), str(b), "resumed")


def test_merge_refuses_tickets_files_that_do_not_fit(tmp_path):
    bad = tmp_path / "bad.tickets"
    bad.write_text("stek-scan-tickets 1 3\n")
    reps = []
    for tag in ("a", "b"):
        r = tmp_path / f"{tag}.json"
        r.write_text(json.dumps({"schema": "stek-scan/1", "endpoints": []}))
        reps.append(str(r))
    proc = run([binary("stek-scan"), "merge", *reps, "--cross-resume", "--tickets", str(bad), "-"],
               timeout=60, check=False)
    assert proc.returncode == 2 and b"truncated: 0 of 3" in proc.stderr, proc.stderr
    proc = run([binary("stek-scan"), "merge", *reps, "--cross-resume", "--tickets", str(bad)],
               timeout=60, check=False)
    assert proc.returncode == 2 and b"one file per report" in proc.stderr, proc.stderr


def test_merge_refuses_what_is_not_a_report(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "something-else"}')
    notjson = tmp_path / "x.json"
    notjson.write_text("not json")
    assert b"not a stek-scan report" in merge(bad, bad, expect=2).stderr
    assert b"not JSON" in merge(notjson, bad, expect=2).stderr
    assert merge(bad, expect=2).returncode == 2


def scan_all_at_once(eps, tmp_path, tag):
    """One `stek-scan once` report per endpoint, all started together."""
    procs = {}
    for name, ep in eps.items():
        out = tmp_path / f"{tag}-{name}.json"
        procs[name] = (out, subprocess.Popen(
            [binary("stek-scan"), "once", ep, "--sni", "localhost", "--tls", "1.2", "--json",
             out, "-q", "--brief", "--no-psk-ke"], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE))
    for name, (out, proc) in procs.items():
        _, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, 1), (name, err.decode(errors="replace"))
    return {name: out for name, (out, _) in procs.items()}


def test_merge_of_a_stek_fleet_shares_keys_within_a_domain_never_across(tmp_path):
    # A long interval: the four scans (well under a second) fall in one epoch; a scan round
    # that straddles a boundary is taken again (bounded).
    fleet = Fleet(tmp_path / "stek-fleet", BUILD_DIR, interval=60, history=2, lookahead=2,
                  long_poll_timeout=10)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        fleet.start()
        fleet.wait_ready()
        eps = {h.name: f"{LOOPBACK}:{h.https_port}" for h in fleet.hosts}
        for attempt in range(3):
            before = fleet.epoch()
            files = scan_all_at_once(eps, tmp_path, f"round{attempt}")
            if fleet.epoch() == before:
                break
        else:
            raise AssertionError("every scan round straddled an epoch boundary")
        rings = {h.domain: {k["name"] for k in fleet.fetch_ring(h)[1]["keys"]}
                 for h in fleet.hosts}
    finally:
        os.chdir(cwd)
        fleet.stop()

    by_domain = {d: [h.name for h in fleet.hosts if h.domain == d] for d in fleet.domains}
    for f in files.values():  # each vantage point alone sees one endpoint and its one key
        doc = json.loads(f.read_text())
        [e] = doc["endpoints"]
        assert len(e["key_names"]) == 1, e["key_names"]
    ordered = [files[n] for names in by_domain.values() for n in names]
    doc = merge(*ordered, expect=1)
    assert len(doc["vantage_points"]) == 4
    shared = sorted(sorted(f["vantage_points"]) for f in doc["findings"]
                    if f["id"] == "shared_across_vantage_points")
    want = sorted(sorted(str(files[n]) for n in names) for names in by_domain.values())
    assert shared == want  # within each domain, and no pair across domains
    names = {k["key_name"]: {s["vantage"] for s in k["seen"]} for k in doc["key_names"]}
    assert len(names) == 2, names  # one key per domain, distinct
    for d, hosts in by_domain.items():
        [name] = [n for n, where in names.items() if where == {str(files[h]) for h in hosts}]
        assert name in rings[d]  # the key stekd serves that domain
        assert all(name not in r for other, r in rings.items() if other != d)

    # Two hosts of different domains: distinct keys, nothing shared.
    (a1, _), (b1, _) = by_domain.values()
    assert merge(files[a1], files[b1], expect=0)["findings"] == []
