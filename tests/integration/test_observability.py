# ctest-timeout: 300  ctest-cost: 25
"""The observability kit and the logs (issue 14, items 6 and 7), on a real stekd and stek-agent:

- contrib/observability's alert rules pass `promtool check rules` and their unit tests
  (`promtool test rules`: every alert fires on series that should fire it, and only on those);
- both programs' /metrics pass `promtool check metrics`, carry stek_build_info and the process
  metrics, and every stek_* or process_* name the rules and the Grafana dashboard use is one
  that the real programs export;
- the agent's runway end is a timestamp (the end of an epoch), stekd's erasure deadline too;
- stekd's log lines with --log-format json are JSON objects (time, level, program, message),
  the agent's text lines start with an RFC 3339 UTC time, and neither holds key bytes;
- packaging/logrotate/stek passes `logrotate -d`, and a real rotation with its directives
  moves stekd's --log-file and audit log away while SIGHUP makes stekd write new ones.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from stektest.agent import Agent, ShmDir, write_config
from stektest.proc import LOOPBACK, free_port, run, wait_until
from stektest.ring import assert_no_key_bytes
from stektest.stekd import Stekd

SOURCE = Path(os.environ.get("STEK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
KIT = SOURCE / "contrib" / "observability"
LOGROTATE = SOURCE / "packaging" / "logrotate" / "stek"
INTERVAL = 60
HISTORY = 3
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# A metric name inside a PromQL expression (job names such as "stek-agent" have a hyphen).
METRIC_NAME = re.compile(r"\b((?:stek|process)_[a-z0-9_]+)\b")


def exported_names(text: str) -> set[str]:
    """Every family named in a Prometheus text (its # TYPE lines) and every sample's name."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def sample(text: str, name: str) -> tuple[dict[str, str], float]:
    """The one sample of `name`: its labels and value."""
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            name_labels, value = line.rsplit(" ", 1)
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', name_labels))
            return labels, float(value)
    raise AssertionError(f"{name} not in /metrics")


def rule_expressions() -> list[str]:
    rules = yaml.safe_load((KIT / "stek-alerts.yml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def dashboard_expressions() -> list[str]:
    dash = json.loads((KIT / "stek-dashboard.json").read_text())
    return [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """stekd (JSON log lines) and one agent long-polling it, both with metrics listeners; the
    agent has received its first ring."""
    tmp = tmp_path_factory.mktemp("observability")
    stekd = Stekd(tmp / "stekd", domains=("eu-west",), interval=INTERVAL, history=HISTORY,
                  start=False)
    stekd.start(extra=("--log-format", "json"))
    with ShmDir() as shm, stekd:
        port = free_port()
        config = write_config(
            tmp / "agent.toml", servers=[stekd.url], cache_dir=shm / "cache",
            metrics_listen=f"{LOOPBACK}:{port}",
            tls={"cert": stekd.pki / "host-web1.crt", "key": stekd.pki / "host-web1.key",
                 "ca": stekd.pki / "ca.crt"},
            sinks=[{"type": "json", "path": shm / "ring.json"}])
        agent = Agent(config, tmp / "agent.log", metrics_port=port)
        with agent:
            agent.wait_listening()
            agent.wait_metric("stek_agent_ring_version", lambda v: v > 0, timeout=30)
            yield stekd, agent


def test_alert_rules_pass_promtool_check_and_their_unit_tests():
    out = run(["promtool", "check", "rules", KIT / "stek-alerts.yml"]).stdout.decode()
    assert "SUCCESS: 7 rules found" in out, out
    tested = subprocess.run(["promtool", "test", "rules", "stek-alerts.test.yml"], cwd=KIT,
                            capture_output=True, timeout=60)
    assert tested.returncode == 0, tested.stdout.decode() + tested.stderr.decode()
    # Each alert of the rules has a case in the unit tests.
    alerts = {r["alert"] for g in yaml.safe_load((KIT / "stek-alerts.yml").read_text())["groups"]
              for r in g["rules"]}
    cases = yaml.safe_load((KIT / "stek-alerts.test.yml").read_text())["tests"]
    tested_alerts = {c["alertname"] for t in cases for c in t["alert_rule_test"]
                     if c.get("exp_alerts")}
    assert alerts == tested_alerts


def test_both_programs_expose_valid_prometheus_text_with_build_and_process_metrics(fleet):
    stekd, agent = fleet
    openssl = run(["openssl", "version"]).stdout.decode().split()[1]
    for program, proc, text in (("stekd", stekd.proc, stekd.metrics_text()),
                                ("stek-agent", agent, agent.metrics_text())):
        checked = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                                 capture_output=True, timeout=30)
        assert checked.returncode == 0, program + ": " + checked.stderr.decode()
        labels, value = sample(text, "stek_build_info")
        assert value == 1 and labels == {"program": program, "version": "0.1.0",
                                         "openssl": openssl}, labels
        # The process figures are this process's, as /proc tells them to anyone.
        started = sample(text, "process_start_time_seconds")[1]
        assert time.time() - 300 < started <= time.time(), program
        fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
        assert abs(sample(text, "process_open_fds")[1] - fds) <= 4, program
        assert sample(text, "process_resident_memory_bytes")[1] > 1 << 20, program
        assert sample(text, "process_cpu_seconds_total")[1] > 0, program
        assert sample(text, "process_max_fds")[1] >= 64, program


def test_runway_end_and_erasure_deadline_are_timestamps(fleet):
    stekd, agent = fleet
    text = agent.metrics_text()
    now = time.time()
    end = sample(text, "stek_agent_runway_end_timestamp_seconds")[1]
    runway = sample(text, "stek_agent_runway_seconds")[1]
    assert sample(text, "stek_agent_interval_seconds")[1] == INTERVAL
    # The end of an epoch, lookahead (2) to 3 epochs ahead; the countdown says the same as of
    # the last refresh.
    assert end % INTERVAL == 0 and now + 2 * INTERVAL - 5 <= end <= now + 3 * INTERVAL, end
    assert end - runway <= now + 1
    server = stekd.metrics_text()
    assert sample(server, "stek_healthy")[1] == 1
    assert sample(server, "stek_schedule_interval_seconds")[1] == INTERVAL
    due = sample(server, "stek_epoch_secret_erase_due_timestamp_seconds")[1]
    # A fresh stekd holds secrets from the current epoch on: the oldest is erased H + 1 epochs
    # after its start.
    assert due % INTERVAL == 0 and now < due <= now + (HISTORY + 1) * INTERVAL + 5, due


def test_every_metric_the_rules_and_dashboard_use_is_exported(fleet):
    stekd, agent = fleet
    exported = exported_names(stekd.metrics_text()) | exported_names(agent.metrics_text())
    # The agent's clock-skew estimate appears once stekd stated its time: wait for it.
    wait_until(lambda: "stek_agent_clock_skew_seconds" in exported_names(agent.metrics_text()),
               20, what="the agent's clock skew estimate")
    exported |= exported_names(agent.metrics_text())
    used = {}
    for where, exprs in (("stek-alerts.yml", rule_expressions()),
                         ("stek-dashboard.json", dashboard_expressions())):
        for expr in exprs:
            for name in METRIC_NAME.findall(expr):
                used.setdefault(name, where)
    assert len(used) >= 20, used
    missing = {n: w for n, w in used.items() if n not in exported}
    assert not missing, f"used but not exported: {missing}"


def test_stekd_json_log_lines_and_agent_text_lines_carry_rfc3339_utc_times(fleet):
    stekd, agent = fleet
    lines = [x for x in stekd.logs().splitlines() if x.strip()]
    assert len(lines) >= 3, lines
    for line in lines:
        entry = json.loads(line)
        assert set(entry) == {"time", "level", "program", "message"}, entry
        assert RFC3339_UTC.match(entry["time"]), entry
        assert entry["program"] == "stekd" and entry["level"] in {"info", "warning", "error"}
    assert any(x["message"].startswith("stekd ready") for x in map(json.loads, lines))
    # The time is now's, in UTC (a local-time stamp would be hours off on most machines).
    newest = json.loads(lines[-1])["time"]
    stamp = time.mktime(time.strptime(newest[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert abs(stamp - time.time()) < 300, newest
    agent_lines = [x for x in agent.output().splitlines() if x.strip()]
    assert agent_lines
    for line in agent_lines:
        stamp, program, rest = line.split(" ", 2)
        assert RFC3339_UTC.match(stamp) and program == "stek-agent", line
        assert re.match(r"^(trace|debug|info|warning|error|critical): ", rest), line
    _, ring = stekd.ring("host-web1")
    assert_no_key_bytes(stekd.logs() + agent.output(), [ring])


def logrotate_config_for_this_machine() -> str:
    """The shipped file; where no stek user exists (the package makes it), its `su` line names
    root instead, since logrotate refuses an unknown user (and `su` needs root at all)."""
    text = LOGROTATE.read_text()
    try:
        pwd.getpwnam("stek")
    except KeyError:
        text = text.replace("su stek stek", "su root root")
    if os.geteuid() != 0:
        text = re.sub(r"\n\s*su .*", "", text)
    return text


def test_shipped_logrotate_config_passes_logrotate_debug(tmp_path):
    conf = tmp_path / "stek"
    conf.write_text(logrotate_config_for_this_machine())
    out = run(["logrotate", "-d", "-s", tmp_path / "state", conf])
    text = out.stdout.decode() + out.stderr.decode()
    assert "error" not in text.lower(), text
    assert "rotating pattern: /var/log/stek/*.jsonl /var/log/stek/*.log" in text, text


def test_rotation_moves_stekd_log_and_audit_and_sighup_reopens_them(tmp_path):
    """The shipped directives on a directory of the test, with `kill -HUP` in place of
    systemctl: logrotate moves stekd's --log-file and audit log away, stekd makes new ones."""
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o700)
    log_file, audit = logs / "stekd.log", logs / "audit.jsonl"
    stekd = Stekd(tmp_path / "stekd", domains=("eu-west",), interval=INTERVAL, start=False)
    stekd.config.write_text(stekd.config.read_text().replace('path = "audit.jsonl"',
                                                             f'path = "{audit}"'))
    stekd.start(extra=("--log-file", log_file))
    with stekd:
        wait_until(lambda: "stekd ready" in log_file.read_text(), 20, what="stekd's log line")
        conf = logrotate_config_for_this_machine().replace("/var/log/stek", str(logs))
        conf = re.sub(r"systemctl kill .*", f"kill -HUP {stekd.proc.pid}", conf)
        (tmp_path / "stek.logrotate").write_text(conf)
        run(["logrotate", "-f", "-s", tmp_path / "state", tmp_path / "stek.logrotate"])
        # Moved away whole (delaycompress: the newest stays plain for a week).
        assert "stekd ready" in (logs / "stekd.log.1").read_text()
        assert "stekd_started" in (logs / "audit.jsonl.1").read_text()
        wait_until(lambda: audit.exists() and "files_reopened" in audit.read_text(), 20,
                   what="the reopened audit log")
        wait_until(lambda: log_file.exists() and "reopened" in log_file.read_text(), 20,
                   what="the reopened process log")
        assert oct(audit.stat().st_mode & 0o777) == "0o600"
        assert "files_reopened" not in (logs / "audit.jsonl.1").read_text()
        line = log_file.read_text().splitlines()[0]
        assert RFC3339_UTC.match(line.split(" ", 1)[0]) and " stekd info: " in line, line
