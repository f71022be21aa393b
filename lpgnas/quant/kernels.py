"""The search's mixed-precision quantiser, Σ_k p_k·r_k·Q_k(x), as numba kernels.

Why: built from torch ops, the mixture makes ~10 full-size temporaries per option forward (the
codes, the clipping mask, the projection, the product with p_k, the running sum, the distortion
terms) and as many in the backward pass; on a 19 M-value activation (Coauthor CS, 8 heads of
128) with the five activation widths that took 1.9 s forward and 3.1 s forward + backward (one
thread), the largest part of an architecture step. These kernels stream x once per option for
the projections' moments and once per option for the mixture, recomputing Q_k(x) on the fly:
88 ms forward, 379 ms forward + backward (benchmarks/bench_quant.py). The backward pass
recomputes Q_k(x) too instead of saving K masks.

Options are coded flat, one entry per option in arrays of x's dtype (`kinds` int64):
  F32 (Q(x) = x), UNIFORM (codes = rint(x·inv) clamped to ±limit, times scale: bit for bit
  lpgnas.quant.quantizers.fake_quant's float32 arithmetic), BINARY (±magnitude, sign(0) = +1) and
  TERNARY (sign(x)·magnitude where |x| > threshold, else 0); lpgnas.quant.quantizers computes the scales,
  magnitudes and thresholds as its plain quantisers do. The straight-through gradient passes
  where a uniform code lies within ±limit and everywhere for the other kinds.
x is 1-D and C-contiguous (float32 or float64). Sums accumulate in float64; `reassoc` lets LLVM
vectorise them (their order is free, as torch's own reductions' is) and may regroup p·(r·Q), so
the mixture equals the torch-op one to rounding, not bit for bit. Serial (docs/design.md §7).
"""

from __future__ import annotations

import numpy as np
from numba import njit

F32, UNIFORM, BINARY, TERNARY = 0, 1, 2, 3
_FAST = {"reassoc"}


@njit(cache=True, inline="always")
def _quantize(v, kind, inv, scale, limit, magnitude, threshold):
    if kind == UNIFORM:
        return min(max(np.rint(v * inv), -limit), limit) * scale
    if kind == BINARY:
        return magnitude if v >= 0 else -magnitude
    if kind == TERNARY:
        if v > threshold:
            return magnitude
        return -magnitude if v < -threshold else v * 0
    return v


@njit(cache=True, inline="always")
def _passes(v, kind, inv, limit):
    """Whether the straight-through gradient passes at v."""
    if kind == UNIFORM:
        code = np.rint(v * inv)
        return -limit <= code <= limit
    return True


@njit(cache=True, fastmath=_FAST)
def sum_of_squares(x):
    """‖x‖², summed in float64: as exact as torch's x.square().sum() (a cascade sum) without its
    temporary (157 against ~12 ms on a 37.5 M-value activation, one thread), where torch's
    float32 vector_norm and dot were off by 2.5e-3 and 9e-4 relative."""
    total = 0.0
    for i in range(x.size):
        total += np.float64(x[i]) * np.float64(x[i])
    return total


@njit(cache=True, fastmath=_FAST)
def option_moments(x, kind, inv, scale, limit, magnitude, threshold):
    """(<x, Q(x)>, ‖Q(x)‖²) for one option."""
    dot, norm = 0.0, 0.0
    for i in range(x.size):
        v = x[i]
        q = _quantize(v, kind, inv, scale, limit, magnitude, threshold)
        dot += v * q
        norm += q * q
    return dot, norm


@njit(cache=True, fastmath=_FAST)
def mixture_forward(x, kinds, invs, scales, limits, magnitudes, thresholds, ratios, probs):
    """out = Σ_k probs[k]·(ratios[k]·Q_k(x)), summed in option order, and the squared errors
    Σ (ratios[k]·Q_k(x) − x)² per option."""
    out = np.zeros_like(x)
    errors = np.zeros(kinds.size)
    for k in range(kinds.size):
        kind, inv, scale, limit = kinds[k], invs[k], scales[k], limits[k]
        magnitude, threshold, ratio, p = magnitudes[k], thresholds[k], ratios[k], probs[k]
        error = 0.0
        for i in range(x.size):
            v = x[i]
            q = _quantize(v, kind, inv, scale, limit, magnitude, threshold) * ratio
            out[i] += p * q
            error += (q - v) * (q - v)
        errors[k] = error
    return out, errors


@njit(cache=True, fastmath=_FAST)
def mixture_backward(x, grad, kinds, invs, scales, limits, magnitudes, thresholds, ratios, probs, want_x):
    """The gradients of Σ grad·out: for x (if want_x), grad·Σ_k probs[k]·ratios[k]·[passes_k],
    and per option ratios[k]·<grad, Q_k(x)> for probs."""
    grad_x = np.zeros_like(x) if want_x else np.zeros(0, dtype=x.dtype)
    grad_probs = np.zeros(kinds.size)
    for k in range(kinds.size):
        kind, inv, scale, limit = kinds[k], invs[k], scales[k], limits[k]
        magnitude, threshold, ratio = magnitudes[k], thresholds[k], ratios[k]
        weight = probs[k] * ratio
        total = 0.0
        for i in range(x.size):
            v, g = x[i], grad[i]
            total += g * _quantize(v, kind, inv, scale, limit, magnitude, threshold)
            if want_x and _passes(v, kind, inv, limit):
                grad_x[i] += g * weight
        grad_probs[k] = ratio * total
    return grad_x, grad_probs
