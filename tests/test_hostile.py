"""Hostile and careless input, as a generated corpus run in-process through the CLI's main(argv):
every case exits 2 with one line on stderr and no traceback, and leaves no half-written file.

The kinds follow the cases tried against the tool by hand (targets, arch files, graphs, sweep
configs, numbers on the command line, run-directory files, I/O failures); each kind has at least
ten cases. I/O failures are injected deterministically (CI runs as root, so permissions alone
cannot make a write fail).
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

from hwsim.target import load_target
from lpgnas.cli import main

PRESET = load_target("zcu102").to_dict()
GCN = yaml.safe_load((Path(__file__).resolve().parents[1] / "lpgnas" / "archs" / "gcn.yaml").read_text())


@dataclass
class Case:
    """One hostile input: files to write (name -> bytes) and the command, {dir} the case's folder."""

    kind: str
    name: str
    files: dict[str, bytes]
    argv: list[str]
    setup: Callable[[Path, pytest.MonkeyPatch], None] | None = None


def dump(data) -> bytes:
    return yaml.safe_dump(data, sort_keys=False).encode()


def ring_graph(nodes: int = 12, features: bool = True) -> bytes:
    """A small graph file with features and labels, written as npz bytes."""
    import io

    ring = np.arange(nodes)
    arrays = {"edge_index": np.stack([ring, (ring + 1) % nodes]), "y": ring % 3}
    if features:
        arrays["x"] = np.eye(nodes, 6, dtype=np.float32) + 0.1
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npz(**arrays) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


SIMULATE = ["simulate", "--target", "{dir}/t.yaml", "--arch", "{dir}/a.yaml", "--dataset", "{dir}/g.npz"]
BASE_FILES = {"t.yaml": dump(PRESET), "a.yaml": dump(GCN), "g.npz": ring_graph()}


def target_cases() -> list[Case]:
    cases = []

    def add(name: str, data) -> None:
        content = data if isinstance(data, bytes) else dump(data)
        cases.append(Case("target", name, {**BASE_FILES, "t.yaml": content}, SIMULATE))

    for key in ("clock_mhz", "dram_gbps", "bram_kib", "dsp", "lut", "pe_rows", "pe_cols", "agg_lanes",
                "datapath_bits", "name", "buffers", "packing", "overlap"):
        add(f"missing-{key}", {k: v for k, v in PRESET.items() if k != key})
    for key in ("clock_mhz", "dram_gbps", "bram_kib", "uram_kib", "dsp", "pe_rows", "agg_lanes", "datapath_bits",
                "accumulator_bits", "index_bytes"):
        for label, value in (("neg", -5), ("inf", float("inf")), ("nan", float("nan")), ("huge", 1e300),
                             ("text", "many")):
            if key == "uram_kib" and label == "neg" or key in ("bram_kib",) and label == "neg":
                value = -1.0
            add(f"{key}-{label}", {**PRESET, key: value})
        add(f"{key}-list", {**PRESET, key: [1, 2]})
    for key in ("dsp", "pe_rows", "pe_cols", "agg_lanes", "datapath_bits"):
        add(f"{key}-zero", {**PRESET, key: 0})
    add("unknown-key", {**PRESET, "pe_colums": 8})
    add("clock-true", {**PRESET, "clock_mhz": True})
    add("dsp-quoted", {**PRESET, "dsp": "2520"})
    add("schema-2", {**PRESET, "schema_version": 2})
    add("buffers-over-one", {**PRESET, "buffers": {"message": 0.9, "weight": 0.2, "feature": 0.2,
                                                    "output": 0.1}})
    add("buffers-negative", {**PRESET, "buffers": {**PRESET["buffers"], "message": -0.1}})
    packing = PRESET["packing"]
    add("packing-3bit", {**PRESET, "packing": {**packing, "dsp_macs": {3: 2, **packing["dsp_macs"]}}})
    add("packing-empty", {**PRESET, "packing": {}})
    for label, value in (("zero", 0), ("negative", -2), ("inf", float("inf")), ("text", "two")):
        dsp_macs = {**packing["dsp_macs"], 8: value}
        add(f"packing-dsp-macs-{label}", {**PRESET, "packing": {**packing, "dsp_macs": dsp_macs}})
    for label, value in (("zero", 0), ("over-one", 2), ("nan", float("nan"))):
        add(f"packing-lut-fraction-{label}", {**PRESET, "packing": {**packing, "lut_fraction": value}})
    add("packing-both-rules", {**PRESET, "packing": {**packing, "lut_per_mac": {**packing["lut_per_mac"], 8: 3}}})
    add("policy-unknown", {**PRESET, "buffer_policy": "fifo"})
    add("pe-array-over-dsp", {**PRESET, "pe_rows": 4096})
    add("a-list", [1, 2, 3])
    add("empty", b"")
    add("binary", bytes(range(256)))
    add("latin-1", "name: caf\xe9\nclock_mhz: 1\n".encode("latin-1"))
    add("utf-16", "name: zcu\n".encode("utf-16"))
    add("duplicate-key", b"name: a\nname: b\n" + dump({k: v for k, v in PRESET.items() if k != "name"}))
    add("deep-nesting", b"[" * 20000 + b"]" * 20000)
    add("not-yaml", b"name: [unclosed\n")
    return cases


