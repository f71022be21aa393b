"""The `max` aggregation kernels equal a plain-Python loop on random graphs, ties included."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from naive import segment_max

from lpgnas.sparse.segment_max import segment_max_backward, segment_max_forward, segment_max_values


@settings(max_examples=80, deadline=None)
@given(nodes=st.integers(1, 12), edges=st.integers(0, 40), heads=st.integers(1, 3), width=st.integers(1, 4),
       levels=st.sampled_from([2, 4, 1000]), seed=st.integers(0, 2**16))
def test_kernels_equal_the_loop(nodes, edges, heads, width, levels, seed):
    rng = np.random.default_rng(seed)
    targets = np.sort(rng.integers(0, nodes, edges))  # CSR: edges sorted by target; some rows empty
    indptr = np.zeros(nodes + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(targets, minlength=nodes))
    cols = rng.integers(0, nodes, edges).astype(np.int64)
    # few levels make ties the rule, as in a low-bit quantised message
    h = (rng.integers(-levels, levels + 1, (nodes, heads, width)) / levels).astype(np.float32)
    alpha = rng.choice(np.array([0.25, 0.5, 1.0], dtype=np.float32), (edges, heads))
    grad = rng.standard_normal((nodes, heads, width)).astype(np.float32)

    flat = h.reshape(nodes, heads * width)  # the kernels take the heads side by side
    out, count = segment_max_forward(indptr, cols, flat, alpha)
    grad_h, grad_alpha = segment_max_backward(indptr, cols, flat, alpha, out, count, grad.reshape(nodes, -1))
    want_out, want_count, want_h, want_alpha = segment_max(indptr, cols, h, alpha, grad)

    np.testing.assert_array_equal(out, want_out.reshape(nodes, -1))
    np.testing.assert_array_equal(segment_max_values(indptr, cols, flat, alpha), out)
    np.testing.assert_array_equal(count, want_count.reshape(nodes, -1))
    np.testing.assert_allclose(grad_h, want_h.reshape(nodes, -1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad_alpha, want_alpha, rtol=1e-5, atol=1e-6)
