"""pytest hooks for the integration tests: no program a test file started outlives it, and a
failed test's report ends with the last lines of every program's log it met.

A test that fails between starting a program and handing it to a `with` block would otherwise
leave it running after pytest ends. The check runs per test file (module), not per test:
tests of one file share programs through module fixtures and may restart them (test_fleet
restarts the fleet's stekd), so a program started in one test can belong to the next.
"""
import pytest

from stektest.proc import (live_processes, log_tail, processes_to_report, started_count,
                           stop_leftovers)


@pytest.fixture(autouse=True, scope="module")
def _stop_leftover_programs():
    before = live_processes()
    yield
    stop_leftovers(keep=before)


# A rare failure must carry its evidence: pytest's temporary directories (and the logs in them)
# are gone three runs later, and ctest keeps only the output.
_FIRST_PROCESS = pytest.StashKey[int]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.stash[_FIRST_PROCESS] = started_count()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for p in processes_to_report(item.stash.get(_FIRST_PROCESS, started_count())):
        try:
            report.sections.append((f"log of {p.name} ({p.log_path})", log_tail(p.log_path)))
        except (OSError, AttributeError) as e:
            report.sections.append((f"log of {getattr(p, 'name', '?')}", f"unreadable: {e}"))
