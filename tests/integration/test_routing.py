# ctest-timeout: 180  ctest-cost: 60
"""Ticket-aware routing end to end: a real stekd with a per-host domain, two hosts each a real
stek-agent feeding a real nginx and, through the haproxy_route sink, the routing map of one real
HAProxy in `mode tcp` that runs contrib/haproxy/stek_route.lua. `openssl s_client` resumes
TLS 1.2 and TLS 1.3 sessions through the routed port (they must reach the issuing host every
time, across a rotation) and through a plain round-robin port of the same HAProxy (resumption
falls to about 1/N), and hostile ClientHellos must leave the proxy serving."""

import socket
import struct

import pytest

from stektest import BUILD_DIR, LOOPBACK, tls_connect, wait_until
from stektest.fleet import Fleet
from stektest.lb import RoutingHaproxy
from stektest.ring import names_by_epoch

# The ticket lifetime (H x I = 32 s) outlasts the test: a client drops an expired session.
INTERVAL, HISTORY, LOOKAHEAD = 4, 8, 2
DOMAIN = "edge"


@pytest.fixture(scope="module")
def rig(tmp_path_factory, monkeypatch_module):
    workdir = tmp_path_factory.mktemp("routing")
    fleet = Fleet(workdir / "fleet", BUILD_DIR, interval=INTERVAL, history=HISTORY,
                  lookahead=LOOKAHEAD, long_poll_timeout=10, domains=(DOMAIN,),
                  hosts_per_domain=2, per_host=(DOMAIN,))
    lb = RoutingHaproxy(workdir / "lb", {h.name: h.https_port for h in fleet.hosts})
    fleet.route = lb.route
    monkeypatch_module.chdir(workdir)  # fleet.json goes into the working directory
    try:
        fleet.start()
        wait_until(lambda: set(lb.routes().values()) == {h.name for h in fleet.hosts}, 30,
                   what="every agent's keys in HAProxy's routing map")
        wait_until(lambda: lb.servers_up() == {h.name for h in fleet.hosts}, 30,
                   what="HAProxy to see every nginx up")
        yield fleet, lb
    finally:
        lb.stop()
        fleet.stop()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def issuer(result) -> str:
    """The host whose nginx answered (its body names it)."""
    for word in result.output.split():
        if word.startswith(f"{DOMAIN}-"):
            return word
    raise AssertionError("no host named in the answer:\n" + result.output[-500:])


def test_hosts_of_a_per_host_domain_get_their_own_keys_and_history(rig):
    fleet, lb = rig
    rings = [fleet.fetch_ring(h) for h in fleet.hosts]
    (v1, r1), (v2, r2) = rings
    assert v1 == v2, "one domain, one schedule: one ring version"
    n1, n2 = names_by_epoch(r1), names_by_epoch(r2)
    assert set(n1) == set(n2), "the same epochs (history and look-ahead) on both hosts"
    assert len(n1) >= LOOKAHEAD + 1, "each host holds its own ring: current and look-ahead"
    assert not set(n1.values()) & set(n2.values()), "no key name shared between hosts"
    routes = lb.routes()
    for h, names in zip(fleet.hosts, (n1, n2)):
        assert all(routes.get(n) == h.name for n in names.values()), h.name


def test_routed_resumption_reaches_the_issuer_every_time_across_a_rotation(rig):
    fleet, lb = rig
    client = fleet.dir / "client"
    first = {v: tls_connect(lb.routed_port, client, v, tag=f"routed-{v}") for v in ("1.2", "1.3")}
    origin = {v: issuer(r) for v, r in first.items()}
    epoch = fleet.epoch()

    def resume_all(rounds: int) -> None:
        for v, r in first.items():
            for _ in range(rounds):
                again = tls_connect(lb.routed_port, client, v, resume=r.session_file,
                                    tag=f"again-{v}")
                assert again.reused, f"TLS {v}: not resumed through the routed port"
                assert issuer(again) == origin[v], f"TLS {v}: reached another host"

    resume_all(2)
    # A rotation: every host encrypts under the next epoch's key, the tickets' keys are now
    # decrypt-only, and their map entries must still route.
    wait_until(lambda: fleet.epoch() > epoch and all(fleet.serves_its_ring(h)
                                                      for h in fleet.hosts),
               3 * INTERVAL, what="a rotation on every host")
    resume_all(2)


