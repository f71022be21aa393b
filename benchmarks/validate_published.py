"""hwsim against published accelerators: predicted vs. reported full-graph GCN latency.

Usage: python benchmarks/validate_published.py [--data-root DIR] [--json OUT.json] [--markdown]

Each case configures a target after a published GNN accelerator (benchmarks/published/*.yaml,
every figure cited there, every guess marked ASSUMED), simulates the network the paper runs
(the 2-layer, 16-hidden GCN of Kipf & Welling at the paper's precision) on the real graph, and
prints predicted vs. published latency with the error (predicted / published − 1) and whether
the simulated network is compute- or memory-bound. Cases whose target is mostly assumed are
printed but kept out of the summary. A dataset missing from LPGNAS_DATA is skipped with its
reason.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

from hwsim.errors import InputError
from hwsim.network import ArchSpec, parse_arch
from hwsim.simulate import Report, simulate
from hwsim.target import load_target
from lpgnas.data import load_dataset

PUBLISHED = Path(__file__).resolve().parent / "published"

LW_GCN = "Tao et al., LW-GCN, ACM TRETS 2022 (comparison table, quoted in the FP8GCN README)"
FLOWGNN = "Sarkar et al., FlowGNN, HPCA 2023, Table VIII (quoted in sharc-lab/FlowGNN issue #4)"
GCNAX = "Li et al., GCNAX, HPCA 2021 (as reported in LW-GCN's comparison table)"


@dataclass(frozen=True)
class Case:
    accelerator: str
    target_file: str
    dataset: str
    precision: str  # the quantiser of weights, features and messages (q8, q16, f32)
    published_us: float
    source: str
    assumed: bool = False  # the target's main figures are guesses: reported, not summarised


CASES = (
    Case("LW-GCN", "lw-gcn-xc7k325t.yaml", "cora", "q8", 41.2, LW_GCN),
    Case("LW-GCN", "lw-gcn-xc7k325t.yaml", "citeseer", "q8", 65.2, LW_GCN),
    Case("LW-GCN", "lw-gcn-xc7k325t.yaml", "pubmed", "q8", 571.0, LW_GCN),
    Case("FlowGNN", "flowgnn-u50.yaml", "cora", "q16", 6.912, FLOWGNN),
    Case("GCNAX", "gcnax-asic.yaml", "cora", "f32", 200.0, GCNAX, assumed=True),
    Case("GCNAX", "gcnax-asic.yaml", "citeseer", "f32", 250.0, GCNAX, assumed=True),
    Case("GCNAX", "gcnax-asic.yaml", "pubmed", "f32", 1800.0, GCNAX, assumed=True),
)


def gcn(precision: str) -> ArchSpec:
    """The 2-layer GCN of Kipf & Welling (16 hidden, ReLU) with every tensor at `precision`."""
    quant = {"weight": precision, "feature": precision, "message": precision}
    layer = {"attention": "gcn", "aggregation": "sum", "heads": 1, "quant": quant}
    return parse_arch({"layers": [{**layer, "activation": "relu", "hidden": 16}, layer]})


def bound(report: Report) -> str:
    """Which side of the roofline the simulated network sits on, summed over every phase."""
    phases = [p for layer in report.layers for p in (layer.combination, layer.aggregation)]
    compute = sum(p.compute_cycles for p in phases)
    memory = sum(p.memory_cycles for p in phases)
    return "compute" if compute >= memory else "memory"


def run(cases: tuple[Case, ...], data_root: str | None) -> tuple[list[dict], list[str]]:
    rows, skipped, graphs = [], [], {}
    for case in cases:
        if case.dataset not in graphs:  # each graph loaded and converted once
            try:
                data = load_dataset(case.dataset, data_root)
                graphs[case.dataset] = (data, data.to_hw())
            except InputError as err:
                graphs[case.dataset] = err
        if isinstance(graphs[case.dataset], InputError):
            skipped.append(f"{case.accelerator} on {case.dataset}: skipped ({graphs[case.dataset]})")
            continue
        data, hw_graph = graphs[case.dataset]
        target = load_target(str(PUBLISHED / case.target_file))
        report = simulate(hw_graph, gcn(case.precision), target, data.num_classes)
        predicted_us = report.latency_ms * 1e3
        rows.append({"accelerator": case.accelerator, "target": target.name, "dataset": data.name,
                     "precision": case.precision, "published_us": case.published_us,
                     "predicted_us": predicted_us, "error": predicted_us / case.published_us - 1,
                     "bound": bound(report), "dram_bytes": report.dram_bytes,
                     "assumed_target": case.assumed, "source": case.source})
    return rows, skipped


def summary(rows: list[dict]) -> dict:
    """Mean absolute error, the geometric-mean ratio and the largest deviation of the firm cases."""
    firm = [r for r in rows if not r["assumed_target"]]
    if not firm:
        return {}
    worst = max(firm, key=lambda r: abs(math.log1p(r["error"])))
    return {"cases": len(firm),
            "mean_abs_error": sum(abs(r["error"]) for r in firm) / len(firm),
            "geomean_ratio": math.exp(sum(math.log1p(r["error"]) for r in firm) / len(firm)),
            "largest": f"{worst['accelerator']} on {worst['dataset']}: {worst['error']:+.0%}"}


def print_table(rows: list[dict], markdown: bool) -> None:
    header = ("accelerator", "dataset", "precision", "published µs", "predicted µs", "error", "bound")
    cells = [(r["accelerator"] + (" *" if r["assumed_target"] else ""), r["dataset"], r["precision"],
              f"{r['published_us']:.3f}", f"{r['predicted_us']:.3f}", f"{r['error']:+.0%}", r["bound"])
             for r in rows]
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in cells:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
        for row in (header, *cells):
            print("  ".join(cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))
    print()
    for source in dict.fromkeys(r["source"] for r in rows):
        print(f"- {source}")
    if any(r["assumed_target"] for r in rows):
        print("* target mostly ASSUMED (see its YAML): reported, not in the summary")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", help="dataset root (default: $LPGNAS_DATA)")
    parser.add_argument("--json", help="also write the rows and the summary to this file")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args()
    rows, skipped = run(CASES, args.data_root)
    for line in skipped:
        print(line, file=sys.stderr)
    if not rows:
        print("no case could run: no dataset found", file=sys.stderr)
        return 1
    print_table(rows, args.markdown)
    stats = summary(rows)
    if stats:
        print(f"\n{stats['cases']} cases with cited targets: mean |error| {stats['mean_abs_error']:.0%}, "
              f"geometric-mean predicted/published {stats['geomean_ratio']:.2f}, largest deviation {stats['largest']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "summary": stats, "skipped": skipped}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
