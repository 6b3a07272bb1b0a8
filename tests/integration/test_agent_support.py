"""A check of the harness's ring builder (tests/integration/stektest/ring.py), which the
stek-agent tests drive the agent with: its rings hold keys that `stekctl derive` really derives,
with the roles and version stekd would give them, and its leak check can fail.

The helpers the agent tests used to import from here now live in the harness; this module
re-exports them under their old names for any importer outside this directory's owners."""

import json

from stektest import stekctl
from stektest.agent import Agent, ShmDir, start_agent, toml_value, write_config  # noqa: F401
from stektest.ring import (assert_no_key_bytes, key_by_epoch, make_ring, role,  # noqa: F401
                           secret_strings, write_ring)


def test_rings_have_stekd_roles_and_real_derived_keys(tmp_path):
    interval = 3600
    now = 1_800_000_000
    e = now // interval
    ring = make_ring("eu-west", e - 2, e + 2, interval=interval, history=2, now=now)
    path = tmp_path / "ring.json"
    write_ring(path, ring)
    shown = json.loads(stekctl("inspect", "--json", "--format", "json", path).stdout)
    roles = {k["epoch"]: k["role"] for k in shown["keys"]}
    assert roles == {e - 2: "decrypt", e - 1: "decrypt", e: "encrypt", e + 1: "next", e + 2: "pending"}
    assert {k["domain"] for k in ring["keys"]} == {"eu-west"}
    assert ring["version"] == (e << 20) + 1
    assert len({k["name"] for k in ring["keys"]}) == 5
    assert_no_key_bytes("nothing secret here", [ring])
    try:
        assert_no_key_bytes(json.dumps(ring), [ring])
    except AssertionError:
        pass
    else:
        raise AssertionError("the leak check cannot fail")


def test_role_at_every_boundary_of_the_window():
    """role() at t-1, t, t+1 of each boundary of a window with H = 2: the key of the current
    epoch encrypts, the next one is 'next', later ones pending, H older ones decrypt."""
    current, history = 100, 2
    assert [role(e, current, history) for e in range(96, 104)] == [
        "expired", "expired", "decrypt", "decrypt", "encrypt", "next", "pending", "pending"]
