"""The study: its points, the forced uniform widths, the verdicts, and the quick mode end to end."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import load_script

from lpgnas.data import dataset_info
from lpgnas.sweep.store import Record, read_records

load_script("examples/study/study.py")
from study import (  # noqa: E402
    BASELINES,
    FORCED_SOURCES,
    FULL_PROTOCOL,
    HW_SEARCH,
    SEARCHES,
    UNIFORM,
    Entry,
    StudyConfig,
    comparison,
    forced_arch,
    knee_verdict,
    paired_difference,
    pareto_summary,
    phase1,
    phase2,
)

REPO = Path(__file__).resolve().parents[1]


def test_phase1_has_every_baseline_and_search_per_split_and_seed():
    points = phase1(StudyConfig(seeds=(0, 1, 2)), ["cora", "photo"])
    per_run = len(BASELINES) + len(SEARCHES)
    assert len(points) == per_run * 3 * (2 + 1)  # cora: full and public; photo: full only
    assert len({p.key for p in points}) == len(points)
    assert {p.options["split"] for p in points if p.dataset == "photo"} == {"full"}
    nas = [p for p in points if p.label == "NAS f32"]
    assert nas and all(p.options["no_hw"] and p.options["quant_choices"] == "f32" for p in nas)
    # the larger datasets select among fewer candidates and search for fewer epochs (FULL_PROTOCOL)
    searches = {d: [p.options for p in points if p.kind == "search" and p.dataset == d] for d in ("cora", "photo")}
    assert {(o["candidates"], o["epochs"]) for o in searches["cora"]} == {(8, 500)}
    assert {(o["candidates"], o["epochs"]) for o in searches["photo"]} == {(2, 200)}
    assert StudyConfig(candidates=1).candidates_for("photo") == 1
    assert StudyConfig(epochs=100).epochs_for("photo") == 100


def test_every_point_trains_with_its_datasets_weight_decay():
    points = phase1(StudyConfig(seeds=(0,)), ["cora", "photo"])
    assert all("weight_decay" not in p.options for p in points if p.dataset == "cora")  # Kipf's
    assert {p.options["weight_decay"] for p in points if p.dataset == "photo"} == {
        dataset_info("photo").weight_decay}


def test_pubmed_points_keep_the_keys_of_the_committed_records():
    """The larger study continues from docs/results/study-larger: its PubMed points (Kipf's weight
    decay) must still be found there, or the next run would train them again."""
    committed = {record.key for record in read_records(REPO / "docs/results/study-larger/records.jsonl")
                 if record.point["dataset"] == "pubmed"}
    keys = {p.key for p in phase1(StudyConfig(), ["pubmed"])}
    assert len(keys) == 2 * 3 * (len(BASELINES) + len(SEARCHES)) and keys == committed


def test_phase2_forces_widths_on_the_full_protocol_datasets_only():
    points = phase1(StudyConfig(seeds=(0,)), ["cora", "photo"])
    arch = {"layers": [{"attention": "gcn", "aggregation": "sum", "activation": "relu", "hidden": 16, "heads": 1,
                        "quant": {"weight": "q8", "feature": "q8", "message": "q8"}},
                       {"attention": "gcn", "aggregation": "sum", "heads": 1,
                        "quant": {"weight": "q8", "feature": "q8", "message": "q8"}}]}
    records = {p.key: Record(p.key, p.kind, {}, "done", [{"arch": arch}], None, 1.0) for p in points}
    forced = phase2(StudyConfig(seeds=(0,)), records, points)
    sources = [p for p in points if p.label in FORCED_SOURCES and p.dataset in FULL_PROTOCOL]
    assert len(forced) == len(sources) * len(UNIFORM) and {p.dataset for p in forced} == {"cora"}
    assert len(sources) == 2 * len(FORCED_SOURCES)  # cora: full and public split


def test_forced_arch_sets_every_component_and_attention_only_where_it_exists():
    arch = {"layers": [
        {"attention": "gat", "aggregation": "sum", "activation": "elu", "hidden": 8, "heads": 8,
         "quant": {"weight": "f32", "feature": "q16", "attention": "q2", "message": "q8"}},
        {"attention": "gcn", "aggregation": "sum", "heads": 1,
         "quant": {"weight": "b1", "feature": "q2", "message": "f32"}}]}
    forced = forced_arch(arch, "q4", "q8")
    assert forced["layers"][0]["quant"] == {"weight": "q4", "feature": "q8", "message": "q8", "attention": "q8"}
    assert forced["layers"][1]["quant"] == {"weight": "q4", "feature": "q8", "message": "q8"}
    assert forced["layers"][0]["hidden"] == 8 and arch["layers"][0]["quant"]["weight"] == "f32"


def _summary(accs: dict[str, float]) -> dict:
    return {s: {"n": 3, "acc": (accs[s], 0.0), "delta": (0.0, 0.0)} for s in UNIFORM}


def test_knee_verdict_follows_the_numbers():
    knee = _summary({"W8A8": 0.82, "W4A8": 0.818, "W2A8": 0.70, "W4A4": 0.75, "W8A4": 0.76})
    assert "W4A8 is the knee" in knee_verdict(knee)
    flat = _summary({"W8A8": 0.82, "W4A8": 0.819, "W2A8": 0.815, "W4A4": 0.817, "W8A4": 0.818})
    assert "does not stand out" in knee_verdict(flat)
    assert "Not every" in knee_verdict({})


def test_comparison_checks_every_quantised_search():
    table = [Entry("gcn", "baseline", {0: 0.82, 1: 0.83}, 90.0, 10.0, 0.05),
             Entry("gat-w4a8", "baseline", {0: 0.80, 1: 0.80}, 45.0, 10.0, 0.05),
             Entry("lpgnas-hw --no-hw", "search", {0: 0.83, 1: 0.83}, 120.0, 10.0, 0.05),
             Entry(HW_SEARCH, "search", {0: 0.81, 1: 0.834}, 12.0, 10.0, 0.02)]
    text = comparison(table)
    assert "(gcn) 82.50 %" in text and "+0.50 points, per seed +0.50 ± 0.50 s.e. over 2; 1.33x" in text
    assert "-0.30 points, per seed -0.30 ± 0.70 s.e. over 2; 0.13x" in text
    assert f"met by {HW_SEARCH} " in text
    table[-1] = Entry(HW_SEARCH, "search", {0: 0.81, 1: 0.81}, 12.0, 10.0, 0.02)
    assert "not met" in comparison(table)
    table[-1] = Entry(HW_SEARCH, "search", {0: 0.81}, 12.0, 10.0, 0.02)  # one seed so far: no standard error
    assert "per seed -1.00 over 1; 0.13x" in comparison(table)
    # in progress: the search has run seed 1 alone, where it trails by 0.55; the mean over the
    # baseline's two seeds would call it level, the paired difference does not
    table[-1] = Entry(HW_SEARCH, "search", {1: 0.8245}, 12.0, 10.0, 0.02)
    assert "-0.05 points, per seed -0.55 over 1" in comparison(table) and "not met" in comparison(table)


def test_pareto_summary_names_the_frontier_and_compares_with_the_nas_competitor():
    table = [Entry("gcn", "baseline", {0: 0.80}, 90.0, 10.0, 0.05),
             Entry("gat-w4a8", "baseline", {0: 0.79}, 45.0, 10.0, 0.05),
             Entry("NAS f32", "search", {0: 0.81}, 300.0, 10.0, 0.05),
             Entry(HW_SEARCH, "search", {0: 0.814}, 30.0, 10.0, 0.02)]
    text = pareto_summary(table)
    assert f"first: {HW_SEARCH} (30.0 KiB, 81.40 %)." in text  # it dominates every other network
    assert f"{HW_SEARCH} +0.40 points with a 10.0x smaller model" in text
    larger = Entry("lpgnas-hw --no-hw", "search", {0: 0.82}, 1470.0, 10.0, 0.02)
    assert "lpgnas-hw --no-hw +1.00 points with a 4.9x larger model" in pareto_summary(table + [larger])
    table[-1] = Entry(HW_SEARCH, "search", {0: 0.795}, 60.0, 10.0, 0.02)
    assert "gat-w4a8 (45.0 KiB, 79.00 %), lpgnas-hw λ=0.1 (60.0 KiB, 79.50 %), gcn (90.0 KiB, 80.00 %), NAS f32" in (
        pareto_summary(table))


def test_paired_difference_uses_the_seeds_both_have():
    a = Entry("a", "search", {0: 0.90, 1: 0.80, 2: 0.85}, 1.0, 1.0, 0.01)
    b = Entry("b", "baseline", {0: 0.88, 1: 0.79, 3: 0.50}, 1.0, 1.0, 0.01)
    mean, error, n = paired_difference(a, b)
    assert n == 2 and mean == pytest.approx(0.015) and error == pytest.approx(0.005)


@pytest.mark.slow
def test_quick_study_runs_every_path(data_root, tmp_path):
    out = tmp_path / "study"
    cmd = [sys.executable, str(REPO / "examples" / "study" / "run_study.py"), "--quick", "--workers", "2",
           "--data-root", str(data_root), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = (out / "study.md").read_text()
    for needle in ("## cora, full split", "## cora, public split", "NAS f32", HW_SEARCH, "sage-mean-w4a8",
                   "## Quantisation statistics", "| W4A8 |", "## Time per part", "Verdict:",
                   "Size–accuracy frontier, smallest model first:", "Against NAS f32:"):
        assert needle in report
    for name in ("study-cora-full-size.png", "study-cora-public-size.png", "study-bits.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    with sqlite3.connect(out / "sweep.sqlite") as conn:
        kinds = dict(conn.execute("SELECT kind, count(*) FROM points WHERE status='done' GROUP BY kind"))
    assert kinds == {"baseline": 2 * len(BASELINES), "search": 2 * len(SEARCHES), "forced": 2 * 2 * len(UNIFORM)}
    assert len(list((out / "runs").glob("*/selection.json"))) == 2 * len(SEARCHES)  # --quick: 2 candidates
    assert "best of 2 candidates" in report
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)  # finished points are kept
    assert again.returncode == 0 and (out / "study.md").read_text().split("\n", 3)[3] == report.split("\n", 3)[3]
    (out / "study.md").unlink()
    only = subprocess.run(cmd + ["--report"], capture_output=True, text=True, timeout=300)  # runs nothing
    assert only.returncode == 0 and "In progress" not in (out / "study.md").read_text()
    assert (out / "study.md").read_text().split("\n", 3)[3] == report.split("\n", 3)[3]
    # the records alone carry the study: imported elsewhere, they give the same report and nothing runs
    copy = tmp_path / "copy"
    lines = (out / "records.jsonl").read_text().splitlines()
    assert len(lines) == sum(kinds.values())
    imported = subprocess.run(cmd[:-1] + [str(copy), "--import-records", str(out / "records.jsonl"), "--report"],
                              capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert (copy / "study.md").read_text().split("\n", 3)[3] == report.split("\n", 3)[3]
    assert "Command:" in report and "Report of the points recorded in" in (copy / "study.md").read_text()
    assert (copy / "records.jsonl").read_text().splitlines() == lines and not (copy / "runs").exists()


def test_missing_datasets_are_skipped_with_a_reason(data_root, tmp_path):
    from study import available

    present, skipped = available(("cora", "nonexistent"), str(data_root))
    assert present == ["cora"] and "nonexistent" in skipped["nonexistent"]
    with pytest.raises(Exception, match="none of the study's datasets"):
        from study import run_study

        run_study(StudyConfig(datasets=("nonexistent",)), str(tmp_path / "s"), data_root=str(data_root))


@pytest.mark.parametrize("args, needle", [(["--candidates", "0"], "--candidates"),
                                          (["--larger-epochs", "0"], "--larger-epochs"),
                                          (["--import-records", "/nonexistent/records.jsonl"], "records.jsonl"),
                                          (["--stop-after", "0"], "--stop-after")])
def test_bad_arguments_fail_before_any_point(data_root, tmp_path, args, needle):
    cmd = [sys.executable, str(REPO / "examples" / "study" / "run_study.py"), *args,
           "--data-root", str(data_root), "--out", str(tmp_path / "s")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and needle in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and not (tmp_path / "s").exists()


def test_report_of_a_study_in_progress(data_root, tmp_path):
    """--report runs nothing and says how much is left; on a directory with no study it fails cleanly."""
    cmd = [sys.executable, str(REPO / "examples" / "study" / "run_study.py"), "--datasets", "cora", "--seeds", "0",
           "--data-root", str(data_root), "--out", str(tmp_path / "s"), "--report"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "not a sweep directory" in done.stderr and done.stderr.count("\n") == 1
    from lpgnas.sweep.store import SweepStore

    SweepStore(tmp_path / "s", create=True).close()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    per_split = len(BASELINES) + len(SEARCHES)
    report = (tmp_path / "s" / "study.md").read_text()
    assert f"In progress: {2 * per_split} of {2 * per_split} points not run yet (finished per dataset: cora 0 of " \
           f"{2 * per_split};" in report
    assert f"{2 * per_split} points, 0 done, 0 failed" in done.stdout
    assert "searches on cora (each retrained" in report and "No uniform widths" not in report


def test_report_of_a_larger_dataset_says_it_forces_no_widths(data_root, tmp_path):
    """The reduced protocol skips the forced widths: the report says so instead of an empty table."""
    from lpgnas.sweep.store import SweepStore

    SweepStore(tmp_path / "s", create=True).close()
    cmd = [sys.executable, str(REPO / "examples" / "study" / "run_study.py"), "--datasets", "pubmed", "--seeds", "0",
           "--data-root", str(data_root), "--out", str(tmp_path / "s"), "--report"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = (tmp_path / "s" / "study.md").read_text()
    assert "No uniform widths are forced in this study: only cora, citeseer run that part" in report
    assert "| setting |" not in report and "## Time per part" in report