def arch_cases() -> list[Case]:
    cases = []
    layer = GCN["layers"][0]

    def add(name: str, data) -> None:
        content = data if isinstance(data, bytes) else dump(data)
        cases.append(Case("arch", name, {**BASE_FILES, "a.yaml": content}, SIMULATE))

    def with_first(**changes):
        return {**GCN, "layers": [{**layer, **changes}, GCN["layers"][1]]}

    add("attention-unknown", with_first(attention="transformer"))
    add("aggregation-unknown", with_first(aggregation="median"))
    add("activation-unknown", with_first(activation="swish"))
    add("hidden-zero", with_first(hidden=0))
    add("hidden-7", with_first(hidden=7))
    add("heads-3", with_first(heads=3))
    add("weight-q3", with_first(quant={**layer["quant"], "weight": "q3"}))
    add("feature-b1", with_first(quant={**layer["quant"], "feature": "b1"}))
    add("gat-without-attention-bits", with_first(attention="gat"))
    add("quant-missing", with_first(quant={"weight": "q8"}))
    add("no-layers", {"train": GCN["train"]})
    add("layers-empty", {"layers": []})
    add("unknown-key", {**GCN, "optimizer": "sgd"})
    add("last-has-hidden", {**GCN, "layers": [layer, {**GCN["layers"][1], "hidden": 16}]})
    add("train-lr-inf", {**GCN, "train": {**GCN["train"], "lr": float("inf")}})
    add("train-lr-huge", {**GCN, "train": {**GCN["train"], "lr": 1e300}})
    add("train-epochs-zero", {**GCN, "train": {**GCN["train"], "epochs": 0}})
    add("train-unknown-key", {**GCN, "train": {**GCN["train"], "momentum": 0.9}})
    add("heads-true", with_first(heads=True))
    add("train-epochs-true", {**GCN, "train": {**GCN["train"], "epochs": True}})
    add("train-dropout-one", {**GCN, "train": {**GCN["train"], "dropout": 1.0}})
    add("train-patience-zero", {**GCN, "train": {**GCN["train"], "patience": 0}})
    for field in ("attention", "aggregation", "activation", "hidden", "heads", "quant"):
        for label, value in (("null", None), ("text", "x"), ("negative", -1), ("list", [1]), ("mapping", {"a": 1})):
            if field in ("attention", "aggregation", "activation") and label == "text":
                value = "no-such-choice"
            add(f"{field}-{label}", with_first(**{field: value}))
    add("binary", bytes(range(255, -1, -1)))
    add("a-string", b"just text\n")
    add("deep-nesting", b"layers: " + b"[" * 20000 + b"]" * 20000)
    return cases


