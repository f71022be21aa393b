"""What each CLI command does, as plain functions returning the result objects of docs/design.md §7.

Every input is validated (arch file, dataset, split) before any training starts. Nothing here
imports torch at module level: `simulate` and `targets` run without it (lpgnas.data.load_hw_graph).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from hwsim.errors import InputError
from hwsim.simulate import simulate
from hwsim.target import load_target, preset_names, target_spec
from lpgnas.data import is_graph_file, load_dataset, load_hw_graph, resolve_split
from lpgnas.io.archfile import load_arch_file
from lpgnas.io.progress import progress_bar
from lpgnas.search.config import SearchConfig, run_config
from lpgnas.search.hparams import load_hyperparams


def run_train(arch_path: str, dataset: str, data_root: str | None, split: str | None, seeds: list[int],
              epochs: int | None, threads: int, progress: bool = False, weight_decay: float | None = None) -> dict:
    """Train an arch file over seeds; the `train --json` object."""
    from lpgnas.train import summarize, train_once

    arch, config = load_arch_file(arch_path)
    config = config.with_epochs(epochs)
    if weight_decay is not None:
        config = replace(config, weight_decay=weight_decay)
    split = resolve_split(dataset, split)
    graph = load_dataset(dataset, data_root)
    runs = []
    with progress_bar(total=len(seeds) * config.epochs, desc=f"train {graph.name}", enabled=progress) as bar:
        for seed in seeds:
            done = bar.n
            run = train_once(graph, arch, config, split, seed, threads, on_epoch=lambda e: bar.update(1))
            bar.update(done + config.epochs - bar.n)  # early stopping skips the rest of this seed
            runs.append(run)
    return summarize(graph, arch, split, seeds, runs)


def run_simulate(target_spec: str, arch_path: str, dataset: str, data_root: str | None,
                 num_classes: int | None) -> dict:
    """Simulate an arch file on a target; the `simulate --json` object."""
    from hwsim.graphio import load_graph_file

    target = load_target(target_spec)
    arch, _ = load_arch_file(arch_path)
    if is_graph_file(dataset):
        graph, file_classes = load_graph_file(dataset)
        name = dataset
        num_classes = num_classes or file_classes
        if num_classes is None:
            raise InputError(dataset, "y", "no labels in the file: give --num-classes")
    else:
        graph, dataset_classes = load_hw_graph(dataset, data_root)
        name = graph.name
        num_classes = num_classes or dataset_classes
    report = simulate(graph, arch, target, num_classes)
    return {"schema_version": 1, "target": target.name, "dataset": name, "arch": arch.to_dict(),
            "hw": report.to_dict()}


def run_targets() -> dict:
    """The presets with their headline figures."""
    targets = []
    for name in preset_names():
        t = load_target(name)
        targets.append({"name": t.name, "clock_mhz": t.clock_mhz, "dram_gbps": t.dram_gbps,
                        "onchip_kib": t.bram_kib + t.uram_kib, "dsp": t.dsp, "lut": t.lut,
                        "pe_array": [t.pe_rows, t.pe_cols], "agg_lanes": t.agg_lanes})
    return {"schema_version": 1, "targets": targets}


def search_config(args, given: set[str] | None = None) -> SearchConfig:
    """The SearchConfig of `lpgnas-hw search` arguments, or of the run being resumed; `given`
    names the options on the command line (with --resume they must match the run's)."""
    if args.resume:
        config = run_config(args.resume)
        _check_resume_options(args, given or set(), config)
        return replace(config, keep_checkpoint=config.keep_checkpoint or args.keep_checkpoint)
    if not args.target:
        raise InputError("argument --target", "", "required (a target file or preset name) unless --resume")
    if args.out is not None and not args.out.strip():
        raise InputError("argument --out", "", "empty; give a folder for the run (or leave --out out)")
    out = args.out or str(Path("runs") / f"{Path(args.dataset).stem}-{Path(args.target).stem}-s{args.seed}-"
                                          f"{time.strftime('%Y%m%d-%H%M%S')}")
    # files as absolute paths, so run.json resumes from any folder (presets stay names)
    dataset = str(Path(args.dataset).resolve()) if is_graph_file(args.dataset) else args.dataset
    target = target_spec(args.target)
    return _config(argparse.Namespace(**{**vars(args), "dataset": dataset, "target": target}), out)



def _config(args, out: str | None) -> SearchConfig:
    return SearchConfig(
        target=args.target, dataset=args.dataset, data_root=args.data_root, split=args.split, layers=args.layers,
        epochs=args.epochs, seed=args.seed, seeds=tuple(args.seeds) if args.seeds else None,
        latency_weight=args.latency_weight, buffer_weight=args.buffer_weight, size_weight=args.size_weight,
        latency_budget_ms=args.latency_budget_ms, buffer_budget_kib=args.buffer_budget_kib,
        budget_weight=args.budget_weight, quant_choices=args.quant_choices, no_hw=args.no_hw,
        threads=args.threads, out=out, retrain_epochs=args.retrain_epochs,
        candidates=args.candidates, weight_decay=args.weight_decay,
        hparams=load_hyperparams(args.hparams, args.hparam), keep_checkpoint=args.keep_checkpoint)


def _check_resume_options(args, given: set[str], stored: SearchConfig) -> None:
    """A resumed run keeps its options: one given again must equal the run's, not be ignored."""
    given = given - {"resume", "keep_checkpoint", "json", "data_root"}
    if "out" in given:
        raise InputError("argument --out", "", "--resume continues the run in its own directory; give one of them")
    if not given:
        return
    if "target" in given and args.target != stored.target:
        raise InputError("argument --target", "", f"differs from the run being resumed ({stored.target!r}); a "
                         "resumed run keeps its options: start a new run with --out")
    asked = _config(argparse.Namespace(**{**vars(args), "target": stored.target}), stored.out)
    for name in sorted(given - {"target"}):
        field = {"hparam": "hparams"}.get(name, name)
        mine, theirs = getattr(asked, field, None), getattr(stored, field, None)
        if field == "split":  # None is the dataset's default split
            mine, theirs = (resolve_split(stored.dataset, v) for v in (mine, theirs))
        if mine != theirs:
            raise InputError(f"argument --{name.replace('_', '-')}", "", f"differs from the run being resumed "
                             f"({getattr(stored, field, None)!r}); a resumed run keeps its options: start a new "
                             "run with --out")
