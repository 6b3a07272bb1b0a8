"""A real HAProxy on 127.0.0.1 with a tls-ticket-keys file and its runtime API socket."""

from __future__ import annotations

import socket
from pathlib import Path

from .pki import shared_cert
from .proc import LOOPBACK, Process, free_port, wait_for_port

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
    """HAProxy serving HTTPS with the ticket keys in `keys`, configured in `directory`."""

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