def graph_cases() -> list[Case]:
    ring = np.arange(12)
    edges = np.stack([ring, (ring + 1) % 12])
    cases = []

    def add(name: str, content: bytes, suffix: str = "npz") -> None:
        argv = [("{dir}/g." + suffix) if a == "{dir}/g.npz" else a for a in SIMULATE]
        cases.append(Case("graph", name, {**BASE_FILES, f"g.{suffix}": content}, argv))

    add("no-edges", npz(x=np.ones((12, 3))))
    add("edges-nan", npz(edge_index=np.where(edges == 3, np.nan, edges).astype(float)))
    add("edges-inf", npz(edge_index=np.where(edges == 3, np.inf, edges).astype(float)))
    add("edges-fraction", npz(edge_index=edges + 0.5))
    add("edges-text", npz(edge_index=edges.astype(str)))
    add("edges-complex", npz(edge_index=edges.astype(complex)))
    add("edges-negative", npz(edge_index=edges - 1))
    add("edges-3d", npz(edge_index=edges[None]))
    add("num-nodes-array", npz(edge_index=edges, num_nodes=np.array([12, 12])))
    add("num-nodes-text", npz(edge_index=edges, num_nodes=np.array("twelve")))
    add("num-nodes-huge", npz(edge_index=edges, num_nodes=np.array(10**12)))
    add("num-nodes-zero", npz(edge_index=edges, num_nodes=np.array(0)))
    add("num-nodes-small", npz(edge_index=edges, num_nodes=np.array(5)))
    add("x-nan", npz(edge_index=edges, x=np.full((12, 3), np.nan)))
    add("x-1d", npz(edge_index=edges, x=np.ones(12)))
    add("y-text", npz(edge_index=edges, y=np.array(["a", "b"] * 6)))
    for field, good in (("edge_index", edges), ("num_nodes", np.array(12)), ("x", np.ones((12, 3))),
                        ("y", ring % 3)):
        add(f"{field}-objects", npz(**{"edge_index": edges, field: np.array([good, None], dtype=object)}))
    add("y-2d", npz(edge_index=edges, y=np.ones((12, 2))))
    add("y-huge", npz(edge_index=edges, y=ring * 10**9))
    add("x-text", npz(edge_index=edges, x=np.full((12, 3), "a")))
    add("empty-file", b"")
    add("not-a-zip", b"PK\x03\x04 not really a zip file")
    add("csv-three-columns", b"0,1,2\n1,2,3\n", "csv")
    add("csv-huge-id", b"0,100000000000\n", "csv")
    add("csv-enormous-id", b"0,1\n1," + b"9" * 40 + b"\n", "csv")
    add("csv-negative", b"0,-1\n", "csv")
    add("csv-text-after-data", b"0,1\nzero,one\n", "csv")
    add("csv-binary", bytes(range(128, 256)), "csv")
    add("csv-utf16", "0,1\n1,2\n".encode("utf-16"), "csv")
    add("unknown-suffix", b"0 1\n", "txt")
    return cases


SWEEP = ["sweep", "--config", "{dir}/s.yaml", "--out", "{dir}/out"]


def sweep_cases() -> list[Case]:
    base = {"targets": ["zcu102"], "datasets": ["cora"], "latency_budgets_ms": [0.03]}
    cases = []

    def add(name: str, data) -> None:
        content = data if isinstance(data, bytes) else dump(data)
        cases.append(Case("sweep-config", name, {"s.yaml": content, "t.yaml": dump(PRESET)}, SWEEP))

    for key in ("latency_budgets_ms", "buffer_budgets_kib", "latency_weights", "seeds", "datasets", "targets"):
        for label, value in (("text", "x"), ("nulls", [None]), ("mapping", {"a": 1})):
            add(f"{key}-{label}", {**base, key: value})
    add("unknown-key", {**base, "budgets": [1]})
    add("seeds-twice", {**base, "seeds": [0, 0]})
    add("budget-twice", {**base, "latency_budgets_ms": [0.03, 0.03]})
    add("dataset-twice", {**base, "datasets": ["cora", "Cora"]})
    add("budget-true", {**base, "latency_budgets_ms": [True]})
    add("threads-huge", {**base, "threads": 100000})
    add("layers-huge", {**base, "layers": 100000})
    add("epochs-huge", {**base, "epochs": 99999999999})
    add("budget-negative", {**base, "latency_budgets_ms": [-1]})
    add("budget-inf", {**base, "latency_budgets_ms": [float("inf")]})
    add("weight-inf", {**base, "latency_weights": [float("inf")]})
    add("weight-nan", {**base, "latency_weights": [float("nan")]})
    add("seed-negative", {**base, "seeds": [-1]})
    add("seed-huge", {**base, "seeds": [10**30]})
    add("epochs-zero", {**base, "epochs": 0})
    add("no-targets", {**base, "targets": []})
    add("target-unknown", {**base, "targets": ["zcu999"]})
    add("same-target-twice-by-name", {**base, "targets": ["zcu102", "{dir}/t.yaml"]})
    add("dataset-unknown", {**base, "datasets": ["kora"]})
    add("split-on-amazon", {**base, "datasets": ["photo"], "split": "public"})
    add("baseline-unknown", {**base, "baselines": ["gcn-w3a3"]})
    add("hparams-unknown", {**base, "hparams": {"warmup": 0.5}})
    add("hparams-inf", {**base, "hparams": {"weight_lr": float("inf")}})
    add("quant-choices-bad", {**base, "quant_choices": "q3"})
    add("a-list", [base])
    add("binary", bytes(range(256)))
    add("duplicate-key", b"targets: [zcu102]\ntargets: [u250]\n")
    add("deep-nesting", b"targets: " + b"[" * 20000 + b"]" * 20000)
    return cases


