# ctest-timeout: 300  ctest-cost: 15
"""Secrets out of core dumps and swap (issue 10): a real stekd and stek-agent lock their secret
heap (VmLck > 0) and switch core dumps off (RLIMIT_CORE 0, not dumpable), so a crash leaves no
core; with the debugging opt-out a core is written, and the secret heap is not in it (no raw
KEK or key bytes). Directories stek creates are 0700 whatever the umask."""

import base64
import contextlib
import os
import resource
import signal
import stat
from pathlib import Path

import pytest

from stektest import stekctl, wait_until
from stektest.agent import ShmDir, start_agent, write_config
from stektest.stekd import Stekd

CORE_PATTERN = Path("/proc/sys/kernel/core_pattern")


def status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, v in (line.split(":", 1) for line in lines if ":" in line)}


def locked_kib(pid: int) -> int:
    return int(status(pid)["VmLck"].split()[0])


def core_limit(pid: int) -> str:
    """The soft RLIMIT_CORE of a running process, as /proc/PID/limits shows it."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            return line.split()[4]
    raise AssertionError("no core limit in /proc/PID/limits")


def agent_config(tmp_path: Path, shm: Path, stekd: Stekd) -> Path:
    return write_config(
        tmp_path / "agent.toml", servers=[stekd.url], cache_dir=shm / "cache",
        tls={"cert": stekd.pki / "host-web1.crt", "key": stekd.pki / "host-web1.key",
             "ca": stekd.pki / "ca.crt"},
        sinks=[{"type": "json", "path": shm / "app" / "ring.json"}])


def secret_byte_strings(stekd: Stekd, rings) -> dict[str, bytes]:
    """The raw bytes that must never be in a core: the KEK and every ring key's HMAC and AES
    halves (32 bytes each: no chance match)."""
    kek = (stekd.pki / "kek").read_bytes()
    out = {"KEK": kek if len(kek) == 32 else bytes.fromhex(kek.decode().strip())}
    for ring in rings:
        for k in ring["keys"]:
            out[f"hmac key of epoch {k['epoch']}"] = base64.b64decode(k["hmac_key"])
            out[f"aes key of epoch {k['epoch']}"] = base64.b64decode(k["aes_key"])
    return out


@contextlib.contextmanager
def cores_allowed_here(directory: Path, monkeypatch):
    """ulimit -c unlimited for the programs started inside, their working directory (where a
    core_pattern of plain "core" puts the core) `directory`, and ASan left from disabling cores
    itself (it would otherwise hide whether stek did)."""
    pattern = CORE_PATTERN.read_text().strip()
    if pattern.startswith("|") or "/" in pattern:
        pytest.skip(f"core_pattern is {pattern!r}: cores do not land in the process's "
                    "directory, so this test cannot look at them")
    monkeypatch.chdir(directory)
    monkeypatch.setenv("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", "") + ":disable_coredump=0")
    old = resource.getrlimit(resource.RLIMIT_CORE)
    if old[1] == 0:
        pytest.skip("the hard RLIMIT_CORE is 0 here: no process may write a core")
    resource.setrlimit(resource.RLIMIT_CORE, (old[1], old[1]))  # ulimit -c <hard limit>
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, old)


def cores_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith("core"))


def abort(proc) -> None:
    proc.send_signal(signal.SIGABRT)
    wait_until(lambda: proc.poll() is not None, 60, what="the aborted process to exit")


def test_stekd_and_agent_lock_secrets_and_turn_core_dumps_off(tmp_path):
    with Stekd(tmp_path / "stekd") as stekd, ShmDir() as shm:
        stekd.ring("host-web1")
        agent = start_agent(tmp_path, agent_config(tmp_path, shm, stekd))
        try:
            wait_until(lambda: (shm / "app" / "ring.json").exists(), 30,
                       what="the agent's first ring")
            for name, pid in (("stekd", stekd.proc.pid), ("stek-agent", agent.pid)):
                assert locked_kib(pid) > 0, f"{name}: nothing locked in memory (VmLck 0)"
                assert core_limit(pid) == "0", f"{name}: core dumps are not off"
            # The agent's directories are private, whatever the umask was.
            for d in (shm / "cache",):
                assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
        finally:
            agent.stop()


def test_without_the_opt_out_a_crashed_stekd_and_agent_leave_no_core(tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    with cores_allowed_here(work, monkeypatch), Stekd(tmp_path / "stekd") as stekd, \
            ShmDir() as shm:
        stekd.ring("host-web1")
        agent = start_agent(tmp_path, agent_config(tmp_path, shm, stekd))
        wait_until(lambda: (shm / "app" / "ring.json").exists(), 30, what="the agent's ring")
        abort(agent)
        abort(stekd.proc)
        assert cores_in(work) == [], "a core was written without the opt-out"


def test_with_the_opt_out_the_core_leaves_the_secret_heap_out(tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.setenv("STEK_ALLOW_CORE_DUMPS", "1")
    with cores_allowed_here(work, monkeypatch), Stekd(tmp_path / "stekd") as stekd:
        _, ring = stekd.ring("host-web1")
        assert core_limit(stekd.proc.pid) != "0"
        assert locked_kib(stekd.proc.pid) > 0
        abort(stekd.proc)
        cores = wait_until(lambda: cores_in(work), 30, what="stekd's core")
        core = cores[0].read_bytes()
        assert len(core) > 0
        found = [what for what, b in secret_byte_strings(stekd, [ring]).items() if b in core]
        assert found == [], f"secrets in stekd's core: {found}"


def test_directories_are_private_whatever_the_umask(tmp_path):
    target = tmp_path / "a" / "b" / "pki"
    old = os.umask(0)
    try:
        stekctl("pki", "init", "--dir", target, "--host", "web1=eu-west")
    finally:
        os.umask(old)
    for d in (tmp_path / "a", tmp_path / "a" / "b", target):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
