# ctest-timeout: 300  ctest-cost: 35
"""stek-scan vhosts on real nginx 1.22: two server blocks on one listen socket, each with its
own ssl_session_ticket_key file. nginx issues tickets (TLS 1.2 and 1.3) under the default
server's key whatever the name, and a ticket from name A resumes under name B (cross-name
resumption, the class of CVE-2014-3616). Next to it a near miss: the same, with a
certificate of its own for name B."""

import json

import pytest

from stektest import (LOOPBACK, Process, binary, free_port, make_cert, run, shared_cert, stekctl,
                      wait_for_port)
from stektest.nginx import http_conf, start_nginx

SERVER = """\
    server {{
        listen {host}:{port} ssl;
        server_name {name};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets on;
        ssl_session_ticket_key {ticket_key};
        location / {{ return 200 "ok {name}\\n"; }}
    }}
"""

def nginx_with_names(directory, names_ports, certs=None, tickets_off=()):
    """nginx with one server block per (name, port), each with its own key file; the
    harness certificate unless certs names another for a server name."""
    directory.mkdir(parents=True, exist_ok=True)
    servers, keys = [], {}
    for name, port in names_ports:
        cert, key = (certs or {}).get(name) or shared_cert()
        keys[name] = directory / f"{name}.key"
        stekctl("keygen", "--format", "nginx80", "--out", keys[name])
        block = SERVER.format(host=LOOPBACK, port=port, name=name, cert=cert, key=key,
                              ticket_key=keys[name])
        if name in tickets_off:
            block = block.replace("ssl_session_tickets on;", "ssl_session_tickets off;")
        servers.append(block)
    conf = directory / "nginx.conf"
    conf.write_text(http_conf(directory, "".join(servers)))
    return start_nginx(directory, conf, [p for _, p in names_ports]), keys


def key_name(path):
    doc = json.loads(stekctl("inspect", "--json", "--format", "nginx80", path).stdout)
    return doc["keys"][0]["name"]


def vhosts(endpoint, names, *extra):
    proc = run([binary("stek-scan"), "vhosts", endpoint, "--names", ",".join(names), *extra,
                "--json", "-", "-q"], timeout=120, check=False)
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    return proc.returncode, json.loads(proc.stdout)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_two_server_blocks_on_one_socket_resume_each_others_tickets(tmp_path, version):
    port = free_port()
    nginx, keys = nginx_with_names(tmp_path / "nginx", [("a.test", port), ("b.test", port)])
    with nginx:
        rc, doc = vhosts(f"{LOOPBACK}:{port}", ["a.test", "b.test"], "--tls", version)
    a, b = f"a.test@{LOOPBACK}:{port}", f"b.test@{LOOPBACK}:{port}"
    assert doc["mode"] == "vhosts"
    assert [e["endpoint"] for e in doc["endpoints"]] == [a, b]
    assert [e["sni"] for e in doc["endpoints"]] == ["a.test", "b.test"]
    # Every ticket, under either name, is issued under the default server's (a.test) key.
    for e in doc["endpoints"]:
        assert [k["key_name"] for k in e["key_names"]] == [key_name(keys["a.test"])]
    cross = {(f["evidence"]["from"], f["evidence"]["to"])
             for f in doc["findings"] if f["id"] == "cross_name_resumption"}
    assert cross == {(a, b), (b, a)}
    assert rc == 1  # a warning


def test_even_a_name_with_its_own_certificate_and_no_tickets_resumes_the_default_names_ticket(
        tmp_path):
    """What an operator might try against it in nginx 1.22: b.test with a certificate of its
    own and ssl_session_tickets off. b.test issues no ticket, yet a.test's ticket still
    resumes under b.test: nginx opens tickets with the default server's keys."""
    port = free_port()
    own = make_cert(tmp_path / "b-cert", "b.test", san="DNS:b.test")
    nginx, keys = nginx_with_names(tmp_path / "nginx", [("a.test", port), ("b.test", port)],
                                   certs={"b.test": own}, tickets_off={"b.test"})
    with nginx:
        rc, doc = vhosts(f"{LOOPBACK}:{port}", ["a.test", "b.test"], "--tls", "1.2")
    a, b = f"a.test@{LOOPBACK}:{port}", f"b.test@{LOOPBACK}:{port}"
    cross = {(f["evidence"]["from"], f["evidence"]["to"])
             for f in doc["findings"] if f["id"] == "cross_name_resumption"}
    assert cross == {(a, b)}
    assert [f["endpoints"] for f in doc["findings"] if f["id"] == "no_ticket"] == [[b]]


HAPROXY_SNI = """\
global
    maxconn 64
defaults
    mode tcp
    timeout connect 5s
    timeout client 10s
    timeout server 10s
frontend by_name
    bind {host}:{port}
    tcp-request inspect-delay 5s
    tcp-request content accept if {{ req.ssl_hello_type 1 }}
    use_backend a if {{ req.ssl_sni -i a.test }}
    default_backend b
backend a
    server a {host}:{port_a}
backend b
    server b {host}:{port_b}
"""


def test_names_routed_to_servers_with_their_own_keys_do_not_resume_each_others_tickets(
        tmp_path):
    """Near miss: one address, two names, HAProxy routing by SNI (TCP mode) to two nginx
    with keys of their own. Each name gets its own key name and no ticket crosses."""
    pa, pb, front = free_port(), free_port(), free_port()
    na, keys_a = nginx_with_names(tmp_path / "a", [("a.test", pa)])
    nb, keys_b = nginx_with_names(tmp_path / "b", [("b.test", pb)])
    conf = tmp_path / "haproxy.cfg"
    conf.write_text(HAPROXY_SNI.format(host=LOOPBACK, port=front, port_a=pa, port_b=pb))
    with na, nb, Process(["haproxy", "-db", "-f", conf], tmp_path / "haproxy.log") as hap:
        wait_for_port(front, 15, proc=hap.proc)
        rc, doc = vhosts(f"{LOOPBACK}:{front}", ["a.test", "b.test"], "--tls", "1.2")
    assert rc == 0
    assert not [f for f in doc["findings"] if f["id"] == "cross_name_resumption"]
    cross = [c for c in doc["connections"] if c["kind"] == "cross"]
    assert len(cross) == 2 and all(c["status"] == "ok" and not c["resumed"] for c in cross)
    names = {e["sni"]: [k["key_name"] for k in e["key_names"]] for e in doc["endpoints"]}
    assert names == {"a.test": [key_name(keys_a["a.test"])], "b.test": [key_name(keys_b["b.test"])]}
