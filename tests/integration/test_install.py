# ctest-timeout: 900  ctest-cost: 35
"""An out-of-tree program links the installed libstek: `cmake --install` into a temporary
prefix, then examples/https_server.cc is built against it twice, once with CMake
(find_package(stek), target stek::openssl) and once with pkg-config (stek.pc), and each build
serves a resumed TLS connection. Compiles go through ccache when it is installed."""

import os
import re
import shutil
from pathlib import Path

import pytest

from libstek_server import KeyPool, https_get, resumed_flag
from stektest import BUILD_DIR, SOURCE_DIR, Process, free_port, have, run, shared_cert, wait_for_port

EXAMPLE = SOURCE_DIR / "examples" / "https_server.cc"

CONSUMER_CMAKE = """cmake_minimum_required(VERSION 3.25)
project(stek_consumer LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(stek REQUIRED)
find_package(CLI11 REQUIRED)
add_executable(server {example})
target_link_libraries(server PRIVATE stek::openssl CLI11::CLI11)
"""


def cache_value(name: str) -> str:
    m = re.search(rf"^{name}:\w+=(.*)$", (BUILD_DIR / "CMakeCache.txt").read_text(), re.M)
    return m.group(1) if m else ""


def build_flags() -> list[str]:
    """The instrumentation the installed libraries were built with: the program must match."""
    if cache_value("STEK_SANITIZE") == "ON":
        return ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
    if cache_value("STEK_TSAN") == "ON":
        return ["-fsanitize=thread"]
    return []


def compiler() -> list[str]:
    cxx = cache_value("CMAKE_CXX_COMPILER") or "c++"
    return (["ccache"] if have("ccache") else []) + [cxx]


@pytest.fixture(scope="module")
def prefix(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("prefix")
    run(["cmake", "--install", BUILD_DIR, "--component", "libstek", "--prefix", root], timeout=120)
    return root


def serves_a_resumption(program: Path, workdir: Path) -> None:
    port = free_port()
    cert, key = shared_cert()
    pool = KeyPool()
    ring = workdir / "ring.json"
    pool.write(ring)
    with Process([program, "--cert", cert, "--key", key, "--port", port, "--ring", ring],
                 workdir / "server.log") as server:
        wait_for_port(port, proc=server.proc)
        _, body, session, _ = https_get(port, version="1.2")
        assert not resumed_flag(body)
        _, body, _, reused = https_get(port, version="1.2", session=session)
        assert reused and resumed_flag(body)


def test_installed_files(prefix):
    libs = {p.name for p in prefix.rglob("libstek_*.a")}
    assert {"libstek_core.a", "libstek_crypto.a", "libstek_formats.a", "libstek_io.a",
            "libstek_openssl.a"} <= libs
    assert (prefix / "include" / "stek" / "openssl.h").is_file()
    assert (prefix / "include" / "stek" / "stek.h").is_file()
    assert list(prefix.rglob("stekConfig.cmake")) and list(prefix.rglob("stek.pc"))
    assert not list(prefix.rglob("*testing*")), "test support is not installed"


def test_cmake_package_builds_the_example(prefix, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(CONSUMER_CMAKE.format(example=EXAMPLE))
    flags = " ".join(build_flags())
    args = ["cmake", "-S", src, "-B", tmp_path / "build", f"-DCMAKE_PREFIX_PATH={prefix}",
            f"-DCMAKE_CXX_FLAGS={flags}", f"-DCMAKE_EXE_LINKER_FLAGS={flags}",
            f"-DCMAKE_CXX_COMPILER={cache_value('CMAKE_CXX_COMPILER') or 'c++'}"]
    if have("ccache"):
        args.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    if have("ninja"):
        args += ["-G", "Ninja"]
    run(args, timeout=120)
    run(["cmake", "--build", tmp_path / "build"], timeout=600)
    serves_a_resumption(tmp_path / "build" / "server", tmp_path)


@pytest.mark.skipif(not have("pkg-config"), reason="pkg-config not installed")
def test_pkg_config_builds_the_example(prefix, tmp_path):
    pc_dir = next(prefix.rglob("stek.pc")).parent
    env = dict(os.environ, PKG_CONFIG_PATH=str(pc_dir))
    pc = run(["pkg-config", "--cflags", "--libs", "stek"], env=env).stdout.decode().split()
    assert any(str(prefix) in os.path.realpath(f[2:]) for f in pc if f.startswith("-I"))
    program = tmp_path / "server"
    run([*compiler(), "-std=c++20", *build_flags(), EXAMPLE, "-o", program, *pc], timeout=600)
    serves_a_resumption(program, tmp_path)
