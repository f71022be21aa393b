"""The `max` aggregator as numba kernels over the CSR edge list: no [E, H, C] message tensor.

Why: gathering one message per edge and reducing them (torch_geometric's scatter) materialises
E·H·C floats, forward and again in the backward pass; with 8 heads of 256 that is 0.9 GB on
PubMed and 4.3 GB on Coauthor Physics for one sampled path. These kernels stream each target's
in-edges instead and keep only the result and, per output element, how many edges reach the
maximum. The gradient is split evenly among those edges, as torch's amax does, so a tie (frequent
under low-bit quantisation: a 2-bit message takes 4 values) is treated exactly like the
reference (tests/test_spmm.py, tests/test_maxkernels.py).

Inputs are flat and typed: CSR row pointers `indptr` [N+1] and sources `cols` [E] (int64, edges
sorted by target), node features `h` [N, H·C] (heads side by side) and coefficients `alpha`
[E, H] in CSR edge order (float32, C-contiguous; ones where the layer has none). The kernels
are serial: every run pins its thread count (docs/design.md §7), and the backward's scatter into
the sources stays race-free.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _edge_message(h, alpha, p, j, message):
    """message[k·C + c] = alpha[p, k]·h[j, k·C + c]: edge p's message from source j, heads side by side."""
    heads = alpha.shape[1]
    width = h.shape[1] // heads
    for k in range(heads):
        a = alpha[p, k]
        for c in range(width):
            message[k * width + c] = h[j, k * width + c] * a


@njit(cache=True)
def segment_max_forward(indptr, cols, h, alpha):
    """out[i, m] = max over in-edges p of i of alpha[p, k]·h[cols[p], m], m = k·C + c for head k
    (0 with no edges), and count[i, m], the number of edges attaining it.

    h is [N, H·C] (heads side by side), alpha [E, H]. Each edge's message row is formed first,
    then compared with the running row in one contiguous pass (vectorised): with 8 heads of 8
    units, per-head inner loops took 6x longer on Cora.
    """
    num_nodes, size = h.shape
    out = np.zeros((num_nodes, size), dtype=np.float32)
    count = np.zeros((num_nodes, size), dtype=np.int32)
    message = np.empty(size, dtype=np.float32)
    for i in range(num_nodes):
        start, end = indptr[i], indptr[i + 1]
        for p in range(start, end):
            _edge_message(h, alpha, p, cols[p], message)
            if p == start:  # the first edge sets the running maximum
                for m in range(size):
                    out[i, m] = message[m]
                    count[i, m] = 1
            else:
                for m in range(size):
                    value = message[m]
                    best = out[i, m]
                    if value > best:
                        out[i, m] = value
                        count[i, m] = 1
                    elif value == best:
                        count[i, m] += 1
    return out, count


@njit(cache=True)
def segment_max_values(indptr, cols, h, alpha):
    """segment_max_forward's `out` alone, for passes without gradients (the search scores 8 sampled
    paths per architecture step without them): no tie counts, so the running maximum is a
    branch-free, vectorised max."""
    num_nodes, size = h.shape
    out = np.zeros((num_nodes, size), dtype=np.float32)
    message = np.empty(size, dtype=np.float32)
    for i in range(num_nodes):
        start, end = indptr[i], indptr[i + 1]
        for p in range(start, end):
            _edge_message(h, alpha, p, cols[p], message)
            if p == start:
                out[i] = message
            else:  # in place: np.maximum would allocate a row per edge
                for m in range(size):
                    out[i, m] = max(out[i, m], message[m])
    return out


@njit(cache=True)
def segment_max_backward(indptr, cols, h, alpha, out, count, grad):
    """Gradients of Σ grad·out for h and alpha: each output element's gradient goes in equal
    shares to the edges attaining its maximum."""
    num_nodes, size = h.shape
    heads = alpha.shape[1]
    width = size // heads
    grad_h = np.zeros_like(h)
    grad_alpha = np.zeros_like(alpha)
    for i in range(num_nodes):
        for p in range(indptr[i], indptr[i + 1]):
            j = cols[p]
            for k in range(heads):
                a = alpha[p, k]
                total = np.float32(0.0)
                for c in range(width):
                    m = k * width + c
                    if h[j, m] * a == out[i, m]:
                        share = grad[i, m] / np.float32(count[i, m])
                        grad_h[j, m] += share * a
                        total += share * h[j, m]
                grad_alpha[p, k] += total
    return grad_h, grad_alpha
