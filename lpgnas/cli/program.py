"""`lpgnas-hw`: the command line (docs/design.md §7).

Library code raises InputError; here, and only here, it becomes one line on stderr and exit 2.
`--json` prints exactly one JSON object on stdout; logs and progress go to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence

from hwsim.errors import InputError
from lpgnas import __version__


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line, exit 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parse_list(text: str, kind: type, noun: str) -> list:
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated {noun}s, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one {noun}")
    return values


# Counts and seeds from the command line stay within what torch and numpy take (a seed of 1e20
# or a count of 10**30 would overflow there with a traceback).
MAX_INT = 2**31 - 1
MAX_SEED = 2**32 - 1


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {MAX_SEED}, got {value}")
    return value


def parse_seeds(text: str) -> list[int]:
    seeds = [seed(v) for v in _parse_list(text, str, "seed")]
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"seed {repeated[0]} is given twice")
    return seeds


def _bounded(high: int, noun: str) -> Callable[[str], int]:
    """A positive integer of at most `high` (more threads than torch can start, or more layers or
    epochs than any search runs, is a typo that would crash or never end)."""
    def parse(text: str) -> int:
        value = positive_int(text)
        if value > high:
            raise argparse.ArgumentTypeError(f"expected 1 to {high} {noun}, got {value}")
        return value
    return parse


# Limits shared with sweep files and run.json (lpgnas.search.config checks those).
threads = _bounded(256, "threads")
layer_count = _bounded(16, "layers")
epoch_count = _bounded(10**6, "epochs")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 < value <= MAX_INT:
        raise argparse.ArgumentTypeError(f"expected an integer from 1 to {MAX_INT}, got {value}")
    return value


def emit(result: dict, as_json: bool, render: Callable[[dict], str]) -> None:
    """Print `result` as JSON (one object) or as a human-readable table."""
    if sys.stdout is None:  # started with stdout closed: the result files are the output
        return
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        sys.stdout.write(render(result) + "\n")
    sys.stdout.flush()


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train one architecture with quantisation-aware training",
                       description="Train ARCH.yaml from scratch over seeds and report accuracy, "
                                   "model size and buffer size.")
    p.add_argument("--arch", required=True, help="architecture file (arch.yaml)")
    p.add_argument("--dataset", default="cora", help="dataset name (default: cora)")
    p.add_argument("--data-root", help="dataset root (default: $LPGNAS_DATA, else the user cache)")
    p.add_argument("--split", choices=("public", "full"), help="public (Planetoid) or full (60/20/20)")
    p.add_argument("--seeds", type=parse_seeds, default=[0], help="comma-separated seeds (default: 0)")
    p.add_argument("--epochs", type=epoch_count, help="override the arch file's epochs")
    p.add_argument("--weight-decay", type=nonnegative_float,
                   help="override the arch file's L2 weight decay (the study's baselines train with the "
                        "dataset's: 0 on Amazon Photo, see README)")
    p.add_argument("--threads", type=threads, default=1, help="torch threads (default: 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from lpgnas.cli.commands import run_train
    from lpgnas.cli.report import render_train

    result = run_train(args.arch, args.dataset, args.data_root, args.split, args.seeds, args.epochs,
                       args.threads, progress=True, weight_decay=args.weight_decay)
    emit(result, args.json, render_train)
    return 0


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def nonnegative_float(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def positive_float(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def start_by(stop_after_hours: float | None) -> float | None:
    """The Unix time after which a --stop-after run starts no point."""
    return None if stop_after_hours is None else time.time() + stop_after_hours * 3600


def _add_search(sub) -> None:
    from lpgnas.search.config import default

    p = sub.add_parser("search", help="search architecture and bit widths for a target (the main job)",
                       description="One differentiable search over architecture and per-component bit widths "
                                   "with the target's simulated latency and buffer in the loss; then retrain the "
                                   "derived network and simulate it. Writes RUN_DIR/{arch.yaml,result.json,model.pt}.")
    p.add_argument("--target", help="target YAML file or preset name (required unless --resume)")
    p.add_argument("--dataset", default=default("dataset"), help="dataset name or GRAPH.npz (default: %(default)s)")
    p.add_argument("--data-root", help="dataset root (default: $LPGNAS_DATA, else the user cache)")
    p.add_argument("--split", choices=("public", "full"), help="default: public where it exists, else full")
    p.add_argument("--layers", type=layer_count, default=default("layers"),
                   help="network depth (default: %(default)s)")
    p.add_argument("--epochs", type=epoch_count, default=default("epochs"),
                   help="search epochs (default: %(default)s)")
    p.add_argument("--seed", type=seed, default=default("seed"), help="search seed (default: %(default)s)")
    p.add_argument("--seeds", type=parse_seeds, help="retraining seeds (default: the search seed)")
    p.add_argument("--retrain-epochs", type=epoch_count, help="cap on retraining epochs (default: none)")
    p.add_argument("--candidates", type=positive_int, default=default("candidates"),
                   help="train this many networks drawn near the argmax once, keep the best on validation "
                        "(error + hardware penalty) (default: %(default)s, the argmax alone)")
    p.add_argument("--latency-weight", type=nonnegative_float, default=default("latency_weight"),
                   help="λ_lat, on latency normalised by an 8-bit GCN's (default: %(default)s)")
    p.add_argument("--buffer-weight", type=nonnegative_float, default=default("buffer_weight"),
                   help="μ, on the peak buffer normalised by an 8-bit GCN's (default: %(default)s)")
    p.add_argument("--size-weight", type=nonnegative_float, default=default("size_weight"),
                   help="λ_size, on the model size normalised by an 8-bit GCN's (default: %(default)s)")
    p.add_argument("--latency-budget-ms", type=positive_float, help="hard latency budget (hinge + repair)")
    p.add_argument("--buffer-budget-kib", type=positive_float, help="hard on-chip buffer budget (hinge + repair)")
    p.add_argument("--budget-weight", type=nonnegative_float, default=default("budget_weight"),
                   help="λ_b of the budget hinges (default: %(default)s)")
    p.add_argument("--quant-choices", default=default("quant_choices"),
                   help="all, f32, or a list such as q4,q8,f32 (default: %(default)s)")
    p.add_argument("--no-hw", action="store_true", help="drop the hardware penalties (accuracy-only search)")
    p.add_argument("--weight-decay", type=nonnegative_float,
                   help="L2 weight decay of the supernet's paths and of retraining (default: the dataset's; "
                        "5e-4 on Cora, CiteSeer, PubMed)")
    _add_hparams(p)
    p.add_argument("--keep-checkpoint", action="store_true",
                   help="keep the trained supernet (checkpoint.pt, ~37 MB on Cora) after the run, for probes")
    p.add_argument("--threads", type=threads, default=default("threads"),
                   help="torch threads (default: %(default)s)")
    p.add_argument("--out", help="run directory (default: runs/DATASET-TARGET-sSEED-TIME)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its directory")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=_run_search)


def _add_hparams(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hparams", metavar="FILE", help="YAML mapping of search hyper-parameters (names: "
                   "lpgnas.search.hparams.SearchHyperParams; defaults and reasons: docs/search-tuning.md)")
    p.add_argument("--hparam", action="append", metavar="NAME=VALUE",
                   help="one search hyper-parameter, over --hparams (repeat for several)")


def _run_search(args: argparse.Namespace) -> int:
    from lpgnas.cli.commands import search_config
    from lpgnas.cli.report import render_search
    from lpgnas.search.run import run_search

    config = search_config(args, args.given)
    resume = f"lpgnas-hw search --resume {shlex.quote(config.out)}"
    started = []

    def announce() -> None:
        started.append(True)
        print(f"run directory: {config.out} (if stopped, continue with: {resume})", file=sys.stderr, flush=True)

    try:
        result = run_search(config, progress=True, resume=args.resume is not None, on_start=announce)
    except KeyboardInterrupt:
        if not started:
            raise
        print(f"lpgnas-hw: interrupted; what finished is saved in {config.out}; continue with: {resume}",
              file=sys.stderr)
        return 130
    print(f"run directory: {config.out}", file=sys.stderr)
    emit(result, args.json, render_search)
    return 0


def _add_simulate(sub) -> None:
    p = sub.add_parser("simulate", help="simulate one network on one target and graph",
                       description="Cycle and memory simulation of ARCH.yaml on TARGET for a dataset or "
                                   "your own graph (.npz with edge_index[, num_nodes, x, y] or edge-list .csv).")
    p.add_argument("--target", required=True, help="target YAML file or preset name (see `lpgnas-hw targets`)")
    p.add_argument("--arch", required=True, help="architecture file (arch.yaml)")
    p.add_argument("--dataset", default="cora", help="dataset name or graph file (default: cora)")
    p.add_argument("--data-root", help="dataset root (default: $LPGNAS_DATA, else the user cache)")
    p.add_argument("--num-classes", type=positive_int, help="output classes (default: from the dataset or file)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    from lpgnas.cli.commands import run_simulate
    from lpgnas.cli.report import render_simulate

    result = run_simulate(args.target, args.arch, args.dataset, args.data_root, args.num_classes)
    emit(result, args.json, render_simulate)
    return 0


def _add_targets(sub) -> None:
    p = sub.add_parser("targets", help="list the target presets", description="List the target presets.")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=_run_targets)


def _run_targets(args: argparse.Namespace) -> int:
    from lpgnas.cli.commands import run_targets
    from lpgnas.cli.report import render_targets

    emit(run_targets(), args.json, render_targets)
    return 0


def parse_float_list(text: str) -> list[float]:
    return _parse_list(text, _finite, "finite number")


def _add_sweep(sub) -> None:
    p = sub.add_parser("sweep", help="many searches over hardware budgets, targets, datasets and seeds",
                       description="Run a grid of searches (plus the --no-hw search and manual baselines as "
                                   "references) into --out, one run directory per point; re-running the same "
                                   "command skips finished points. Writes pareto.csv and PNG plots at the end. "
                                   "Options given here override the --config file's.")
    p.add_argument("--config", help="sweep YAML (see examples/sweeps/)")
    p.add_argument("--target", action="append", help="target file or preset (repeat for several)")
    p.add_argument("--dataset", action="append", help="dataset (repeat for several; default: cora)")
    p.add_argument("--data-root", help="dataset root (default: $LPGNAS_DATA, else the user cache)")
    p.add_argument("--latency-budgets-ms", type=parse_float_list, help="comma-separated latency budgets")
    p.add_argument("--buffer-budgets-kib", type=parse_float_list, help="comma-separated buffer budgets")
    p.add_argument("--latency-weights", type=parse_float_list,
                   help="comma-separated λ_lat (default: 0 with budgets, else 0.1)")
    p.add_argument("--seeds", type=parse_seeds, help="search seeds, each point retrained on its own (default: 0)")
    p.add_argument("--layers", type=layer_count, help="network depth (default: the search's)")
    p.add_argument("--epochs", type=epoch_count, help="search epochs per point (default: the search's)")
    p.add_argument("--retrain-epochs", type=epoch_count, help="cap on retraining epochs (default: none)")
    p.add_argument("--split", choices=("public", "full"), help="default: public where it exists, else full")
    p.add_argument("--quant-choices", help="all (default), f32, or a list such as q4,q8,f32")
    p.add_argument("--threads", type=threads, help="torch threads per point (default: the search's)")
    _add_hparams(p)
    p.add_argument("--no-references", action="store_true", help="skip the --no-hw search and the manual baselines")
    p.add_argument("--workers", type=positive_int, default=1, help="points run at once (default: 1)")
    p.add_argument("--backend", choices=("local", "ray"), default="local", help="process pool or Ray tasks")
    p.add_argument("--ray-address", help="an existing Ray cluster (default: start a local instance)")
    p.add_argument("--retry-failed", action="store_true", help="run the points that failed before again")
    p.add_argument("--stop-after", type=positive_float, metavar="HOURS",
                   help="start no point after HOURS hours (for time-boxed machines): the points in flight "
                        "finish, the same command later runs the rest")
    p.add_argument("--out", required=True, help="sweep directory")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=_run_sweep)


def _run_sweep(args: argparse.Namespace) -> int:
    from lpgnas.cli.report import render_sweep
    from lpgnas.sweep.runner import run_sweep
    from lpgnas.sweep.spec import load_sweep_spec

    overrides = {"targets": args.target, "datasets": args.dataset, "latency_budgets_ms": args.latency_budgets_ms,
                 "buffer_budgets_kib": args.buffer_budgets_kib, "latency_weights": args.latency_weights,
                 "seeds": args.seeds, "layers": args.layers, "epochs": args.epochs,
                 "retrain_epochs": args.retrain_epochs, "split": args.split, "quant_choices": args.quant_choices,
                 "threads": args.threads}
    if args.hparams or args.hparam:  # merged key by key over the config file's `hparams:`
        from lpgnas.search.hparams import hyperparam_overrides

        overrides["hparams"] = hyperparam_overrides(args.hparams, args.hparam)
    if args.no_references:
        overrides.update(nohw_reference=False, baselines=[])
    spec = load_sweep_spec(args.config, overrides, args.data_root)
    result = run_sweep(spec, args.out, args.workers, args.backend, args.ray_address, args.retry_failed,
                       progress=True, start_by=start_by(args.stop_after))
    emit(result, args.json, render_sweep)
    return _failed_points(result)


def _failed_points(result: dict) -> int:
    """Exit 1 with "N of M points failed" when any did (2 stays for bad input), else 0."""
    failed = len(result["failed"])
    if failed:
        print(f"lpgnas-hw: {failed} of {result['total']} points failed (their errors are in the table and in "
              "sweep.sqlite; --retry-failed runs them again)", file=sys.stderr)
        return 1
    return 0


def _add_pareto(sub) -> None:
    p = sub.add_parser("pareto", help="re-make pareto.csv and the plots of a sweep",
                       description="Re-make SWEEP_DIR/pareto.csv and its PNG plots from the sweep's records.")
    p.add_argument("sweep_dir", metavar="SWEEP_DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=_run_pareto)


def _run_pareto(args: argparse.Namespace) -> int:
    from lpgnas.cli.report import render_sweep
    from lpgnas.sweep.runner import remake_pareto

    emit(remake_pareto(args.sweep_dir), args.json, render_sweep)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="lpgnas-hw", description="Hardware-aware low-precision GNN architecture search.")
    parser.add_argument("--version", action="version", version=f"lpgnas-hw {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    _add_search(sub)
    _add_train(sub)
    _add_simulate(sub)
    _add_sweep(sub)
    _add_pareto(sub)
    _add_targets(sub)
    return parser


def given_options(parser: argparse.ArgumentParser, command: str, argv: Sequence[str]) -> set[str]:
    """The destinations of the options `argv` spells out for `command` (not those left at their
    defaults): what --resume compares with the run's own options."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    given = set()
    for action in sub._actions:
        for option in action.option_strings:
            if any(token == option or token.startswith(option + "=") for token in argv):
                given.add(action.dest)
    return given


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.given = given_options(parser, args.command, argv)
    try:
        return args.func(args)
    except InputError as err:
        print(f"lpgnas-hw: error: {err.one_line()}", file=sys.stderr)
        return 2
    except sqlite3.Error as err:  # the sweep's database: a full disk, a damaged or foreign file
        print(f"lpgnas-hw: error: the sweep database: {err}", file=sys.stderr)
        return 2
    except MemoryError:
        print("lpgnas-hw: error: out of memory (a graph or network far larger than this machine holds?)",
              file=sys.stderr)
        return 2
    except OSError as err:  # permission, not a directory, no space, name too long: one path for all
        where = f"{err.filename}: " if err.filename else ""
        print(f"lpgnas-hw: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lpgnas-hw: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
