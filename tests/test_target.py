"""Target files: presets load; each kind of bad file is exit 2 with one line naming file and field."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hw_strategies import target_dict

from hwsim.errors import InputError
from hwsim.target import load_target, parse_target, preset_names
from lpgnas.cli import main

ARCH = str(Path(__file__).parents[1] / "examples" / "archs" / "gcn-w4a8.yaml")


def test_presets_load_and_list():
    assert set(preset_names()) == {"zcu102", "zcu104", "u250", "u280"}
    zcu102 = load_target("zcu102")
    assert (zcu102.dsp, zcu102.lut, zcu102.uram_kib) == (2520, 274080, 0)
    assert load_target("examples/targets/fpga.yaml").name == "my-fpga"


def test_wider_operands_are_never_faster():
    target = load_target("zcu102")
    columns = [target.columns_per_pass(b) for b in (1, 2, 4, 8, 16, 32)]
    assert columns == sorted(columns, reverse=True)


def _without(data, key):
    data = dict(data)
    del data[key]
    return data


BAD = {
    "unknown key": (target_dict(colour="red"), ""),
    "unknown nested key": (target_dict(buffers={"message": 0.5, "weight": 0.2, "feature": 0.2, "output": 0.1,
                                                "cache": 0.1}), "buffers"),
    "wrong type": (target_dict(pe_rows="many"), "pe_rows"),
    "zero count": (target_dict(agg_lanes=0), "agg_lanes"),
    "zero clock": (target_dict(clock_mhz=0), "clock_mhz"),
    "negative capacity": (target_dict(bram_kib=-1), "bram_kib"),
    "missing field": (_without(target_dict(), "dram_gbps"), "dram_gbps"),
    "partition too large": (target_dict(buffers={"message": 0.6, "weight": 0.3, "feature": 0.2, "output": 0.1}),
                            "buffers"),
    "packing misses a width": (target_dict(packing={"dsp_macs": {8: 2, 16: 1, 32: 0.5}, "lut_per_mac": {1: 2, 2: 8}}),
                               "packing"),
    "packing twice": (target_dict(packing={"dsp_macs": {2: 8, 4: 4, 8: 2, 16: 1, 32: 0.5},
                                           "lut_per_mac": {1: 2, 2: 8}}), "packing.lut_per_mac.2"),
    "wider cheaper": (target_dict(packing={"dsp_macs": {4: 2, 8: 4, 16: 1, 32: 0.5}, "lut_per_mac": {1: 2, 2: 8}}),
                      "packing.dsp_macs.8"),
    "PE array too large": (target_dict(dsp=10), "pe_cols"),
    "schema version": (target_dict(schema_version=2), "schema_version"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_target_file_is_one_line_exit_2(case, tmp_path, capsys):
    data, field = BAD[case]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError) as info:
        load_target(path)
    assert info.value.field.startswith(field)
    code = main(["simulate", "--target", str(path), "--arch", ARCH, "--dataset", "missing.csv"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err and field in err


def test_not_yaml_and_unknown_preset(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text("clock_mhz: [1, 2\n")
    assert main(["simulate", "--target", str(path), "--arch", ARCH]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert main(["simulate", "--target", "zcu999", "--arch", ARCH]) == 2
    assert "zcu102" in capsys.readouterr().err


def test_with_changes_revalidates():
    target = parse_target(target_dict())
    assert target.with_changes(bram_kib=128).bram_kib == 128
    with pytest.raises(InputError):
        target.with_changes(pe_rows=0)


def test_hwsim_never_imports_torch():
    code = ("import sys, hwsim.simulate, hwsim.target, hwsim.graphio, hwsim.network; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
