"""Differentiable expected hardware cost of a distribution over the search space.

With independent categorical distributions per choice, the expectation of each table is an
exact tensor contraction, e.g. E[C] = einsum('a,b,c,d,e,abcde->', p_hprev, p_h, p_heads,
p_wq, p_fq, C); the expected latency and DRAM traffic are sums over layers and phases
(they run in sequence). The peak buffer is a max over layers, smoothed with log-sum-exp. The
model size is a sum over layers of their parameter bits.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from hwsim.tables import LayerTables

LayerProbs = dict[str, Tensor]


def contract(table: Tensor, axes: tuple[tuple[str, str], ...], probs: list[LayerProbs], layer: int) -> Tensor:
    """E[table] under the layer's (and the previous layer's) choice probabilities."""
    letters = string.ascii_letters[: len(axes)]
    vectors = [probs[layer - 1 if owner == "prev" else layer][name].to(table.dtype) for owner, name in axes]
    return torch.einsum(",".join(letters) + "," + letters + "->", *vectors, table)


def smooth_max(values: Tensor, temperature: float) -> Tensor:
    """temperature · log Σ exp(v / temperature): ≥ max(v), within temperature·log(n) of it."""
    return temperature * torch.logsumexp(values / temperature, dim=0)


@dataclass
class Expected:
    latency_ms: Tensor
    dram_bytes: Tensor
    layer_buffer_bytes: Tensor  # [layers]
    peak_buffer_bytes: Tensor  # smooth max over layers
    model_bytes: Tensor  # parameter bits / 8 (not rounded up to whole bytes, unlike model_size_bytes)


class ExpectedCost(nn.Module):
    """Expected latency, DRAM bytes, buffer and model size of a network drawn from per-choice
    probabilities.

    Args:
        tables: one LayerTables per layer (hwsim.tables.build_tables).
        buffer_temperature_bytes: smoothness of the peak-buffer max, in bytes.
    """

    def __init__(self, tables: list[LayerTables], buffer_temperature_bytes: float = 1024.0) -> None:
        super().__init__()
        self.axes: list[list[tuple]] = []
        for i, layer in enumerate(tables):
            names = ("combination_ms", "combination_dram", "aggregation_ms", "aggregation_dram", "footprint",
                     "model_bits")
            for name, table in zip(names, layer.all()):
                self.register_buffer(f"t{i}_{name}", torch.from_numpy(table.values).to(torch.float64))
            self.axes.append([t.axes for t in layer.all()])
        self.depth = len(tables)
        self.buffer_temperature_bytes = buffer_temperature_bytes

    def table(self, layer: int, name: str) -> Tensor:
        return getattr(self, f"t{layer}_{name}")

    def forward(self, probs: list[LayerProbs]) -> Expected:
        latency = dram = bits = 0.0
        buffers = []
        for i in range(self.depth):
            comb_ms, comb_dram, agg_ms, agg_dram, foot, model_bits = self.axes[i]
            # summed per layer, then over layers: the order hwsim's Report uses, so one-hot is bit-exact
            latency = latency + (contract(self.table(i, "combination_ms"), comb_ms, probs, i)
                                 + contract(self.table(i, "aggregation_ms"), agg_ms, probs, i))
            dram = dram + (contract(self.table(i, "combination_dram"), comb_dram, probs, i)
                           + contract(self.table(i, "aggregation_dram"), agg_dram, probs, i))
            buffers.append(contract(self.table(i, "footprint"), foot, probs, i))
            bits = bits + contract(self.table(i, "model_bits"), model_bits, probs, i)
        layer_buffers = torch.stack(buffers)
        return Expected(latency, dram, layer_buffers, smooth_max(layer_buffers, self.buffer_temperature_bytes),
                        bits / 8)

    def lower_bounds(self) -> tuple[float, float]:
        """(latency ms, peak buffer bytes) no network of the space can beat.

        Latency: Σ over phases of each table's minimum (phases share choices, so this may not be
        reached). Peak buffer: max over layers of each layer's minimum footprint (exact: the
        footprints of different layers depend on different choices).
        """
        latency = sum(float(self.table(i, n).min()) for i in range(self.depth)
                      for n in ("combination_ms", "aggregation_ms"))
        buffer = max(float(self.table(i, "footprint").min()) for i in range(self.depth))
        return latency, buffer


def one_hot_probs(network: list[dict[str, int]], choices: list[dict[str, tuple]]) -> list[LayerProbs]:
    """Probabilities that put all mass on one network (to check expectations against simulate)."""
    out = []
    for picks, layer_choices in zip(network, choices):
        out.append({name: torch.nn.functional.one_hot(torch.tensor(picks[name]), len(cands)).double()
                    for name, cands in layer_choices.items()})
    return out

