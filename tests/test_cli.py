"""The command line as a person meets it: progress without a terminal, the run directory and the
resume command, the summary's headers, and the version."""

from __future__ import annotations

import pytest

import lpgnas.search.run
from lpgnas import __version__
from lpgnas.cli import main
from lpgnas.cli.report import render_search
from lpgnas.io.progress import LineProgress, progress_bar


def test_progress_without_a_terminal_is_plain_lines(capsys):
    with LineProgress(total=3, desc="search cora", interval=0.0) as bar:
        bar.set_postfix(acc="0.50")
        bar.update(1)
        bar.update(2)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("search cora: 1/3 (") and "acc=0.50" in lines[0]
    assert lines[-1].startswith("search cora: 3/3") and "\r" not in "".join(lines)


def test_progress_is_lines_when_stderr_is_not_a_terminal(capsys):
    assert isinstance(progress_bar(10, "x"), LineProgress)  # pytest's captured stderr is no terminal
    assert not isinstance(progress_bar(10, "x", enabled=False), LineProgress)


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"lpgnas-hw {__version__}"


def test_interrupted_search_names_its_directory_and_the_resume_command(monkeypatch, tmp_path, capsys):
    def interrupted(config, progress=False, resume=False, on_start=None):
        on_start()
        raise KeyboardInterrupt

    monkeypatch.setattr(lpgnas.search.run, "run_search", interrupted)
    out = tmp_path / "my run"
    assert main(["search", "--target", "zcu102", "--out", str(out)]) == 130
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"run directory: {out}")
    assert err[-1].endswith(f"continue with: lpgnas-hw search --resume '{out}'")


def test_bad_input_stays_one_line_before_the_run_starts(capsys):
    assert main(["search", "--target", "zcu102", "--dataset", "nope"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "nope" in err[0]


RESULT = {
    "dataset": "cora", "split": "public", "target": "zcu102", "seed": 0, "seeds": [0],
    "arch": {"layers": [{"attention": "gcn", "aggregation": "sum", "activation": "relu", "hidden": 16, "heads": 1,
                         "quant": {"weight": "q8", "feature": "q8", "message": "q8"}}]},
    "accuracy": {"val": {"mean": 0.8, "std": 0.0}, "test": {"mean": 0.81, "std": 0.0}},
    "model_size_bytes": 1000, "buffer_size_bytes": 2000, "repaired": False,
    "timing": {"search_s": 1.0, "retrain_s": 2.0},
    "hw": {"cycles": 200, "clock_mhz": 200.0, "latency_ms": 0.001, "dram_bytes": 10, "peak_buffer_bytes": 20,
           "macs": 30, "edges": 5, "per_layer": [{
               "combination": {"cycles": 150, "latency_ms": 0.00075, "dram_bytes": 4, "macs": 30,
                               "compute_cycles": 150, "memory_cycles": 10},
               "aggregation": {"cycles": 50, "latency_ms": 0.00025, "dram_bytes": 6, "macs": 0,
                               "compute_cycles": 5, "memory_cycles": 50, "hit_rate": 0.5}}]},
}


def test_search_summary_has_headers_clock_bound_and_one_seed():
    text = render_search(RESULT)
    assert "attention" in text and "width x heads" in text  # the architecture's column headers
    assert "200 MHz" in text and "bound" in text
    combination, aggregation = (line for line in text.splitlines() if line.startswith("1 "))
    assert "compute" in combination and "memory" in aggregation
    assert "81.00 % (1 seed)" in text and "± 0.00" not in text
    several = {**RESULT, "seeds": [0, 1], "accuracy": {"val": {"mean": 0.8, "std": 0.01},
                                                        "test": {"mean": 0.81, "std": 0.02}}}
    assert "81.00 ± 2.00 % (2 seeds)" in render_search(several)


def test_search_and_sweep_defaults_are_the_search_configs():
    """Each default is defined once, in SearchConfig: the CLI and sweeps read it from there."""
    from dataclasses import fields

    from lpgnas.cli.program import build_parser
    from lpgnas.search.config import SearchConfig
    from lpgnas.sweep.spec import SweepSpec

    args = build_parser().parse_args(["search", "--target", "zcu102"])
    config_defaults = {f.name: f.default for f in fields(SearchConfig)}
    for name in ("dataset", "layers", "epochs", "seed", "candidates", "latency_weight", "buffer_weight",
                 "size_weight", "budget_weight", "quant_choices", "threads"):
        assert getattr(args, name) == config_defaults[name], name
    spec = SweepSpec(targets=("zcu102",))
    for name in ("layers", "epochs", "quant_choices", "threads", "buffer_weight", "size_weight"):
        assert getattr(spec, name) == config_defaults[name], name
    assert spec.weights == (config_defaults["latency_weight"],)


def test_a_double_ctrl_c_stops_with_one_line_and_no_traceback(tmp_path, monkeypatch, capsys):
    """The second SIGINT lands inside a forward pass of the search (deterministically, not as a
    race): it interrupts at once, and the CLI says where to resume, in one line."""
    import signal

    import numpy as np

    from lpgnas.search.supernet import SuperNet

    ring = np.arange(30)
    graph = tmp_path / "ring.npz"
    np.savez(graph, edge_index=np.stack([ring, (ring + 1) % 30]), x=np.eye(30, 5), y=ring % 2)
    real, calls = SuperNet.forward, []

    def forward(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            signal.raise_signal(signal.SIGINT)  # held until the epoch ends
            signal.raise_signal(signal.SIGINT)  # delivered now
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SuperNet, "forward", forward)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code = main(["search", "--target", "zcu102", "--dataset", str(graph), "--epochs", "50",
                     "--out", str(tmp_path / "run")])
    finally:
        signal.signal(signal.SIGINT, previous)
    err = capsys.readouterr().err
    assert code == 130 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("lpgnas-hw: interrupted") and "--resume" in err
