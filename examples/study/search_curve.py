"""Print a search's training curve: per window of epochs, the mean training accuracy of the
sampled path and the mean weight loss, from the history in search.json (a finished search) or
checkpoint.pt (one still running or interrupted).

Usage: python examples/study/search_curve.py RUN_DIR [RUN_DIR ...] [--window 10]
RUN_DIR is an `lpgnas-hw search --out` directory or a study's runs/<point>.
Why: the architecture step scores paths of the supernet, so where the supernet has not learnt
yet its scores say little (Amazon Computers under the study's 200-epoch searches, README).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from hwsim.errors import InputError
from lpgnas.io.runfiles import load_torch


def history(run_dir: Path) -> list[dict]:
    """The per-epoch records of the search in `run_dir`."""
    if (run_dir / "search.json").is_file():
        return json.loads((run_dir / "search.json").read_text())["history"]
    if (run_dir / "checkpoint.pt").is_file():
        return load_torch(run_dir / "checkpoint.pt", "search checkpoint")["history"]
    raise InputError(str(run_dir), "", "holds neither search.json nor checkpoint.pt (not a search run directory)")


def windows(records: list[dict], size: int) -> list[tuple[int, float, float]]:
    """(last epoch, mean training accuracy, mean weight loss) per `size` consecutive epochs."""
    out = []
    for end in range(size, len(records) + 1, size):
        chunk = records[end - size:end]
        out.append((chunk[-1]["epoch"], statistics.fmean(r["train_acc"] for r in chunk),
                    statistics.fmean(r["weight_loss"] for r in chunk)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--window", type=int, default=10, help="epochs per mean (default: 10)")
    args = parser.parse_args(argv)
    if args.window < 1:
        print(f"search_curve: argument --window: must be at least 1, got {args.window}", file=sys.stderr)
        return 2
    try:
        curves = {run_dir: windows(history(Path(run_dir)), args.window) for run_dir in args.run_dirs}
    except InputError as err:
        print(f"search_curve: {err.one_line()}", file=sys.stderr)
        return 2
    for run_dir, curve in curves.items():
        print(f"{run_dir}: epoch, training accuracy of the sampled path, weight loss ({args.window}-epoch means)")
        for epoch, acc, loss in curve:
            print(f"  {epoch:>5}  {acc:.3f}  {loss:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
