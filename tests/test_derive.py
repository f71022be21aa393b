"""Candidate selection after the search (lpgnas.search.derive): what is drawn, what is kept, resume."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from hwsim.network import parse_arch
from lpgnas.cli.report import render_search
from lpgnas.io.archfile import TrainConfig
from lpgnas.search.config import SearchConfig
from lpgnas.search.derive import draw_candidates, network_cost
from lpgnas.search.problem import prepare
from lpgnas.search.run import run_search
from lpgnas.train import train_once

QUICK = TrainConfig(lr=0.01, weight_decay=5e-4, dropout=0.5, epochs=20, patience=20)


@pytest.fixture(scope="module")
def config(data_root, tmp_path_factory) -> SearchConfig:
    return SearchConfig(target="zcu102", dataset="cora", data_root=str(data_root), epochs=6, seed=3,
                        retrain=QUICK, candidates=4, size_weight=0.2, out=str(tmp_path_factory.mktemp("runs") / "a"))


@pytest.fixture(scope="module")
def result(config) -> dict:
    return run_search(config)


def before_selection(config: SearchConfig, out: Path) -> Path:
    """A copy of the finished run at `out` as it was before its selection ended (candidates kept)."""
    shutil.copytree(config.out, out)
    for name in ("selection.json", "result.json", "arch.yaml", "model.pt"):
        (out / name).unlink()
    shutil.rmtree(out / "retrain")
    return out


def test_the_argmax_comes_first_and_candidates_are_distinct(config, result):
    searched = json.loads((Path(config.out) / "search.json").read_text())
    rows = result["selection"]["candidates"]
    assert 2 <= len(rows) <= config.candidates
    assert rows[0]["arch"] == searched["arch"]
    assert len({json.dumps(row["arch"], sort_keys=True) for row in rows}) == len(rows)
    assert sorted(p.name for p in (Path(config.out) / "candidates").iterdir()) == [
        f"candidate_{i}.json" for i in range(len(rows))]


def test_the_kept_network_has_the_lowest_error_plus_penalty(config, result):
    problem = prepare(config)
    rows = result["selection"]["candidates"]
    for row in rows:
        report = network_cost(problem, problem.space.from_arch(parse_arch(row["arch"])))
        model_bytes = parse_arch(row["arch"]).model_size_bits(problem.graph.num_features, problem.graph.num_classes) / 8
        expected = 1 - row["val_acc"] + problem.penalty.exact(report.latency_ms, report.peak_buffer_bytes, model_bytes)
        assert row["score"] == pytest.approx(expected)
        assert row["latency_ms"] == pytest.approx(report.latency_ms)
    chosen = result["selection"]["chosen"]
    assert rows[chosen]["score"] == min(row["score"] for row in rows)
    assert result["arch"] == rows[chosen]["arch"]
    assert result["hw"]["latency_ms"] == pytest.approx(rows[chosen]["latency_ms"])


def test_drawing_is_deterministic(config, result):
    problem = prepare(config)
    searched = json.loads((Path(config.out) / "search.json").read_text())
    assert draw_candidates(problem, searched, 4) == draw_candidates(problem, searched, 4)


def test_finished_candidates_are_read_back_on_resume(config, result, tmp_path):
    # an accuracy-only run: candidate 1 marked perfect on validation must then be the one kept,
    # which only happens if its file is read back rather than retrained
    out = before_selection(config, tmp_path / "resumed")
    path = out / "candidates" / "candidate_1.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "val_acc": 1.0}))
    resumed = run_search(replace(config, no_hw=True, out=str(out)), resume=True)
    assert resumed["selection"]["chosen"] == 1
    assert resumed["arch"] == json.loads(path.read_text())["arch"]


def test_the_kept_candidate_is_the_retraining_of_its_seed(config, result):
    # the reuse is sound only because training is deterministic: the same call trains again to
    # the same epoch and accuracies
    out = Path(config.out)
    chosen = result["selection"]["chosen"]
    candidate = json.loads((out / "candidates" / f"candidate_{chosen}.json").read_text())
    retrained = json.loads((out / "retrain" / f"seed_{config.seed}.json").read_text())
    fields = ("val_acc", "test_acc", "best_epoch", "epochs_run")
    assert {k: retrained[k] for k in fields} == {k: candidate[k] for k in fields}
    problem = prepare(config)
    arch = parse_arch(candidate["arch"])
    again = train_once(problem.graph, arch, config.train_config(arch), problem.split, config.seed, config.threads)
    assert {k: getattr(again, k) for k in fields} == {k: candidate[k] for k in fields}
    assert result["timing"]["retrain_s"] == 0.0  # its one seed was not trained twice


def test_a_candidate_trained_on_another_schedule_is_trained_again(config, result, tmp_path):
    out = before_selection(config, tmp_path / "rescheduled")
    path = out / "candidates" / "candidate_1.json"
    stale = json.loads(path.read_text())
    path.write_text(json.dumps({**stale, "val_acc": 1.0, "train": {**stale["train"], "epochs": 3}}))
    run_search(replace(config, no_hw=True, out=str(out)), resume=True)
    retrained = json.loads(path.read_text())
    assert {**retrained, "seconds": 0} == {**stale, "seconds": 0}  # trained again, to the same run


def test_a_candidate_cut_off_continues_from_its_checkpoint(config, result, tmp_path, monkeypatch):
    out = before_selection(config, tmp_path / "cut")
    path = out / "candidates" / "candidate_2.json"
    finished = json.loads(path.read_text())
    path.unlink()
    problem = prepare(config)
    arch = parse_arch(finished["arch"])
    checkpoint = path.with_suffix(".checkpoint.pt")
    monkeypatch.setattr("lpgnas.train.CHECKPOINT_SECONDS", 0.0)

    def cut_off(epoch: int) -> None:
        if epoch == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_once(problem.graph, arch, config.train_config(arch), problem.split, config.seed, config.threads,
                   on_epoch=cut_off, checkpoint=checkpoint)
    state = torch.load(checkpoint, weights_only=False)
    state["loop"]["seconds"] = 1000.0  # a mark that only a run continued from this file carries
    torch.save(state, checkpoint)
    run_search(replace(config, out=str(out)), resume=True)
    continued = json.loads(path.read_text())
    assert continued["seconds"] >= 1000.0 and not checkpoint.exists()
    assert {**continued, "seconds": 0} == {**finished, "seconds": 0}  # the same run as uncut


def test_candidates_meet_the_budget(config, tmp_path):
    problem = prepare(config)
    budget = 1.5 * problem.cost.lower_bounds()[0]
    result = run_search(replace(config, latency_budget_ms=budget, epochs=2, out=str(tmp_path / "budget")))
    assert all(row["latency_ms"] <= budget for row in result["selection"]["candidates"])
    assert result["hw"]["latency_ms"] <= budget


def test_the_report_names_the_kept_candidate(result):
    text = render_search(result)
    assert f"kept candidate {result['selection']['chosen']} of {len(result['selection']['candidates'])}" in text
    assert "select " in text
