"""First contact: wall time of the quick commands as a user runs them (a fresh process each).

Usage: python benchmarks/bench_cli.py [--repeat 5]

Prints the median and best of `--repeat` runs of `lpgnas-hw targets`, `lpgnas-hw --help` and
`lpgnas-hw simulate --target zcu102 --arch examples/archs/gcn.yaml --dataset cora` after one
untimed run of each (it compiles the numba kernels into their cache and writes the dataset's
hardware graph into the dataset cache), and, side by side, a bare `python -c "import torch,
torch_geometric"` — what these commands avoid by not importing either. Goals (issue: first
contact): simulate ≤ 2 s and targets ≤ 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "lpgnas.cli"]
COMMANDS = {
    "targets": CLI + ["targets"],
    "--help": CLI + ["--help"],
    "simulate cora": CLI + ["simulate", "--target", "zcu102", "--arch", "examples/archs/gcn.yaml", "--dataset", "cora"],
    "import torch, torch_geometric": [sys.executable, "-c", "import torch, torch_geometric"],
}


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": "0"})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'command':<32} {'median s':>9} {'best s':>8}  (over {args.repeat} runs, after one untimed)")
    for name, command in COMMANDS.items():
        seconds(command)
        times = [seconds(command) for _ in range(args.repeat)]
        print(f"{name:<32} {statistics.median(times):>9.2f} {min(times):>8.2f}")


if __name__ == "__main__":
    main()
