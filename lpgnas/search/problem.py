"""The validated inputs of a search and its hardware cost model, built before any training."""

from __future__ import annotations

import time
from dataclasses import dataclass

from costmodels.expected import ExpectedCost
from costmodels.penalty import HardwarePenalty
from hwsim.errors import InputError
from hwsim.graph import Graph
from hwsim.network import ArchSpec, parse_arch
from hwsim.simulate import Report, simulate
from hwsim.tables import build_tables
from hwsim.target import Target, load_target
from lpgnas.data import GraphData, load_dataset, resolve_split
from lpgnas.search.config import SearchConfig
from lpgnas.search.space import SearchSpace, parse_quant_choices


@dataclass
class Problem:
    """The validated inputs of a search: data, target, space and the hardware cost model."""

    config: SearchConfig
    graph: GraphData
    hw_graph: Graph  # the same graph as hwsim streams it (its miss curves computed once)
    split: str
    target: Target
    space: SearchSpace
    cost: ExpectedCost
    penalty: HardwarePenalty | None
    reference: Report
    tables_s: float


def reference_arch(depth: int) -> ArchSpec:
    """The normaliser of the penalties: a plain 8-bit GCN (16 hidden) of the same depth."""
    layer = {"attention": "gcn", "aggregation": "sum", "heads": 1,
             "quant": {"weight": "q8", "feature": "q8", "message": "q8"}}
    hidden = {**layer, "activation": "relu", "hidden": 16}
    return parse_arch({"layers": [hidden] * (depth - 1) + [layer]})


def prepare(config: SearchConfig) -> Problem:
    """Validate every input and build the cost model; raises InputError before any training."""
    target = load_target(config.target)
    split = resolve_split(config.dataset, config.split)
    if config.layers < 1:
        raise InputError("argument --layers", "", f"must be at least 1, got {config.layers}")
    if config.candidates < 1:
        raise InputError("argument --candidates", "", f"must be at least 1, got {config.candidates}")
    for name in ("latency_budget_ms", "buffer_budget_kib"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise InputError(f"argument --{name.replace('_', '-')}", "", f"must be positive, got {value}")
    weights, activations = parse_quant_choices(config.quant_choices)
    space = SearchSpace(config.layers, weights, activations)
    graph = load_dataset(config.dataset, config.data_root)
    hw_graph = graph.to_hw()
    start = time.perf_counter()
    tables = build_tables(hw_graph, target, graph.num_classes, config.layers, weights, activations)
    tables_s = time.perf_counter() - start
    cost = ExpectedCost(tables)
    reference_net = reference_arch(config.layers)
    reference = simulate(hw_graph, reference_net, target, graph.num_classes)
    budget_bytes = None if config.buffer_budget_kib is None else config.buffer_budget_kib * 1024
    min_latency, min_buffer = cost.lower_bounds()
    if config.latency_budget_ms is not None and min_latency > config.latency_budget_ms:
        raise InputError("argument --latency-budget-ms", "", f"no network of the space runs in "
                         f"{config.latency_budget_ms} ms on {target.name}; the fastest possible is "
                         f"{min_latency:.4g} ms")
    if budget_bytes is not None and min_buffer > budget_bytes:
        raise InputError("argument --buffer-budget-kib", "", f"no network of the space fits "
                         f"{config.buffer_budget_kib} KiB; the smallest needs {min_buffer / 1024:.4g} KiB")
    penalty = None
    if not config.no_hw:
        reference_model_bytes = reference_net.model_size_bits(graph.num_features, graph.num_classes) / 8
        penalty = HardwarePenalty(cost, reference.latency_ms, reference.peak_buffer_bytes, reference_model_bytes,
                                  config.latency_weight, config.buffer_weight, config.size_weight,
                                  config.latency_budget_ms, budget_bytes, config.budget_weight)
    return Problem(config, graph, hw_graph, split, target, space, cost, penalty, reference, tables_s)


