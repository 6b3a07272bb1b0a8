# ctest-timeout: 300  ctest-cost: 30
"""Revocation takes effect at once (issue 10, deliverable 1), on a real stekd: a host whose
certificate a CRL revokes (tls.crl, or a CRL appended to tls.client_ca), or that an admin put
on the deny-list, gets 403 and no new ring after `stekctl rotate-domain-secret`, its open long
poll ends at once, and every denial is in the audit log with the peer's address. The last test
runs the compromise procedure of docs/operating.md as written, on a fleet of real stek-agents
and nginx: the stolen host is cut off, the others serve the new ring, and a ticket issued
before the rotation no longer resumes on them."""

import json
import re
import signal
import threading
import time

from stektest import BUILD_DIR, tls_connect, wait_until
from stektest.fleet import Fleet
from stektest.pki import DEFAULT_HOSTS, make_crl, make_pki
from stektest.stekd import Stekd
from stektest.tls import stops_resuming


class Poll:
    """One long poll of `identity` in a thread: GET /v1/keyring?wait=VERSION; records the
    status, or the error when the connection is closed without an answer."""

    def __init__(self, stekd: Stekd, identity: str, version: int):
        self.status: int | None = None
        self.error: Exception | None = None
        self.ended_at: float | None = None

        def run():
            try:
                self.status = stekd.request(f"/v1/keyring?wait={version}", identity,
                                            timeout=60)[0]
            except Exception as e:  # noqa: BLE001 - a closed connection is the expected end
                self.error = e
            self.ended_at = time.monotonic()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def wait_parked(self, stekd: Stekd, host: str) -> None:
        """Until stekd counts the host's poll as connected."""
        def parked():
            agents = stekd.admin_json("/v1/admin/agents")
            return any(a["host"] == host and a["connected"] for a in agents)
        wait_until(parked, 15, what=f"the long poll of {host} to be parked")

    def ended(self, within: float) -> bool:
        self.thread.join(within)
        return not self.thread.is_alive()


def keyring_status(stekd: Stekd, identity: str) -> int:
    return stekd.request("/v1/keyring", identity, timeout=15)[0]


def rotate(stekd: Stekd, domain: str = "eu-west") -> int:
    out = stekd.admin("rotate-domain-secret", domain, "--yes")
    return int(re.search(r"ring version (\d+)", out).group(1))


def test_revoked_certificate_gets_no_new_ring_and_its_poll_ends(tmp_path):
    stekd = Stekd(tmp_path / "stekd", tls_extra='crl = "pki/crl.pem"', start=False)
    make_pki(stekd.pki, DEFAULT_HOSTS, BUILD_DIR)
    make_crl(stekd.pki)  # nothing revoked yet
    with stekd:
        stekd.start()
        v, _ = stekd.ring("host-web1")
        poll = Poll(stekd, "host-web1", v)
        poll.wait_parked(stekd, "web1")
        make_crl(stekd.pki, revoked=["host-web1"])  # noticed without a signal
        assert poll.ended(within=10), "the revoked host's long poll stayed open"
        assert poll.status is None, f"the revoked host's poll was answered {poll.status}"
        new = rotate(stekd)
        assert new > v
        assert keyring_status(stekd, "host-web1") == 403
        assert stekd.ring("host-web2")[0] == new
        closed = stekd.audit_events("connection_revoked")
        assert [e["identity"] for e in closed] == ["host:web1"]
        assert closed[0]["peer"].startswith("127.0.0.1:")
        denied = stekd.audit_events("request_denied")
        assert denied and denied[-1]["peer"].startswith("127.0.0.1:")
        assert "revoked" in denied[-1]["reason"]
        # Allowed again by a CRL without it, re-read on SIGHUP.
        make_crl(stekd.pki)
        stekd.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: keyring_status(stekd, "host-web1") == 200, 10,
                   what="web1 allowed again after the CRL lost it")


def test_crl_appended_to_the_client_ca_is_honoured(tmp_path):
    stekd = Stekd(tmp_path / "stekd", start=False)
    make_pki(stekd.pki, DEFAULT_HOSTS, BUILD_DIR)
    crl = make_crl(stekd.pki, revoked=["host-web1"], out=tmp_path / "crl.pem")
    ca = stekd.pki / "ca.crt"
    ca.write_text(ca.read_text() + crl.read_text())
    with stekd:
        stekd.start()
        assert keyring_status(stekd, "host-web1") == 403
        assert keyring_status(stekd, "host-web2") == 200


