"""Pareto analysis of a sweep: pareto.csv and one PNG per dataset and cost (docs/design.md §7).

The frontier is taken over the searched points of each (dataset, target) series: a point is
on it when no other point of the series is at least as accurate and at most as costly, and
strictly better in one of the two. The `--no-hw` search and the manual baselines are drawn as
reference points, not frontier members.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on a cluster node or in CI
import matplotlib.pyplot as plt  # noqa: E402

from lpgnas.io.runfiles import write_atomic, write_text  # noqa: E402

# (row field, axis label, file suffix)
COSTS = (("latency_ms", "simulated latency (ms)", "latency"),
         ("peak_buffer_kib", "simulated peak on-chip buffer (KiB)", "buffer"),
         ("model_size_kib", "model size (KiB)", "size"))
CSV_FIELDS = ("dataset", "target", "kind", "label", "seed", "latency_weight", "latency_budget_ms",
              "buffer_budget_kib", "test_acc", "test_acc_std", "val_acc", "latency_ms", "peak_buffer_kib",
              "model_size_kib", "on_latency_frontier", "on_buffer_frontier", "on_size_frontier", "key", "run_dir")


def frontier(points: list[tuple[float, float]]) -> list[bool]:
    """For (cost, accuracy) pairs: which are Pareto-optimal (lower cost, higher accuracy)."""
    return [not any(c2 <= c and a2 >= a and (c2 < c or a2 > a) for c2, a2 in points) for c, a in points]


def annotate(rows: list[dict]) -> list[dict]:
    """The rows with an on_<cost>_frontier flag each (False for reference points)."""
    rows = [dict(r) for r in rows]
    for field, _, suffix in COSTS:
        for r in rows:
            r[f"on_{suffix}_frontier"] = False
        series: dict[tuple, list[dict]] = {}
        for r in rows:
            if r["kind"] == "search":
                series.setdefault((r["dataset"], r["target"]), []).append(r)
        for members in series.values():
            for r, on in zip(members, frontier([(m[field], m["test_acc"]) for m in members])):
                r[f"on_{suffix}_frontier"] = on
    return rows


def _csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in CSV_FIELDS})
    return out.getvalue()


def png_bytes(fig) -> bytes:
    """A finished figure as PNG bytes (written atomically by the caller); the figure is closed."""
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _plot(rows: list[dict], dataset: str, field: str, label: str) -> bytes:
    fig, ax = plt.subplots(figsize=(7.5, 5), dpi=120)
    targets = sorted({r["target"] for r in rows})
    colours = dict(zip(targets, plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4))
    suffix = next(s for f, _, s in COSTS if f == field)
    for target in targets:
        colour = colours[target]
        search = [r for r in rows if r["target"] == target and r["kind"] == "search"]
        ax.scatter([r[field] for r in search], [100 * r["test_acc"] for r in search], color=colour, alpha=0.45,
                   s=28, label=f"{target}: searched")
        front = sorted((r for r in search if r[f"on_{suffix}_frontier"]), key=lambda r: r[field])
        if front:
            ax.step([r[field] for r in front], [100 * r["test_acc"] for r in front], where="post", color=colour,
                    linewidth=1.8, marker="o", label=f"{target}: frontier")
        for r in rows:
            if r["target"] != target or r["kind"] == "search":
                continue
            star = r["kind"] == "reference"
            ax.scatter([r[field]], [100 * r["test_acc"]], color=colour, marker="*" if star else "s",
                       s=150 if star else 36, edgecolor="black", linewidth=0.6, zorder=3)
            ax.annotate(r["label"], (r[field], 100 * r["test_acc"]), textcoords="offset points", xytext=(5, 4),
                        fontsize=7, color="0.25")
    kinds = {r["kind"] for r in rows}
    if "reference" in kinds:  # legend keys only for the markers drawn
        ax.scatter([], [], marker="*", s=150, color="white", edgecolor="black", label="--no-hw search")
    if kinds - {"search", "reference"}:
        ax.scatter([], [], marker="s", s=36, color="white", edgecolor="black", label="manual baselines")
    values = [r[field] for r in rows if r[field] > 0]
    if values and max(values) / min(values) > 20:
        ax.set_xscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{dataset}: accuracy vs {label.split(' (')[0]}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return png_bytes(fig)


def write_pareto(sweep_dir: Path, records: list) -> list[str]:
    """pareto.csv and the PNGs for the done records; the files written (relative to sweep_dir)."""
    rows = annotate([row for r in records if r.status == "done" for row in r.rows])
    kinds = {"search": 0, "reference": 1}
    rows.sort(key=lambda r: (r["dataset"], r["target"], kinds.get(r["kind"], 2), r["latency_ms"]))
    write_text(sweep_dir / "pareto.csv", _csv(rows))
    files = ["pareto.csv"]
    for dataset in sorted({r["dataset"] for r in rows}):
        subset = [r for r in rows if r["dataset"] == dataset]
        for field, label, suffix in COSTS:
            name = f"pareto-{dataset}-{suffix}.png"
            write_atomic(sweep_dir / name, _plot(subset, dataset, field, label))
            files.append(name)
    return files
