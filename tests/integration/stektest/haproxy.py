"""A real HAProxy on 127.0.0.1 with a tls-ticket-keys file and its runtime API socket."""

from __future__ import annotations

import socket
from pathlib import Path

from .pki import shared_cert
from .proc import LOOPBACK, Process, free_port, wait_for_port

HAPROXY_CONF = """\
global
{stats}    tune.ssl.default-dh-param 2048
{global_extra}
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend tls
    bind {host}:{port} ssl crt {pem} tls-ticket-keys {keys} ssl-min-ver TLSv1.2
    http-request return status 200 content-type text/plain string "ok haproxy\\n"
"""



def runtime_api(sock: Path, command: str, timeout: float = 5.0) -> str:
    """One command on a HAProxy runtime API (stats) socket; its whole answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(sock))
        s.sendall(command.encode() + b"\n")
        chunks = []
        while data := s.recv(65536):
            chunks.append(data)
    return b"".join(chunks).decode(errors="replace")

class Haproxy(Process):
    """HAProxy serving HTTPS with the ticket keys in `keys`, configured in `directory`.

    socket=False leaves the runtime API (stats socket) out; master_worker=True runs HAProxy's
    master-worker mode with a pid file (pid_file), which reloads on SIGUSR2; start=False only
    writes the configuration (start() later, e.g. once stek-agent wrote the key file); cert
    (certificate, key) replaces the harness's shared certificate."""

    def __init__(self, directory: Path, keys: Path, port: int | None = None, socket: bool = True,
                 master_worker: bool = False, global_extra: str = "", start: bool = True,
                 cert: tuple[Path, Path] | None = None):
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.master_worker = master_worker
        self.pid_file = directory / "haproxy.pid"
        cert, key = cert or shared_cert()
        (directory / "tls").mkdir(exist_ok=True)
        pem = directory / "tls" / "combined.pem"
        pem.write_bytes(cert.read_bytes() + key.read_bytes())
        pem.chmod(0o600)
        self.socket = directory / "admin.sock"
        self.conf = directory / "haproxy.cfg"
        stats = (f"    stats socket {directory.resolve()}/admin.sock mode 600 level admin\n"
                 if socket else "")
        extra = "".join(f"    {line}\n" for line in global_extra.splitlines() if line.strip())
        self.conf.write_text(HAPROXY_CONF.format(stats=stats, global_extra=extra, host=LOOPBACK,
                                                 port=self.port, pem=pem.resolve(),
                                                 keys=Path(keys).resolve()))
        self.proc = None
        if start:
            self.start()

    def start(self) -> None:
        args = ["haproxy", "-db", "-f", self.conf]
        if self.master_worker:
            args += ["-W", "-p", self.pid_file]
        super().__init__(args, self.dir / "haproxy.out")
        wait_for_port(self.port, proc=self.proc)

    def stop(self, *args, **kw) -> int | None:
        return super().stop(*args, **kw) if self.proc is not None else None

    def info(self) -> dict[str, str]:
        """`show info` on the runtime API: Pid, Uptime_sec, ..."""
        out = {}
        for line in self.admin("show info").splitlines():
            key, sep, value = line.partition(":")
            if sep:
                out[key.strip()] = value.strip()
        return out

    def admin(self, command: str, timeout: float = 5.0) -> str:
        """One command on the runtime API socket."""
        return runtime_api(self.socket, command, timeout)
