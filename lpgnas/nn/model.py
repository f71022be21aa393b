"""A quantised GNN built from an ArchSpec, and its model and buffer sizes."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.utils import add_self_loops, remove_self_loops

from hwsim.network import BIAS_BITS, QUANT_BITS, SCALE_BITS, ArchSpec
from lpgnas.nn.layers import QuantGNNConv, resolve_activation


def with_self_loops(edge_index: Tensor, num_nodes: int) -> Tensor:
    """The edge list every layer aggregates over: the graph's edges plus one self-loop per node,
    sorted by target, then source. That is the CSR order the aggregation and the attention
    softmax stream (lpgnas.sparse.ops), so their per-edge values need no permutation."""
    edge_index, _ = remove_self_loops(edge_index)
    edge_index, _ = add_self_loops(edge_index, num_nodes=num_nodes)
    src, dst = edge_index
    return edge_index[:, torch.argsort(dst * num_nodes + src, stable=True)]


def as_input(x: Tensor, max_density: float = 0.5) -> Tensor:
    """Layer-1 features as a coalesced sparse COO tensor when mostly zero, else dense.

    Bag-of-words features are 1-10 % dense: multiplying (and dropping out) only the non-zeros
    is what the accelerator's zero-skipping does and is many times faster than dense.
    """
    density = int(torch.count_nonzero(x)) / x.numel() if x.numel() else 1.0  # no [N, F] float copy
    return x.to_sparse_coo().coalesce() if density <= max_density else x


class QuantGNN(nn.Module):
    """The network of `arch`: hidden layers concatenate heads, the last averages them."""

    def __init__(self, arch: ArchSpec, in_channels: int, num_classes: int, dropout: float = 0.5,
                 attention_dropout: float | None = None) -> None:
        super().__init__()
        self.arch = arch
        self.convs = nn.ModuleList()
        self.activations = []
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        widths = arch.widths(in_channels, num_classes)
        for i, (layer, (width_in, per_head, heads)) in enumerate(zip(arch.layers, widths)):
            last = i == len(arch.layers) - 1
            self.convs.append(QuantGNNConv(
                width_in, per_head, heads, layer.attention, layer.aggregation, layer.quant,
                concat=not last, dropout=dropout, attention_dropout=attention_dropout))
            self.activations.append(resolve_activation(layer.activation))

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Logits [N, classes]; `edge_index` must already carry self-loops (see with_self_loops)."""
        for conv, act in zip(self.convs, self.activations):
            x = act(conv(x, edge_index))
        return x


def model_size_bits(model: QuantGNN) -> int:
    """Σ over weight tensors of elements × bits (+ one 32-bit scale per quantised tensor) + biases,
    counted on the module's real tensors (ArchSpec.model_size_bits is the same from the spec alone;
    tests check that they agree)."""
    total = 0
    for conv in model.convs:
        option = conv.q_weight.option
        bits = QUANT_BITS[option]
        for tensor in [conv.weight, *conv.attention_parameters()]:
            total += tensor.numel() * bits + (0 if option == "f32" else SCALE_BITS)
        total += conv.bias.numel() * BIAS_BITS
    return total


def model_size_bytes(model: QuantGNN) -> int:
    return math.ceil(model_size_bits(model) / 8)


def buffer_size_bytes(arch: ArchSpec, num_nodes: int, num_edges: int, num_classes: int) -> int:
    """LPGNAS buffer size: max over layers of N·width·message bits + E·heads·attention bits.

    `num_edges` counts the edges aggregated over (self-loops included).
    """
    worst = 0
    for layer, (_, per_head, heads) in zip(arch.layers, arch.widths(1, num_classes)):
        bits = num_nodes * per_head * heads * layer.quant.bits("message")
        bits += num_edges * heads * layer.quant.bits("attention")
        worst = max(worst, bits)
    return math.ceil(worst / 8)
