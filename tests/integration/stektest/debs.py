"""stek's Debian packages of the build the tests run (scripts/package.sh BUILD_DIR), packed once
and shared: test_package.py and test_fresh_install.py start together and packing the ASan build
takes minutes, so one packs while the other waits on a lock. The packages are kept in
BUILD_DIR/test-packages and packed again when any file they are made of (the build's programs
and libraries, packaging/, the man pages' docs, cmake/, include/, examples/, contrib/, the two
scripts) is newer than they are. zstd compression: it packs the large sanitizer programs
several times faster than gzip (dpkg >= 1.21.18, Debian 12)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path

from .freshroot import locked
from .proc import BUILD_DIR, SOURCE_DIR, run


def _man_sources() -> tuple[str, ...]:
    """The docs the man pages are made from, the only docs packed: read from the list
    cmake/package.cmake keeps (stek_man_sources); all of docs/ if it cannot be read."""
    with contextlib.suppress(OSError):
        text = (SOURCE_DIR / "cmake" / "package.cmake").read_text()
        m = re.search(r"set\(stek_man_sources\s+([^)]*)\)", text)
        if m and m.group(1).split():
            return tuple(m.group(1).split())
    return ("docs",)


SOURCE_INPUTS = ("packaging", *_man_sources(), "cmake", "include", "examples", "contrib",
                 "CMakeLists.txt", "scripts/package.sh", "scripts/man.sh")
BUILD_INPUTS = ("apps", "src", "CPackConfig.cmake", "stekConfig.cmake", "stek.pc")


def _newest(paths) -> float:
    newest = 0.0
    for p in paths:
        files = p.rglob("*") if p.is_dir() else [p] if p.exists() else []
        for f in files:
            if f.is_file():
                newest = max(newest, f.stat().st_mtime)
    return newest


def packages(build_dir: Path = BUILD_DIR) -> dict[str, Path]:
    """Package name ("stek", "libstek-dev") -> its .deb, packed when missing or stale."""
    out = build_dir / "test-packages"
    stamp = out / ".packed"
    with locked(build_dir / ".test-packages.lock"):
        inputs = [SOURCE_DIR / p for p in SOURCE_INPUTS] + [build_dir / p for p in BUILD_INPUTS]
        if not stamp.exists() or stamp.stat().st_mtime < _newest(inputs):
            # Packed beside, then renamed into place: a test still reading the last packing
            # (a file changed under a running suite) keeps a whole file, never a missing one.
            staging = build_dir / "test-packages.new"
            shutil.rmtree(staging, ignore_errors=True)
            started = time.time()
            run(["bash", SOURCE_DIR / "scripts" / "package.sh", build_dir, staging], timeout=900,
                env=dict(os.environ, STEK_DEB_COMPRESSION="zstd"))
            out.mkdir(exist_ok=True)
            packed = {deb.name for deb in staging.glob("*.deb")}
            for old in out.glob("*.deb"):
                if old.name not in packed:
                    old.unlink()
            for name in packed:
                os.replace(staging / name, out / name)
            shutil.rmtree(staging, ignore_errors=True)
            stamp.touch()
            os.utime(stamp, (started, started))  # an input changed while packing: stale
    found = {p.name.split("_")[0]: p for p in out.glob("*.deb")}
    assert set(found) == {"stek", "libstek-dev"}, found
    return found
