"""The search's mixed-precision quantiser (DNAS): the same tensor quantised at every candidate
width, mixed by the width probabilities, or quantised plainly at one sampled width.

Search-only: derived networks quantise plainly (lpgnas.quant.quantizers.Quantizer).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

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
from lpgnas.quant.quantizers import (
    _EPS,
    CalibratedQuantizer,
    abs_max,
    binary_magnitude,
    fake_quant,
    integer_max,
    ternary_threshold_and_magnitude,
)


class MixedQuantizer(CalibratedQuantizer):
    """A per-tensor quantiser over several widths, driven by probabilities p.

    The output is Σ_i p_i·r_i·Q_i(x), all options sharing one calibrated scale range, where
    r_i = <x, Q_i(x)> / ‖Q_i(x)‖² (constant in the backward pass) makes r_i·Q_i(x) the multiple of
    Q_i(x) closest to x. Without it the gradient of p favours whichever width enlarges the
    tensor: on a trained f32 GCN for Cora, 2-bit last-layer weights lower the validation loss
    (0.87 vs 0.99, by sharpening the logits) while lowering accuracy (78.0 vs 80.4 %); after the
    projection the loss ranks the widths by accuracy again. A one-hot p without gradient (a
    sampled width) quantises plainly at that width.

    Each call returns the output and, for a mixture computed with gradients on, its expected
    relative error E_p[‖r_i·Q_i(x) − x‖² / ‖x‖²] (the search's distortion prior), else None.
    """

    def __init__(self, options: tuple[str, ...], running: bool = False, momentum: float = 0.1) -> None:
        super().__init__(tuple(options), running, momentum)

    def forward(self, x: Tensor, probs: Tensor) -> tuple[Tensor, Tensor | None]:
        """(the mix over the options, its distortion); a sparse COO x keeps its sparsity pattern."""
        if x.is_sparse:
            values, distortion = self.sparse_values(x, probs)
            return torch.sparse_coo_tensor(x.indices(), values, x.shape, is_coalesced=True,
                                           check_invariants=False), distortion
        sampled = sampled_option(probs)
        if sampled is not None:  # a sampled width: quantise plainly at it
            return fake_quant(x, self.options[sampled], self.calibrated_max(x)), None
        return self._mixture(x, probs)

    def sparse_values(self, x: Tensor, probs: Tensor) -> tuple[Tensor, Tensor | None]:
        """forward(x, probs) on the values of a coalesced sparse COO x, without a sparse tensor in
        the autograd graph: the backward of one (values() of sparse_coo_tensor) built dense [N, F]
        temporaries, copies and masks of 0.5 GB each on Coauthor CS, in every architecture step."""
        plain = x.values()
        sampled = sampled_option(probs)
        if sampled is not None:
            return self._cached(x, f"single {sampled}",
                                lambda: fake_quant(plain, self.options[sampled], self.calibrated_max(plain))), None
        return self._mixture(plain, probs)

    def _mixture(self, x: Tensor, probs: Tensor) -> tuple[Tensor, Tensor | None]:
        """Σ p_i·r_i·Q_i(x) and, when gradients are on (only a differentiated forward's is read),
        the expected relative error Σ p_i·‖r_i·Q_i(x) − x‖²/‖x‖²."""
        out, errors = _Mixture.apply(x, probs, self.options, self.calibrated_max(x))
        return out, ((probs * errors).sum() if torch.is_grad_enabled() else None)


def sampled_option(probs: Tensor) -> int | None:
    """The option of one-hot `probs` without gradient (a sampled width), else None."""
    if probs.requires_grad or int((probs != 0).sum()) != 1:
        return None
    return int(probs.argmax())


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
