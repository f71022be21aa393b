"""Numba kernels of the accelerator model: the message-buffer simulation and the phase costs.

The module is private to hwsim (nothing outside it imports it; tests/test_layout.py checks):
hwsim.simulate, hwsim.tables and hwsim.graph validate and cast, then call these kernels, which
take flat arrays and scalars and live in this one file so numba's cache sees every change in
their call chain. Plain-Python references of each kernel live in tests/naive.py.

Cost model (docs/design.md §5), one layer = combination (X·W on the PE array) then aggregation
(lanes streaming the CSR edge list through the message buffer):

Combination, operands of b = max(weight bits, feature bits):
    compute = rows · ceil(M / columns_per_pass(b))
              + folds · (pe_rows + pe_cols − 2) with dataflow per_fold, folds = ceil(N / pe_rows) · passes
    (with column_reuse, a layer narrower than the columns works on floor(columns / M) · pe_rows
    nodes at once: pe_rows becomes that in rows and folds)
    rows    = max(ceil(nnz / pe_rows), max row nnz)    zero-skipping layer-1 sparse input
            = ceil(N / pe_rows) · K                     dense input
    dram    = X bytes · (1 if X fits the feature buffer else weight tiles) + W bytes
              + previous layer's output written in this layer's input format (layers > 1)
              + messages written to DRAM (nodes the message buffer does not hold)
Aggregation, M = hidden·heads values per message of m bits, datapath D bits per lane:
    per edge  c_e = ceil(M·m / D) + attention work per edge
    per node  c_n = ceil(M·accumulator bits / D) + attention work per node (finalise)
    compute = max(ceil(E·c_e / lanes), max in-degree · c_e) + ceil(N·c_n / lanes)
    dram    = edge list + misses · message bytes (in whole DRAM bursts) + (destination reads) + (logits)
Each phase takes max(compute, memory) cycles with overlap, else their sum; memory cycles
= DRAM bytes / (bytes per cycle). Lanes share a work queue of destination nodes; their
makespan is modelled by its lower bound, which keeps every law monotone.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from hwsim.network import ATTENTION_VECTOR_COUNTS, ATTENTIONS

# Attention codes, in the order of hwsim.network.ATTENTIONS.
CONST, GCN, GAT, SYM_GAT, COS, LINEAR, GENE_LINEAR = range(7)
# Attention vectors (each hidden·heads long) per attention code, stored with the weights.
ATTENTION_VECTORS = tuple(ATTENTION_VECTOR_COUNTS[name] for name in ATTENTIONS)
POLICY_LRU, POLICY_DEGREE = 0, 1


@njit(cache=True)
def _stack_distance_histogram(stream, num_nodes):
    """LRU stack distances of an access stream (Mattson et al. 1970), all capacities in one pass.

    The distance of an access is the number of distinct nodes touched since the previous
    access to the same node, itself included: the access hits in an LRU buffer of c nodes
    iff distance <= c. A Fenwick tree over time marks each node's latest access, so the
    distinct count between two times is a range sum. O(E log E).

    Returns:
        hist: int64 [num_nodes + 1], hist[d] = accesses at distance d.
        cold: first accesses (no previous access; a miss at every capacity).
    """
    n = stream.size
    tree = np.zeros(n + 1, dtype=np.int64)
    last = np.full(num_nodes, -1, dtype=np.int64)
    hist = np.zeros(num_nodes + 1, dtype=np.int64)
    cold = 0
    for t in range(n):
        node = stream[t]
        prev = last[node]
        if prev < 0:
            cold += 1
        else:
            # markers in (prev, t): prefix(t-1) - prefix(prev); tree positions are 1-based
            between = 0
            i = t
            while i > 0:
                between += tree[i]
                i -= i & -i
            i = prev + 1
            while i > 0:
                between -= tree[i]
                i -= i & -i
            hist[between + 1] += 1
            i = prev + 1
            while i <= n:
                tree[i] -= 1
                i += i & -i
        i = t + 1
        while i <= n:
            tree[i] += 1
            i += i & -i
        last[node] = t
    return hist, cold


def lru_miss_curve(stream: np.ndarray, num_nodes: int) -> np.ndarray:
    """misses[c] of an LRU message buffer holding c nodes, for every c = 0..num_nodes."""
    stream = np.ascontiguousarray(stream, dtype=np.int64)
    hist, cold = _stack_distance_histogram(stream, np.int64(num_nodes))
    # misses(c) = cold + accesses with distance > c
    beyond = np.concatenate([np.cumsum(hist[::-1])[::-1][1:], np.zeros(1, dtype=np.int64)])
    return (cold + beyond).astype(np.int64)


def static_miss_curve(stream: np.ndarray, num_nodes: int) -> np.ndarray:
    """misses[c] of a static buffer pinning the c most-accessed nodes (ties: lower id first).

    Pinned nodes' messages are written on chip by the combination engine, so they never miss.
    """
    counts = np.bincount(np.asarray(stream, dtype=np.int64), minlength=num_nodes)
    order = np.argsort(-counts, kind="stable")
    held = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(counts[order])])
    return (counts.sum() - held).astype(np.int64)


@njit(cache=True)
def _offchip_nodes(num_nodes, capacity, policy):
    """Nodes whose messages live in DRAM: all (LRU, unless every node fits) or the unpinned ones."""
    if capacity >= num_nodes:
        return 0
    if policy == POLICY_DEGREE:
        return num_nodes - capacity
    return num_nodes


@njit(cache=True)
def _message_bytes(width, message_bits):
    return (width * message_bits + 7) // 8


@njit(cache=True)
def combination_phase(num_nodes, in_width, width, weight_bits, feature_bits, message_bits,
                      first_layer, zero_skip, nnz_total, nnz_max_row, columns_per_pass, pe_rows,
                      weight_buffer_bytes, feature_buffer_bytes, message_buffer_bytes, policy,
                      dram_bytes_per_cycle, overlap, index_bytes, fold_fill_cycles, column_reuse):
    """One layer's combination X·W. Returns (compute, memory, cycles, dram bytes, MACs), float64.

    `fold_fill_cycles`: what each fold (pe_rows nodes × one pass of columns) adds to its K
    cycles: 0 when consecutive folds overlap their fill and drain (pipelined), rows + columns − 2
    of the physical array when each fills and drains (SCALE-Sim's K + R + C − 2 per fold).
    `column_reuse`: a layer narrower than the array's columns splits them into
    floor(columns / width) groups, each working on its own pe_rows nodes, instead of leaving
    the spare columns idle (a 7-class output layer on 128 columns uses 7 otherwise).
    """
    passes = math.ceil(width / columns_per_pass)
    groups = int(columns_per_pass // width) if column_reuse and width < columns_per_pass else 1
    parallel_rows = pe_rows * groups
    if zero_skip:
        rows = max(math.ceil(nnz_total / parallel_rows), nnz_max_row)
        index_bits = max(1, math.ceil(math.log2(max(in_width, 2))))
        x_bytes = nnz_total * (feature_bits + index_bits) / 8.0 + (num_nodes + 1) * index_bytes
        macs = nnz_total * width
    else:
        rows = math.ceil(num_nodes / parallel_rows) * in_width
        x_bytes = num_nodes * in_width * feature_bits / 8.0
        macs = num_nodes * in_width * width
    compute = float(rows * passes)
    compute += math.ceil(num_nodes / parallel_rows) * passes * fold_fill_cycles
    w_bytes = in_width * width * weight_bits / 8.0
    weight_tiles = max(1, math.ceil(w_bytes / max(weight_buffer_bytes, 1)))
    x_reads = 1 if x_bytes <= feature_buffer_bytes else weight_tiles
    dram = x_bytes * x_reads + w_bytes
    if not first_layer:
        dram += num_nodes * in_width * feature_bits / 8.0
    capacity = message_buffer_bytes // _message_bytes(width, message_bits)
    dram += _offchip_nodes(num_nodes, capacity, policy) * _message_bytes(width, message_bits)
    dram = float(math.ceil(dram))
    memory = dram / dram_bytes_per_cycle
    cycles = max(compute, memory) if overlap else compute + memory
    return compute, memory, cycles, dram, float(macs)


@njit(cache=True)
def _attention_work(attention, width, heads, message_bits, attention_bits, datapath_bits):
    """(lane cycles per edge, lane cycles per node) of an attention type's coefficient work."""
    d = datapath_bits
    if attention == GAT:
        return math.ceil(4 * heads * attention_bits / d), math.ceil(2 * width * message_bits / d)
    if attention == SYM_GAT:
        return math.ceil(8 * heads * attention_bits / d), math.ceil(2 * width * message_bits / d)
    if attention == LINEAR:
        return math.ceil(3 * heads * attention_bits / d), math.ceil(width * message_bits / d)
    if attention == COS:
        per_edge = math.ceil(width * message_bits / d) + math.ceil(3 * heads * attention_bits / d)
        return per_edge, math.ceil(2 * width * message_bits / d)
    if attention == GENE_LINEAR:
        per_edge = math.ceil(3 * width * attention_bits / d) + math.ceil(3 * heads * attention_bits / d)
        return per_edge, math.ceil(2 * width * message_bits / d)
    return 0, 0  # const, gcn (degree norms fold into the node stage)


@njit(cache=True)
def aggregation_phase(num_nodes, num_edges, max_in_degree, width, heads, attention, weight_bits, message_bits,
                      attention_bits, last_layer, out_width, miss_curve, policy, message_buffer_bytes,
                      output_buffer_bytes, agg_lanes, datapath_bits, dram_bytes_per_cycle, overlap,
                      accumulator_bits, index_bytes, burst_bytes):
    """One layer's aggregation. Returns (compute, memory, cycles, dram bytes, MACs, misses, capacity).

    A miss reads its source's message from DRAM as a transfer of its own, rounded up to whole
    bursts of `burst_bytes` (the streams, edge list and weights, are long enough not to care)."""
    per_node_bytes = _message_bytes(width, message_bits)
    capacity = message_buffer_bytes // per_node_bytes
    misses = 0 if capacity >= num_nodes else miss_curve[capacity]
    offchip = _offchip_nodes(num_nodes, capacity, policy)
    lanes = max(1, min(agg_lanes, output_buffer_bytes // (width * accumulator_bits // 8)))
    att_edge, att_node = _attention_work(attention, width, heads, message_bits, attention_bits, datapath_bits)
    per_edge = math.ceil(width * message_bits / datapath_bits) + att_edge
    per_node = math.ceil(width * accumulator_bits / datapath_bits) + att_node
    compute = float(max(math.ceil(num_edges * per_edge / lanes), max_in_degree * per_edge)
                    + math.ceil(num_nodes * per_node / lanes))
    miss_bytes = -(-per_node_bytes // burst_bytes) * burst_bytes
    dram = (num_edges + num_nodes + 1) * index_bytes + misses * miss_bytes
    dram += math.ceil(ATTENTION_VECTORS[attention] * width * weight_bits / 8.0)  # read by the lanes
    if attention == COS or attention == GENE_LINEAR:
        dram += offchip * per_node_bytes  # the destination's own message, once per node
    if last_layer:
        dram += num_nodes * out_width * accumulator_bits // 8  # logits back to DRAM
    dram = float(dram)
    memory = dram / dram_bytes_per_cycle
    cycles = max(compute, memory) if overlap else compute + memory
    return compute, memory, cycles, dram, float(num_edges * width), misses, capacity


@njit(cache=True)
def layer_footprint(num_nodes, num_edges, width, heads, message_bits, attention_bits, onchip_bytes):
    """min(on-chip bytes, working set): every node's message and every edge's coefficients.

    This is the LPGNAS buffer size (Zhao et al.) capped by what the device holds; weights are
    streamed through their own partition and tiled, so they are not part of it.
    """
    working = num_nodes * _message_bytes(width, message_bits) + math.ceil(num_edges * heads * attention_bits / 8.0)
    return float(min(onchip_bytes, working))


@njit(cache=True)
def combination_table(num_nodes, in_widths, widths, weight_bits, feature_bits, message_bits, columns_by_bits,
                      first_layer, zero_skip, nnz_total, nnz_max_row, pe_rows, weight_buffer_bytes,
                      feature_buffer_bytes, message_buffer_bytes, policy, dram_bytes_per_cycle, overlap,
                      index_bytes, fold_fill_cycles, column_reuse):
    """Cycles and DRAM bytes of `combination_phase` over every combination of the given values.

    Returns two float64 arrays of shape (in widths, widths, weight bits, feature bits, message bits).
    `columns_by_bits[b]` is the target's columns per pass for b-bit operands.
    """
    shape = (in_widths.size, widths.size, weight_bits.size, feature_bits.size, message_bits.size)
    cycles = np.empty(shape)
    dram = np.empty(shape)
    for a in range(shape[0]):
        for b in range(shape[1]):
            for c in range(shape[2]):
                for d in range(shape[3]):
                    cols = columns_by_bits[max(weight_bits[c], feature_bits[d])]
                    for e in range(shape[4]):
                        out = combination_phase(num_nodes, in_widths[a], widths[b], weight_bits[c], feature_bits[d],
                                                 message_bits[e], first_layer, zero_skip, nnz_total, nnz_max_row,
                                                 cols, pe_rows, weight_buffer_bytes, feature_buffer_bytes,
                                                 message_buffer_bytes, policy, dram_bytes_per_cycle, overlap,
                                                 index_bytes, fold_fill_cycles, column_reuse)
                        cycles[a, b, c, d, e] = out[2]
                        dram[a, b, c, d, e] = out[3]
    return cycles, dram


@njit(cache=True)
def aggregation_table(num_nodes, num_edges, max_in_degree, per_heads, heads, attentions, weight_bits,
                      message_bits, attention_bits, last_layer, miss_curve, policy, message_buffer_bytes,
                      output_buffer_bytes, agg_lanes, datapath_bits, dram_bytes_per_cycle, overlap, onchip_bytes,
                      accumulator_bits, index_bytes, burst_bytes):
    """Cycles, DRAM bytes and footprint of `aggregation_phase` over every combination.

    Cycles and DRAM have shape (per-head widths, heads, attentions, weight bits, message bits,
    attention bits); attention types without coefficients use 0 attention bits whatever the
    choice, and types without attention vectors ignore the weight bits. The footprint has
    shape (per-head widths, heads, attentions, message bits, attention bits).
    """
    shape = (per_heads.size, heads.size, attentions.size, weight_bits.size, message_bits.size,
             attention_bits.size)
    cycles = np.empty(shape)
    dram = np.empty(shape)
    footprint = np.empty((shape[0], shape[1], shape[2], shape[4], shape[5]))
    for a in range(shape[0]):
        for b in range(shape[1]):
            width = per_heads[a] * heads[b]
            for c in range(shape[2]):
                has_coefficients = attentions[c] >= GAT
                for d in range(shape[3]):
                    for e in range(shape[4]):
                        for f in range(shape[5]):
                            a_bits = attention_bits[f] if has_coefficients else 0
                            out = aggregation_phase(num_nodes, num_edges, max_in_degree, width, heads[b],
                                                     attentions[c], weight_bits[d], message_bits[e], a_bits,
                                                     last_layer, per_heads[a], miss_curve, policy,
                                                     message_buffer_bytes, output_buffer_bytes, agg_lanes,
                                                     datapath_bits, dram_bytes_per_cycle, overlap,
                                                     accumulator_bits, index_bytes, burst_bytes)
                            cycles[a, b, c, d, e, f] = out[2]
                            dram[a, b, c, d, e, f] = out[3]
                            if d == 0:
                                footprint[a, b, c, e, f] = layer_footprint(num_nodes, num_edges, width, heads[b],
                                                                            message_bits[e], a_bits, onchip_bytes)
    return cycles, dram, footprint
