# ctest-timeout: 300  ctest-cost: 20
"""stekd's audit fails closed and is complete (issue 10, item 7), with a real stekd: on a full
filesystem an admin rotation is refused and changes nothing, /healthz fails and the metric
counts it, and no partial line is left; refused admin calls (403, 404, 405) are audited with
the peer's address and certificate serial; SIGHUP reopens an audit file that was moved away."""

import contextlib
import json
import os
import signal
import subprocess

from stektest import run, wait_until
from stektest.proc import Process, binary, wait_for_port
from stektest.stekd import Stekd

PAGE = 4096


def lines(path):
    """Every line of the audit file, parsed; fails on a partial or unparsable line."""
    text = path.read_text()
    assert text == "" or text.endswith("\n"), f"audit file ends mid-line: {text[-120:]!r}"
    return [json.loads(line) for line in text.splitlines()]


def rotate(stekd, domain="eu-west"):
    return run([binary("stekctl", stekd.build_dir), "rotate-domain-secret", domain, "--yes",
                "--server", stekd.url, "--cert", stekd.pki / "admin-admin.crt",
                "--key", stekd.pki / "admin-admin.key", "--ca", stekd.pki / "ca.crt"],
               check=False)


def ring_version(stekd, domain="eu-west"):
    return stekd.metrics()[f'stek_ring_version{{domain="{domain}"}}']


@contextlib.contextmanager
def small_tmpfs(where):
    """A 64 KiB tmpfs at `where`, or None where mounting is not allowed."""
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs",
                              str(where)], capture_output=True).returncode == 0
    try:
        yield where if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(fs_dir, audit, slack):
    """Leaves `slack` bytes free in the audit file's last page and nothing else free on the
    filesystem, so the next audit line can only be written in part."""
    size = audit.stat().st_size
    pad = (-size - slack) % PAGE
    if pad < 40:
        pad += PAGE
    filler_line = json.dumps({"event": "test_padding", "pad": ""})
    with open(audit, "a") as f:
        f.write(filler_line[:-2] + "x" * (pad - len(filler_line) - 1) + '"}\n')
    with open(fs_dir / "filler", "wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while f.write(b"\0" * PAGE):
                pass


def test_rotation_on_a_full_audit_filesystem_is_refused_and_changes_nothing(tmp_path):
    with small_tmpfs(tmp_path / "fs") as fs_dir:
        stekd = Stekd(tmp_path / "stekd", start=False)
        target = fs_dir / "audit.jsonl" if fs_dir else tmp_path / "audit.jsonl"
        stekd.audit.symlink_to(target)
        with stekd:
            stekd.start()
            version = ring_version(stekd)
            state = stekd.state.read_bytes()
            assert stekd.healthz() == 200
            if fs_dir:
                fill(fs_dir, target, slack=60)
            else:  # no mount here: /dev/full, taken up through the SIGHUP reopen
                stekd.audit.unlink()
                stekd.audit.symlink_to("/dev/full")
                stekd.proc.send_signal(signal.SIGHUP)
                wait_until(lambda: stekd.healthz() != 200, 15, what="audit failure noticed")
            before = target.read_text() if fs_dir else ""

            r = rotate(stekd)
            assert r.returncode != 0, r.stdout
            assert b"audit" in r.stderr + r.stdout
            assert ring_version(stekd) == version
            assert stekd.state.read_bytes() == state
            assert stekd.healthz() != 200
            assert stekd.metrics()["stek_audit_failures_total"] >= 1
            assert stekd.metrics()["stek_audit_failing"] == 1
            if fs_dir:
                assert target.read_text() == before  # no partial line, nothing cut
                lines(target)

                # Space again: the next rotation is audited and done; health comes back.
                (fs_dir / "filler").unlink()
                assert rotate(stekd).returncode == 0
                assert ring_version(stekd) > version
                assert stekd.healthz() == 200
                assert stekd.metrics()["stek_audit_failing"] == 0
                events = [e["event"] for e in lines(target)]
                assert "admin_rotate_secret" in events and "domain_secret_rotated" in events


def serial_of(cert):
    out = run(["openssl", "x509", "-noout", "-serial", "-in", cert]).stdout.decode()
    return out.strip().split("=", 1)[1].lstrip("0").upper()


def test_refused_admin_calls_are_audited_with_peer_and_serial(tmp_path):
    with Stekd(tmp_path) as stekd:
        calls = [("GET", "/v1/admin/status", "host-web1", 403),
                 ("GET", "/v1/admin/nothing", "admin-admin", 404),
                 ("POST", "/v1/admin/status", "admin-admin", 405)]
        for method, path, identity, status in calls:
            assert stekd.request(path, identity, method)[0] == status
        refused = [e for e in lines(stekd.audit) if e["event"] == "admin_refused"]
        assert [(e["method"], e["path"], e["status"]) for e in refused] == [
            (m, p, s) for m, p, _, s in calls]
        for e, (_, _, identity, _) in zip(refused, calls):
            assert e["peer"].startswith("127.0.0.1:")
            assert e["serial"].lstrip("0").upper() == serial_of(stekd.pki / f"{identity}.crt")
            assert e["ts"].endswith("Z") and "T" in e["ts"]
        log = stekd.logs()
        assert "/v1/admin/nothing" in log and "405" in log


def test_sighup_reopens_an_audit_file_that_was_moved_away(tmp_path):
    with Stekd(tmp_path) as stekd:
        # stekd's port opens a moment before it records its start (it accepts nothing before
        # that: both happen before its event loop runs), so the harness may be here first.
        wait_until(lambda: any(e["event"] == "stekd_started" for e in lines(stekd.audit)), 15,
                   what="stekd_started in the audit file")
        moved = tmp_path / "audit.jsonl.1"
        os.rename(stekd.audit, moved)
        stekd.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: stekd.audit.exists(), 15, what="a new audit file")
        stekd.admin_json("/v1/admin/status")
        wait_until(lambda: any(e["event"] == "admin_status" for e in lines(stekd.audit)), 15,
                   what="the status call in the new audit file")
        assert not any(e["event"] == "admin_status" for e in lines(moved))
        stekd.stop()
        assert [e["event"] for e in lines(stekd.audit)][-2:] == ["stekd_stopping", "stekd_stopped"]


def test_without_an_audit_path_events_go_to_the_log(tmp_path):
    stekd = Stekd(tmp_path, start=False)
    stekd.config.write_text(stekd.config.read_text().replace('path = "audit.jsonl"\n', ""))
    with stekd:
        stekd.start()
        stekd.admin_json("/v1/admin/status")
        wait_until(lambda: 'audit {"actor":"admin"' in stekd.logs() or
                   '"event":"admin_status"' in stekd.logs(), 15, what="audit line in the log")
        assert not stekd.audit.exists()


def test_sighup_reopens_the_log_file_too(tmp_path):
    stekd = Stekd(tmp_path / "stekd")
    stekd.stop()
    log = tmp_path / "stekd-file.log"
    with Process([binary("stekd", stekd.build_dir), "--config", stekd.config, "--log-file", log],
                 tmp_path / "stderr.log", name="stekd") as proc:
        wait_for_port(stekd.port, 20, proc=proc)
        os.rename(log, tmp_path / "stekd-file.log.1")
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: log.exists() and "reopened" in log.read_text(), 15,
                   what="a new log file")
    assert "stekd ready" in (tmp_path / "stekd-file.log.1").read_text()
    assert "stopped" in log.read_text()
