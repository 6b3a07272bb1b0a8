# ctest-timeout: 180  ctest-cost: 20
"""STEK-less servers behind ticket-aware routing: two libstek example servers in stateless mode
(`--tickets stateless --server-prefix P`, sessions held in each process, no key anywhere) behind
one real HAProxy in `mode tcp` that runs contrib/haproxy/stek_route.lua, with one static map
entry per server (its prefix -> its name). `openssl s_client -sess_out/-sess_in` resumes TLS 1.2
(by session id) and TLS 1.3 (stateful tickets): every resumption must reach the issuing server;
after one server restarts, only its sessions stop resuming."""

import re

import pytest

from libstek_server import ExampleServer
from stektest import tls_connect, wait_until
from stektest.lb import RoutingHaproxy

VERSIONS = ("1.2", "1.3")
# One prefix per server: 16 bytes, unique, not secret (docs/routing.md).
PREFIXES = {"stateless-1": "5e1f" + "01" * 14, "stateless-2": "5e1f" + "02" * 14}


class Rig:
    def __init__(self, workdir):
        self.dir = workdir
        self.servers = {name: self._start(name) for name in PREFIXES}
        self.lb = RoutingHaproxy(workdir / "lb", {n: s.port for n, s in self.servers.items()},
                                 routes={p: n for n, p in PREFIXES.items()})

    def _start(self, name: str, port: int | None = None) -> ExampleServer:
        return ExampleServer(self.dir / name, tickets="stateless", port=port,
                             extra=["--server-prefix", PREFIXES[name]])

    def restart(self, name: str) -> None:
        """Stops the server (its sessions die with it) and starts it again on the same port
        with the same prefix: the map stays as it is."""
        old = self.servers[name]
        old.stop()
        self.servers[name] = self._start(name, port=old.port)
        wait_until(lambda: name in self.lb.servers_up(), 10, what=f"{name} up in HAProxy")

    def resumed_counts(self) -> dict[str, int]:
        return {n: s.status()["resumed"] for n, s in self.servers.items()}

    def stop(self) -> None:
        self.lb.stop()
        for s in self.servers.values():
            s.stop()


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    r = Rig(tmp_path_factory.mktemp("routing-stateless"))
    try:
        wait_until(lambda: r.lb.servers_up() == set(PREFIXES), 30,
                   what="HAProxy to see every example server up")
        yield r
    finally:
        r.stop()


def issuer(result, version: str) -> str:
    """The server whose prefix begins the session: TLS 1.3's ticket (the session id itself),
    TLS 1.2's session id as s_client prints it."""
    if version == "1.3":
        assert result.tickets, "no TLS 1.3 ticket:\n" + result.output[-800:]
        prefix = result.tickets[-1][:16].hex()
    else:
        m = re.search(r"^\s*Session-ID: ([0-9A-F]+)$", result.output, re.M)
        assert m, "no session id:\n" + result.output[-800:]
        prefix = m.group(1).lower()[:32]
    by_prefix = {p: n for n, p in PREFIXES.items()}
    assert prefix in by_prefix, f"session id {prefix} starts with no server's prefix"
    return by_prefix[prefix]


def one_session_per_server(rig, client, version: str, tag: str) -> dict:
    """Full handshakes through the routed port until each server has issued a session (round
    robin: two or three handshakes)."""
    sessions = {}
    for _ in range(4 * len(PREFIXES)):
        r = tls_connect(rig.lb.routed_port, client, version, tag=f"{tag}-{version}")
        assert not r.reused
        sessions.setdefault(issuer(r, version), r)
        if len(sessions) == len(PREFIXES):
            return sessions
    raise AssertionError(f"TLS {version}: sessions from {sorted(sessions)} only")


def test_resumptions_return_to_the_issuing_server_every_time(rig, tmp_path):
    rounds = 3
    sessions = {v: one_session_per_server(rig, tmp_path, v, "first") for v in VERSIONS}
    before = rig.resumed_counts()
    for v in VERSIONS:
        for name, first in sessions[v].items():
            for _ in range(rounds):
                again = tls_connect(rig.lb.routed_port, tmp_path, v, resume=first.session_file,
                                    tag=f"again-{v}")
                assert again.reused, f"TLS {v}: {name}'s session not resumed through HAProxy"
    after = rig.resumed_counts()
    # Only the issuer holds a STEK-less session, so a resumption proves where it landed; the
    # servers' own counters say the same, per server.
    for name in PREFIXES:
        assert after[name] - before[name] == rounds * len(VERSIONS), (name, before, after)


def test_without_routing_resumption_falls_to_about_one_in_n(rig, tmp_path):
    tries = 6
    for v in VERSIONS:
        first = tls_connect(rig.lb.plain_port, tmp_path, v, tag=f"plain-{v}")
        reused = sum(tls_connect(rig.lb.plain_port, tmp_path, v, resume=first.session_file,
                                 tag=f"plain-again-{v}").reused for _ in range(tries))
        assert reused < tries, f"TLS {v}: STEK-less sessions resumed on every server"


def test_a_restarted_server_loses_only_its_own_sessions(rig, tmp_path):
    sessions = {v: one_session_per_server(rig, tmp_path, v, "before") for v in VERSIONS}
    gone, kept = "stateless-2", "stateless-1"
    rig.restart(gone)
    for v in VERSIONS:
        again = tls_connect(rig.lb.routed_port, tmp_path, v,
                            resume=sessions[v][kept].session_file, tag=f"kept-{v}")
        assert again.reused, f"TLS {v}: {kept}'s session lost when {gone} restarted"
        lost = tls_connect(rig.lb.routed_port, tmp_path, v,
                           resume=sessions[v][gone].session_file, tag=f"lost-{v}")
        assert not lost.reused, f"TLS {v}: {gone} resumed a session from before its restart"
        # Still routed by its prefix: the full handshake was on the restarted server, whose
        # new session resumes again.
        assert issuer(lost, v) == gone
        fresh = tls_connect(rig.lb.routed_port, tmp_path, v, resume=lost.session_file,
                            tag=f"fresh-{v}")
        assert fresh.reused, f"TLS {v}: a session of the restarted {gone} did not resume"
