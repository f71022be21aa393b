"""Per-layer cost tables over a layer's discrete choices, filled by hwsim's kernels.

A layer's combination phase depends on (previous hidden, previous heads, hidden, heads,
weight bits, feature bits, message bits) and its aggregation phase on (hidden, heads,
attention, weight bits, message bits, attention bits); the layer's on-chip footprint on
(hidden, heads, attention, message bits, attention bits); its parameter bits (the model size)
on (previous hidden, previous heads, hidden, heads, attention, weight bits). The first layer has
no previous choices and the last no hidden choice (its width is the class count), so those axes
are dropped. Every entry is computed by the same code `hwsim.simulate` and
`ArchSpec.model_size_bits` use, so the table of a one-hot choice is exactly the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim import _kernels as kernels
from hwsim.graph import Graph
from hwsim.network import ATTENTION_VECTOR_COUNTS, ATTENTIONS, HEAD_COUNTS, HIDDEN_SIZES, QUANT_BITS, layer_model_bits
from hwsim.target import OPERAND_BITS, Target


@dataclass(frozen=True)
class CostTable:
    """A cost tensor and the choice each axis indexes: ("prev", "hidden") or ("self", "q.weight")."""

    values: np.ndarray
    axes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LayerTables:
    """Latency (ms) and DRAM bytes of both phases, the footprint (bytes) and the parameter bits of
    one layer."""

    combination_ms: CostTable
    combination_dram: CostTable
    aggregation_ms: CostTable
    aggregation_dram: CostTable
    footprint: CostTable
    model_bits: CostTable

    def all(self) -> tuple[CostTable, ...]:
        return (self.combination_ms, self.combination_dram, self.aggregation_ms, self.aggregation_dram,
                self.footprint, self.model_bits)


def _bits(options: tuple[str, ...]) -> np.ndarray:
    return np.array([QUANT_BITS[o] for o in options], dtype=np.int64)


def build_tables(graph: Graph, target: Target, num_classes: int, depth: int, weight_quants: tuple[str, ...],
                 activation_quants: tuple[str, ...]) -> list[LayerTables]:
    """The cost tables of every layer of a `depth`-layer search space on one graph and target."""
    policy = kernels.POLICY_DEGREE if target.buffer_policy == "degree" else kernels.POLICY_LRU
    miss_curve = graph.miss_curve(target.buffer_policy)
    columns = np.zeros(max(OPERAND_BITS) + 1)
    for bits in OPERAND_BITS:
        columns[bits] = target.columns_per_pass(bits)
    w_bits, a_bits = _bits(weight_quants), _bits(activation_quants)
    hidden = np.array(HIDDEN_SIZES, dtype=np.int64)
    heads = np.array(HEAD_COUNTS, dtype=np.int64)
    widths = (hidden[:, None] * heads[None, :]).reshape(-1)  # (hidden, heads) flattened
    attentions = np.arange(len(ATTENTIONS), dtype=np.int64)
    clock_khz = target.clock_mhz * 1e3
    zero_skip = target.zero_skipping and graph.feature_nnz is not None
    tables = []
    for layer in range(depth):
        first, last = layer == 0, layer == depth - 1
        in_widths = np.array([graph.num_features], dtype=np.int64) if first else widths
        per_heads = np.array([num_classes], dtype=np.int64) if last else hidden
        out_widths = (per_heads[:, None] * heads[None, :]).reshape(-1)
        c_cycles, c_dram = kernels.combination_table(
            graph.num_nodes, in_widths, out_widths, w_bits, a_bits, a_bits, columns, first, first and zero_skip,
            graph.feature_nnz_total, graph.feature_nnz_max_row, target.pe_rows, target.buffer_bytes("weight"),
            target.buffer_bytes("feature"), target.buffer_bytes("message"), policy, target.dram_bytes_per_cycle,
            target.overlap, target.index_bytes, target.fold_fill_cycles,
            target.column_reuse)
        a_cycles, a_dram, foot = kernels.aggregation_table(
            graph.num_nodes, graph.num_edges, graph.max_in_degree, per_heads, heads, attentions, w_bits, a_bits,
            a_bits, last, miss_curve, policy, target.buffer_bytes("message"), target.buffer_bytes("output"),
            target.agg_lanes, target.datapath_bits, target.dram_bytes_per_cycle, target.overlap,
            target.onchip_bytes, target.accumulator_bits, target.index_bytes, target.dram_burst_bytes)
        quant = (("self", "q.weight"), ("self", "q.feature"), ("self", "q.message"))
        prev = () if first else (("prev", "hidden"), ("prev", "heads"))
        own = (("self", "heads"),) if last else (("self", "hidden"), ("self", "heads"))
        comb_shape = (() if first else (len(hidden), len(heads))) + (len(per_heads), len(heads)) + c_cycles.shape[2:]
        agg_axes = own + (("self", "attention"), ("self", "q.weight"), ("self", "q.message"), ("self", "q.attention"))
        foot_axes = own + (("self", "attention"), ("self", "q.message"), ("self", "q.attention"))
        if last:  # the last layer's single "hidden" (class count) axis goes
            a_cycles, a_dram, foot = a_cycles[0], a_dram[0], foot[0]
        tables.append(LayerTables(
            combination_ms=CostTable(_drop_last_hidden(c_cycles.reshape(comb_shape), first, last) / clock_khz,
                                     prev + own + quant),
            combination_dram=CostTable(_drop_last_hidden(c_dram.reshape(comb_shape), first, last), prev + own + quant),
            aggregation_ms=CostTable(a_cycles / clock_khz, agg_axes),
            aggregation_dram=CostTable(a_dram, agg_axes),
            footprint=CostTable(foot, foot_axes),
            model_bits=CostTable(_model_bits(in_widths, per_heads, heads, w_bits, weight_quants, first, last),
                                 prev + own + (("self", "attention"), ("self", "q.weight")))))
    return tables


def _model_bits(in_widths: np.ndarray, per_heads: np.ndarray, heads: np.ndarray, w_bits: np.ndarray,
                weight_quants: tuple[str, ...], first: bool, last: bool) -> np.ndarray:
    """layer_model_bits over [input width, per-head width, heads, attention, weight option], the
    input axis split into (previous hidden, previous heads) and the last layer's per-head axis
    (the class count) dropped, as the other tables."""
    vectors = np.array([ATTENTION_VECTOR_COUNTS[a] for a in ATTENTIONS], dtype=np.int64)
    scaled = np.array([o != "f32" for o in weight_quants])
    bits = layer_model_bits(in_widths[:, None, None, None, None], per_heads[None, :, None, None, None],
                            heads[None, None, :, None, None], vectors[None, None, None, :, None],
                            w_bits[None, None, None, None, :], scaled[None, None, None, None, :], last)
    bits = bits[0] if first else bits.reshape(len(HIDDEN_SIZES), len(HEAD_COUNTS), *bits.shape[1:])
    if last:
        bits = bits[0] if first else bits[:, :, 0]
    return bits.astype(np.float64)


def _drop_last_hidden(values: np.ndarray, first: bool, last: bool) -> np.ndarray:
    """Remove the last layer's size-1 own-hidden axis (it sits after the previous-layer axes)."""
    if not last:
        return values
    return values[0] if first else values[:, :, 0]
