"""A load-balancing HAProxy on 127.0.0.1 in `mode tcp` (TLS passthrough) in front of real
backends, with stek's ticket-aware routing (contrib/haproxy/stek_route.lua) on one port and
plain round robin on another, so a test measures both through the same servers."""

from __future__ import annotations

from pathlib import Path

from .haproxy import runtime_api
from .proc import LOOPBACK, SOURCE_DIR, Process, free_port, wait_for_port


LUA = SOURCE_DIR / "contrib" / "haproxy" / "stek_route.lua"

LB_CONF = """\
global
    stats socket {dir}/admin.sock mode 600 level admin
    lua-load {lua}
defaults
    mode tcp
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend routed
    bind {host}:{routed_port}
    tcp-request inspect-delay 2s
    tcp-request content set-var(txn.stek_server) lua.stek_key_name,map({map}) if {{ req.ssl_hello_type 1 }}
    tcp-request content accept if {{ req.ssl_hello_type 1 }}
    default_backend routed
frontend plain
    bind {host}:{plain_port}
    default_backend plain
backend routed
    balance roundrobin
{use_servers}{servers}
backend plain
    balance roundrobin
{servers}"""


class RoutingHaproxy(Process):
    """HAProxy balancing `servers` ({name: port}); routed_port routes by ticket key name
    through the map file `map_file` (kept current by stek-agents' haproxy_route sinks, or
    static `routes`), plain_port balances round robin only."""

    def __init__(self, directory: Path, servers: dict[str, int],
                 routes: dict[str, str] | None = None):
        """routes: static map entries (hex name or server prefix -> server) written to the map
        file before HAProxy starts, as for STEK-less servers (docs/routing.md)."""
        self.dir = directory.resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.routed_port, self.plain_port = free_port(), free_port()
        self.socket = self.dir / "admin.sock"
        self.map_file = self.dir / "stek-route.map"
        self.map_file.write_text("".join(f"{k} {v}\n" for k, v in (routes or {}).items()))
        self.conf = self.dir / "haproxy.cfg"
        use = "".join(f"    use-server {n} if {{ var(txn.stek_server) -m str {n} }}\n"
                      for n in servers)
        lines = "".join(f"    server {n} {LOOPBACK}:{p} check inter 500ms fall 1 rise 1\n"
                        for n, p in servers.items())
        self.conf.write_text(LB_CONF.format(
            dir=self.dir, lua=LUA, host=LOOPBACK, routed_port=self.routed_port,
            plain_port=self.plain_port, map=self.map_file, use_servers=use, servers=lines))
        super().__init__(["haproxy", "-db", "-f", self.conf], self.dir / "haproxy.out",
                         name="haproxy (load balancer)")
        wait_for_port(self.routed_port, proc=self.proc)

    @property
    def route(self) -> dict:
        """The haproxy_route sink's socket and map, for stektest.fleet.Fleet(route=...)."""
        return {"socket": self.socket, "map": self.map_file}

    def admin(self, command: str, timeout: float = 5.0) -> str:
        return runtime_api(self.socket, command, timeout)

    def routes(self) -> dict[str, str]:
        """The routing map now: key name (hex) -> server name."""
        out = {}
        for line in self.admin(f"show map {self.map_file}").splitlines():
            parts = line.split()
            if len(parts) == 3:
                out[parts[1]] = parts[2]
        return out

    def servers_up(self, backend: str = "routed") -> set[str]:
        """The backend's servers that HAProxy's health checks see UP (`show stat`)."""
        lines = self.admin("show stat").splitlines()
        if not lines:
            return set()
        header = lines[0].lstrip("# ").split(",")
        status = header.index("status")
        up = set()
        for line in lines[1:]:
            fields = line.split(",")
            if (len(fields) > status and fields[0] == backend and fields[status] == "UP" and
                    fields[1] not in ("BACKEND", "FRONTEND")):
                up.add(fields[1])
        return up