def number_cases() -> list[Case]:
    search = ["search", "--target", "zcu102", "--out", "{dir}/run"]
    options = [("--latency-weight", ["inf", "nan", "-1", "x"]), ("--weight-decay", ["inf", "-0.1", "1e400"]),
               ("--latency-budget-ms", ["0", "-1", "inf"]), ("--buffer-budget-kib", ["0", "nan"]),
               ("--epochs", ["0", "-3", "1e3", "99999999999"]), ("--layers", ["0", "two"]),
               ("--seed", ["-1", "1e20", "100000000000000000000"]), ("--seeds", ["0,-1", "0,0", "x", ","]),
               ("--threads", ["0", "100000"]), ("--candidates", ["0"]), ("--budget-weight", ["inf"]),
               ("--layers", ["100000"]), ("--out", [""]),
               ("--hparam", ["weight_lr=inf", "arch_samples=1", "bogus=1", "weight_lr", "tau_end=0"]),
               ("--quant-choices", ["q3", "", "q8,q9"]), ("--split", ["half"]), ("--dataset", ["kora"])]
    cases = [Case("numbers", f"search{option}={value}", {}, [*search, option, value])
             for option, values in options for value in values]
    cases += [Case("numbers", f"train--epochs={v}", {}, ["train", "--arch", "gcn", "--epochs", v]) for v in ("0", "-1")]
    cases += [Case("numbers", f"sweep--latency-weights={v}", {},
                   ["sweep", "--target", "zcu102", "--latency-weights", v, "--out", "{dir}/sw"])
              for v in ("inf", "nan,0.1", "-1")]
    return cases


def run_dir_cases() -> list[Case]:
    """A small search's run directory with one file damaged, resumed."""
    config = {"target": "zcu102", "dataset": "{dir}/g.npz", "epochs": 2, "seed": 0, "out": "{dir}/run",
              "retrain_epochs": 2}
    base = {"g.npz": ring_graph()}
    resume = ["search", "--resume", "{dir}/run"]
    cases = []

    def add(name: str, files: dict[str, bytes], argv: list[str] = resume) -> None:
        cases.append(Case("run-dir", name, {**base, **files}, argv))

    good = json.dumps(config).encode()
    for label, content in (("empty", b""), ("garbage", b"\x00\xff garbage"), ("list", b"[]"), ("text", b'"run"'),
                           ("epochs-text", json.dumps({**config, "epochs": "many"}).encode()),
                           ("layers-zero", json.dumps({**config, "layers": 0}).encode()),
                           ("weight-negative", json.dumps({**config, "latency_weight": -1}).encode()),
                           ("budget-zero", json.dumps({**config, "latency_budget_ms": 0}).encode()),
                           ("no-target", json.dumps({k: v for k, v in config.items() if k != "target"}).encode()),
                           ("seeds-text", json.dumps({**config, "seeds": "0,1"}).encode()),
                           ("hparams-inf", b'{"target": "zcu102", "hparams": {"weight_lr": Infinity}}'),
                           ("latin-1", '{"target": "caf\xe9"}'.encode("latin-1"))):
        add(f"run.json-{label}", {"run/run.json": content})
    for label, content in (("empty-object", b"{}"), ("truncated", b'{"arch": {"layers": ['),
                           ("arch-bad", json.dumps({"arch": {"layers": []}, "network": [], "probabilities": [],
                                                    "repairs": [], "search_s": 1, "history": []}).encode()),
                           ("binary", bytes(range(256)))):
        add(f"search.json-{label}", {"run/run.json": good, "run/search.json": content})
    for label, content in (("empty", b""), ("garbage", b"not a checkpoint"), ("zip-truncated", b"PK\x03\x04\x00"),
                           ("pickle-payload", _payload_checkpoint())):
        add(f"checkpoint-{label}", {"run/run.json": good, "run/checkpoint.pt": content})
    add("no-run-json", {"run/search.json": b"{}"})
    add("out-is-a-file", {"run": b"a file"}, ["search", "--target", "zcu102", "--dataset", "{dir}/g.npz", "--out",
                                               "{dir}/run"])
    add("out-holds-other-files", {"run/notes.txt": b"mine"},
        ["search", "--target", "zcu102", "--dataset", "{dir}/g.npz", "--out", "{dir}/run"])
    return cases


def _payload_checkpoint() -> bytes:
    import io
    import pathlib

    import torch

    class Payload:
        def __reduce__(self):
            return (pathlib.Path.touch, (pathlib.Path("/nonexistent-dir/ran"),))

    buffer = io.BytesIO()
    torch.save({"supernet": {}, "epoch": Payload()}, buffer)
    return buffer.getvalue()


