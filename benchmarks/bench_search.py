"""Search speed: a search step with and without the hardware penalty, side by side, and the
time to build the cost tensors.

Usage: python benchmarks/bench_search.py [--dataset cora] [--steps 30] [--target zcu102]
Goals (issue 4): penalty overhead <= 5 % of a step; cost tensors <= 2 s on Cora, <= 10 s on Photo.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from costmodels.tables import build_tables
from hwsim.target import load_target
from lpgnas.data import load_dataset, split_masks
from lpgnas.model import as_input, with_self_loops
from lpgnas.search import SearchConfig, new_state, prepare


def table_seconds(dataset: str, target_name: str) -> tuple[float, float]:
    """(seconds with a fresh graph, i.e. buffer simulation included; seconds from cached miss curves)."""
    graph = load_dataset(dataset)
    target = load_target(target_name)
    config = SearchConfig(target=target_name, dataset=dataset)
    from lpgnas.space import SearchSpace

    space = SearchSpace(config.layers)
    hw = graph.to_hw()
    start = time.perf_counter()
    build_tables(hw, target, graph.num_classes, space.depth, space.weight_quants, space.activation_quants)
    fresh = time.perf_counter() - start
    start = time.perf_counter()
    build_tables(hw, target, graph.num_classes, space.depth, space.weight_quants, space.activation_quants)
    return fresh, time.perf_counter() - start


def step_seconds(problem, steps: int) -> tuple[float, float]:
    """Mean seconds of an architecture step with and without the penalty, interleaved."""
    state = new_state(problem)
    graph = problem.graph
    _, val_mask, _ = split_masks(graph, problem.split, 0)
    x, edge_index = as_input(graph.x), with_self_loops(graph.edge_index, graph.num_nodes)
    times = {True: 0.0, False: 0.0}
    for step in range(2 * steps + 2):
        with_penalty = step % 2 == 0
        torch.manual_seed(step // 2)  # the same sampled path for both variants of a pair
        start = time.perf_counter()
        logits = state.supernet(x, edge_index, state.controller.sample(1.0))
        loss = F.cross_entropy(logits[val_mask], graph.y[val_mask])
        if with_penalty:
            loss, _ = problem.penalty(loss, state.controller.probabilities())
        state.arch_opt.zero_grad()
        loss.backward()
        if step >= 2:  # the first pair warms up
            times[with_penalty] += time.perf_counter() - start
    return times[True] / steps, times[False] / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--target", default="zcu102")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--tables", default="cora,photo", help="datasets to time the cost tensors on")
    args = parser.parse_args()
    torch.set_num_threads(1)
    problem = prepare(SearchConfig(target=args.target, dataset=args.dataset))  # also compiles the kernels
    with_penalty, without = step_seconds(problem, args.steps)
    print(f"{args.dataset}, {args.steps} architecture steps each, same sampled paths: with penalty "
          f"{with_penalty * 1e3:.1f} ms, without {without * 1e3:.1f} ms, overhead "
          f"{100 * (with_penalty / without - 1):+.1f} %")
    for name in args.tables.split(","):
        fresh, cached = table_seconds(name, args.target)
        print(f"cost tensors on {name} ({args.target}, 2 layers): {fresh:.3f} s with the buffer simulation, "
              f"{cached:.3f} s from cached miss curves")


if __name__ == "__main__":
    main()