def test_without_routing_resumption_falls_to_about_one_in_n(rig):
    fleet, lb = rig
    client = fleet.dir / "client"
    tries = 6
    for v in ("1.2", "1.3"):
        first = tls_connect(lb.plain_port, client, v, tag=f"plain-{v}")
        reused = sum(tls_connect(lb.plain_port, client, v, resume=first.session_file,
                                 tag=f"plain-again-{v}").reused for _ in range(tries))
        print(f"TLS {v} round robin over {len(fleet.hosts)} per-host servers: "
              f"{reused}/{tries} resumed")
        assert reused < tries, "per-host keys resumed everywhere: keys are shared"


def test_a_server_taken_out_loses_only_its_own_resumptions(rig):
    fleet, lb = rig
    client = fleet.dir / "client"
    sessions = {}
    for _ in range(6):  # round robin: both hosts issue within a few full handshakes
        r = tls_connect(lb.routed_port, client, "1.3", tag="out")
        sessions.setdefault(issuer(r), r)
        if len(sessions) == len(fleet.hosts):
            break
    assert len(sessions) == len(fleet.hosts)
    gone, kept = fleet.hosts[1].name, fleet.hosts[0].name
    lb.admin(f"disable server routed/{gone}")
    try:
        wait_until(lambda: gone not in lb.servers_up(), 10, what=f"{gone} out of the backend")
        again = tls_connect(lb.routed_port, client, "1.3", resume=sessions[kept].session_file,
                            tag="kept")
        assert again.reused and issuer(again) == kept
        lost = tls_connect(lb.routed_port, client, "1.3", resume=sessions[gone].session_file,
                           tag="lost")
        assert issuer(lost) == kept and not lost.reused, "balanced, full handshake"
    finally:
        lb.admin(f"enable server routed/{gone}")
        wait_until(lambda: gone in lb.servers_up(), 10, what=f"{gone} back in the backend")


def record(body: bytes) -> bytes:
    return b"\x16\x03\x01" + struct.pack(">H", len(body)) + body


def hello(extensions: bytes, declared: int | None = None) -> bytes:
    body = (b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" +
            struct.pack(">H", len(extensions)) + extensions)
    hs = b"\x01" + struct.pack(">I", declared if declared is not None else len(body))[1:] + body
    return record(hs)


def ext(kind: int, data: bytes, declared: int | None = None) -> bytes:
    return struct.pack(">HH", kind, len(data) if declared is None else declared) + data


HOSTILE = {
    "garbage": b"\x00\xff" * 300,
    "http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "truncated": hello(ext(35, b"\xab" * 100))[:60],
    "oversized extension": hello(ext(35, b"\xab" * 20, declared=60000)),
    "duplicate tickets": hello(ext(35, b"\x01" * 32) + ext(35, b"\x02" * 32)),
    "hello longer than its record": hello(ext(35, b"\x01" * 32), declared=0xFFFFFF),
    "record beyond 16 KiB": b"\x16\x03\x01\xff\xff" + b"\x01" * 2000,
    "unknown key name": hello(ext(35, b"\x5a" * 160)),
    "psk identities overflow": hello(ext(41, b"\xff\xff\x00\x20" + b"\x01" * 40)),
}


def test_hostile_client_hellos_leave_the_proxy_serving(rig):
    fleet, lb = rig
    for name, payload in HOSTILE.items():
        with socket.create_connection((LOOPBACK, lb.routed_port), timeout=5) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass  # reset by the backend: balanced and refused there, as any bad client
        lb.check_alive()
        assert lb.servers_up() == {h.name for h in fleet.hosts}, name
    ok = tls_connect(lb.routed_port, fleet.dir / "client", "1.3", tag="after-hostile")
    assert issuer(ok) in {h.name for h in fleet.hosts}
