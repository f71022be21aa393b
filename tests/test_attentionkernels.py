"""The attention kernels equal their definitions on random graphs (the gene-linear score in
chunks of every size), and edge_softmax and pair_score equal torch_geometric's softmax and the
gathered LeakyReLU, values and gradients."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from naive import edge_softmax as naive_softmax
from naive import gene_linear_score as naive_gene_linear
from naive import pair_score as naive_pair_score
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
from lpgnas.sparse.ops import edge_softmax, pair_score


@settings(max_examples=60, deadline=None)
@given(nodes=st.integers(1, 10), edges=st.integers(1, 40), heads=st.integers(1, 3), scale=st.sampled_from([1.0, 50.0]),
       seed=st.integers(0, 2**16))
def test_kernels_equal_the_definition(nodes, edges, heads, scale, seed):
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, nodes, edges)  # in no particular order; some nodes without edges
    order = np.argsort(targets, kind="stable").astype(np.int64)
    indptr = np.zeros(nodes + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(targets, minlength=nodes))
    score = (scale * rng.standard_normal((edges, heads))).astype(np.float64)  # large: exp would overflow unshifted
    grad = rng.standard_normal((edges, heads))

    alpha = edge_softmax_forward(indptr, order, score)
    grad_score = edge_softmax_backward(indptr, order, alpha, grad)
    want_alpha, want_grad = naive_softmax(targets, score, grad)

    np.testing.assert_allclose(alpha, np.array(want_alpha), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_score, np.array(want_grad), rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(nodes=st.integers(1, 12), edges=st.integers(1, 50), heads=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_edge_softmax_equals_torch_geometric(nodes, edges, heads, seed):
    generator = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, nodes, (2, edges), generator=generator)  # parallel edges included
    score = torch.randn(edges, heads, generator=generator, requires_grad=True)
    reference_score = score.detach().clone().requires_grad_(True)
    upstream = torch.randn(edges, heads, generator=generator)

    alpha = edge_softmax(score, edge_index, nodes)
    (alpha * upstream).sum().backward()
    reference = pyg_softmax(reference_score, edge_index[1], num_nodes=nodes)
    (reference * upstream).sum().backward()

    torch.testing.assert_close(alpha, reference)
    torch.testing.assert_close(score.grad, reference_score.grad)


@settings(max_examples=60, deadline=None)
@given(nodes=st.integers(1, 10), edges=st.integers(0, 40), heads=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_pair_score_kernels_equal_the_loop(nodes, edges, heads, seed):
    rng = np.random.default_rng(seed)
    rows, cols = (rng.integers(0, nodes, edges).astype(np.int64) for _ in "rc")
    left, right = (rng.standard_normal((nodes, heads)).astype(np.float32) for _ in "lr")
    grad = rng.standard_normal((edges, heads)).astype(np.float32)

    score = pair_score_forward(left, right, rows, cols, 0.2)
    grad_left, grad_right = pair_score_backward(left, right, rows, cols, 0.2, grad)
    want_score, want_left, want_right = naive_pair_score(left, right, rows, cols, 0.2, grad)

    np.testing.assert_allclose(score, np.array(want_score).reshape(edges, heads), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad_left, np.array(want_left), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad_right, np.array(want_right), rtol=1e-5, atol=1e-5)


def test_pair_score_equals_the_gathered_leaky_relu():
    generator = torch.Generator().manual_seed(2)
    edge_index = torch.randint(0, 15, (2, 80), generator=generator)
    left, right = (torch.randn(15, 4, generator=generator, requires_grad=True) for _ in "lr")
    upstream = torch.randn(80, 4, generator=generator)
    (pair_score(left, right, edge_index[1], edge_index[0], 0.2) * upstream).sum().backward()
    reference_left, reference_right = (t.detach().clone().requires_grad_(True) for t in (left, right))
    reference = torch.nn.functional.leaky_relu(reference_left[edge_index[1]] + reference_right[edge_index[0]], 0.2)
    (reference * upstream).sum().backward()
    torch.testing.assert_close(pair_score(left, right, edge_index[1], edge_index[0], 0.2), reference)
    torch.testing.assert_close(left.grad, reference_left.grad)
    torch.testing.assert_close(right.grad, reference_right.grad)


@settings(max_examples=60, deadline=None)
@given(nodes=st.integers(1, 8), edges=st.integers(0, 30), heads=st.integers(1, 3), width=st.integers(1, 4),
       chunk=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_gene_linear_kernels_equal_the_loop(nodes, edges, heads, width, chunk, seed):
    rng = np.random.default_rng(seed)
    rows, cols = (rng.integers(0, nodes, edges).astype(np.int64) for _ in "rc")
    left, right = (rng.standard_normal((nodes, heads, width)) for _ in "lr")
    gate = rng.standard_normal((heads, width))
    grad = rng.standard_normal((edges, heads))

    score = np.full((edges, heads), np.nan)
    grad_left, grad_right, grad_gate = np.zeros_like(left), np.zeros_like(right), np.zeros_like(gate)
    for start in range(0, edges, chunk):  # as lpgnas.sparse.ops runs them: gather, sigmoid, reduce per chunk
        doubled = np.empty((min(chunk, edges - start), heads, width))
        gene_linear_arguments(left, right, rows, cols, start, doubled)
        s = 1.0 / (1.0 + np.exp(-doubled))
        gene_linear_reduce(s, gate, start, score)
        gene_linear_backward(s, gate, grad, rows, cols, start, grad_left, grad_right, grad_gate)
    want = naive_gene_linear(left, right, gate, rows, cols, grad)

    np.testing.assert_allclose(score, np.array(want[0]).reshape(edges, heads), rtol=1e-12, atol=1e-12)
    for got, expected in zip((grad_left, grad_right, grad_gate), want[1:]):
        np.testing.assert_allclose(got, np.array(expected), rtol=1e-10, atol=1e-12)
