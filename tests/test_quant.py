import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from naive import mixed_quantize as naive_mixture

from hwsim.network import WEIGHT_QUANTS
from lpgnas.quant.kernels import sum_of_squares
from lpgnas.quant.mixture import MixedQuantizer, _Mixture
from lpgnas.quant.quantizers import Quantizer, abs_max, binarize, fake_quant, integer_max, ternarize

FIXED = ["q2", "q4", "q8", "q16"]
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
tensors = arrays("float32", st.integers(1, 64), elements=finite).map(torch.from_numpy)


@settings(max_examples=60, deadline=None)
@given(x=tensors, option=st.sampled_from(FIXED + ["b1", "t2"]))
def test_at_most_two_to_the_bits_distinct_values(x, option):
    bits = {"b1": 1, "t2": 2, "q2": 2, "q4": 4, "q8": 8, "q16": 16}[option]
    assert torch.unique(fake_quant(x, option)).numel() <= 2**bits


@settings(max_examples=60, deadline=None)
@given(x=tensors, option=st.sampled_from(FIXED + ["b1"]))
def test_quantising_twice_equals_once(x, option):
    once = fake_quant(x, option)
    torch.testing.assert_close(fake_quant(once, option), once, rtol=1e-6, atol=1e-6 * float(once.abs().max()))


def test_ternary_is_idempotent_on_its_own_grid():
    x = torch.tensor([-3.0, -0.1, 0.0, 0.2, 2.5, 4.0])
    once = ternarize(x)
    assert set(once.tolist()) <= {0.0, float(once.abs().max()), -float(once.abs().max())}
    torch.testing.assert_close(ternarize(once), once)


@given(x=tensors)
def test_f32_is_identity(x):
    assert fake_quant(x, "f32") is x


def test_fixed_point_formula_by_hand():
    x = torch.tensor([-1.0, -0.26, 0.0, 0.3, 0.5, 1.0])
    # q4: Q = 7, s = max|x|/7
    s = 1.0 / 7
    expected = torch.clamp(torch.round(x / s), -7, 7) * s
    torch.testing.assert_close(fake_quant(x, "q4"), expected)
    assert integer_max("q2") == 1 and integer_max("q8") == 127 and integer_max("q16") == 32767


def test_binary_and_ternary_values_by_hand():
    x = torch.tensor([-2.0, -1.0, 1.0, 4.0])
    torch.testing.assert_close(binarize(x), torch.tensor([-2.0, -2.0, 2.0, 2.0]))  # alpha = mean|x| = 2
    y = torch.tensor([-3.0, -0.5, 0.5, 1.0, 5.0])  # mean|y| = 2 -> delta = 1.4; alpha = mean(3, 5) = 4
    torch.testing.assert_close(ternarize(y), torch.tensor([-4.0, 0.0, 0.0, 0.0, 4.0]))


@settings(max_examples=80, deadline=None)
@given(x=tensors, option=st.sampled_from(FIXED), shrink=st.floats(0.3, 1.0))
def test_fake_quant_equals_torch_fake_quantize_bit_for_bit(x, option, shrink):
    """lpgnas.quant.quantizers keeps torch's fused kernel's arithmetic (and its gradient mask) in plain ops."""
    q = integer_max(option)
    max_abs = max(float(x.abs().max()) * shrink, 1e-12)  # a calibrated range clips some values
    ours = x.clone().requires_grad_(True)
    theirs = x.clone().requires_grad_(True)
    out = fake_quant(ours, option, max_abs)
    reference = torch.fake_quantize_per_tensor_affine(theirs, max_abs / q, 0, -q, q)
    assert torch.equal(out, reference)
    upstream = torch.linspace(-1, 1, x.numel())
    (out * upstream).sum().backward()
    (reference * upstream).sum().backward()
    assert torch.equal(ours.grad, theirs.grad)


def test_ste_gradient_passes_inside_range_and_is_zero_outside():
    x = torch.tensor([-3.0, -0.5, 0.0, 0.5, 3.0], requires_grad=True)
    out = fake_quant(x, "q4", max_abs=1.0)  # range [-1, 1]
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


@given(x=tensors, option=st.sampled_from(["b1", "t2"]))
def test_binary_and_ternary_ste_is_identity(x, option):
    x = x.clone().requires_grad_(True)
    fake_quant(x, option).sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_activation_quantiser_fixes_its_scale_for_evaluation():
    q = Quantizer("q8", running=True)
    q.train()
    q(torch.tensor([1.0, -2.0], requires_grad=True))
    assert float(q.running_max) == 2.0
    q.eval()
    out = q(torch.tensor([4.0, 1.0], requires_grad=True))  # 4 lies beyond the calibrated range
    assert float(out[0].detach()) == 2.0


def test_constant_input_is_quantised_once_and_reused():
    q = Quantizer("q4", running=True)
    x = torch.rand(5, 3)
    first = q(x)
    assert q(x) is first
    x.mul_(2)  # an in-place change invalidates the cached result
    assert q(x) is not first


