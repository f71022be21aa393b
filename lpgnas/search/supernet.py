"""The LPGNAS supernet: every candidate of docs/design.md §3 in one network, and its controller.

Architecture choices are sampled per step with hard Gumbel-softmax, so one path runs and
memory stays that of one network; their logits learn from the sampled path's validation loss
through a score-function estimator (why not the straight-through gate: docs/search-tuning.md,
"Architecture gradient").
Widths share weights: a layer holds its largest weight tensor and takes the sampled (heads,
hidden) block out of it, with one fixed input row per unit of the layer before
(SuperLayer.input_rows). A quantisation choice either mixes the tensor quantised at every
candidate width, weighted by softmax(β) (DNAS), or takes one width (ArchController.sample).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hwsim.network import ATTENTION_VECTORS, HEAD_COUNTS, HIDDEN_SIZES, ArchSpec
from lpgnas.nn.layers import LayerQuantizers, propagate, resolve_activation
from lpgnas.quant.kernels import sum_of_squares
from lpgnas.quant.mixture import MixedQuantizer, sampled_option
from lpgnas.search.space import QUANT_CHOICES, SearchSpace

Sample = dict[str, Tensor]  # choice name -> one-hot (architecture) or probabilities (quantisation)
TYPICAL_WIDTH = 64  # the width the supernet's weights are initialised for (see reset_parameters)
# One categorical over (attention, aggregation) pairs: `mean` suits `const` only (softmax
# coefficients already average), so independent logits credit it on the wrong partners
# (docs/search-tuning.md, "One choice for attention and aggregation").
PAIR = ("attention", "aggregation")


class ArchController(nn.Module):
    """Owns the architecture logits α and quantisation logits β, one vector per choice and layer."""

    def __init__(self, space: SearchSpace) -> None:
        super().__init__()
        self.space = space
        self.alpha = nn.ParameterDict()
        self.beta = nn.ParameterDict()
        for layer in range(space.depth):
            choices = space.arch_choices(layer)
            self.alpha[_key(layer, "pair")] = nn.Parameter(torch.zeros(len(choices[PAIR[0]]) * len(choices[PAIR[1]])))
            for name, candidates in choices.items():
                if name not in PAIR:
                    self.alpha[_key(layer, name)] = nn.Parameter(torch.zeros(len(candidates)))
            for name, candidates in space.quant_choices().items():
                self.beta[_key(layer, name)] = nn.Parameter(torch.zeros(len(candidates)))

    def _logits(self, layer: int, name: str) -> Tensor:
        return (self.beta if name in QUANT_CHOICES else self.alpha)[_key(layer, name)]

    def pair_probabilities(self, layer: int) -> Tensor:
        """The joint distribution of (attention, aggregation) of a layer, [attentions, aggregations]."""
        choices = self.space.arch_choices(layer)
        return F.softmax(self._logits(layer, "pair"), dim=0).view(len(choices[PAIR[0]]), len(choices[PAIR[1]]))

    def probabilities(self) -> list[dict[str, Tensor]]:
        """softmax of every choice's logits (the distribution the hardware cost is taken over);
        attention and aggregation as the marginals of their joint distribution (the cost tables
        index attention, never the reducer, so the expected cost stays exact)."""
        out = []
        for i in range(self.space.depth):
            joint = self.pair_probabilities(i)
            marginals = {PAIR[0]: joint.sum(1), PAIR[1]: joint.sum(0)}
            out.append({name: marginals[name] if name in PAIR else F.softmax(self._logits(i, name), dim=0)
                        for name in self.space.choices(i)})
        return out

    def sample(self, tau: float, quant: str = "mix") -> list[Sample]:
        """Hard Gumbel-softmax samples of the architecture choices, and the quantisation choices:
        `mix` softmax(β) (the architecture step), `draw` a hard sample (the weight step: the
        weights train under the widths the network will really run), `widest` every tensor at
        its widest candidate (the warm-up: SearchHyperParams.warmup_fraction).

        Architecture samples are constant one-hots: their logits learn from the score-function
        term of `log_prob` (lpgnas.search.loop).
        """
        if quant not in ("mix", "draw", "widest"):
            raise ValueError(f"Could not resolve quantisation sampling {quant!r} "
                             "among choices ['mix', 'draw', 'widest']")
        out = []
        for i in range(self.space.depth):
            layer: Sample = {}
            choices = self.space.arch_choices(i)
            pair = int(F.gumbel_softmax(self._logits(i, "pair").detach(), tau=tau, hard=True).argmax())
            count = len(choices[PAIR[1]])
            layer[PAIR[0]] = F.one_hot(torch.tensor(pair // count), len(choices[PAIR[0]])).float()
            layer[PAIR[1]] = F.one_hot(torch.tensor(pair % count), count).float()
            for name in choices:
                if name not in PAIR:
                    layer[name] = F.gumbel_softmax(self._logits(i, name).detach(), tau=tau, hard=True)
            for name in self.space.quant_choices():
                logits = self._logits(i, name)
                if quant == "mix":
                    layer[name] = F.softmax(logits, dim=0)
                elif quant == "draw":
                    layer[name] = F.gumbel_softmax(logits.detach(), tau=tau, hard=True)
                else:  # widest: the candidates are ordered from narrowest to widest
                    layer[name] = F.one_hot(torch.tensor(len(logits) - 1), len(logits)).float()
            out.append(layer)
        return out

    def log_prob(self, sample: list[Sample]) -> Tensor:
        """log p of the sampled architecture under softmax(α) (the quantisation mixture excluded)."""
        total = torch.zeros(())
        for i, layer in enumerate(sample):
            pair = int(layer[PAIR[0]].argmax()) * len(layer[PAIR[1]]) + int(layer[PAIR[1]].argmax())
            total = total + F.log_softmax(self._logits(i, "pair"), dim=0)[pair]
            for name in self.space.arch_choices(i):
                if name not in PAIR:
                    total = total + F.log_softmax(self._logits(i, name), dim=0)[int(layer[name].argmax())]
        return total

    def network(self) -> list[dict[str, int]]:
        """The argmax of every choice ((attention, aggregation): of their joint distribution)."""
        out = []
        for i in range(self.space.depth):
            joint = self.pair_probabilities(i)
            pair = int(joint.argmax())
            picks = {PAIR[0]: pair // joint.size(1), PAIR[1]: pair % joint.size(1)}
            out.append({name: picks[name] if name in PAIR else int(self._logits(i, name).argmax())
                        for name in self.space.choices(i)})
        return out

    def derive(self) -> ArchSpec:
        return self.space.to_arch(self.network())


def _key(layer: int, name: str) -> str:
    return f"l{layer}_{name.replace('.', '_')}"


class SuperLayer(nn.Module):
    """Every candidate of one layer; runs the sampled path with mixed-precision quantisers."""

    def __init__(self, in_channels: int, space: SearchSpace, layer: int, num_classes: int,
                 dropout: float, negative_slope: float = 0.2) -> None:
        super().__init__()
        self.layer, self.space = layer, space
        self.last = layer == space.depth - 1
        self.per_head_max = num_classes if self.last else max(HIDDEN_SIZES)
        self.heads_max = max(HEAD_COUNTS)
        self.dropout, self.negative_slope = dropout, negative_slope
        shape = (self.heads_max, self.per_head_max)
        self.weight = nn.Parameter(torch.empty(in_channels, *shape))
        self.attention_vectors = nn.ParameterDict({
            f"{att.replace('-', '_')}_{v}": nn.Parameter(torch.empty(1, *shape))
            for att, vectors in ATTENTION_VECTORS.items() for v in vectors})
        self.bias = nn.Parameter(torch.zeros(*shape))
        quant = space.quant_choices()
        self.q_weight = MixedQuantizer(quant["q.weight"])
        self.q_feature = MixedQuantizer(quant["q.feature"], running=True)
        self.q_message = MixedQuantizer(quant["q.message"], running=True)
        self.q_attention = MixedQuantizer(quant["q.attention"], running=True)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform for a typical slice, not the whole tensor.

        Glorot over the full [in, 8·256] tensor would start a 16-wide slice ~10x too small, so
        the first logits are ~1e-4 and their gradients drown; the bound here is that of a
        layer with the true input width (the features) or a typical hidden width of 64, and
        64 outputs (the class count on the last layer).
        """
        fan_in = self.weight.size(0) if self.layer == 0 else TYPICAL_WIDTH
        fan_out = self.per_head_max if self.last else TYPICAL_WIDTH
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        nn.init.uniform_(self.weight, -bound, bound)
        att_bound = math.sqrt(6.0 / (1 + min(self.per_head_max, TYPICAL_WIDTH)))
        for vector in self.attention_vectors.values():
            nn.init.uniform_(vector, -att_bound, att_bound)
        nn.init.zeros_(self.bias)

    def output_shape(self, sample: Sample) -> tuple[int, int]:
        """(heads, units per head) of the sampled path's output."""
        choices = self.space.arch_choices(self.layer)
        heads = choices["heads"][int(sample["heads"].argmax())]
        return heads, (self.per_head_max if self.last else choices["hidden"][int(sample["hidden"].argmax())])

    def input_rows(self, previous: tuple[int, int] | None, in_width: int) -> Tensor | slice:
        """The weight rows the sampled input meets: unit j of head h of the previous layer always
        meets row h·max(hidden) + j, whatever that layer's sampled width.

        Slicing the first heads·hidden rows instead would hand unit j of head 1 a different row
        at every hidden width, so the weights a path learns would mean nothing to its neighbours.
        """
        if previous is None:
            return slice(0, in_width)
        heads, hidden = previous
        return (torch.arange(heads).unsqueeze(1) * max(HIDDEN_SIZES) + torch.arange(hidden)).flatten()

    def forward(self, x: Tensor, edge_index: Tensor, sample: Sample,
                previous: tuple[int, int] | None = None) -> tuple[Tensor, PathTerms]:
        """The sampled path and its loss terms; `previous` is the (heads, hidden) of the layer
        feeding x (None: the features).

        A hidden layer's aggregated output is scaled to unit RMS by a constant (no gradient flows
        through it), before the bias. The candidates of one layer differ in scale by the degree
        (`const`/`sum` sums ~5 neighbours on Cora, `mean` averages them) while the bias and the
        next layer are shared, so without it the supernet learns the scale of whichever candidate
        it samples most and scores the others on inputs it never trained for: at the end of a
        --no-hw Cora warm-up a `gcn`/`mean` first layer classified 22 % of the validation nodes
        (77 % with the scaling; every probe path 76-77 %). A constant scale is a
        reparameterisation, not a new operation: c·agg(h) equals agg(c·h), with the attention
        vectors divided by c where the coefficients read h, so the derived network is the same
        family (tests/test_supernet.py checks the equality).
        """
        choices = self.space.arch_choices(self.layer)
        pick = {name: choices[name][int(sample[name].argmax())] for name in choices}
        attention, aggregation = pick["attention"], pick["aggregation"]
        heads, per_head = self.output_shape(sample)
        activation = "identity" if self.last else pick["activation"]
        in_width = x.size(1)
        p_w, p_f, p_m, p_a = (sample[name] for name in QUANT_CHOICES)
        terms = PathTerms()
        distortions: dict[str, Tensor | None] = {}  # per component, its last mixture's (see PathTerms)

        def mixed(component: str, probs: Tensor, values: bool = False) -> Callable[[Tensor], Tensor]:
            quantizer = getattr(self, f"q_{component}")

            def apply(tensor: Tensor) -> Tensor:
                out, distortion = (quantizer.sparse_values if values else quantizer)(tensor, probs)
                if distortion is not None or sampled_option(probs) is None:
                    distortions[component] = distortion
                return out
            return apply

        rows = self.input_rows(previous, in_width)
        raw_weight = self.weight[:, :heads, :per_head][rows]
        bias = self.bias[:heads, :per_head]
        slices = [raw_weight, bias]
        weight = mixed("weight", p_w)(raw_weight.reshape(in_width, -1))
        vectors = []
        for which in "lrg":
            if which in ATTENTION_VECTORS[attention]:
                vector = self.attention_vectors[f"{attention.replace('-', '_')}_{which}"][:, :heads, :per_head]
                slices.append(vector)
                vectors.append(mixed("weight", p_w)(vector))
            else:
                vectors.append(None)
        if self.training:  # only the weight step reads it; the architecture step runs in eval mode
            terms.path_l2 = sum(t.square().sum() for t in slices)
        quantize = LayerQuantizers(mixed("feature", p_f), mixed("feature", p_f, values=True), mixed("message", p_m),
                                   mixed("attention", p_a))
        out = propagate(x, weight, edge_index, heads, per_head, attention, aggregation, tuple(vectors), quantize,
                        self.dropout, self.dropout, self.training, self.negative_slope)
        if not self.last:
            rms = math.sqrt(sum_of_squares(out.detach().contiguous().view(-1).numpy()) / max(out.numel(), 1))
            scale = torch.tensor(1.0 / max(rms, 1e-12), dtype=out.dtype)
            terms.hidden_scales.append(scale)
            out = out * scale
        out = (out + bias).mean(dim=1) if self.last else (out + bias).reshape(-1, heads * per_head)
        terms.distortions = [distortions[c] for c in COMPONENTS if distortions.get(c) is not None]
        return resolve_activation(activation)(out), terms


