"""libfaketime for stek's programs: a process whose wall clock is off by a chosen offset.

An ASan build loads libasan dynamically and insists on coming first, so a sanitizer runtime
that `program` links stays ahead of libfaketime in LD_PRELOAD. The monotonic clocks are left
alone (DONT_FAKE_MONOTONIC), so timers and stekd's clock-step check run on real time."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .proc import run

FAKETIME_DIRS = [Path("/usr/lib/x86_64-linux-gnu/faketime"), Path("/usr/lib/faketime")]


def faketime_library() -> Path | None:
    """libfaketime.so.1 (Debian package libfaketime), or None when it is not installed."""
    for d in FAKETIME_DIRS:
        if (d / "libfaketime.so.1").exists():
            return d / "libfaketime.so.1"
    return None


def preload_for(program: Path, faketime: Path) -> str:
    """LD_PRELOAD for `program` with libfaketime: a dynamically linked sanitizer runtime must
    stay first in the list, so it goes ahead of libfaketime."""
    ldd = run(["ldd", program]).stdout.decode()
    sanitizer = re.findall(r"=> (\S*/libasan\.so\S*)", ldd)
    return " ".join([*sanitizer, str(faketime)])


def offset_env(program: Path, offset_seconds: float) -> dict[str, str]:
    """This process's environment for running `program` with its wall clock `offset_seconds`
    off the real one (positive: ahead). Needs faketime_library()."""
    library = faketime_library()
    if library is None:
        raise RuntimeError("libfaketime is not installed (scripts/setup.sh installs it)")
    env = dict(os.environ)
    env["LD_PRELOAD"] = preload_for(program, library)
    env["FAKETIME"] = f"{offset_seconds:+g}"
    env["DONT_FAKE_MONOTONIC"] = "1"
    return env
