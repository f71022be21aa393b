"""The search end to end on Cora (short runs): result, determinism, budgets, resume, bad input."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import load_script

from hwsim.errors import InputError
from hwsim.network import parse_arch
from lpgnas.cli import main
from lpgnas.data import KIPF_WEIGHT_DECAY, dataset_info
from lpgnas.io.archfile import TrainConfig
from lpgnas.nn.model import as_input, with_self_loops
from lpgnas.search.config import SearchConfig
from lpgnas.search.loop import frozen, new_state, search_epochs
from lpgnas.search.problem import prepare
from lpgnas.search.run import run_search

pair_scores = load_script("examples/study/probe.py").pair_scores
QUICK = TrainConfig(lr=0.01, weight_decay=5e-4, dropout=0.5, epochs=20, patience=20)


@pytest.fixture(scope="module")
def config(data_root, tmp_path_factory) -> SearchConfig:
    return SearchConfig(target="zcu102", dataset="cora", data_root=str(data_root), epochs=6, seed=3,
                        retrain=QUICK, out=str(tmp_path_factory.mktemp("runs") / "a"))


def test_search_writes_the_result_files(config):
    result = run_search(config)
    out = Path(config.out)
    assert {"arch.yaml", "result.json", "model.pt", "run.json", "search.json"} <= {p.name for p in out.iterdir()}
    assert not (out / "checkpoint.pt").exists()  # a finished run drops its supernet unless asked to keep it
    assert json.loads((out / "result.json").read_text()) == result
    assert result["target"] == "zcu102" and result["seeds"] == [3] and result["repaired"] is False
    assert 0 <= result["accuracy"]["test"]["mean"] <= 1
    assert result["hw"]["latency_ms"] > 0 and {"search_s", "retrain_s"} <= set(result["timing"])


def test_same_seed_same_architecture(config, tmp_path):
    again = run_search(replace(config, out=str(tmp_path / "b")))
    first = (Path(config.out) / "arch.yaml").read_text()
    assert (tmp_path / "b" / "arch.yaml").read_text() == first
    assert again["arch"] == json.loads((Path(config.out) / "result.json").read_text())["arch"]


def test_latency_budget_is_met_after_repair(config, tmp_path):
    problem = prepare(config)
    budget = 1.5 * problem.cost.lower_bounds()[0]
    result = run_search(replace(config, latency_budget_ms=budget, epochs=2, out=str(tmp_path / "c")))
    assert result["hw"]["latency_ms"] <= budget


def test_impossible_budget_fails_before_training(config, tmp_path, capsys):
    code = main(["search", "--target", "zcu102", "--dataset", "cora", "--data-root", config.data_root,
                 "--latency-budget-ms", "1e-6", "--out", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 2 and "--latency-budget-ms" in err and err.count("\n") == 1
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("argv,needle", [
    (["--target", "nowhere.yaml"], "nowhere.yaml"),
    (["--target", "zcu102", "--dataset", "imagenet"], "unknown dataset"),
    (["--target", "zcu102", "--quant-choices", "q3"], "--quant-choices"),
    (["--target", "zcu102", "--dataset", "photo", "--split", "public"], "no 'public' split"),
])
def test_bad_input_fails_before_training(argv, needle, tmp_path, capsys):
    assert main(["search", *argv, "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "e").exists()


def test_weight_decay_is_the_datasets_unless_given_and_old_runs_keep_kipfs():
    cora, photo = SearchConfig(target="zcu102", dataset="cora"), SearchConfig(target="zcu102", dataset="photo")
    assert cora.weight_decay == KIPF_WEIGHT_DECAY and photo.weight_decay == dataset_info("photo").weight_decay
    assert SearchConfig(target="zcu102", dataset="photo", weight_decay=1e-3).weight_decay == 1e-3
    # run.json records the value used; one written before the field existed trained with Kipf's
    assert SearchConfig.from_dict(photo.to_dict()) == photo
    before = {k: v for k, v in photo.to_dict().items() if k != "weight_decay"}
    assert SearchConfig.from_dict(before).weight_decay == KIPF_WEIGHT_DECAY
    layer = {"attention": "gat", "aggregation": "sum", "heads": 1,
             "quant": {"weight": "q8", "feature": "q8", "message": "q8", "attention": "q8"}}
    arch = parse_arch({"layers": [{**layer, "activation": "relu", "hidden": 16}, layer]})
    assert replace(photo, weight_decay=0.25).train_config(arch).weight_decay == 0.25


def test_the_supernet_paths_train_with_the_configured_weight_decay(config):
    def weights_after_one_epoch(decay: float) -> torch.Tensor:
        problem = prepare(replace(config, epochs=1, weight_decay=decay))
        state = new_state(problem)
        search_epochs(problem, state, None, False)
        return torch.cat([p.detach().flatten() for p in state.supernet.parameters()])

    plain = weights_after_one_epoch(0.0)
    assert torch.equal(weights_after_one_epoch(0.0), plain)  # deterministic, so only the decay differs
    assert not torch.equal(weights_after_one_epoch(0.5), plain)


def test_weight_decay_flag_reaches_the_run(config, tmp_path, capsys):
    out = tmp_path / "wd"
    assert main(["search", "--target", "zcu102", "--dataset", "cora", "--data-root", config.data_root,
                 "--epochs", "2", "--retrain-epochs", "2", "--weight-decay", "0", "--out", str(out), "--json"]) == 0
    assert json.loads((out / "run.json").read_text())["weight_decay"] == 0.0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["search", "--target", "zcu102", "--weight-decay", "-1", "--out", str(tmp_path / "bad")])
    assert exit_.value.code == 2 and "--weight-decay" in capsys.readouterr().err


@pytest.fixture(scope="module")
def uninterrupted(config, tmp_path_factory) -> list[dict]:
    """The epoch records of the 40-epoch search the interruption tests break off."""
    out = tmp_path_factory.mktemp("runs") / "whole"
    run_search(replace(config, epochs=40, out=str(out)))
    return json.loads((out / "search.json").read_text())["history"]


def _start_search(config, out: Path) -> subprocess.Popen:
    """A 40-epoch search in a child process, returned once it has written its first checkpoint."""
    env = {**os.environ, "LPGNAS_DATA": config.data_root}
    cmd = [sys.executable, "-m", "lpgnas.cli", "search", "--target", "zcu102", "--dataset", "cora",
           "--epochs", "40", "--seed", "3", "--out", str(out)]
    # SIGINT at its default in the child whatever this process inherited (a background job of a
    # non-interactive shell ignores it, and the child would inherit that)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not (out / "checkpoint.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    return proc


def _resume(out: Path, moved: Path) -> list[dict]:
    """Resume the run at `out` from a new place and return its epoch records."""
    assert (out / "checkpoint.pt").exists() and not (out / "result.json").exists()
    # shorten the retraining of the resumed run, as a user could not; the search part is what resumes
    run = json.loads((out / "run.json").read_text())
    run["retrain"] = QUICK.__dict__
    (out / "run.json").write_text(json.dumps(run))
    # a moved run directory resumes where it is now, not where run.json says it was started
    out.rename(moved)
    assert main(["search", "--resume", str(moved), "--json"]) == 0
    assert not out.exists() and json.loads((moved / "result.json").read_text())["arch"]["layers"]
    return json.loads((moved / "search.json").read_text())["history"]


@pytest.mark.slow
def test_killed_search_resumes_and_finishes_as_if_never_stopped(config, uninterrupted, tmp_path):
    out = tmp_path / "killed"
    proc = _start_search(config, out)
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)  # no chance to save: resumes from the last periodic checkpoint
    proc.wait()
    assert _resume(out, tmp_path / "moved") == uninterrupted


@pytest.mark.slow
def test_interrupted_search_saves_its_last_epoch_and_resumes_exactly(config, uninterrupted, tmp_path):
    out = tmp_path / "interrupted"
    proc = _start_search(config, out)
    time.sleep(3.0)  # several epochs past the first checkpoint, far from the next periodic one
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    saved = torch.load(out / "checkpoint.pt", weights_only=False)["epoch"]
    assert 1 < saved < 40  # saved at the interruption, not only after epoch 1
    assert _resume(out, tmp_path / "moved") == uninterrupted


def test_existing_run_directory_is_not_overwritten(config):
    with pytest.raises(InputError, match="--resume"):
        run_search(config)


def test_corrupt_checkpoint_is_a_clear_error(config, tmp_path, capsys):
    out = tmp_path / "corrupt"
    out.mkdir()
    (out / "run.json").write_text(json.dumps(replace(config, out=str(out)).to_dict()))
    (out / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert main(["search", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt" in err and "Traceback" not in err and err.count("\n") == 1


def test_pair_probe_scores_every_pair_of_a_finished_search(config, tmp_path):
    out = tmp_path / "probe"
    searched = run_search(replace(config, epochs=2, out=str(out), keep_checkpoint=True))
    scores = pair_scores(out, layer=0)
    assert len(scores) == 7 * 3 and all(0 <= acc <= 1 and loss > 0 for loss, acc in scores.values())
    assert len({round(loss, 6) for loss, _ in scores.values()}) > 1  # the pairs are really swapped
    assert json.loads((out / "result.json").read_text()) == searched  # the run is only read
    with pytest.raises(InputError):
        pair_scores(tmp_path)  # not a run directory
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "run.json").write_text((out / "run.json").read_text())
    with pytest.raises(InputError, match="checkpoint"):
        pair_scores(bare)  # a run without its checkpoint
    (bare / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="unreadable search checkpoint"):
        pair_scores(bare)


def test_frozen_weights_need_no_gradient_inside_and_get_it_back_after():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    model[1].bias.requires_grad_(False)  # frozen already: stays so
    with pytest.raises(RuntimeError), frozen(model):
        assert not any(p.requires_grad for p in model.parameters())
        out = model(torch.randn(5, 3))
        assert not out.requires_grad  # nothing recorded for the weights
        raise RuntimeError("interrupted")
    assert [p.requires_grad for p in model.parameters()] == [True, True, True, False]


def test_the_architecture_gradient_is_the_same_with_the_weights_frozen(config):
    """Freezing only skips the weights' gradients, which the weight step recomputes anyway."""
    problem = prepare(replace(config, epochs=3))
    state = new_state(problem)
    x, edge_index = as_input(problem.graph.x), with_self_loops(problem.graph.edge_index, problem.graph.num_nodes)
    grads = []
    for freeze in (False, True):
        state.controller.zero_grad()
        torch.manual_seed(0)  # the same sampled path, and the same dropout
        sample = state.controller.sample(1.0)
        with frozen(state.supernet) if freeze else contextlib.nullcontext():
            logits, terms = state.supernet(x, edge_index, sample)
            (logits.square().mean() + terms.distortion).backward()
        grads.append([None if p.grad is None else p.grad.clone() for p in state.controller.parameters()])
    assert any(g is not None for g in grads[0])
    for plain, frozen_grad in zip(*grads):
        assert (plain is None) == (frozen_grad is None)
        if plain is not None:
            torch.testing.assert_close(frozen_grad, plain)


def test_a_checkpoint_with_a_pickle_payload_is_refused_before_it_runs(config, tmp_path, capsys):
    import pathlib

    class Payload:
        def __reduce__(self):
            return (pathlib.Path.touch, (tmp_path / "ran",))

    out = tmp_path / "hostile"
    out.mkdir()
    (out / "run.json").write_text(json.dumps(replace(config, out=str(out)).to_dict()))
    torch.save({"supernet": {}, "epoch": Payload()}, out / "checkpoint.pt")
    assert main(["search", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert not (tmp_path / "ran").exists()
    assert "checkpoint.pt" in err and "refused" in err and err.count("\n") == 1
