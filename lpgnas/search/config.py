"""What one search run is asked to do (stored as run.json): the user's options, with their
defaults defined here once, and the method's hyper-parameters (SearchHyperParams)."""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pydantic

from hwsim.errors import InputError, from_validation_error
from hwsim.network import ArchSpec
from lpgnas.data import KIPF_WEIGHT_DECAY, dataset_info
from lpgnas.io.archfile import TrainConfig, parse_train
from lpgnas.io.runfiles import read_json
from lpgnas.search.hparams import SearchHyperParams, parse_hyperparams


def retrain_config(arch: ArchSpec, weight_decay: float, hparams: SearchHyperParams | None = None) -> TrainConfig:
    """How a derived network is retrained from scratch: the GAT paper's settings (Veličković et
    al. 2018) for networks with attention coefficients, the GCN paper's (Kipf & Welling 2017)
    otherwise, with their Adam + L2 at the dataset's weight decay (docs/search-tuning.md)."""
    hparams = hparams or SearchHyperParams()
    attention = any(layer.quant.attention is not None for layer in arch.layers)
    lr = hparams.retrain_attention_lr if attention else hparams.retrain_plain_lr
    dropout = hparams.retrain_attention_dropout if attention else hparams.retrain_plain_dropout
    return TrainConfig(lr=lr, weight_decay=weight_decay, dropout=dropout, epochs=hparams.retrain_max_epochs,
                       patience=hparams.retrain_patience)


@dataclass(frozen=True)
class SearchConfig:
    """Everything a search run depends on (stored as run.json)."""

    target: str
    dataset: str = "cora"
    data_root: str | None = None
    split: str | None = None
    layers: int = 2
    epochs: int = 500
    seed: int = 0
    seeds: tuple[int, ...] | None = None
    latency_weight: float = 0.1
    buffer_weight: float = 0.0
    size_weight: float = 0.0
    latency_budget_ms: float | None = None
    buffer_budget_kib: float | None = None
    budget_weight: float = 1.0
    quant_choices: str = "all"
    no_hw: bool = False
    threads: int = 1
    out: str | None = None
    retrain: TrainConfig | None = None  # None: chosen for the derived network (retrain_config)
    retrain_epochs: int | None = None  # caps the retraining epochs (quick sweeps and tests)
    candidates: int = 1  # networks trained to pick the derived one (lpgnas.search.derive); 1: the argmax alone
    # L2 weight decay of the supernet's paths and of retraining; None: the dataset's
    # (DatasetInfo.weight_decay), resolved here so that run.json records the value used.
    weight_decay: float | None = None
    hparams: SearchHyperParams = field(default_factory=SearchHyperParams)
    keep_checkpoint: bool = False  # keep checkpoint.pt (the trained supernet) once the run is done

    def __post_init__(self) -> None:
        if self.weight_decay is None:
            object.__setattr__(self, "weight_decay", dataset_info(self.dataset).weight_decay)

    def train_config(self, arch: ArchSpec) -> TrainConfig:
        """How the derived network `arch` is retrained."""
        return (self.retrain or retrain_config(arch, self.weight_decay, self.hparams)).with_epochs(self.retrain_epochs)

    @property
    def retrain_seeds(self) -> tuple[int, ...]:
        return self.seeds if self.seeds else (self.seed,)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["seeds"] = list(self.seeds) if self.seeds else None
        return data

    @classmethod
    def from_dict(cls, data: dict, source: str = "run.json") -> SearchConfig:
        """A stored configuration, validated like user input: types, then ranges (InputError
        names `source` and the field)."""
        if not isinstance(data, dict):
            raise InputError(source, "", "expected a JSON object of search options")
        data = dict(data)
        data.pop("version", None)  # the tool version and fingerprint beside the options (lpgnas.search.rundir)
        data.pop("fingerprint", None)
        data.setdefault("weight_decay", KIPF_WEIGHT_DECAY)  # runs from before the field trained with it
        # runs from before the field ran with the defaults; a point's options carry only the changed ones
        data["hparams"] = parse_hyperparams(data.get("hparams"), f"{source}: hparams")
        if data.get("seeds") is not None and not isinstance(data["seeds"], (list, tuple)):
            raise InputError(source, "seeds", "expected a list of seeds or null")
        data["seeds"] = tuple(data["seeds"]) if data.get("seeds") else None
        try:
            config = _ADAPTER.validate_python(data)
        except pydantic.ValidationError as err:
            raise from_validation_error(source, err) from None
        config.check(source)
        return config

    def check(self, source: str) -> None:
        """Ranges of the stored options (the command line and sweep files check theirs on entry)."""
        for name, low, high in (("layers", 1, 16), ("epochs", 1, 10**6), ("threads", 1, 256), ("candidates", 1, 10**4),
                                ("seed", 0, 2**32 - 1)):
            if not low <= getattr(self, name) <= high:
                raise InputError(source, name, f"must be from {low} to {high}, got {getattr(self, name)}")
        for name in ("latency_weight", "buffer_weight", "size_weight", "budget_weight", "weight_decay"):
            value = getattr(self, name)
            if not 0 <= value < math.inf:
                raise InputError(source, name, f"must be a finite number >= 0, got {value}")
        for name in ("latency_budget_ms", "buffer_budget_kib"):
            value = getattr(self, name)
            if value is not None and not 0 < value < math.inf:
                raise InputError(source, name, f"must be a finite number > 0, got {value}")
        if self.retrain_epochs is not None and not 1 <= self.retrain_epochs <= 10**6:
            raise InputError(source, "retrain_epochs", f"must be at least 1, got {self.retrain_epochs}")
        if self.retrain is not None:  # validated as an arch file's train: block is
            parse_train(asdict(self.retrain), f"{source}: retrain")


_ADAPTER = pydantic.TypeAdapter(SearchConfig)


def default(name: str) -> Any:
    """A SearchConfig field's default: the one place the CLI and sweeps take it from."""
    value = next(f.default for f in fields(SearchConfig) if f.name == name)
    if value is MISSING:
        raise KeyError(f"SearchConfig.{name} has no default")
    return value


def run_config(run_dir: str | Path) -> SearchConfig:
    """The SearchConfig of an existing run directory (its run.json), continuing where the
    directory is now, even if it was moved after run.json was written."""
    run_json = Path(run_dir) / "run.json"
    if not run_json.is_file():
        raise InputError(str(run_dir), "run.json", "not a run directory (no run.json)")
    stored = read_json(run_json)
    if not isinstance(stored, dict):
        raise InputError(str(run_json), "", "expected a JSON object of search options")
    return SearchConfig.from_dict({**stored, "out": str(run_dir)}, str(run_json))
