"""The sparse products of lpgnas.sparse.ops against the plain ones, side by side in one run.

Usage: python benchmarks/bench_spmm.py [--datasets cora,citeseer] [--widths 16,64,128,512]
                                       [--shapes 1x16,8x8,4x128] [--reduces sum,max] [--scores gene-linear]
                                       [--sampled-widths 3,5,7,8,16] [--repeat 50]

Features: for each dataset's bag-of-words features X and an output width, milliseconds for X·W
forward alone (the evaluation pass) and forward + backward to W (the training step):
torch.sparse.mm on COO, torch's CSR product, lpgnas.sparse.ops.sparse_matmul (the numba kernels of
lpgnas.sparse.csr on the cached pattern) and the dense product (features >= 5 % non-zero; nan
below); repeats scale down with the width (--repeat at 16 columns).
Aggregation: for the dataset's edges (with self-loops) and H heads of C units, milliseconds for
Σ_{j→i} α_ji·h_j (and max_{j→i}) with per-head coefficients α, forward and forward + backward to
h and α, one gathered message per edge reduced by torch_geometric's scatter against
lpgnas.sparse.ops.aggregate (a CSR product for sum, the numba kernels of lpgnas.sparse.segment_max for max),
with the size of the gathered [E, H, C] tensor the latter never builds.
Scores: the gene-linear attention score Σ_c g_c·tanh(l_i,c + r_j,c) per edge and head, the plain
expression over gathered [E, H, C] rows against lpgnas.sparse.ops.gene_linear_score (chunks of edges).
Sampled products: (A·Bᵀ) at the positions of the dataset's 8-head edge blocks (a coefficient
gradient of 8-head aggregation), torch's sampled_addmm against lpgnas.sparse.csr.csr_sampled, at
the widths lpgnas.sparse.ops hands the kernel (below SAMPLED_KERNEL_BELOW_WIDTH) and a few above.
One thread, as the study's workers run.
"""

from __future__ import annotations

import argparse

import torch
from timing import milliseconds  # benchmarks/timing.py
from torch_geometric.utils import scatter

from lpgnas.data import load_dataset
from lpgnas.nn.model import with_self_loops
from lpgnas.sparse.csr import csr_sampled
from lpgnas.sparse.ops import aggregate, edge_pattern, gene_linear_score, sparse_matmul, sparse_pattern


def forward_ms(fn, repeat: int) -> float:
    """Milliseconds of fn() without gradients (the evaluation pass)."""
    def run():
        with torch.no_grad():
            fn()
    return milliseconds(run, repeat)


def step_ms(fn, repeat: int) -> float:
    """Milliseconds of fn() and its backward pass (the training step)."""
    return milliseconds(lambda: fn().sum().backward(), repeat)


def side_by_side(reference, ours, repeat: int) -> tuple[float, float, float, float]:
    """Forward (no grad) then forward + backward milliseconds of two functions of no arguments."""
    return (forward_ms(reference, repeat), forward_ms(ours, repeat), step_ms(reference, repeat),
            step_ms(ours, repeat))


# The dense product is timed only for features at least this dense: at Coauthor CS's 0.9 % one
# dense product at 2,048 columns is 0.5 TFLOP, and sparse is the only sensible choice there.
DENSE_MIN_DENSITY = 0.05


def time_features(x, pattern, weight, repeat: int) -> dict[str, tuple[float, float]]:
    """Forward (no grad) and forward + backward milliseconds of X·W per implementation: torch on
    COO, torch on CSR, lpgnas (numba kernels on the cached pattern) and a dense matrix product."""
    csr = x.to_sparse_csr()
    products = {"COO": lambda: torch.sparse.mm(x, weight), "CSR": lambda: csr @ weight,
                "lpgnas": lambda: sparse_matmul(pattern, x.values(), weight)}
    if x.values().numel() >= DENSE_MIN_DENSITY * x.numel():
        dense = x.to_dense()
        products["dense"] = lambda: dense @ weight
    return {name: (forward_ms(product, repeat), step_ms(product, repeat)) for name, product in products.items()}


def time_aggregation(edge_index, heads: int, width: int, num_nodes: int, reduce: str,
                     repeat: int) -> tuple[float, ...]:
    """Forward (no grad) and forward + backward milliseconds, gather/scatter then lpgnas."""
    generator = torch.Generator().manual_seed(0)
    h = torch.randn(num_nodes, heads, width, generator=generator, requires_grad=True)
    alpha = torch.rand(edge_index.size(1), heads, generator=generator, requires_grad=True)
    src, dst = edge_index

    def gathered():
        return scatter(h[src] * alpha.unsqueeze(-1), dst, dim=0, dim_size=num_nodes, reduce=reduce)

    def csr():
        return aggregate(h, edge_index, alpha, reduce)

    return side_by_side(gathered, csr, repeat)


def time_gene_linear(edge_index, heads: int, width: int, num_nodes: int, repeat: int) -> tuple[float, ...]:
    """Forward (no grad) and forward + backward milliseconds, plain expression then chunked."""
    generator = torch.Generator().manual_seed(0)
    left, right = (torch.randn(num_nodes, heads, width, generator=generator, requires_grad=True) for _ in "lr")
    gate = torch.randn(1, heads, width, generator=generator, requires_grad=True)
    src, dst = edge_index

    def plain():
        return (torch.tanh(left[dst] + right[src]) * gate).sum(-1)

    def chunked():
        return gene_linear_score(left, right, gate, edge_index)

    return side_by_side(plain, chunked, repeat)


def listed(text: str) -> list[str]:
    """The items of a comma-separated option ('' for none)."""
    return [item for item in text.split(",") if item]


