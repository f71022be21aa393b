"""Quantised message-passing layer covering every attention, aggregation and head choice.

Execution is combination first, A·(X·W) (docs/design.md §3): features are quantised (`feature`),
multiplied by the quantised weights (`weight`), the product is quantised (`message`), edge
coefficients are computed and quantised (`attention`) and messages are aggregated.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hwsim.network import ACTIVATIONS, AGGREGATIONS, ATTENTION_VECTORS, ATTENTIONS, QuantSpec, has_coefficients
from lpgnas.nn.dropout import dropout
from lpgnas.quant.quantizers import Quantizer
from lpgnas.sparse.ops import (
    aggregate,
    cached_pattern,
    edge_dot,
    edge_softmax,
    gene_linear_score,
    pair_score,
    sparse_matmul,
)

_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "identity": lambda x: x,
    "relu": F.relu,
    "elu": F.elu,
    "leaky_relu": F.leaky_relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu6": F.relu6,
    "softplus": F.softplus,
}
assert tuple(_ACTIVATIONS) == ACTIVATIONS


def resolve_activation(name: str) -> Callable[[Tensor], Tensor]:
    """The activation function called `name`."""
    try:
        return _ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"Could not resolve activation {name!r} among choices {list(ACTIVATIONS)}") from None


def gcn_norm_coefficients(edge_index: Tensor, num_nodes: int) -> Tensor:
    """Symmetric degree normalisation 1/sqrt(d_i·d_j) per edge j→i (degrees count self-loops)."""
    src, dst = edge_index
    deg = torch.zeros(num_nodes, dtype=torch.float32).scatter_add_(0, dst, torch.ones(dst.numel()))
    inv_sqrt = deg.clamp(min=1).pow(-0.5)
    return inv_sqrt.index_select(0, src) * inv_sqrt.index_select(0, dst)


def edge_coefficients(attention: str, h: Tensor, edge_index: Tensor, att_l: Tensor | None, att_r: Tensor | None,
                      att_g: Tensor | None, negative_slope: float = 0.2) -> Tensor | None:
    """Coefficients α [E, H] of an attention type (see QuantGNNConv), None for ``const``.

    `h` is [N, H, C]; the attention vectors are [1, H, C] (already quantised).
    """
    src, dst = edge_index
    num_nodes = h.size(0)
    if attention == "const":
        return None
    if attention == "gcn":
        return gcn_norm_coefficients(edge_index, num_nodes).unsqueeze(-1).expand(-1, h.size(1))
    if attention in ("gat", "sym-gat"):
        s_l, s_r = (h * att_l).sum(-1), (h * att_r).sum(-1)
        score = pair_score(s_l, s_r, dst, src, negative_slope)
        if attention == "sym-gat":
            score = score + pair_score(s_l, s_r, src, dst, negative_slope)
    elif attention == "cos":
        score = edge_dot(h * att_l, h * att_r, edge_index)
    elif attention == "linear":
        score = torch.tanh((h * att_r).sum(-1)).index_select(0, src)
    elif attention == "gene-linear":
        score = gene_linear_score(h * att_l, h * att_r, att_g, edge_index)
    else:
        raise ValueError(f"Could not resolve attention {attention!r} among choices {list(ATTENTIONS)}")
    return edge_softmax(score, edge_index, num_nodes)


class LayerQuantizers(NamedTuple):
    """How one layer quantises each component: the deployed layer's Quantizers, or the search's
    mixtures bound to the sampled widths. `feature_values` quantises the non-zeros of sparse
    features; `attention` is used only by attention types with coefficients."""

    feature: Callable[[Tensor], Tensor]
    feature_values: Callable[[Tensor], Tensor]
    message: Callable[[Tensor], Tensor]
    attention: Callable[[Tensor], Tensor] | None


def propagate(x: Tensor, weight: Tensor, edge_index: Tensor, heads: int, per_head: int, attention: str,
              aggregation: str, vectors: tuple[Tensor | None, Tensor | None, Tensor | None],
              quantize: LayerQuantizers, dropout_p: float, attention_dropout_p: float, training: bool,
              negative_slope: float = 0.2) -> Tensor:
    """One layer's anatomy, A·(X·W) (docs/design.md §3), written once for the deployed layer and the
    supernet's path: quantise the features (only the non-zeros of sparse ones, zero-skipping)
    and drop them out, multiply by the already quantised weight, quantise the messages, compute
    the edge coefficients from the quantised attention vectors, quantise and drop them out,
    aggregate. Returns [N, heads, per_head] before bias and activation.
    """
    if x.is_sparse:
        values = dropout(quantize.feature_values(x), dropout_p, training)
        h = sparse_matmul(cached_pattern(x), values, weight)
    else:
        h = dropout(quantize.feature(x), dropout_p, training) @ weight
    h = quantize.message(h).view(-1, heads, per_head)
    alpha = edge_coefficients(attention, h, edge_index, *vectors, negative_slope)
    if alpha is not None:
        if has_coefficients(attention):
            alpha = quantize.attention(alpha)
        alpha = dropout(alpha, attention_dropout_p, training)
    return aggregate(h, edge_index, alpha, aggregation)


class QuantGNNConv(nn.Module):
    r"""One quantised GNN layer: out_i = ⊕_{j∈N(i)} α_ij · Q_m(Q_f(x_j) · Q_w(W)).

    The attention score e_ij per head (x_i, x_j are the transformed features of the target i
    and source j; softmax is over the incoming edges of i) follows GraphNAS (Gao et al. 2020):

    - ``const``: α_ij = 1 (the aggregator alone combines); ``gcn``: α_ij = 1/sqrt(d_i d_j)
    - ``gat``: e_ij = LeakyReLU(a_l·x_i + a_r·x_j)
    - ``sym-gat``: e_ij = LeakyReLU(a_l·x_i + a_r·x_j) + LeakyReLU(a_l·x_j + a_r·x_i)
    - ``cos``: e_ij = Σ_c (a_l,c x_i,c)(a_r,c x_j,c)
    - ``linear``: e_ij = tanh(a_r·x_j)
    - ``gene-linear``: e_ij = Σ_c g_c · tanh(a_l,c x_i,c + a_r,c x_j,c)

    Args:
        in_channels: input width.
        out_channels: output width per head.
        heads: number of heads; concatenated when `concat`, else averaged.
        attention, aggregation: names from the search space.
        quant: the quantisation option of each component.
        dropout: dropout on the (quantised) input features, training only.
        attention_dropout: dropout on the coefficients, training only.

    Shapes:
        x: [N, in_channels], dense or sparse COO (coalesced); edge_index: [2, E] with self-loops;
        out: [N, heads·out] when concatenating, else [N, out].
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        heads: int,
        attention: str,
        aggregation: str,
        quant: QuantSpec,
        concat: bool = True,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        negative_slope: float = 0.2,
    ) -> None:
        super().__init__()
        if attention not in ATTENTION_VECTORS:
            raise ValueError(f"Could not resolve attention {attention!r} among choices {list(ATTENTIONS)}")
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"Could not resolve aggregation {aggregation!r} among choices {list(AGGREGATIONS)}")
        self.aggregation = aggregation
        self.in_channels, self.out_channels, self.heads = in_channels, out_channels, heads
        self.attention, self.concat = attention, concat
        self.dropout, self.attention_dropout = dropout, attention_dropout
        self.negative_slope = negative_slope
        self.weight = nn.Parameter(torch.empty(in_channels, heads * out_channels))
        vectors = ATTENTION_VECTORS[attention]
        self.att_l, self.att_r, self.att_g = (
            nn.Parameter(torch.empty(1, heads, out_channels)) if name in vectors else None for name in "lrg")
        self.bias = nn.Parameter(torch.empty(heads * out_channels if concat else out_channels))
        self.q_weight = Quantizer(quant.weight)
        self.q_feature = Quantizer(quant.feature, running=True)
        self.q_message = Quantizer(quant.message, running=True)
        if has_coefficients(attention) and quant.attention is None:
            raise ValueError(f"attention {attention!r} computes coefficients: give their quantisation")
        self.q_attention = Quantizer(quant.attention, running=True) if has_coefficients(attention) else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.weight)
        for att in (self.att_l, self.att_r, self.att_g):
            if att is not None:
                bound = math.sqrt(6.0 / (att.size(1) + att.size(2)))
                nn.init.uniform_(att, -bound, bound)
        nn.init.zeros_(self.bias)

    def attention_parameters(self) -> list[Tensor]:
        """The attention vectors (quantised with the weights)."""
        return [a for a in (self.att_l, self.att_r, self.att_g) if a is not None]

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        vectors = tuple(None if a is None else self.q_weight(a) for a in (self.att_l, self.att_r, self.att_g))
        quantize = LayerQuantizers(self.q_feature, self.q_feature.sparse_values, self.q_message, self.q_attention)
        out = propagate(x, self.q_weight(self.weight), edge_index, self.heads, self.out_channels, self.attention,
                        self.aggregation, vectors, quantize, self.dropout, self.attention_dropout, self.training,
                        self.negative_slope)
        out = out.reshape(-1, self.heads * self.out_channels) if self.concat else out.mean(dim=1)
        return out + self.bias

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, heads={self.heads}, attention={self.attention}, "
                f"aggregation={self.aggregation}")
