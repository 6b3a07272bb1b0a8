"""A real h2o (Debian 12's 2.2.5) on 127.0.0.1 reading its session ticket keys from a file
(`ssl-session-resumption` with `ticket-store: file`), which h2o re-reads by itself."""

from __future__ import annotations

from pathlib import Path

from .pki import shared_cert
from .proc import LOOPBACK, Process, free_port, wait_for_port

H2O_CONF = """\
# Written by stek's Python harness (tests/integration/stektest).
user: {user}
pid-file: {dir}/h2o.pid
error-log: {dir}/error.log
listen:
  host: {host}
  port: {port}
  ssl:
    certificate-file: {cert}
    key-file: {key}
    minimum-version: TLSv1.2
ssl-session-resumption:
  mode: {mode}
  ticket-store: file
  ticket-file: {tickets}
  lifetime: {lifetime}
hosts:
  default:
    paths:
      /:
        file.dir: {dir}/www
"""


class H2o(Process):
    """h2o serving HTTPS with the ticket keys in `tickets`, configured in `directory`.
    start=False only writes the configuration (start() once the ticket file exists)."""

    def __init__(self, directory: Path, tickets: Path, port: int | None = None,
                 mode: str = "all", lifetime: int = 3600, start: bool = True):
        import getpass
        self.dir = directory.resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "www").mkdir(exist_ok=True)
        (self.dir / "www" / "index.html").write_text("ok h2o\n")
        self.port = port or free_port()
        cert, key = shared_cert()
        self.conf = self.dir / "h2o.conf"
        # The ticket file is the agent's (0600): h2o reads it as the same user.
        self.conf.write_text(H2O_CONF.format(
            user=getpass.getuser(), dir=self.dir, host=LOOPBACK, port=self.port,
            cert=Path(cert).resolve(), key=Path(key).resolve(), mode=mode,
            tickets=Path(tickets).resolve(), lifetime=lifetime))
        self.proc = None
        if start:
            self.start()

    def start(self) -> None:
        super().__init__(["h2o", "-c", self.conf], self.dir / "h2o.out")
        wait_for_port(self.port, proc=self.proc)

    def stop(self, *args, **kw) -> int | None:
        return super().stop(*args, **kw) if self.proc is not None else None

    def error_log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""
