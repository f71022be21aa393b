"""The CSR product kernels equal plain-Python loops on random sparse matrices (repeated
coordinates and empty rows included), in float32 and float64; the sampled product equals
torch's sampled_addmm."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from naive import csr_matmul as naive_matmul
from naive import csr_sampled as naive_sampled
from naive import csr_transposed_matmul as naive_transposed

from lpgnas.sparse.csr import csr_matmul, csr_sampled, csr_transposed_matmul


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(0, 12), cols=st.integers(1, 10), nnz=st.integers(0, 50), width=st.integers(1, 6),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_kernels_equal_the_loops(rows, cols, nnz, width, dtype, seed):
    rng = np.random.default_rng(seed)
    nnz = nnz if rows else 0
    coords = sorted(zip(rng.integers(0, max(rows, 1), nnz), rng.integers(0, cols, nnz)))  # repeats kept
    indptr = np.zeros(rows + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(np.array([r for r, _ in coords], dtype=np.int64), minlength=rows))
    col = np.array([c for _, c in coords], dtype=np.int64)
    values = rng.standard_normal(nnz).astype(dtype)
    dense = rng.standard_normal((cols, width)).astype(dtype)
    grad = rng.standard_normal((rows, width)).astype(dtype)

    out = csr_matmul(indptr, col, values, dense)
    back = csr_transposed_matmul(indptr, col, values, grad, cols)
    sampled = csr_sampled(indptr, col, grad, dense)

    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert out.dtype == dtype and out.shape == (rows, width)
    assert back.dtype == dtype and back.shape == (cols, width)
    np.testing.assert_allclose(out, np.array(naive_matmul(indptr, col, values, dense)).reshape(rows, width),
                               rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(back, np.array(naive_transposed(indptr, col, values, grad, cols)).reshape(cols, width),
                               rtol=tolerance, atol=tolerance)
    assert sampled.dtype == dtype and sampled.shape == (nnz,)
    np.testing.assert_allclose(sampled, np.array(naive_sampled(indptr, col, grad, dense)),
                               rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("width", [1, 33])
def test_transposed_product_is_the_product_with_the_transpose(width):
    rng = np.random.default_rng(5)
    dense_s = np.where(rng.random((20, 15)) < 0.3, rng.standard_normal((20, 15)), 0.0).astype(np.float32)
    rows, col = np.nonzero(dense_s)
    indptr = np.zeros(21, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(rows, minlength=20))
    grad = rng.standard_normal((20, width)).astype(np.float32)
    np.testing.assert_allclose(csr_transposed_matmul(indptr, col.astype(np.int64), dense_s[rows, col], grad, 15),
                               dense_s.T @ grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("width", [5, 8, 33])
def test_sampled_product_equals_sampled_addmm(width):
    rng = np.random.default_rng(width)
    dense_s = np.where(rng.random((20, 15)) < 0.3, 1.0, 0.0).astype(np.float32)
    rows, col = np.nonzero(dense_s)
    indptr = np.zeros(21, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(rows, minlength=20))
    a, b = rng.standard_normal((20, width)).astype(np.float32), rng.standard_normal((15, width)).astype(np.float32)
    pattern = torch.sparse_csr_tensor(torch.from_numpy(indptr), torch.from_numpy(col.astype(np.int64)),
                                      torch.ones(col.size), (20, 15))
    want = torch.sparse.sampled_addmm(pattern, torch.from_numpy(a), torch.from_numpy(b).t(), beta=0.0).values()
    np.testing.assert_allclose(csr_sampled(indptr, col.astype(np.int64), a, b), want.numpy(), rtol=1e-5, atol=1e-5)
