"""examples/study/supernet_mixing.py and feature_scaling.py: the probes behind the README's Computers finding."""

from __future__ import annotations

import pytest
import torch
from conftest import load_script

from hwsim.errors import InputError
from lpgnas.search.space import SearchSpace

supernet_mixing = load_script("examples/study/supernet_mixing.py")
feature_scaling = load_script("examples/study/feature_scaling.py")
SPACE = SearchSpace(weight_quants=("f32",), activation_quants=("f32",))


def test_path_is_checked_against_the_space():
    assert supernet_mixing.parse_path("gat,max,elu,16,4", SPACE) == {
        "attention": "gat", "aggregation": "max", "activation": "elu", "hidden": 16, "heads": 4}
    with pytest.raises(InputError, match="hidden: '65' is not one of"):
        supernet_mixing.parse_path("gcn,sum,relu,65,1", SPACE)
    with pytest.raises(InputError, match="needs 5 values"):
        supernet_mixing.parse_path("gcn,sum", SPACE)


def test_only_the_named_choices_are_drawn():
    path = supernet_mixing.parse_path("gcn,sum,relu,64,1", SPACE)
    fixed = supernet_mixing.path_sample(SPACE, path, ("attention",), None)
    generator = torch.Generator().manual_seed(0)
    drawn = [supernet_mixing.path_sample(SPACE, path, ("attention",), generator) for _ in range(40)]
    for layer in range(SPACE.depth):
        attentions = {int(s[layer]["attention"].argmax()) for s in drawn}
        assert len(attentions) > 3  # 7 candidates, 40 uniform draws
        for name in fixed[layer]:
            if name != "attention":
                assert all(torch.equal(s[layer][name], fixed[layer][name]) for s in drawn)
    assert int(fixed[0]["hidden"].argmax()) == SPACE.arch_choices(0)["hidden"].index(64)


def test_a_fixed_path_learns_cora(cora, capsys):
    assert supernet_mixing.main(["cora", "--epochs", "30"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [r[0] for r in rows] == ["10", "20", "30"]
    assert float(rows[-1][2]) > 0.6  # the fixed gcn/sum path's validation accuracy (7 classes)


def test_feature_scaling_trains_both_feature_sets(cora, capsys):
    assert feature_scaling.main(["gcn", "cora", "--epochs", "3", "--seeds", "0,1"]) == 0
    out = capsys.readouterr().out
    assert "at most 3 epochs" in out
    for features in ("row-normalised", "binary"):
        assert out.count(f"  {features:<14}") == 3  # two seeds and the mean
        assert f"{features:<14}  mean" in out


@pytest.mark.parametrize("module, argv, message", [
    (supernet_mixing, ["cora", "--vary", "depth"], "argument --vary: unknown choice 'depth'"),
    (supernet_mixing, ["cora", "--epochs", "5"], "argument --epochs: must be at least 10"),
    (supernet_mixing, ["nope"], "unknown dataset 'nope'"),
    (feature_scaling, ["gcn", "cora", "--seeds", "a"], "argument --seeds: expected comma-separated integers"),
    (feature_scaling, ["nonet", "cora"], "argument NETWORK: no file or example network named 'nonet'"),
    (feature_scaling, ["gcn", "cora", "--epochs", "0"], "argument --epochs: must be at least 1"),
])
def test_bad_input_is_one_line_and_status_2(module, argv, message, capsys):
    assert module.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
