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
