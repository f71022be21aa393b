"""Exact simulation of one concrete network on one graph and one target (docs/design.md §5)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from hwsim import _kernels as kernels
from hwsim.graph import Graph
from hwsim.network import ATTENTION_VECTOR_COUNTS, ATTENTIONS, ArchSpec
from hwsim.target import Target


@dataclass(frozen=True)
class Phase:
    """One phase of one layer. Cycles are fractional where DRAM time is (bytes / bytes per cycle)."""

    compute_cycles: float
    memory_cycles: float
    cycles: float
    dram_bytes: int
    macs: int
    clock_mhz: float

    @property
    def latency_ms(self) -> float:
        return self.cycles / (self.clock_mhz * 1e3)

    def to_dict(self) -> dict[str, Any]:
        return {"cycles": math.ceil(self.cycles), "latency_ms": self.latency_ms, "dram_bytes": self.dram_bytes,
                "macs": self.macs, "compute_cycles": math.ceil(self.compute_cycles),
                "memory_cycles": math.ceil(self.memory_cycles)}


# Which on-chip partition holds each of a layer's tensors (the target's `buffers:` fractions).
PARTITION_OF = {"weights": "weight", "features": "feature", "messages": "message", "attention": "message",
                "outputs": "output"}


@dataclass(frozen=True)
class OnChip:
    """What one layer would keep on chip to run without spilling: bytes per tensor at its bit
    width, and the capacity of each partition of the target (attention coefficients share the
    message partition, as the LPGNAS buffer counts them). A tensor whose partition is too small
    streams from DRAM, which the cost model charges; the model writes every layer's output to
    DRAM in any case (on-chip residency is not modelled yet), so an `output` spill costs
    nothing extra. This is the account a designer checks a configuration against."""

    need: dict[str, int]  # weights, features (the layer's input), messages, attention, outputs
    capacity: dict[str, int]  # bytes of each partition: weight, feature, message, output
    device_bytes: int  # the target's whole on-chip memory

    @property
    def by_partition(self) -> dict[str, int]:
        totals = dict.fromkeys(self.capacity, 0)
        for tensor, size in self.need.items():
            totals[PARTITION_OF[tensor]] += size
        return totals

    @property
    def spills(self) -> list[str]:
        """The partitions too small for what they hold."""
        return [name for name, size in self.by_partition.items() if size > self.capacity[name]]

    def to_dict(self) -> dict[str, Any]:
        return {"need_bytes": dict(self.need), "partition_bytes": self.by_partition,
                "capacity_bytes": dict(self.capacity), "spills": self.spills}


@dataclass(frozen=True)
class LayerReport:
    combination: Phase
    aggregation: Phase
    buffer_bytes: int
    edges: int
    misses: int
    buffer_nodes: int
    onchip: OnChip

    @property
    def cycles(self) -> float:
        return self.combination.cycles + self.aggregation.cycles

    @property
    def latency_ms(self) -> float:
        return self.combination.latency_ms + self.aggregation.latency_ms

    @property
    def dram_bytes(self) -> int:
        return self.combination.dram_bytes + self.aggregation.dram_bytes

    @property
    def macs(self) -> int:
        return self.combination.macs + self.aggregation.macs

    @property
    def hit_rate(self) -> float:
        return 1.0 - self.misses / self.edges if self.edges else 1.0

    def to_dict(self) -> dict[str, Any]:
        aggregation = self.aggregation.to_dict()
        aggregation.update(edges=self.edges, hit_rate=self.hit_rate, misses=self.misses,
                           buffer_nodes=self.buffer_nodes)
        return {"cycles": math.ceil(self.cycles), "latency_ms": self.latency_ms, "dram_bytes": self.dram_bytes,
                "buffer_bytes": self.buffer_bytes, "macs": self.macs, "edges": self.edges,
                "hit_rate": self.hit_rate, "combination": self.combination.to_dict(), "aggregation": aggregation,
                "onchip": self.onchip.to_dict()}


@dataclass(frozen=True)
class Report:
    """Full-graph inference of one network: per layer and in total."""

    layers: list[LayerReport] = field(default_factory=list)

    @property
    def cycles(self) -> float:
        return sum(layer.cycles for layer in self.layers)

    @property
    def latency_ms(self) -> float:
        return sum(layer.latency_ms for layer in self.layers)

    @property
    def dram_bytes(self) -> int:
        return sum(layer.dram_bytes for layer in self.layers)

    @property
    def peak_buffer_bytes(self) -> int:
        return max(layer.buffer_bytes for layer in self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def edges(self) -> int:
        return sum(layer.edges for layer in self.layers)

    @property
    def onchip_need_bytes(self) -> int:
        """The on-chip bytes the most demanding layer needs to run without spilling."""
        return max(sum(layer.onchip.need.values()) for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {"cycles": math.ceil(self.cycles), "clock_mhz": self.layers[0].combination.clock_mhz,
                "latency_ms": self.latency_ms, "dram_bytes": self.dram_bytes,
                "peak_buffer_bytes": self.peak_buffer_bytes, "macs": self.macs, "edges": self.edges,
                "onchip_need_bytes": self.onchip_need_bytes, "onchip_bytes": self.layers[0].onchip.device_bytes,
                "fits_onchip": self.onchip_need_bytes <= self.layers[0].onchip.device_bytes,
                "per_layer": [layer.to_dict() for layer in self.layers]}


def simulate(graph: Graph, arch: ArchSpec, target: Target, num_classes: int) -> Report:
    """Simulate `arch` on `graph` and `target`: input features in DRAM to logits in DRAM."""
    layers = []
    policy = kernels.POLICY_DEGREE if target.buffer_policy == "degree" else kernels.POLICY_LRU
    miss_curve = graph.miss_curve(target.buffer_policy)
    widths = arch.widths(graph.num_features, num_classes)
    message_buffer = target.buffer_bytes("message")
    for i, (layer, (in_width, per_head, heads)) in enumerate(zip(arch.layers, widths)):
        first, last = i == 0, i == len(arch.layers) - 1
        width = per_head * heads
        attention = ATTENTIONS.index(layer.attention)
        q = layer.quant
        w_bits, f_bits, m_bits, a_bits = q.bits("weight"), q.bits("feature"), q.bits("message"), q.bits("attention")
        zero_skip = first and target.zero_skipping and graph.feature_nnz is not None
        comb = kernels.combination_phase(
            graph.num_nodes, in_width, width, w_bits, f_bits, m_bits, first, zero_skip,
            graph.feature_nnz_total, graph.feature_nnz_max_row, target.columns_per_pass(max(w_bits, f_bits)),
            target.pe_rows, target.buffer_bytes("weight"), target.buffer_bytes("feature"), message_buffer,
            policy, target.dram_bytes_per_cycle, target.overlap, target.index_bytes, target.fold_fill_cycles,
            target.column_reuse)
        agg = kernels.aggregation_phase(
            graph.num_nodes, graph.num_edges, graph.max_in_degree, width, heads, attention, w_bits, m_bits, a_bits,
            last, per_head, miss_curve, policy, message_buffer, target.buffer_bytes("output"), target.agg_lanes,
            target.datapath_bits, target.dram_bytes_per_cycle, target.overlap, target.accumulator_bits,
            target.index_bytes, target.dram_burst_bytes)
        footprint = kernels.layer_footprint(graph.num_nodes, graph.num_edges, width, heads, m_bits, a_bits,
                                             target.onchip_bytes)
        layers.append(LayerReport(
            combination=Phase(comb[0], comb[1], comb[2], int(comb[3]), int(comb[4]), target.clock_mhz),
            aggregation=Phase(agg[0], agg[1], agg[2], int(agg[3]), int(agg[4]), target.clock_mhz),
            buffer_bytes=int(footprint), edges=graph.num_edges, misses=int(agg[5]), buffer_nodes=int(agg[6]),
            onchip=_onchip(graph, layer, in_width, per_head, heads, last, zero_skip, target)))
    return Report(layers)


def _onchip(graph: Graph, layer, in_width: int, per_head: int, heads: int, last: bool, zero_skip: bool,
            target: Target) -> OnChip:
    """The bytes each of one layer's tensors takes at its bit width (inputs as the combination
    engine reads them: the non-zeros with their column indices where zeros are skipped)."""
    q, width = layer.quant, per_head * heads
    w_bits, f_bits, m_bits, a_bits = q.bits("weight"), q.bits("feature"), q.bits("message"), q.bits("attention")
    if zero_skip:
        index_bits = max(1, math.ceil(math.log2(max(in_width, 2))))
        features = (math.ceil(graph.feature_nnz_total * (f_bits + index_bits) / 8)
                    + (graph.num_nodes + 1) * target.index_bytes)
    else:
        features = math.ceil(graph.num_nodes * in_width * f_bits / 8)
    out_width = per_head if last else width
    need = {"weights": math.ceil((in_width + ATTENTION_VECTOR_COUNTS[layer.attention]) * width * w_bits / 8),
            "features": features,
            "messages": graph.num_nodes * ((width * m_bits + 7) // 8),
            "attention": math.ceil(graph.num_edges * heads * a_bits / 8),
            "outputs": graph.num_nodes * math.ceil(out_width * target.accumulator_bits / 8)}
    capacity = {name: target.buffer_bytes(name) for name in ("weight", "feature", "message", "output")}
    return OnChip(need, capacity, target.onchip_bytes)
