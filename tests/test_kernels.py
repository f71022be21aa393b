"""Every numba kernel against its plain-Python reference (tests/naive.py) on random graphs."""

import naive
import numpy as np
import pytest
from hw_strategies import archs, graphs, targets
from hypothesis import given, settings
from hypothesis import strategies as st

from hwsim._kernels import _stack_distance_histogram, lru_miss_curve, static_miss_curve
from hwsim.simulate import simulate


@settings(max_examples=60, deadline=None)
@given(graph=graphs())
def test_lru_miss_curve_matches_replay_at_every_capacity(graph):
    curve = lru_miss_curve(graph.indices, graph.num_nodes)
    assert curve.shape == (graph.num_nodes + 1,)
    for capacity in range(graph.num_nodes + 1):
        assert curve[capacity] == naive.lru_misses(graph.indices, capacity)


@settings(max_examples=40, deadline=None)
@given(graph=graphs())
def test_static_miss_curve_matches_replay(graph):
    curve = static_miss_curve(graph.indices, graph.num_nodes)
    for capacity in range(graph.num_nodes + 1):
        assert curve[capacity] == naive.static_misses(graph.indices, graph.num_nodes, capacity)


def test_stack_distances_by_hand():
    # stream a b a c b a: distances -, -, 2, -, 3, 3
    hist, cold = _stack_distance_histogram(np.array([0, 1, 0, 2, 1, 0], dtype=np.int64), 3)
    assert cold == 3 and hist.tolist() == [0, 0, 1, 2]


def test_inclusion_property_larger_buffer_never_misses_more():
    rng = np.random.default_rng(0)
    stream = rng.zipf(1.3, 5000) % 400
    for curve in (lru_miss_curve(stream, 400), static_miss_curve(stream, 400)):
        assert np.all(np.diff(curve) <= 0)


@settings(max_examples=80, deadline=None)
@given(graph=graphs(), target=targets(dataflows=("pipelined", "per_fold")), arch=archs(),
       classes=st.integers(2, 10))
def test_phase_kernels_match_reference(graph, target, arch, classes):
    report = simulate(graph, arch, target, classes)
    widths = arch.widths(graph.num_features, classes)
    for i, (layer, (k, per_head, heads), got) in enumerate(zip(arch.layers, widths, report.layers)):
        first, last = i == 0, i == len(arch.layers) - 1
        m = per_head * heads
        q = layer.quant
        w, f, mb, ab = q.bits("weight"), q.bits("feature"), q.bits("message"), q.bits("attention")
        zero_skip = first and target.zero_skipping and graph.feature_nnz is not None
        comb = naive.combination(
            graph.num_nodes, k, m, w, f, mb, first, zero_skip, graph.feature_nnz_total,
            graph.feature_nnz_max_row, target.columns_per_pass(max(w, f)), target.pe_rows,
            target.buffer_bytes("weight"), target.buffer_bytes("feature"), target.buffer_bytes("message"),
            target.buffer_policy, target.dram_bytes_per_cycle, target.overlap,
            target.pe_rows + target.pe_cols - 2 if target.dataflow == "per_fold" else 0, target.column_reuse)
        agg = naive.aggregation(
            graph.num_nodes, graph.num_edges, graph.max_in_degree, m, heads, layer.attention, w, mb, ab, last,
            per_head, graph.indices, target.buffer_policy, target.buffer_bytes("message"),
            target.buffer_bytes("output"), target.agg_lanes, target.datapath_bits, target.dram_bytes_per_cycle,
            target.overlap, target.dram_burst_bytes)
        c, a = got.combination, got.aggregation
        assert (c.compute_cycles, c.dram_bytes, c.macs) == (comb[0], comb[3], comb[4])
        assert c.memory_cycles == pytest.approx(comb[1], rel=1e-12) and c.cycles == pytest.approx(comb[2], rel=1e-12)
        assert (a.compute_cycles, a.dram_bytes, a.macs, got.misses, got.buffer_nodes) == (
            agg[0], agg[3], agg[4], agg[5], agg[6])
        assert a.cycles == pytest.approx(agg[2], rel=1e-12)
        assert got.buffer_bytes == naive.footprint(graph.num_nodes, graph.num_edges, m, heads, mb, ab,
                                                   target.onchip_bytes)
