"""HAProxy loads a stekctl base64 key file: the penultimate line encrypts, the other lines
still open tickets, and sessions resume over TLS 1.2 and 1.3."""

import json

import pytest

from stektest import Haproxy, stekctl, tls_connect


def keys_by_role(path, fmt):
    doc = json.loads(stekctl("inspect", "--json", "--format", fmt, path).stdout)
    return {k["role"]: k["name"] for k in doc["keys"]}


@pytest.mark.parametrize("fmt", ["haproxy48", "haproxy80"])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_haproxy_encrypts_with_penultimate_line_and_resumes(tmp_path, fmt, version):
    keys = tmp_path / f"tickets.{fmt}"
    stekctl("keygen", "--format", fmt, "--out", keys)
    roles = keys_by_role(keys, fmt)
    lines = keys.read_text().split()
    assert len(lines) == 3
    with Haproxy(tmp_path / "haproxy", keys) as haproxy:
        first = tls_connect(haproxy.port, tmp_path, version)
        assert first.ticket, "HAProxy sent no ticket"
        assert first.key_name == roles["encrypt"]
        second = tls_connect(haproxy.port, tmp_path, version, resume=first.session_file)
        assert second.reused


def test_haproxy_opens_tickets_of_the_previous_key(tmp_path):
    """A ticket made while the 'previous' line encrypted still resumes after rotation."""
    keys = tmp_path / "tickets.haproxy80"
    stekctl("keygen", "--format", "haproxy80", "--count", "4", "--out", keys)
    lines = keys.read_text().split()
    assert len(lines) == 4
    # The first three lines alone: the second line encrypts.
    before = tmp_path / "before.haproxy80"
    before.write_text("\n".join(lines[:3]) + "\n")
    before.chmod(0o600)
    with Haproxy(tmp_path / "h1", before) as h1:
        old = tls_connect(h1.port, tmp_path, "1.2")
    assert old.key_name == keys_by_role(before, "haproxy80")["encrypt"]
    # All four lines: the third line encrypts, the second still opens tickets.
    with Haproxy(tmp_path / "h2", keys) as h2:
        resumed = tls_connect(h2.port, tmp_path, "1.2", resume=old.session_file)
        assert resumed.reused
        assert resumed.key_name == keys_by_role(keys, "haproxy80")["encrypt"]
