"""Search speed: a search step with and without the hardware penalty, side by side, and the
time to build the cost tensors.

Usage: python benchmarks/bench_search.py [--dataset cora] [--epochs 10] [--repeats 3] [--target zcu102]
Goals (issue 4): penalty overhead <= 5 % of a step; cost tensors <= 2 s on Cora, <= 10 s on Photo.
The side-by-side epochs are noisy on a shared machine, so the penalty's own work is also timed
alone and reported as a share of the epoch.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from hwsim.tables import build_tables
from hwsim.target import load_target
from lpgnas.data import load_dataset
from lpgnas.search.config import SearchConfig
from lpgnas.search.loop import new_state, search_epochs
from lpgnas.search.problem import prepare
from lpgnas.search.space import SearchSpace


def table_seconds(dataset: str, target_name: str) -> tuple[float, float]:
    """(seconds with a fresh graph, i.e. buffer simulation included; seconds from cached miss curves)."""
    graph = load_dataset(dataset)
    target = load_target(target_name)
    space = SearchSpace()  # the default 2-layer space with every bit width
    hw = graph.to_hw()
    start = time.perf_counter()
    build_tables(hw, target, graph.num_classes, space.depth, space.weight_quants, space.activation_quants)
    fresh = time.perf_counter() - start
    start = time.perf_counter()
    build_tables(hw, target, graph.num_classes, space.depth, space.weight_quants, space.activation_quants)
    return fresh, time.perf_counter() - start


def epoch_seconds(problem, epochs: int, repeats: int) -> tuple[float, float]:
    """Best-of-`repeats` seconds per search epoch (architecture + weight step), with and without
    the penalty, alternating the two so machine noise hits both alike.

    The architecture learning rate is set to 0 so both variants sample the very same paths (the
    penalty would otherwise steer the search to smaller, faster networks within a few epochs);
    everything else, the penalty's forward and backward included, runs as in a search.
    """
    best = {True: float("inf"), False: float("inf")}
    penalty = problem.penalty
    frozen_arch = replace(problem.config.hparams, warmup_fraction=0.0, arch_lr=0.0)
    config = replace(problem.config, epochs=epochs, hparams=frozen_arch)
    for _ in range(repeats):
        for with_penalty in (True, False):
            trial = replace(problem, config=config, penalty=penalty if with_penalty else None)
            state = new_state(trial)
            search_epochs(trial, state, None, progress=False)
            best[with_penalty] = min(best[with_penalty], state.seconds / epochs)
    return best[True], best[False]


def penalty_seconds(problem, calls: int = 200) -> float:
    """Seconds per call of the penalty's own work in an architecture step: the expected cost of the
    controller's probabilities, the penalty terms and their backward pass.

    The side-by-side epochs above differ by this and by machine noise, which on this shared
    machine swings a ~1 s epoch by ±15 % between runs; timed alone it is the overhead's floor.
    """
    controller = new_state(problem).controller
    start = time.perf_counter()
    for _ in range(calls):
        total, _ = problem.penalty(torch.zeros((), requires_grad=True), controller.probabilities())
        total.backward()
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--target", default="zcu102")
    parser.add_argument("--epochs", type=int, default=10, help="search epochs per timing")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tables", default="cora,photo", help="datasets to time the cost tensors on")
    args = parser.parse_args()
    torch.set_num_threads(1)
    problem = prepare(SearchConfig(target=args.target, dataset=args.dataset))  # also compiles the kernels
    with_penalty, without = epoch_seconds(problem, args.epochs, args.repeats)
    samples = problem.config.hparams.arch_samples
    print(f"{args.dataset}, search epoch (architecture step scoring {samples} paths + weight step), "
          f"best of {args.repeats} x {args.epochs} epochs: with penalty {with_penalty * 1e3:.1f} ms, "
          f"without {without * 1e3:.1f} ms, overhead {100 * (with_penalty / without - 1):+.1f} %")
    own = penalty_seconds(problem)
    print(f"the penalty alone (expected cost, terms, backward): {own * 1e3:.2f} ms per step, "
          f"{100 * own / without:.2f} % of the epoch without it")
    for name in args.tables.split(","):
        fresh, cached = table_seconds(name, args.target)
        print(f"cost tensors on {name} ({args.target}, 2 layers): {fresh:.3f} s with the buffer simulation, "
              f"{cached:.3f} s from cached miss curves")


if __name__ == "__main__":
    main()
