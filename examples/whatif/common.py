"""Shared bits of the what-if scripts: load a graph once, simulate, print a before/after table."""

from __future__ import annotations

import argparse
from pathlib import Path

from hwsim.simulate import simulate
from lpgnas.data import load_dataset
from lpgnas.io.archfile import load_arch_file

ARCHS = Path(__file__).resolve().parents[1] / "archs"


def parse_args(description: str, default_dataset: str = "pubmed",
               default_archs: str = "gcn,gcn-w4a8,gat,gat-w4a8") -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--dataset", default=default_dataset, help=f"dataset name (default: {default_dataset})")
    parser.add_argument("--data-root", help="dataset root (default: $LPGNAS_DATA)")
    parser.add_argument("--archs", default=default_archs,
                        help="comma-separated names from examples/archs (default: %(default)s)")
    return parser.parse_args()


def compare(args: argparse.Namespace, before, after, before_label: str, after_label: str) -> None:
    """Simulate each arch on both targets and print latency, DRAM traffic and buffer hit rate."""
    data = load_dataset(args.dataset, args.data_root)
    graph = data.to_hw()
    print(f"dataset {data.name}: {graph.num_nodes:,} nodes, {graph.num_edges:,} edges (self-loops included)")
    print(f"{'network':<12}{'':<3}{before_label:>24}{after_label:>24}{'speed-up':>10}{'DRAM ratio':>12}")
    print(f"{'':<15}{'latency ms / hit rate':>24}{'latency ms / hit rate':>24}")
    for name in args.archs.split(","):
        arch, _ = load_arch_file(ARCHS / f"{name}.yaml")
        a, b = simulate(graph, arch, before, data.num_classes), simulate(graph, arch, after, data.num_classes)
        hit_a = min(layer.hit_rate for layer in a.layers)
        hit_b = min(layer.hit_rate for layer in b.layers)
        print(f"{name:<15}{a.latency_ms:>15.4f} / {hit_a:.3f}{b.latency_ms:>15.4f} / {hit_b:.3f}"
              f"{a.latency_ms / b.latency_ms:>10.2f}{b.dram_bytes / a.dram_bytes:>12.2f}")
