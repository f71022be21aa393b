"""Quantisers of docs/design.md §3 with straight-through gradients.

Bit width (the option name) is separate from scaling (`max_abs`, calibrated) and from rounding
(`fake_quant`). Every quantiser is a fake quantiser: it returns float values that lie on the
quantisation grid, so the same network runs in training and in simulation.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from hwsim.network import QUANT_BITS

_EPS = 1e-12


def integer_max(option: str) -> int:
    """Largest integer code of a signed, symmetric (narrow-range) `q<b>` option: 2^(b-1) - 1."""
    return 2 ** (QUANT_BITS[option] - 1) - 1


def abs_max(x: Tensor) -> Tensor:
    """max|x| in one pass without the |x| temporary: 1.2-2.4x faster than x.abs().amax() on a
    PubMed-sized activation (19,717 x 320, 1 thread, busy machine), which a PubMed search epoch
    takes ~95 times (cProfile of 4 architecture epochs: 386 calls of amax)."""
    if x.numel() == 0:  # e.g. the non-zeros of an all-zero feature matrix
        return x.new_zeros(())
    low, high = torch.aminmax(x.detach())
    return torch.maximum(-low, high)


def binarize(x: Tensor) -> Tensor:
    """`b1`: x_q = α·sign(x) with α = mean|x| (sign(0) = +1).

    Backward: identity (straight through; nothing is clipped since there is no range).
    """
    alpha = binary_magnitude(x)
    x_q = torch.where(x >= 0, alpha, -alpha)
    return x_q + (x - x.detach())  # value x_q exactly, gradient identity


def ternarize(x: Tensor) -> Tensor:
    """`t2`: x_q ∈ {-α, 0, α}; zero where |x| ≤ Δ = 0.7·mean|x|, α = mean of |x| above Δ.

    Backward: identity (straight through). Δ and α follow Ternary Weight Networks (Li et al. 2016).
    """
    delta, alpha = ternary_threshold_and_magnitude(x)
    x_q = torch.sign(x.detach()) * (x.detach().abs() > delta) * alpha
    return x_q + (x - x.detach())  # value x_q exactly, gradient identity


def binary_magnitude(x: Tensor) -> Tensor:
    """α = mean|x| of `b1`."""
    return x.detach().abs().mean()


def ternary_threshold_and_magnitude(x: Tensor) -> tuple[Tensor, Tensor]:
    """(Δ, α) of `t2`: Δ = 0.7·mean|x|, α = the mean of |x| above Δ (0 where none is)."""
    mag = x.detach().abs()
    delta = 0.7 * mag.mean()
    keep = mag > delta
    return delta, (mag[keep].mean() if bool(keep.any()) else mag.new_zeros(()))


def fake_quant(x: Tensor, option: str, max_abs: Tensor | float | None = None) -> Tensor:
    """Quantise `x` to `option` (`b1`, `t2`, `q2`..`q16`, `f32`).

    For `q<b>`: x_q = clamp(round(x / s), -Q, Q) · s with Q = 2^(b-1) - 1 and s = max_abs / Q
    (max_abs defaults to max|x|). Backward: the gradient passes where -Q·s ≤ x ≤ Q·s and is
    zero outside (clipped values do not move with x).
    """
    if option == "f32":
        return x
    if option == "b1":
        return binarize(x)
    if option == "t2":
        return ternarize(x)
    q = integer_max(option)
    if max_abs is None:
        max_abs = abs_max(x)
    scale = max(float(max_abs), _EPS) / q
    return _FakeQuantize.apply(x, scale, q)


class _FakeQuantize(torch.autograd.Function):
    """torch.fake_quantize_per_tensor_affine(x, scale, 0, -q, q), bit for bit, in plain tensor ops.

    Why: on CPU the fused kernel took 520 µs for a 2708 x 16 tensor where these three passes
    take 45 µs (1 thread), and it was the largest single cost of a PubMed search step. The
    kernel's arithmetic is float32 (x · (1/s) rounded half to even, clamped, times s), which is
    what makes the results identical (tests/test_quant.py compares them); its gradient passes
    where the rounded code lies within [-q, q].
    """

    @staticmethod
    def forward(ctx, x: Tensor, scale: float, q: int) -> Tensor:
        scale32 = np.float32(scale)
        codes = (x * float(np.float32(1.0) / scale32)).round_()
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward((codes >= -q) & (codes <= q))
        return codes.clamp_(-q, q).mul_(float(scale32))

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        (inside,) = ctx.saved_tensors
        return grad * inside, None, None


class CalibratedQuantizer(nn.Module):
    """What the deployed and the search's quantisers share: the scale and the constant-input cache.

    Weights use their exact max|w| (known at deploy time). Activations (`running=True`) use
    max|x| of the current batch while training and keep an exponential moving average of it,
    which fixes the scale at evaluation, as a deployed accelerator needs.

    A constant input that needs no gradient (the dataset's feature matrix entering layer 1) is
    quantised once and reused while it is unchanged: re-quantising Cora's 2708×1433 matrix
    every epoch would cost several times the layer's own matrix product.
    """

    def __init__(self, options: tuple[str, ...], running: bool = False, momentum: float = 0.1) -> None:
        super().__init__()
        for name in options:
            if name not in QUANT_BITS:
                raise ValueError(f"Could not resolve quantiser {name!r} among choices {list(QUANT_BITS)}")
        self.options = options
        self.running = running
        self.momentum = momentum
        self.register_buffer("running_max", torch.zeros(()))
        self._cached_input: Tensor | None = None
        self._cached_key: tuple | None = None
        self._cached_output: Tensor | None = None

    def calibrated_max(self, x: Tensor) -> Tensor | None:
        """The max|x| the scale is built from (None: let fake_quant use the current max)."""
        if not self.running or all(o in ("f32", "b1", "t2") for o in self.options):
            return None
        current = abs_max(x)
        if self.training:
            with torch.no_grad():
                if float(self.running_max) == 0.0:
                    self.running_max.copy_(current)
                else:
                    self.running_max.lerp_(current, self.momentum)
            return current
        return self.running_max if float(self.running_max) > 0 else current

    def _cached(self, x: Tensor, kind: str, compute) -> Tensor:
        """compute() for a constant input, reused while x, its version, the mode and `kind` stay."""
        key = (x._version, x.shape, self.training, kind)
        if self._cached_input is not x or self._cached_key != key:
            self._cached_input, self._cached_key, self._cached_output = x, key, compute()
        return self._cached_output

    def extra_repr(self) -> str:
        return f"{'|'.join(self.options)}, running={self.running}"


class Quantizer(CalibratedQuantizer):
    """The deployed per-tensor quantiser of one component (weight, feature, attention or
    message) at one bit width."""

    def __init__(self, option: str, running: bool = False, momentum: float = 0.1) -> None:
        super().__init__((option,), running, momentum)
        self.option = option

    def forward(self, x: Tensor) -> Tensor:
        """Fake-quantised x; a sparse COO x (zero-skipped layer-1 features) keeps its pattern."""
        if x.is_sparse:
            return torch.sparse_coo_tensor(x.indices(), self.sparse_values(x), x.shape, is_coalesced=True,
                                           check_invariants=False)
        if self.option == "f32":
            return x
        if not x.requires_grad:  # a constant input is quantised once
            return self._cached(x, "single 0", lambda: fake_quant(x, self.option, self.calibrated_max(x)))
        return fake_quant(x, self.option, self.calibrated_max(x))

    def sparse_values(self, x: Tensor) -> Tensor:
        """forward(x).values() for a coalesced sparse COO x (see MixedQuantizer.sparse_values)."""
        plain = x.values()
        if self.option == "f32":
            return plain
        return self._cached(x, "single 0", lambda: fake_quant(plain, self.option, self.calibrated_max(plain)))
