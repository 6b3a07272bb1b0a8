"""nginx loads stekctl's 48- and 80-byte key files, issues tickets under the key stekctl says
encrypts, and resumes them over TLS 1.2 and TLS 1.3. This checks stek's byte-order claims
against the real server rather than against our own reading of its source."""

import json

import pytest

from stektest import Nginx, stekctl, tls_connect


def inspect(path):
    return json.loads(stekctl("inspect", "--json", "--format", path.suffix[1:], path).stdout)


@pytest.mark.parametrize("fmt", ["nginx48", "nginx80"])
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_nginx_resumes_with_stekctl_key(tmp_path, fmt, version):
    key = tmp_path / f"ticket.{fmt}"
    stekctl("keygen", "--format", fmt, "--out", key)
    assert key.stat().st_mode & 0o777 == 0o600
    expected = inspect(key)["keys"][0]["name"]
    with Nginx(tmp_path / "nginx", key_files=[key]) as nginx:
        first = tls_connect(nginx.port, tmp_path, version)
        assert not first.reused
        assert first.ticket, "nginx sent no ticket"
        assert first.key_name == expected
        second = tls_connect(nginx.port, tmp_path, version, resume=first.session_file)
        assert second.reused, f"TLS {version} session did not resume"


def test_nginx_first_key_encrypts_and_older_keys_still_resume(tmp_path):
    """Two keys: the first listed encrypts; a ticket from the second still resumes."""
    old = tmp_path / "old.nginx80"
    new = tmp_path / "new.nginx80"
    stekctl("keygen", "--format", "nginx80", "--out", old)
    stekctl("keygen", "--format", "nginx80", "--out", new)
    with Nginx(tmp_path / "a", key_files=[old]) as only_old:
        ticket_from_old = tls_connect(only_old.port, tmp_path, "1.2")
    assert ticket_from_old.key_name == inspect(old)["keys"][0]["name"]
    with Nginx(tmp_path / "b", key_files=[new, old]) as both:
        fresh = tls_connect(both.port, tmp_path, "1.2")
        assert fresh.key_name == inspect(new)["keys"][0]["name"]
        resumed = tls_connect(both.port, tmp_path, "1.2", resume=ticket_from_old.session_file)
        assert resumed.reused
        # The old key's ticket is renewed under the new key.
        assert resumed.key_name == inspect(new)["keys"][0]["name"]


def test_converted_key_keeps_its_name_and_works(tmp_path):
    """haproxy80 -> nginx80 conversion of the encrypting key gives nginx the same key."""
    ha = tmp_path / "keys.haproxy80"
    stekctl("keygen", "--format", "haproxy80", "--out", ha)
    out = tmp_path / "converted.nginx80"
    stekctl("convert", "--from", "haproxy80", "--to", "nginx80", "--only-encrypting", ha, out)
    encrypting = [k for k in inspect(ha)["keys"] if k["role"] == "encrypt"][0]["name"]
    with Nginx(tmp_path / "n", key_files=[out]) as nginx:
        assert tls_connect(nginx.port, tmp_path, "1.3").key_name == encrypting
