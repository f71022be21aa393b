"""The search space of docs/design.md §3 as named choices per layer, and the network they derive.

A network of the space is a list (one per layer) of {choice name: candidate index}. Choice
names: the architecture choices `attention`, `aggregation`, `activation`, `hidden`, `heads`
(the last layer has no `activation` or `hidden`) and the quantisation choices `q.weight`,
`q.feature`, `q.message`, `q.attention`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.errors import InputError
from hwsim.network import (
    ACTIVATION_QUANTS,
    ACTIVATIONS,
    AGGREGATIONS,
    ATTENTIONS,
    HEAD_COUNTS,
    HIDDEN_SIZES,
    WEIGHT_QUANTS,
    ArchSpec,
    LayerSpec,
    QuantSpec,
    has_coefficients,
)

QUANT_CHOICES = ("q.weight", "q.feature", "q.message", "q.attention")
Network = list[dict[str, int]]


@dataclass(frozen=True)
class SearchSpace:
    """Candidates of every choice; `weight_quants`/`activation_quants` may be restricted."""

    depth: int = 2
    weight_quants: tuple[str, ...] = WEIGHT_QUANTS
    activation_quants: tuple[str, ...] = ACTIVATION_QUANTS

    def arch_choices(self, layer: int) -> dict[str, tuple]:
        """Architecture choices of a layer and their candidates."""
        choices: dict[str, tuple] = {"attention": ATTENTIONS, "aggregation": AGGREGATIONS}
        if layer < self.depth - 1:
            choices["activation"] = ACTIVATIONS
            choices["hidden"] = HIDDEN_SIZES
        choices["heads"] = HEAD_COUNTS
        return choices

    def quant_choices(self) -> dict[str, tuple[str, ...]]:
        return {"q.weight": self.weight_quants, "q.feature": self.activation_quants,
                "q.message": self.activation_quants, "q.attention": self.activation_quants}

    def choices(self, layer: int) -> dict[str, tuple]:
        return {**self.arch_choices(layer), **self.quant_choices()}

    def to_arch(self, network: Network) -> ArchSpec:
        """The concrete network of a list of choice indices."""
        layers = []
        for i, picks in enumerate(network):
            c = {name: cands[picks[name]] for name, cands in self.choices(i).items()}
            last = i == self.depth - 1
            quant = QuantSpec(c["q.weight"], c["q.feature"], c["q.message"],
                              c["q.attention"] if has_coefficients(c["attention"]) else None)
            layers.append(LayerSpec(c["attention"], c["aggregation"], "identity" if last else c["activation"],
                                    None if last else c["hidden"], c["heads"], quant))
        return ArchSpec(tuple(layers))

    def from_arch(self, arch: ArchSpec) -> Network:
        """Choice indices of a concrete network (unused attention bits take the first candidate)."""
        network = []
        for i, layer in enumerate(arch.layers):
            values = {"attention": layer.attention, "aggregation": layer.aggregation, "activation": layer.activation,
                      "hidden": layer.hidden, "heads": layer.heads, "q.weight": layer.quant.weight,
                      "q.feature": layer.quant.feature, "q.message": layer.quant.message,
                      "q.attention": layer.quant.attention or self.activation_quants[0]}
            network.append({name: cands.index(values[name]) for name, cands in self.choices(i).items()})
        return network


def parse_quant_choices(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`--quant-choices`: `all`, `f32`, or a comma-separated list, e.g. `q4,q8,f32`.

    Returns the weight and activation candidates (each keeps the options valid for it).
    """
    if text == "all":
        return WEIGHT_QUANTS, ACTIVATION_QUANTS
    wanted = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in wanted if t not in WEIGHT_QUANTS]
    if unknown or not wanted:
        raise InputError("argument --quant-choices", "", f"unknown option {unknown[0] if unknown else text!r}; "
                         f"use all, or a list from {', '.join(WEIGHT_QUANTS)}")
    weights = tuple(q for q in WEIGHT_QUANTS if q in wanted)
    activations = tuple(q for q in ACTIVATION_QUANTS if q in wanted)
    if not activations:
        raise InputError("argument --quant-choices", "", f"features, messages and attention need one of "
                         f"{', '.join(ACTIVATION_QUANTS)}; got only {', '.join(wanted)}")
    return weights, activations
