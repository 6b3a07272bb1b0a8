# ctest-timeout: 1800  ctest-cost: 400
"""Installing stek like real infrastructure (issue 14, "Done when"): the ASan build packed by
scripts/package.sh (stektest.debs: once per build, shared with test_package.py), the packages
installed with apt into a fresh Debian 12 root (debootstrap minbase, stektest.freshroot), and
there: the files and man pages, the stek user (made once), every unit disabled and nothing
running, `systemd-analyze verify` clean, the exposure scores of `systemd-analyze security
--offline=yes` (printed, bounded); stekd and stek-agent started from the installed files and
the packaged configurations as the stek user, on ports of their own on 127.0.0.1, until
stekd's /healthz answers and the agent writes nginx's key file; stekd's status page loaded
from the host in headless Chromium (the root shares the host's network), its DOM naming the
domain and the agent, and a screenshot kept; both programs stop by themselves on SIGTERM;
purge removes the user and the state.

STEK_FRESH_DEBS=DIR uses the packages in DIR instead of packing the build
(scripts/fresh-install.sh). Times on a loaded 2-core machine (docs/packaging.md): packing
2 to 5 minutes (none when test_package packed first), debootstrap once per machine (7.5
minutes at a load of 30), then per run the copy of the base in seconds, apt about a minute,
stekd, the agent, Chromium and purge under a minute. The exposure scores and timings are
printed and kept in report.json beside the logs and the screenshot."""

from __future__ import annotations

import json
import os
import stat
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stektest import LOOPBACK, wait_until
from stektest.browser import Element, dump_dom, need_chromium, parse, screenshot
from stektest.debs import packages
from stektest.freshroot import (MAN_PAGES, MAX_EXPOSURE, PROGRAMS, UNITS, FreshRoot,
                                need_debootstrap, processes_in)
from stektest.metrics import get
from stektest.proc import free_ports_in_a_row


@dataclass
class Install:
    """What the fresh root showed, step by step (the root is gone when the tests look)."""
    dir: Path
    user: tuple[int, int] | None = None
    user_after_postinst_again: tuple[int, int] | None = None
    postinst_again: str = ""
    missing_files: list[str] = field(default_factory=list)
    etc_stek: tuple[int, int, int] = (0, 0, 0)  # uid, gid, mode of /etc/stek
    man: str = ""
    enabled: dict[str, str] = field(default_factory=dict)
    running_after_install: list[int] = field(default_factory=list)
    verify: str = ""
    exposure: dict[str, float] = field(default_factory=dict)
    owners: dict[str, int] = field(default_factory=dict)  # program -> uid it ran as
    key_files: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> uid, mode
    agent_health: tuple[int, str] = (0, "")
    dom: Element | None = None
    shot: Path | None = None
    exit_codes: dict[str, int] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    user_after_purge: tuple[int, int] | None = None
    state_after_purge: bool = True
    timings: dict[str, float] = field(default_factory=dict)


def fresh_packages() -> list[Path]:
    """stek and libstek-dev: STEK_FRESH_DEBS's, or those of the build (stektest.debs)."""
    given = os.environ.get("STEK_FRESH_DEBS")
    found = sorted(Path(given).glob("*.deb")) if given else sorted(packages().values())
    assert sorted(p.name.split("_")[0] for p in found) == ["libstek-dev", "stek"], found
    return found


def uid_of(pid: int) -> int:
    return Path(f"/proc/{pid}").stat().st_uid


def check_installed(root: FreshRoot, r: Install) -> None:
    r.user = root.user()
    r.postinst_again = root.sh("/var/lib/dpkg/info/stek.postinst configure 0.1.0 2>&1")
    r.user_after_postinst_again = root.user()
    wanted = [*PROGRAMS, *(f"/usr/lib/systemd/system/{u}" for u in UNITS),
              "/etc/stek/stekd.toml", "/etc/stek/stek-agent.toml", "/etc/logrotate.d/stek",
              "/usr/include/stek/openssl.h", "/usr/lib/pkgconfig/stek.pc",
              "/usr/lib/cmake/stek/stekConfig.cmake"]
    r.missing_files = [p for p in wanted if not root.path(p).exists()]
    st = root.path("/etc/stek").stat()
    r.etc_stek = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
    r.man = root.sh(f"man -w {' '.join(MAN_PAGES)}")
    r.enabled = root.enabled()
    r.running_after_install = processes_in(root.root)
    r.verify = root.verify_units()
    r.exposure = root.exposure()


