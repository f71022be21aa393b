"""Sweeps: the grid, the record that survives SIGKILL, resuming, failures, backends, Pareto files."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lpgnas.cli import main
from lpgnas.data import KIPF_WEIGHT_DECAY, dataset_info
from lpgnas.sweep.runner import NOT_STARTED, execute, run_local, run_points, run_sweep
from lpgnas.sweep.spec import Point, SweepSpec, expand
from lpgnas.sweep.store import DB_NAME, SweepStore

# Short points: a few search epochs and a capped retraining keep one point to a few seconds.
QUICK = {"epochs": 4, "retrain_epochs": 10}


def quick_spec(data_root, **changes) -> SweepSpec:
    values = {"targets": ("zcu102",), "latency_budgets_ms": (0.03, 0.08), "nohw_reference": False,
              "baselines": ("gcn-w4a8",), **QUICK, **changes}
    return SweepSpec(**values, data_root=str(data_root))


def test_every_point_trains_with_its_datasets_weight_decay(monkeypatch, tmp_path):
    points = expand(SweepSpec(targets=("zcu102",), datasets=("cora", "photo"), baselines=("gcn",)))
    decay = dataset_info("photo").weight_decay
    assert decay != KIPF_WEIGHT_DECAY
    # Kipf's is the meaning of a point without the option, so Cora's keys stay as they were
    assert [p.options.get("weight_decay") for p in points] == [None if p.dataset == "cora" else decay
                                                                 for p in points]
    used = []

    def train_once(graph, arch, train, *args, **kwargs):
        used.append(train.weight_decay)
        raise RuntimeError("recorded")

    monkeypatch.setattr("lpgnas.sweep.runner.load_dataset", lambda *args: None)
    monkeypatch.setattr("lpgnas.sweep.runner.train_once", train_once)
    for point in points:
        if point.kind == "baseline":
            assert execute(point, str(tmp_path), None)["error"] == "RuntimeError: recorded"
    assert used == [KIPF_WEIGHT_DECAY, decay]


@pytest.fixture(scope="module")
def local_sweep(data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "local"
    spec = quick_spec(data_root, latency_budgets_ms=(0.03, 0.08, 1e-6))  # 1e-6: unreachable, fails
    return spec, out, run_sweep(spec, str(out), workers=2)


def test_sweep_runs_every_point_and_records_failures(local_sweep):
    spec, out, result = local_sweep
    keys = {r["key"] for r in result["points"]}
    assert len(keys) == 3  # two searches and the baseline
    assert len(result["failed"]) == 1 and "--latency-budget-ms" in result["failed"][0]["error"]
    for row in result["points"]:
        assert (out / row["run_dir"] / "result.json").is_file()
        assert 0 <= row["test_acc"] <= 1 and row["latency_ms"] > 0
    for row in result["points"]:
        if row["kind"] == "search":
            assert row["latency_ms"] <= row["latency_budget_ms"]


def test_sweep_writes_pareto_csv_and_plots(local_sweep):
    _, out, result = local_sweep
    assert set(result["files"]) == {"pareto.csv", "pareto-cora-latency.png", "pareto-cora-buffer.png",
                                    "pareto-cora-size.png"}
    lines = (out / "pareto.csv").read_text().splitlines()
    assert lines[0].startswith("dataset,target,kind") and len(lines) == 1 + 3
    assert all((out / f).read_bytes()[:4] == b"\x89PNG" for f in result["files"][1:])
    (out / "pareto.csv").unlink()
    assert main(["pareto", str(out), "--json"]) == 0
    assert (out / "pareto.csv").read_text().splitlines() == lines


def test_rerunning_a_sweep_skips_finished_points(local_sweep):
    spec, out, result = local_sweep
    before = {r.key: r.seconds for r in SweepStore(out).records()}
    again = run_sweep(spec, str(out), workers=2)
    assert {r.key: r.seconds for r in SweepStore(out).records()} == before
    assert again["points"] == result["points"]


def _done_records(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM points WHERE status='done'").fetchone()[0]
    except sqlite3.OperationalError:  # created but not yet initialised, or locked for a moment
        return 0


@pytest.mark.slow
def test_killed_sweep_loses_nothing_and_resumes(data_root, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "lpgnas.cli", "sweep", "--target", "zcu102", "--latency-budgets-ms",
           "0.03,0.05,0.08", "--epochs", "12", "--retrain-epochs", "10", "--no-references", "--out", str(out)]
    env = {**os.environ, "LPGNAS_DATA": str(data_root)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 240
    while _done_records(out / DB_NAME) < 1 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    time.sleep(0.5)  # into the next point
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(out / DB_NAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finished = {r.key: r for r in SweepStore(out).records()}
    assert 1 <= len(finished) < 3 and all(r.status == "done" for r in finished.values())
    time.sleep(1.5)  # the pool's workers notice that the sweep is gone and leave
    assert main(["sweep", "--target", "zcu102", "--latency-budgets-ms", "0.03,0.05,0.08", "--epochs", "12",
                 "--retrain-epochs", "10", "--no-references", "--out", str(out), "--data-root", str(data_root),
                 "--json"]) == 0
    records = {r.key: r for r in SweepStore(out).records()}
    assert len(records) == 3 and all(r.status == "done" for r in records.values())
    assert all(records[k] == finished[k] for k in finished)  # finished points were not redone


def test_ray_backend_gives_the_same_points(local_sweep, data_root, tmp_path):
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'lpgnas-hw[ray]')")
    spec, out, result = local_sweep
    ray_result = run_sweep(spec, str(tmp_path / "ray"), workers=2, backend="ray")
    assert {r["key"] for r in ray_result["points"]} == {r["key"] for r in result["points"]}
    for row in result["points"]:
        ours = (out / row["run_dir"] / "arch.yaml")
        if ours.exists():
            assert (tmp_path / "ray" / row["run_dir"] / "arch.yaml").read_text() == ours.read_text()
    assert [f["key"] for f in ray_result["failed"]] == [f["key"] for f in result["failed"]]
    assert json.dumps(sorted(r["test_acc"] for r in ray_result["points"])) == json.dumps(
        sorted(r["test_acc"] for r in result["points"]))


def _dies_on_its_point(point: Point, sweep_dir: str, data_root: str | None, start_by: float | None) -> dict:
    """A stand-in for lpgnas.sweep.runner.execute whose worker process dies on the point named `dies`."""
    if point.key == "dies":
        os._exit(1)
    time.sleep(0.2)
    return {"status": "done", "rows": [], "error": None, "seconds": 0.2}


@pytest.mark.slow
def test_a_worker_that_dies_fails_only_the_points_in_flight(tmp_path):
    keys = ["p0", "p1", "dies", "p3", "p4", "p5", "p6"]
    points = [Point(key, "baseline", "cora", 0, ("zcu102",), {}) for key in keys]
    outcomes = list(run_local(points, str(tmp_path), None, 2, task=_dies_on_its_point))
    assert sorted(p.key for p, _ in outcomes) == sorted(keys)  # each point reported once
    failed = {p.key for p, outcome in outcomes if outcome["status"] == "failed"}
    # the dying point and at most the one in flight beside it: which neighbour depends on timing
    # (on a loaded machine the other worker may finish p3 and take p4 before the pool notices the
    # death, as happened once in CI), so only the count is fixed
    assert "dies" in failed and len(failed) <= 2
    assert all("BrokenProcessPool" in o["error"] for p, o in outcomes if p.key in failed)


@pytest.mark.slow
def test_no_point_starts_after_the_deadline_and_a_later_run_takes_them(tmp_path):
    """--stop-after: a point that would start after the deadline does not run and is not recorded,
    so the same command later runs it; one that starts before runs as usual. The points here fail
    at once (no arch), which is enough to see them recorded."""
    points = [Point(f"p{i}", "baseline", "cora", 0, ("zcu102",), {}) for i in range(3)]
    assert execute(points[0], str(tmp_path), None, start_by=time.time() - 1)["status"] == NOT_STARTED
    assert execute(points[0], str(tmp_path), None, start_by=time.time() + 60)["status"] == "failed"
    outcomes = list(run_local(points, str(tmp_path), None, 2, start_by=time.time() - 1))
    assert sorted(p.key for p, _ in outcomes) == ["p0", "p1", "p2"]
    assert all(o["status"] == NOT_STARTED for _, o in outcomes) and not (tmp_path / "runs").exists()
    assert run_points(points, str(tmp_path / "s"), workers=2, start_by=time.time() - 1) == {}
    records = run_points(points, str(tmp_path / "s"), workers=2)
    assert sorted(records) == ["p0", "p1", "p2"] and all(r.status == "failed" for r in records.values())


def test_a_resumed_point_records_the_time_of_its_earlier_runs(monkeypatch, tmp_path):
    """A point's seconds are its run's wall clock, or the compute time its result records where
    that is longer: a point resumed after an interruption also counts the earlier runs' epochs."""
    monkeypatch.setattr("lpgnas.sweep.runner._row", lambda *args: {})
    baseline = Point("b", "baseline", "cora", 0, ("zcu102",), {})
    (tmp_path / "runs" / "b").mkdir(parents=True)  # trained to the end before the interruption
    (tmp_path / "runs" / "b" / "result.json").write_text(json.dumps(
        {"timing": {"retrain_s": 1234.5}, "hw_by_target": {"zcu102": {}}}))
    assert execute(baseline, str(tmp_path), None)["seconds"] == 1234.5
    timing = {"search_s": 100.0, "retrain_s": 10.0, "tables_s": 0.5, "select_s": 50.0}
    monkeypatch.setattr("lpgnas.sweep.runner.run_search", lambda *args, **kwargs: {
        "timing": timing, "hw": {}, "target": "zcu102"})
    search = Point("s", "search", "cora", 0, ("zcu102",), {})
    assert execute(search, str(tmp_path), None)["seconds"] == 160.5
    monkeypatch.setattr("lpgnas.sweep.runner.run_search", lambda *args, **kwargs: {
        "timing": {"search_s": 0.0}, "hw": {}, "target": "zcu102"})
    assert 0 < execute(search, str(tmp_path), None)["seconds"] < 60  # the wall clock, when longer


