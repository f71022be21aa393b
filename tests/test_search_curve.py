"""examples/study/search_curve.py: window means from a finished or a running search's history."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import load_script

search_curve = load_script("examples/study/search_curve.py")

HISTORY = [{"epoch": e, "train_acc": e / 10, "weight_loss": 10.0 - e, "arch_loss": 0.0} for e in range(1, 8)]


def test_windows_average_whole_windows_only():
    assert search_curve.windows(HISTORY, 3) == [(3, pytest.approx(0.2), 8.0), (6, pytest.approx(0.5), 5.0)]
    assert search_curve.windows(HISTORY, 10) == []


def test_reads_search_json_or_checkpoint(tmp_path, capsys):
    finished, running = tmp_path / "finished", tmp_path / "running"
    finished.mkdir()
    running.mkdir()
    (finished / "search.json").write_text(json.dumps({"history": HISTORY}))
    torch.save({"history": HISTORY[:4], "epoch": 4}, running / "checkpoint.pt")
    assert search_curve.main([str(finished), str(running), "--window", "2"]) == 0
    out = capsys.readouterr().out
    assert "      2  0.150  8.500" in out and "      6  0.550  4.500" in out
    assert out.count("  0.350  6.500") == 2  # epochs 3-4 of both


def test_bad_input_is_one_line_and_status_2(tmp_path, capsys):
    assert search_curve.main([str(tmp_path)]) == 2
    assert search_curve.main([str(tmp_path), "--window", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "not a search run directory" in err and "--window" in err
