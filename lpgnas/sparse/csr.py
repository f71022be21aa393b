"""The products S·D and Sᵀ·G of a CSR matrix S with dense matrices, as numba kernels.

Why: torch's CPU products on a CSR tensor are slow where the dense operand is wide, and the
transposed one worst of all. On Amazon Photo's features (7,650 x 745, 35 % non-zero), one
thread, two study workers beside it: S·D at 2,048 columns took 2.1 s in torch and 0.69 s here,
Sᵀ·G (the weight gradient) 14.4 s in torch (CSR of the transpose, whose rows gather 2,650 rows
of G each from main memory) and 0.66 s here, which streams S's rows once and adds into the
[K, W] output, small enough to stay in cache. On Coauthor CS (0.9 % non-zero) at 512 columns:
0.50 s and 0.78 s in torch against 0.23 s and 0.26 s. A search samples first-layer paths up to
8 heads of 256 units, so those widths are common; benchmarks/bench_spmm.py times every case.
The third product, (A·Bᵀ) sampled at S's positions, is torch's sampled_addmm from 8 columns
up (a numba loop took 1.5-8x as long on the edges of Photo and PubMed at 8-256 columns) and
csr_sampled below 8: torch's takes a slow path there, on Coauthor Physics' 8-head blocks (4.2 M
positions) 120-385 ms at 3-7 columns against 36-46 ms at 8, where the loop took 16-66 ms. Those
widths are the last layer's classes per head (PubMed 3, Physics 5, CiteSeer 6, Cora 7), whose
coefficient gradients are sampled products. csr_sampled also serves patterns with repeated
coordinates, which sampled_addmm cannot take.

Inputs are flat and typed: row pointers `indptr` [R+1] and columns `cols` [nnz] (int64, columns
ascending within a row, a coordinate may repeat), `values` [nnz] and C-contiguous dense
matrices of the values' dtype. The kernels are serial (every run pins its thread count,
docs/design.md §7), which keeps the transposed product's scatter race-free.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def csr_matmul(indptr, cols, values, dense):
    """S·D: out[i] = Σ_p values[p]·dense[cols[p]] over row i's positions p."""
    rows, width = indptr.size - 1, dense.shape[1]
    out = np.zeros((rows, width), dtype=dense.dtype)
    for i in range(rows):
        for p in range(indptr[i], indptr[i + 1]):
            v, j = values[p], cols[p]
            for c in range(width):
                out[i, c] += v * dense[j, c]
    return out


@njit(cache=True)
def csr_transposed_matmul(indptr, cols, values, grad, num_cols):
    """Sᵀ·G for S of `num_cols` columns: out[cols[p]] += values[p]·grad[i] over row i's
    positions p, each row of G read once."""
    rows, width = indptr.size - 1, grad.shape[1]
    out = np.zeros((num_cols, width), dtype=grad.dtype)
    for i in range(rows):
        for p in range(indptr[i], indptr[i + 1]):
            v, j = values[p], cols[p]
            for c in range(width):
                out[j, c] += v * grad[i, c]
    return out


@njit(cache=True)
def csr_sampled(indptr, cols, a, b):
    """(A·Bᵀ) at S's positions: out[p] = a[i]·b[cols[p]] for row i's positions p, summed in
    float64 (a and b [R, C] and [K, C] of one dtype)."""
    out = np.empty(cols.size, dtype=a.dtype)
    width = a.shape[1]
    for i in range(indptr.size - 1):
        for p in range(indptr[i], indptr[i + 1]):
            j = cols[p]
            total = 0.0
            for c in range(width):
                total += a[i, c] * b[j, c]
            out[p] = total
    return out
