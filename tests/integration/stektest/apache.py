"""A real Apache httpd (Debian's apache2, mpm_event, mod_ssl) on 127.0.0.1, in the foreground,
with its configuration, pid file and logs in one directory and one SSLSessionTicketKeyFile."""

from __future__ import annotations

import signal as signals
from pathlib import Path

from .pki import shared_cert
from .proc import LOOPBACK, Process, free_port, wait_for_port, wait_until

MODULES = "/usr/lib/apache2/modules"

APACHE_CONF = """\
ServerRoot {dir}
ServerName localhost
PidFile {dir}/apache2.pid
ErrorLog {dir}/error.log
LogLevel info ssl:info
Mutex file:{dir}
Listen {host}:{port}
LoadModule mpm_event_module {modules}/mod_mpm_event.so
LoadModule authz_core_module {modules}/mod_authz_core.so
LoadModule socache_shmcb_module {modules}/mod_socache_shmcb.so
LoadModule ssl_module {modules}/mod_ssl.so
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
DocumentRoot {dir}/htdocs
<Directory {dir}/htdocs>
    Require all granted
</Directory>
SSLSessionCache none
SSLSessionCacheTimeout {timeout}
SSLSessionTickets on
SSLSessionTicketKeyFile {keys}
<VirtualHost {host}:{port}>
    SSLEngine on
    SSLProtocol -all +TLSv1.2 +TLSv1.3
    SSLCertificateFile {cert}
    SSLCertificateKeyFile {key}
</VirtualHost>
"""


class Apache(Process):
    """apache2 -DFOREGROUND serving HTTPS with the 48-byte ticket key file `keys`."""

    def __init__(self, directory: Path, keys: Path, port: int | None = None,
                 session_timeout: int = 300, start: bool = True):
        self.dir = directory.resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "htdocs").mkdir(exist_ok=True)
        (self.dir / "htdocs" / "index.html").write_text("ok apache\n")
        # Workers run as nobody when started by root: they must read the page.
        for p in (self.dir, self.dir / "htdocs", self.dir / "htdocs" / "index.html"):
            p.chmod(p.stat().st_mode | 0o005)
        self.port = port or free_port()
        cert, key = shared_cert()
        self.conf = self.dir / "apache2.conf"
        self.conf.write_text(APACHE_CONF.format(
            dir=self.dir, host=LOOPBACK, port=self.port, modules=MODULES,
            cert=Path(cert).resolve(), key=Path(key).resolve(), keys=Path(keys).resolve(),
            timeout=session_timeout))
        self.proc = None
        if start:
            self.start()

    @property
    def command(self) -> list[str]:
        return ["apache2", "-d", str(self.dir), "-f", str(self.conf)]

    @property
    def pid_file(self) -> Path:
        return self.dir / "apache2.pid"

    def start(self, timeout: float = 20.0) -> None:
        super().__init__([*self.command, "-DFOREGROUND"], self.dir / "apache2.out",
                         name="apache")
        wait_for_port(self.port, timeout, proc=self.proc)
        wait_until(self.pid_file.exists, timeout, what="apache pid file")

    def generations(self) -> int:
        """How many times the configuration was (re)loaded: Apache logs 'resuming normal
        operations' at start and after each graceful restart."""
        log = self.dir / "error.log"
        return log.read_text(errors="replace").count("resuming normal operations") \
            if log.exists() else 0

    def stop(self, timeout: float = 15.0, sig: int = signals.SIGTERM) -> int | None:
        return super().stop(timeout, sig) if self.proc is not None else None
