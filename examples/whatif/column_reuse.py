"""What do a layer's idle PE columns cost? LW-GCN's target (benchmarks/published: a 16 x 32
array, compute-bound on the citation graphs) as it is, against the same device putting the
columns a narrow layer leaves idle to work on other nodes (`column_reuse: true`).

A 16-wide hidden layer uses 16 of the 32 columns and a 7-class output layer 7; with reuse the
array works on 2 or 4 groups of 16 nodes at once. It pays where compute bounds the phase: on the
ZCU102 preset, bound by its 19.2 GB/s DRAM, the same switch changes latency by under 1 %.

Run: python examples/whatif/column_reuse.py [--dataset cora] [--archs gcn-w8a8,gat-w8a8]
"""

from pathlib import Path

from common import compare, parse_args

from hwsim.target import load_target

TARGET = Path(__file__).resolve().parents[2] / "benchmarks" / "published" / "lw-gcn-xc7k325t.yaml"

if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0], default_dataset="cora", default_archs="gcn-w8a8,gcn-w4a8,gat-w8a8")
    target = load_target(TARGET)
    compare(args, target, target.with_changes(column_reuse=True), "columns idle", "spare columns reused")