def io_cases() -> list[Case]:
    """Failures of the machine, not of the input: full disks, names too long, files in the way."""
    cases = []

    def fail_writes(code: int) -> Callable[[Path, pytest.MonkeyPatch], None]:
        def setup(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
            import lpgnas.io.runfiles as runfiles

            real = runfiles.os.replace

            def replace(src, dst):
                if str(folder) in str(dst):
                    raise OSError(code, os.strerror(code), str(dst))
                return real(src, dst)

            monkeypatch.setattr(runfiles.os, "replace", replace)
        return setup

    search = ["search", "--target", "zcu102", "--dataset", "{dir}/g.npz", "--epochs", "2", "--retrain-epochs", "2",
              "--out", "{dir}/run"]
    for code in (errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EIO, errno.EDQUOT):
        cases.append(Case("io", f"search-write-{errno.errorcode[code]}", {"g.npz": ring_graph()}, search,
                          fail_writes(code)))
    cases.append(Case("io", "search-name-too-long", {"g.npz": ring_graph()},
                      [*search[:-1], "{dir}/" + "r" * 300]))
    cases.append(Case("io", "search-out-under-a-file", {"g.npz": ring_graph(), "afile": b"x"},
                      [*search[:-1], "{dir}/afile/run"]))
    cases.append(Case("io", "simulate-target-is-a-folder", {**BASE_FILES, "folder/keep": b""},
                      [*SIMULATE[:2], "{dir}/folder", *SIMULATE[3:]]))
    cases.append(Case("io", "simulate-arch-missing", BASE_FILES, [*SIMULATE[:4], "{dir}/missing.yaml", *SIMULATE[5:]]))
    cases.append(Case("io", "simulate-graph-missing", BASE_FILES, [*SIMULATE[:6], "{dir}/missing.npz"]))

    def fifo(name: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
        def setup(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
            (folder / name).unlink(missing_ok=True)
            os.mkfifo(folder / name)  # a reader would wait for a writer forever
        return setup

    for name in ("t.yaml", "a.yaml", "g.npz"):
        cases.append(Case("io", f"simulate-{name}-is-a-pipe", BASE_FILES, SIMULATE, fifo(name)))
    cases.append(Case("io", "simulate-arch-is-dev-zero", BASE_FILES, [*SIMULATE[:4], "/dev/zero", *SIMULATE[5:]]))

    def full_stdout(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        import sys

        monkeypatch.setattr(sys, "stdout", open(os.devnull if not Path("/dev/full").exists() else "/dev/full", "w"))

    cases.append(Case("io", "simulate-stdout-full", BASE_FILES, [*SIMULATE, "--json"], full_stdout))
    return cases


CASES = target_cases() + arch_cases() + graph_cases() + sweep_cases() + number_cases() + run_dir_cases() + io_cases()


def test_the_corpus_covers_every_kind_at_least_ten_times():
    kinds = {c.kind for c in CASES}
    assert len(CASES) >= 300 and all(sum(c.kind == k for c in CASES) >= 10 for k in kinds), {
        k: sum(c.kind == k for c in CASES) for k in kinds}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.kind}:{c.name}")
def test_hostile_input_is_one_line_and_exit_2(case, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LPGNAS_CACHE", str(tmp_path / "cache"))
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.replace(b"{dir}", str(tmp_path).encode()) if name.endswith(".yaml") else content)
    if case.setup is not None:
        case.setup(tmp_path, monkeypatch)
    argv = [a.replace("{dir}", str(tmp_path)) for a in case.argv]
    try:
        code = main(argv)
    except SystemExit as done:  # argparse's own errors
        code = done.code
    err = [line for line in capsys.readouterr().err.splitlines()
           if not line.startswith(("run directory:", "lpgnas-hw: warning:"))]
    assert code == 2, (code, err)
    assert len(err) == 1 and "Traceback" not in err[0], err
    leftovers = [p for p in tmp_path.rglob("*") if ".tmp" in p.name]
    assert leftovers == []
    assert not Path("/nonexistent-dir/ran").exists()


def test_yaml_merge_keys_are_not_duplicates(tmp_path):
    from hwsim.files import read_yaml

    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {x: 1}\nother: {<<: *b, y: 2}\n")
    assert read_yaml(path)["other"] == {"x": 1, "y": 2}


def test_an_accumulator_narrower_than_a_byte_is_refused(tmp_path, capsys):
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({**PRESET, "accumulator_bits": 3}))
    (tmp_path / "g.npz").write_bytes(ring_graph())
    assert main(["simulate", "--target", str(path), "--arch", "gcn", "--dataset", str(tmp_path / "g.npz")]) == 2
    assert "accumulator_bits" in capsys.readouterr().err
