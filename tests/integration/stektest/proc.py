"""Processes for the harness: where stek's programs are, running a command with a bound on time,
background processes with a log file, free ports and bounded waits. 127.0.0.1 only."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import random
import shutil
import signal as signals
import socket
import subprocess
import time
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("STEK_SOURCE_DIR", Path(__file__).resolve().parents[3]))
BUILD_DIR = Path(os.environ.get("STEK_BUILD_DIR", SOURCE_DIR / "build"))
LOOPBACK = "127.0.0.1"


class HarnessError(AssertionError):
    """A part failed to start or answer; the message says which and why. An AssertionError, so
    that a test fails on it like on any other check, and a command line can catch it alone."""


def binary(name: str, build_dir: Path | None = None) -> Path:
    """Path of one of stek's programs in the build tree (default: STEK_BUILD_DIR or build/)."""
    build_dir = Path(build_dir or BUILD_DIR)
    for candidate in (build_dir / "apps" / name / name, build_dir / name):
        if candidate.exists():
            return candidate.resolve()
    raise HarnessError(f"{build_dir / 'apps' / name / name} is missing: build it first "
                       f"(scripts/build.sh)")


def have(program: str) -> bool:
    return shutil.which(program) is not None


def run(args, *, timeout: float = 30, check: bool = True, input: bytes | None = None,
        env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs a command with a bound on time; returns its completed process (bytes output)."""
    proc = subprocess.run([str(a) for a in args], input=input, capture_output=True,
                          timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise HarnessError(
            f"{' '.join(map(str, args))} exited {proc.returncode}\n"
            f"stdout: {proc.stdout.decode(errors='replace')}\n"
            f"stderr: {proc.stderr.decode(errors='replace')}")
    return proc


def stekctl(*args, build_dir: Path | None = None, **kw) -> subprocess.CompletedProcess:
    return run([binary("stekctl", build_dir), *args], **kw)


# Ports the harness hands out come from below the kernel's ephemeral range, where no outgoing
# connection and no bind(port 0) takes them, and each is reserved across processes (ctest runs
# test files in parallel, each its own pytest) by a lock on byte `port` of one shared file, held
# until this process ends or gives the port back: without it, two tests could both be handed a
# port that was free a moment ago, and one program would meet another's listener (CI, stop 13:
# stekd "Address already in use", and its agent talked TLS to some other test's server).
_PORT_LOCKS = Path(os.environ.get("TMPDIR", "/tmp")) / "stektest-ports.lock"
_port_lock_fd: "int | None" = None
_HELD_PORTS: "set[int]" = set()


def _ephemeral_low() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    return 32768


def _reserve(port: int) -> bool:
    """Locks byte `port` of the shared file; False when this or another process holds it.
    (fcntl record locks: one descriptor for all ports, released by the kernel at exit.)"""
    global _port_lock_fd
    if port in _HELD_PORTS:
        return False
    if _port_lock_fd is None:
        _port_lock_fd = os.open(_PORT_LOCKS, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o666)
        with contextlib.suppress(OSError):
            os.fchmod(_port_lock_fd, 0o666)
    try:
        fcntl.lockf(_port_lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, port, os.SEEK_SET)
    except OSError:
        return False
    _HELD_PORTS.add(port)
    return True


def _release(port: int) -> None:
    if port in _HELD_PORTS:
        _HELD_PORTS.discard(port)
        fcntl.lockf(_port_lock_fd, fcntl.LOCK_UN, 1, port, os.SEEK_SET)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_ports_in_a_row(count: int) -> int:
    """The first of `count` consecutive TCP ports on 127.0.0.1, free now and reserved for this
    process (no other test of the run is handed them), below the kernel's ephemeral range."""
    low = _ephemeral_low()
    rng = random.Random()
    for _ in range(500):
        first = rng.randrange(10000, low - count)
        taken = []
        for port in range(first, first + count):
            if not _reserve(port):
                break
            taken.append(port)
            if not _bindable(port):
                break
        else:
            return first
        for port in taken:
            _release(port)
    raise HarnessError(f"no {count} free ports in a row below {low}")


def free_port() -> int:
    """A TCP port on 127.0.0.1, free now and reserved for this process (see free_ports_in_a_row)."""
    return free_ports_in_a_row(1)


def count_lines(stream, marker: str, count: int, timeout: float) -> int:
    """Reads text lines from `stream` (a program's progress output) until `count` of them
    contain `marker`, the stream ends, or `timeout` s have passed since the call (checked after
    each line: a program that stays silent ends the wait only when its output closes); returns
    how many did. For "act once the program has done N things", where a fixed sleep fails
    under load."""
    seen = 0
    deadline = time.monotonic() + timeout
    while seen < count and time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen += marker in line
    return seen


def rss_kib(pid: int) -> int:
    """The resident memory of process `pid` in KiB (VmRSS), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def accepts(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port now."""
    with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=0.5):
        return True
    return False


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Polls predicate until it returns a truthy value; bounded by timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise HarnessError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(interval)


