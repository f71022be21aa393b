"""A run directory belongs to one configuration (issue: stale results passed off as new).

run.json records the options (SearchConfig, hyper-parameters included), the tool version and a
fingerprint of what the options name but do not contain: the target's content (a preset can
change between versions, a target file between runs) and, for a graph file, its bytes. A new run
(`--out`) takes a missing or empty folder only; `--resume` continues only the run whose
fingerprint still matches, and says which part differs. A different tool version is only
warned about, so that an update never strands an interrupted run.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pydantic

from hwsim.errors import InputError, from_validation_error
from hwsim.network import parse_arch
from lpgnas import __version__
from lpgnas.data import is_graph_file
from lpgnas.io.runfiles import read_json, write_json
from lpgnas.search.config import SearchConfig
from lpgnas.search.problem import Problem


def fingerprint(problem: Problem) -> dict:
    """What a run's result depends on beyond its options."""
    config = problem.config
    dataset = config.dataset
    if is_graph_file(dataset):
        dataset = f"{Path(dataset).name} sha256:{hashlib.sha256(Path(dataset).read_bytes()).hexdigest()}"
    # as it reads back from run.json (JSON makes the packing tables' integer keys strings)
    return json.loads(json.dumps({"target": problem.target.to_dict(), "dataset": dataset}))


def claim(run_dir: Path, problem: Problem, resume: bool) -> None:
    """Check that `run_dir` may hold this run, then write its run.json."""
    config, stamp = problem.config, fingerprint(problem)
    run_json = run_dir / "run.json"
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(str(run_dir), "", "is a file, not a run directory")
    if resume:
        _check_same_run(run_json, config, stamp)
    elif run_dir.exists() and any(run_dir.iterdir()):
        if run_json.is_file():
            raise InputError(str(run_dir), "", f"already holds a run; continue it with "
                             f"`lpgnas-hw search --resume {run_dir}` or choose another --out")
        raise InputError(str(run_dir), "", "is not empty and holds no run of this tool; choose an empty or "
                         "new --out (files there would be overwritten or taken for results)")
    write_json(run_json, {**config.to_dict(), "version": __version__, "fingerprint": stamp})


def _check_same_run(run_json: Path, config: SearchConfig, stamp: dict) -> None:
    stored = read_json(run_json)
    if not isinstance(stored, dict):
        raise InputError(str(run_json), "", "expected a JSON object")
    version = stored.get("version")
    if version is not None and version != __version__:
        print(f"lpgnas-hw: warning: {run_json} was written by lpgnas-hw {version}; continuing it with "
              f"{__version__}", file=sys.stderr)
    old = stored.get("fingerprint")
    if old is None:  # written before fingerprints existed: its options are all there is to compare
        return
    if not isinstance(old, dict):
        raise InputError(str(run_json), "fingerprint", "expected a mapping (target, dataset)")
    for part in ("dataset", "target"):
        if old.get(part) != stamp[part]:
            field = first_difference(old.get(part), stamp[part])
            raise InputError(str(run_json), f"fingerprint.{part}{field}", f"the run was made with another "
                             f"{part} than {'the file' if part == 'dataset' else config.target!r} holds now; "
                             "start a new run with --out")


def first_difference(old, new, path: str = "") -> str:
    """The key path where two JSON values first differ ('' when they differ as a whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            if old.get(key) != new.get(key):
                return first_difference(old.get(key), new.get(key), f"{path}.{key}")
    return path


# The run directory's own files, validated like user input when read back (a damaged or
# hand-edited file is one line naming it and the field, never a traceback or a wrong result).
class _Loose(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore", allow_inf_nan=False)


class _Searched(_Loose):
    arch: dict
    network: list[dict[str, int]]
    probabilities: list[dict[str, list[float]]]
    repairs: list[str]
    search_s: float
    history: list[dict]


class _SeedRun(_Loose):
    seed: int
    val_acc: pydantic.confloat(ge=0, le=1)
    test_acc: pydantic.confloat(ge=0, le=1)
    best_epoch: int
    epochs_run: int
    seconds: float


class _Candidate(_SeedRun):
    arch: dict
    train: dict


class _Selection(_Loose):
    chosen: int
    candidates: list[dict]
    select_s: float


def _read(path: Path, model: type[_Loose]) -> dict:
    data = read_json(path)
    try:
        model.model_validate(data)
    except pydantic.ValidationError as err:
        raise from_validation_error(str(path), err) from None
    return data


def read_searched(path: Path) -> dict:
    """search.json: the derived network and the search's record."""
    data = _read(path, _Searched)
    parse_arch(data["arch"], f"{path}: arch")
    return data


def read_seed_run(path: Path) -> dict:
    """retrain/seed_S.json: one finished retraining (without its weights)."""
    return _read(path, _SeedRun)


def read_candidate(path: Path) -> dict:
    """candidates/candidate_I.json: one candidate trained for the selection."""
    return _read(path, _Candidate)


def read_selection(path: Path, count: int) -> dict:
    """selection.json: the candidates' scores and the kept one."""
    data = _read(path, _Selection)
    if not 0 <= data["chosen"] < len(data["candidates"]) or len(data["candidates"]) > count:
        raise InputError(str(path), "chosen", "does not name one of its candidates; delete it to select again")
    return data
