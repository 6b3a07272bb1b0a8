"""Reading the Prometheus text that stekd and stek-agent serve on their metrics listeners."""

from __future__ import annotations

import urllib.error
import urllib.request

from .proc import LOOPBACK


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, str]:
    """One plain HTTP GET on 127.0.0.1:port: (status, body)."""
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def samples(text: str) -> dict[str, float]:
    """Prometheus samples by metric name, labels dropped: a metric with several samples
    (one per sink, per status) gives their sum."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, value = line.rsplit(" ", 1)
        name = name_labels.split("{", 1)[0]
        out[name] = out.get(name, 0.0) + float(value)
    return out


def labelled(text: str) -> dict[str, float]:
    """Prometheus samples by their full name with labels, as written: 'x{domain="a"}'."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name_labels, value = line.rsplit(" ", 1)
            out[name_labels] = float(value)
    return out
