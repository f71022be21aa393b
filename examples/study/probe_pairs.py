"""Print the validation score of every (attention, aggregation) pair of one layer on a search's
trained supernet, the rest of the derived network held fixed (probe).

Usage: python examples/study/probe_pairs.py RUN_DIR [--layer 1]
RUN_DIR is an `lpgnas-hw search --out` directory (or a study's runs/<point>) with checkpoint.pt.
"""

from __future__ import annotations

import argparse
import sys

from probe import pair_scores

from hwsim.errors import InputError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--layer", type=int, default=1, help="1-based layer (default: 1)")
    args = parser.parse_args(argv)
    try:
        scores = pair_scores(args.run_dir, args.layer - 1)
    except InputError as err:
        print(err.one_line(), file=sys.stderr)
        return 2
    aggregations = list(dict.fromkeys(agg for _, agg in scores))
    print(f"layer {args.layer}: validation score loss / accuracy")
    print(f"{'attention':<12}" + "".join(f"{agg:>16}" for agg in aggregations))
    for attention in dict.fromkeys(att for att, _ in scores):
        print(f"{attention:<12}" + "".join(f"{scores[attention, agg][0]:>9.3f} / {scores[attention, agg][1]:.3f}"
                                           for agg in aggregations))
    return 0


if __name__ == "__main__":
    sys.exit(main())
