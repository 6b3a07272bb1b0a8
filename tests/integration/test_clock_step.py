# ctest-timeout: 300  ctest-cost: 25
"""stekd's wall clock stepped +600 s and back under libfaketime (issue 10, clock steps): the
step is refused and alarmed (metric, /healthz), no live or look-ahead epoch secret is erased,
no epoch gets a second secret, and stekd recovers once the clock is right again.

libfaketime is preloaded with a timestamp file the test rewrites; its monotonic clocks are left
alone (DONT_FAKE_MONOTONIC), which is what stekd measures a step against. An ASan build loads
libasan dynamically and insists on coming first, so it is preloaded ahead of libfaketime."""

import json
import os
from pathlib import Path

import pytest

from stektest import binary, make_pki, wait_until
from stektest.faketime import faketime_library, preload_for
from stektest.stekd import Stekd

INTERVAL = 60


def keys_by_epoch(ring) -> dict[int, str]:
    return {k["epoch"]: k["name"] for k in ring["keys"]}


def erased_epochs(audit: Path) -> list[int]:
    if not audit.exists():
        return []
    events = [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]
    return [e["epoch"] for e in events if e.get("event") == "epoch_secret_erased"]


@pytest.mark.skipif(faketime_library() is None, reason="libfaketime is not installed "
                    "(Debian package libfaketime; scripts/setup.sh installs it)")
def test_clock_stepped_forward_and_back_erases_nothing_live_and_makes_no_second_secret(
        tmp_path, monkeypatch):
    stekd = Stekd(tmp_path / "stekd", interval=INTERVAL, history=2, lookahead=2, start=False)
    make_pki(stekd.pki, stekd.hosts, stekd.build_dir)  # before any faked time
    offset = tmp_path / "faketime"
    offset.write_text("+0\n")
    monkeypatch.setenv("LD_PRELOAD", preload_for(binary("stekd"), faketime_library()))
    monkeypatch.setenv("FAKETIME_TIMESTAMP_FILE", str(offset))
    monkeypatch.setenv("FAKETIME_CACHE_DURATION", "1")
    monkeypatch.setenv("DONT_FAKE_MONOTONIC", "1")
    with stekd:
        stekd.start()
        monkeypatch.delenv("LD_PRELOAD")  # the test's own helpers run on the real clock
        _, before = stekd.ring("host-web1")
        seen = keys_by_epoch(before)
        assert stekd.healthz() == 200
        assert stekd.metrics()["stek_clock_step_alarm"] == 0

        offset.write_text("+600\n")
        # stekd notices at its next maintenance (at most 30 s away).
        wait_until(lambda: stekd.metrics()["stek_clock_step_alarm"] == 1, 60,
                   interval=0.5, what="the clock-step alarm")
        assert stekd.healthz() == 503
        assert stekd.metrics()["stek_clock_steps_refused_total"] >= 1
        _, during = stekd.ring("host-web1")
        during_keys = keys_by_epoch(during)
        # The ring is still the one of the real time: its epochs are the ones held before,
        # give or take the boundaries really passed, and none has another key.
        for e, name in during_keys.items():
            assert seen.setdefault(e, name) == name, f"epoch {e} got a second secret"
        assert min(during_keys) <= min(keys_by_epoch(before)) + 1

        offset.write_text("+0\n")
        wait_until(lambda: stekd.metrics()["stek_clock_step_alarm"] == 0, 60,
                   interval=0.5, what="recovery from the clock-step alarm")
        wait_until(lambda: stekd.healthz() == 200, 30, what="/healthz 200 again")
        _, after = stekd.ring("host-web1")
        for e, name in keys_by_epoch(after).items():
            assert seen.setdefault(e, name) == name, f"epoch {e} got a second secret"
        # Erased only what the real schedule let go of: epochs before (real epoch - history).
        real_epoch = max(keys_by_epoch(after)) - 2
        assert all(e < real_epoch - 2 for e in erased_epochs(stekd.audit)), \
            erased_epochs(stekd.audit)
        assert stekd.proc.alive()


def test_restart_with_the_clock_behind_keeps_the_epoch(tmp_path, monkeypatch):
    """The trusted time is committed with the state: a stekd restarted with its clock 600 s
    behind neither moves its epoch back nor makes a second secret for any epoch."""
    if faketime_library() is None:
        pytest.skip("libfaketime is not installed")
    stekd = Stekd(tmp_path / "stekd", interval=INTERVAL, history=2, lookahead=2, start=False)
    # Certificates valid from 15 minutes ago, so a stekd 600 s behind still accepts them.
    monkeypatch.setenv("LD_PRELOAD", preload_for(binary("stekctl"), faketime_library()))
    monkeypatch.setenv("FAKETIME", "-900")
    make_pki(stekd.pki, stekd.hosts, stekd.build_dir)
    monkeypatch.delenv("LD_PRELOAD")
    monkeypatch.delenv("FAKETIME")
    with stekd:
        stekd.start()
        _, before = stekd.ring("host-web1")
        stekd.stop()
        offset = tmp_path / "faketime"
        offset.write_text("-600\n")
        monkeypatch.setenv("LD_PRELOAD", preload_for(binary("stekd"), faketime_library()))
        monkeypatch.setenv("FAKETIME_TIMESTAMP_FILE", str(offset))
        monkeypatch.setenv("DONT_FAKE_MONOTONIC", "1")
        stekd.start()
        monkeypatch.delenv("LD_PRELOAD")
        _, after = stekd.ring("host-web1")
        assert max(keys_by_epoch(after)) >= max(keys_by_epoch(before)), "the epoch went back"
        for e, name in keys_by_epoch(after).items():
            if e in keys_by_epoch(before):
                assert keys_by_epoch(before)[e] == name, f"epoch {e} got a second secret"
        assert stekd.metrics()["stek_clock_step_alarm"] == 1
        assert stekd.healthz() == 503
        assert os.path.exists(stekd.state)
