"""The search's hyper-parameters: recorded, validated, and part of every point's key when changed."""

from __future__ import annotations

import json
from dataclasses import fields, replace

import pytest

from hwsim.errors import InputError
from hwsim.network import parse_arch
from lpgnas.cli import main
from lpgnas.search.config import SearchConfig, retrain_config
from lpgnas.search.hparams import SearchHyperParams, load_hyperparams, parse_hyperparams
from lpgnas.sweep.spec import SweepSpec, expand, load_sweep_spec

GCN = {"layers": [{"attention": "gcn", "aggregation": "sum", "activation": "relu", "hidden": 16, "heads": 1,
                   "quant": {"weight": "q8", "feature": "q8", "message": "q8"}},
                  {"attention": "gcn", "aggregation": "sum", "heads": 1,
                   "quant": {"weight": "q8", "feature": "q8", "message": "q8"}}]}


def changed(field_name: str) -> SearchHyperParams:
    """The defaults with one field moved to another valid value."""
    default = getattr(SearchHyperParams(), field_name)
    value = default + 1 if isinstance(default, int) else default / 2
    return replace(SearchHyperParams(), **{field_name: value})


def search_keys(spec: SweepSpec) -> set[str]:
    return {p.key for p in expand(spec) if p.kind in ("search", "reference")}


@pytest.mark.parametrize("name", [f.name for f in fields(SearchHyperParams)])
def test_changing_any_hyperparameter_changes_the_point_keys(name):
    base = SweepSpec(targets=("zcu102",), baselines=())
    other = replace(base, hparams=changed(name))
    assert search_keys(other).isdisjoint(search_keys(base))
    assert all(p.options["hparams"] == {name: getattr(other.hparams, name)}
               for p in expand(other) if p.kind in ("search", "reference"))


def test_default_hyperparameters_leave_the_keys_as_they_were():
    """Points under the defaults carry no `hparams` option, so keys made before it existed hold."""
    spec = SweepSpec(targets=("zcu102",), baselines=("gcn",))
    assert all("hparams" not in p.options for p in expand(spec))
    assert search_keys(spec) == search_keys(replace(spec, hparams=SearchHyperParams()))


def test_sweep_file_and_command_line_take_hyperparameters(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("targets: [zcu102]\nhparams: {arch_samples: 4}\n")
    assert load_sweep_spec(str(path), {}).hparams.arch_samples == 4
    path.write_text("targets: [zcu102]\nhparams: {arch_sample: 4}\n")
    with pytest.raises(InputError, match="arch_sample"):
        load_sweep_spec(str(path), {})


def test_run_json_records_every_hyperparameter_and_old_runs_read_as_defaults():
    config = SearchConfig(target="zcu102", hparams=changed("weight_lr"))
    data = json.loads(json.dumps(config.to_dict()))
    assert set(data["hparams"]) == {f.name for f in fields(SearchHyperParams)}
    assert SearchConfig.from_dict(data) == config
    del data["hparams"]  # a run.json written before the field existed
    assert SearchConfig.from_dict(data).hparams == SearchHyperParams()


def test_retraining_follows_the_hyperparameters():
    arch = parse_arch(GCN)
    hparams = replace(SearchHyperParams(), retrain_plain_lr=0.02, retrain_max_epochs=7, retrain_patience=3)
    train = retrain_config(arch, 1e-3, hparams)
    assert (train.lr, train.epochs, train.patience, train.weight_decay) == (0.02, 7, 3, 1e-3)
    assert retrain_config(arch, 5e-4).lr == SearchHyperParams().retrain_plain_lr


@pytest.mark.parametrize("data, field", [({"weight_lr": float("inf")}, "weight_lr"),
                                         ({"weight_lr": float("nan")}, "weight_lr"),
                                         ({"arch_lr": -1}, "arch_lr"), ({"search_dropout": 1.0}, "search_dropout"),
                                         ({"arch_samples": 1}, "arch_samples"), ({"tau_end": 0}, "tau_end"),
                                         ({"nope": 1}, "")])
def test_bad_hyperparameters_are_refused(data, field):
    with pytest.raises(InputError) as err:
        parse_hyperparams(data, "f.yaml")
    assert err.value.source == "f.yaml" and field in err.value.one_line()


def test_hyperparameter_assignments_and_files(tmp_path):
    path = tmp_path / "h.yaml"
    path.write_text("arch_samples: 4\nweight_lr: 0.01\n")
    loaded = load_hyperparams(str(path), ["weight_lr=0.02"])
    assert (loaded.arch_samples, loaded.weight_lr) == (4, 0.02)
    with pytest.raises(InputError, match="NAME=VALUE"):
        load_hyperparams(None, ["weight_lr"])
    with pytest.raises(InputError, match="not a number"):
        load_hyperparams(None, ["arch_samples=many"])


@pytest.mark.parametrize("assignment", ["weight_lr=inf", "arch_samples=0", "bogus=1", "weight_lr"])
def test_search_refuses_bad_hyperparameters_with_one_line(assignment, capsys):
    assert main(["search", "--target", "zcu102", "--hparam", assignment, "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--hparam" in err[0] and "Traceback" not in err[0]


def test_sweep_command_line_hyperparameters_merge_over_the_files(tmp_path):
    from lpgnas.search.hparams import hyperparam_overrides

    path = tmp_path / "sweep.yaml"
    path.write_text("targets: [zcu102]\nhparams: {arch_lr: 0.01}\n")
    spec = load_sweep_spec(str(path), {"hparams": hyperparam_overrides(None, ["tau_end=0.1"])})
    assert (spec.hparams.arch_lr, spec.hparams.tau_end) == (0.01, 0.1)