class SuperNet(nn.Module):
    """The weights of every candidate network; the controller's samples pick the path."""

    def __init__(self, space: SearchSpace, in_channels: int, num_classes: int, dropout: float = 0.5) -> None:
        super().__init__()
        widest = max(HIDDEN_SIZES) * max(HEAD_COUNTS)
        self.layers = nn.ModuleList(
            SuperLayer(in_channels if i == 0 else widest, space, i, num_classes, dropout) for i in range(space.depth))

    def forward(self, x: Tensor, edge_index: Tensor, sample: list[Sample]) -> tuple[Tensor, PathTerms]:
        """The sampled path's logits and its loss terms over all layers."""
        previous, total = None, PathTerms()
        for layer, layer_sample in zip(self.layers, sample):
            x, terms = layer(x, edge_index, layer_sample, previous)
            total.path_l2 = total.path_l2 + terms.path_l2
            total.distortions += terms.distortions
            total.hidden_scales += terms.hidden_scales
            previous = layer.output_shape(layer_sample)
        return x, total


# The quantised components of a layer, in the order their distortions are summed (the space's).
COMPONENTS = tuple(choice.removeprefix("q.") for choice in QUANT_CHOICES)


@dataclass
class PathTerms:
    """What a supernet forward yields besides its output, returned rather than left on modules.

    path_l2: ‖θ‖² of the parameter slices the path used, in training mode (0 in eval mode). The
        weight step adds it as the path's own L2 term, so each path trains as it will be
        retrained (Adam + L2); a decay on the whole supernet would shrink every slice the step
        did not sample.
    distortions: per layer and quantised component (COMPONENTS) mixed with gradients on, the
        E_p[‖Q(x) − x‖² / ‖x‖²] of its last mixture; for the weights, whose quantiser also serves
        the attention vectors, that is the last attention vector's where the type has vectors.
    hidden_scales: each hidden layer's output normalisation (SuperLayer.forward).
    """

    path_l2: Tensor = field(default_factory=lambda: torch.zeros(()))
    distortions: list[Tensor] = field(default_factory=list)
    hidden_scales: list[Tensor] = field(default_factory=list)

    @property
    def distortion(self) -> Tensor:
        """Σ of the distortions: the architecture loss's accuracy prior on the bit widths
        (lpgnas.search.loop), differentiable in the quantisation probabilities only."""
        return torch.stack(self.distortions).sum() if self.distortions else torch.zeros(())
