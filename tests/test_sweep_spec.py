"""lpgnas.sweep.spec: the sweep file and command line, the grid of points and their keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from lpgnas.cli import main
from lpgnas.sweep.runner import _label
from lpgnas.sweep.spec import SweepSpec, expand, load_sweep_spec


def test_grid_is_the_product_of_the_lists():
    spec = SweepSpec(targets=("zcu102", "u250"), datasets=("cora", "citeseer"), latency_budgets_ms=(0.02, 0.04, 0.08),
                     seeds=(0, 1), baselines=("gcn", "gat"))
    points = expand(spec)
    searches = [p for p in points if p.kind == "search"]
    assert len(searches) == 2 * 2 * 3 * 2
    assert len([p for p in points if p.kind == "reference"]) == 2 * 2  # per dataset and seed
    assert len([p for p in points if p.kind == "baseline"]) == 2 * 2 * 2
    assert len({p.key for p in points}) == len(points)
    assert {p.options["latency_weight"] for p in searches} == {0.0}  # budgets set the latency
    assert [p.key for p in expand(spec)] == [p.key for p in points]  # keys are stable


def test_weights_default_to_the_search_default_without_budgets():
    points = expand(SweepSpec(targets=("zcu102",), nohw_reference=False, baselines=()))
    assert [p.options["latency_weight"] for p in points] == [0.1]


def test_a_changed_setting_makes_new_points():
    a = expand(SweepSpec(targets=("zcu102",), latency_budgets_ms=(0.03,), nohw_reference=False, baselines=()))
    b = expand(SweepSpec(targets=("zcu102",), latency_budgets_ms=(0.03,), nohw_reference=False, baselines=(),
                         epochs=100))
    assert a[0].key != b[0].key


def test_size_weight_reaches_the_searches_and_only_then_changes_keys():
    plain = expand(SweepSpec(targets=("zcu102",), nohw_reference=False, baselines=()))
    zero = expand(SweepSpec(targets=("zcu102",), nohw_reference=False, baselines=(), size_weight=0.0))
    sized = expand(SweepSpec(targets=("zcu102",), nohw_reference=False, baselines=(), size_weight=0.05))
    assert [p.key for p in zero] == [p.key for p in plain] and "size_weight" not in plain[0].options
    assert sized[0].options["size_weight"] == 0.05 and sized[0].key != plain[0].key
    assert _label(sized[0]) == "λ=0.1, λ_size=0.05" and _label(plain[0]) == "λ=0.1"


def test_the_example_sweep_files_are_valid():
    files = list((Path(__file__).resolve().parents[1] / "examples" / "sweeps").glob("*.yaml"))
    assert files
    for path in files:
        assert expand(load_sweep_spec(str(path), {}))


@pytest.mark.parametrize("text,needle", [
    ("targets: [zcu102]\nlatency_budget_ms: [0.1]\n", "unknown key 'latency_budget_ms'"),
    ("targets: [zcu102]\nlatency_budgets_ms: [-1]\n", "latency_budgets_ms[0]"),
    ("targets: [zcu102]\nseeds: one\n", "seeds"),
    ("datasets: [cora]\n", "targets"),
    ("targets: [nowhere]\n", "nowhere"),
    ("targets: [zcu102]\ndatasets: [imagenet]\n", "unknown dataset"),
    ("targets: [zcu102]\nbaselines: [gcn-w3a3]\n", "gcn-w3a3"),
    ("- just a list\n", "mapping"),
])
def test_bad_sweep_files_exit_2_with_one_line(text, needle, tmp_path, capsys):
    config = tmp_path / "sweep.yaml"
    config.write_text(text)
    assert main(["sweep", "--config", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_two_targets_with_one_name_are_refused(tmp_path, capsys):
    import json

    from hwsim.target import load_target

    copy = tmp_path / "my-zcu102.yaml"
    copy.write_text(json.dumps({**load_target("zcu102").to_dict(), "dram_gbps": 10.0}))
    assert main(["sweep", "--target", "zcu102", "--target", str(copy), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "both named 'zcu102'" in err and err.count("\n") == 1


def test_an_edited_target_file_makes_new_points_and_presets_keep_their_keys(tmp_path):
    import json

    from hwsim.target import load_target

    board = tmp_path / "board.yaml"
    board.write_text(json.dumps({**load_target("zcu102").to_dict(), "name": "board"}))
    spec = SweepSpec(targets=("zcu102", str(board)), latency_budgets_ms=(0.05,), baselines=("gcn",))
    before = {p.key: p for p in expand(spec)}
    board.write_text(json.dumps({**load_target("zcu102").to_dict(), "name": "board", "dram_gbps": 10.0}))
    after = {p.key: p for p in expand(spec)}
    on_preset = {k for k, p in before.items() if p.kind == "search" and p.targets == ("zcu102",)}
    assert on_preset and on_preset <= set(after)  # the preset's own points are untouched
    changed = set(before) - set(after)
    assert changed and all(p.kind != "search" or p.targets != ("zcu102",) for k, p in before.items() if k in changed)
