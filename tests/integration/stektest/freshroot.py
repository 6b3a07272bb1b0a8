"""A fresh Debian 12 root (debootstrap --variant=minbase) to install stek's packages into, the
way a new operator would: the one place that makes the root, runs commands in it, installs and
purges the packages, checks what the install left, and starts stekd and stek-agent from the
installed files as the stek user. test_fresh_install.py and scripts/fresh-install.sh both use
it (docs/packaging.md, "Tests").

The debootstrap base is made once and kept in /tmp/stek-fresh/base ($FRESH_BASE; the same
cache as ../shared/tools/fresh-root.sh); every FreshRoot is a copy of it beside it, removed
when the `with` block ends, its mounts (proc, dev, dev/pts, sys, a tmpfs /run) lazily
unmounted first. The root shares the host's network namespace: programs in it listen on
127.0.0.1 where the host's tests can reach them. Needs root and network (apt)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .proc import HarnessError, Process, have, run, wait_until

BASE = Path(os.environ.get("FRESH_BASE", "/tmp/stek-fresh/base"))
SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MOUNTS = (("proc", "proc", ("-t", "proc", "proc")), ("dev", "dev", ("--bind", "/dev")),
          ("dev/pts", "dev/pts", ("--bind", "/dev/pts")), ("sys", "sys", ("--bind", "/sys")),
          ("run", "run", ("-t", "tmpfs", "tmpfs")))
# What the checks need besides the packages: systemd-analyze and systemctl (systemd), man -w.
CHECK_TOOLS = ("systemd", "man-db")
UNITS = ("stekd.service", "stek-agent.service", "stek-nginx-reload.path",
         "stek-nginx-reload.service")
PROGRAMS = ("/usr/sbin/stekd", "/usr/bin/stek-agent", "/usr/bin/stekctl", "/usr/bin/stek-scan")
MAN_PAGES = ("stekd", "stek-agent", "stekctl", "stek-scan", "stek.toml")
# Exposure scores (0 best, 10 worst) the services must stay under (docs/packaging.md).
MAX_EXPOSURE = 2.0


def need_debootstrap() -> None:
    """Root and debootstrap, or the test is skipped (failed when STEK_REQUIRE_PEERS is set:
    CI that installed the peers)."""
    missing = ("not root" if os.geteuid() != 0 else
               None if have("debootstrap") else "debootstrap missing (scripts/setup.sh peers)")
    if missing is None:
        return
    if os.environ.get("STEK_REQUIRE_PEERS"):
        pytest.fail(f"fresh root: {missing} and STEK_REQUIRE_PEERS is set")
    pytest.skip(f"fresh root: {missing}")


@contextlib.contextmanager
def locked(path: Path):
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def make_base(base: Path = BASE, timeout: float = 1200) -> float:
    """The cached debootstrap root; made when missing (into a temporary directory, renamed
    when complete, under a lock: runs in parallel wait for one debootstrap). Returns the
    seconds spent making it (0 when cached)."""
    if (base / ".done").exists():
        return 0.0
    base.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with locked(base.parent / f".{base.name}.lock"):
        if base.exists():
            # Being made by a script without this lock (../shared/tools/fresh-root.sh): wait.
            wait_until(lambda: (base / ".done").exists(), timeout,
                       what=f"{base}/.done (a debootstrap elsewhere; remove a stale {base})")
        if (base / ".done").exists():
            return time.monotonic() - started
        new = Path(tempfile.mkdtemp(prefix=f"{base.name}.new-", dir=base.parent))
        new.chmod(0o755)  # the root directory of every copy
        try:
            mirror = re.search(r"^URIs:\s*(\S+)", SOURCES.read_text(), re.M).group(1)
            log = base.parent / f"{base.name}.debootstrap.log"
            with open(log, "wb") as out:
                code = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", new, mirror],
                                      stdout=out, stderr=subprocess.STDOUT,
                                      timeout=timeout).returncode
            if code != 0:
                raise HarnessError(f"debootstrap exited {code}; its log: {log}")
            shutil.copy(SOURCES, new / "etc/apt/sources.list.d/")
            (new / "etc/apt/sources.list").unlink(missing_ok=True)
            (new / ".done").touch()
            new.rename(base)
        finally:
            shutil.rmtree(new, ignore_errors=True)
    return time.monotonic() - started


def apt_cache_in(cache: Path, root: Path) -> None:
    """apt's lists and downloaded packages of an earlier run into a new root: `apt-get update`
    then fetches only what changed, and apt checks each cached package against the lists."""
    with locked(cache.parent / f".{cache.name}.lock"):
        if (cache / ".done").exists():
            run(["cp", "-a", f"{cache}/lists/.", root / "var/lib/apt/lists"], timeout=300)
            run(["cp", "-a", f"{cache}/archives/.", root / "var/cache/apt/archives"], timeout=300)


def apt_cache_out(root: Path, cache: Path) -> None:
    """The root's lists and packages (not stek's) become the cache, replaced whole."""
    with locked(cache.parent / f".{cache.name}.lock"):
        new = Path(tempfile.mkdtemp(prefix=f"{cache.name}.new-", dir=cache.parent))
        (new / "archives").mkdir()
        run(["cp", "-a", root / "var/lib/apt/lists", new / "lists"], timeout=300)
        for deb in (root / "var/cache/apt/archives").glob("*.deb"):
            if not deb.name.startswith(("stek_", "libstek-dev_")):
                shutil.copy2(deb, new / "archives")
        (new / "lists/lock").unlink(missing_ok=True)
        (new / ".done").touch()
        old = cache.with_name(f"{cache.name}.old-{os.getpid()}")
        if cache.exists():
            cache.rename(old)
        new.rename(cache)
        shutil.rmtree(old, ignore_errors=True)


def processes_in(root: Path) -> list[int]:
    """The processes whose root directory is `root` (started by chroot into it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "root") == str(root):
                    pids.append(int(entry.name))
    return pids


