"""The network description every package shares: the search-space vocabulary and `ArchSpec`.

It lives in hwsim because hwsim must not import torch or lpgnas, yet simulates the same
networks that lpgnas trains (dependency direction: lpgnas -> costmodels -> hwsim).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pydantic

from hwsim.errors import InputError, StrictModel, from_validation_error
from hwsim.files import read_yaml

ATTENTIONS = ("const", "gcn", "gat", "sym-gat", "cos", "linear", "gene-linear")
# Attention types that compute per-edge coefficients (and so have an `attention` quantiser).
COEFFICIENT_ATTENTIONS = ("gat", "sym-gat", "cos", "linear", "gene-linear")
AGGREGATIONS = ("sum", "mean", "max")
ACTIVATIONS = ("identity", "relu", "elu", "leaky_relu", "tanh", "sigmoid", "relu6", "softplus")
HIDDEN_SIZES = (8, 16, 32, 64, 128, 256)
HEAD_COUNTS = (1, 2, 4, 8)
WEIGHT_QUANTS = ("b1", "t2", "q2", "q4", "q8", "q16", "f32")
ACTIVATION_QUANTS = ("q2", "q4", "q8", "q16", "f32")
QUANT_BITS = {"b1": 1, "t2": 2, "q2": 2, "q4": 4, "q8": 8, "q16": 16, "f32": 32}
# Model size (docs/design.md §3): Σ weights × their bits + one float32 scale per quantised weight
# tensor (the weight matrix and each attention vector) + biases at accumulator precision.
SCALE_BITS = 32
BIAS_BITS = 32
# Attention vectors (a_l, a_r, g) per attention type, each [heads, per-head width]; they are
# quantised with the weights (the accelerator reads them, see hwsim._kernels).
# The attention vectors each type learns (l scores the target, r the source, g mixes channels):
# the network's parameters and the words the accelerator reads per attention type.
ATTENTION_VECTORS = {"const": (), "gcn": (), "gat": ("l", "r"), "sym-gat": ("l", "r"), "cos": ("l", "r"),
                     "linear": ("r",), "gene-linear": ("l", "r", "g")}
ATTENTION_VECTOR_COUNTS = {name: len(vectors) for name, vectors in ATTENTION_VECTORS.items()}

AttentionName = Literal["const", "gcn", "gat", "sym-gat", "cos", "linear", "gene-linear"]
AggregationName = Literal["sum", "mean", "max"]
ActivationName = Literal["identity", "relu", "elu", "leaky_relu", "tanh", "sigmoid", "relu6", "softplus"]
WeightQuant = Literal["b1", "t2", "q2", "q4", "q8", "q16", "f32"]
ActivationQuant = Literal["q2", "q4", "q8", "q16", "f32"]
HiddenSize = Literal[8, 16, 32, 64, 128, 256]
HeadCount = Literal[1, 2, 4, 8]


def layer_model_bits(in_width: int, per_head: int, heads: int, vectors: int, weight_bits: int, scaled: bool,
                     last: bool) -> int:
    """Bits of one layer's parameters: the [in, heads·per_head] weight matrix and `vectors`
    attention vectors at `weight_bits` (plus a scale each when `scaled`, i.e. not f32), and the
    bias (heads·per_head wide when the heads are concatenated, per_head when the last layer
    averages them). Works elementwise on numpy arrays too (the search's cost tables)."""
    width = heads * per_head
    return ((in_width + vectors) * width * weight_bits + scaled * (1 + vectors) * SCALE_BITS
            + (per_head if last else width) * BIAS_BITS)


def has_coefficients(attention: str) -> bool:
    """True for attention types that compute per-edge coefficients."""
    return attention in COEFFICIENT_ATTENTIONS


@dataclass(frozen=True)
class QuantSpec:
    """Quantisation option per component of one layer (attention is None where unused)."""

    weight: str
    feature: str
    message: str
    attention: str | None = None

    def bits(self, component: str) -> int:
        """Bit width of a component; an unused attention quantiser counts as 0 bits."""
        option = getattr(self, component)
        return 0 if option is None else QUANT_BITS[option]

    def to_dict(self) -> dict[str, str]:
        out = {"weight": self.weight, "feature": self.feature}
        if self.attention is not None:
            out["attention"] = self.attention
        out["message"] = self.message
        return out


@dataclass(frozen=True)
class LayerSpec:
    """One layer: hidden is the per-head output width (None on the last layer)."""

    attention: str
    aggregation: str
    activation: str
    hidden: int | None
    heads: int
    quant: QuantSpec

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"attention": self.attention, "aggregation": self.aggregation}
        if self.hidden is not None:
            out["activation"] = self.activation
            out["hidden"] = self.hidden
        out["heads"] = self.heads
        out["quant"] = self.quant.to_dict()
        return out


