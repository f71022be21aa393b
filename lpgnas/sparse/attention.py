"""Attention over a graph's edges as numba kernels: the GAT score and the softmax over each
target's in-edges.

Why: torch_geometric's softmax is seven passes over the [E, H] scores (a scatter max, two
gathers of per-target values back to the edges, exp, a scatter sum, the division), and as many
in the backward pass; on Amazon Photo (245,812 edges with self-loops, 8 heads) they took about a
fifth of a GAT epoch (torch profiler, one thread). The softmax kernels stream each target's edges
in CSR order, three passes forward (max; exp and sum; division) and two backward. They pay off
where the edges lie in that order (lpgnas.nn.model.with_self_loops sorts them): through a
permutation, the scattered row accesses made them no faster than torch_geometric's. The GAT
score LeakyReLU(l[i] + r[j]) per edge j→i is two gathers forward, and in torch's backward two
index_put accumulations (sort-based on CPU), which took as long as the softmax; here it is one
pass each way.

Inputs are flat and typed: CSR row pointers `indptr` [N+1] and `order` [E] (int64: the edge at
each CSR position, edges grouped by target), per-edge node indices [E] (int64), scores,
coefficients and gradients [E, H] in the edges' own order, per-node values [N, H] (float32 or
float64, C-contiguous). As in torch_geometric's softmax, the sum gets 1e-16. Serial: every run
pins its thread count (docs/design.md §7), and the score's backward scatter stays race-free.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def edge_softmax_forward(indptr, order, score):
    """alpha[e, k] = exp(score[e, k] - m) / (Σ exp(score[·, k] - m) + 1e-16) over the in-edges of
    e's target, m their maximum per head."""
    num_edges, heads = score.shape
    alpha = np.zeros((num_edges, heads), dtype=score.dtype)
    peak = np.empty(heads, dtype=score.dtype)
    total = np.empty(heads, dtype=score.dtype)
    for i in range(indptr.size - 1):
        start, end = indptr[i], indptr[i + 1]
        for k in range(heads):
            peak[k] = -np.inf
            total[k] = 0.0
        for p in range(start, end):
            e = order[p]
            for k in range(heads):
                peak[k] = max(peak[k], score[e, k])
        for p in range(start, end):
            e = order[p]
            for k in range(heads):
                value = np.exp(score[e, k] - peak[k])
                alpha[e, k] = value
                total[k] += value
        for p in range(start, end):
            e = order[p]
            for k in range(heads):
                alpha[e, k] /= total[k] + 1e-16
    return alpha


@njit(cache=True)
def edge_softmax_backward(indptr, order, alpha, grad):
    """The gradient of Σ grad·alpha for the scores: alpha·(grad − Σ alpha·grad), the sum over the
    in-edges of the same target, per head."""
    num_edges, heads = alpha.shape
    grad_score = np.zeros((num_edges, heads), dtype=alpha.dtype)
    inner = np.empty(heads, dtype=alpha.dtype)
    for i in range(indptr.size - 1):
        start, end = indptr[i], indptr[i + 1]
        for k in range(heads):
            inner[k] = 0.0
        for p in range(start, end):
            e = order[p]
            for k in range(heads):
                inner[k] += alpha[e, k] * grad[e, k]
        for p in range(start, end):
            e = order[p]
            for k in range(heads):
                grad_score[e, k] = alpha[e, k] * (grad[e, k] - inner[k])
    return grad_score


@njit(cache=True)
def pair_score_forward(left, right, rows, cols, negative_slope):
    """score[e, k] = LeakyReLU(left[rows[e], k] + right[cols[e], k])."""
    num_edges, heads = rows.size, left.shape[1]
    score = np.empty((num_edges, heads), dtype=left.dtype)
    for e in range(num_edges):
        i, j = rows[e], cols[e]
        for k in range(heads):
            value = left[i, k] + right[j, k]
            score[e, k] = value if value > 0 else value * negative_slope
    return score


@njit(cache=True)
def pair_score_backward(left, right, rows, cols, negative_slope, grad):
    """The gradients of Σ grad·score for left and right (LeakyReLU's slope taken where the sum is
    > 0, as torch does)."""
    num_edges, heads = rows.size, left.shape[1]
    grad_left = np.zeros_like(left)
    grad_right = np.zeros_like(right)
    for e in range(num_edges):
        i, j = rows[e], cols[e]
        for k in range(heads):
            g = grad[e, k] if left[i, k] + right[j, k] > 0 else grad[e, k] * negative_slope
            grad_left[i, k] += g
            grad_right[j, k] += g
    return grad_left, grad_right


# The gene-linear score Σ_c g[h, c]·tanh(left[i, h, c] + right[j, h, c]) per edge j→i and head h
# runs in chunks of edges (lpgnas.sparse.ops.gene_linear_score): the kernels below gather the doubled
# arguments 2a of a chunk in one pass and reduce it in one pass, with torch's vectorised sigmoid
# in between, tanh(a) = 2σ(2a) − 1 being formed inside the kernels. Why not tanh itself: on a
# [4096, 8, 128] chunk, one thread, torch's float32 sigmoid_ took 1.7 ns per value and its tanh_
# 4.5 ns (copy 0.6 ns); numba's scalar tanh 31 ns. The identity loses absolute precision near 0,
# at most 1.8e-7 in float32 over N(0, 9) arguments (tanh_ itself 3e-8; float64 3e-16).


@njit(cache=True)
def gene_linear_arguments(left, right, rows, cols, start, out):
    """out[e - start, h, c] = 2·(left[rows[e], h, c] + right[cols[e], h, c]) for the edges e of the
    chunk that begins at `start` ([chunk, H, C] `out`, written in place)."""
    heads, width = left.shape[1], left.shape[2]
    for e in range(start, start + out.shape[0]):
        i, j = rows[e], cols[e]
        for k in range(heads):
            for c in range(width):
                out[e - start, k, c] = 2.0 * (left[i, k, c] + right[j, k, c])


@njit(cache=True)
def gene_linear_reduce(s, gate, start, score):
    """score[start + e, h] = Σ_c gate[h, c]·tanh for the chunk's sigmoids `s` [chunk, H, C] of the
    doubled arguments (tanh = 2s − 1)."""
    heads, width = s.shape[1], s.shape[2]
    for e in range(s.shape[0]):
        for k in range(heads):
            total = 0.0
            for c in range(width):
                total += gate[k, c] * (2.0 * s[e, k, c] - 1.0)
            score[start + e, k] = total


@njit(cache=True)
def gene_linear_backward(s, gate, grad, rows, cols, start, grad_left, grad_right, grad_gate):
    """Adds one chunk's gradients of Σ grad·score into grad_left, grad_right [N, H, C] and
    grad_gate [H, C]: d/dgate = grad·t, and grad·gate·(1 − t²) to the target's left and the
    source's right row (t = 2s − 1 from the chunk's sigmoids `s`, recomputed)."""
    heads, width = s.shape[1], s.shape[2]
    for e in range(s.shape[0]):
        i, j = rows[start + e], cols[start + e]
        for k in range(heads):
            upstream = grad[start + e, k]
            for c in range(width):
                value = 2.0 * s[e, k, c] - 1.0
                grad_gate[k, c] += upstream * value
                inner = upstream * gate[k, c] * (1.0 - value * value)
                grad_left[i, k, c] += inner
                grad_right[j, k, c] += inner
