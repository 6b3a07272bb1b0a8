"""A real nginx on 127.0.0.1 serving HTTPS with session tickets only (no session cache), its
ticket keys given as key files or as an include that stek-agent's nginx sink writes."""

from __future__ import annotations

import signal as signals
import subprocess
from pathlib import Path

from .pki import shared_cert
from .proc import LOOPBACK, Process, free_port, wait_for_port, wait_until

# An nginx whose pid file, logs and temp files stay in {dir}; {http} is the http block's body.
HTTP_CONF = """\
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
{http}}}
"""

# The one server block of the harness's nginx.
SERVER_BLOCK = """\
    server {{
        listen {host}:{port} ssl;
        server_name localhost;
        # Hosts that resume each other's tickets serve one certificate: OpenSSL binds a
        # session to it (session id context).
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols {protocols};
        ssl_session_cache off;          # resumption by ticket only
        ssl_session_tickets on;
        ssl_session_timeout {timeout};
{ticket_lines}
{extra}
        location / {{ return 200 "{body}\\n"; }}
    }}
"""

def http_conf(directory: Path, http: str) -> str:
    """nginx.conf text for an nginx kept in directory, its http block holding `http`."""
    return HTTP_CONF.format(dir=directory, http=http)


def nginx_argv(directory: Path, conf: Path) -> list:
    return ["nginx", "-c", conf, "-p", directory, "-e", directory / "error.log"]


def start_nginx(directory: Path, conf: Path, ports, name: str = "nginx") -> Process:
    """Runs nginx on conf and waits until it listens on every port (several server blocks)."""
    proc = Process(nginx_argv(directory, conf), directory / "nginx.out", name=name)
    for port in sorted(set(ports)):
        wait_for_port(port, 15, proc=proc.proc)
    return proc


def include_keys(include: Path) -> list[str]:
    """Key names an nginx include lists (ssl_session_ticket_key lines), in its order; [] while
    the file is missing or lists none (stek-agent writes a keyless include before its first
    ring)."""
    if not include.exists():
        return []
    return [Path(line.split()[1].strip('";')).stem for line in include.read_text().splitlines()
            if line.startswith("ssl_session_ticket_key ")]


class Nginx(Process):
    """nginx with its configuration, pid file and logs in `directory`. With start=False the
    configuration is written (a sink may need to read it) and start() runs nginx later."""

    def __init__(self, directory: Path, port: int | None = None, key_files=(),
                 include: Path | None = None, extra: str = "", name: str = "nginx",
                 session_timeout: str = "18h", body: str | None = None,
                 cert: tuple[Path, Path] | None = None, start: bool = True,
                 protocols: str = "TLSv1.2 TLSv1.3"):
        self.dir = directory.resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.name = name
        cert, key = cert or shared_cert()
        lines = [f"        ssl_session_ticket_key {Path(f).resolve()};" for f in key_files]
        if include is not None:
            lines.append(f"        include {Path(include).resolve()};  # written by stek-agent")
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(http_conf(self.dir, SERVER_BLOCK.format(
            host=LOOPBACK, port=self.port, cert=Path(cert).resolve(),
            key=Path(key).resolve(), ticket_lines="\n".join(lines), extra=extra,
            body=body if body is not None else f"ok {name}", timeout=session_timeout,
            protocols=protocols)))
        self.proc = None
        if start:
            self.start()

    def start(self, timeout: float = 15.0) -> None:
        super().__init__(nginx_argv(self.dir, self.conf), self.dir / "nginx.out", name=self.name)
        wait_for_port(self.port, timeout, proc=self.proc)

    @property
    def pid_file(self) -> Path:
        return self.dir / "nginx.pid"

    def alive(self) -> bool:
        return self.proc is not None and super().alive()

    def check_alive(self) -> None:
        if self.proc is not None:
            super().check_alive()

    def stop(self, timeout: float = 10.0, sig: int = signals.SIGTERM) -> int | None:
        return super().stop(timeout, sig) if self.proc is not None else None

    def reload(self, timeout: float = 10.0) -> None:
        """SIGHUP, then waits until the new workers serve (the old worker pid set changes)."""
        before = self._workers()
        self.send_signal(signals.SIGHUP)
        wait_until(lambda: self._workers() and not (self._workers() & before), timeout,
                   what="nginx reload")

    def _workers(self) -> set[int]:
        out = subprocess.run(["pgrep", "-P", str(self.pid)], capture_output=True, text=True)
        return {int(p) for p in out.stdout.split()}
