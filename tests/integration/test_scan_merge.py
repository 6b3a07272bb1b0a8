# ctest-timeout: 300  ctest-cost: 25
"""stek-scan merge on reports taken from several "vantage points": local nginx stand for the
locations an anycast name reaches from different places. Two locations deliberately share
one key file; a third has its own. Each report alone sees one endpoint and one key; only
the merge shows the shared STEK."""

import json

from stektest import LOOPBACK, Nginx, binary, run, stekctl


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


def test_merge_refuses_what_is_not_a_report(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "something-else"}')
    notjson = tmp_path / "x.json"
    notjson.write_text("not json")
    assert b"not a stek-scan report" in merge(bad, bad, expect=2).stderr
    assert b"not JSON" in merge(notjson, bad, expect=2).stderr
    assert merge(bad, expect=2).returncode == 2
