"""torch's dropout against lpgnas.nn.dropout, side by side in one run, at the sizes a GAT baseline
drops out on each dataset: the layer-1 feature non-zeros and the edge coefficients of 8 heads
(edges with self-loops). Milliseconds per call, forward + backward, p = 0.6 (the GAT paper's),
one thread, as the study's workers run.

Usage: python benchmarks/bench_dropout.py [--datasets cora,pubmed,photo,cs] [--repeat 20]
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from timing import milliseconds  # benchmarks/timing.py

from lpgnas.data import load_dataset
from lpgnas.nn.dropout import dropout

HEADS, P = 8, 0.6


def step_ms(fn, x: torch.Tensor, repeat: int) -> float:
    grad = torch.ones_like(x)
    return milliseconds(lambda: fn(x).backward(grad), repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="cora,pubmed,photo,cs")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'dataset':10} {'tensor':22} {'elements':>10} {'F.dropout ms':>13} {'lpgnas ms':>10} {'ratio':>6}")
    for name in args.datasets.split(","):
        graph = load_dataset(name, None)
        sizes = {"feature non-zeros": int((graph.x != 0).sum()),
                 f"edge coefficients x{HEADS}": (graph.edge_index.size(1) + graph.num_nodes) * HEADS}
        for tensor, count in sizes.items():
            x = torch.randn(count, requires_grad=True)
            ours = step_ms(lambda v: dropout(v, P, True), x, args.repeat)
            torch_ms = step_ms(lambda v: F.dropout(v, P, True), x, args.repeat)
            print(f"{name:10} {tensor:22} {count:>10,} {torch_ms:>13.2f} {ours:>10.2f} {torch_ms / ours:>5.1f}x")


if __name__ == "__main__":
    main()
