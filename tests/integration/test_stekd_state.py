# ctest-timeout: 300  ctest-cost: 20
"""stekd's state file against an unlucky operator and kill -9 (issue 10): an older copy put
back after rotate-domain-secret, a deleted state file, and temp files of interrupted commits.
Real stekd processes; the state file, its generation counter and the log are stekd's own."""

import os
import shutil
import signal
import threading

from stektest import accepts, binary, run, wait_until
from stektest.stekd import Stekd

ROTATE = "/v1/admin/domains/eu-west/rotate-secret"


def names(ring):
    return {k["name"] for k in ring["keys"]}


def refused(stekd: Stekd, *, init: bool = False) -> str:
    """Starts stekd, which must exit 1 without listening; returns what this run logged."""
    before = len(stekd.logs())
    proc = stekd.start(wait=False, init=init)
    assert proc.wait(timeout=30) == 1, proc.output()[before:]
    assert not accepts(stekd.port)
    return stekd.logs()[before:]


def check_config(stekd: Stekd) -> int:
    return run([binary("stekd"), "--config", stekd.config, "--check-config"], check=False,
               timeout=30).returncode


def temp_files(stekd: Stekd) -> list[str]:
    return sorted(p.name for d in (stekd.dir, stekd.pki) for p in d.iterdir()
                  if ".tmp-" in p.name)


def test_older_copy_restored_after_a_compromise_rotation_is_refused(tmp_path):
    stekd = Stekd(tmp_path)
    try:
        _, compromised = stekd.ring("host-web1")
        backup = tmp_path / "backup.json"
        shutil.copy(stekd.state, backup)
        stekd.admin("rotate-domain-secret", "eu-west", "--yes")
        _, rotated = stekd.ring("host-web1")
        assert not names(rotated) & names(compromised)
    finally:
        stekd.stop()
    newest = stekd.state.read_bytes()
    shutil.copy(backup, stekd.state)
    log = refused(stekd)
    assert "older copy" in log and "--init" in log, log
    assert check_config(stekd) == 1
    # The newest copy put back: stekd serves the rotated ring, never the erased secret.
    stekd.state.write_bytes(newest)
    stekd.start()
    try:
        _, ring = stekd.ring("host-web1")
        assert names(ring) == names(rotated)
        assert {k["secret_version"] for k in ring["keys"]} == {2}
    finally:
        stekd.stop()


def test_deleted_state_file_is_refused_unless_told_to_initialise(tmp_path):
    stekd = Stekd(tmp_path)
    try:
        old_version, old_ring = stekd.ring("host-web1")
    finally:
        stekd.stop()
    stekd.state.unlink()
    log = refused(stekd)
    assert "missing" in log and "--init" in log, log
    assert not stekd.state.exists()
    # --init makes new secrets under ring versions above every old one: a running agent that
    # waits on the old version is answered at once, not told 304.
    stekd.start(init=True)
    try:
        version, ring = stekd.ring("host-web1", f"?wait={old_version}&timeout=1")
        assert version > old_version
        assert not names(ring) & names(old_ring)
        assert min(k["secret_version"] for k in ring["keys"]) >= 2
    finally:
        stekd.stop()
    # --init never replaces a state file that exists.
    log = refused(stekd, init=True)
    assert "without --init" in log, log


def test_kill_during_commits_leaves_no_temp_file_after_restart(tmp_path):
    stekd = Stekd(tmp_path)
    stekd.ring("host-web1")
    erased = stekd.state.read_bytes()  # holds domain secret v1, erased by the first rotation
    seen_leftover = False
    for round_ in range(6):
        stop = threading.Event()

        def rotate():
            while not stop.is_set():
                try:
                    stekd.request(ROTATE, "admin-admin", "POST", timeout=5)
                except Exception:  # noqa: BLE001 - stekd was killed under this request
                    return

        threads = [threading.Thread(target=rotate) for _ in range(2)]
        for t in threads:
            t.start()
        # Kill once a few rotations are through, in the middle of the stream of commits.
        start_size = len(stekd.audit.read_bytes())
        wait_until(lambda: len(stekd.audit.read_bytes()) > start_size + 2000, 30,
                   interval=0.01, what="rotations committed")
        os.kill(stekd.proc.pid, signal.SIGKILL)
        stekd.proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=10)
        seen_leftover |= bool(temp_files(stekd))
        if round_ == 0:
            # What a kill between create and rename leaves, made certain: a temp file that
            # still opens with the KEK and holds an erased secret.
            (stekd.dir / "state.json.tmp-00112233445566aa").write_bytes(erased)
        stekd.start()
        assert temp_files(stekd) == [], "a temp file survived the restart"
        stekd.ring("host-web1")
    stekd.stop()
    assert temp_files(stekd) == []
    print(f"a kill left a temp file behind by itself: {seen_leftover}")