def wait_for_port(port: int, timeout: float = 15.0, proc=None) -> None:
    """Waits until something accepts connections on 127.0.0.1:port, or fails early when proc
    (a subprocess.Popen or a Process) exits first."""
    def listening():
        if proc is not None and proc.poll() is not None:
            raise HarnessError(f"process exited with {proc.returncode} before listening on {port}")
        return accepts(port)
    wait_until(listening, timeout, interval=0.05, what=f"a listener on {LOOPBACK}:{port}")


# Every Process not yet stopped: a test that fails between starting a program and handing it to
# a `with` block would otherwise leave it running after pytest ends (conftest.py stops these at
# the end of each test, and atexit at the end of the run).
_LIVE: "set[Process]" = set()


_STARTED: "list[Process]" = []  # every Process of this pytest run, in order: logs on failure


def live_processes() -> "set[Process]":
    return set(_LIVE)


def started_count() -> int:
    return len(_STARTED)


def processes_to_report(since: int) -> "list[Process]":
    """The programs a failed test may have met: those started since `since` (started_count()
    when it began) and those still running (a module fixture's), each once, in start order."""
    return [p for i, p in enumerate(_STARTED) if i >= since or p in _LIVE]


def log_tail(path: Path, lines: int = 30, limit: int = 16384) -> str:
    """The last `lines` lines of a log (at most its last `limit` bytes), for a failure report."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - limit))
        text = f.read().decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def stop_leftovers(keep: "set[Process] | None" = None) -> list[str]:
    """Stops every Process still running except those in keep; returns their names."""
    left = [p for p in list(_LIVE) if keep is None or p not in keep]
    for p in left:
        p.stop(timeout=5)
    return [p.name for p in left]


atexit.register(stop_leftovers)


class Process:
    """A background program in its own process group, its output in a log file; stopped on
    exit, never leaked. append=True keeps the log of earlier runs (a persistent directory)."""

    def __init__(self, args, log: Path, env: dict | None = None, cwd: Path | None = None,
                 name: str | None = None, append: bool = False):
        self.args = [str(a) for a in args]
        self.name = name or Path(self.args[0]).name
        self.log_path = log
        self._log = open(log, "ab" if append else "wb")
        self.proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                     start_new_session=True)
        _LIVE.add(self)
        _STARTED.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def poll(self) -> int | None:
        return self.proc.poll()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check_alive(self) -> None:
        """Raises HarnessError, with the end of the log, when the program has exited."""
        if not self.alive():
            tail = self.output().splitlines()[-5:]
            raise HarnessError(f"{self.name} exited with status {self.proc.returncode}; "
                               f"last lines of {self.log_path}:\n  " + "\n  ".join(tail))

    def send_signal(self, sig: int) -> None:
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 10.0, sig: int = signals.SIGTERM) -> int:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._note_hang(timeout, sig)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signals.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()
        _LIVE.discard(self)
        return self.proc.returncode

    def _note_hang(self, timeout: float, sig: int) -> None:
        """Appends to the log where each thread was when the program outlived a stop signal:
        its state and kernel wait channel, so a failed stop says why it hung."""
        lines = [f"harness: {self.name} still ran {timeout} s after signal {sig}; killing it"]
        with contextlib.suppress(OSError):
            for task in sorted(Path(f"/proc/{self.proc.pid}/task").iterdir()):
                with contextlib.suppress(OSError):
                    stat = (task / "stat").read_text()
                    comm, state = stat[stat.find("(") + 1:stat.rfind(")")], stat[stat.rfind(")") + 2]
                    wchan = (task / "wchan").read_text().strip() or "-"
                    lines.append(f"harness:   thread {task.name} ({comm}) state {state} in {wchan}")
        with contextlib.suppress(OSError, ValueError):
            self._log.write(("\n".join(lines) + "\n").encode())
            self._log.flush()

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