def run_programs(root: FreshRoot, r: Install) -> None:
    first = free_ports_in_a_row(3)
    api, metrics, agent_metrics = first, first + 1, first + 2
    root.first_start(api, metrics, agent_metrics)
    stekd = root.start_stekd(r.dir / "stekd.log")
    agent = None
    try:
        t = time.monotonic()
        def healthy(port):
            stekd.check_alive()
            try:
                return get(port, "/healthz", timeout=2)[0] == 200
            except OSError:
                return False
        wait_until(lambda: healthy(metrics), 120, 0.2, what="stekd's /healthz")
        r.timings["stekd ready"] = time.monotonic() - t
        r.owners["stekd"] = uid_of(stekd.pid)
        t = time.monotonic()
        agent = root.start_agent(r.dir / "agent.log")
        def keys_written():
            agent.check_alive()
            return "ssl_session_ticket_key" in root.nginx_include()
        wait_until(keys_written, 120, 0.2, what="the agent's nginx key file")
        r.timings["agent keys"] = time.monotonic() - t
        r.owners["stek-agent"] = uid_of(agent.pid)
        nginx = root.path("/run/stek/nginx")
        for p in nginx.iterdir():
            st = p.stat()
            r.key_files[p.name] = (st.st_uid, stat.S_IMODE(st.st_mode))
        r.agent_health = get(agent_metrics, "/healthz")
        # stekd's status page from the host: the root shares its network.
        url = f"http://{LOOPBACK}:{metrics}/"
        t = time.monotonic()
        r.dom = parse(dump_dom(url))
        r.shot = screenshot(url, r.dir / "stekd-fresh-root.png")
        r.timings["chromium"] = time.monotonic() - t
    finally:
        t = time.monotonic()
        for name, p in (("stek-agent", agent), ("stekd", stekd)):
            if p is not None:
                r.exit_codes[name] = root.stop(p)
                r.logs[name] = p.output()
        r.timings["stop"] = time.monotonic() - t


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, pytestconfig) -> Install:
    need_debootstrap()
    need_chromium()
    started = time.monotonic()
    r = Install(tmp_path_factory.mktemp("fresh_install"))
    debs = fresh_packages()
    r.timings["package"] = time.monotonic() - started
    root = FreshRoot(debs)
    try:
        with root:
            root.install()
            check_installed(root, r)
            run_programs(root, r)
            t = time.monotonic()
            root.purge()
            r.timings["purge"] = time.monotonic() - t
            r.user_after_purge = root.user()
            r.state_after_purge = root.path("/var/lib/stek").exists()
    finally:
        r.timings.update(root.timings)
        r.timings["total"] = time.monotonic() - started
        (r.dir / "report.json").write_text(json.dumps(
            {"exposure": r.exposure, "timings": r.timings}, indent=1))
        # In the test's output even when it passes (pytest captures print otherwise).
        with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
            print(f"\nfresh install in {r.dir}: exposure {r.exposure}; timings "
                  + ", ".join(f"{k} {v:.0f} s" for k, v in r.timings.items()), flush=True)
    return r


def test_apt_installs_programs_units_man_pages_and_configs(fresh):
    assert not fresh.missing_files
    pages = fresh.man.split()
    assert len(pages) == len(MAN_PAGES), fresh.man
    for name, page in zip(MAN_PAGES, pages):
        assert "/usr/share/man/" in page and f"/{name}." in page, (name, page)


def test_install_makes_the_stek_user_once_and_gives_it_etc_stek(fresh):
    assert fresh.user is not None and fresh.user[0] > 0
    assert fresh.user_after_postinst_again == fresh.user, fresh.postinst_again
    uid, gid, mode = fresh.etc_stek
    assert (uid, gid, mode) == (0, fresh.user[1], 0o750)


def test_nothing_is_enabled_or_running_after_install(fresh):
    # stek-nginx-reload.service has no [Install]: "static", started only by its .path unit.
    assert fresh.enabled == {u: "static" if u == "stek-nginx-reload.service" else "disabled"
                             for u in UNITS}
    assert fresh.running_after_install == []


def test_installed_units_pass_verify_and_score_low_exposure(fresh):
    assert fresh.verify.strip() == "", fresh.verify
    assert set(fresh.exposure) == {u for u in UNITS if u.endswith(".service")}
    for unit, score in fresh.exposure.items():
        print(f"exposure {unit}: {score}")
        assert score <= MAX_EXPOSURE, (unit, score)


def test_stekd_and_agent_run_from_installed_files_as_stek_and_stop_cleanly(fresh):
    uid = fresh.user[0]
    assert fresh.owners == {"stekd": uid, "stek-agent": uid}
    keys = {n: v for n, v in fresh.key_files.items() if n.endswith(".key")}
    assert keys and all(v == (uid, 0o600) for v in keys.values()), fresh.key_files
    assert fresh.agent_health[0] == 200, fresh.agent_health
    for name, code in fresh.exit_codes.items():
        assert code == 0, f"{name} exited {code}; its log ends:\n" + "\n".join(
            fresh.logs[name].splitlines()[-15:])


def test_status_page_loaded_from_the_host_lists_the_domain_and_the_agent(fresh):
    dom = fresh.dom
    assert "healthy" in dom.one("h1").text and "unhealthy" not in dom.one("h1").text
    row = dom.one("tr", "domain", data_domain="example")
    assert row.one("td", "name").text == "example"
    assert int(row.one("td", "ring-version").text) > 0
    agent = dom.one("tr", "agent", data_host="web1")
    assert agent.one("td", "domains").text == "example"
    assert "fresh" in agent.text
    assert dom.one("div", "timeline", data_domain="example").find_all("div", "slot")
    data = fresh.shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1200, 900)
    assert len(data) > 20_000, f"{fresh.shot} is only {len(data)} bytes"


def test_purge_removes_the_user_and_the_state(fresh):
    assert fresh.user_after_purge is None
    assert not fresh.state_after_purge
