"""Sparse products in CSR with cached patterns: layer-1 features times weights, and aggregation.

Why: bag-of-words features (Cora: 2708 x 1433, 1.3 % dense) are kept as a coalesced COO tensor
so that only the non-zeros are dropped out, quantised and multiplied (zero-skipping). On CPU,
torch.sparse.mm on COO costs 2.4 ms forward at 16 output columns where the same product in CSR
costs 0.2 ms, and its forward + backward 5.4 ms against 0.6 ms here. Aggregation over a graph's
edges is the same product with the adjacency matrix: gathering one message per edge and
scattering it back materialises an [E, H, C] tensor (444 MB for 8 heads of 128 on PubMed)
where the CSR product streams it. The sparsity patterns never change during training, so their
CSR row pointers are computed once per input tensor and reused every epoch. Sᵀ·G, and S·D wider
than TORCH_PRODUCT_MAX_WIDTH, run as numba kernels (lpgnas.sparse.csr says why). The gradient
of the values, needed where they are learnt (attention coefficients, the search's feature-width
mixture), is a sampled dense product at the pattern (torch.sparse.sampled_addmm), again without
an [E, C] tensor; so is the `cos` attention score, a dot product per edge. The `max` aggregator
is no product: it runs as numba kernels over the same CSR edge list (lpgnas.sparse.segment_max), as
does the attention softmax over each target's in-edges (lpgnas.sparse.attention).
benchmarks/bench_spmm.py measures every path against the gather/scatter or COO one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary
from torch_geometric.utils import scatter
from torch_geometric.utils import softmax as pyg_softmax

from lpgnas.sparse.attention import (
    edge_softmax_backward,
    edge_softmax_forward,
    gene_linear_arguments,
    gene_linear_backward,
    gene_linear_reduce,
    pair_score_backward,
    pair_score_forward,
)
from lpgnas.sparse.csr import csr_matmul, csr_sampled, csr_transposed_matmul
from lpgnas.sparse.segment_max import segment_max_backward, segment_max_forward, segment_max_values


@dataclass(frozen=True)
class SparsePattern:
    """The CSR structure of a sparse [R, K] matrix.

    `row`, `col`: the coordinates in row-major order, which is the order of the values;
    `crow`: CSR row pointers. `repeats`: some coordinate occurs more than once (a graph with
    parallel edges; the products sum them, torch's sampled product cannot take them).
    """

    shape: tuple[int, int]
    row: Tensor
    crow: Tensor
    col: Tensor
    repeats: bool


def _csr_pointers(rows: Tensor, count: int) -> Tensor:
    pointers = torch.zeros(count + 1, dtype=torch.long)
    pointers[1:] = torch.cumsum(torch.bincount(rows, minlength=count), 0)
    return pointers


def _pattern(rows: Tensor, cols: Tensor, shape: tuple[int, int]) -> SparsePattern:
    """The pattern of coordinates already in row-major order (columns ascending within a row)."""
    num_rows, num_cols = shape
    keys = rows * num_cols + cols
    repeats = bool((keys[1:] == keys[:-1]).any())
    return SparsePattern(shape, rows.contiguous(), _csr_pointers(rows, num_rows), cols.contiguous(), repeats)


def sparse_pattern(x: Tensor) -> SparsePattern:
    """The pattern of a coalesced sparse COO matrix x."""
    if not x.is_coalesced():
        raise ValueError("sparse_pattern needs a coalesced COO tensor")
    rows, cols = x.indices()
    return _pattern(rows, cols, tuple(x.shape))


# CSR has been "beta" since torch 1.10; the products used here are covered by tests.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")

_PATTERNS: WeakIdKeyDictionary = WeakIdKeyDictionary()


def cached_pattern(x: Tensor) -> SparsePattern:
    """sparse_pattern(x), computed once per input tensor object (held weakly: freed with x)."""
    pattern = _PATTERNS.get(x)
    if pattern is None:
        pattern = _PATTERNS[x] = sparse_pattern(x)
    return pattern


# Sampled products narrower than this run as lpgnas.sparse.csr.csr_sampled (it says why).
SAMPLED_KERNEL_BELOW_WIDTH = 8


def _sampled(pattern: SparsePattern, a: Tensor, b: Tensor) -> Tensor:
    """(A·Bᵀ) at the pattern's positions, in its order: out[k] = A[row_k]·B[col_k]."""
    if pattern.repeats or a.size(1) < SAMPLED_KERNEL_BELOW_WIDTH:  # sampled_addmm cannot take repeats
        dtype = torch.promote_types(a.dtype, b.dtype)
        return torch.from_numpy(csr_sampled(pattern.crow.numpy(), pattern.col.numpy(), _flat(a, dtype),
                                            _flat(b, dtype)))
    ones = torch.sparse_csr_tensor(pattern.crow, pattern.col, torch.ones(pattern.row.numel(), dtype=a.dtype),
                                   pattern.shape, check_invariants=False)
    return torch.sparse.sampled_addmm(ones, a.contiguous(), b.t(), beta=0.0).values()


# S·D at most this wide runs as torch's CSR product (MKL), wider as the numba kernel: at 16
# columns torch took 0.27 ms on Cora's features and 8.8 ms on Coauthor CS's against 0.44 and
# 18.4 ms, at 64 the two were within noise, at 512 torch took 1.6-3x as long (Cora, Photo, CS;
# one thread, two study workers beside it).
TORCH_PRODUCT_MAX_WIDTH = 32


def _flat(x: Tensor, dtype: torch.dtype) -> np.ndarray:
    return x.detach().to(dtype).contiguous().numpy()


def _product(pattern: SparsePattern, values: Tensor, dense: Tensor) -> Tensor:
    """S·D without gradients, in D's dtype."""
    if dense.size(1) <= TORCH_PRODUCT_MAX_WIDTH:
        matrix = torch.sparse_csr_tensor(pattern.crow, pattern.col, values.detach().to(dense.dtype), pattern.shape,
                                         check_invariants=False)
        return matrix @ dense.detach()
    return torch.from_numpy(csr_matmul(pattern.crow.numpy(), pattern.col.numpy(), _flat(values, dense.dtype),
                                       _flat(dense, dense.dtype)))


def _transposed_product(pattern: SparsePattern, values: Tensor, grad: Tensor) -> Tensor:
    """Sᵀ·G without gradients, in G's dtype (always the kernel: torch's transposed CSR product
    gathers a row of G per non-zero, up to 20x slower)."""
    return torch.from_numpy(csr_transposed_matmul(pattern.crow.numpy(), pattern.col.numpy(),
                                                  _flat(values, grad.dtype), _flat(grad, grad.dtype),
                                                  pattern.shape[1]))


class _CsrMatmul(torch.autograd.Function):
    """S·D with S given by a pattern and its values; differentiable in both."""

    @staticmethod
    def forward(ctx, pattern: SparsePattern, values: Tensor, dense: Tensor) -> Tensor:
        ctx.pattern = pattern
        ctx.save_for_backward(values, dense)
        return _product(pattern, values, dense)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, Tensor | None, Tensor | None]:
        values, dense = ctx.saved_tensors
        grad = grad.to(dense.dtype).contiguous()
        # dL/dS[i, j] = grad[i]·D[j], wanted only at the pattern
        grad_values = _sampled(ctx.pattern, grad, dense).to(values.dtype) if ctx.needs_input_grad[1] else None
        grad_dense = _transposed_product(ctx.pattern, values, grad) if ctx.needs_input_grad[2] else None
        return None, grad_values, grad_dense


