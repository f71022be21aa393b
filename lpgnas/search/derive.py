"""From a finished search to the network that is retrained (docs/design.md §4): the argmax of every
choice, repaired to the budgets, and, when asked (`--candidates K`), the best of K candidates.

Why candidates: at the end of a search many choices are close to a tie (on Cora's full split
the first layer's attention ended at 0.31 / 0.19 / 0.14 for linear / gcn / gat, the widths
q8 / q16 / f32 at a third each), so the argmax is partly chance. Selection draws K − 1 more
networks near the argmax, trains each once on the search's own split and seed with the
retraining schedule itself, and keeps the one with the lowest validation error plus the
search's own hardware penalty of its exact simulation. Only validation labels decide, as in
the search itself. The kept candidate's run is the retraining on that seed (the same call),
so it is not trained twice.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from hwsim.errors import InputError
from hwsim.simulate import Report, simulate
from lpgnas.io.progress import progress_bar
from lpgnas.io.runfiles import write_json
from lpgnas.search.loop import SearchState
from lpgnas.search.problem import Problem
from lpgnas.search.rundir import read_candidate
from lpgnas.search.space import Network
from lpgnas.train import SeedResult, train_once

# Candidates train with the full retraining schedule (early stopping, up to 1000 epochs), not a
# short one: after the GCN paper's 200 epochs the study's Cora candidates scored 0.78-0.88 on
# validation, ranked by how fast they learnt (their best epochs reach 700), and after the full
# schedule 0.86-0.90 (docs/search-tuning.md, "Candidate selection").


def network_cost(problem: Problem, network: Network) -> Report:
    return simulate(problem.hw_graph, problem.space.to_arch(network), problem.target, problem.graph.num_classes)


def violation(problem: Problem, report: Report) -> float:
    """How far a network is over its budgets: Σ max(0, cost/budget − 1) (0 when it fits)."""
    config, total = problem.config, 0.0
    if config.latency_budget_ms is not None:
        total += max(0.0, report.latency_ms / config.latency_budget_ms - 1)
    if config.buffer_budget_kib is not None:
        total += max(0.0, report.peak_buffer_bytes / (config.buffer_budget_kib * 1024) - 1)
    return total


def repair(problem: Problem, network: Network, probs: list[dict[str, list[float]]]) -> tuple[Network, list[str]]:
    """Lower choices until the network meets its budgets (docs/design.md §4).

    Each round tries, for every choice, its next most probable candidate that makes the network
    cheaper, and applies the one that brings the network closest to its budgets. Raises when no
    change helps any more.
    """
    network = [dict(layer) for layer in network]
    steps: list[str] = []

    def cost(candidate: Network) -> float:
        return violation(problem, network_cost(problem, candidate))

    current = cost(network)
    while current > 0:
        best = None
        for i, layer in enumerate(network):
            for name, candidates in problem.space.choices(i).items():
                order = sorted(range(len(candidates)), key=lambda k: -probs[i][name][k])
                for k in order[order.index(layer[name]) + 1:]:
                    trial = [dict(c) for c in network]
                    trial[i][name] = k
                    value = cost(trial)
                    if value < current:
                        if best is None or value < best[0]:
                            best = (value, i, name, k)
                        break
        if best is None:
            raise InputError("budget", "", "the derived network cannot be repaired to meet the budget; "
                             "raise the budget or the budget weight")
        value, i, name, k = best
        before = problem.space.choices(i)[name][network[i][name]]
        network[i][name] = k
        steps.append(f"layer {i + 1} {name}: {before} -> {problem.space.choices(i)[name][k]}")
        current = value
    return network, steps


def derive(problem: Problem, state: SearchState) -> dict:
    """Argmax network, repaired to the budgets; what search.json records."""
    controller = state.controller
    network = controller.network()
    probs = [{k: v.tolist() for k, v in layer.items()} for layer in controller.probabilities()]
    pairs = [controller.pair_probabilities(i).tolist() for i in range(problem.space.depth)]
    repairs: list[str] = []
    if violation(problem, network_cost(problem, network)) > 0:
        network, repairs = repair(problem, network, probs)
    return {"arch": problem.space.to_arch(network).to_dict(), "network": network, "probabilities": probs,
            "pairs": pairs, "repairs": repairs, "search_s": state.seconds, "history": state.history}


def draw_candidates(problem: Problem, searched: dict, count: int) -> list[tuple[Network, list[str]]]:
    """The derived network, then up to count − 1 distinct networks drawn from
    softmax(candidate_sharpness·α) (repaired to the budgets like the argmax; one that cannot be
    is skipped). Deterministic in the search seed, so a resumed selection draws the same list."""
    rng = np.random.default_rng(problem.config.seed)
    sharpness = problem.config.hparams.candidate_sharpness
    probs = searched["probabilities"]
    sharpened = [{name: np.asarray(p, dtype=np.float64) ** sharpness for name, p in layer.items()}
                 for layer in probs]
    candidates = [(searched["network"], list(searched["repairs"]))]
    seen = {_arch_key(problem, searched["network"])}
    for _ in range(50 * count):
        if len(candidates) >= count:
            break
        network = [{name: int(rng.choice(len(w), p=w / w.sum())) for name, w in layer.items()} for layer in sharpened]
        for layer, joint in zip(network, searched.get("pairs", [])):  # attention and aggregation drawn together
            weights = np.asarray(joint, dtype=np.float64).reshape(-1) ** sharpness
            pair = int(rng.choice(len(weights), p=weights / weights.sum()))
            layer["attention"], layer["aggregation"] = divmod(pair, len(joint[0]))
        repairs: list[str] = []
        try:
            if violation(problem, network_cost(problem, network)) > 0:
                network, repairs = repair(problem, network, probs)
        except InputError:
            continue
        key = _arch_key(problem, network)
        if key not in seen:
            seen.add(key)
            candidates.append((network, repairs))
    return candidates


def _arch_key(problem: Problem, network: Network) -> str:
    # distinct networks, not distinct indices: an unused attention width changes no network
    return json.dumps(problem.space.to_arch(network).to_dict(), sort_keys=True)


def select(problem: Problem, searched: dict, run_dir: Path | None,
           progress: bool) -> tuple[dict, SeedResult | None]:
    """Train each candidate once and pick the lowest validation error + hardware penalty.

    Returns the selection (what selection.json records) and the kept candidate's run, weights
    included, when it was trained in this call (None when it was read back). Each finished
    candidate is kept as RUN_DIR/candidates/candidate_I.json and read back on resume if it was
    trained with the same schedule.
    """
    config, graph = problem.config, problem.graph
    rows, runs = [], {}
    candidates = draw_candidates(problem, searched, config.candidates)
    with progress_bar(len(candidates), "select candidates", progress) as bar:
        for i, (network, repairs) in enumerate(candidates):
            arch = problem.space.to_arch(network)
            train = config.train_config(arch)
            path = None if run_dir is None else run_dir / "candidates" / f"candidate_{i}.json"
            saved = read_candidate(path) if path is not None and path.exists() else None
            if saved is not None and saved["arch"] == arch.to_dict() and saved.get("train") == asdict(train):
                run = saved
            else:
                runs[i] = train_once(graph, arch, train, problem.split, config.seed, config.threads,
                                     checkpoint=None if path is None else path.with_suffix(".checkpoint.pt"))
                run = {"arch": arch.to_dict(), "train": asdict(train),
                       **{k: v for k, v in asdict(runs[i]).items() if k != "state_dict"}}
                if path is not None:
                    write_json(path, run)
            report = network_cost(problem, network)
            model_bytes = arch.model_size_bits(graph.num_features, graph.num_classes) / 8
            penalty = 0.0 if problem.penalty is None else problem.penalty.exact(
                report.latency_ms, report.peak_buffer_bytes, model_bytes)
            rows.append({"network": network, "repairs": repairs, "arch": run["arch"], "val_acc": run["val_acc"],
                         "latency_ms": report.latency_ms, "peak_buffer_bytes": report.peak_buffer_bytes,
                         "model_bytes": model_bytes, "penalty": penalty, "score": 1.0 - run["val_acc"] + penalty,
                         "seconds": run["seconds"]})
            leader = min(range(len(rows)), key=lambda k: (rows[k]["score"], k))
            runs = {k: run for k, run in runs.items() if k == leader}  # only the leader's weights stay in memory
            bar.update(1)
    # the argmax is always a candidate, so the loop ran and `leader` is the kept one
    return {"chosen": leader, "candidates": rows, "select_s": sum(row["seconds"] for row in rows)}, runs.get(leader)
