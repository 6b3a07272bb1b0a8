# ctest-timeout: 900  ctest-cost: 300
"""The Debian packages: scripts/package.sh packs the existing build (stek, libstek-dev); their
contents and control files are checked with dpkg-deb; the systemd units pass
`systemd-analyze verify` and score low in `systemd-analyze security --offline=yes`; every
option of every program's --help is in its man page; and stekd and a stek-agent run from the
unpacked package as an unprivileged user, the agent feeding an nginx sink. The install into a
fresh Debian 12 root, with apt: test_fresh_install.py, on the same packages."""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import tempfile
from pathlib import Path

import pytest

from stektest import SOURCE_DIR, Process, have, make_pki, run, wait_until
from stektest.agent import ShmDir, write_config
from stektest.debs import packages
from stektest.stekd import Stekd

UNITS = ("stekd.service", "stek-agent.service", "stek-nginx-reload.path",
         "stek-nginx-reload.service")
MAN_PAGES = {"stekd": "man8/stekd.8", "stek-agent": "man8/stek-agent.8",
             "stekctl": "man1/stekctl.1", "stek-scan": "man1/stek-scan.1"}
PROGRAMS = {"stekd": "usr/sbin/stekd", "stek-agent": "usr/bin/stek-agent",
            "stekctl": "usr/bin/stekctl", "stek-scan": "usr/bin/stek-scan"}
# Exposure scores (0 best, 10 worst) the units must stay under; measured: docs/packaging.md.
MAX_EXPOSURE = {"stekd.service": 2.0, "stek-agent.service": 2.0,
                "stek-nginx-reload.service": 2.0}
NOBODY = 65534

pytestmark = pytest.mark.skipif(not (have("dpkg-deb") and have("cpack")),
                                reason="dpkg-deb or cpack missing (scripts/setup.sh package)")


@pytest.fixture(scope="module")
def debs() -> dict[str, Path]:
    return packages()  # packed once, shared with test_fresh_install.py


