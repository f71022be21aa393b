"""lpgnas.io.runfiles: atomic writes, and tensor files loaded as data only."""

from __future__ import annotations

import pathlib

import pytest
import torch

from hwsim.errors import InputError
from lpgnas.io.runfiles import load_torch, save_torch, write_json


class Payload:
    """An object whose unpickling would create a file (what a hostile checkpoint carries)."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (self.path,))


def test_a_pickle_payload_is_refused_without_running(tmp_path):
    victim = tmp_path / "ran"
    checkpoint = tmp_path / "checkpoint.pt"
    torch.save({"history": [], "epoch": Payload(victim)}, checkpoint)
    with pytest.raises(InputError, match="refused") as caught:
        load_torch(checkpoint)
    assert not victim.exists() and "\n" not in caught.value.one_line()


def test_plain_state_round_trips(tmp_path):
    state = {"model": {"w": torch.ones(2)}, "loop": {"best": (0.5, 1.0), "stale": 3}, "rng": torch.get_rng_state()}
    save_torch(tmp_path / "s.pt", state)
    loaded = load_torch(tmp_path / "s.pt")
    assert loaded["loop"] == state["loop"] and torch.equal(loaded["model"]["w"], state["model"]["w"])
    assert [p.name for p in tmp_path.iterdir()] == ["s.pt"]  # no temporary file left


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", b"PK\x03\x04 truncated zip"])
def test_damaged_files_are_one_line_errors(tmp_path, content):
    path = tmp_path / "seed_0.pt"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        load_torch(path)
    assert str(path) in caught.value.one_line() and "\n" not in caught.value.one_line()


def test_write_json_leaves_no_temporary_file(tmp_path):
    write_json(tmp_path / "a" / "b.json", {"x": 1})
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.json"]


def test_a_loss_that_turns_infinite_stops_the_search_before_anything_is_written(tmp_path, capsys):
    import numpy as np

    from lpgnas.cli import main

    ring = np.arange(30)
    graph = tmp_path / "ring.npz"
    np.savez(graph, edge_index=np.stack([ring, (ring + 1) % 30]), x=np.eye(30, 5), y=ring % 2)
    out = tmp_path / "run"
    assert main(["search", "--target", "zcu102", "--dataset", str(graph), "--epochs", "5", "--weight-decay", "1e300",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "weight loss" in err[-1] and "inf" in err[-1] and "Traceback" not in "".join(err)
    assert not (out / "result.json").exists() and not (out / "search.json").exists()


def test_a_target_without_on_chip_memory_searches_to_finite_figures(tmp_path, capsys):
    """bram_kib and uram_kib both 0 used to make the buffer reference 0 and the search NaN."""
    import json

    import numpy as np

    from hwsim.target import load_target
    from lpgnas.cli import main

    target = tmp_path / "no-memory.yaml"
    target.write_text(json.dumps({**load_target("zcu102").to_dict(), "bram_kib": 0, "uram_kib": 0}))
    ring = np.arange(30)
    graph = tmp_path / "ring.npz"
    np.savez(graph, edge_index=np.stack([ring, (ring + 1) % 30]), x=np.eye(30, 5), y=ring % 2)
    assert main(["search", "--target", str(target), "--dataset", str(graph), "--epochs", "9", "--retrain-epochs", "5",
                 "--buffer-weight", "0.1", "--out", str(tmp_path / "run"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    history = json.loads((tmp_path / "run" / "search.json").read_text())["history"]
    assert all(np.isfinite(r["arch_loss"]) for r in history) and result["hw"]["peak_buffer_bytes"] == 0