class _SampledProduct(torch.autograd.Function):
    """(A·Bᵀ) at a pattern's positions; differentiable in A and B."""

    @staticmethod
    def forward(ctx, pattern: SparsePattern, a: Tensor, b: Tensor) -> Tensor:
        ctx.pattern = pattern
        ctx.save_for_backward(a, b)
        return _sampled(pattern, a, b)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, Tensor | None, Tensor | None]:
        a, b = ctx.saved_tensors
        grad_a = _product(ctx.pattern, grad, b) if ctx.needs_input_grad[1] else None
        grad_b = _transposed_product(ctx.pattern, grad, a) if ctx.needs_input_grad[2] else None
        return None, grad_a, grad_b


def sampled_product(pattern: SparsePattern, a: Tensor, b: Tensor) -> Tensor:
    """out[k] = a[row_k]·b[col_k] for the pattern's coordinates (in its order), as one sampled
    dense product: no [nnz, C] tensor of gathered rows."""
    return _SampledProduct.apply(pattern, a, b)


def sparse_matmul(pattern: SparsePattern, values: Tensor, dense: Tensor) -> Tensor:
    """S·D for the sparse S of `pattern` holding `values` (in its row-major order)."""
    return _CsrMatmul.apply(pattern, values, dense)


@dataclass(frozen=True)
class HeadBlocks:
    """H heads' edges as one [N·H, N·H] pattern: edge j→i of head k at row i·H + k, column
    j·H + k, so one CSR product serves every head with its own coefficients.

    `index[p]`: where block position p's value sits in the [E, H] coefficients in CSR edge
    order, flattened (e·H + k); `position` the inverse permutation.
    """

    matrix: SparsePattern
    index: Tensor
    position: Tensor


