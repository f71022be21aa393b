"""The CSR products equal their references: torch.sparse.mm on COO for the features, one gathered
message per edge and torch_geometric's scatter for aggregation; values and gradients."""

import gc
from unittest.mock import patch

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch_geometric.utils import scatter

from lpgnas.nn.model import with_self_loops
from lpgnas.sparse import ops as spmm
from lpgnas.sparse.ops import (
    _EDGE_PATTERNS,
    _PATTERNS,
    aggregate,
    cached_pattern,
    edge_dot,
    edge_pattern,
    edge_softmax,
    gene_linear_score,
    sparse_matmul,
    sparse_pattern,
)


def random_sparse(rows: int, cols: int, density: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    dense = torch.rand(rows, cols, generator=generator)
    dense = torch.where(torch.rand(rows, cols, generator=generator) < density, dense, torch.zeros(()))
    return dense.to_sparse_coo().coalesce()


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 40), cols=st.integers(1, 30), width=st.integers(1, 9),
       density=st.floats(0.0, 1.0), seed=st.integers(0, 2**16))
def test_product_and_weight_gradient_equal_coo(rows, cols, width, density, seed):
    x = random_sparse(rows, cols, density, seed)
    weight = torch.randn(cols, width, generator=torch.Generator().manual_seed(seed + 1), requires_grad=True)
    reference_weight = weight.detach().clone().requires_grad_(True)
    upstream = torch.randn(rows, width, generator=torch.Generator().manual_seed(seed + 2))

    out = sparse_matmul(sparse_pattern(x), x.values(), weight)
    (out * upstream).sum().backward()
    reference = torch.sparse.mm(x, reference_weight)
    (reference * upstream).sum().backward()

    torch.testing.assert_close(out, reference)
    torch.testing.assert_close(weight.grad, reference_weight.grad)


def test_values_that_need_a_gradient_get_it():
    x = random_sparse(12, 7, 0.4, 3)
    values = x.values().clone().requires_grad_(True)
    weight = torch.randn(7, 5)
    sparse_matmul(sparse_pattern(x), values, weight).square().sum().backward()
    reference_values = x.values().clone().requires_grad_(True)
    coo = torch.sparse_coo_tensor(x.indices(), reference_values, x.shape, check_invariants=True)
    torch.sparse.mm(coo, weight).square().sum().backward()
    torch.testing.assert_close(values.grad, reference_values.grad)


@pytest.mark.parametrize("width", [spmm.TORCH_PRODUCT_MAX_WIDTH, spmm.TORCH_PRODUCT_MAX_WIDTH + 1])
def test_both_forward_products_equal_the_dense_reference(width):
    """S·D runs as torch's product up to TORCH_PRODUCT_MAX_WIDTH columns and as the numba kernel
    beyond: both give the product and the gradients of values and D (also through the sampled
    product's backward, which reuses them)."""
    x = random_sparse(30, 20, 0.3, width)
    generator = torch.Generator().manual_seed(width)
    values = x.values().clone().requires_grad_(True)
    dense = torch.randn(20, width, generator=generator, requires_grad=True)
    upstream = torch.randn(30, width, generator=generator)
    (sparse_matmul(sparse_pattern(x), values, dense) * upstream).sum().backward()
    reference_values = x.values().clone().requires_grad_(True)
    reference_dense = dense.detach().clone().requires_grad_(True)
    matrix = torch.sparse_coo_tensor(x.indices(), reference_values, x.shape).to_dense()
    (matrix @ reference_dense * upstream).sum().backward()
    torch.testing.assert_close(values.grad, reference_values.grad)
    torch.testing.assert_close(dense.grad, reference_dense.grad)

    a, b = (torch.randn(rows, width, generator=generator, requires_grad=True) for rows in (30, 20))
    pattern = sparse_pattern(x)
    weights = torch.randn(pattern.row.numel(), generator=generator)
    (spmm.sampled_product(pattern, a, b) * weights).sum().backward()
    reference_a, reference_b = (t.detach().clone().requires_grad_(True) for t in (a, b))
    ((reference_a[pattern.row] * reference_b[pattern.col]).sum(-1) * weights).sum().backward()
    torch.testing.assert_close(a.grad, reference_a.grad)
    torch.testing.assert_close(b.grad, reference_b.grad)