def time_sampled(pattern, width: int, repeat: int) -> tuple[float, float]:
    """Milliseconds of (A·Bᵀ) at the pattern's positions: torch's sampled_addmm, then csr_sampled."""
    rows = pattern.shape[0]
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(rows, width, generator=generator) for _ in "ab")
    ones = torch.sparse_csr_tensor(pattern.crow, pattern.col, torch.ones(pattern.col.numel()), pattern.shape,
                                   check_invariants=False)
    crow, col = pattern.crow.numpy(), pattern.col.numpy()
    return (milliseconds(lambda: torch.sparse.sampled_addmm(ones, a, b.t(), beta=0.0), repeat),
            milliseconds(lambda: csr_sampled(crow, col, a.numpy(), b.numpy()), repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="cora,citeseer")
    parser.add_argument("--widths", default="16,64,128,512")
    parser.add_argument("--shapes", default="1x16,8x8,4x128", help="heads x units of the aggregated messages")
    parser.add_argument("--reduces", default="sum,max", help="aggregators to time")
    parser.add_argument("--scores", default="gene-linear", help="attention scores to time ('' for none)")
    parser.add_argument("--sampled-widths", default="3,5,7,8,16", help="widths of the sampled products ('' for none)")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print_features(args)
    print_aggregation(args)
    if "gene-linear" in listed(args.scores):
        print_gene_linear(args)
    print_sampled(args)


def print_features(args) -> None:
    if not listed(args.widths):
        return
    print(f"{'dataset':<10}{'width':>6}" + "".join(f"{name:>9}" for name in ("COO", "CSR", "lpgnas", "dense"))
          + f"{'CSR/lpg':>8}" + "".join(f"{name + ' f+b':>11}" for name in ("COO", "CSR", "lpgnas", "dense"))
          + f"{'CSR/lpg':>8}   (ms: layer-1 features times W, forward; forward + backward to W)")
    for name in listed(args.datasets):
        x = load_dataset(name).x.to_sparse_coo().coalesce()  # sparse whatever lpgnas.nn.model.as_input picks
        pattern = sparse_pattern(x)
        for width in (int(w) for w in listed(args.widths)):
            weight = torch.randn(x.size(1), width, requires_grad=True)
            times = time_features(x, pattern, weight, max(1, args.repeat * 16 // width))
            forward, step = ([times[k][i] if k in times else float("nan") for k in ("COO", "CSR", "lpgnas", "dense")]
                             for i in (0, 1))
            print(f"{name:<10}{width:>6}" + "".join(f"{t:>9.2f}" for t in forward) + f"{forward[1] / forward[2]:>7.1f}x"
                  + "".join(f"{t:>11.2f}" for t in step) + f"{step[1] / step[2]:>7.1f}x")


def print_aggregation(args) -> None:
    if not listed(args.reduces):
        return
    print(f"\n{'dataset':<10}{'reduce':>7}{'HxC':>7}{'[E,H,C]':>9}{'gather':>10}{'lpgnas':>10}{'ratio':>7}"
          f"{'gath f+b':>10}{'lpg f+b':>10}{'ratio':>7}   (ms, aggregation with per-head coefficients; MB)")
    for name in listed(args.datasets):
        graph = load_dataset(name)
        edge_index = with_self_loops(graph.edge_index, graph.num_nodes)
        for reduce in listed(args.reduces):
            for shape in listed(args.shapes):
                heads, width = (int(v) for v in shape.split("x"))
                gathered_mb = edge_index.size(1) * heads * width * 4 / 1e6
                g_f, c_f, g_s, c_s = time_aggregation(edge_index, heads, width, graph.num_nodes, reduce, args.repeat)
                print(f"{name:<10}{reduce:>7}{shape:>7}{gathered_mb:>9.1f}{g_f:>10.2f}{c_f:>10.2f}{g_f / c_f:>6.1f}x"
                      f"{g_s:>10.2f}{c_s:>10.2f}{g_s / c_s:>6.1f}x")


def print_sampled(args) -> None:
    if not listed(args.sampled_widths):
        return
    print(f"\n{'dataset':<10}{'width':>6}{'torch':>10}{'kernel':>10}{'ratio':>7}"
          "   (ms, sampled product at the 8-head edge blocks)")
    for name in listed(args.datasets):
        graph = load_dataset(name)
        edges = edge_pattern(with_self_loops(graph.edge_index, graph.num_nodes), graph.num_nodes)
        for width in (int(w) for w in listed(args.sampled_widths)):
            torch_ms, kernel_ms = time_sampled(edges.blocks(8).matrix, width, args.repeat)
            print(f"{name:<10}{width:>6}{torch_ms:>10.2f}{kernel_ms:>10.2f}{torch_ms / kernel_ms:>6.1f}x")


def print_gene_linear(args) -> None:
    print(f"\n{'dataset':<10}{'HxC':>7}{'[E,H,C]':>9}{'plain':>10}{'chunked':>10}{'ratio':>7}"
          f"{'plain f+b':>10}{'chk f+b':>10}{'ratio':>7}   (ms, gene-linear score; MB)")
    for name in listed(args.datasets):
        graph = load_dataset(name)
        edge_index = with_self_loops(graph.edge_index, graph.num_nodes)
        for shape in listed(args.shapes):
            heads, width = (int(v) for v in shape.split("x"))
            gathered_mb = edge_index.size(1) * heads * width * 4 / 1e6
            p_f, c_f, p_s, c_s = time_gene_linear(edge_index, heads, width, graph.num_nodes, args.repeat)
            print(f"{name:<10}{shape:>7}{gathered_mb:>9.1f}{p_f:>10.2f}{c_f:>10.2f}{p_f / c_f:>6.1f}x"
                  f"{p_s:>10.2f}{c_s:>10.2f}{p_s / c_s:>6.1f}x")


if __name__ == "__main__":
    main()