@dataclass(frozen=True)
class EdgePattern:
    """A graph's edges j→i as the pattern of the [N, N] matrix A[i, j] (rows are the targets).

    `order[k]` is the edge whose value sits at CSR position k, `position` the inverse
    permutation; `inverse_degree` is 1/in-degree per CSR position (the `mean` aggregator's
    weight, with degrees counting every edge). `blocks(H)` is built once per head count.
    """

    matrix: SparsePattern
    order: Tensor
    position: Tensor
    inverse_degree: Tensor
    in_order: bool  # the edges already are in CSR order (lpgnas.nn.model.with_self_loops sorts them)
    _blocks: dict[int, HeadBlocks] = field(default_factory=dict, repr=False, compare=False)

    def to_csr_order(self, values: Tensor) -> Tensor:
        """Per-edge values (edge order) in CSR order."""
        return values if self.in_order else values.index_select(0, self.order)

    def to_edge_order(self, values: Tensor) -> Tensor:
        """Per-edge values in CSR order back in the edges' order."""
        return values if self.in_order else values.index_select(0, self.position)

    def blocks(self, heads: int) -> HeadBlocks:
        if heads not in self._blocks:
            num_nodes, num_edges = self.matrix.shape[0], self.matrix.row.numel()
            k = torch.arange(heads).unsqueeze(1)
            rows = (self.matrix.row * heads + k).reshape(-1)  # [H, E] flattened: k·E + e
            cols = (self.matrix.col * heads + k).reshape(-1)
            order = torch.argsort(rows * (num_nodes * heads) + cols, stable=True)
            index = (order % num_edges) * heads + order // num_edges
            position = torch.empty_like(index)
            position[index] = torch.arange(index.numel())
            size = num_nodes * heads
            self._blocks[heads] = HeadBlocks(_pattern(rows[order], cols[order], (size, size)), index, position)
        return self._blocks[heads]


_EDGE_PATTERNS: WeakIdKeyDictionary = WeakIdKeyDictionary()


def edge_pattern(edge_index: Tensor, num_nodes: int) -> EdgePattern:
    """The edge pattern of `edge_index`, computed once per tensor object and node count."""
    cached = _EDGE_PATTERNS.get(edge_index)
    if cached is not None and cached.matrix.shape[0] == num_nodes:
        return cached
    src, dst = edge_index
    order = torch.argsort(dst * num_nodes + src, stable=True)
    rows, cols = dst[order], src[order]
    degree = torch.bincount(rows, minlength=num_nodes).clamp(min=1).to(torch.float32)
    position = torch.empty_like(order)
    position[order] = torch.arange(order.numel())
    in_order = bool(torch.equal(order, torch.arange(order.numel())))
    pattern = EdgePattern(_pattern(rows, cols, (num_nodes, num_nodes)), order, position, (1.0 / degree)[rows],
                          in_order)
    _EDGE_PATTERNS[edge_index] = pattern
    return pattern


