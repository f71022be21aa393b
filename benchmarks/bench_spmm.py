"""Layer-1 sparse product: torch.sparse.mm on COO vs. lpgnas.spmm (CSR, cached transpose).

Usage: python benchmarks/bench_spmm.py [--datasets cora,citeseer] [--widths 16,64,128,512]

For each dataset's bag-of-words features X and an output width, prints milliseconds for X·W
forward alone (the evaluation pass) and forward + backward to W (the training step), both
paths side by side in one run, and their ratio. One thread, as the study's workers run.
"""

from __future__ import annotations

import argparse
import time

import torch

from lpgnas.data import load_dataset
from lpgnas.model import as_input
from lpgnas.spmm import sparse_matmul, sparse_pattern


def milliseconds(fn, repeat: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e3


def time_both(x, pattern, weight, repeat: int) -> tuple[float, float, float, float]:
    """Forward (no grad) and forward + backward milliseconds, COO then CSR."""
    def coo_forward():
        with torch.no_grad():
            return torch.sparse.mm(x, weight)

    def csr_forward():
        with torch.no_grad():
            return sparse_matmul(pattern, x.values(), weight)

    def coo_step():
        torch.sparse.mm(x, weight).sum().backward()

    def csr_step():
        sparse_matmul(pattern, x.values(), weight).sum().backward()

    return tuple(milliseconds(fn, repeat) for fn in (coo_forward, csr_forward, coo_step, csr_step))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="cora,citeseer")
    parser.add_argument("--widths", default="16,64,128,512")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'dataset':<10}{'width':>6}{'COO fwd':>10}{'CSR fwd':>10}{'ratio':>7}"
          f"{'COO f+b':>10}{'CSR f+b':>10}{'ratio':>7}   (ms)")
    for name in args.datasets.split(","):
        x = as_input(load_dataset(name).x)
        pattern = sparse_pattern(x)
        for width in (int(w) for w in args.widths.split(",")):
            weight = torch.randn(x.size(1), width, requires_grad=True)

            coo_f, csr_f, coo_s, csr_s = time_both(x, pattern, weight, args.repeat)
            print(f"{name:<10}{width:>6}{coo_f:>10.2f}{csr_f:>10.2f}{coo_f / csr_f:>6.1f}x"
                  f"{coo_s:>10.2f}{csr_s:>10.2f}{coo_s / csr_s:>6.1f}x")


if __name__ == "__main__":
    main()