def test_stop_after_says_what_did_not_start(data_root, tmp_path, capsys):
    args = ["sweep", "--target", "zcu102", "--latency-budgets-ms", "0.03,0.08", "--no-references", "--epochs", "4",
            "--retrain-epochs", "10", "--data-root", str(data_root), "--out", str(tmp_path / "s")]
    assert main(args + ["--stop-after", "1e-9", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["not_started"]) == 2 and result["points"] == [] and result["failed"] == []
    assert SweepStore(tmp_path / "s").records() == []
    assert main(args + ["--stop-after", "1e-9"]) == 0
    assert "2 points not started (--stop-after)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(args + ["--stop-after", "0"])
    assert exit_.value.code == 2 and "--stop-after" in capsys.readouterr().err


def test_a_sweep_with_failed_points_exits_1_and_says_how_many(data_root, tmp_path, capsys):
    out = tmp_path / "fails"
    assert main(["sweep", "--target", "zcu102", "--latency-budgets-ms", "1e-6", "--epochs", "2", "--no-references",
                 "--out", str(out), "--data-root", str(data_root)]) == 1
    assert "1 of 1 points failed" in capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.slow
def test_sigterm_to_the_sweep_alone_saves_the_workers_checkpoints_and_resumes(data_root, tmp_path):
    """Only the sweep's own process gets SIGTERM (as from a scheduler): its worker saves the
    point's search state at the next epoch, the sweep exits 130 recording nothing for it, and
    the same command then continues the point from that state."""
    from lpgnas.io.runfiles import load_torch

    out = tmp_path / "termed"
    args = ["sweep", "--target", "zcu102", "--latency-budgets-ms", "0.05", "--epochs", "300", "--retrain-epochs",
            "5", "--no-references", "--out", str(out), "--data-root", str(data_root)]
    proc = subprocess.Popen([sys.executable, "-m", "lpgnas.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 120
    checkpoints = []
    while not checkpoints and time.time() < deadline and proc.poll() is None:
        checkpoints = list((out / "runs").glob("*/checkpoint.pt")) if (out / "runs").exists() else []
        time.sleep(0.1)
    assert checkpoints, "the point never saved its first checkpoint"
    first = load_torch(checkpoints[0])["epoch"]
    time.sleep(2.0)  # well inside the 30 s between regular saves
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    saved = load_torch(checkpoints[0])["epoch"]
    assert saved > first + 5  # saved on the signal, not only at the first epoch
    assert SweepStore(out).records() == []  # the stopped point is not recorded as failed
    assert main([*args, "--json"]) == 0
    (record,) = SweepStore(out).records()
    assert record.status == "done"
