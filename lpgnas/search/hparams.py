"""The search's method settings: every number that can change what a search finds, what it
derives and how the result is retrained, beyond the options a user sets per run (SearchConfig).

One frozen dataclass with each default defined once. It is written into run.json, can be
overridden from the command line (`--hparam NAME=VALUE`) or a YAML file (`--hparams FILE`), and
its fields that differ from their defaults enter a sweep or study point's key (`non_default`), so
a changed setting never reuses a point made under another while the committed records keep
their keys. Why each default was chosen: docs/search-tuning.md, by decision.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Annotated, Any

import pydantic

from hwsim.errors import InputError, from_validation_error
from hwsim.files import read_yaml

# The ranges each setting is validated against when it is overridden (a YAML file, --hparam, a
# sweep, a run.json); the annotations carry them, so the fields are written once.
Rate = Annotated[float, pydantic.Field(gt=0)]
NonNegative = Annotated[float, pydantic.Field(ge=0)]
Fraction = Annotated[float, pydantic.Field(ge=0, lt=1)]
Count = Annotated[int, pydantic.Field(ge=1)]


@pydantic.with_config(pydantic.ConfigDict(extra="forbid", allow_inf_nan=False))
@dataclass(frozen=True)
class SearchHyperParams:
    """Method settings of the search, the derivation and the retraining (defaults measured in
    docs/search-tuning.md)."""

    # Weight step: Adam at this rate with the sampled path's own L2 (PathTerms.path_l2), lighter
    # dropout than the GCN paper's, DARTS's gradient clipping; weight steps per epoch.
    weight_lr: Rate = 0.005
    search_dropout: Fraction = 0.2
    grad_clip: Rate = 1.0
    weight_steps: Count = 1
    # Architecture step: Adam with DARTS's betas and no weight decay; the first third of the
    # epochs trains weights only (FBNet's warm-up) on random paths at their widest widths.
    arch_lr: NonNegative = 0.03
    arch_beta1: Fraction = 0.5
    arch_beta2: Fraction = 0.999
    warmup_fraction: Annotated[float, pydantic.Field(ge=0, le=1)] = 1 / 3
    # Gumbel temperature, annealed exponentially from tau_start to tau_end (GDAS).
    tau_start: Rate = 5.0
    tau_end: Rate = 0.5
    # Paths scored per architecture step by the score-function estimator (leave-one-out baseline).
    arch_samples: Annotated[int, pydantic.Field(ge=2)] = 8
    # Weight of the quantisation distortion prior Σ E_p[‖Q(x) − x‖²/‖x‖²] in the architecture loss.
    distortion_weight: NonNegative = 1.0
    # Candidates (--candidates K) are drawn from softmax(candidate_sharpness·α) = p^2 renormalised.
    candidate_sharpness: Rate = 2.0
    # Retraining the derived network: the GAT paper's rate and dropout for networks with
    # attention coefficients, the GCN paper's otherwise; both for at most retrain_max_epochs,
    # stopping after retrain_patience epochs without a better validation score.
    retrain_attention_lr: Rate = 0.005
    retrain_attention_dropout: Fraction = 0.6
    retrain_plain_lr: Rate = 0.01
    retrain_plain_dropout: Fraction = 0.5
    retrain_max_epochs: Count = 1000
    retrain_patience: Count = 100

    def non_default(self) -> dict[str, Any]:
        """The fields that differ from their defaults: what a point's key adds (none by default)."""
        default = SearchHyperParams()
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) != getattr(default, f.name)}

    @property
    def arch_betas(self) -> tuple[float, float]:
        return (self.arch_beta1, self.arch_beta2)


def parse_hyperparams(data: Any, source: str) -> SearchHyperParams:
    """Validated hyper-parameters from a mapping (unknown names, wrong types, non-finite or
    out-of-range values are an InputError naming `source` and the field)."""
    if data is None:
        return SearchHyperParams()
    if not isinstance(data, dict):
        raise InputError(source, "", "expected a mapping of search hyper-parameters")
    try:
        return _ADAPTER.validate_python(data)
    except pydantic.ValidationError as err:
        raise from_validation_error(source, err) from None


def load_hyperparams(path: str | None, assignments: list[str] | None = None) -> SearchHyperParams:
    """`--hparams FILE` (a YAML mapping), then each `--hparam NAME=VALUE` on top of it."""
    return parse_hyperparams(hyperparam_overrides(path, assignments),
                             "argument --hparam" if assignments else str(path))


def hyperparam_overrides(path: str | None, assignments: list[str] | None = None) -> dict[str, Any]:
    """The settings `--hparams FILE` and `--hparam NAME=VALUE` give, unvalidated, as a mapping
    (a sweep merges it over its file's `hparams:` before validating)."""
    data: dict[str, Any] = {}
    if path:
        loaded = read_yaml(path)
        if loaded is not None and not isinstance(loaded, dict):
            raise InputError(str(path), "", "expected a mapping of search hyper-parameters")
        data.update(loaded or {})
    for text in assignments or []:
        name, sep, value = text.partition("=")
        if not sep or not name.strip():
            raise InputError("argument --hparam", "", f"expected NAME=VALUE, got {text!r}")
        try:
            data[name.strip()] = float(value) if name.strip() not in _INTEGERS else int(value)
        except ValueError:
            raise InputError("argument --hparam", name.strip(), f"not a number: {value!r}") from None
    return data


_INTEGERS = {f.name for f in fields(SearchHyperParams) if isinstance(f.default, int)}
_ADAPTER = pydantic.TypeAdapter(SearchHyperParams)
