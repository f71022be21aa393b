"""What each CLI command does, as plain functions returning the result objects of DESIGN.md §7.

Every input is validated (arch file, dataset, split) before any training starts.
"""

from __future__ import annotations

from lpgnas.archfile import load_arch_file
from lpgnas.data import dataset_info, load_dataset, split_masks
from lpgnas.progress import progress_bar
from lpgnas.train import summarize, train_once


def resolve_split(dataset: str, split: str | None) -> str:
    """The split to use: the given one if the dataset has it, else the dataset's default."""
    info = dataset_info(dataset)
    if split is None:
        return info.default_split
    if split not in info.splits:
        from hwsim.errors import InputError

        raise InputError("argument --split", "", f"dataset {info.name!r} has no {split!r} split; "
                         f"choices: {', '.join(info.splits)}")
    return split


def run_train(arch_path: str, dataset: str, data_root: str | None, split: str | None, seeds: list[int],
              epochs: int | None, threads: int, progress: bool = False) -> dict:
    """Train an arch file over seeds; the `train --json` object."""
    arch, config = load_arch_file(arch_path)
    config = config.with_epochs(epochs)
    split = resolve_split(dataset, split)
    graph = load_dataset(dataset, data_root)
    split_masks(graph, split, seeds[0])
    runs = []
    with progress_bar(total=len(seeds) * config.epochs, desc=f"train {graph.name}", enabled=progress) as bar:
        for seed in seeds:
            done = bar.n
            run = train_once(graph, arch, config, split, seed, threads, on_epoch=lambda e: bar.update(1))
            bar.update(done + config.epochs - bar.n)  # early stopping skips the rest of this seed
            runs.append(run)
    return summarize(graph, arch, split, seeds, runs)
