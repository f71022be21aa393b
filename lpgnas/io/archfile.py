"""arch.yaml: the `arch` object of docs/design.md §7 plus an optional `train:` block."""

from __future__ import annotations

import importlib.resources
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pydantic
import yaml

from hwsim.errors import StrictModel, from_validation_error
from hwsim.files import file_or_named, read_yaml
from hwsim.network import ArchSpec, arch_from_file

# The example networks ship inside the package (examples/archs links here): `--arch gcn`, a
# sweep's `baselines: [gcn]` and the study's manual networks resolve to them from any install.
EXAMPLE_DIR = Path(str(importlib.resources.files("lpgnas") / "archs"))


def example_names() -> list[str]:
    return sorted(p.stem for p in EXAMPLE_DIR.glob("*.yaml"))


def resolve_arch_path(spec: str | os.PathLike, source: str = "argument --arch") -> Path:
    """An arch file, or the example network of that name."""
    return file_or_named(spec, EXAMPLE_DIR, example_names(), "example network", source)


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters; the defaults are the GCN paper's (Kipf & Welling 2017)."""

    lr: float = 0.01
    weight_decay: float = 5e-4
    dropout: float = 0.5
    attention_dropout: float | None = None  # None: same as dropout (GAT uses 0.6 for both)
    epochs: int = 200
    patience: int = 100  # stop when neither val accuracy nor val loss improved for this long
    # False: Adam with L2 in the gradient, as the GCN and GAT papers train. True: AdamW, whose
    # decoupled decay cannot swamp the small gradients of layers with tiny outputs (a GCN-
    # normalised mean aggregation collapses to the majority class under Adam + L2).
    decoupled_weight_decay: bool = False

    def with_epochs(self, epochs: int | None) -> TrainConfig:
        return self if epochs is None else replace(self, epochs=epochs)


class _TrainModel(StrictModel):
    # Upper bounds far above any sensible setting: a rate of 1e300 overflows torch's float32.
    lr: float = pydantic.Field(0.01, gt=0, le=100)
    weight_decay: float = pydantic.Field(5e-4, ge=0, le=100)
    dropout: float = pydantic.Field(0.5, ge=0, lt=1)
    attention_dropout: float | None = pydantic.Field(None, ge=0, lt=1)
    epochs: int = pydantic.Field(200, gt=0, le=10**6)
    patience: int = pydantic.Field(100, gt=0, le=10**6)
    decoupled_weight_decay: bool = False


def parse_train(data: Any, source: str) -> TrainConfig:
    if data is None:
        return TrainConfig()
    try:
        model = _TrainModel.model_validate(data)
    except pydantic.ValidationError as err:
        raise from_validation_error(source, err, prefix="train") from None
    return TrainConfig(**model.model_dump())


def load_arch_file(path: str | Path) -> tuple[ArchSpec, TrainConfig]:
    """Read arch.yaml (a file, or an example network's name) into a validated ArchSpec and
    TrainConfig (errors name file and field)."""
    path = resolve_arch_path(path)
    data = read_yaml(path)
    arch = arch_from_file(data, str(path))
    return arch, parse_train(data.get("train"), str(path))


def dump_arch(arch: ArchSpec, train: TrainConfig | None = None) -> str:
    """arch.yaml text for `arch` (and a train block when given)."""
    data: dict[str, Any] = arch.to_dict()
    if train is not None:
        data["train"] = {k: v for k, v in train.__dict__.items() if v is not None}
    return yaml.safe_dump(data, sort_keys=False)
