#!/usr/bin/env python3
"""Prints each benchmark's time as a ratio against its baseline measured in the same run.

A benchmark names its baseline in its label, "vs <baseline name>" (state.SetLabel in Google
Benchmark). Reads Google Benchmark JSON (--benchmark_out=FILE --benchmark_out_format=json).
Usage: bench/ratios.py RESULT.json [...]
"""

import json
import re
import sys

# Parts of a name that say how it was run, not what: a label names its baseline without them.
RUN_PARTS = re.compile(r"/(min_time:[^/]*|real_time|iterations:\d+|repeats:\d+)")


def base_name(name: str) -> str:
    return RUN_PARTS.sub("", name)


def seconds(b: dict) -> float:
    """Per-operation time: wall clock for benchmarks timed in real time (threads that wait on
    a peer), CPU time of the benchmark thread otherwise."""
    return b["real_time"] if "/real_time" in b["name"] else b["cpu_time"]


UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def results(doc: dict) -> dict[str, dict]:
    """One row per benchmark by base name: the median when the run had repetitions
    (--benchmark_repetitions=N), else the single measurement."""
    rows = doc["benchmarks"]
    medians = [b for b in rows if b.get("run_type") == "aggregate"
               and b.get("aggregate_name") == "median"]
    if medians:
        return {base_name(b["run_name"]): b for b in medians}
    return {base_name(b["name"]): b for b in rows if b.get("run_type", "iteration") == "iteration"}


def main(paths: list[str]) -> int:
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        by_name = results(doc)
        printed = False
        for name, b in by_name.items():
            label = b.get("label", "")
            if not label.startswith("vs "):
                continue
            base = by_name.get(label[3:])
            if base is None:
                print(f"{name}: baseline {label[3:]} was not run", file=sys.stderr)
                continue
            if not printed:
                print(f"{'benchmark':<40} {'ns/op':>12} {'baseline':<32} {'ns/op':>12} {'ratio':>7}")
                printed = True
            mine = seconds(b) * UNIT_NS[b.get("time_unit", "ns")]
            theirs = seconds(base) * UNIT_NS[base.get("time_unit", "ns")]
            line = (f"{name:<40} {mine:>12.1f} {label[3:]:<32} {theirs:>12.1f} "
                    f"{mine / theirs:>6.2f}x")
            if "p99_us" in b and "p99_us" in base:
                line += f"  p99 {b['p99_us']:.0f} vs {base['p99_us']:.0f} us"
            if "resumed" in b:
                line += f"  resumed {b['resumed']:.3f}"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
