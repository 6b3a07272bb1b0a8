"""pytest hooks for the integration tests: no program a test file started outlives it.

A test that fails between starting a program and handing it to a `with` block would otherwise
leave it running after pytest ends. The check runs per test file (module), not per test:
tests of one file share programs through module fixtures and may restart them (test_fleet
restarts the fleet's stekd), so a program started in one test can belong to the next.
"""
import pytest

from stektest.proc import live_processes, stop_leftovers


@pytest.fixture(autouse=True, scope="module")
def _stop_leftover_programs():
    before = live_processes()
    yield
    stop_leftovers(keep=before)
