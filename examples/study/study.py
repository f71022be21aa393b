"""The LPGNAS study (issue 6): manual baselines, an accuracy-only full-precision NAS, and
lpgnas-hw searches without and with the hardware penalty, on every dataset at hand and split,
then the quantisation statistics of the searched networks.

It runs on the sweep machinery (lpgnas.sweep.runner.run_points): every training and search is a
point with its own run directory and a record in STUDY_DIR/sweep.sqlite, so an interrupted
study loses nothing finished and re-running the command continues it. Phase 1 runs the
baselines and the searches; phase 2 forces uniform bit widths on the searched networks.
The report (study.md and PNGs) is made from the records alone.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only
import matplotlib.pyplot as plt  # noqa: E402

from hwsim.errors import InputError  # noqa: E402
from hwsim.network import WEIGHT_QUANTS, has_coefficients  # noqa: E402
from lpgnas.data import dataset_info, load_dataset  # noqa: E402
from lpgnas.io.archfile import resolve_arch_path  # noqa: E402
from lpgnas.io.runfiles import write_atomic, write_text  # noqa: E402
from lpgnas.sweep.pareto import frontier, png_bytes  # noqa: E402
from lpgnas.sweep.runner import run_points  # noqa: E402
from lpgnas.sweep.spec import Point, dataset_training, point_key  # noqa: E402
from lpgnas.sweep.store import Record, SweepStore, read_records  # noqa: E402

DATASETS = ("cora", "citeseer", "pubmed", "computers", "photo", "cs", "physics")
BASELINES = ("gcn", "gcn-w8a8", "gcn-w4a8", "gat", "gat-w8a8", "gat-w4a8", "sage-mean", "sage-mean-w8a8",
             "sage-mean-w4a8")
# The searches, by the label the report uses: the accuracy-only full-precision NAS (the "NAS
# competitor"), and lpgnas-hw without and with the hardware penalty, the latter twice: the
# search's default latency weight alone, and with a model-size term of the same weight (the
# LPGNAS paper's own objective). With latency alone the searches keep 8-bit weights, so on Cora
# their models are the size of the best manual W8A8 network; the size term halves or quarters
# them for 1-2 points (docs/search-tuning.md, "Model size in the loss").
HW_SEARCH, HW_SIZE_SEARCH = "lpgnas-hw λ=0.1", "lpgnas-hw λ=0.1, λ_size=0.1"
SEARCHES = {
    "NAS f32": {"no_hw": True, "quant_choices": "f32"},
    "lpgnas-hw --no-hw": {"no_hw": True, "quant_choices": "all"},
    HW_SEARCH: {"no_hw": False, "quant_choices": "all", "latency_weight": 0.1},
    HW_SIZE_SEARCH: {"no_hw": False, "quant_choices": "all", "latency_weight": 0.1, "size_weight": 0.1},
}
QUANTISED_SEARCHES = ("lpgnas-hw --no-hw", HW_SEARCH, HW_SIZE_SEARCH)
# The networks the uniform widths are forced on: those of the searches without the size term
# (24 on Cora + CiteSeer, over the 20; forcing them on the size-term searches too would
# add ~0.17 h to the 3-hour Cora + CiteSeer budget).
FORCED_SOURCES = ("lpgnas-hw --no-hw", HW_SEARCH)
# The datasets that run the whole protocol. The larger five cost 5-24x Cora per search epoch
# (9 epochs of a quantised search, 1 thread: Cora 4.2 s, PubMed 19.8, Photo 29.8, Computers
# 48.3, CS 55.8, Physics 100.9), and at the whole protocol a PubMed seed and split costs ~19,000
# CPU-s (measured on seed 0: baselines 1,750, the NAS f32 search 1,017 with 4 of its 8
# candidates 1,155, 372 epochs of `--no-hw` 1,416; estimated from those: 8 candidates ~2,300,
# a quantised search ~1,900, ten forced retrainings ~3,000), ~32 CPU-hours for PubMed's six and
# more for each of the other four. So the larger ones keep every baseline, search and seed but
# select among StudyConfig.larger_candidates candidates and skip the forced widths (the W4A8
# statistics already stand on Cora + CiteSeer's 24 networks). Measured under this protocol, a
# PubMed full-split seed took 5,200-7,500 CPU-s (commit 33d88c5), and the four others would have
# needed ~31 more hours on 2 cores, a Physics search point ~3 h by itself: longer than a working
# session of this machine, so it could never finish (a point in flight is lost when the machine
# is taken back). So their searches also run StudyConfig.larger_epochs epochs (200, a third of
# them warm-up as always); every method on a dataset gets the same search budget, and PubMed's
# full split at 500 epochs (docs/study.md) shows what the shorter search costs.
FULL_PROTOCOL = ("cora", "citeseer")
# Uniform settings forced on the searched networks: (weight, activations), the paper's W/A names.
UNIFORM = {"W2A8": ("q2", "q8"), "W4A4": ("q4", "q4"), "W4A8": ("q4", "q8"), "W8A4": ("q8", "q4"),
           "W8A8": ("q8", "q8")}
COMPONENTS = ("weight", "feature", "message", "attention")
# The finished points' records, written with every report: plain text, a few KB per point, so a
# study's results can be kept in version control and continued elsewhere (--import-records).
RECORDS_NAME = "records.jsonl"


@dataclass(frozen=True)
class StudyConfig:
    datasets: tuple[str, ...] = DATASETS
    seeds: tuple[int, ...] = (0, 1, 2)
    target: str = "zcu102"
    epochs: int = 500  # search epochs
    retrain_epochs: int | None = None  # cap for retraining searched and forced networks
    train_epochs: int | None = None  # cap for the manual baselines (None: their arch files' epochs)
    candidates: int = 8  # networks each search trains to pick its derived one (lpgnas.search.derive)
    larger_candidates: int = 2  # the same, on the datasets outside FULL_PROTOCOL
    larger_epochs: int = 200  # search epochs on the datasets outside FULL_PROTOCOL
    threads: int = 1

    def candidates_for(self, dataset: str) -> int:
        return self.candidates if dataset in FULL_PROTOCOL else min(self.candidates, self.larger_candidates)

    def epochs_for(self, dataset: str) -> int:
        return self.epochs if dataset in FULL_PROTOCOL else min(self.epochs, self.larger_epochs)


def available(datasets: tuple[str, ...], data_root: str | None) -> tuple[list[str], dict[str, str]]:
    """The datasets that load, and for each other one the reason it does not."""
    present, skipped = [], {}
    for name in datasets:
        try:
            load_dataset(name, data_root)
            present.append(dataset_info(name).name)
        except InputError as err:
            skipped[name] = err.one_line()
    return present, skipped


def splits_of(dataset: str) -> tuple[str, ...]:
    """The full split always (the issue's main comparison), the public split where it exists."""
    return ("full", "public") if "public" in dataset_info(dataset).splits else ("full",)


def phase1(config: StudyConfig, datasets: list[str]) -> list[Point]:
    """Baselines and searches for every dataset, split and seed."""
    points = []
    targets = (config.target,)
    for dataset in datasets:
        for split in splits_of(dataset):
            for seed in config.seeds:
                for name in BASELINES:
                    path = resolve_arch_path(name, "baselines")
                    options = {"arch": str(path.resolve()), "train": None, "split": split,
                               "epochs": config.train_epochs, "threads": config.threads, **dataset_training(dataset)}
                    identity = {"kind": "baseline", "dataset": dataset, "seed": seed, "targets": targets,
                                "arch_text": path.read_text(), **{k: v for k, v in options.items() if k != "arch"}}
                    key = point_key([dataset, split, name, f"s{seed}"], identity)
                    points.append(Point(key, "baseline", dataset, seed, targets, options, name))
                for label, search in SEARCHES.items():
                    options = {**search, "split": split, "epochs": config.epochs_for(dataset),
                               "candidates": config.candidates_for(dataset),
                               "retrain_epochs": config.retrain_epochs, "threads": config.threads,
                               **dataset_training(dataset)}
                    identity = {"kind": "search", "dataset": dataset, "seed": seed, "target": config.target, **options}
                    short = "nas-f32" if search["quant_choices"] == "f32" else (
                        "nohw" if search["no_hw"] else "hw-size" if search.get("size_weight") else "hw")
                    key = point_key([dataset, split, short, f"s{seed}"], identity)
                    points.append(Point(key, "search", dataset, seed, targets, options, label))
    return points


def forced_arch(arch: dict, weight: str, activation: str) -> dict:
    """`arch` with every layer's weights at `weight` and its feature, message and attention at
    `activation`."""
    layers = []
    for layer in arch["layers"]:
        quant = {"weight": weight, "feature": activation, "message": activation}
        if has_coefficients(layer["attention"]):
            quant["attention"] = activation
        layers.append({**layer, "quant": quant})
    return {"layers": layers}


def phase2(config: StudyConfig, records: dict[str, Record], points: list[Point]) -> list[Point]:
    """Each uniform setting forced on each network the searches of FORCED_SOURCES found on the
    FULL_PROTOCOL datasets."""
    out = []
    for point in points:
        record = records.get(point.key)
        if (point.label not in FORCED_SOURCES or point.dataset not in FULL_PROTOCOL or record is None
                or record.status != "done"):
            continue
        arch = record.rows[0]["arch"]
        for setting, (weight, activation) in UNIFORM.items():
            options = {"arch": forced_arch(arch, weight, activation), "train": None,
                       "split": point.options["split"], "epochs": config.retrain_epochs, "threads": config.threads,
                       "source": point.key, **dataset_training(point.dataset)}
            identity = {"kind": "forced", "dataset": point.dataset, "seed": point.seed, "targets": point.targets,
                        **options}
            key = point_key([point.dataset, point.options["split"], "forced", setting, f"s{point.seed}"], identity)
            out.append(Point(key, "forced", point.dataset, point.seed, point.targets, options, setting))
    return out


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.pstdev(values) if len(values) > 1 else 0.0


@dataclass
class Entry:
    """One method on one dataset and split, over seeds."""

    label: str
    kind: str
    accs: dict[int, float]  # test accuracy per seed
    model_kib: float
    buffer_kib: float
    latency_ms: float

    @property
    def acc(self) -> float:
        return statistics.fmean(self.accs.values())

    @property
    def std(self) -> float:
        return statistics.pstdev(self.accs.values()) if len(self.accs) > 1 else 0.0


def entries(rows: list[dict], dataset: str, split: str) -> list[Entry]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row["dataset"] == dataset and row["split"] == split and row["kind"] in ("baseline", "search"):
            groups[row["label"]].append(row)
    out = []
    for label, members in groups.items():
        out.append(Entry(label, members[0]["kind"], {m["seed"]: m["test_acc"] for m in members},
                         statistics.fmean(m["model_size_kib"] for m in members),
                         statistics.fmean(m["buffer_size_kib"] for m in members),
                         statistics.fmean(m["latency_ms"] for m in members)))
    order = {name: i for i, name in enumerate(BASELINES + tuple(SEARCHES))}
    return sorted(out, key=lambda e: order.get(e.label, len(order)))


def paired_difference(a: Entry, b: Entry) -> tuple[float, float, int]:
    """Mean and standard error of a - b over the seeds both have (each seed is its own split, so
    pairing removes the split-to-split spread, which is larger than most differences)."""
    deltas = [a.accs[s] - b.accs[s] for s in sorted(a.accs.keys() & b.accs.keys())]
    if not deltas:
        return float("nan"), float("nan"), 0
    error = statistics.stdev(deltas) / math.sqrt(len(deltas)) if len(deltas) > 1 else float("nan")
    return statistics.fmean(deltas), error, len(deltas)


def comparison(table: list[Entry]) -> str:
    """The issue's check: is a quantised search within 0.5 points of the best manual baseline
    (or above it) with a smaller model? Every quantised search is compared, not only the most
    accurate, since the hardware-aware one is usually the smaller. Each comparison also gives
    the paired per-seed difference with its standard error, to tell a gap from seed noise.
    While a study is in progress the two may have run different seeds; the check then uses the
    paired difference over the seeds both have, since means over different splits are not
    comparable (with the same seeds the two are equal)."""
    manual = [e for e in table if e.kind == "baseline"]
    searched = [e for e in table if e.label in QUANTISED_SEARCHES]
    if not manual or not searched:
        return ""
    best = max(manual, key=lambda e: e.acc)
    parts, met = [], []
    for e in searched:
        delta, ratio = 100 * (e.acc - best.acc), e.model_kib / best.model_kib
        paired, error, n = paired_difference(e, best)
        spread = f" ± {100 * error:.2f} s.e." if n > 1 else ""  # one seed (a study in progress) has none
        parts.append(f"{e.label} {100 * e.acc:.2f} % ({delta:+.2f} points, per seed {100 * paired:+.2f}{spread} "
                     f"over {n}; {ratio:.2f}x the model)")
        judged = delta if e.accs.keys() == best.accs.keys() or not n else 100 * paired
        if judged >= -0.5 and ratio < 1:
            met.append(e.label)
    verdict = (f"met by {', '.join(met)} (within 0.5 points or better, smaller model)" if met else
               "not met: no quantised search is within 0.5 points with a smaller model")
    return f"Best manual baseline ({best.label}) {100 * best.acc:.2f} %; " + "; ".join(parts) + f". Verdict: {verdict}."


def pareto_summary(table: list[Entry]) -> str:
    """The LPGNAS paper's PubMed claim (a better size–accuracy frontier; 2.3x smaller and +0.4
    points against the best NAS competitor), checked on every dataset and split: which networks
    are on the frontier of mean model size and mean accuracy, and each quantised search against
    the NAS f32 competitor."""
    if not table:
        return ""
    on = frontier([(e.model_kib, e.acc) for e in table])
    front = sorted((e for e, f in zip(table, on) if f), key=lambda e: e.model_kib)
    text = "Size–accuracy frontier, smallest model first: " + ", ".join(
        f"{e.label} ({e.model_kib:.1f} KiB, {100 * e.acc:.2f} %)" for e in front) + "."
    nas = next((e for e in table if e.label == "NAS f32"), None)
    searched = [e for e in table if e.label in QUANTISED_SEARCHES]
    if nas is not None and searched:
        text += " Against NAS f32: " + "; ".join(
            f"{e.label} {100 * (e.acc - nas.acc):+.2f} points with {_size_ratio(e.model_kib, nas.model_kib)}"
            for e in searched) + "."
    return text


def _size_ratio(model_kib: float, reference_kib: float) -> str:
    """'a 10.0x smaller model', or 'a 4.9x larger model' (not 'a 0.2x smaller' one)."""
    if model_kib <= reference_kib:
        return f"a {reference_kib / model_kib:.1f}x smaller model"
    return f"a {model_kib / reference_kib:.1f}x larger model"


def bit_histogram(rows: list[dict]) -> dict[tuple[int, str], Counter]:
    """How often each width was chosen, per (layer, component), over the quantised searches."""
    counts: dict[tuple[int, str], Counter] = defaultdict(Counter)
    for row in rows:
        if row["label"] not in QUANTISED_SEARCHES:
            continue
        for i, layer in enumerate(row["arch"]["layers"]):
            for component, option in layer["quant"].items():
                counts[i, component][option] += 1
    return counts


def forced_summary(rows: list[dict]) -> dict[str, dict]:
    """Per uniform setting: accuracy over the searched networks, and its change against each
    network's own searched widths (paired by the source search)."""
    own = {r["key"]: r["test_acc"] for r in rows if r["label"] in QUANTISED_SEARCHES}
    out = {}
    for setting in UNIFORM:
        members = [r for r in rows if r["kind"] == "forced" and r["label"] == setting and r["source"] in own]
        if members:
            accs = [r["test_acc"] for r in members]
            deltas = [r["test_acc"] - own[r["source"]] for r in members]
            out[setting] = {"n": len(members), "acc": _mean_std(accs), "delta": _mean_std(deltas)}
    return out


def knee_verdict(summary: dict[str, dict]) -> str:
    """Whether W4A8 is the knee: as accurate as W8A8 while every narrower setting loses more."""
    if not all(s in summary for s in UNIFORM):
        return "Not every uniform setting has results yet."
    acc = {s: summary[s]["acc"][0] for s in UNIFORM}
    w8_to_w4 = 100 * (acc["W8A8"] - acc["W4A8"])
    w4_to_w2 = 100 * (acc["W4A8"] - acc["W2A8"])
    a8_to_a4 = 100 * (acc["W4A8"] - acc["W4A4"])
    knee = w8_to_w4 < 0.5 and min(w4_to_w2, a8_to_a4) > max(1.0, 2 * w8_to_w4)
    return (f"W8A8 -> W4A8 costs {w8_to_w4:+.2f} points; W4A8 -> W2A8 (weights) {w4_to_w2:+.2f} and W4A8 -> W4A4 "
            f"(activations) {a8_to_a4:+.2f} points. "
            + ("W4A8 is the knee: the last uniform setting before accuracy falls off in both directions."
               if knee else "W4A8 does not stand out as a knee in these numbers."))


def _size_plot(table: list[Entry], title: str) -> bytes:
    fig, ax = plt.subplots(figsize=(7.5, 5), dpi=120)
    on = frontier([(e.model_kib, e.acc) for e in table])
    front = sorted((e for e, f in zip(table, on) if f), key=lambda e: e.model_kib)
    ax.step([e.model_kib for e in front], [100 * e.acc for e in front], where="post", color="0.6", linewidth=1.2,
            label="frontier (all networks)", zorder=1)
    for e in table:
        search = e.kind == "search"
        std = 100 * e.std
        colour = "tab:red" if e.label in QUANTISED_SEARCHES else ("tab:orange" if search else "tab:blue")
        ax.errorbar([e.model_kib], [100 * e.acc], yerr=[std], fmt="*" if search else "s",
                    markersize=11 if search else 6, color=colour, markeredgecolor="black", markeredgewidth=0.5,
                    capsize=2, zorder=3)
        ax.annotate(e.label, (e.model_kib, 100 * e.acc), textcoords="offset points", xytext=(5, 4), fontsize=7,
                    color="0.25")
    ax.scatter([], [], marker="s", color="tab:blue", label="manual baselines")
    ax.scatter([], [], marker="*", s=90, color="tab:orange", label="NAS f32")
    ax.scatter([], [], marker="*", s=90, color="tab:red", label="lpgnas-hw")
    ax.set_xscale("log")
    ax.set_xlabel("model size (KiB, log scale)")
    ax.set_ylabel("test accuracy (%), mean ± std over seeds")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return png_bytes(fig)


def _bits_plot(counts: dict[tuple[int, str], Counter]) -> bytes:
    layers = sorted({i for i, _ in counts})
    fig, axes = plt.subplots(1, len(COMPONENTS), figsize=(13, 3.6), dpi=120, sharey=True)
    width = 0.8 / max(1, len(layers))
    for ax, component in zip(axes, COMPONENTS):
        options = [o for o in WEIGHT_QUANTS if component == "weight" or o not in ("b1", "t2")]
        for j, layer in enumerate(layers):
            values = [counts.get((layer, component), Counter())[o] for o in options]
            ax.bar([k + j * width for k in range(len(options))], values, width, label=f"layer {layer + 1}")
        ax.set_xticks([k + width * (len(layers) - 1) / 2 for k in range(len(options))], options)
        ax.set_title(component)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_ylabel("searched networks choosing it")
    axes[-1].legend(fontsize=8)
    fig.suptitle("bit widths chosen by the quantised searches")
    return png_bytes(fig)


def _fmt_acc(e: Entry) -> str:
    return f"{100 * e.acc:.2f} ± {100 * e.std:.2f}"


def _per_seed(e: Entry) -> str:
    return " / ".join(f"{100 * e.accs[s]:.2f}" for s in sorted(e.accs))


def write_report(out: Path, config: StudyConfig, points: list[Point], records: dict[str, Record],
                 skipped: dict[str, str], header: str) -> list[str]:
    """study.md, its PNGs and the done points' records.jsonl from the records; returns the files written."""
    by_key = {p.key: p for p in points}
    done = [records[key] for key in by_key if key in records and records[key].status == "done"]
    rows = [row for record in done for row in record.rows]
    lines = ["# LPGNAS study", "", header, ""]
    unfinished = sum(1 for key in by_key if key not in records)
    if unfinished:
        finished: Counter = Counter(p.dataset for key, p in by_key.items() if key in records)
        per_dataset = ", ".join(f"{d} {finished[d]} of {n}" for d, n in Counter(p.dataset for p in points).items())
        lines += [f"In progress: {unfinished} of {len(by_key)} points not run yet (finished per dataset: "
                  f"{per_dataset}; the forced widths count once their searches are done).", ""]
    for name, reason in skipped.items():
        lines.append(f"- skipped {name}: {reason}")
    files = ["study.md"]
    datasets = list(dict.fromkeys(p.dataset for p in points))
    for dataset in datasets:
        for split in splits_of(dataset):
            table = entries(rows, dataset, split)
            if not table:
                continue
            lines += ["", f"## {dataset}, {split} split", "",
                      f"Test accuracy over seeds {', '.join(map(str, config.seeds))}; latency simulated on "
                      f"{config.target}. NAS f32 is the accuracy-only full-precision search "
                      f"(`--no-hw --quant-choices f32`). Searches run {config.epochs_for(dataset)} epochs" + (
                          f" and keep the best of {candidates} candidates on validation."
                          if (candidates := config.candidates_for(dataset)) > 1 else "."), "",
                      "| network | test acc (%) | per seed (%) | model (KiB) | buffer (KiB) | latency (ms) |",
                      "| --- | --- | --- | --- | --- | --- |"]
            for e in table:
                lines.append(f"| {e.label} | {_fmt_acc(e)} | {_per_seed(e)} | {e.model_kib:.1f} | "
                             f"{e.buffer_kib:.1f} | {e.latency_ms:.4f} |")
            lines += ["", pareto_summary(table)]
            verdict = comparison(table)
            if verdict:
                lines += ["", verdict]
            name = f"study-{dataset}-{split}-size.png"
            write_atomic(out / name, _size_plot(table, f"{dataset} ({split} split): accuracy vs model size"))
            lines += ["", f"![{dataset} {split}]({name})"]
            files.append(name)
    counts = bit_histogram(rows)
    searched = sum(1 for r in rows if r["label"] in QUANTISED_SEARCHES)
    lines += ["", "## Quantisation statistics", "",
              f"Bit widths chosen by {searched} quantised searches ({', '.join(QUANTISED_SEARCHES)}; every dataset, "
              "split and seed above), per layer and component:", "",
              "| layer | component | " + " | ".join(("b1", "t2", "q2", "q4", "q8", "q16", "f32")) + " |",
              "| --- | --- |" + " --- |" * 7]
    for (layer, component), counter in sorted(counts.items()):
        cells = " | ".join(str(counter.get(o, 0)) for o in ("b1", "t2", "q2", "q4", "q8", "q16", "f32"))
        lines.append(f"| {layer + 1} | {component} | {cells} |")
    if counts:
        write_atomic(out / "study-bits.png", _bits_plot(counts))
        files.append("study-bits.png")
        lines += ["", "![bit widths](study-bits.png)"]
    forced_datasets = [d for d in datasets if d in FULL_PROTOCOL]
    if forced_datasets:
        summary = forced_summary(rows)
        lines += ["", f"Uniform widths forced on the networks of the {', '.join(FORCED_SOURCES)} searches on "
                  f"{', '.join(forced_datasets)} (each retrained from scratch on its search's seed and split); Δ is "
                  "the change against the same network with its searched widths:", "",
                  "| setting | networks | test acc (%) | Δ (points) |", "| --- | --- | --- | --- |"]
        for setting, s in summary.items():
            lines.append(f"| {setting} | {s['n']} | {100 * s['acc'][0]:.2f} ± {100 * s['acc'][1]:.2f} | "
                         f"{100 * s['delta'][0]:+.2f} ± {100 * s['delta'][1]:.2f} |")
        lines += ["", knee_verdict(summary)]
    else:
        lines += ["", f"No uniform widths are forced in this study: only {', '.join(FULL_PROTOCOL)} run that part "
                  "of the protocol (the larger datasets skip it, see study.FULL_PROTOCOL)."]
    lines += ["", "## Time per part", "", "| dataset | part | points | seconds |", "| --- | --- | --- | --- |"]
    parts: dict[tuple[str, str], list[float]] = defaultdict(list)
    for key, point in by_key.items():
        if key in records:
            part = {"baseline": "manual baselines", "forced": "forced uniform widths"}.get(point.kind, point.label)
            parts[point.dataset, part].append(records[key].seconds)
    for (dataset, part), seconds in parts.items():
        lines.append(f"| {dataset} | {part} | {len(seconds)} | {sum(seconds):.0f} |")
    failed = [(k, records[k].error) for k in by_key if k in records and records[k].status == "failed"]
    if failed:
        lines += ["", "Failed points:", ""] + [f"- {k}: {e}" for k, e in failed]
    write_text(out / "study.md", "\n".join(lines) + "\n")
    write_text(out / RECORDS_NAME, "".join(r.line() + "\n" for r in done))
    return files + [RECORDS_NAME]


def run_study(config: StudyConfig, out: str, workers: int = 1, data_root: str | None = None,
              progress: bool = False, header: str = "", retry_failed: bool = False,
              report_only: bool = False, import_records: str | None = None,
              start_by: float | None = None) -> dict:
    """Both phases into `out`, then the report; finished points of an earlier run are kept.
    `report_only` runs nothing and writes the report of what `out` holds (also while another
    process runs the study there: the larger datasets take many hours). `import_records` first
    adds the points finished in a records.jsonl of another study directory (or machine). No point
    starts after `start_by` (Unix time), in either phase."""
    # checked here, not in each search point, so nothing starts
    for name in ("candidates", "larger_candidates", "epochs", "larger_epochs"):
        if getattr(config, name) < 1:
            raise InputError(f"argument --{name.replace('_', '-')}", "", f"must be at least 1, got "
                             f"{getattr(config, name)}")
    datasets, skipped = available(config.datasets, data_root)
    if not datasets:
        raise InputError("datasets", "", "none of the study's datasets is available: " + "; ".join(skipped.values()))
    points = phase1(config, datasets)
    if import_records is not None:
        imported = read_records(import_records)  # read whole before `out` is touched
        store = SweepStore(out, create=True)
        store.lock()
        try:
            store.add(imported)
        finally:
            store.close()
    if report_only:
        store = SweepStore(out)
        records = {r.key: r for r in store.records()}
        store.close()
    else:
        records = run_points(points, out, workers, threads=config.threads, retry_failed=retry_failed,
                             progress=progress, desc="study: phase 1", data_root=data_root,
                             start_by=start_by)
    forced = phase2(config, records, points)
    if not report_only:
        records = run_points(forced, out, workers, threads=config.threads, retry_failed=retry_failed,
                             progress=progress, desc="study: phase 2", data_root=data_root,
                             start_by=start_by)
    keys = [p.key for p in points + forced]
    files = write_report(Path(out), config, points + forced, records, skipped, header)
    return {"study_dir": str(Path(out).resolve()), "points": len(keys),
            "done": sum(1 for k in keys if k in records and records[k].status == "done"),
            "failed": [k for k in keys if k in records and records[k].status == "failed"],
            "skipped": skipped, "files": files}
