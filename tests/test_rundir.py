"""A run directory belongs to one configuration: --out refuses a folder that is not this run's,
--resume refuses other options or a changed target, and every file read back is validated."""

from __future__ import annotations

import json

import pytest

from hwsim.target import load_target
from lpgnas.cli import main
from lpgnas.io.archfile import TrainConfig
from lpgnas.search.config import SearchConfig

QUICK = TrainConfig(lr=0.01, weight_decay=5e-4, dropout=0.5, epochs=5, patience=5)


@pytest.fixture(scope="module")
def finished(data_root, tmp_path_factory):
    """A finished short search's directory (copied by each test that changes it)."""
    from lpgnas.search.run import run_search

    out = tmp_path_factory.mktemp("runs") / "done"
    config = SearchConfig(target="zcu102", dataset="cora", data_root=str(data_root), epochs=2, seed=1, retrain=QUICK,
                          out=str(out))
    run_search(config)
    return out


def copy_of(run, tmp_path):
    import shutil

    target = tmp_path / "run"
    shutil.copytree(run, target)
    return target


def one_line_error(capsys) -> str:
    """The error's one line (after the run directory's, where the run had started)."""
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("run directory:")]
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_run_json_records_the_fingerprint_and_version(finished):
    stored = json.loads((finished / "run.json").read_text())
    assert stored["fingerprint"]["target"]["name"] == "zcu102" and stored["version"]
    assert stored["fingerprint"]["dataset"] == "cora"


def test_out_refuses_a_folder_holding_a_run_or_other_files(finished, tmp_path, capsys):
    assert main(["search", "--target", "u250", "--epochs", "2", "--out", str(finished)]) == 2
    assert "--resume" in one_line_error(capsys)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "arch.yaml").write_text("my own file\n")
    assert main(["search", "--target", "zcu102", "--epochs", "2", "--out", str(other)]) == 2
    assert "not empty" in one_line_error(capsys)
    assert (other / "arch.yaml").read_text() == "my own file\n"
    afile = tmp_path / "a-file"
    afile.write_text("x")
    assert main(["search", "--target", "zcu102", "--epochs", "2", "--out", str(afile)]) == 2
    assert "is a file" in one_line_error(capsys)


@pytest.mark.parametrize("extra, field", [(["--epochs", "7"], "--epochs"), (["--target", "u250"], "--target"),
                                          (["--latency-weight", "0.5"], "--latency-weight"),
                                          (["--out", "elsewhere"], "--out"),
                                          (["--hparam", "arch_samples=4"], "--hparam")])
def test_resume_refuses_other_options(finished, tmp_path, capsys, extra, field):
    run = copy_of(finished, tmp_path)
    assert main(["search", "--resume", str(run), *extra]) == 2
    assert field in one_line_error(capsys)


def test_resume_accepts_the_same_options(finished, tmp_path, capsys):
    run = copy_of(finished, tmp_path)
    assert main(["search", "--resume", str(run), "--epochs", "2", "--seed", "1", "--json"]) == 0


def test_resume_refuses_a_target_whose_content_changed(finished, tmp_path, capsys):
    run = copy_of(finished, tmp_path)
    target = tmp_path / "board.yaml"
    target.write_text(json.dumps(load_target("zcu102").to_dict()))
    stored = json.loads((run / "run.json").read_text())
    stored["target"] = str(target)
    stored["fingerprint"]["target"]["clock_mhz"] = 150.0  # the file said 150 MHz when the run began
    (run / "run.json").write_text(json.dumps(stored))
    assert main(["search", "--resume", str(run)]) == 2
    assert "fingerprint.target.clock_mhz" in one_line_error(capsys)


def test_another_version_is_a_warning_only(finished, tmp_path, capsys):
    run = copy_of(finished, tmp_path)
    stored = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**stored, "version": "0.0.1"}))
    assert main(["search", "--resume", str(run), "--json"]) == 0
    assert "warning" in capsys.readouterr().err


@pytest.mark.parametrize("name, content, needle", [
    ("search.json", "{}", "arch"),
    ("search.json", "[1, 2", "not valid JSON"),
    ("search.json", b"\xff\xfe{", "not valid JSON"),
    ("retrain/seed_1.json", '{"seed": "one"}', "seed"),
    ("retrain/seed_1.json", "garbage", "not valid JSON"),
    ("run.json", '{"target": "zcu102", "epochs": "many"}', "epochs"),
    ("run.json", '{"target": "zcu102", "layers": 0}', "layers"),
    ("run.json", '{"target": "zcu102", "latency_weight": -1}', "latency_weight"),
    ("run.json", "[]", "JSON object"),
])
def test_damaged_run_files_are_one_line_errors(finished, tmp_path, capsys, name, content, needle):
    run = copy_of(finished, tmp_path)
    (run / "result.json").unlink()
    path = run / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    if name == "retrain/seed_1.json":
        (run / "retrain" / "seed_1.pt").write_bytes(b"")
    assert main(["search", "--resume", str(run)]) == 2
    line = one_line_error(capsys)
    assert str(path) in line and needle in line


def test_resume_tells_an_option_given_from_one_left_at_its_default(finished, tmp_path, capsys):
    run = copy_of(finished, tmp_path)
    assert main(["search", "--resume", str(run), "--split", "public", "--json"]) == 0  # the run's own split
    capsys.readouterr()
    assert main(["search", "--resume", str(run), "--seed", "0"]) == 2  # the default value, but not the run's
    assert "--seed" in one_line_error(capsys)


def test_a_checkpoint_of_another_search_is_refused(data_root, tmp_path, capsys):
    """A checkpoint copied from a search on another target is not continued under this one."""
    import shutil

    from lpgnas.search.run import run_search

    source = tmp_path / "zcu102-run"
    config = SearchConfig(target="zcu102", dataset="cora", data_root=str(data_root), epochs=2, seed=1,
                          retrain=QUICK, out=str(source), keep_checkpoint=True)
    run_search(config)
    other = tmp_path / "u250-run"
    other.mkdir()
    moved = SearchConfig(target="u250", dataset="cora", data_root=str(data_root), epochs=2, seed=1, retrain=QUICK,
                         out=str(other))
    (other / "run.json").write_text(json.dumps(moved.to_dict()))  # a run.json without a fingerprint
    shutil.copy(source / "checkpoint.pt", other / "checkpoint.pt")
    assert main(["search", "--resume", str(other)]) == 2
    line = one_line_error(capsys)
    assert "checkpoint.pt" in line and "target" in line and "another search" in line