class _SegmentMax(torch.autograd.Function):
    """max over each target's in-edges of α·h (lpgnas.sparse.segment_max); differentiable in h and α."""

    @staticmethod
    def forward(ctx, pattern: SparsePattern, h: Tensor, alpha: Tensor) -> Tensor:
        num_nodes, heads, width = h.shape
        flat, alpha = h.detach().reshape(num_nodes, heads * width).contiguous(), alpha.detach().contiguous()
        out, count = segment_max_forward(pattern.crow.numpy(), pattern.col.numpy(), flat.numpy(), alpha.numpy())
        out, count = torch.from_numpy(out), torch.from_numpy(count)
        ctx.pattern = pattern
        ctx.save_for_backward(flat, alpha, out, count)
        return out.view(num_nodes, heads, width)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, Tensor | None, Tensor | None]:
        flat, alpha, out, count = ctx.saved_tensors
        num_nodes, heads, width = grad.shape
        grad_h, grad_alpha = segment_max_backward(
            ctx.pattern.crow.numpy(), ctx.pattern.col.numpy(), flat.numpy(), alpha.numpy(), out.numpy(),
            count.numpy(), grad.to(torch.float32).reshape(num_nodes, heads * width).contiguous().numpy())
        return (None, torch.from_numpy(grad_h).view(num_nodes, heads, width) if ctx.needs_input_grad[1] else None,
                torch.from_numpy(grad_alpha) if ctx.needs_input_grad[2] else None)


def aggregate(h: Tensor, edge_index: Tensor, alpha: Tensor | None, reduce: str) -> Tensor:
    """out_i = ⊕_{j→i} α_ji · h_j per head, for h [N, H, C], α [E, H] (None: all ones).

    `sum` and `mean` are one CSR product (over the head blocks when every head has its own
    coefficients); `max` streams each target's in-edges in a numba kernel (float32; other
    dtypes gather one message per edge and reduce them with torch_geometric's scatter).
    """
    num_nodes, heads, width = h.shape
    if reduce == "max" and h.dtype != torch.float32:
        src, dst = edge_index
        messages = h[src] if alpha is None else h[src] * alpha.unsqueeze(-1)
        return scatter(messages, dst, dim=0, dim_size=num_nodes, reduce="max")
    if reduce not in ("sum", "mean", "max"):
        raise ValueError(f"Could not resolve aggregation {reduce!r} among choices ['sum', 'mean', 'max']")
    edges = edge_pattern(edge_index, num_nodes)
    if reduce == "max":
        ordered = h.new_ones(edges.order.numel(), heads) if alpha is None else edges.to_csr_order(alpha).to(h.dtype)
        if torch.is_grad_enabled() and (h.requires_grad or ordered.requires_grad):
            return _SegmentMax.apply(edges.matrix, h, ordered)
        out = segment_max_values(edges.matrix.crow.numpy(), edges.matrix.col.numpy(),
                                 h.reshape(num_nodes, heads * width).contiguous().numpy(), ordered.contiguous().numpy())
        return torch.from_numpy(out).view(num_nodes, heads, width)
    scale = edges.inverse_degree if reduce == "mean" else None
    if alpha is None or heads == 1 or alpha.stride(1) == 0:  # one coefficient per edge for every head
        if alpha is None:  # the plain sum or mean: 1 or 1/in-degree per edge
            values = torch.ones_like(edges.inverse_degree) if scale is None else scale
        else:
            values = edges.to_csr_order(alpha[:, 0])
            values = values if scale is None else values * scale
        return sparse_matmul(edges.matrix, values, h.reshape(num_nodes, heads * width)).view(num_nodes, heads, width)
    values = edges.to_csr_order(alpha)
    values = values if scale is None else values * scale.unsqueeze(-1)
    blocks = edges.blocks(heads)
    # index_select, here and for every per-edge permutation: half the time of values[index],
    # forward and backward (Physics' 8-head blocks, 4.2 M values: 12 against 6 ms, 28 against 15)
    out = sparse_matmul(blocks.matrix, values.reshape(-1).index_select(0, blocks.index),
                        h.reshape(num_nodes * heads, width))
    return out.view(num_nodes, heads, width)


