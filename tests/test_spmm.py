"""The CSR product with a cached transpose equals torch.sparse.mm on COO, value and gradient."""

import gc

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lpgnas.spmm import _PATTERNS, cached_pattern, sparse_matmul, sparse_pattern


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


def test_transpose_pattern_is_the_transpose():
    x = random_sparse(9, 6, 0.5, 7)
    pattern = sparse_pattern(x)
    transposed = torch.sparse_csr_tensor(pattern.crow_t, pattern.col_t, x.values()[pattern.perm], (6, 9),
                                         check_invariants=True)
    torch.testing.assert_close(transposed.to_dense(), x.to_dense().t())


def test_pattern_is_cached_per_tensor_and_freed_with_it():
    x = random_sparse(5, 4, 0.5, 1)
    assert cached_pattern(x) is cached_pattern(x)
    assert cached_pattern(random_sparse(5, 4, 0.5, 1)) is not cached_pattern(x)
    before = len(_PATTERNS)
    del x
    gc.collect()
    assert len(_PATTERNS) < before
