"""The hosts of the interop matrix (test_interop_matrix.py): per product, a real server of
Debian 12 fed by its own real stek-agent on one stekd, made of the harness's launchers. Each
start function writes the server's configuration, starts the agent with the product's sink,
waits for the agent's first key file and then starts the server on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from libstek_server import ExampleServer
from stektest.agent import Agent, write_config
from stektest.apache import Apache
from stektest.ats import TrafficServer
from stektest.h2o import H2o
from stektest.haproxy import Haproxy
from stektest.nginx import Nginx, include_keys
from stektest.proc import LOOPBACK, free_port, wait_until


@dataclass
class Host:
    name: str           # stekd identity host-<name>
    product: str
    domain: str
    dir: Path           # configs and logs
    shm: Path           # key files and the agent's cache (tmpfs)
    port: int = 0
    children: list = field(default_factory=list)  # agent, server: stopped in reverse order

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()


def _agent(h: Host, stekd, sink: dict) -> Agent:
    port = free_port()
    config = write_config(
        h.dir / "stek-agent.toml", servers=[stekd.url], cache_dir=h.shm / "cache",
        poll_timeout=20, backoff_max=2.0, metrics_listen=f"{LOOPBACK}:{port}",
        tls={"cert": stekd.pki / f"host-{h.name}.crt", "key": stekd.pki / f"host-{h.name}.key",
             "ca": stekd.pki / "ca.crt"},
        sinks=[sink])
    agent = Agent(config, h.dir / "agent.log", metrics_port=port, name=f"stek-agent {h.name}")
    h.children.append(agent)
    return agent


def _wait_file(h: Host, agent: Agent, ready) -> None:
    wait_until(lambda: agent.check_alive() or ready(), 60,
               what=f"stek-agent of {h.name} to write its keys")


def start_nginx(h: Host, stekd, lifetime: int) -> None:
    include = h.shm / "tickets.conf"
    nginx = Nginx(h.dir, include=include, name=f"nginx {h.name}",
                  session_timeout=f"{lifetime}s", start=False)
    agent = _agent(h, stekd, {"type": "nginx", "dir": h.shm / "keys", "include": include,
                              "reload": "signal", "pid_file": nginx.pid_file,
                              "nginx_conf": nginx.conf})
    _wait_file(h, agent, lambda: include_keys(include))
    nginx.start(timeout=30)
    h.children.append(nginx)
    h.port = nginx.port


def start_haproxy(h: Host, stekd, lifetime: int) -> None:
    keys = h.shm / "tickets.keys"
    haproxy = Haproxy(h.dir, keys, start=False)
    agent = _agent(h, stekd, {"type": "haproxy", "path": keys, "socket": h.dir / "admin.sock",
                              "haproxy_cfg": haproxy.conf, "reload": "none"})
    _wait_file(h, agent, keys.exists)
    haproxy.start()
    h.children.append(haproxy)
    h.port = haproxy.port


def start_h2o(h: Host, stekd, lifetime: int) -> None:
    tickets = h.shm / "tickets.yaml"
    h2o = H2o(h.dir, tickets, lifetime=lifetime, start=False)
    agent = _agent(h, stekd, {"type": "h2o", "path": tickets, "h2o_conf": h2o.conf})
    _wait_file(h, agent, tickets.exists)
    h2o.start()
    h.children.append(h2o)
    h.port = h2o.port


def start_apache(h: Host, stekd, lifetime: int) -> None:
    key_file = h.shm / "ticket.key"
    agent = _agent(h, stekd, {"type": "apache", "path": key_file, "reload": "signal",
                              "pid_file": h.dir / "apache2.pid"})
    _wait_file(h, agent, key_file.exists)
    apache = Apache(h.dir, key_file, session_timeout=lifetime, start=False)
    # mod_ssl binds a session to its virtual host's ServerName:port (the session id context):
    # hosts of one fleet on port 443 share it. Here each host has its own port, so name the
    # same one in every virtual host; without it (measured) no ticket resumed on the other host.
    apache.conf.write_text(apache.conf.read_text().replace(
        "    SSLEngine on\n", "    ServerName localhost:443\n    SSLEngine on\n"))
    apache.start()
    h.children.append(apache)
    h.port = apache.port


def start_ats(h: Host, stekd, lifetime: int) -> None:
    key_file = h.shm / "ticket.key"
    # Until Traffic Server runs, its reload fails and the agent retries.
    agent = _agent(h, stekd, {"type": "ats", "path": key_file, "reload_command": [
        "env", f"TS_RUNROOT={h.dir.resolve() / 'runroot.yaml'}", "traffic_ctl", "config",
        "reload"]})
    _wait_file(h, agent, key_file.exists)
    ats = TrafficServer(h.dir, key_file, session_timeout=lifetime, timeout=120)
    h.children.append(ats)
    h.port = ats.port


def start_libstek(h: Host, stekd, lifetime: int) -> None:
    ring = h.shm / "ring.json"
    agent = _agent(h, stekd, {"type": "json", "path": ring})
    _wait_file(h, agent, ring.exists)
    server = ExampleServer(h.dir, ring=ring)
    h.children.append(server)
    h.port = server.port


START = {"nginx": start_nginx, "haproxy": start_haproxy, "h2o": start_h2o,
         "apache": start_apache, "ats": start_ats, "libstek": start_libstek}
