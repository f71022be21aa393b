"""Slow, obvious references for the numba kernels (compared on random inputs in test_kernels)."""

from __future__ import annotations

import math
from collections import OrderedDict

ATTENTION_VECTORS = {"const": 0, "gcn": 0, "gat": 2, "sym-gat": 2, "cos": 2, "linear": 1, "gene-linear": 3}


def lru_misses(stream, capacity: int) -> int:
    """Replay the stream through an LRU buffer of `capacity` nodes and count misses."""
    buffer: OrderedDict[int, None] = OrderedDict()
    misses = 0
    for node in stream:
        node = int(node)
        if node in buffer:
            buffer.move_to_end(node)
            continue
        misses += 1
        if capacity == 0:
            continue
        if len(buffer) >= capacity:
            buffer.popitem(last=False)
        buffer[node] = None
    return misses


def static_misses(stream, num_nodes: int, capacity: int) -> int:
    """Pin the `capacity` most-read nodes (ties to the lower id); every other read misses."""
    counts = [0] * num_nodes
    for node in stream:
        counts[int(node)] += 1
    pinned = set(sorted(range(num_nodes), key=lambda v: (-counts[v], v))[:capacity])
    return sum(1 for node in stream if int(node) not in pinned)


def message_bytes(width: int, bits: int) -> int:
    return math.ceil(width * bits / 8)


def offchip_nodes(n: int, capacity: int, policy: str) -> int:
    if capacity >= n:
        return 0
    return n - capacity if policy == "degree" else n


def combination(n, k, m, w, f, mb, first, zero_skip, nnz, nnz_max, cols, pe_rows,
                weight_buf, feature_buf, message_buf, policy, bytes_per_cycle, overlap, fill_drain=0,
                column_reuse=False):
    """The combination phase written out by hand from docs/design.md §5."""
    passes = math.ceil(m / cols)
    if column_reuse and m < cols:  # the spare columns take other nodes
        pe_rows = pe_rows * math.floor(cols / m)
    if zero_skip:
        rows = max(math.ceil(nnz / pe_rows), nnz_max)
        index_bits = max(1, math.ceil(math.log2(max(k, 2))))
        x_bytes = nnz * (f + index_bits) / 8 + (n + 1) * 4
        macs = nnz * m
    else:
        rows = math.ceil(n / pe_rows) * k
        x_bytes = n * k * f / 8
        macs = n * k * m
    w_bytes = k * m * w / 8
    tiles = max(1, math.ceil(w_bytes / max(weight_buf, 1)))
    reads = 1 if x_bytes <= feature_buf else tiles
    dram = x_bytes * reads + w_bytes + (0 if first else n * k * f / 8)
    capacity = message_buf // message_bytes(m, mb)
    dram = math.ceil(dram + offchip_nodes(n, capacity, policy) * message_bytes(m, mb))
    compute = rows * passes
    compute += math.ceil(n / pe_rows) * passes * fill_drain  # per fold of pe_rows nodes and one pass
    memory = dram / bytes_per_cycle
    return compute, memory, (max(compute, memory) if overlap else compute + memory), dram, macs


def attention_work(attention, m, heads, mb, ab, d):
    c = math.ceil
    return {
        "const": (0, 0), "gcn": (0, 0),
        "gat": (c(4 * heads * ab / d), c(2 * m * mb / d)),
        "sym-gat": (c(8 * heads * ab / d), c(2 * m * mb / d)),
        "linear": (c(3 * heads * ab / d), c(m * mb / d)),
        "cos": (c(m * mb / d) + c(3 * heads * ab / d), c(2 * m * mb / d)),
        "gene-linear": (c(3 * m * ab / d) + c(3 * heads * ab / d), c(2 * m * mb / d)),
    }[attention]


