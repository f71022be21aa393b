"""What a sweep runs: the sweep YAML (or the command line) expanded into a grid of points.

A point is one job with its own run directory: a search (one cell of the grid), the
accuracy-only `--no-hw` reference search, or a manual baseline trained and simulated. Its key
names the run directory and the database record; it ends in a hash of everything the point's
result depends on, so re-running the same sweep finds its finished points, and changing a
setting makes new points instead of silently reusing old ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pydantic

from hwsim.errors import InputError, StrictModel, from_validation_error
from hwsim.files import read_yaml
from hwsim.target import load_target, target_spec
from lpgnas.data import DATASETS, KIPF_WEIGHT_DECAY, dataset_info, resolve_split
from lpgnas.io.archfile import load_arch_file, resolve_arch_path
from lpgnas.search.config import default
from lpgnas.search.hparams import SearchHyperParams, parse_hyperparams
from lpgnas.search.space import parse_quant_choices

# The manual reference networks of every sweep plot (issue 5): GCN and GAT at three precisions.
DEFAULT_BASELINES = ("gcn", "gcn-w8a8", "gcn-w4a8", "gat", "gat-w8a8", "gat-w4a8")
# A sweep without budgets runs the search's default latency weight (lpgnas-hw search
# --latency-weight); a budget sweep uses 0 instead, so that each point's latency is set by its
# budget and not pulled down by the weight.
DEFAULT_LATENCY_WEIGHT = default("latency_weight")


class _SweepFile(StrictModel):
    """The sweep YAML; every key is optional and the command line's options override it."""

    targets: list[str] = []
    datasets: list[str] = ["cora"]
    latency_budgets_ms: list[pydantic.PositiveFloat] = []
    latency_weights: list[pydantic.NonNegativeFloat] = []
    buffer_budgets_kib: list[pydantic.PositiveFloat] = []
    buffer_weight: pydantic.NonNegativeFloat = default("buffer_weight")
    size_weight: pydantic.NonNegativeFloat = default("size_weight")
    seeds: list[pydantic.conint(ge=0, le=2**32 - 1)] = [0]
    layers: pydantic.conint(ge=1, le=16) = default("layers")
    epochs: pydantic.conint(ge=1, le=10**6) = default("epochs")
    retrain_epochs: pydantic.conint(ge=1, le=10**6) | None = None
    split: Literal["public", "full"] | None = None
    quant_choices: str = default("quant_choices")
    threads: pydantic.conint(ge=1, le=256) = default("threads")
    nohw_reference: bool = True
    baselines: list[str] = list(DEFAULT_BASELINES)
    hparams: dict[str, Any] = {}  # search hyper-parameters (lpgnas.search.hparams), validated there


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: the grid axes and the settings every point shares."""

    targets: tuple[str, ...]
    datasets: tuple[str, ...] = ("cora",)
    latency_budgets_ms: tuple[float, ...] = ()
    latency_weights: tuple[float, ...] = ()
    buffer_budgets_kib: tuple[float, ...] = ()
    buffer_weight: float = default("buffer_weight")
    size_weight: float = default("size_weight")
    seeds: tuple[int, ...] = (0,)
    layers: int = default("layers")
    epochs: int = default("epochs")
    retrain_epochs: int | None = None
    split: str | None = None
    quant_choices: str = default("quant_choices")
    threads: int = default("threads")
    nohw_reference: bool = True
    baselines: tuple[str, ...] = DEFAULT_BASELINES
    hparams: SearchHyperParams = field(default_factory=SearchHyperParams)
    data_root: str | None = field(default=None, compare=False)

    @property
    def weights(self) -> tuple[float, ...]:
        if self.latency_weights:
            return self.latency_weights
        return (0.0,) if self.latency_budgets_ms or self.buffer_budgets_kib else (DEFAULT_LATENCY_WEIGHT,)


def load_sweep_spec(path: str | None, overrides: dict, data_root: str | None = None) -> SweepSpec:
    """The sweep YAML at `path` (if any) with the command line's `overrides` (None: not given)."""
    source = str(path) if path else "command line"
    data = {}
    if path:
        data = read_yaml(path)
        if not isinstance(data, dict):
            raise InputError(source, "", "expected a mapping of sweep settings (see examples/sweeps/)")
    if isinstance(data.get("hparams"), dict) and overrides.get("hparams"):
        overrides = {**overrides, "hparams": {**data["hparams"], **overrides["hparams"]}}
    data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    try:
        model = _SweepFile.model_validate(data)
    except pydantic.ValidationError as err:
        raise from_validation_error(source, err) from None
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in model.model_dump().items()}
    values["hparams"] = parse_hyperparams(values["hparams"], f"{source}: hparams")
    spec = SweepSpec(**values, data_root=data_root)
    _check(spec, source)
    return spec


