"""Hypothesis strategies for hwsim tests: random graphs, targets and architectures."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from hwsim.graph import Graph
from hwsim.network import (
    ACTIVATION_QUANTS,
    AGGREGATIONS,
    ATTENTIONS,
    HEAD_COUNTS,
    WEIGHT_QUANTS,
    ArchSpec,
    LayerSpec,
    QuantSpec,
    has_coefficients,
)
from hwsim.target import parse_target


@st.composite
def graphs(draw, max_nodes: int = 60, max_edges: int = 300, with_features: bool | None = None) -> Graph:
    """A random directed graph with skewed degrees and, optionally, sparse features."""
    n = draw(st.integers(2, max_nodes))
    e = draw(st.integers(0, max_edges))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    weights = rng.pareto(1.5, n) + 1e-3  # power-law popularity
    src = rng.choice(n, size=e, p=weights / weights.sum())
    dst = rng.integers(0, n, size=e)
    width = draw(st.integers(1, 40))
    features = draw(st.booleans()) if with_features is None else with_features
    nnz = rng.integers(0, width + 1, size=n) if features else None
    return Graph.from_edge_index(np.stack([src, dst]), n, width, nnz)


def target_dict(**overrides) -> dict:
    base = {
        "schema_version": 1, "name": "test", "clock_mhz": 200.0, "dram_gbps": 10.0, "bram_kib": 64.0,
        "uram_kib": 0.0, "dsp": 100000, "lut": 100000, "pe_rows": 4, "pe_cols": 8, "agg_lanes": 4,
        "datapath_bits": 128, "overlap": True, "zero_skipping": True, "buffer_policy": "lru",
        "buffers": {"message": 0.5, "weight": 0.2, "feature": 0.2, "output": 0.1},
        "packing": {"dsp_macs": {4: 4, 8: 2, 16: 1, 32: 0.5}, "lut_per_mac": {1: 2.5, 2: 8}, "lut_fraction": 0.5},
    }
    base.update(overrides)
    return base


@st.composite
def targets(draw, dataflows: tuple[str, ...] = ("pipelined",), column_reuse: tuple[bool, ...] = (False, True)):
    """A random valid target; on-chip memory is small so buffers overflow on small graphs too.
    `dataflows`: per_fold adds fill and drain per fold, so a larger array can be slower there (as
    in SCALE-Sim): the monotone laws hold for pipelined targets, the references for both."""
    data = target_dict(
        dataflow=draw(st.sampled_from(dataflows)), column_reuse=draw(st.sampled_from(column_reuse)),
        dram_efficiency=draw(st.sampled_from([1.0, 0.7])), dram_burst_bytes=draw(st.sampled_from([1, 32, 64])),
        clock_mhz=draw(st.sampled_from([100.0, 250.0, 400.0])),
        dram_gbps=draw(st.sampled_from([1.0, 12.8, 77.0])),
        bram_kib=draw(st.sampled_from([0.0, 0.5, 2.0, 16.0, 512.0])),
        pe_rows=draw(st.integers(1, 16)), pe_cols=draw(st.integers(1, 32)),
        agg_lanes=draw(st.integers(1, 32)), datapath_bits=draw(st.sampled_from([32, 64, 256, 512])),
        overlap=draw(st.booleans()), zero_skipping=draw(st.booleans()),
        buffer_policy=draw(st.sampled_from(["lru", "degree"])),
        lut=draw(st.sampled_from([50000, 500000])),  # enough that the LUT engine beats 4-bit DSPs
    )
    return parse_target(data)


@st.composite
def layers(draw, last: bool) -> LayerSpec:
    attention = draw(st.sampled_from(ATTENTIONS))
    quant = QuantSpec(draw(st.sampled_from(WEIGHT_QUANTS)), draw(st.sampled_from(ACTIVATION_QUANTS)),
                      draw(st.sampled_from(ACTIVATION_QUANTS)),
                      draw(st.sampled_from(ACTIVATION_QUANTS)) if has_coefficients(attention) else None)
    return LayerSpec(attention, draw(st.sampled_from(AGGREGATIONS)), "identity" if last else "relu",
                     None if last else draw(st.sampled_from([8, 16, 32])), draw(st.sampled_from(HEAD_COUNTS)), quant)


@st.composite
def archs(draw) -> ArchSpec:
    depth = draw(st.integers(1, 3))
    return ArchSpec(tuple(draw(layers(last=i == depth - 1)) for i in range(depth)))
