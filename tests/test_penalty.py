"""costmodels.penalty: the hardware penalty's terms, checked by hand and in a search step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hw_strategies import target_dict

from costmodels.expected import ExpectedCost
from costmodels.penalty import HardwarePenalty
from hwsim.graph import Graph
from hwsim.tables import build_tables
from hwsim.target import parse_target
from lpgnas.search.space import SearchSpace


def test_penalty_by_hand():
    class Fixed(torch.nn.Module):
        def forward(self, probs):
            from costmodels.expected import Expected
            return Expected(torch.tensor(3.0), torch.tensor(10.0), torch.tensor([8.0]), torch.tensor(8.0),
                            torch.tensor(30.0))

    penalty = HardwarePenalty(Fixed(), reference_latency_ms=2.0, reference_buffer_bytes=4.0, reference_model_bytes=20.0,
                              latency_weight=0.5, buffer_weight=0.25, size_weight=0.1, latency_budget_ms=1.5,
                              buffer_budget_bytes=16.0, budget_weight=2.0)
    loss, details = penalty(torch.tensor(1.0), [])
    # 1 + 0.5·3/2 + 0.25·8/4 + 0.1·30/20 + 2·relu(3/1.5 − 1) + 2·relu(8/16 − 1) = 1 + 0.75 + 0.5 + 0.15 + 2 + 0
    assert float(loss) == pytest.approx(4.40)
    assert details["latency_ms"] == 3.0 and details["model_bytes"] == 30.0
    assert penalty.exact(3.0, 8.0, 30.0) == pytest.approx(3.40)


def test_size_penalty_pulls_the_weight_bits_down():
    """With only the size term, the penalty's gradient moves every layer's weight-width
    probability towards fewer bits, and its value is the expected size over the reference."""
    graph = Graph.from_edge_index(np.array([[0, 1, 2, 3], [1, 2, 3, 0]]), 4, 6, np.array([1, 2, 0, 3]))
    space = SearchSpace(depth=2)
    cost = ExpectedCost(build_tables(graph, parse_target(target_dict()), 3, 2, space.weight_quants,
                                     space.activation_quants))
    penalty = HardwarePenalty(cost, 1.0, 1.0, reference_model_bytes=100.0, size_weight=1.0)
    logits = [{name: torch.zeros(len(c), dtype=torch.float64, requires_grad=True)
               for name, c in space.choices(i).items()} for i in range(2)]
    loss, details = penalty(torch.zeros((), dtype=torch.float64), [{k: v.softmax(0) for k, v in layer.items()}
                                                                   for layer in logits])
    assert float(loss.detach()) == pytest.approx(details["model_bytes"] / 100.0)
    loss.backward()
    for layer in logits:
        grad = layer["q.weight"].grad.tolist()  # candidates ordered from narrowest to widest
        assert grad == sorted(grad) and grad[0] < 0 < grad[-1]
