"""Training speed: seconds per epoch and per full run, f32 vs. W4A8, for GCN and GAT on Cora.

Usage: python benchmarks/bench_train.py [--dataset cora] [--seeds 0] [--threads 1]
Goal (issue 2): the quantised run costs at most 1.5x the f32 one.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from lpgnas.data import load_dataset
from lpgnas.io.archfile import load_arch_file
from lpgnas.train import train_once

ARCHS = Path(__file__).resolve().parents[1] / "examples" / "archs"
PAIRS = [("GCN", "gcn.yaml", "gcn-w4a8.yaml"), ("GAT", "gat.yaml", "gat-w4a8.yaml")]


def timed_epochs(graph, arch, config, epochs: int, threads: int) -> float:
    """Seconds per epoch over `epochs` epochs, early stopping off."""
    config = replace(config, epochs=epochs, patience=epochs + 1)
    run = train_once(graph, arch, config, "public", seed=0, threads=threads)
    return run.seconds / run.epochs_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--epochs", type=int, default=100, help="epochs timed for the per-epoch figure")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    graph = load_dataset(args.dataset)
    print(f"dataset {args.dataset}, threads {args.threads}, per-epoch figure over {args.epochs} epochs")
    print(f"{'network':<8}{'f32 s/epoch':>13}{'W4A8 s/epoch':>14}{'ratio':>8}{'f32 run s':>11}{'W4A8 run s':>12}"
          f"{'ratio':>8}")
    for name, f32_file, q_file in PAIRS:
        row = []
        for file in (f32_file, q_file):
            arch, config = load_arch_file(ARCHS / file)
            per_epoch = timed_epochs(graph, arch, config, args.epochs, args.threads)
            run = train_once(graph, arch, config, "public", seed=0, threads=args.threads)
            row.append((per_epoch, run.seconds))
        (fe, fr), (qe, qr) = row
        print(f"{name:<8}{fe:>13.4f}{qe:>14.4f}{qe / fe:>8.2f}{fr:>11.2f}{qr:>12.2f}{qr / fr:>8.2f}")
    print("(full runs use each arch file's epochs and early stopping, so their lengths can differ; "
          "the per-epoch ratio is the like-for-like cost of quantisation)")


if __name__ == "__main__":
    main()
