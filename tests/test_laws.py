"""The cost model's laws as property tests (docs/design.md §5, issue 3)."""

from dataclasses import replace

import pytest
from hw_strategies import archs, graphs, target_dict, targets
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from hwsim.network import ACTIVATION_QUANTS, QUANT_BITS, WEIGHT_QUANTS, ArchSpec
from hwsim.simulate import simulate
from hwsim.target import parse_target

LAW = settings(max_examples=200, deadline=None)


def wider(options, current, draw):
    """A strictly wider option than `current`, if any."""
    candidates = [o for o in options if QUANT_BITS[o] > QUANT_BITS[current]]
    return draw(st.sampled_from(candidates)) if candidates else None


@LAW
@given(graph=graphs(), target=targets(dataflows=("pipelined", "per_fold")), arch=archs(), data=st.data())
def test_more_bits_never_cost_fewer_cycles_or_bytes(graph, target, arch, data):
    index = data.draw(st.integers(0, len(arch.layers) - 1))
    layer = arch.layers[index]
    components = ["weight", "feature", "message"] + (["attention"] if layer.quant.attention else [])
    component = data.draw(st.sampled_from(components))
    options = WEIGHT_QUANTS if component == "weight" else ACTIVATION_QUANTS
    option = wider(options, getattr(layer.quant, component), data.draw)
    assume(option is not None)
    bigger = replace(layer, quant=replace(layer.quant, **{component: option}))
    wide_arch = ArchSpec(arch.layers[:index] + (bigger,) + arch.layers[index + 1:])
    narrow, wide = simulate(graph, arch, target, 3), simulate(graph, wide_arch, target, 3)
    assert wide.cycles >= narrow.cycles
    assert wide.dram_bytes >= narrow.dram_bytes
    assert wide.peak_buffer_bytes >= narrow.peak_buffer_bytes
    for a, b in zip(narrow.layers, wide.layers):
        assert b.buffer_bytes >= a.buffer_bytes
    # the model size too (an f32 tensor has no scale, but every layer of the space is wide enough
    # that 16 more bits per weight outweigh it)
    assert wide_arch.model_size_bits(graph.num_features, 3) >= arch.model_size_bits(graph.num_features, 3)


@LAW
@given(graph=graphs(), target=targets(dataflows=("pipelined", "per_fold")), arch=archs(),
       factor=st.sampled_from([1.5, 2, 4, 64]))
def test_larger_buffer_never_more_dram_traffic(graph, target, arch, factor):
    bigger = target.with_changes(bram_kib=max(target.bram_kib, 0.25) * factor)
    assert simulate(graph, arch, bigger, 3).dram_bytes <= simulate(graph, arch, target, 3).dram_bytes


@LAW
@given(graph=graphs(), target=targets(), arch=archs(),
       change=st.sampled_from(["pe_rows", "pe_cols", "lut", "agg_lanes", "dram_gbps", "clock_mhz", "datapath_bits"]),
       factor=st.sampled_from([2, 3, 8]))
def test_more_hardware_never_more_latency(graph, target, arch, change, factor):
    changes = {change: getattr(target, change) * factor}
    if change == "pe_rows":
        # More rows of PEs in every engine: the LUT engine's rows grow with the DSP array's, which
        # takes proportionally more LUTs. With the LUTs fixed, more rows only reshape the LUT
        # engine (fewer columns each), which may well be slower on a graph of a few nodes.
        changes["lut"] = target.lut * factor
    faster = target.with_changes(**changes)
    before, after = simulate(graph, arch, target, 3), simulate(graph, arch, faster, 3)
    assert after.latency_ms <= before.latency_ms * (1 + 1e-12)
    if change in ("pe_rows", "pe_cols", "lut", "agg_lanes", "datapath_bits"):
        assert after.cycles <= before.cycles


