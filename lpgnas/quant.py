"""Quantisers of DESIGN.md §3 with straight-through gradients.

Bit width (the option name) is separate from scaling (`max_abs`, calibrated) and from rounding
(`fake_quant`). Every quantiser is a fake quantiser: it returns float values that lie on the
quantisation grid, so the same network runs in training and in simulation.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hwsim.network import QUANT_BITS

_EPS = 1e-12


def integer_max(option: str) -> int:
    """Largest integer code of a signed, symmetric (narrow-range) `q<b>` option: 2^(b-1) - 1."""
    return 2 ** (QUANT_BITS[option] - 1) - 1


def binarize(x: Tensor) -> Tensor:
    """`b1`: x_q = α·sign(x) with α = mean|x| (sign(0) = +1).

    Backward: identity (straight through; nothing is clipped since there is no range).
    """
    alpha = x.detach().abs().mean()
    x_q = torch.where(x >= 0, alpha, -alpha)
    return x_q + (x - x.detach())  # value x_q exactly, gradient identity


def ternarize(x: Tensor) -> Tensor:
    """`t2`: x_q ∈ {-α, 0, α}; zero where |x| ≤ Δ = 0.7·mean|x|, α = mean of |x| above Δ.

    Backward: identity (straight through). Δ and α follow Ternary Weight Networks (Li et al. 2016).
    """
    mag = x.detach().abs()
    delta = 0.7 * mag.mean()
    keep = mag > delta
    alpha = mag[keep].mean() if bool(keep.any()) else mag.new_zeros(())
    x_q = torch.sign(x.detach()) * keep * alpha
    return x_q + (x - x.detach())  # value x_q exactly, gradient identity


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
        max_abs = x.detach().abs().amax()
    scale = max(float(max_abs), _EPS) / q
    return torch.fake_quantize_per_tensor_affine(x, scale, 0, -q, q)


class Quantizer(nn.Module):
    """A per-tensor quantiser for one component (weight, feature, attention or message).

    Weights use their exact max|w| (known at deploy time). Activations (`running=True`) use
    max|x| of the current batch while training and keep an exponential moving average of it,
    which fixes the scale at evaluation, as a deployed accelerator needs.

    A constant input that needs no gradient (the dataset's feature matrix entering layer 1) is
    quantised once and reused while it is unchanged: re-quantising Cora's 2708×1433 matrix
    every epoch would cost several times the layer's own matrix product.
    """

    def __init__(self, option: str, running: bool = False, momentum: float = 0.1) -> None:
        super().__init__()
        if option not in QUANT_BITS:
            raise ValueError(f"Could not resolve quantiser {option!r} among choices {list(QUANT_BITS)}")
        self.option = option
        self.running = running
        self.momentum = momentum
        self.register_buffer("running_max", torch.zeros(()))
        self._cached_input: Tensor | None = None
        self._cached_key: tuple | None = None
        self._cached_output: Tensor | None = None

    @property
    def bits(self) -> int:
        return QUANT_BITS[self.option]

    def calibrated_max(self, x: Tensor) -> Tensor | None:
        """The max|x| the scale is built from (None: let fake_quant use the current max)."""
        if not self.running or self.option in ("f32", "b1", "t2"):
            return None
        current = x.detach().abs().amax()
        if self.training:
            with torch.no_grad():
                if float(self.running_max) == 0.0:
                    self.running_max.copy_(current)
                else:
                    self.running_max.lerp_(current, self.momentum)
            return current
        return self.running_max if float(self.running_max) > 0 else current

    def forward(self, x: Tensor) -> Tensor:
        """Fake-quantised x; a sparse COO x (zero-skipped layer-1 features) keeps its pattern."""
        if self.option == "f32":
            return x
        if x.is_sparse:
            return self._cached(x, lambda: torch.sparse_coo_tensor(
                x.indices(), self._quantize(x.values()), x.shape, is_coalesced=True, check_invariants=False))
        if not x.requires_grad:
            return self._cached(x, lambda: self._quantize(x))
        return self._quantize(x)

    def _quantize(self, x: Tensor) -> Tensor:
        return fake_quant(x, self.option, self.calibrated_max(x))

    def _cached(self, x: Tensor, compute) -> Tensor:
        key = (x._version, x.shape, self.training)
        if self._cached_input is not x or self._cached_key != key:
            self._cached_input, self._cached_key, self._cached_output = x, key, compute()
        return self._cached_output

    def extra_repr(self) -> str:
        return f"{self.option}, running={self.running}"
