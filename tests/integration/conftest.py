"""pytest hooks for the integration tests: no program a test started outlives the test.

A test that fails between starting a program and handing it to a `with` block would otherwise
leave it running after pytest ends. Programs of module-scoped fixtures were started before
this fixture and are left to their fixture.
"""
import pytest

from stektest.proc import live_processes, stop_leftovers


@pytest.fixture(autouse=True)
def _stop_leftover_programs():
    before = live_processes()
    yield
    stop_leftovers(keep=before)
