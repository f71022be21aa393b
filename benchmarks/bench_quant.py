"""The search's quantiser mixture Σ_i p_i·r_i·Q_i(x): lpgnas's numba kernels (lpgnas.quant.kernels)
against the same mixture in plain torch ops (tests/naive.py), side by side in one run.

Usage: python benchmarks/bench_quant.py [--sizes 100000,1000000,19000000] [--repeat 3]

For each size (values in the tensor; 19 M is a Coauthor CS activation of 8 heads of 128) and
each set of options (the 7 weight widths, the 5 activation widths), milliseconds for the forward
pass alone and for forward + backward to x and the probabilities, one thread, as the study's
workers run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from timing import milliseconds  # noqa: E402  (benchmarks/timing.py)

from hwsim.network import ACTIVATION_QUANTS, WEIGHT_QUANTS  # noqa: E402
from lpgnas.quant.quantizers import _Mixture  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,19000000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from naive import mixed_quantize

    torch.set_num_threads(1)
    print(f"{'values':>11} {'options':>8} {'torch fwd':>10} {'lpgnas fwd':>11} {'ratio':>6} "
          f"{'torch f+b':>10} {'lpgnas f+b':>11} {'ratio':>6}")
    for size in (int(s) for s in args.sizes.split(",")):
        x = torch.randn(size, requires_grad=True)
        for name, options in (("weight", WEIGHT_QUANTS), ("activ.", ACTIVATION_QUANTS)):
            probs = torch.softmax(torch.randn(len(options)), 0).requires_grad_(True)
            times = [milliseconds(step, args.repeat) for step in steps(mixed_quantize, x, probs, options)
                     + steps(_Mixture.apply, x, probs, options)]
            print(f"{size:>11,} {name:>8} {times[0]:>10.1f} {times[2]:>11.1f} {times[0] / times[2]:>5.1f}x "
                  f"{times[1]:>10.1f} {times[3]:>11.1f} {times[1] / times[3]:>5.1f}x")


def steps(mixture, x, probs, options) -> list:
    """The forward pass alone (no graph recorded: an evaluation), and forward + backward."""
    def forward():
        with torch.no_grad():
            mixture(x, probs, options, None)

    def forward_backward():
        mixture(x, probs, options, None)[0].sum().backward()

    return [forward, forward_backward]


if __name__ == "__main__":
    main()
