"""costmodels.expected and hwsim.tables: one-hot expectations equal the simulation exactly."""

import random

import numpy as np
import pytest
import torch
from hw_strategies import graphs, target_dict, targets
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodels.expected import ExpectedCost, one_hot_probs, smooth_max
from hwsim.graph import Graph
from hwsim.simulate import simulate
from hwsim.tables import build_tables
from hwsim.target import parse_target
from lpgnas.search.space import SearchSpace


def random_network(space, rng):
    return [{name: rng.randrange(len(c)) for name, c in space.choices(i).items()} for i in range(space.depth)]


@settings(max_examples=25, deadline=None)
@given(graph=graphs(max_nodes=40, max_edges=150), target=targets(dataflows=("pipelined", "per_fold")),
       depth=st.integers(1, 3),
       classes=st.integers(2, 6), seed=st.integers(0, 1000))
def test_one_hot_expectation_equals_simulation_exactly(graph, target, depth, classes, seed):
    space = SearchSpace(depth=depth)
    cost = ExpectedCost(build_tables(graph, target, classes, depth, space.weight_quants, space.activation_quants))
    rng = random.Random(seed)
    choices = [space.choices(i) for i in range(depth)]
    for _ in range(5):
        network = random_network(space, rng)
        report = simulate(graph, space.to_arch(network), target, classes)
        expected = cost(one_hot_probs(network, choices))
        assert float(expected.latency_ms) == report.latency_ms
        assert float(expected.dram_bytes) == report.dram_bytes
        assert expected.layer_buffer_bytes.tolist() == [layer.buffer_bytes for layer in report.layers]
        assert float(expected.model_bytes) * 8 == space.to_arch(network).model_size_bits(graph.num_features, classes)


def test_expectation_is_the_probability_weighted_mean():
    """Mixing two networks that differ in one choice gives the weighted mean of their costs."""
    graph = Graph.from_edge_index(np.array([[0, 1, 2, 3], [1, 2, 3, 0]]), 4, 6, np.array([1, 2, 0, 3]))
    target = parse_target(target_dict(bram_kib=0.25))
    space = SearchSpace(depth=2)
    cost = ExpectedCost(build_tables(graph, target, 3, 2, space.weight_quants, space.activation_quants))
    choices = [space.choices(i) for i in range(2)]
    a = random_network(space, random.Random(1))
    b = [dict(layer) for layer in a]
    b[0]["q.message"] = (a[0]["q.message"] + 2) % len(space.activation_quants)
    probs = one_hot_probs(a, choices)
    probs[0]["q.message"] = 0.25 * probs[0]["q.message"] + 0.75 * one_hot_probs(b, choices)[0]["q.message"]
    mixed = float(cost(probs).latency_ms)
    la = simulate(graph, space.to_arch(a), target, 3).latency_ms
    lb = simulate(graph, space.to_arch(b), target, 3).latency_ms
    assert mixed == pytest.approx(0.25 * la + 0.75 * lb, rel=1e-12)


def test_smooth_max_bounds():
    values = torch.tensor([100.0, 5000.0, 4000.0], dtype=torch.float64)
    out = float(smooth_max(values, 64.0))
    assert 5000.0 <= out <= 5000.0 + 64.0 * np.log(3)