@pytest.fixture(scope="module")
def root() -> Path:
    """The stek package unpacked (dpkg-deb -x) into a directory every user may enter."""
    d = Path(tempfile.mkdtemp(prefix="stek-pkg-root-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def unpacked(debs, root) -> Path:
    run(["dpkg-deb", "-x", debs["stek"], root])
    return root


def contents(deb: Path) -> dict[str, str]:
    """Path (without the leading .) -> mode string, from dpkg-deb -c."""
    lines = run(["dpkg-deb", "-c", deb]).stdout.decode().splitlines()
    return {line.split()[-1].lstrip("."): line.split()[0] for line in lines}


def control(deb: Path, name: str) -> str:
    return run(["dpkg-deb", "-I", deb, name]).stdout.decode()


def test_stek_package_carries_programs_units_man_pages_and_configs(debs):
    files = contents(debs["stek"])
    for path in PROGRAMS.values():
        assert files["/" + path].startswith("-rwxr-xr-x"), path
    for unit in UNITS:
        assert f"/usr/lib/systemd/system/{unit}" in files
    for page in [*MAN_PAGES.values(), "man5/stek.toml.5"]:
        assert f"/usr/share/man/{page}" in files
    assert "/usr/share/stek/haproxy/stek_route.lua" in files  # docs/routing.md's lua-load
    # Configurations: conffiles, not world-readable (postinst gives them to group stek).
    for conf in ("/etc/stek/stekd.toml", "/etc/stek/stek-agent.toml"):
        assert files[conf] == "-rw-r-----", conf
    assert not [p for p in files if "/include/" in p or p.endswith(".a")], "libstek-dev's"
    # logrotate's file (test_observability.py checks it) is root's, readable, a conffile too.
    assert files["/etc/logrotate.d/stek"] == "-rw-r--r--"
    assert control(debs["stek"], "conffiles").split() == ["/etc/stek/stekd.toml",
                                                          "/etc/stek/stek-agent.toml",
                                                          "/etc/logrotate.d/stek"]
    fields = control(debs["stek"], "control")
    assert re.search(r"^Depends: .*\badduser\b", fields, re.M)
    assert re.search(r"^Depends: .*\blibsystemd0\b", fields, re.M), "sd_notify is linked"
    postinst = control(debs["stek"], "postinst")
    assert "adduser --system" in postinst
    # Nothing runs until enabled: no maintainer script enables or starts a unit.
    for script in ("postinst", "postrm", "prerm"):
        text = re.sub(r"(?m)^\s*#.*$", "", control(debs["stek"], script))
        assert not re.search(r"systemctl\s.*\b(enable|start)\b", text), script
        assert "deb-systemd" not in text, script


def test_libstek_dev_carries_headers_cmake_package_and_pkg_config(debs):
    files = contents(debs["libstek-dev"])
    assert "/usr/include/stek/openssl.h" in files and "/usr/include/stek/stek.h" in files
    assert "/usr/lib/cmake/stek/stekConfig.cmake" in files
    assert "/usr/lib/pkgconfig/stek.pc" in files
    assert {"libstek_core.a", "libstek_openssl.a"} <= {Path(p).name for p in files}
    assert not [p for p in files if p.startswith("/usr/bin") or p.startswith("/usr/sbin")]


def test_postinst_makes_the_stek_user_once():
    """The user is made when missing and left alone when present: run twice, the second run
    calls neither addgroup nor adduser (getent, addgroup and adduser are stubs here)."""
    with tempfile.TemporaryDirectory() as d:
        stubs, log = Path(d), Path(d) / "calls"
        known = Path(d) / "known"
        known.write_text("")
        for name, body in {
            "getent": f'grep -qx "$1 $2" {known}',
            "addgroup": f'echo "addgroup $*" >>{log}; echo "group stek" >>{known}',
            "adduser": f'echo "adduser $*" >>{log}; echo "passwd stek" >>{known}',
            "chown": "true", "chmod": "true", "chgrp": "true", "stat": "echo stek",
            "systemctl": f'echo "systemctl $*" >>{log}',
        }.items():
            (stubs / name).write_text(f"#!/bin/sh\n{body}\n")
            (stubs / name).chmod(0o755)
        postinst = SOURCE_DIR / "packaging" / "debian" / "postinst"
        env = dict(os.environ, PATH=f"{stubs}:/usr/bin:/bin")
        run(["sh", postinst, "configure"], env=env)
        first = log.read_text().splitlines()
        run(["sh", postinst, "configure"], env=env)
        second = log.read_text().splitlines()[len(first):]
    assert [c.split()[0] for c in first if c.startswith("add")] == ["addgroup", "adduser"]
    assert not [c for c in second if c.startswith("add")]
    assert not [c for c in first + second if "enable" in c or "start" in c]


def units_for_verify(unpacked: Path, into: Path) -> list[Path]:
    """The packaged units with ExecStart= pointing at the unpacked programs (verify checks that
    each command exists)."""
    out = []
    for unit in UNITS:
        text = (unpacked / "usr/lib/systemd/system" / unit).read_text()
        for path in PROGRAMS.values():
            text = text.replace(f"/{path} ", f"{unpacked / path} ")
        (into / unit).write_text(text)
        out.append(into / unit)
    return out


@pytest.mark.skipif(not have("systemd-analyze"), reason="systemd-analyze missing")
def test_units_pass_systemd_analyze_verify(unpacked, tmp_path):
    units = units_for_verify(unpacked, tmp_path)
    # Documentation=man: pages are checked too: those of the package.
    env = dict(os.environ, MANPATH=str(unpacked / "usr/share/man"))
    result = run(["systemd-analyze", "verify", *units], env=env, check=False)
    assert result.returncode == 0, result.stderr.decode()
    assert not result.stderr.strip(), result.stderr.decode()


@pytest.mark.skipif(not have("systemd-analyze"), reason="systemd-analyze missing")
def test_units_exposure_scores(unpacked, tmp_path):
    """systemd 252 added `security --offline=yes`, which judges unit files without a running
    manager; the scores are printed (pytest -s) and bounded."""
    units = units_for_verify(unpacked, tmp_path)
    for unit in units:
        if unit.name not in MAX_EXPOSURE:
            continue
        text = run(["systemd-analyze", "security", "--offline=yes", "--no-pager", unit],
                   check=False).stdout.decode()
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", text)
        assert m, text[-500:]
        print(f"exposure {unit.name}: {m.group(1)}")
        assert float(m.group(1)) <= MAX_EXPOSURE[unit.name], text
    for needed in ("User=stek", "Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict",
                   "MemoryDenyWriteExecute=yes", "LimitCORE=0", "LockPersonality=yes",
                   "CapabilityBoundingSet=\n", "ExecReload=/bin/kill -HUP $MAINPID"):
        for unit in ("stekd.service", "stek-agent.service"):
            assert needed in (unpacked / "usr/lib/systemd/system" / unit).read_text(), \
                (unit, needed)
    stekd = (unpacked / "usr/lib/systemd/system/stekd.service").read_text()
    assert "LoadCredential=kek:/etc/stek/kek" in stekd and "StateDirectory=stek" in stekd
    assert "RuntimeDirectory=stek" in (unpacked / "usr/lib/systemd/system/stek-agent.service"
                                       ).read_text()


def help_options(program: Path, *words: str) -> set[str]:
    """The long options of `program words... --help` and of every subcommand below it."""
    text = run([program, *words, "--help"]).stdout.decode()
    options_part = text.split("Subcommands:")[0]
    options = set(re.findall(r"^\s+(?:-\w,)?(--[a-z0-9][a-z0-9-]*)", options_part, re.M))
    if "Subcommands:" in text:
        for sub in re.findall(r"^  ([a-z][a-z0-9-]*)\s", text.split("Subcommands:")[1], re.M):
            options |= help_options(program, *words, sub)
    return options


def man_text(unpacked: Path, page: str) -> str:
    return (unpacked / "usr/share/man" / page).read_text().replace("\\-", "-")


@pytest.mark.parametrize("program", sorted(MAN_PAGES))
def test_man_page_lists_every_help_option(unpacked, program):
    options = help_options(unpacked / PROGRAMS[program]) - {"--help", "--version"}
    assert options, program
    page = man_text(unpacked, MAN_PAGES[program])
    missing = sorted(o for o in options if not re.search(re.escape(o) + r"(?![a-z0-9-])", page))
    assert not missing, f"{program}: in --help, not in its man page: {missing}"
    # And the other way: every option the page's OPTIONS section names is a real one.
    if ".SH OPTIONS" in page:
        section = page.split(".SH OPTIONS")[1].split("\n.SH ")[0]
        named = set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", section))
        assert not sorted(named - options - {"--help", "--version"}), program


def as_nobody() -> tuple[str, ...]:
    """A command prefix that runs a program as nobody when the tests run as root."""
    if os.geteuid() != 0:
        return ()
    return ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")


def give_to_nobody(path: Path) -> None:
    if os.geteuid() != 0:
        return
    for p in [path, *path.rglob("*")]:
        os.chown(p, NOBODY, NOBODY)


class NotifySocket:
    """What systemd's $NOTIFY_SOCKET receives (Type=notify): a datagram socket anyone may
    write to, and the messages that arrived."""

    def __init__(self, directory: Path):
        self.path = directory / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.path.chmod(0o777)
        self.sock.settimeout(0.2)
        self.messages: list[str] = []

    def ready(self) -> str | None:
        """The READY=1 message once it has come."""
        try:
            self.messages.append(self.sock.recv(4096).decode())
        except socket.timeout:
            pass
        return next((m for m in self.messages if "READY=1" in m.splitlines()), None)

    def close(self) -> None:
        self.sock.close()


def test_programs_from_the_package_serve_as_an_unprivileged_user(unpacked):
    """stekd and stek-agent from the unpacked package, as nobody (when root): each tells its
    $NOTIFY_SOCKET READY=1 (stekd once it listens, the agent once it holds keys), and the agent
    gets its domain's ring and writes nginx key files."""
    programs = Path(tempfile.mkdtemp(prefix="stek-pkg-bin-"))
    work = Path(tempfile.mkdtemp(prefix="stek-pkg-run-"))
    try:
        for name, path in PROGRAMS.items():
            (programs / name).symlink_to(unpacked / path)
        work.chmod(0o755)
        stekd = Stekd(work / "stekd", start=False, build_dir=programs,
                      hosts={"web1": ["eu-west"]})
        make_pki(stekd.pki, stekd.hosts, programs)
        give_to_nobody(work)
        notify = NotifySocket(work)
        stekd.start(prefix=("env", f"NOTIFY_SOCKET={notify.path}", *as_nobody()))
        status = wait_until(notify.ready, 20, what="stekd's READY=1")
        assert f"port {stekd.port}" in status
        notify.close()
        owner = Path(f"/proc/{stekd.proc.pid}").stat().st_uid
        assert owner == (NOBODY if os.geteuid() == 0 else os.geteuid())
        with ShmDir() as shm:
            (shm / "nginx").mkdir()
            config = write_config(
                work / "agent.toml", servers=[stekd.url], cache_dir=str(shm),
                tls={"cert": str(stekd.pki / "host-web1.crt"),
                     "key": str(stekd.pki / "host-web1.key"), "ca": str(stekd.pki / "ca.crt")},
                sinks=[{"type": "nginx", "dir": str(shm / "nginx"),
                        "include": str(shm / "nginx" / "tickets.conf"), "reload": "none"}])
            give_to_nobody(work)
            give_to_nobody(shm)
            (work / "notify.sock").unlink()
            notify = NotifySocket(work)
            agent = Process(["env", f"NOTIFY_SOCKET={notify.path}", *as_nobody(),
                             programs / "stek-agent", "--config", config], work / "agent.log",
                            name="stek-agent")
            try:
                status = wait_until(notify.ready, 30, what="stek-agent's READY=1")
                assert "serving domain eu-west" in status
                include = shm / "nginx" / "tickets.conf"
                wait_until(lambda: include.exists() and "ssl_session_ticket_key"
                           in include.read_text(), 30, what="the agent's nginx include")
                key_files = [p for p in (shm / "nginx").iterdir() if p.suffix == ".key"]
                assert key_files
                for p in key_files:
                    st = p.stat()
                    assert stat.S_IMODE(st.st_mode) == 0o600
                    assert st.st_uid == (NOBODY if os.geteuid() == 0 else os.geteuid())
            finally:
                notify.close()
                # ASan's leak check at exit can take seconds on a loaded machine: 30 s bound.
                code = agent.stop(timeout=30)
                assert code == 0, "stek-agent stopped with status {}; its log ends:\n{}".format(
                    code, "\n".join(agent.output().splitlines()[-15:]))
        stekd.stop()
        assert stekd.proc.returncode == 0
    finally:
        shutil.rmtree(programs, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
