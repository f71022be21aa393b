"""The what-if scripts of the microarchitecture fields run and print their before/after table."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

WHATIF = Path(__file__).resolve().parents[1] / "examples" / "whatif"


@pytest.mark.parametrize("script", ["column_reuse.py", "fill_drain.py", "dram_realism.py"])
def test_whatif_script_prints_its_table(script, data_root, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(WHATIF))
    monkeypatch.setattr(sys, "argv", [script, "--dataset", "cora", "--archs", "gcn-w8a8", "--data-root",
                                      str(data_root)])
    runpy.run_path(str(WHATIF / script), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("gcn-w8a8") and "speed-up" in "".join(lines)
