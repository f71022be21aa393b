"""hwsim speed: the buffer simulation on a synthetic power-law graph, one layer on Cora, and
numba's on-disk cache across processes.

Usage: python benchmarks/bench_hwsim.py [--nodes 1000000] [--edges 10000000] [--slice 200000]

Printed side by side in one run:
- the kernel's throughput (edges/s) computing the miss curve of every buffer capacity at once
  over the whole edge stream (goal: <= 10 s for >= 10 M edges);
- on the same slice of the stream: the kernel vs. the same algorithm run as plain Python
  (`py_func`) and vs. the obvious reference (tests/naive.py, an LRU replay per capacity) for
  the capacities a cost table needs (goal: kernel >= 50x the reference);
- one full layer simulation on Cora after compilation (goal: <= 5 ms);
- first kernel call in two fresh processes sharing one cache directory (the second loads the
  compiled code instead of compiling).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hwsim._kernels import _stack_distance_histogram, lru_miss_curve  # noqa: E402
from hwsim.graph import Graph  # noqa: E402
from hwsim.network import ACTIVATION_QUANTS, HEAD_COUNTS, HIDDEN_SIZES, QUANT_BITS  # noqa: E402
from hwsim.target import load_target  # noqa: E402


def power_law_graph(num_nodes: int, num_edges: int, seed: int = 0) -> Graph:
    """Sources drawn with Pareto popularity (a few hubs, a long tail), destinations uniform."""
    rng = np.random.default_rng(seed)
    popularity = rng.pareto(1.2, num_nodes) + 1e-3
    cdf = np.cumsum(popularity / popularity.sum())
    src = np.minimum(np.searchsorted(cdf, rng.random(num_edges)), num_nodes - 1)
    dst = rng.integers(0, num_nodes, num_edges)
    return Graph.from_edge_index(np.stack([src, dst]), num_nodes, add_self_loops=False, name="power-law")


def table_capacities(target, num_nodes: int, num_classes: int = 7) -> list[int]:
    """The distinct buffer capacities (in nodes) a cost table over the search space needs."""
    widths = {h * k for h in HIDDEN_SIZES for k in HEAD_COUNTS} | {num_classes * k for k in HEAD_COUNTS}
    buffer = target.buffer_bytes("message")
    caps = {buffer // -(-(w * QUANT_BITS[q]) // 8) for w in widths for q in ACTIVATION_QUANTS}
    return sorted(c for c in caps if c < num_nodes)


def timed(fn, *args, repeat: int = 1):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, out


def cache_probe() -> None:
    code = ("import time, numpy as np; from hwsim._kernels import lru_miss_curve; t = time.perf_counter(); "
            "lru_miss_curve(np.arange(10, dtype=np.int64), 10); print(f'{time.perf_counter() - t:.4f}')")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        first, second = (float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                              text=True, check=True).stdout) for _ in range(2))
    print(f"numba cache (fresh cache dir, two processes): first kernel call {first * 1e3:.0f} ms in the first "
          f"process (compiles), {second * 1e3:.1f} ms in the second (loads the cache): {first / second:.0f}x")


def cora_layer() -> None:
    if not os.environ.get("LPGNAS_DATA"):
        print("Cora layer: skipped (set LPGNAS_DATA to the offline datasets)")
        return
    from hwsim.network import parse_arch
    from hwsim.simulate import simulate
    from lpgnas.data import load_dataset

    data = load_dataset("cora")
    target = load_target("zcu102")
    layer = parse_arch({"layers": [{"attention": "gat", "aggregation": "sum", "heads": 8,
                                    "quant": {"weight": "q4", "feature": "q8", "attention": "q8", "message": "q8"}}]})
    simulate(data.to_hw(), layer, target, 7)  # compile / load
    fresh = [data.to_hw() for _ in range(20)]  # a new graph each time: the buffer simulation runs too
    start = time.perf_counter()
    for graph in fresh:
        simulate(graph, layer, target, 7)
    per_layer_ms = (time.perf_counter() - start) / len(fresh) * 1e3
    print(f"Cora, one GAT layer (8 heads, W4A8) incl. buffer simulation: {per_layer_ms:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=10_100_000, help="drawn; duplicates are dropped")
    parser.add_argument("--slice", type=int, default=200_000, help="edges compared against the references")
    args = parser.parse_args()

    cache_probe()
    lru_miss_curve(np.arange(4, dtype=np.int64), 4)  # compile outside the timings
    start = time.perf_counter()
    graph = power_law_graph(args.nodes, args.edges)
    print(f"graph: {graph.num_nodes:,} nodes, {graph.num_edges:,} edges, max in-degree {graph.max_in_degree}, "
          f"built in {time.perf_counter() - start:.1f} s")
    seconds, curve = timed(lru_miss_curve, graph.indices, graph.num_nodes)
    target = load_target("zcu102")
    caps = table_capacities(target, graph.num_nodes)
    print(f"kernel, all capacities at once, whole stream: {seconds:.2f} s = {graph.num_edges / seconds:,.0f} edges/s "
          f"({len(caps)} distinct capacities needed by a cost table on {target.name}; hit rate at the largest "
          f"{1 - curve[caps[-1]] / graph.num_edges:.3f})")

    import naive

    part = np.ascontiguousarray(graph.indices[: args.slice])
    kernel_s, (hist, cold) = timed(_stack_distance_histogram, part, np.int64(graph.num_nodes), repeat=3)
    py_s, (py_hist, py_cold) = timed(_stack_distance_histogram.py_func, part, graph.num_nodes)
    assert py_cold == cold and np.array_equal(py_hist, hist)
    probe = caps[:: max(1, len(caps) // 4)][:4]
    start = time.perf_counter()
    slice_curve = lru_miss_curve(part, graph.num_nodes)
    for cap in probe:
        assert naive.lru_misses(part, cap) == slice_curve[cap]
    replay_s = (time.perf_counter() - start) / len(probe) * len(caps)
    print(f"same {args.slice:,}-edge slice: kernel {kernel_s * 1e3:.1f} ms | same algorithm in plain Python "
          f"{py_s:.2f} s ({py_s / kernel_s:.0f}x) | LRU replay for the {len(caps)} capacities "
          f"{replay_s:.2f} s, extrapolated from {len(probe)} replays ({replay_s / kernel_s:.0f}x)")
    cora_layer()


if __name__ == "__main__":
    main()
