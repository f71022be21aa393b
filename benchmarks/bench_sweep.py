"""Sweep speed: the 6-point latency sweep of examples/sweeps/cora-zcu102-latency.yaml with 1 and
with 2 local workers (and optionally through Ray), side by side, and whether every backend
derived the same architecture at every point.

Usage: python benchmarks/bench_sweep.py [--epochs 500] [--ray] [--keep DIR]
Goal (issue 5): close to 2x with 2 workers on 2 cores. References (the --no-hw search and the
manual baselines) are left out so that exactly the six searches are timed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from lpgnas.sweep.runner import run_sweep
from lpgnas.sweep.spec import load_sweep_spec

SWEEP = Path(__file__).resolve().parents[1] / "examples" / "sweeps" / "cora-zcu102-latency.yaml"


def timed(spec, out: Path, workers: int, backend: str) -> tuple[float, dict]:
    start = time.perf_counter()
    result = run_sweep(spec, str(out), workers=workers, backend=backend)
    return time.perf_counter() - start, result


def arch_files(out: Path) -> dict[str, str]:
    return {p.parent.name: p.read_text() for p in sorted((out / "runs").glob("*/arch.yaml"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=500, help="search epochs per point (default: 500)")
    parser.add_argument("--ray", action="store_true", help="also run the sweep on a local Ray instance")
    parser.add_argument("--keep", help="keep the sweep directories here (default: a temporary folder)")
    args = parser.parse_args()
    spec = replace(load_sweep_spec(str(SWEEP), {"epochs": args.epochs}), nohw_reference=False, baselines=())
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-sweep-"))
    print(f"6-point latency sweep, Cora on ZCU102, {args.epochs} search epochs per point, "
          f"{os.cpu_count()} CPUs; sweep directories in {root}")
    runs = [("local", 1), ("local", 2)] + ([("ray", 2)] if args.ray else [])
    seconds, archs = {}, {}
    for backend, workers in runs:
        out = root / f"{backend}-{workers}"
        seconds[backend, workers], result = timed(spec, out, workers, backend)
        archs[backend, workers] = arch_files(out)
        failed = len(result["failed"])
        print(f"{backend:>5} backend, {workers} worker(s): {seconds[backend, workers]:8.1f} s  "
              f"({len(archs[backend, workers])} points done, {failed} failed)")
        for row in result["points"]:
            print(f"      budget {row['latency_budget_ms']:>6} ms -> latency {row['latency_ms']:.4f} ms, "
                  f"test accuracy {100 * row['test_acc']:.1f} %")
    print(f"speed-up with 2 workers: {seconds['local', 1] / seconds['local', 2]:.2f}x")
    reference = archs["local", 1]
    for key, found in archs.items():
        same = found == reference
        print(f"{key[0]} with {key[1]} worker(s): same arch.yaml at every point as local with 1 worker: {same}")


if __name__ == "__main__":
    main()
