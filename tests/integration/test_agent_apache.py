# ctest-timeout: 300  ctest-cost: 90
"""stek-agent feeding a real Apache httpd (Debian 12's apache2 2.4, mod_ssl on OpenSSL 3): the
apache sink writes the encrypting key's 48-byte projection to SSLSessionTicketKeyFile and
restarts Apache gracefully (SIGUSR1) at each epoch. Measured here: tickets resume within
their epoch and never after a rotation (Apache keeps no decrypt-only key), and Apache MACs its
tickets with an all-zero HMAC key whatever the key file holds. The agent reads a ring file
(--ring-file), so no stekd is needed."""

import hashlib
import hmac
import json
import subprocess
import time

from stektest import binary, run, ticket_of_the_epoch, tls_connect, wait_until
from stektest.agent import ShmDir, start_agent, write_config
from stektest.apache import Apache
from stektest.ring import make_ring, names_by_epoch, write_ring

DOMAIN = "eu-west"


def epoch_now(interval: int) -> int:
    return int(time.time()) // interval


def start(tmp_path, shm, ring):
    """Agent on a ring file with an apache sink, then Apache on the agent's key file."""
    ring_file = tmp_path / "ring.json"
    write_ring(ring_file, ring)
    key_file = shm / "apache" / "ticket.key"
    apache_dir = tmp_path / "apache"
    sink = {"type": "apache", "path": key_file, "reload": "signal",
            "pid_file": apache_dir / "apache2.pid"}
    config = write_config(tmp_path / "agent.toml", domain=DOMAIN, cache_dir=shm / "cache",
                          sinks=[sink])
    agent = start_agent(tmp_path, config, "--ring-file", ring_file)
    wait_until(key_file.exists, 20, what="the agent writes Apache's key file")
    return agent, Apache(apache_dir, key_file), key_file


def test_apache_rotates_each_epoch_and_resumes_no_ticket_of_an_earlier_one(tmp_path):
    interval, history = 6, 2
    e0 = epoch_now(interval)
    last = e0 + 40  # enough keys for a loaded machine; the loop ends 4 epochs before
    ring = make_ring(DOMAIN, e0 - history, last, interval=interval, history=history)
    names = names_by_epoch(ring)
    with ShmDir() as shm:
        agent, apache, key_file = start(tmp_path, shm, ring)
        with agent, apache:
            # Apache holds one key and MACs with zeros: the agent says both, once per sink.
            assert agent.metrics()["stek_agent_sink_warnings"] == 2
            assert key_file.stat().st_size == 48 and key_file.stat().st_mode & 0o777 == 0o600
            sessions = {}  # (version, epoch issued) -> session file
            tally = {"same_tried": 0, "same_resumed": 0, "older_tried": 0, "older_resumed": 0}
            epochs_seen = []
            while epoch_now(interval) < last - 4 and (
                    len(epochs_seen) < 4 or tally["same_tried"] < 4 or tally["older_tried"] < 6):
                e = epoch_now(interval)
                for version in ("1.2", "1.3"):
                    issued, fresh = ticket_of_the_epoch(apache.port, tmp_path, version, names,
                                                        interval, within=interval + 10)
                    sessions[(version, issued)] = fresh.session_file
                # Newest first, so this epoch's tickets are judged before it ends.
                for (version, issued), session in sorted(sessions.items(),
                                                         key=lambda kv: -kv[0][1]):
                    before = epoch_now(interval)
                    result = tls_connect(apache.port, tmp_path, version, resume=session)
                    if epoch_now(interval) != before or issued > before:
                        continue  # crossed a boundary mid-check: no verdict
                    kind = "same" if issued == before else "older"
                    tally[kind + "_tried"] += 1
                    tally[kind + "_resumed"] += result.reused
                if not epochs_seen or epochs_seen[-1] != e:
                    epochs_seen.append(e)
                time.sleep(max(0.0, (e + 1) * interval - time.time()) + 0.3)
            print("apache resumption across rotations:", json.dumps(tally),
                  "epochs", len(epochs_seen))
            assert len(epochs_seen) >= 4  # at least 3 rotations
            # Within its epoch a ticket resumes (a graceful restart may race one check).
            assert tally["same_tried"] >= 4
            assert tally["same_resumed"] >= tally["same_tried"] - 1, tally
            # The measured loss: every ticket of an earlier epoch fails after the rotation.
            assert tally["older_tried"] >= 6
            assert tally["older_resumed"] == 0, tally
            assert apache.generations() >= len(epochs_seen), "one graceful restart per epoch"


def test_apache_macs_its_tickets_with_an_all_zero_key_whatever_the_key_file_holds(tmp_path):
    interval = 3600
    e0 = epoch_now(interval)
    ring = make_ring(DOMAIN, e0 - 2, e0 + 2, interval=interval, history=2)
    names = names_by_epoch(ring)
    with ShmDir() as shm:
        agent, apache, key_file = start(tmp_path, shm, ring)
        with agent, apache:
            key = key_file.read_bytes()
            name, hmac_key, aes_key = key[:16], key[16:32], key[32:48]
            assert name.hex() == names[e0], "the agent's key name, the same as the 80-byte key's"
            for version in ("1.2", "1.3"):
                ticket = tls_connect(apache.port, tmp_path, version).ticket
                assert ticket[:16] == name
                body, mac = ticket[:-32], ticket[-32:]
                # The evidence: the MAC is HMAC-SHA256 under zeros, not under the file's key.
                assert hmac.new(bytes(16), body, hashlib.sha256).digest() == mac
                assert hmac.new(hmac_key, body, hashlib.sha256).digest() != mac
                # The session itself is encrypted under the file's AES key (a DER SSL_SESSION).
                plain = subprocess.run(
                    ["openssl", "enc", "-d", "-aes-128-cbc", "-K", aes_key.hex(),
                     "-iv", ticket[16:32].hex()], input=ticket[32:-32], capture_output=True,
                    timeout=10, check=True).stdout
                assert plain[:1] == b"\x30"
            # stek-scan sees it from outside.
            proc = run([binary("stek-scan"), "once", f"127.0.0.1:{apache.port}", "--sni",
                        "localhost", "--json", "-", "-q"], timeout=120, check=False)
            assert proc.returncode == 1, proc.stderr.decode(errors="replace")
            doc = json.loads(proc.stdout)
            [finding] = [f for f in doc["findings"] if f["id"] == "zero_key"]
            assert finding["evidence"]["hmac_sha256_all_zero_key"] is True
            assert finding["evidence"]["aes_cbc_all_zero_key_bits"] == 0