def test_pattern_is_cached_per_tensor_and_freed_with_it():
    x = random_sparse(5, 4, 0.5, 1)
    assert cached_pattern(x) is cached_pattern(x)
    assert cached_pattern(random_sparse(5, 4, 0.5, 1)) is not cached_pattern(x)
    before = len(_PATTERNS)
    del x
    gc.collect()
    assert len(_PATTERNS) < before


def reference_aggregate(h, edge_index, alpha, reduce):
    """The plain definition: one message per edge, reduced per target."""
    src, dst = edge_index
    messages = h[src] if alpha is None else h[src] * alpha.unsqueeze(-1)
    return scatter(messages, dst, dim=0, dim_size=h.size(0), reduce=reduce)


@settings(max_examples=60, deadline=None)
@given(nodes=st.integers(1, 30), edges=st.integers(0, 90), heads=st.sampled_from([1, 2, 4]),
       width=st.integers(1, 6), reduce=st.sampled_from(["sum", "mean", "max"]),
       coefficients=st.sampled_from(["none", "shared", "per-head"]), parallel=st.booleans(),
       seed=st.integers(0, 2**16))
def test_aggregate_equals_one_message_per_edge(nodes, edges, heads, width, reduce, coefficients, parallel, seed):
    generator = torch.Generator().manual_seed(seed)
    loops = torch.arange(nodes)
    # random edges plus a self-loop per node as the layers add them; parallel edges kept or merged
    edge_index = torch.cat([torch.randint(0, nodes, (2, edges), generator=generator), torch.stack([loops, loops])], 1)
    if not parallel:
        edge_index = torch.unique(edge_index, dim=1)
    distinct = torch.unique(edge_index, dim=1).size(1)
    assert edge_pattern(edge_index, nodes).matrix.repeats == (edge_index.size(1) > distinct)
    h = torch.randn(nodes, heads, width, generator=generator, requires_grad=True)
    alpha = None
    if coefficients == "shared":
        alpha = torch.rand(edge_index.size(1), 1, generator=generator).expand(-1, heads)
    elif coefficients == "per-head":
        alpha = torch.rand(edge_index.size(1), heads, generator=generator).requires_grad_(True)
    upstream = torch.randn(nodes, heads, width, generator=generator)

    out = aggregate(h, edge_index, alpha, reduce)
    grads = torch.autograd.grad((out * upstream).sum(), [t for t in (h, alpha) if t is not None and t.requires_grad])
    reference = reference_aggregate(h, edge_index, alpha, reduce)
    expected = torch.autograd.grad((reference * upstream).sum(),
                                   [t for t in (h, alpha) if t is not None and t.requires_grad])

    torch.testing.assert_close(out, reference)
    for grad, want in zip(grads, expected):
        torch.testing.assert_close(grad, want)


@settings(max_examples=40, deadline=None)
@given(nodes=st.integers(1, 30), edges=st.integers(0, 90), heads=st.sampled_from([1, 2, 4]),
       width=st.integers(1, 6), parallel=st.booleans(), seed=st.integers(0, 2**16))
def test_edge_dot_equals_gathered_rows(nodes, edges, heads, width, parallel, seed):
    generator = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, nodes, (2, edges), generator=generator)
    if not parallel:
        edge_index = torch.unique(edge_index, dim=1)
    left = torch.randn(nodes, heads, width, generator=generator, requires_grad=True)
    right = torch.randn(nodes, heads, width, generator=generator, requires_grad=True)
    upstream = torch.randn(edge_index.size(1), heads, generator=generator)
    src, dst = edge_index

    out = edge_dot(left, right, edge_index)
    grads = torch.autograd.grad((out * upstream).sum(), [left, right])
    reference = (left[dst] * right[src]).sum(-1)
    expected = torch.autograd.grad((reference * upstream).sum(), [left, right])

    torch.testing.assert_close(out, reference)
    for grad, want in zip(grads, expected):
        torch.testing.assert_close(grad, want)


