# ctest-cost: 2
"""The harness's own promises that other tests lean on: here, that ctest's parallel pytest
processes are never handed one port (CI, stop 13: two tests got 59371, stekd could not listen,
and its agent spoke TLS to the other test's server for 30 s)."""

import subprocess
import sys
from pathlib import Path

from stektest.proc import _ephemeral_low, free_port, free_ports_in_a_row

HERE = Path(__file__).resolve().parent

COUNT = 3000  # about a tenth of the range each: with independent picks, overlap is near certain


def test_ports_handed_to_another_process_are_never_handed_here():
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys\n"
         "from stektest.proc import free_port\n"
         f"print(' '.join(str(free_port()) for _ in range({COUNT})), flush=True)\n"
         "sys.stdin.read()\n"],  # holds its ports until told to end
        cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        theirs = {int(p) for p in child.stdout.readline().split()}
        assert len(theirs) == COUNT
        ours = {free_port() for _ in range(COUNT)}
        assert len(ours) == COUNT, "one process was handed one port twice"
        assert not ours & theirs, f"{len(ours & theirs)} ports handed to both processes"
    finally:
        child.stdin.close()
        child.wait(timeout=30)


def test_ports_come_from_below_the_ephemeral_range_and_are_free():
    low = _ephemeral_low()
    first = free_ports_in_a_row(4)
    assert first + 4 <= low
    for port in (free_port() for _ in range(50)):
        assert 10000 <= port < low
