"""The softmax of attention scores over each target's in-edges, as numba kernels.

Why: torch_geometric's softmax is seven passes over the [E, H] scores (a scatter max, two
gathers of per-target values back to the edges, exp, a scatter sum, the division), and as many
in the backward pass; on Amazon Photo (245,812 edges with self-loops, 8 heads) they took about a
fifth of a GAT epoch (torch profiler, one thread). These kernels stream each target's edges in
CSR order, three passes forward (max; exp and sum; division) and two backward. They pay off
where the edges lie in that order (lpgnas.model.with_self_loops sorts them): through a
permutation, the scattered row accesses made them no faster than torch_geometric's.

Inputs are flat and typed: CSR row pointers `indptr` [N+1] and `order` [E] (int64: the edge at
each CSR position, edges grouped by target), scores, coefficients and gradients [E, H] in the
edges' own order (float32 or float64, C-contiguous). As in torch_geometric's softmax, the sum
gets 1e-16. Serial: every run pins its thread count (DESIGN.md §7).
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