@settings(max_examples=40, deadline=None)
@given(nodes=st.integers(1, 30), edges=st.integers(0, 90), heads=st.sampled_from([1, 2, 4]),
       width=st.integers(1, 6), chunk=st.integers(1, 64), seed=st.integers(0, 2**16))
def test_gene_linear_score_equals_gathered_rows(nodes, edges, heads, width, chunk, seed):
    """Chunked, with tanh recomputed in the backward pass, it is still the plain expression."""
    generator = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, nodes, (2, edges), generator=generator)
    left = torch.randn(nodes, heads, width, generator=generator, requires_grad=True)
    right = torch.randn(nodes, heads, width, generator=generator, requires_grad=True)
    gate = torch.randn(1, heads, width, generator=generator, requires_grad=True)
    upstream = torch.randn(edges, heads, generator=generator)
    src, dst = edge_index

    with patch.object(spmm, "GENE_CHUNK_ELEMENTS", chunk):
        out = gene_linear_score(left, right, gate, edge_index)
        grads = torch.autograd.grad((out * upstream).sum(), [left, right, gate])
    reference = (torch.tanh(left[dst] + right[src]) * gate).sum(-1)
    expected = torch.autograd.grad((reference * upstream).sum(), [left, right, gate])

    torch.testing.assert_close(out, reference)
    for grad, want in zip(grads, expected):
        torch.testing.assert_close(grad, want)


def test_edge_pattern_is_cached_per_tensor_and_node_count():
    edge_index = torch.tensor([[0, 1, 2, 2], [1, 2, 0, 2]])
    assert edge_pattern(edge_index, 3) is edge_pattern(edge_index, 3)
    assert edge_pattern(edge_index, 4).matrix.shape == (4, 4)
    before = len(_EDGE_PATTERNS)
    del edge_index
    gc.collect()
    assert len(_EDGE_PATTERNS) < before


def test_edges_in_csr_order_take_no_permutation_and_give_the_same_results():
    """with_self_loops sorts the edges by target, then source: their pattern needs no permutation,
    and aggregation, the cos score and the softmax give, per edge, what a shuffled list gives."""
    generator = torch.Generator().manual_seed(4)
    edge_index = with_self_loops(torch.randint(0, 9, (2, 30), generator=generator), 9)
    src, dst = edge_index
    assert bool(((dst[1:] > dst[:-1]) | ((dst[1:] == dst[:-1]) & (src[1:] >= src[:-1]))).all())
    shuffle = torch.randperm(edge_index.size(1), generator=generator)
    shuffled = edge_index[:, shuffle]
    assert edge_pattern(edge_index, 9).in_order and not edge_pattern(shuffled, 9).in_order
    h = torch.randn(9, 2, 3, generator=generator)
    score = torch.randn(edge_index.size(1), 2, generator=generator)
    alpha = edge_softmax(score, edge_index, 9)
    torch.testing.assert_close(edge_softmax(score[shuffle], shuffled, 9), alpha[shuffle])
    for reduce in ("sum", "mean", "max"):
        torch.testing.assert_close(aggregate(h, shuffled, alpha[shuffle], reduce),
                                   aggregate(h, edge_index, alpha, reduce))
    torch.testing.assert_close(edge_dot(h, h.flip(0), shuffled), edge_dot(h, h.flip(0), edge_index)[shuffle])
    # max without gradients takes the kernel without tie counts
    torch.testing.assert_close(aggregate(h.requires_grad_(True), edge_index, alpha, "max").detach(),
                               aggregate(h.detach(), edge_index, alpha, "max"))
