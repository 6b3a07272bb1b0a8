# ctest-cost: 20
"""`stekd --dev`: one command, no files prepared. The banner says it is for development and
gives commands; the test runs them as printed: a real stek-agent attaches with the printed
configuration and writes nginx's keys, the printed nginx serves with them and resumes a
session, and the printed stekctl status answers."""

from __future__ import annotations

import re
import shlex

import pytest

from stektest import Process, binary, have, run, tls_connect
from stektest import wait_for_port, wait_until
from stektest.proc import free_ports_in_a_row


def printed_command(banner: str, program: str) -> list[str]:
    """The command line the banner prints for `program`, its program resolved in the build."""
    line = next(l for l in banner.splitlines() if l.strip().startswith(program + " "))
    words = shlex.split(line.split("<")[0])
    words[0] = str(binary(program)) if program.startswith("stek") else words[0]
    return words


@pytest.fixture
def dev(tmp_path):
    port = free_ports_in_a_row(2)  # the banner's nginx listens on the next port
    server = Process([binary("stekd"), "--dev", "--dev-port", port, "--dev-dir", tmp_path / "dev"],
                     tmp_path / "stekd.log", name="stekd")
    wait_until(lambda: server.check_alive() or "stekctl status" in server.output(), 30,
               what="stekd --dev's banner")
    yield server, port
    server.stop()


def test_dev_server_needs_no_files_and_says_it_is_for_development(dev):
    server, port = dev
    banner = server.output()
    assert "DEVELOPMENT ONLY" in banner
    assert re.search(r"stekd warning: DEVELOPMENT MODE", banner)
    assert f"https://127.0.0.1:{port}" in banner


def test_printed_commands_attach_an_agent_nginx_and_stekctl(dev, tmp_path):
    server, port = dev
    banner = server.output()
    agent = Process(printed_command(banner, "stek-agent"), tmp_path / "agent.log",
                    name="stek-agent")
    with agent:
        include = tmp_path / "dev" / "nginx" / "tickets.conf"
        wait_until(lambda: agent.check_alive() or (include.exists() and "ssl_session_ticket_key"
                                                   in include.read_text()), 30,
                   what="the agent's nginx include")
        status = run(printed_command(banner, "stekctl"), timeout=30).stdout.decode()
        assert "dev" in status
        if not have("nginx"):
            pytest.skip("nginx not installed")
        with Process(printed_command(banner, "nginx"), tmp_path / "nginx.log", name="nginx"):
            wait_for_port(port + 1, 20)
            first = tls_connect(port + 1, tmp_path / "tls")
            again = tls_connect(port + 1, tmp_path / "tls", resume=first.session_file)
            assert again.reused, again.output[-500:]
