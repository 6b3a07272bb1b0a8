"""TLS servers of other stacks than OpenSSL's, from Debian packages, on 127.0.0.1: Caddy
(Go crypto/tls), gnutls-serv (GnuTLS), selfserv (NSS) and a small JSSE server run with
OpenJDK (java/TicketServer.java). stek-scan's layout tests use them as they come, with the
shortest key rotation each one allows."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .pki import shared_cert
from .proc import LOOPBACK, Process, free_port, have, run, wait_for_port

JAVA_SERVER = Path(__file__).resolve().parent / "java" / "TicketServer.java"


def java_program() -> str | None:
    """OpenJDK 17's java when it can run a source file (needs the jdk.compiler module)."""
    for candidate in ("/usr/lib/jvm/java-17-openjdk-amd64/bin/java", shutil.which("java")):
        if candidate and Path(candidate).exists():
            out = run([candidate, "--list-modules"], check=False, timeout=60)
            if b"jdk.compiler" in out.stdout:
                return candidate
    return None


class Caddy(Process):
    """Caddy 2.6 (Go 1.19 crypto/tls) serving HTTPS with its own STEK rotation every
    `rotation` (Caddy's session_tickets.rotation_interval; default there is 12h)."""

    def __init__(self, directory: Path, rotation: str = "2s", max_keys: int = 4):
        self.dir = directory.resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        cert, key = shared_cert()
        config = {
            "admin": {"disabled": True},
            "storage": {"module": "file_system", "root": str(self.dir / "data")},
            "apps": {
                "http": {"servers": {"s": {
                    "listen": [f"{LOOPBACK}:{self.port}"],
                    "routes": [{"handle": [{"handler": "static_response", "body": "ok caddy"}]}],
                    "tls_connection_policies": [{"certificate_selection": {"any_tag": ["t"]}}],
                    "automatic_https": {"disable": True},
                }}},
                "tls": {
                    "certificates": {"load_files": [
                        {"certificate": str(cert), "key": str(key), "tags": ["t"]}]},
                    "session_tickets": {"rotation_interval": rotation, "max_keys": max_keys},
                },
            },
        }
        self.conf = self.dir / "caddy.json"
        self.conf.write_text(json.dumps(config, indent=1))
        env = dict(os.environ, HOME=str(self.dir), XDG_DATA_HOME=str(self.dir),
                   XDG_CONFIG_HOME=str(self.dir))
        super().__init__(["caddy", "run", "--config", self.conf], self.dir / "caddy.log",
                         env=env, name="caddy")
        wait_for_port(self.port, 20, proc=self.proc)


class GnutlsServ(Process):
    """gnutls-serv (GnuTLS 3.7) with session tickets (its default)."""

    def __init__(self, directory: Path):
        self.dir = directory.resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        cert, key = shared_cert()
        super().__init__(["gnutls-serv", "--port", str(self.port), "--x509certfile", cert,
                          "--x509keyfile", key], self.dir / "gnutls-serv.log", name="gnutls-serv")
        wait_for_port(self.port, 15, proc=self.proc)


class NssSelfserv(Process):
    """NSS's selfserv with session tickets (-u), its key and certificate in an NSS database
    made here from the harness certificate."""

    def __init__(self, directory: Path):
        self.dir = directory.resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        db = self.dir / "db"
        db.mkdir(exist_ok=True)
        p12 = pkcs12(self.dir)
        run(["certutil", "-N", "-d", f"sql:{db}", "--empty-password"])
        run(["pk12util", "-i", p12, "-d", f"sql:{db}", "-W", "stek-test", "-K", ""])
        super().__init__(["selfserv", "-d", f"sql:{db}", "-n", "server", "-p", str(self.port),
                          "-V", "tls1.2:tls1.3", "-u"], self.dir / "selfserv.log", name="selfserv")
        wait_for_port(self.port, 15, proc=self.proc)


class JsseServer(Process):
    """java/TicketServer.java on OpenJDK 17, rotating JSSE's ticket key every
    `key_timeout` seconds (jdk.tls.server.statelessKeyTimeout; JSSE's default is 3600)."""

    def __init__(self, directory: Path, java: str, key_timeout: int = 3):
        self.dir = directory.resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        p12 = pkcs12(self.dir)
        super().__init__([java, f"-Djdk.tls.server.statelessKeyTimeout={key_timeout}",
                          "-XX:TieredStopAtLevel=1", JAVA_SERVER, str(self.port), p12,
                          "stek-test"], self.dir / "java.log", name="java")
        wait_for_port(self.port, 60, proc=self.proc)


def pkcs12(directory: Path) -> Path:
    """The harness certificate and key as a PKCS#12 file (password stek-test, name server)."""
    cert, key = shared_cert()
    out = directory / "server.p12"
    run(["openssl", "pkcs12", "-export", "-in", cert, "-inkey", key, "-out", out,
         "-passout", "pass:stek-test", "-name", "server"])
    return out


def missing(*programs: str) -> list[str]:
    return [p for p in programs if not have(p)]
