"""What does filling and draining the PE array cost? LW-GCN's target (benchmarks/published) with
consecutive folds overlapping their fill and drain (`dataflow: pipelined`, the template's
default) against each fold filling and draining on its own (`per_fold`, K + rows + columns - 2
cycles per fold, as SCALE-Sim counts a systolic array).

Run: python examples/whatif/fill_drain.py [--dataset cora] [--archs gcn-w8a8]
"""

from pathlib import Path

from common import compare, parse_args

from hwsim.target import load_target

TARGET = Path(__file__).resolve().parents[2] / "benchmarks" / "published" / "lw-gcn-xc7k325t.yaml"

if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0], default_dataset="cora", default_archs="gcn-w8a8,gcn-w4a8,gat-w8a8")
    pipelined = load_target(TARGET).with_changes(dataflow="pipelined")
    compare(args, pipelined, pipelined.with_changes(dataflow="per_fold"), "pipelined folds", "each fold fills")
