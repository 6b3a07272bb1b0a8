# ctest-timeout: 120  ctest-cost: 10
"""stek-agent --check-config warns about a missing or stale pid_file (reload = "signal") as the
start-up does (issue 11, Deliver 7): the configuration is still usable (exit 0), the warning
names the file and says why a reload by signal would do nothing; a pid_file naming a running
process gets no warning. Offline (--ring-file), no server runs."""

import os
import time

from stektest.agent import ShmDir, write_config
from stektest.proc import binary, run
from stektest.ring import make_ring, write_ring

DOMAIN = "eu-west"
INTERVAL = 60


def check_config(tmp_path, shm, pid_file):
    if not (tmp_path / "ring.json").exists():
        e0 = int(time.time()) // INTERVAL
        write_ring(tmp_path / "ring.json", make_ring(DOMAIN, e0 - 1, e0 + 1, interval=INTERVAL))
    (shm / "nginx").mkdir(exist_ok=True)
    config = write_config(tmp_path / "agent.toml", domain=DOMAIN, cache_dir=shm / "cache",
                          sinks=[{"type": "nginx", "dir": shm / "nginx",
                                  "include": shm / "nginx" / "tickets.conf",
                                  "reload": "signal", "pid_file": pid_file}])
    proc = run([binary("stek-agent"), "--config", config, "--check-config", "--ring-file",
                tmp_path / "ring.json"], check=False)
    return proc.returncode, proc.stdout.decode() + proc.stderr.decode()


def test_check_config_warns_about_a_missing_or_stale_pid_file(tmp_path):
    pid_file = tmp_path / "nginx.pid"
    with ShmDir() as shm:
        code, out = check_config(tmp_path, shm, pid_file)
        assert code == 0, out
        assert "configuration OK" in out
        assert f"warning: nginx:{shm / 'nginx' / 'tickets.conf'}: pid_file {pid_file} " \
               "does not exist" in out, out
        assert "a reload by signal does nothing" in out

        pid_file.write_text("4194303\n")  # above pid_max: no such process
        code, out = check_config(tmp_path, shm, pid_file)
        assert code == 0 and "names process 4194303, which is not running" in out, out

        pid_file.write_text(f"{os.getpid()}\n")
        code, out = check_config(tmp_path, shm, pid_file)
        assert code == 0 and "warning" not in out, out
