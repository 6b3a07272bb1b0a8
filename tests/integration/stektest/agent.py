"""stek-agent as a real process: its TOML configuration, the tmpfs directories it requires, and
its metrics and health endpoints."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from . import metrics
from .proc import LOOPBACK, HarnessError, Process, binary, free_port, wait_until


class ShmDir:
    """A directory on tmpfs (the agent keeps key bytes nowhere else), removed afterwards."""

    def __init__(self, prefix: str = "stek-agent-it-"):
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir="/dev/shm"))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def write_config(path: Path, *, sinks=(), tls: dict | None = None, **top) -> Path:
    """An agent configuration: top-level keys, then [tls], then one [[sink]] per sink."""
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
    if tls:
        lines.append("[tls]")
        lines += [f"{k} = {toml_value(v)}" for k, v in tls.items()]
    for sink in sinks:
        lines.append("[[sink]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in sink.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


class Agent(Process):
    """A running stek-agent with its log and metrics port."""

    def __init__(self, config: Path, log: Path, *args, metrics_port: int | None = None,
                 build_dir: Path | None = None, name: str = "stek-agent", append: bool = False,
                 env: dict | None = None):
        self.metrics_port = metrics_port
        super().__init__([binary("stek-agent", build_dir), "--config", config, *args], log,
                         name=name, append=append, env=env)

    def metrics_text(self) -> str:
        status, text = metrics.get(self.metrics_port, "/metrics")
        if status != 200:
            raise HarnessError(f"{self.name} answered {status} on /metrics")
        return text

    def metrics(self) -> dict[str, float]:
        """Prometheus samples by name (see metrics.samples)."""
        return metrics.samples(self.metrics_text())

    def healthz(self) -> int:
        return metrics.get(self.metrics_port, "/healthz")[0]

    def wait_metric(self, name: str, predicate, timeout: float = 20.0) -> dict:
        def check():
            self.check_alive()
            m = self.metrics()
            return m if predicate(m.get(name, 0)) else None
        return wait_until(check, timeout, what=f"metric {name}")

    def wait_listening(self, timeout: float = 20.0) -> None:
        def listening():
            self.check_alive()
            try:
                self.metrics()
                return True
            except OSError:
                return False
        wait_until(listening, timeout, what=f"{self.name}'s metrics listener")


def start_agent(tmp: Path, config: Path, *args, build_dir: Path | None = None) -> Agent:
    """An agent on `config` with a metrics listener on a free port, once that listens."""
    port = free_port()
    text = config.read_text()
    config.write_text(f'metrics_listen = "{LOOPBACK}:{port}"\n' + text)
    agent = Agent(config, tmp / "agent.log", *args, metrics_port=port, build_dir=build_dir)
    agent.wait_listening()
    return agent
