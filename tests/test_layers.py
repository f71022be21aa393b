import pytest
import torch
from helpers import ring_graph
from torch_geometric.nn import GATConv, GCNConv

from hwsim.network import AGGREGATIONS, ATTENTIONS, QuantSpec, has_coefficients
from lpgnas.nn.layers import QuantGNNConv
from lpgnas.nn.model import with_self_loops

F32 = QuantSpec("f32", "f32", "f32", "f32")


def quant_for(attention, w="q4", a="q8"):
    return QuantSpec(w, a, a, a if has_coefficients(attention) else None)


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_every_attention_and_aggregation_runs_and_learns(attention, aggregation):
    torch.manual_seed(0)
    edge_index = with_self_loops(ring_graph(4), 4)
    conv = QuantGNNConv(3, 2, heads=2, attention=attention, aggregation=aggregation, quant=quant_for(attention))
    x = torch.randn(4, 3)
    out = conv(x, edge_index)
    assert out.shape == (4, 4) and torch.isfinite(out).all()
    out.square().sum().backward()
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0


def test_heads_average_on_the_last_layer():
    conv = QuantGNNConv(3, 5, heads=4, attention="gat", aggregation="sum", quant=F32, concat=False)
    assert conv(torch.randn(4, 3), with_self_loops(ring_graph(4), 4)).shape == (4, 5)


def test_gcn_matches_torch_geometric_gcnconv():
    torch.manual_seed(1)
    x, edge_index = torch.randn(6, 5), ring_graph(6)
    ours = QuantGNNConv(5, 3, 1, "gcn", "sum", QuantSpec("f32", "f32", "f32"))
    ref = GCNConv(5, 3)
    with torch.no_grad():
        ref.lin.weight.copy_(ours.weight.t())
        ref.bias.copy_(torch.randn(3))
        ours.bias.copy_(ref.bias)
    torch.testing.assert_close(ours(x, with_self_loops(edge_index, 6)), ref(x, edge_index))


def test_gat_matches_torch_geometric_gatconv():
    torch.manual_seed(2)
    x, edge_index = torch.randn(6, 5), ring_graph(6)
    ours = QuantGNNConv(5, 3, 2, "gat", "sum", F32).eval()
    ref = GATConv(5, 3, heads=2).eval()
    with torch.no_grad():
        ref.lin.weight.copy_(ours.weight.t())
        ref.att_dst.copy_(ours.att_l)  # a_l scores the target i
        ref.att_src.copy_(ours.att_r)  # a_r scores the source j
        ref.bias.zero_()
    torch.testing.assert_close(ours(x, with_self_loops(edge_index, 6)), ref(x, edge_index))


def test_sparse_input_equals_dense_input():
    torch.manual_seed(3)
    x = torch.randn(6, 8) * (torch.rand(6, 8) < 0.2)
    edge_index = with_self_loops(ring_graph(6), 6)
    conv = QuantGNNConv(8, 4, 2, "gat", "mean", quant_for("gat")).eval()
    dense = conv(x, edge_index)
    conv_sparse = QuantGNNConv(8, 4, 2, "gat", "mean", quant_for("gat")).eval()
    conv_sparse.load_state_dict(conv.state_dict())
    torch.testing.assert_close(conv_sparse(x.to_sparse_coo().coalesce(), edge_index), dense)


def test_quantised_messages_lie_on_the_grid():
    conv = QuantGNNConv(3, 4, 1, "const", "sum", QuantSpec("q2", "q8", "q2"))
    h = conv.q_message(torch.randn(10, 4))
    assert torch.unique(h).numel() <= 4
