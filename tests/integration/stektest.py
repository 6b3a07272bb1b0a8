"""Shared helpers for stek's integration tests.

Everything here runs real programs from Debian packages (nginx, HAProxy, Apache, openssl)
and stek's own binaries, on 127.0.0.1 only, with bounded waits. Nothing is mocked.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal as signals
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

BUILD_DIR = Path(os.environ.get("STEK_BUILD_DIR", Path(__file__).resolve().parents[2] / "build"))
SOURCE_DIR = Path(os.environ.get("STEK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
LOOPBACK = "127.0.0.1"


def binary(name: str) -> Path:
    """Path of one of stek's programs in the build tree."""
    for candidate in (BUILD_DIR / "apps" / name / name, BUILD_DIR / name):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{name} not built under {BUILD_DIR}")


def run(args, *, timeout: float = 30, check: bool = True, input: bytes | None = None,
        env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs a command with a bound on time; returns its completed process (bytes output)."""
    proc = subprocess.run([str(a) for a in args], input=input, capture_output=True,
                          timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {proc.returncode}\n"
            f"stdout: {proc.stdout.decode(errors='replace')}\n"
            f"stderr: {proc.stderr.decode(errors='replace')}")
    return proc


def stekctl(*args, **kw) -> subprocess.CompletedProcess:
    return run([binary("stekctl"), *args], **kw)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    """Waits until something accepts connections on 127.0.0.1:port, or fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError):
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listened on {LOOPBACK}:{port} within {timeout} s")


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Polls predicate until it returns a truthy value; bounded by timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


def stops_resuming(port: int, directory: Path, version: str, session_file: Path,
                   within: float = 5.0) -> None:
    """Waits until the session in session_file no longer resumes on port. After a reload, nginx's
    old workers finish their connections and may still accept one or two new ones (seen: one
    in a few runs), under the keys they were started with; within seconds they are gone."""
    wait_until(lambda: not tls_connect(port, directory, version, resume=session_file).reused,
               within, what=f"the session in {session_file.name} no longer resuming")


def make_cert(directory: Path, name: str = "localhost", ca: tuple[Path, Path] | None = None,
              san: str | None = None) -> tuple[Path, Path]:
    """A P-256 certificate and key for 127.0.0.1/localhost (self-signed unless ca given)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / f"{name}.key"
    cert = directory / f"{name}.crt"
    san = san or "DNS:localhost,IP:127.0.0.1"
    run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-out", key])
    if ca is None:
        run(["openssl", "req", "-x509", "-new", "-key", key, "-out", cert, "-days", "2",
             "-subj", f"/CN={name}", "-addext", f"subjectAltName={san}"])
    else:
        csr = directory / f"{name}.csr"
        ext = directory / f"{name}.ext"
        ext.write_text(f"subjectAltName={san}\n")
        run(["openssl", "req", "-new", "-key", key, "-out", csr, "-subj", f"/CN={name}"])
        run(["openssl", "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1],
             "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext])
    key.chmod(0o600)
    return cert, key


_shared_cert: tuple[Path, Path] | None = None


def shared_cert() -> tuple[Path, Path]:
    """One certificate for every server a test process starts. nginx (and OpenSSL's session
    id context generally) binds sessions to the certificate, so hosts that must resume each
    other's tickets serve the same certificate, as a real fleet does."""
    global _shared_cert
    if _shared_cert is None:
        import tempfile
        _shared_cert = make_cert(Path(tempfile.mkdtemp(prefix="stek-cert-")))
    return _shared_cert