class _EdgeSoftmax(torch.autograd.Function):
    """Softmax of [E, H] scores over each target's in-edges (lpgnas.sparse.attention)."""

    @staticmethod
    def forward(ctx, edges: EdgePattern, score: Tensor) -> Tensor:
        crow, order = edges.matrix.crow.numpy(), edges.order.numpy()
        alpha = torch.from_numpy(edge_softmax_forward(crow, order, score.detach().contiguous().numpy()))
        ctx.edges = edges
        ctx.save_for_backward(alpha)
        return alpha

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[None, Tensor]:
        (alpha,) = ctx.saved_tensors
        crow, order = ctx.edges.matrix.crow.numpy(), ctx.edges.order.numpy()
        grad = grad.to(alpha.dtype).contiguous().numpy()
        return None, torch.from_numpy(edge_softmax_backward(crow, order, alpha.numpy(), grad))


def edge_softmax(score: Tensor, edge_index: Tensor, num_nodes: int) -> Tensor:
    """torch_geometric's softmax(score, edge_index[1]): per target and head, over its in-edges,
    for [E, H] float scores (other shapes and dtypes take torch_geometric's)."""
    if score.dim() != 2 or score.dtype not in (torch.float32, torch.float64):
        return pyg_softmax(score, edge_index[1], num_nodes=num_nodes)
    return _EdgeSoftmax.apply(edge_pattern(edge_index, num_nodes), score)


class _PairScore(torch.autograd.Function):
    """LeakyReLU(left[rows] + right[cols]) per edge (lpgnas.sparse.attention)."""

    @staticmethod
    def forward(ctx, left: Tensor, right: Tensor, rows: Tensor, cols: Tensor, negative_slope: float) -> Tensor:
        left, right = left.detach().contiguous(), right.detach().contiguous()
        ctx.save_for_backward(left, right, rows, cols)
        ctx.negative_slope = negative_slope
        return torch.from_numpy(pair_score_forward(left.numpy(), right.numpy(), rows.numpy(), cols.numpy(),
                                                   negative_slope))

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, Tensor, None, None, None]:
        left, right, rows, cols = ctx.saved_tensors
        grad_left, grad_right = pair_score_backward(left.numpy(), right.numpy(), rows.numpy(), cols.numpy(),
                                                    ctx.negative_slope, grad.to(left.dtype).contiguous().numpy())
        return torch.from_numpy(grad_left), torch.from_numpy(grad_right), None, None, None


def pair_score(left: Tensor, right: Tensor, rows: Tensor, cols: Tensor, negative_slope: float) -> Tensor:
    """LeakyReLU(left[rows[e]] + right[cols[e]]) for every edge e, left and right [N, H] (the GAT
    score: rows the targets, cols the sources), without the two gathered [E, H] tensors."""
    if left.dtype not in (torch.float32, torch.float64) or right.dtype != left.dtype:
        return F.leaky_relu(left[rows] + right[cols], negative_slope)
    return _PairScore.apply(left, right, rows.contiguous(), cols.contiguous(), float(negative_slope))


def edge_dot(left: Tensor, right: Tensor, edge_index: Tensor) -> Tensor:
    """score[e, k] = left[i, k]·right[j, k] for every edge e = j→i and head k ([N, H, C] inputs),
    as one sampled product over the head blocks."""
    num_nodes, heads, width = left.shape
    edges = edge_pattern(edge_index, num_nodes)
    if heads == 1:
        scores = sampled_product(edges.matrix, left.reshape(num_nodes, width), right.reshape(num_nodes, width))
        return edges.to_edge_order(scores).unsqueeze(1)
    blocks = edges.blocks(heads)
    scores = sampled_product(blocks.matrix, left.reshape(-1, width), right.reshape(-1, width))
    return edges.to_edge_order(scores.index_select(0, blocks.position).view(-1, heads))