def aggregation(n, e, max_deg, m, heads, attention, w, mb, ab, last, out_width, stream, policy, message_buf,
                output_buf, lanes, d, bytes_per_cycle, overlap, burst=1):
    """The aggregation phase, replaying the edge stream through the buffer."""
    per_node_bytes = message_bytes(m, mb)
    capacity = message_buf // per_node_bytes
    if capacity >= n:
        misses = 0
    elif policy == "degree":
        misses = static_misses(stream, n, capacity)
    else:
        misses = lru_misses(stream, capacity)
    lanes = max(1, min(lanes, output_buf // (m * 4)))
    att_edge, att_node = attention_work(attention, m, heads, mb, ab, d)
    per_edge = math.ceil(m * mb / d) + att_edge
    per_node = math.ceil(m * 32 / d) + att_node
    compute = max(math.ceil(e * per_edge / lanes), max_deg * per_edge) + math.ceil(n * per_node / lanes)
    miss_bytes = math.ceil(per_node_bytes / burst) * burst  # each miss a transfer of whole bursts
    dram = (e + n + 1) * 4 + misses * miss_bytes + math.ceil(ATTENTION_VECTORS[attention] * m * w / 8)
    if attention in ("cos", "gene-linear"):
        dram += offchip_nodes(n, capacity, policy) * per_node_bytes
    if last:
        dram += n * out_width * 4
    memory = dram / bytes_per_cycle
    return compute, memory, (max(compute, memory) if overlap else compute + memory), dram, e * m, misses, capacity


def footprint(n, e, m, heads, mb, ab, onchip):
    return min(onchip, n * message_bytes(m, mb) + math.ceil(e * heads * ab / 8))


def segment_max(indptr, cols, h, alpha, grad):
    """max over each target's in-edges of alpha·h per (head, channel), counting the edges that
    reach it, and the gradient of Σ grad·out shared equally among them (float32 arithmetic)."""
    import numpy as np

    nodes, heads, width = h.shape
    out = np.zeros((nodes, heads, width), dtype=np.float32)
    count = np.zeros((nodes, heads, width), dtype=np.int32)
    grad_h, grad_alpha = np.zeros_like(h), np.zeros_like(alpha)
    for i in range(nodes):
        edges = range(indptr[i], indptr[i + 1])
        for k in range(heads):
            for c in range(width):
                values = [alpha[p, k] * h[cols[p], k, c] for p in edges]
                if not values:
                    continue
                out[i, k, c] = max(values)
                count[i, k, c] = values.count(out[i, k, c])
                for p, value in zip(edges, values):
                    if value == out[i, k, c]:
                        share = grad[i, k, c] / np.float32(count[i, k, c])
                        grad_h[cols[p], k, c] += share * alpha[p, k]
                        grad_alpha[p, k] += share * h[cols[p], k, c]
    return out, count, grad_h, grad_alpha


def csr_matmul(indptr, cols, values, dense):
    """S·D, one product at a time."""
    out = [[0.0] * dense.shape[1] for _ in range(len(indptr) - 1)]
    for i in range(len(indptr) - 1):
        for p in range(indptr[i], indptr[i + 1]):
            for c in range(len(out[i])):
                out[i][c] += float(values[p]) * float(dense[cols[p]][c])
    return out


def csr_sampled(indptr, cols, a, b):
    """(A·Bᵀ) at S's positions: each position's dot product written out."""
    out = []
    for i in range(len(indptr) - 1):
        for p in range(indptr[i], indptr[i + 1]):
            out.append(math.fsum(float(x) * float(y) for x, y in zip(a[i], b[cols[p]])))
    return out


def csr_transposed_matmul(indptr, cols, values, grad, num_cols):
    """Sᵀ·G: the transpose written out as a dict of (column, row) -> value, then multiplied."""
    transposed: dict[tuple[int, int], float] = {}
    for i in range(len(indptr) - 1):
        for p in range(indptr[i], indptr[i + 1]):
            transposed[int(cols[p]), i] = transposed.get((int(cols[p]), i), 0.0) + float(values[p])
    width = grad.shape[1]
    out = [[0.0] * width for _ in range(num_cols)]
    for (j, i), value in transposed.items():
        for c in range(width):
            out[j][c] += value * float(grad[i][c])
    return out


def edge_softmax(targets, score, grad):
    """Softmax of score [E][H] over the edges of each target, and the scores' gradient for the
    upstream `grad`, by the definition: d alpha_e / d score_f = alpha_e (δ_ef − alpha_f)."""
    num_edges, heads = len(score), len(score[0]) if len(score) else 0
    alpha = [[0.0] * heads for _ in range(num_edges)]
    grad_score = [[0.0] * heads for _ in range(num_edges)]
    for target in set(int(t) for t in targets):
        group = [e for e in range(num_edges) if int(targets[e]) == target]
        for k in range(heads):
            peak = max(float(score[e][k]) for e in group)
            total = sum(math.exp(float(score[e][k]) - peak) for e in group)
            for e in group:
                alpha[e][k] = math.exp(float(score[e][k]) - peak) / total
            for f in group:
                grad_score[f][k] = sum(float(grad[e][k]) * alpha[e][k] * ((e == f) - alpha[f][k]) for e in group)
    return alpha, grad_score


def pair_score(left, right, rows, cols, negative_slope, grad):
    """LeakyReLU(left[rows[e]] + right[cols[e]]) per edge and head, and the gradients of
    Σ grad·score for left and right, one edge at a time."""
    heads = len(left[0]) if len(left) else 0
    score = [[0.0] * heads for _ in rows]
    grad_left = [[0.0] * heads for _ in left]
    grad_right = [[0.0] * heads for _ in right]
    for e, (i, j) in enumerate(zip(rows, cols)):
        for k in range(heads):
            value = float(left[i][k]) + float(right[j][k])
            slope = 1.0 if value > 0 else negative_slope
            score[e][k] = value * slope
            grad_left[i][k] += float(grad[e][k]) * slope
            grad_right[j][k] += float(grad[e][k]) * slope
    return score, grad_left, grad_right


def gene_linear_score(left, right, gate, rows, cols, grad):
    """Σ_c gate[h][c]·tanh(left[rows[e]][h][c] + right[cols[e]][h][c]) per edge and head, and the
    gradients of Σ grad·score for left, right and gate, one edge at a time."""
    heads, width = len(gate), len(gate[0])
    score = [[0.0] * heads for _ in rows]
    grad_left = [[[0.0] * width for _ in range(heads)] for _ in left]
    grad_right = [[[0.0] * width for _ in range(heads)] for _ in right]
    grad_gate = [[0.0] * width for _ in range(heads)]
    for e, (i, j) in enumerate(zip(rows, cols)):
        for k in range(heads):
            for c in range(width):
                t = math.tanh(float(left[i][k][c]) + float(right[j][k][c]))
                score[e][k] += float(gate[k][c]) * t
                grad_gate[k][c] += float(grad[e][k]) * t
                inner = float(grad[e][k]) * float(gate[k][c]) * (1 - t * t)
                grad_left[i][k][c] += inner
                grad_right[j][k][c] += inner
    return score, grad_left, grad_right, grad_gate


def mixed_quantize(x, probs, options, max_abs):
    """The search's quantiser mixture in plain torch ops, one full tensor per step: Σ_i p_i·r_i·Q_i(x)
    with r_i = <x, Q_i(x)>/‖Q_i(x)‖² (none for f32 or a single option), and the relative squared
    error ‖r_i·Q_i(x) − x‖²/‖x‖² of every option."""
    import torch

    from lpgnas.quant.quantizers import fake_quant

    quantized = [fake_quant(x, option, max_abs) for option in options]
    plain = x.detach().reshape(-1)
    if len(quantized) > 1:
        projected = []
        for option, q in zip(options, quantized):
            flat = q.detach().reshape(-1)
            ratio = torch.dot(plain, flat) / torch.dot(flat, flat).clamp(min=1e-12)
            projected.append(q if option == "f32" else q * ratio)
        quantized = projected
    energy = plain.square().sum().clamp(min=1e-12)
    errors = torch.stack([(q.detach().reshape(-1) - plain).square().sum() / energy for q in quantized])
    return sum(p * q for p, q in zip(probs, quantized)), errors