class FreshRoot:
    """A copy of the base with stek's .deb files in /srv/debs, mounted for chroot."""

    def __init__(self, debs: list[Path], base: Path = BASE):
        self.debs = debs
        self.base = base
        self.apt_cache = base.with_name(f"{base.name}-apt-cache")
        self.root: Path | None = None
        self.mounted: list[Path] = []
        self.started: list[Process] = []
        self.timings: dict[str, float] = {}

    def __enter__(self) -> FreshRoot:
        self.timings["debootstrap"] = make_base(self.base)
        t = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix="install-", dir=self.base.parent))
        self.root.chmod(0o755)  # mkdtemp made it 0700: the stek user could not walk "/"
        try:
            run(["cp", "-a", f"{self.base}/.", self.root], timeout=600)
            self.timings["copy base"] = time.monotonic() - t
            (self.root / "srv/debs").mkdir(parents=True)
            for deb in self.debs:
                shutil.copy(deb, self.root / "srv/debs")
            shutil.copy("/etc/resolv.conf", self.root / "etc/resolv.conf")
            (self.root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n")
            for _, target, args in MOUNTS:
                run(["mount", *args, self.root / target])
                self.mounted.append(self.root / target)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stops what was started in the root (and anything else still running there), lazily
        unmounts, and removes the copy; never follows a mount that is still there."""
        for p in self.started:
            p.stop(timeout=30)
        self.started.clear()
        if self.root is None:
            return
        for pid in processes_in(self.root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        for target in reversed(self.mounted):
            run(["umount", "-l", target], check=False)
        self.mounted.clear()
        still = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                 if line.split()[1].startswith(f"{self.root}/")]
        if still:
            raise HarnessError(f"{self.root} still has mounts {still}: left in place")
        run(["rm", "-rf", "--one-file-system", self.root], check=False, timeout=600)
        self.root = None

    def path(self, inside: str) -> Path:
        """A path of the root as the host sees it."""
        return self.root / inside.lstrip("/")

    def sh(self, script: str, timeout: float = 120, check: bool = True) -> str:
        """Runs a bash script in the root as root, with a clean environment; its output."""
        proc = run(["chroot", self.root, "/usr/bin/env", "-i", PATH, "HOME=/root", "LC_ALL=C.UTF-8",
                    "DEBIAN_FRONTEND=noninteractive", "bash", "-euo", "pipefail", "-c", script],
                   timeout=timeout, check=check)
        return (proc.stdout + proc.stderr).decode(errors="replace")

    def start_as_stek(self, args: list[str], log: Path, name: str) -> Process:
        """A program of the root, run as the stek user (setpriv execs it: the process is the
        program); stopped by close() at the latest."""
        p = Process(["chroot", self.root, "/usr/bin/env", "-i", PATH, "setpriv", "--reuid=stek",
                     "--regid=stek", "--init-groups", *args], log, name=name)
        self.started.append(p)
        return p

    def stop(self, p: Process, timeout: float = 60) -> int:
        """Stops one started program (SIGTERM; ASan's leak check at exit can take seconds on a
        loaded machine); its exit status."""
        self.started.remove(p)
        return p.stop(timeout=timeout)

    # ---- the steps an operator takes, in order

    def install(self, timeout: float = 900) -> str:
        """apt installs both packages and the checks' tools, resolving the dependencies. No
        policy-rc.d: a maintainer script that started a service would be seen."""
        t = time.monotonic()
        apt_cache_in(self.apt_cache, self.root)
        out = self.sh("apt-get update -qq", timeout=timeout)
        self.timings["apt-get update"] = time.monotonic() - t
        t = time.monotonic()
        debs = " ".join(f"/srv/debs/{d.name}" for d in self.debs)
        out += self.sh(f"apt-get install -y -qq --no-install-recommends {debs} "
                       f"{' '.join(CHECK_TOOLS)} >/dev/null", timeout=timeout)
        self.timings["apt-get install"] = time.monotonic() - t
        apt_cache_out(self.root, self.apt_cache)
        return out

    def user(self) -> tuple[int, int] | None:
        """The stek user's uid and gid, None when there is none."""
        for line in self.path("/etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == "stek":
                return int(fields[2]), int(fields[3])
        return None

    def enabled(self) -> dict[str, str]:
        """`systemctl is-enabled` of every unit (no manager runs: systemctl reads the files)."""
        return {u: self.sh(f"systemctl is-enabled {u} || true").strip() for u in UNITS}

    def verify_units(self) -> str:
        """`systemd-analyze verify` of the installed units (their man pages included): its
        output, empty when clean."""
        units = " ".join(f"/usr/lib/systemd/system/{u}" for u in UNITS)
        return self.sh(f"systemd-analyze verify {units} 2>&1")

    def exposure(self) -> dict[str, float]:
        """`systemd-analyze security --offline=yes` of each service: its exposure score."""
        scores = {}
        for unit in UNITS:
            if unit.endswith(".service"):
                text = self.sh("systemd-analyze security --offline=yes --no-pager "
                               f"/usr/lib/systemd/system/{unit}", check=False)
                m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", text)
                if not m:
                    raise HarnessError(f"no exposure score for {unit}:\n{text[-500:]}")
                scores[unit] = float(m.group(1))
        return scores

    def first_start(self, api_port: int, metrics_port: int, agent_metrics_port: int) -> None:
        """What stekd(8) "First start" asks of an operator, and what StateDirectory=,
        LogsDirectory=, RuntimeDirectory= and LoadCredential= would make; the packaged
        configurations get the given ports (the host's network: others listen there too) and
        the agent a local stekd and no nginx."""
        self.sh(f"""
stekctl pki init --dir /etc/stek/pki --host web1=example >/dev/null
chgrp stek /etc/stek/pki /etc/stek/pki/stekd.key
chmod 0750 /etc/stek/pki; chmod 0640 /etc/stek/pki/stekd.key
cp /etc/stek/pki/host-web1.crt /etc/stek/agent.crt
install -m 0640 -g stek /etc/stek/pki/host-web1.key /etc/stek/agent.key
cp /etc/stek/pki/ca.crt /etc/stek/ca.crt
install -m 0400 /etc/stek/pki/kek /etc/stek/kek
install -d -o stek -g stek -m 0700 /var/lib/stek /run/credentials/stekd.service
install -d -o stek -g stek -m 0750 /var/log/stek /run/stek
install -m 0400 -o stek /etc/stek/kek /run/credentials/stekd.service/kek
sed -i 's#127.0.0.1:8443#127.0.0.1:{api_port}#; s#127.0.0.1:9464#127.0.0.1:{metrics_port}#' \\
  /etc/stek/stekd.toml
sed -i 's#https://stekd.example.net:8443#https://127.0.0.1:{api_port}#;
        s#127.0.0.1:9465#127.0.0.1:{agent_metrics_port}#; s#^nginx_conf = .*##' \\
  /etc/stek/stek-agent.toml
setpriv --reuid=stek --regid=stek --init-groups \\
  stek-agent --config /etc/stek/stek-agent.toml --check-config >/dev/null
""", timeout=120)

    def start_stekd(self, log: Path) -> Process:
        return self.start_as_stek(["stekd", "--config", "/etc/stek/stekd.toml", "--init"], log,
                                  "stekd (fresh root)")

    def start_agent(self, log: Path) -> Process:
        return self.start_as_stek(["stek-agent", "--config", "/etc/stek/stek-agent.toml"], log,
                                  "stek-agent (fresh root)")

    def nginx_include(self) -> str:
        """The include the agent's nginx sink writes ('' until then)."""
        with contextlib.suppress(OSError):
            return self.path("/run/stek/nginx/tickets.conf").read_text()
        return ""

    def purge(self, timeout: float = 300) -> str:
        return self.sh("apt-get purge -y -qq stek libstek-dev >/dev/null", timeout=timeout)


if __name__ == "__main__":
    # `python3 -m stektest.freshroot`: make the cached base only (scripts/test.sh does it while
    # the ASan build compiles, so that integration.fresh_install finds it).
    print(f"fresh root: base {BASE} ready in {make_base():.0f} s")