def test_denied_host_gets_403_at_once_and_after_a_restart(tmp_path):
    stekd = Stekd(tmp_path / "stekd")
    with stekd:
        v, _ = stekd.ring("host-web1")
        poll = Poll(stekd, "host-web1", v)
        poll.wait_parked(stekd, "web1")
        out = stekd.admin("deny", "add", "web1")
        assert "web1 denied" in out
        assert poll.ended(within=10), "the denied host's long poll stayed open"
        assert poll.status == 403
        new = rotate(stekd)
        assert keyring_status(stekd, "host-web1") == 403
        assert stekd.ring("host-web2")[0] == new
        assert stekd.admin("deny", "list").split() == ["web1"]
        assert stekd.deny_file.stat().st_mode & 0o777 == 0o600
        assert json.loads(stekd.deny_file.read_text()) == {"denied_hosts": ["web1"]}
        events = stekd.audit_events("host_denied")
        assert [e["host"] for e in events] == ["web1"]
        denied = stekd.audit_events("request_denied")
        assert denied and all(e["identity"] == "host:web1" for e in denied)
        assert denied[-1]["peer"].startswith("127.0.0.1:")
        # An agent is no admin: its admin call is refused, logged and audited.
        assert stekd.request("/v1/admin/deny/web2", "host-web2", "POST")[0] == 403
        refused = stekd.audit_events("admin_refused")
        assert refused and refused[-1]["status"] == 403
        assert refused[-1]["actor"] == "web2"

        stekd.stop()
        stekd.start()
        assert keyring_status(stekd, "host-web1") == 403
        stekd.admin("deny", "remove", "web1")
        assert keyring_status(stekd, "host-web1") == 200
        assert stekd.admin("deny", "list").split() == []


def test_compromise_procedure_of_the_operating_guide(tmp_path, monkeypatch):
    """docs/operating.md, "Responding to a compromised location", step by step."""
    monkeypatch.chdir(tmp_path)  # fleet.json goes into the working directory
    fleet = Fleet(tmp_path / "fleet", BUILD_DIR, interval=600, history=3, lookahead=2,
                  domains=("eu-west",), hosts_per_domain=3, long_poll_timeout=10,
                  stekd_tls_extra='crl = "pki/crl.pem"')
    make_pki(fleet.pki, fleet.stekd.hosts, BUILD_DIR)
    make_crl(fleet.pki)
    fleet.start()
    try:
        first, second, stolen = fleet.hosts
        old_version = first.metrics()["stek_agent_ring_version"]
        client = tmp_path / "client"
        before = tls_connect(first.https_port, client, "1.2")
        assert tls_connect(second.https_port, client, "1.2", resume=before.session_file).reused

        # 1. Deny the stolen host.
        fleet.stekd.admin("deny", "add", stolen.name)
        # 2. Revoke its certificate at the CA and give stekd the new CRL.
        make_crl(fleet.pki, revoked=[f"host-{stolen.name}"])
        fleet.stekd.proc.send_signal(signal.SIGHUP)
        stolen_version = stolen.metrics()["stek_agent_ring_version"]
        # 3. Replace the domain secret.
        new_version = rotate(fleet.stekd, "eu-west")
        assert new_version > old_version
        # 4. Every remaining host serves the new ring; the stolen one does not get it.
        wait_until(lambda: all(h.metrics()["stek_agent_ring_version"] >= new_version
                               for h in (first, second)), 30,
                   what="the remaining agents to hold the new ring")
        agents = {a["host"]: a for a in fleet.stekd.admin_json("/v1/admin/agents")}
        for h in (first, second):
            assert agents[h.name]["connected"], h.name
        assert stolen.metrics()["stek_agent_ring_version"] == stolen_version < new_version
        assert keyring_status(fleet.stekd, f"host-{stolen.name}") == 403
        # 5. A ticket issued before the rotation resumes nowhere.
        for h in (first, second):
            stops_resuming(h.https_port, client, "1.2", before.session_file, within=10)
        after = tls_connect(first.https_port, client, "1.2")
        assert tls_connect(second.https_port, client, "1.2", resume=after.session_file).reused
    finally:
        fleet.stop()