def _check(spec: SweepSpec, source: str) -> None:
    """Everything a point could trip over that can be checked before any work starts."""
    if not spec.targets:
        raise InputError(source, "targets", "at least one target is required (--target or targets:)")
    if not spec.seeds:
        raise InputError(source, "seeds", "at least one seed is required")
    for axis in ("targets", "datasets", "latency_budgets_ms", "buffer_budgets_kib", "latency_weights", "seeds",
                 "baselines"):
        values = [v.lower() if isinstance(v, str) else v for v in getattr(spec, axis)]
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:  # the same point twice, or a point and its copy under another spelling
            raise InputError(source, axis, f"{repeated[0]!r} is given twice")
    names: dict[str, str] = {}
    for spec_name in spec.targets:
        name = load_target(spec_name).name
        if name in names:  # their points and rows would be told apart by this name only
            raise InputError(source, "targets", f"{names[name]!r} and {spec_name!r} are both named {name!r}; "
                             "give each target its own `name:`")
        names[name] = spec_name
    for dataset in spec.datasets:
        if dataset.lower() not in DATASETS:
            raise InputError(source, "datasets", f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
        resolve_split(dataset, spec.split)
    parse_quant_choices(spec.quant_choices)
    for name in spec.baselines:
        load_arch_file(resolve_arch_path(name, "baselines"))


@dataclass(frozen=True)
class Point:
    """One job of a sweep: a search (kind `search`, or `reference` for the --no-hw search simulated
    on every target) or the training of a given network (any other kind: `baseline`, ...)."""

    key: str
    kind: str
    dataset: str
    seed: int
    targets: tuple[str, ...]  # searches: one; references and trained networks: simulated on every target
    options: dict  # search: SearchConfig fields; training: arch (file or arch dict), train, split, epochs, threads
    label: str = ""  # how tables and plots name the point (default: from its options)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def point_key(parts: list[str], identity: dict) -> str:
    """Readable `parts`, then a hash of everything the point's result depends on."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:8]
    return "-".join([*parts, digest])


def _g(value: float) -> str:
    return f"{value:g}"


def dataset_training(dataset: str) -> dict:
    """The point options that carry `dataset`'s own weight decay (DatasetInfo.weight_decay) into
    its searches and trainings. Empty where that is Kipf's 5e-4, which a point without the option
    means (lpgnas.sweep.runner): so the points made before the setting existed keep their keys and
    their meaning, and the ones on the Amazon and Coauthor graphs got new keys with it."""
    weight_decay = dataset_info(dataset).weight_decay
    return {} if weight_decay == KIPF_WEIGHT_DECAY else {"weight_decay": weight_decay}


def expand(spec: SweepSpec) -> list[Point]:
    """Every point of the sweep: the grid's searches, then the reference runs."""
    points: list[Point] = []
    shared = {"layers": spec.layers, "epochs": spec.epochs, "retrain_epochs": spec.retrain_epochs,
              "split": spec.split, "quant_choices": spec.quant_choices, "threads": spec.threads}
    if spec.hparams.non_default():  # only the changed ones, so points under the defaults keep their keys
        shared["hparams"] = spec.hparams.non_default()
    targets = tuple(target_spec(t) for t in spec.targets)
    # A target file's content enters the keys of the points that use it, so an edited file makes
    # new points instead of passing the old ones off as its own. Presets are named by name alone
    # (their content is the version's), so the points made on them keep their keys.
    contents = {t: hashlib.sha256(Path(t).read_bytes()).hexdigest()[:16] for t in targets if t != Path(t).stem}
    shared_contents = {"target_contents": [contents[t] for t in targets if t in contents]} if contents else {}
    for dataset in spec.datasets:
        for seed in spec.seeds:
            for target in targets:
                for budget in spec.latency_budgets_ms or (None,):
                    for buffer in spec.buffer_budgets_kib or (None,):
                        for weight in spec.weights:
                            options = {**shared, "latency_weight": weight, "latency_budget_ms": budget,
                                       "buffer_budget_kib": buffer, "buffer_weight": spec.buffer_weight,
                                       **dataset_training(dataset)}
                            if spec.size_weight:  # only when set, so older sweeps keep their point keys
                                options["size_weight"] = spec.size_weight
                            parts = [dataset, Path(target).stem]
                            parts += [f"lat{_g(budget)}ms"] if budget is not None else []
                            parts += [f"buf{_g(buffer)}kib"] if buffer is not None else []
                            parts += [f"w{_g(weight)}", f"s{seed}"]
                            identity = {"kind": "search", "dataset": dataset, "seed": seed, "target": target,
                                        **options, **({"target_content": contents[target]}
                                                      if target in contents else {})}
                            key = point_key(parts, identity)
                            points.append(Point(key, "search", dataset, seed, (target,), options))
            if spec.nohw_reference:
                options = {**shared, "no_hw": True, **dataset_training(dataset)}
                identity = {"kind": "reference", "dataset": dataset, "seed": seed, "targets": targets, **options,
                            **shared_contents}
                points.append(Point(point_key([dataset, "nohw", f"s{seed}"], identity), "reference", dataset, seed,
                                    targets, options))
            for name in spec.baselines:
                path = resolve_arch_path(name, "baselines")
                options = {"arch": str(path.resolve()), "train": None, "split": spec.split,
                           "epochs": spec.retrain_epochs, "threads": spec.threads, **dataset_training(dataset)}
                identity = {"kind": "baseline", "dataset": dataset, "seed": seed, "targets": targets,
                            "arch_text": path.read_text(), **{k: v for k, v in options.items() if k != "arch"},
                            **shared_contents}
                points.append(Point(point_key([dataset, "baseline", path.stem, f"s{seed}"], identity), "baseline",
                                    dataset, seed, targets, options, path.stem))
    return points
