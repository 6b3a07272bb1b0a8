# ctest-timeout: 300  ctest-cost: 3
"""A libstek server and an nginx host of the same domain resume each other's tickets: same key
(nginx reads the current key as an 80-byte file from `stekctl convert --to nginx80`), same
ticket layout, and -- the part OpenSSL checks -- the same session id context. nginx derives its
context from its certificates; OpenSSL refuses to resume a session made under another one."""

import pytest

from libstek_server import ExampleServer, KeyPool
from stektest import Nginx, stekctl, tls_connect

VERSIONS = ["1.2", "1.3"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fleet")
    pool = KeyPool()
    ring = tmp / "ring.json"
    pool.write(ring)
    key = tmp / "current.nginx80"
    stekctl("convert", "--from", "json", "--to", "nginx80", "--only-encrypting", ring, key)
    assert key.read_bytes()[:16].hex() == pool.name(pool.epoch())
    with Nginx(tmp / "nginx", key_files=[key]) as nginx, \
            ExampleServer(tmp / "matched", ring=ring, extra=["--sid-ctx", "nginx"]) as matched, \
            ExampleServer(tmp / "default", ring=ring) as default:
        yield {"pool": pool, "nginx": nginx, "matched": matched, "default": default, "tmp": tmp}


@pytest.mark.parametrize("version", VERSIONS)
def test_both_issue_tickets_under_the_same_key(fleet, version):
    expected = fleet["pool"].name(fleet["pool"].epoch())
    for server in ("nginx", "matched", "default"):
        assert tls_connect(fleet[server].port, fleet["tmp"], version).key_name == expected, server


@pytest.mark.parametrize("version", VERSIONS)
def test_nginx_tickets_resume_on_libstek_with_nginx_session_id_context(fleet, version):
    from_nginx = tls_connect(fleet["nginx"].port, fleet["tmp"], version)
    assert tls_connect(fleet["matched"].port, fleet["tmp"], version,
                       resume=from_nginx.session_file).reused


@pytest.mark.parametrize("version", VERSIONS)
def test_libstek_tickets_resume_on_nginx_with_nginx_session_id_context(fleet, version):
    from_libstek = tls_connect(fleet["matched"].port, fleet["tmp"], version)
    assert tls_connect(fleet["nginx"].port, fleet["tmp"], version,
                       resume=from_libstek.session_file).reused


@pytest.mark.parametrize("version", VERSIONS)
def test_default_session_id_context_does_not_resume_across(fleet, version):
    """Same key, same layout, the ticket even decrypts (the counters say so) -- but OpenSSL's
    session id context check turns both directions into full handshakes."""
    default = fleet["default"]
    before = default.keys()["counters"]
    from_nginx = tls_connect(fleet["nginx"].port, fleet["tmp"], version)
    assert not tls_connect(default.port, fleet["tmp"], version, resume=from_nginx.session_file).reused
    after = default.keys()["counters"]
    assert after["resumed"] - before["resumed"] == 1, "the ticket opened; the context refused it"
    from_default = tls_connect(default.port, fleet["tmp"], version)
    assert not tls_connect(fleet["nginx"].port, fleet["tmp"], version,
                           resume=from_default.session_file).reused