class Process:
    """A background process with its output in a log file; stopped on exit, never leaked."""

    def __init__(self, args, log: Path, env: dict | None = None, cwd: Path | None = None):
        self.args = [str(a) for a in args]
        self.log_path = log
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(self.args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                     start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        if self.alive():
            self.proc.send_signal(sig)

    def stop(self, timeout: float = 10.0, sig: int = signals.SIGTERM) -> int:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signals.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()
        return self.proc.returncode

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------- TLS client (openssl s_client)

@dataclass
class TlsResult:
    reused: bool
    protocol: str
    tickets: list[bytes]    # every ticket the server sent on this connection, in order
    lifetime_hint: int | None
    session_file: Path      # for a later resumption; may not exist (see tls_connect)
    output: str

    @property
    def ticket(self) -> bytes:
        """The last ticket the server sent, b"" if none."""
        return self.tickets[-1] if self.tickets else b""

    @property
    def key_name(self) -> str:
        """First 16 bytes of the last ticket, hex: the key name in OpenSSL-family tickets."""
        return self.ticket[:16].hex()


def tls_connect(port: int, workdir: Path, version: str = "1.2", resume: Path | None = None,
                servername: str = "localhost", timeout: float = 15.0, tag: str = "sess",
                extra: tuple = ()) -> TlsResult:
    """One HTTPS request with `openssl s_client`; saves the session for a later resumption.

    Tickets are read from the NewSessionTicket handshake messages (-msg), not from the saved
    session: s_client saves no session when a TLS 1.2 resumption brings a renewed ticket.
    TLS 1.3 tickets arrive after the handshake, so the client sends a request and reads the
    response before closing (-ign_eof), which guarantees they were processed.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / f"{tag}-{time.monotonic_ns()}.pem"
    args = ["openssl", "s_client", "-connect", f"{LOOPBACK}:{port}", "-servername", servername,
            "-tls1_2" if version == "1.2" else "-tls1_3", "-sess_out", out, "-ign_eof", "-msg",
            *extra]
    if resume is not None:
        args += ["-sess_in", resume]
    request = f"GET / HTTP/1.1\r\nHost: {servername}\r\nConnection: close\r\n\r\n".encode()
    proc = run(args, input=request, timeout=timeout, check=False)
    text = proc.stdout.decode(errors="replace")
    m = re.search(r"^(New|Reused), (TLSv[\d.]+)", text, re.M)
    if not m:
        raise AssertionError(f"s_client to {port} failed (exit {proc.returncode}):\n{text}\n"
                             f"{proc.stderr.decode(errors='replace')}")
    tickets, hint = parse_new_session_tickets(text)
    return TlsResult(m.group(1) == "Reused", m.group(2), tickets, hint, out, text)


def parse_new_session_tickets(msg_output: str) -> tuple[list[bytes], int | None]:
    """Tickets and the last lifetime hint from `s_client -msg` output (TLS 1.2 and 1.3)."""
    tickets, hint = [], None
    lines = msg_output.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"<<< (TLS 1\.[23]), Handshake \[length [0-9a-f]+\], NewSessionTicket", line)
        if not m:
            continue
        body = bytearray()
        for hexline in lines[i + 1:]:
            if not re.match(r"^\s+([0-9a-f]{2} ?)+\s*$", hexline):
                break
            body += bytes.fromhex(hexline)
        # Handshake header: type (1), length (3).
        msg = bytes(body[4:])
        if m.group(1) == "TLS 1.2":
            # lifetime_hint (4) | ticket length (2) | ticket
            hint = int.from_bytes(msg[0:4], "big")
            n = int.from_bytes(msg[4:6], "big")
            ticket = msg[6:6 + n]
        else:
            # lifetime (4) | age_add (4) | nonce (1 + n) | ticket (2 + n) | extensions
            hint = int.from_bytes(msg[0:4], "big")
            nonce_len = msg[8]
            pos = 9 + nonce_len
            n = int.from_bytes(msg[pos:pos + 2], "big")
            ticket = msg[pos + 2:pos + 2 + n]
        if ticket:
            tickets.append(bytes(ticket))
    return tickets, hint


# ---------------------------------------------------------------- servers

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp-body;
    proxy_temp_path {dir}/tmp-proxy;
    fastcgi_temp_path {dir}/tmp-fastcgi;
    uwsgi_temp_path {dir}/tmp-uwsgi;
    scgi_temp_path {dir}/tmp-scgi;
    server {{
        listen {host}:{port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets on;
        ssl_session_timeout {timeout};
{ticket_lines}
{extra}
        location / {{ return 200 "ok {name}\\n"; }}
    }}
}}
"""


class Nginx(Process):
    """A real nginx on 127.0.0.1 serving HTTPS with the given ticket key files (or an include)."""

    def __init__(self, directory: Path, port: int | None = None, key_files=(),
                 include: Path | None = None, extra: str = "", name: str = "nginx",
                 session_timeout: str = "18h"):
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        cert, key = shared_cert()
        lines = [f"        ssl_session_ticket_key {Path(f).resolve()};" for f in key_files]
        if include is not None:
            lines.append(f"        include {Path(include).resolve()};")
        self.conf = directory / "nginx.conf"
        self.conf.write_text(NGINX_CONF.format(dir=directory.resolve(), host=LOOPBACK,
                                               port=self.port, cert=cert.resolve(),
                                               key=key.resolve(), ticket_lines="\n".join(lines),
                                               extra=extra, name=name, timeout=session_timeout))
        super().__init__(["nginx", "-c", self.conf.resolve(), "-p", directory.resolve(), "-e",
                          directory.resolve() / "error.log"], directory / "nginx.out")
        wait_for_port(self.port, proc=self.proc)

    @property
    def pid_file(self) -> Path:
        return self.dir / "nginx.pid"

    def reload(self, timeout: float = 10.0) -> None:
        """SIGHUP, then waits until the new workers serve (the old worker pid set changes)."""
        before = self._workers()
        self.send_signal(signals.SIGHUP)
        wait_until(lambda: self._workers() and not (self._workers() & before), timeout,
                   what="nginx reload")

    def _workers(self) -> set[int]:
        out = subprocess.run(["pgrep", "-P", str(self.pid)], capture_output=True, text=True)
        return {int(p) for p in out.stdout.split()}


HAPROXY_CONF = """\
global
    stats socket {dir}/admin.sock mode 600 level admin
    tune.ssl.default-dh-param 2048
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend tls
    bind {host}:{port} ssl crt {pem} tls-ticket-keys {keys} ssl-min-ver TLSv1.2
    http-request return status 200 content-type text/plain string "ok haproxy\\n"
"""


class Haproxy(Process):
    """A real HAProxy on 127.0.0.1 with a tls-ticket-keys file and an admin socket."""

    def __init__(self, directory: Path, keys: Path, port: int | None = None):
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        cert, key = shared_cert()
        (directory / "tls").mkdir(exist_ok=True)
        pem = directory / "tls" / "combined.pem"
        pem.write_bytes(cert.read_bytes() + key.read_bytes())
        pem.chmod(0o600)
        self.socket = directory / "admin.sock"
        self.conf = directory / "haproxy.cfg"
        self.conf.write_text(HAPROXY_CONF.format(dir=directory.resolve(), host=LOOPBACK,
                                                 port=self.port, pem=pem.resolve(),
                                                 keys=Path(keys).resolve()))
        super().__init__(["haproxy", "-db", "-f", self.conf], directory / "haproxy.out")
        wait_for_port(self.port, proc=self.proc)

    def admin(self, command: str, timeout: float = 5.0) -> str:
        """One command on the runtime API socket."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.socket))
            s.sendall(command.encode() + b"\n")
            chunks = []
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        return b"".join(chunks).decode(errors="replace")


def have(program: str) -> bool:
    return shutil.which(program) is not None
