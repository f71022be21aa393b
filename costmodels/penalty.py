"""The hardware penalty added to the search loss (docs/design.md §6)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from costmodels.expected import ExpectedCost, LayerProbs


class HardwarePenalty(nn.Module):
    r"""loss' = loss + λ_lat·E[lat]/ref_lat + λ_buf·smax_l E[buf_l]/ref_buf + λ_size·E[size]/ref_size
                     + λ_b·relu(E[lat]/budget_lat − 1) + λ_b·relu(smax_l E[buf_l]/budget_buf − 1)

    ref_lat, ref_buf and ref_size are the latency, peak buffer and model size of a reference
    network (a plain 8-bit GCN of the same depth), so λ is unit-free. Budget terms are present
    only when a budget is. The size term is LPGNAS's own objective (model size), which latency
    barely sees: on Cora 4-bit instead of 8-bit first-layer weights halve the model and save
    2.5 % of the latency (GCN W4A8 vs W8A8 on the ZCU102).

    Args:
        cost: the expected-cost model of the search space on the target.
        reference_latency_ms, reference_buffer_bytes, reference_model_bytes: the normalisers.
        latency_weight, buffer_weight, size_weight: λ_lat, λ_buf and λ_size.
        latency_budget_ms, buffer_budget_bytes: optional hard budgets (hinge).
        budget_weight: λ_b.
    """

    def __init__(self, cost: ExpectedCost, reference_latency_ms: float, reference_buffer_bytes: float,
                 reference_model_bytes: float, latency_weight: float = 0.0, buffer_weight: float = 0.0,
                 size_weight: float = 0.0, latency_budget_ms: float | None = None,
                 buffer_budget_bytes: float | None = None, budget_weight: float = 1.0) -> None:
        super().__init__()
        self.cost = cost
        # Floored at one nanosecond and one byte: on a target without on-chip memory the
        # reference's peak buffer is 0, and so is every network's, so the term is 0, not 0/0.
        self.reference_latency_ms = max(reference_latency_ms, 1e-6)
        self.reference_buffer_bytes = max(reference_buffer_bytes, 1.0)
        self.reference_model_bytes = max(reference_model_bytes, 1.0)
        self.latency_weight = latency_weight
        self.buffer_weight = buffer_weight
        self.size_weight = size_weight
        self.latency_budget_ms = latency_budget_ms
        self.buffer_budget_bytes = buffer_budget_bytes
        self.budget_weight = budget_weight

    def value(self, latency_ms: Tensor, peak_buffer_bytes: Tensor, model_bytes: Tensor) -> Tensor:
        """The penalty of a latency, a peak buffer and a model size (expected or exact)."""
        penalty = self.latency_weight * latency_ms / self.reference_latency_ms \
            + self.buffer_weight * peak_buffer_bytes / self.reference_buffer_bytes \
            + self.size_weight * model_bytes / self.reference_model_bytes
        if self.latency_budget_ms is not None:
            penalty = penalty + self.budget_weight * torch.relu(latency_ms / self.latency_budget_ms - 1)
        if self.buffer_budget_bytes is not None:
            penalty = penalty + self.budget_weight * torch.relu(peak_buffer_bytes / self.buffer_budget_bytes - 1)
        return penalty

    def exact(self, latency_ms: float, peak_buffer_bytes: float, model_bytes: float) -> float:
        """The penalty of one concrete network, from its exact simulation and model size."""
        return float(self.value(*(torch.tensor(v, dtype=torch.float64)
                                  for v in (latency_ms, peak_buffer_bytes, model_bytes))))

    def forward(self, loss: Tensor, probs: list[LayerProbs]) -> tuple[Tensor, dict[str, float]]:
        expected = self.cost(probs)
        penalty = self.value(expected.latency_ms, expected.peak_buffer_bytes, expected.model_bytes)
        details = {"latency_ms": float(expected.latency_ms.detach()),
                   "peak_buffer_bytes": float(expected.peak_buffer_bytes.detach()),
                   "model_bytes": float(expected.model_bytes.detach()),
                   "dram_bytes": float(expected.dram_bytes.detach()), "penalty": float(penalty.detach())}
        return loss + penalty.to(loss.dtype), details
