"""A real Apache Traffic Server (Debian's trafficserver 9.2) on 127.0.0.1: traffic_manager and
the traffic_server it starts, with every directory (config, runtime, logs, cache) under one
test directory through a runroot file, so nothing of /etc/trafficserver is read or written.
TLS only, no origin (every request is a 404): the tests are about session tickets."""

from __future__ import annotations

import contextlib
import os
import signal as signals
import subprocess
from pathlib import Path

from .pki import shared_cert
from .proc import LOOPBACK, Process, free_port, run, wait_for_port, wait_until

RUNROOT = """\
prefix: {dir}
exec_prefix: /usr
bindir: /usr/bin
sbindir: /usr/sbin
sysconfdir: {dir}/etc
datadir: {dir}/var
includedir: /usr/include
libdir: /usr/lib/trafficserver
libexecdir: /usr/lib/trafficserver/modules
localstatedir: {dir}/var
runtimedir: {dir}/run
logdir: {dir}/log
cachedir: {dir}/cache
"""

# One thread of each kind keeps it light on a loaded 2-core machine; the cache is a small
# file because traffic_server wants one even with HTTP caching off. user_id #-1: stay the
# user that started it (the test's), which owns the key file the agent writes (mode 0600).
RECORDS = """\
CONFIG proxy.config.http.server_ports STRING {port}:ssl:ipv4:ip-in={host}
CONFIG proxy.config.admin.user_id STRING #-1
CONFIG proxy.config.http.cache.http INT 0
CONFIG proxy.config.ssl.server.cert.path STRING {dir}/etc
CONFIG proxy.config.ssl.server.private_key.path STRING {dir}/etc
CONFIG proxy.config.ssl.server.ticket_key.filename STRING {keys}
CONFIG proxy.config.ssl.server.session_ticket.enable INT 1
CONFIG proxy.config.ssl.session_cache INT 0
CONFIG proxy.config.ssl.session_cache.timeout INT {timeout}
CONFIG proxy.config.log.logging_enabled INT 0
CONFIG proxy.config.exec_thread.autoconfig INT 0
CONFIG proxy.config.exec_thread.limit INT 1
CONFIG proxy.config.accept_threads INT 1
CONFIG proxy.config.task_threads INT 1
CONFIG proxy.config.cache.threads_per_disk INT 1
CONFIG proxy.config.diags.debug.enabled INT 1
CONFIG proxy.config.diags.debug.tags STRING ssl_load
"""

EMPTY_CONFIGS = ("remap.config", "plugin.config", "hosting.config", "cache.config",
                 "parent.config", "volume.config", "splitdns.config", "socks.config",
                 "sni.yaml", "strategies.yaml")

IP_ALLOW = """\
ip_allow:
  - apply: in
    ip_addrs: 127.0.0.1
    action: allow
"""


class TrafficServer(Process):
    """traffic_manager (which runs traffic_server) serving TLS with the 48-byte ticket key file
    `keys` (proxy.config.ssl.server.ticket_key.filename)."""

    def __init__(self, directory: Path, keys: Path, port: int | None = None,
                 session_timeout: int = 300, timeout: float = 60.0):
        self.dir = directory.resolve()
        for sub in ("etc", "run", "log", "cache", "var"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        cert, key = shared_cert()
        etc = self.dir / "etc"
        self.runroot = self.dir / "runroot.yaml"
        self.runroot.write_text(RUNROOT.format(dir=self.dir))
        (etc / "records.config").write_text(RECORDS.format(
            dir=self.dir, port=self.port, host=LOOPBACK, keys=Path(keys).resolve(),
            timeout=session_timeout))
        (etc / "ssl_multicert.config").write_text(
            f"dest_ip=* ssl_cert_name={Path(cert).resolve()} "
            f"ssl_key_name={Path(key).resolve()}\n")
        (etc / "storage.config").write_text(f"{self.dir / 'cache'} 32M\n")
        (etc / "ip_allow.yaml").write_text(IP_ALLOW)
        (etc / "logging.yaml").write_text("logging: {}\n")
        for name in EMPTY_CONFIGS:
            (etc / name).touch()
        super().__init__(["traffic_manager"], self.dir / "traffic_manager.out", env=self.env,
                         name="traffic_manager")
        # traffic_manager listens at once; traffic_server answers once it is initialized.
        wait_for_port(self.port, timeout, proc=self.proc)
        wait_until(lambda: self.check_alive() or "fully initialized" in self.diags(), timeout,
                   what="traffic_server initialized")

    @property
    def env(self) -> dict:
        return {**os.environ, "TS_RUNROOT": str(self.runroot)}

    @property
    def reload_command(self) -> list[str]:
        """`traffic_ctl config reload` for this instance (its runroot names its sockets)."""
        return ["env", f"TS_RUNROOT={self.runroot}", "traffic_ctl", "config", "reload"]

    def ctl(self, *args, timeout: float = 20.0) -> subprocess.CompletedProcess:
        return run(["traffic_ctl", *args], timeout=timeout, env=self.env)

    def diags(self) -> str:
        log = self.dir / "log" / "diags.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def stop(self, timeout: float = 20.0, sig: int = signals.SIGTERM) -> int | None:
        code = super().stop(timeout, sig)
        # traffic_server and traffic_crashlog share traffic_manager's process group; one of
        # them may outlive it (traffic_crashlog waits stopped for a crash that never comes).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signals.SIGKILL)
        return code