@LAW
@given(graph=graphs(), target=targets(), arch=archs())
def test_latency_respects_the_roofline_and_counts_every_edge(graph, target, arch):
    report = simulate(graph, arch, target, 3)
    phases = [p for layer in report.layers for p in (layer.combination, layer.aggregation)]
    compute_ms = sum(p.compute_cycles for p in phases) / (target.clock_mhz * 1e3)
    dram_ms = report.dram_bytes / (target.dram_gbps * 1e9) * 1e3
    assert report.latency_ms >= compute_ms * (1 - 1e-12)
    assert report.latency_ms >= dram_ms * (1 - 1e-9)
    for layer in report.layers:
        assert layer.edges == graph.num_edges
        assert 0.0 <= layer.hit_rate <= 1.0
        assert layer.combination.cycles >= max(layer.combination.compute_cycles, layer.combination.memory_cycles)


@pytest.mark.parametrize("overlap", [True, False])
def test_overlap_takes_the_max_and_serial_the_sum(overlap):
    import numpy as np

    from hwsim.graph import Graph
    from hwsim.network import parse_arch

    graph = Graph.from_edge_index(np.array([[0, 1, 2], [1, 2, 0]]), 3, 4)
    arch = parse_arch({"layers": [{"attention": "const", "aggregation": "sum", "heads": 1,
                                   "quant": {"weight": "q8", "feature": "q8", "message": "q8"}}]})
    report = simulate(graph, arch, parse_target(target_dict(overlap=overlap)), 2)
    for phase in (report.layers[0].combination, report.layers[0].aggregation):
        expected = (max if overlap else sum)([phase.compute_cycles, phase.memory_cycles])
        assert phase.cycles == pytest.approx(expected)


@settings(max_examples=60, deadline=None)
@given(graph=graphs(), target=targets(), arch=archs())
def test_filling_and_draining_each_fold_never_speeds_a_layer_up(graph, target, arch):
    """per_fold adds pe_rows + pe_cols − 2 cycles to every fold of the combination, nothing else."""
    pipelined = simulate(graph, arch, target, 4)
    per_fold = simulate(graph, arch, target.with_changes(dataflow="per_fold"), 4)
    for a, b in zip(pipelined.layers, per_fold.layers):
        assert b.combination.compute_cycles >= a.combination.compute_cycles
        assert b.combination.dram_bytes == a.combination.dram_bytes and b.aggregation == a.aggregation
    assert per_fold.latency_ms >= pipelined.latency_ms


@settings(max_examples=60, deadline=None)
@given(graph=graphs(), target=targets(dataflows=("pipelined", "per_fold"), column_reuse=(False,)), arch=archs())
def test_reusing_spare_columns_never_slows_a_layer_down(graph, target, arch):
    """column_reuse only puts idle columns to work: compute never rises, DRAM traffic is the same."""
    plain = simulate(graph, arch, target, 4)
    reused = simulate(graph, arch, target.with_changes(column_reuse=True), 4)
    for a, b in zip(plain.layers, reused.layers):
        assert b.combination.compute_cycles <= a.combination.compute_cycles
        assert b.combination.dram_bytes == a.combination.dram_bytes and b.aggregation == a.aggregation
    assert reused.latency_ms <= plain.latency_ms


@settings(max_examples=60, deadline=None)
@given(graph=graphs(), target=targets(), arch=archs(), efficiency=st.sampled_from([0.25, 0.5, 0.9]),
       burst=st.sampled_from([16, 64, 256]))
def test_dram_realism_never_speeds_a_network_up(graph, target, arch, efficiency, burst):
    """A lower sustained efficiency never lowers latency; a wider burst never fewer DRAM bytes."""
    ideal = target.with_changes(dram_efficiency=1.0, dram_burst_bytes=1)
    base = simulate(graph, arch, ideal, 4)
    slower = simulate(graph, arch, ideal.with_changes(dram_efficiency=efficiency), 4)
    bursty = simulate(graph, arch, ideal.with_changes(dram_burst_bytes=burst), 4)
    assert slower.latency_ms >= base.latency_ms and slower.dram_bytes == base.dram_bytes
    assert bursty.dram_bytes >= base.dram_bytes and bursty.latency_ms >= base.latency_ms
