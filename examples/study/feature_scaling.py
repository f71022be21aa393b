"""Train a manual network as the study's baselines train, on row-normalised and on binary features.

Usage: python examples/study/feature_scaling.py NETWORK DATASET [--seeds 0,1,2] [--epochs N]

NETWORK is an arch file or an example network's name (gcn, gat, sage-mean, ...); it trains with
its file's settings and the dataset's weight decay on the full split, as the study's baselines
do. Binary features are x > 0: the raw bag-of-words of the Amazon and Coauthor graphs, which
the loader row-normalises as the GCN and GAT papers do.
Why: row-normalising ~200-270 words per node scales every input by ~1/200-1/270, and Adam's
steps on the first layer's weights move its outputs by about that much less per step; on
Amazon Computers the GCN baseline still improves at its 1,000-epoch cap (README).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace

from hwsim.errors import InputError
from lpgnas.data import dataset_info, load_dataset, resolve_split
from lpgnas.io.archfile import load_arch_file, resolve_arch_path
from lpgnas.train import train_once


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",")]
    except ValueError:
        raise InputError("argument --seeds", "", f"expected comma-separated integers, got {text!r}") from None
    return seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("network")
    parser.add_argument("dataset")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=int, help="cap on the training epochs (default: the network file's)")
    args = parser.parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds)
        if args.epochs is not None and args.epochs < 1:
            raise InputError("argument --epochs", "", f"must be at least 1, got {args.epochs}")
        try:
            path = resolve_arch_path(args.network, "NETWORK")
        except InputError as err:
            raise InputError("argument NETWORK", "", err.message) from None
        arch, train = load_arch_file(path)
        train = replace(train, weight_decay=dataset_info(args.dataset).weight_decay)
        train = train.with_epochs(args.epochs)
        graph = load_dataset(args.dataset)
        split = resolve_split(args.dataset, "full")
    except InputError as err:
        print(f"feature_scaling: {err.one_line()}", file=sys.stderr)
        return 2
    print(f"{args.network} on {args.dataset} ({split} split), lr {train.lr}, weight decay {train.weight_decay}, "
          f"at most {train.epochs} epochs")
    print("  features        seed  test acc  best epoch  epochs run")
    for features, x in (("row-normalised", graph.x), ("binary", (graph.x > 0).float())):
        accs = []
        for seed in seeds:
            result = train_once(replace(graph, x=x), arch, train, split, seed)
            accs.append(result.test_acc)
            print(f"  {features:<14}  {seed:>4}  {100 * result.test_acc:7.2f}  {result.best_epoch:>10}  "
                  f"{result.epochs_run:>10}", flush=True)
        spread = f" ± {100 * statistics.pstdev(accs):.2f}" if len(accs) > 1 else ""  # as the study's tables
        print(f"  {features:<14}  mean  {100 * statistics.fmean(accs):7.2f}{spread}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
