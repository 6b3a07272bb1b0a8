# ctest-timeout: 180  ctest-cost: 30
"""Tenants on one nginx (issue 11, Deliver 9): two stek domains, tenant-a and tenant-b, each fed
by its own stek-agent (nginx sink, --ring-file) into its own server block of one real nginx
1.22. What separates them is one listen socket per domain: then a ticket of one tenant never
resumes under the other (TLS 1.2 and 1.3, either direction), and each encrypts under its own
domain's keys. Two server blocks on one listen address:port are measured as nginx does them
(every ticket encrypted under the keys of the socket's default server, and tenant-a's ticket
resumed under tenant-b's name), and the agent refuses that configuration
(--check-config exits 1 naming the shared socket)."""

import time

from stektest import wait_until
from stektest.agent import Agent, ShmDir, write_config
from stektest.nginx import http_conf, include_keys, start_nginx
from stektest.pki import shared_cert
from stektest.proc import LOOPBACK, binary, free_port, run
from stektest.ring import make_ring, write_ring
from stektest.tls import tls_connect

INTERVAL = 60
TENANTS = ("tenant-a", "tenant-b")

# The http block: one certificate for both tenants, resumption by ticket only.
HTTP = """\
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets on;
    ssl_session_timeout 100s;
{servers}"""

SERVER = """\
    server {{
        listen {listen} ssl;
        server_name {name}.test;
        include {include};
        location / {{ return 200 "{name}\\n"; }}
    }}
"""


def nginx_conf(directory, listens, includes):
    cert, key = shared_cert()
    servers = "".join(SERVER.format(listen=listen, name=t, include=includes[t])
                      for t, listen in zip(TENANTS, listens))
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(http_conf(directory, HTTP.format(cert=cert, key=key, servers=servers)))
    return conf


def agent_config(tmp_path, shm, tenant, conf):
    return write_config(tmp_path / f"{tenant}.toml", domain=tenant, cache_dir=shm / tenant / "cache",
                        sinks=[{"type": "nginx", "dir": shm / tenant / "keys",
                                "include": shm / tenant / "tickets.conf", "reload": "none",
                                "nginx_conf": conf}])


def names(ring):
    return {k["name"] for k in ring["keys"]}


def test_one_listen_socket_per_domain_separates_tenants_and_a_shared_one_is_refused(tmp_path):
    e0 = int(time.time()) // INTERVAL
    rings = {t: make_ring(t, e0 - 1, e0 + 1, interval=INTERVAL) for t in TENANTS}
    assert not names(rings[TENANTS[0]]) & names(rings[TENANTS[1]])
    with ShmDir() as shm:
        includes = {t: shm / t / "tickets.conf" for t in TENANTS}
        for t in TENANTS:
            (shm / t).mkdir()
            write_ring(tmp_path / f"{t}.json", rings[t])
        ports = [free_port(), free_port()]
        separate = nginx_conf(tmp_path / "separate", [f"{LOOPBACK}:{p}" for p in ports], includes)
        agents = [Agent(agent_config(tmp_path, shm, t, separate), tmp_path / f"{t}.log",
                        "--ring-file", tmp_path / f"{t}.json", name=f"stek-agent {t}")
                  for t in TENANTS]
        try:
            for t, agent in zip(TENANTS, agents):
                wait_until(lambda: agent.check_alive() or include_keys(includes[t]), 20,
                           what=f"the agent of {t} writing its keys")
            nginx = start_nginx(tmp_path / "separate", separate, ports, name="nginx separate")
            with nginx:
                for version in ("1.2", "1.3"):
                    for i, (t, port) in enumerate(zip(TENANTS, ports)):
                        other, other_port = TENANTS[1 - i], ports[1 - i]
                        r = tls_connect(port, tmp_path / "c", version, servername=f"{t}.test")
                        assert r.key_name in names(rings[t]), (t, version, r.key_name)
                        assert tls_connect(port, tmp_path / "c", version, servername=f"{t}.test",
                                           resume=r.session_file).reused, (t, version)
                        assert not tls_connect(other_port, tmp_path / "c", version,
                                               servername=f"{other}.test",
                                               resume=r.session_file).reused, (t, version)
            for agent in agents:
                agent.check_alive()
        finally:
            for agent in agents:
                agent.stop()
        for t in TENANTS:
            assert "is shared by" not in (tmp_path / f"{t}.log").read_text(), t

        # One listen socket for both: measured as nginx 1.22 does it, then refused.
        port = free_port()
        shared = nginx_conf(tmp_path / "shared", [f"{LOOPBACK}:{port}"] * 2, includes)
        nginx = start_nginx(tmp_path / "shared", shared, [port], name="nginx shared")
        with nginx:
            for version in ("1.2", "1.3"):
                a = tls_connect(port, tmp_path / "c", version, servername="tenant-a.test")
                b = tls_connect(port, tmp_path / "c", version, servername="tenant-b.test")
                # The default server's (tenant-a's) keys encrypt tenant-b's tickets too ...
                assert a.key_name in names(rings["tenant-a"]), version
                assert b.key_name in names(rings["tenant-a"]), version
                # ... and tenant-a's ticket resumes under tenant-b's name.
                assert tls_connect(port, tmp_path / "c", version, servername="tenant-b.test",
                                   resume=a.session_file).reused, version
        for t in TENANTS:
            proc = run([binary("stek-agent"), "--config", agent_config(tmp_path, shm, t, shared),
                        "--check-config", "--ring-file", tmp_path / f"{t}.json"], check=False)
            out = proc.stdout.decode() + proc.stderr.decode()
            assert proc.returncode == 1, out
            assert f"listen {LOOPBACK}:{port} is shared" in out and "own listen address or " \
                   "port" in out, out

