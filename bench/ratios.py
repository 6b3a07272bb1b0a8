#!/usr/bin/env python3
"""Prints each benchmark's time as a ratio against its baseline measured in the same run.

A benchmark names its baseline in its label, "vs <baseline name>" (state.SetLabel in Google
Benchmark). Reads Google Benchmark JSON (--benchmark_out=FILE --benchmark_out_format=json).
Usage: bench/ratios.py RESULT.json [...]
"""

import json
import sys


def main(paths: list[str]) -> int:
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        rows = [b for b in doc["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
        by_name = {b["name"]: b for b in rows}
        printed = False
        for b in rows:
            label = b.get("label", "")
            if not label.startswith("vs "):
                continue
            base = by_name.get(label[3:])
            if base is None:
                print(f"{b['name']}: baseline {label[3:]} was not run", file=sys.stderr)
                continue
            if not printed:
                print(f"{'benchmark':<34} {'ns/op':>10} {'baseline':<30} {'ns/op':>10} {'ratio':>7}")
                printed = True
            ratio = b["cpu_time"] / base["cpu_time"]
            print(f"{b['name']:<34} {b['cpu_time']:>10.1f} {base['name']:<30} "
                  f"{base['cpu_time']:>10.1f} {ratio:>6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
