#!/usr/bin/env python3
"""Turns criterion's estimates (target/criterion/<group>/<bench>/new/estimates.json) into the
Markdown table of docs/benchmarks.md: each measurement with its ratio to the same-run baseline.

Usage: scripts/bench-report.py [CRITERION_DIR]
(default: $CARGO_TARGET_DIR/criterion, else target/criterion)."""
import json
import os
import sys
from pathlib import Path


def main() -> int:
    default = Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "criterion"
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    if not root.is_dir():
        print(f"no criterion output in {root}; run `cargo bench -p emrex-xmldsig` first", file=sys.stderr)
        return 1
    for group in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "report"):
        rows = {}
        for bench in sorted(p for p in group.iterdir() if p.is_dir() and p.name != "report"):
            est = bench / "new" / "estimates.json"
            bm = bench / "new" / "benchmark.json"
            if not est.is_file():
                continue
            name = json.loads(bm.read_text())["function_id"] if bm.is_file() else bench.name
            median = json.loads(est.read_text())["median"]["point_estimate"]  # nanoseconds
            rows[name] = median
        if not rows:
            continue
        base_sign = next((v for k, v in rows.items() if k.startswith("baseline-sign")), None)
        base_verify = next((v for k, v in rows.items() if k.startswith("baseline-verify")), None)
        print(f"\n### {group.name}\n")
        print("| measurement | median | ratio to baseline |")
        print("| --- | ---: | ---: |")
        for name, ns in rows.items():
            base = base_sign if name.startswith("sign") else base_verify if name.startswith("verify") else None
            ratio = f"{ns / base:.2f}×" if base and not name.startswith("baseline") else "1.00× (baseline)" if name.startswith("baseline") else ""
            print(f"| {name} | {fmt(ns)} | {ratio} |")
    return 0


def fmt(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


if __name__ == "__main__":
    sys.exit(main())
