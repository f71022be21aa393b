"""The `max` aggregator as numba kernels over the CSR edge list: no [E, H, C] message tensor.

Why: gathering one message per edge and reducing them (torch_geometric's scatter) materialises
E·H·C floats, forward and again in the backward pass; with 8 heads of 256 that is 0.9 GB on
PubMed and 4.3 GB on Coauthor Physics for one sampled path. These kernels stream each target's
in-edges instead and keep only the result and, per output element, how many edges reach the
maximum. The gradient is split evenly among those edges, as torch's amax does, so a tie (frequent
under low-bit quantisation: a 2-bit message takes 4 values) is treated exactly like the
reference (tests/test_spmm.py, tests/test_maxkernels.py).

Inputs are flat and typed: CSR row pointers `indptr` [N+1] and sources `cols` [E] (int64, edges
sorted by target), messages `h` [N, H, C] and coefficients `alpha` [E, H] in CSR edge order
(float32, C-contiguous; ones where the layer has none). The kernels are serial: every run pins
its thread count (DESIGN.md §7), and the backward's scatter into the sources stays race-free.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def segment_max_forward(indptr, cols, h, alpha):
    """out[i, k, c] = max over in-edges p of i of alpha[p, k]·h[cols[p], k, c] (0 with no edges),
    and count[i, k, c], the number of edges attaining it."""
    num_nodes, heads, width = h.shape
    out = np.zeros((num_nodes, heads, width), dtype=np.float32)
    count = np.zeros((num_nodes, heads, width), dtype=np.int32)
    for i in range(num_nodes):
        start, end = indptr[i], indptr[i + 1]
        if start == end:
            continue
        for p in range(start, end):
            j = cols[p]
            for k in range(heads):
                a = alpha[p, k]
                for c in range(width):
                    value = h[j, k, c] * a
                    if p == start or value > out[i, k, c]:
                        out[i, k, c] = value
                        count[i, k, c] = 1
                    elif value == out[i, k, c]:
                        count[i, k, c] += 1
    return out, count


@njit(cache=True)
def segment_max_backward(indptr, cols, h, alpha, out, count, grad):
    """Gradients of Σ grad·out for h and alpha: each output element's gradient goes in equal
    shares to the edges attaining its maximum."""
    num_nodes, heads, width = h.shape
    grad_h = np.zeros_like(h)
    grad_alpha = np.zeros_like(alpha)
    for i in range(num_nodes):
        for p in range(indptr[i], indptr[i + 1]):
            j = cols[p]
            for k in range(heads):
                a = alpha[p, k]
                total = np.float32(0.0)
                for c in range(width):
                    if h[j, k, c] * a == out[i, k, c]:
                        share = grad[i, k, c] / np.float32(count[i, k, c])
                        grad_h[j, k, c] += share * a
                        total += share * h[j, k, c]
                grad_alpha[p, k] += total
    return grad_h, grad_alpha