# Edges per chunk of the gene-linear score: the [chunk, H, C] temporaries stay near 16 MB
# (2**22 floats) whatever the width, instead of one [E, H, C] tensor per step. Scores that fit
# one chunk take the plain expression: recomputing tanh costs more than it saves there
# (benchmarks/bench_spmm.py, forward + backward: chunking every call ran 0.3-0.7x at 1x16 and
# 8x8 on Cora with two study workers beside it; at 8x256, idle, 1.5x on Cora, 1.6x on PubMed).
GENE_CHUNK_ELEMENTS = 1 << 22


class _GeneLinearScore(torch.autograd.Function):
    """score[e, h] = Σ_c g[h, c]·tanh(left[i, h, c] + right[j, h, c]) for every edge e = j→i,
    in chunks of edges; the backward pass recomputes tanh per chunk instead of saving it. The
    gathers and reductions are numba kernels (lpgnas.sparse.attention), tanh is 2σ(2a) − 1 with
    torch's sigmoid."""

    @staticmethod
    def forward(ctx, left: Tensor, right: Tensor, gate: Tensor, src: Tensor, dst: Tensor) -> Tensor:
        left, right = left.detach().contiguous(), right.detach().contiguous()
        gate = gate.detach().reshape(left.shape[1:]).contiguous()
        score = np.empty((src.numel(), left.size(1)), dtype=left.numpy().dtype)
        for start, t in _gene_linear_chunks(left, right, src, dst):
            gene_linear_reduce(t, gate.numpy(), start, score)
        ctx.save_for_backward(left, right, gate, src, dst)
        return torch.from_numpy(score)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None, None, None]:
        left, right, gate, src, dst = ctx.saved_tensors
        grad = grad.to(left.dtype).contiguous().numpy()
        grad_left, grad_right = np.zeros_like(left.numpy()), np.zeros_like(right.numpy())
        grad_gate = np.zeros_like(gate.numpy())
        for start, t in _gene_linear_chunks(left, right, src, dst):
            gene_linear_backward(t, gate.numpy(), grad, dst.numpy(), src.numpy(), start, grad_left, grad_right,
                                 grad_gate)
        return (torch.from_numpy(grad_left), torch.from_numpy(grad_right), torch.from_numpy(grad_gate).unsqueeze(0),
                None, None)


def _gene_linear_chunks(left: Tensor, right: Tensor, src: Tensor, dst: Tensor):
    """(first edge, σ(2·(left[dst] + right[src])) as a numpy [chunk, H, C] array) per chunk of
    edges, the kernels' form of tanh; the buffer is reused, so each chunk is to be consumed
    before the next."""
    _, heads, width = left.shape
    chunk = max(1, GENE_CHUNK_ELEMENTS // (heads * width))
    buffer = torch.empty(min(chunk, src.numel()), heads, width, dtype=left.dtype)
    for start in range(0, src.numel(), chunk):
        t = buffer[:min(chunk, src.numel() - start)]
        gene_linear_arguments(left.numpy(), right.numpy(), dst.numpy(), src.numpy(), start, t.numpy())
        yield start, torch.sigmoid_(t).numpy()


def gene_linear_score(left: Tensor, right: Tensor, gate: Tensor, edge_index: Tensor) -> Tensor:
    """The gene-linear attention score of every edge e = j→i ([N, H, C] `left` and `right`,
    [1, H, C] `gate`), without the [E, H, C] tensors of the plain expression (0.9 GB each for
    8 heads of 256 on PubMed)."""
    src, dst = edge_index
    if src.numel() * left.size(1) * left.size(2) <= GENE_CHUNK_ELEMENTS:
        return (torch.tanh(left[dst] + right[src]) * gate).sum(-1)
    return _GeneLinearScore.apply(left, right, gate, src, dst)