@dataclass(frozen=True)
class ArchSpec:
    """A concrete network of the search space; hidden layers concatenate heads, the last averages."""

    layers: tuple[LayerSpec, ...]

    def widths(self, in_dim: int, num_classes: int) -> list[tuple[int, int, int]]:
        """Per layer (input width, per-head output width, heads)."""
        out, width = [], in_dim
        for i, layer in enumerate(self.layers):
            last = i == len(self.layers) - 1
            per_head = num_classes if last else layer.hidden
            out.append((width, per_head, layer.heads))
            width = per_head if last else per_head * layer.heads
        return out

    def model_size_bits(self, in_dim: int, num_classes: int) -> int:
        """Bits of every parameter of the network (see layer_model_bits)."""
        return sum(layer_model_bits(width, per_head, heads, ATTENTION_VECTOR_COUNTS[layer.attention],
                                    layer.quant.bits("weight"), layer.quant.weight != "f32", i == len(self.layers) - 1)
                   for i, (layer, (width, per_head, heads)) in enumerate(zip(self.layers,
                                                                             self.widths(in_dim, num_classes))))

    def to_dict(self) -> dict[str, Any]:
        return {"layers": [layer.to_dict() for layer in self.layers]}


class _QuantModel(StrictModel):
    weight: WeightQuant
    feature: ActivationQuant
    message: ActivationQuant
    attention: ActivationQuant | None = None


class _LayerModel(StrictModel):
    attention: AttentionName
    aggregation: AggregationName
    activation: ActivationName | None = None
    hidden: HiddenSize | None = None
    heads: HeadCount = 1
    quant: _QuantModel


class _ArchModel(StrictModel):
    layers: list[_LayerModel] = pydantic.Field(min_length=1)


def parse_arch(data: Any, source: str = "arch") -> ArchSpec:
    """Validate an `arch` object (docs/design.md §7) into an ArchSpec.

    Raises:
        InputError: naming `source` and the offending field.
    """
    if not isinstance(data, dict):
        raise InputError(source, "", "expected a mapping with a 'layers' list")
    try:
        model = _ArchModel.model_validate(data)
    except pydantic.ValidationError as err:
        raise from_validation_error(source, err) from None
    layers = []
    for i, layer in enumerate(model.layers):
        where = f"layers[{i}]"
        last = i == len(model.layers) - 1
        if last:
            if layer.hidden is not None:
                raise InputError(source, f"{where}.hidden", "the last layer has no hidden size "
                                 "(its width is the number of classes)")
            if layer.activation not in (None, "identity"):
                raise InputError(source, f"{where}.activation", "the last layer's activation is "
                                 f"'identity' (got {layer.activation!r})")
            activation = "identity"
        else:
            if layer.hidden is None:
                raise InputError(source, f"{where}.hidden",
                                 f"required on hidden layers; one of {list(HIDDEN_SIZES)}")
            if layer.activation is None:
                raise InputError(source, f"{where}.activation",
                                 f"required on hidden layers; one of {list(ACTIVATIONS)}")
            activation = layer.activation
        attention_q = layer.quant.attention
        if has_coefficients(layer.attention):
            if attention_q is None:
                raise InputError(source, f"{where}.quant.attention",
                                 f"required for attention {layer.attention!r}; one of {list(ACTIVATION_QUANTS)}")
        else:
            attention_q = None  # docs/design.md §3: ignored for const and gcn
        quant = QuantSpec(layer.quant.weight, layer.quant.feature, layer.quant.message, attention_q)
        layers.append(LayerSpec(layer.attention, layer.aggregation, activation, layer.hidden, layer.heads, quant))
    return ArchSpec(tuple(layers))


def arch_from_file(data: Any, source: str) -> ArchSpec:
    """The network of an arch.yaml's contents: its `layers`; a `train:` block is allowed and left
    to the training side (lpgnas.io.archfile)."""
    if not isinstance(data, dict):
        raise InputError(source, "", "expected a mapping with a 'layers' list")
    unknown = [k for k in data if k not in ("layers", "train")]
    if unknown:
        raise InputError(source, str(unknown[0]), "unknown key; accepted keys: layers, train")
    if "layers" not in data:
        raise InputError(source, "layers", "required: the list of layers")
    return parse_arch({"layers": data["layers"]}, source)


def load_arch(path: str | Path) -> ArchSpec:
    """Read an arch.yaml file into a validated ArchSpec (errors name the file and the field)."""
    return arch_from_file(read_yaml(path), str(path))
