"""Quantisers of DESIGN.md §3 with straight-through gradients.

Bit width (the option name) is separate from scaling (`max_abs`, calibrated) and from rounding
(`fake_quant`). Every quantiser is a fake quantiser: it returns float values that lie on the
quantisation grid, so the same network runs in training and in simulation.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from hwsim.network import QUANT_BITS
from lpgnas.quant.kernels import (
    BINARY,
    F32,
    TERNARY,
    UNIFORM,
    mixture_backward,
    mixture_forward,
    option_moments,
    sum_of_squares,
)

_EPS = 1e-12


def integer_max(option: str) -> int:
    """Largest integer code of a signed, symmetric (narrow-range) `q<b>` option: 2^(b-1) - 1."""
    return 2 ** (QUANT_BITS[option] - 1) - 1


def abs_max(x: Tensor) -> Tensor:
    """max|x| in one pass without the |x| temporary: 1.2-2.4x faster than x.abs().amax() on a
    PubMed-sized activation (19,717 x 320, 1 thread, busy machine), which a PubMed search epoch
    takes ~95 times (cProfile of 4 architecture epochs: 386 calls of amax)."""
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


class Quantizer(nn.Module):
    """A per-tensor quantiser for one component (weight, feature, attention or message).

    Weights use their exact max|w| (known at deploy time). Activations (`running=True`) use
    max|x| of the current batch while training and keep an exponential moving average of it,
    which fixes the scale at evaluation, as a deployed accelerator needs.

    A constant input that needs no gradient (the dataset's feature matrix entering layer 1) is
    quantised once and reused while it is unchanged: re-quantising Cora's 2708×1433 matrix
    every epoch would cost several times the layer's own matrix product.

    With several options (the search's mixed precision) the output is Σ_i p_i·r_i·Q_i(x) for the
    probabilities p given to forward, all options sharing one calibrated scale range, where
    r_i = <x, Q_i(x)> / ‖Q_i(x)‖² (constant in the backward pass) makes r_i·Q_i(x) the multiple of
    Q_i(x) closest to x. Without it the gradient of p favours whichever width enlarges the
    tensor: on a trained f32 GCN for Cora, 2-bit last-layer weights lower the validation loss
    (0.87 vs 0.99, by sharpening the logits) while lowering accuracy (78.0 vs 80.4 %); after the
    projection the loss ranks the widths by accuracy again. The rescaling exists only in the
    search's mixture; derived networks quantise plainly.
    """

    def __init__(self, option: str | tuple[str, ...], running: bool = False, momentum: float = 0.1) -> None:
        super().__init__()
        options = (option,) if isinstance(option, str) else tuple(option)
        for name in options:
            if name not in QUANT_BITS:
                raise ValueError(f"Could not resolve quantiser {name!r} among choices {list(QUANT_BITS)}")
        self.options = options
        self.option = options[0]
        self.running = running
        self.momentum = momentum
        self.register_buffer("running_max", torch.zeros(()))
        self.distortion: Tensor | None = None  # E_p[relative error] of the last mixed forward with gradients
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

    def forward(self, x: Tensor, probs: Tensor | None = None) -> Tensor:
        """Fake-quantised x (or the probability-weighted mix over the options).

        A sparse COO x (zero-skipped layer-1 features) keeps its sparsity pattern.
        """
        if x.is_sparse:
            return torch.sparse_coo_tensor(x.indices(), self.sparse_values(x, probs), x.shape,
                                           is_coalesced=True, check_invariants=False)
        if self._unquantised(probs):
            return x
        sampled = self._sampled_option(probs)
        if sampled is not None:  # a sampled width: quantise plainly at it
            return fake_quant(x, self.options[sampled], self.calibrated_max(x))
        if probs is None:  # the one option; a constant input is quantised once
            if not x.requires_grad:
                return self._cached(x, "single 0", lambda: fake_quant(x, self.option, self.calibrated_max(x)))
            return fake_quant(x, self.option, self.calibrated_max(x))
        return self._mixture(x, probs)

    def sparse_values(self, x: Tensor, probs: Tensor | None = None) -> Tensor:
        """forward(x, probs).values() for a coalesced sparse COO x, without a sparse tensor in the
        autograd graph: the backward of one (values() of sparse_coo_tensor) built dense [N, F]
        temporaries, copies and masks of 0.5 GB each on Coauthor CS, in every architecture step."""
        plain = x.values()
        if self._unquantised(probs):
            return plain
        sampled = self._sampled_option(probs)
        if sampled is not None or probs is None:
            index = 0 if sampled is None else sampled
            return self._cached(x, f"single {index}",
                                lambda: fake_quant(plain, self.options[index], self.calibrated_max(plain)))
        return self._mixture(plain, probs)

    def _unquantised(self, probs: Tensor | None) -> bool:
        """No probabilities and the one option is f32 (several options need probabilities)."""
        if probs is None and len(self.options) != 1:
            raise ValueError("a quantiser with several options needs their probabilities")
        return probs is None and self.option == "f32"

    @staticmethod
    def _sampled_option(probs: Tensor | None) -> int | None:
        """The option of one-hot `probs` without gradient (a sampled width), else None."""
        if probs is None or probs.requires_grad or int((probs != 0).sum()) != 1:
            return None
        return int(probs.argmax())

    def _mixture(self, x: Tensor, probs: Tensor) -> Tensor:
        """Σ p_i·r_i·Q_i(x); also records the expected relative error Σ p_i·‖r_i·Q_i(x) − x‖²/‖x‖²
        (see distortion), when gradients are on: only a differentiated forward's is ever read."""
        out, errors = _Mixture.apply(x, probs, self.options, self.calibrated_max(x))
        self.distortion = (probs * errors).sum() if torch.is_grad_enabled() else None
        return out

    def _cached(self, x: Tensor, kind: str, compute) -> Tensor:
        """compute() for a constant input, reused while x, its version, the mode and `kind` stay."""
        key = (x._version, x.shape, self.training, kind)
        if self._cached_input is not x or self._cached_key != key:
            self._cached_input, self._cached_key, self._cached_output = x, key, compute()
        return self._cached_output

    def extra_repr(self) -> str:
        return f"{'|'.join(self.options)}, running={self.running}"


class _Mixture(torch.autograd.Function):
    """Σ_i p_i·r_i·Q_i(x) with r_i = <x, Q_i(x)> / ‖Q_i(x)‖² (constant in the backward pass; 1 for
    f32 and for a single option) and each Q_i straight-through, as lpgnas.quant.kernels streams
    it; also returns the squared errors ‖r_i·Q_i(x) − x‖² / ‖x‖² per option (no gradient).
    Each Q_i(x) equals fake_quant(x, option_i, max_abs) bit for bit."""

    @staticmethod
    def forward(ctx, x: Tensor, probs: Tensor, options: tuple[str, ...], max_abs: Tensor | None):
        flat = x.detach().contiguous().view(-1)
        values = flat.numpy()
        table = _option_table(flat, options, max_abs)
        moments = [option_moments(values, *option) for option in zip(*table)]
        energy = max(sum_of_squares(values), _EPS)
        ratios = np.array([1.0 if kind == F32 or len(options) == 1 else dot / max(norm, _EPS)
                           for kind, (dot, norm) in zip(table[0], moments)], dtype=values.dtype)
        weights = probs.detach().to(x.dtype).numpy()
        out, errors = mixture_forward(values, *table, ratios, weights)
        ctx.save_for_backward(flat)
        ctx.table, ctx.ratios, ctx.weights, ctx.shape, ctx.probs_dtype = table, ratios, weights, x.shape, probs.dtype
        errors = torch.from_numpy(errors / energy).to(x.dtype)
        ctx.mark_non_differentiable(errors)
        return torch.from_numpy(out).view(x.shape), errors

    @staticmethod
    def backward(ctx, grad: Tensor, _errors_grad: Tensor | None):
        (flat,) = ctx.saved_tensors
        grad = grad.to(flat.dtype).contiguous().view(-1).numpy()
        grad_x, grad_probs = mixture_backward(flat.numpy(), grad, *ctx.table, ctx.ratios, ctx.weights,
                                              ctx.needs_input_grad[0])
        return (torch.from_numpy(grad_x).view(ctx.shape) if ctx.needs_input_grad[0] else None,
                torch.from_numpy(grad_probs).to(ctx.probs_dtype), None, None)


def _option_table(x: Tensor, options: tuple[str, ...], max_abs: Tensor | None) -> tuple[np.ndarray, ...]:
    """(kinds, invs, scales, limits, magnitudes, thresholds) of lpgnas.quant.kernels for `options`
    on x: the same scales and magnitudes as fake_quant's (max_abs, or max|x|), binarize's and
    ternarize's."""
    dtype = x.numpy().dtype
    kinds = np.zeros(len(options), dtype=np.int64)
    invs, scales, limits, magnitudes, thresholds = (np.zeros(len(options), dtype=dtype) for _ in range(5))
    for k, option in enumerate(options):
        if option == "f32":
            kinds[k] = F32
        elif option == "b1":
            kinds[k], magnitudes[k] = BINARY, float(binary_magnitude(x))
        elif option == "t2":
            delta, alpha = ternary_threshold_and_magnitude(x)
            kinds[k], thresholds[k], magnitudes[k] = TERNARY, float(delta), float(alpha)
        else:
            if max_abs is None:
                max_abs = abs_max(x)
            q = integer_max(option)
            scale32 = np.float32(max(float(max_abs), _EPS) / q)
            kinds[k], invs[k], scales[k], limits[k] = UNIFORM, np.float32(1.0) / scale32, scale32, q
    return kinds, invs, scales, limits, magnitudes, thresholds
