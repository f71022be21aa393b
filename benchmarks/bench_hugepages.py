"""Transparent huge pages for torch's large tensors (lpgnas/__init__.py sets
THP_MEM_ALLOC_ENABLE=1), off against on, side by side in one run.

Usage: python benchmarks/bench_hugepages.py [--dataset cs] [--arch examples/archs/gat.yaml]
                                            [--epochs 5] [--rounds 2]

Each measurement runs in a fresh process (the allocator reads the setting once), alternating off
and on for --rounds rounds: a fake-quantisation chain over a 37.5 M-value tensor (a Coauthor CS
activation of 8 heads of 256; ms per call) and training epochs of an arch file on a dataset's
full split (ms per epoch, train step + evaluation). One thread, as the study's workers run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quantisation_chain_ms() -> float:
    import torch

    x = torch.randn(18_333 * 2_048)

    def chain():
        return (x * 0.5).round_().clamp_(-7, 7).mul_(2.0)

    chain()
    start = time.perf_counter()
    for _ in range(5):
        chain()
    return (time.perf_counter() - start) / 5 * 1e3


def epoch_ms(dataset: str, arch_file: str, epochs: int) -> float:
    from dataclasses import replace

    from lpgnas.data import load_dataset
    from lpgnas.io.archfile import load_arch_file
    from lpgnas.train import train_once

    arch, config = load_arch_file(arch_file)
    run = train_once(load_dataset(dataset), arch, replace(config, epochs=epochs, patience=epochs + 1), "full", 0)
    return run.seconds / run.epochs_run * 1e3


def measure(setting: str, what: list[str]) -> float:
    """Runs this script's --worker in a fresh process with THP_MEM_ALLOC_ENABLE=setting."""
    env = {**os.environ, "THP_MEM_ALLOC_ENABLE": setting}
    out = subprocess.run([sys.executable, __file__, "--worker", *what], env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cs")
    parser.add_argument("--arch", default=str(ROOT / "examples" / "archs" / "gat.yaml"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        import torch

        torch.set_num_threads(1)
        kind, *rest = args.worker
        print(quantisation_chain_ms() if kind == "chain" else epoch_ms(rest[0], rest[1], int(rest[2])))
        return
    workloads = {"fake-quant chain, 37.5 M values (ms)": ["chain"],
                 f"{Path(args.arch).name} on {args.dataset}, per epoch (ms)": ["epoch", args.dataset, args.arch,
                                                                             str(args.epochs)]}
    print(f"{'workload':<42}{'off':>18}{'on':>18}{'ratio':>8}")
    for name, what in workloads.items():
        times = {"0": [], "1": []}
        for _ in range(args.rounds):
            for setting in ("0", "1"):
                times[setting].append(measure(setting, what))
        off, on = (sum(times[s]) / len(times[s]) for s in ("0", "1"))
        print(f"{name:<42}{' / '.join(f'{t:.0f}' for t in times['0']):>18}"
              f"{' / '.join(f'{t:.0f}' for t in times['1']):>18}{off / on:>7.2f}x")


if __name__ == "__main__":
    main()