def test_mixed_quantiser_mixes_and_a_sampled_width_quantises_plainly():
    q = MixedQuantizer(("q2", "q8", "f32"), running=True)
    x = torch.randn(6, 4)
    probs = torch.tensor([0.2, 0.3, 0.5], requires_grad=True)
    mixed, distortion = q(x, probs)
    mixed.sum().backward()
    assert probs.grad is not None and float(distortion.detach()) > 0
    with torch.no_grad():
        assert q(x, probs)[1] is None  # no distortion without gradients: nothing would read it
    for index, option in enumerate(q.options):
        one_hot = torch.nn.functional.one_hot(torch.tensor(index), 3).float()
        plain, none = q(x, one_hot)
        torch.testing.assert_close(plain, fake_quant(x, option, q.running_max))
        assert none is None
    sparse = x.relu().to_sparse_coo().coalesce()
    picked = q(sparse, torch.tensor([1.0, 0.0, 0.0]))[0].to_dense()
    torch.testing.assert_close(picked, fake_quant(x.relu(), "q2", q.calibrated_max(x.relu())))


def test_sparse_values_equal_the_dense_mix_and_its_gradient():
    """The quantised non-zeros of sparse features, mixed or sampled, equal the dense input's at
    the same positions, and the mixture probabilities get the dense input's gradient."""
    x = torch.randn(7, 5).relu()
    sparse = x.to_sparse_coo().coalesce()
    rows, cols = sparse.indices()
    for probs in (torch.tensor([0.2, 0.3, 0.5]), torch.tensor([0.0, 1.0, 0.0])):
        dense_probs, sparse_probs = (probs.clone().requires_grad_(True) for _ in "ds")
        dense_q, sparse_q = (MixedQuantizer(("q2", "q4", "q8"), running=True) for _ in "ds")
        want = dense_q(x, dense_probs)[0]
        got = sparse_q.sparse_values(sparse, sparse_probs)[0]
        torch.testing.assert_close(got, want[rows, cols])
        want.sum().backward()
        got.sum().backward()
        torch.testing.assert_close(sparse_probs.grad, dense_probs.grad)
        torch.testing.assert_close(sparse_q(sparse, probs.detach())[0].to_dense(), dense_q(x, probs.detach())[0])



@settings(max_examples=60, deadline=None)
@given(x=tensors)
def test_abs_max_is_the_largest_magnitude(x):
    assert torch.equal(abs_max(x), x.abs().amax())


@settings(max_examples=80, deadline=None)
@given(shape=st.sampled_from([(1,), (7,), (40, 3), (5, 2, 4)]), dtype=st.sampled_from([torch.float32, torch.float64]),
       chosen=st.lists(st.sampled_from(WEIGHT_QUANTS), min_size=1, max_size=7, unique=True),
       clip=st.sampled_from([None, 0.5, 1.0, 2.0]), scale=st.sampled_from([1e-3, 1.0, 30.0]),
       seed=st.integers(0, 2**16))
def test_mixture_kernels_equal_the_torch_mixture(shape, dtype, chosen, clip, scale, seed):
    """Values, per-option errors and the gradients for x and the probabilities, against the
    mixture built from fake_quant in torch ops (tests/naive.py)."""
    options = tuple(o for o in WEIGHT_QUANTS if o in chosen)  # ordered narrowest first, as the search's
    generator = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=generator, dtype=dtype) * scale).requires_grad_(True)
    logits = torch.randn(len(options), generator=generator, dtype=torch.float32)
    probs = torch.softmax(logits, 0).requires_grad_(True)
    upstream = torch.randn(shape, generator=generator, dtype=dtype)
    max_abs = None if clip is None else abs_max(x) * clip
    reference_x, reference_probs = (t.detach().clone().requires_grad_(True) for t in (x, probs))

    out, errors = _Mixture.apply(x, probs, options, max_abs)
    (out * upstream).sum().backward()
    want, want_errors = naive_mixture(reference_x, reference_probs, options, max_abs)
    (want * upstream).sum().backward()

    tolerance = {"rtol": 1e-4, "atol": 1e-5 * scale}
    torch.testing.assert_close(out, want.to(dtype), **tolerance)
    torch.testing.assert_close(errors, want_errors.to(dtype), rtol=1e-3, atol=1e-6)
    torch.testing.assert_close(x.grad, reference_x.grad, **tolerance)
    torch.testing.assert_close(probs.grad, reference_probs.grad, rtol=1e-3, atol=1e-4 * scale)


@settings(max_examples=60, deadline=None)
@given(x=arrays(st.sampled_from(["float32", "float64"]), st.integers(0, 300),
                elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)))
def test_sum_of_squares_equals_the_exact_sum(x):
    assert math.isclose(sum_of_squares(x), math.fsum(float(v) ** 2 for v in x), rel_tol=1e-12, abs_tol=1e-300)
