"""Layer-1 sparse features times a dense weight, in CSR with a cached transpose.

Why: bag-of-words features (Cora: 2708 x 1433, 1.3 % dense) are kept as a coalesced COO tensor
so that only the non-zeros are dropped out, quantised and multiplied (zero-skipping). On CPU,
torch.sparse.mm on COO costs 2.4 ms forward at 16 output columns where the same product in CSR
costs 0.2 ms, and its forward + backward 5.4 ms against 0.6 ms here. The sparsity pattern of
an input never changes during training, so its CSR row pointers and the CSR form of Xᵀ (a
permutation of the values) are computed once per input tensor and reused every epoch
(benchmarks/bench_spmm.py measures both paths side by side).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary


@dataclass(frozen=True)
class SparsePattern:
    """The CSR structure of a coalesced [N, F] COO matrix and of its transpose.

    `row`, `col`: X's COO indices; `crow`: its CSR row pointers (a coalesced COO tensor is
    row-major, so CSR takes the values in COO order).
    `crow_t`, `col_t`, `perm`: Xᵀ in CSR, whose values are X's values[perm].
    """

    shape: tuple[int, int]
    row: Tensor
    crow: Tensor
    col: Tensor
    crow_t: Tensor
    col_t: Tensor
    perm: Tensor


def _csr_pointers(rows: Tensor, count: int) -> Tensor:
    pointers = torch.zeros(count + 1, dtype=torch.long)
    pointers[1:] = torch.cumsum(torch.bincount(rows, minlength=count), 0)
    return pointers


def sparse_pattern(x: Tensor) -> SparsePattern:
    """The pattern of a coalesced sparse COO matrix x."""
    if not x.is_coalesced():
        raise ValueError("sparse_pattern needs a coalesced COO tensor")
    rows, cols = x.indices()
    num_rows, num_cols = x.shape
    perm = torch.argsort(cols * num_rows + rows)  # column-major order: Xᵀ's rows
    return SparsePattern((num_rows, num_cols), rows.contiguous(), _csr_pointers(rows, num_rows), cols.contiguous(),
                         _csr_pointers(cols, num_cols), rows[perm].contiguous(), perm)


# CSR has been "beta" since torch 1.10; the two products used here are covered by tests.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")

_PATTERNS: WeakIdKeyDictionary = WeakIdKeyDictionary()


def cached_pattern(x: Tensor) -> SparsePattern:
    """sparse_pattern(x), computed once per input tensor object (held weakly: freed with x)."""
    pattern = _PATTERNS.get(x)
    if pattern is None:
        pattern = _PATTERNS[x] = sparse_pattern(x)
    return pattern


class _CsrMatmul(torch.autograd.Function):
    """X·W with X given by a pattern and its values; the gradient flows to W only."""

    @staticmethod
    def forward(ctx, pattern: SparsePattern, values: Tensor, weight: Tensor) -> Tensor:
        ctx.pattern = pattern
        ctx.save_for_backward(values)
        csr = torch.sparse_csr_tensor(pattern.crow, pattern.col, values, pattern.shape,
                                      check_invariants=False)
        return csr @ weight

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, None, Tensor | None]:
        (values,) = ctx.saved_tensors
        pattern = ctx.pattern
        if not ctx.needs_input_grad[2]:
            return None, None, None
        transposed = torch.sparse_csr_tensor(pattern.crow_t, pattern.col_t, values[pattern.perm],
                                             (pattern.shape[1], pattern.shape[0]), check_invariants=False)
        return None, None, transposed @ grad.contiguous()


def sparse_matmul(pattern: SparsePattern, values: Tensor, weight: Tensor) -> Tensor:
    """X·W for the sparse X of `pattern` holding `values` (in its COO order).

    Values that need a gradient (the supernet's feature-width mixture in the architecture step)
    take torch.sparse.mm on COO, which differentiates them; the fast path differentiates W only.
    """
    if values.requires_grad:
        x = torch.sparse_coo_tensor(torch.stack([pattern.row, pattern.col]), values, pattern.shape,
                                    is_coalesced=True, check_invariants=False)
        return torch.sparse.mm(x, weight)
    return _CsrMatmul.apply(pattern, values, weight)
