"""arch.yaml validation: every bad case is exit 2 with one line naming the file and field."""

import subprocess
import sys
from pathlib import Path

import pytest

from hwsim.errors import InputError
from hwsim.network import parse_arch
from lpgnas.cli import main
from lpgnas.io.archfile import dump_arch, load_arch_file

GOOD = """
layers:
  - attention: gat
    aggregation: sum
    activation: elu
    hidden: 8
    heads: 8
    quant: {weight: q4, feature: q8, attention: q8, message: q8}
  - attention: gcn
    aggregation: mean
    heads: 1
    quant: {weight: q4, feature: q8, message: q8}
"""

BAD = {
    "unknown attention": (GOOD.replace("attention: gat", "attention: gatt"), "layers[0].attention"),
    "bits q3": (GOOD.replace("weight: q4, feature: q8, attention", "weight: q3, feature: q8, attention"),
                "layers[0].quant.weight"),
    "hidden 0": (GOOD.replace("hidden: 8", "hidden: 0"), "layers[0].hidden"),
    "missing layers": ("train: {lr: 0.01}\n", "layers"),
    "empty layers": ("layers: []\n", "layers"),
    "not yaml": ("layers: [\n  - {attention: gcn\n", "not valid YAML"),
    "unknown key": (GOOD.replace("heads: 8", "heads: 8\n    colour: red"), "layers[0]"),
    "missing attention bits": (GOOD.replace("attention: q8, ", ""), "layers[0].quant.attention"),
    "hidden on last layer": (GOOD.replace("heads: 1", "heads: 1\n    hidden: 16"), "layers[1].hidden"),
    "bad train field": (GOOD + "train: {lr: -1}\n", "train.lr"),
    "unknown top-level key": (GOOD + "optimiser: sgd\n", "optimiser"),
}


def test_good_file_round_trips(tmp_path):
    path = tmp_path / "arch.yaml"
    path.write_text(GOOD)
    arch, train = load_arch_file(path)
    assert arch.layers[0].heads == 8 and arch.layers[1].quant.attention is None
    assert arch.layers[1].activation == "identity"
    path.write_text(dump_arch(arch, train))
    assert load_arch_file(path)[0] == arch


def test_attention_bits_are_ignored_for_gcn():
    data = {"layers": [{"attention": "gcn", "aggregation": "sum", "heads": 1,
                        "quant": {"weight": "q8", "feature": "q8", "message": "q8", "attention": "q4"}}]}
    assert parse_arch(data).layers[0].quant.attention is None


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_arch_file_is_one_line_exit_2(case, tmp_path, capsys):
    text, field = BAD[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_arch_file(path)
    assert field in info.value.one_line() and str(path) in info.value.one_line()
    code = main(["train", "--arch", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err and field in err


def test_unreadable_file_names_the_file(tmp_path, capsys):
    missing = tmp_path / "nope.yaml"
    assert main(["train", "--arch", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_console_script_reports_without_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD["bits q3"][0])
    proc = subprocess.run([sys.executable, "-m", "lpgnas.cli", "train", "--arch", str(path)],
                          capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "layers[0].quant.weight" in proc.stderr
