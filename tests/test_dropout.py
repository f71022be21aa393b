"""lpgnas.nn.dropout: the keep rate, the scaling, the gradient and the seeding of its masks."""

from __future__ import annotations

import math

import pytest
import torch

from lpgnas.nn.dropout import dropout


def test_outside_training_the_input_passes_unchanged():
    x = torch.randn(100)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0, training=True) is x


@pytest.mark.parametrize("p", [0.2, 0.6])
def test_each_element_is_kept_with_probability_one_minus_p_and_scaled(p):
    torch.manual_seed(0)
    n = 200_000
    x = torch.rand(n) + 1.0  # no zeros of its own
    out = dropout(x, p, training=True)
    kept = out != 0
    # the kept count is Binomial(n, 1 - p): within 5 standard deviations
    assert abs(int(kept.sum()) - n * (1 - p)) < 5 * math.sqrt(n * p * (1 - p))
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))
    # a mean-preserving mask: E[out] = x
    assert abs(float(out.mean() / x.mean()) - 1.0) < 0.02


def test_the_gradient_is_the_same_scaled_mask():
    torch.manual_seed(1)
    x = torch.randn(5_000, 3, requires_grad=True)
    out = dropout(x, 0.4, training=True)
    grad = torch.randn_like(out)
    out.backward(grad)
    mask = (out.detach() != 0).float() / 0.6
    torch.testing.assert_close(x.grad, grad * mask)


def test_masks_follow_torch_generator():
    x = torch.randn(1_000)
    torch.manual_seed(7)
    first = dropout(x, 0.5, training=True)
    state = torch.get_rng_state()
    second = dropout(x, 0.5, training=True)
    torch.manual_seed(7)
    assert torch.equal(dropout(x, 0.5, training=True), first)
    torch.set_rng_state(state)  # as a resumed checkpoint does
    assert torch.equal(dropout(x, 0.5, training=True), second)
    assert not torch.equal(first, second)


def test_p_one_drops_everything_and_bad_p_is_refused():
    x = torch.randn(10)
    assert torch.equal(dropout(x, 1.0, training=True), torch.zeros(10))
    with pytest.raises(ValueError, match="dropout probability"):
        dropout(x, 1.5, training=True)
