"""The supernet's weight sharing and per-path L2 term, and the search's calibrated path score,
on graphs made in code."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lpgnas.nn.model import QuantGNN
from lpgnas.search.loss import TEMPERATURES, best_temperature, score_loss
from lpgnas.search.space import SearchSpace
from lpgnas.search.supernet import ArchController, SuperNet


def _ring(num_nodes: int) -> torch.Tensor:
    src = torch.arange(num_nodes)
    edges = torch.cat([torch.stack([src, (src + 1) % num_nodes]), torch.stack([(src + 1) % num_nodes, src])], dim=1)
    loops = torch.stack([src, src])
    return torch.cat([edges, loops], dim=1)


@torch.no_grad()
def test_path_l2_is_the_squared_norm_of_the_sampled_slices_only():
    torch.manual_seed(0)
    space = SearchSpace(depth=2)
    net, controller = SuperNet(space, in_channels=5, num_classes=3), ArchController(space)
    x, edge_index = torch.randn(12, 5), _ring(12)
    sample = controller.sample(tau=1.0)
    net.train()  # the weight step's mode, the one that records the term
    _, terms = net(x, edge_index, sample)
    expected, previous = 0.0, None
    for layer, picks in zip(net.layers, sample):
        choices = space.arch_choices(layer.layer)
        attention = choices["attention"][int(picks["attention"].argmax())]
        heads = choices["heads"][int(picks["heads"].argmax())]
        per_head = layer.per_head_max if layer.last else choices["hidden"][int(picks["hidden"].argmax())]
        rows = layer.input_rows(previous, 5)
        expected += float(layer.weight[:, :heads, :per_head][rows].square().sum())
        expected += float(layer.bias[:heads, :per_head].square().sum())
        for name, vector in layer.attention_vectors.items():
            if name.startswith(attention.replace("-", "_") + "_"):
                expected += float(vector[:, :heads, :per_head].square().sum())
        previous = (heads, per_head)
    assert abs(float(terms.path_l2) - expected) <= 1e-4 * expected
    assert float(terms.path_l2) < sum(float(p.square().sum()) for p in net.parameters())
    net.eval()  # the architecture step's mode: no weight decay term
    assert float(net(x, edge_index, sample)[1].path_l2) == 0.0


def _one_hot(candidates, value) -> torch.Tensor:
    return F.one_hot(torch.tensor(list(candidates).index(value)), len(candidates)).float()


@torch.no_grad()
def test_a_hidden_unit_meets_the_same_next_layer_weights_at_every_width():
    """Unit j of head h feeds the next layer through one weight row, whatever the sampled widths:
    with every other unit silenced, the logits do not depend on the first layer's width."""
    torch.manual_seed(2)
    space = SearchSpace(depth=2)
    net, controller = SuperNet(space, in_channels=5, num_classes=3), ArchController(space)
    net.eval()
    x, edge_index = torch.randn(12, 5), _ring(12)
    first = net.layers[0]
    first.weight.zero_()
    first.bias.zero_()
    first.bias[1, 3] = 1.0  # only unit 3 of head 2 is non-zero: relu(1) = 1 on every node
    sample = controller.sample(tau=1.0)
    for name, value in (("attention", "const"), ("aggregation", "sum"), ("activation", "relu")):
        sample[0][name] = _one_hot(space.arch_choices(0)[name], value)
    for q in ("q.weight", "q.feature", "q.message", "q.attention"):
        for layer in sample:
            layer[q] = _one_hot(space.quant_choices()[q], "f32")
    outputs = []
    for heads, hidden in ((2, 8), (4, 16), (8, 256)):
        sample[0]["heads"] = _one_hot(space.arch_choices(0)["heads"], heads)
        sample[0]["hidden"] = _one_hot(space.arch_choices(0)["hidden"], hidden)
        outputs.append(net(x, edge_index, sample)[0])
    assert float(outputs[0].abs().sum()) > 0
    for out in outputs[1:]:
        torch.testing.assert_close(out, outputs[0])


@pytest.mark.parametrize("attention", ["const", "gcn", "gat", "gene-linear"])
@torch.no_grad()
def test_a_supernet_path_computes_the_network_it_derives(attention):
    """The hidden layer's unit-RMS scaling is a reparameterisation: the sampled path equals the
    derived QuantGNN whose first weight is scaled by that constant (and its attention vectors,
    which read the transformed features, divided by it)."""
    torch.manual_seed(3)
    space = SearchSpace(depth=2)
    net, controller = SuperNet(space, in_channels=5, num_classes=3), ArchController(space)
    net.eval()
    x, edge_index = torch.randn(12, 5), _ring(12)
    sample = controller.sample(tau=1.0, quant="widest")
    sample[0]["attention"] = _one_hot(space.arch_choices(0)["attention"], attention)
    expected, terms = net(x, edge_index, sample)
    network = [{name: int(one_hot.argmax()) for name, one_hot in layer.items()} for layer in sample]
    arch = space.to_arch(network)
    model = QuantGNN(arch, in_channels=5, num_classes=3).eval()
    previous = None
    for conv, layer, picks in zip(model.convs, net.layers, sample):
        heads, per_head = layer.output_shape(picks)
        scale = 1.0 if layer.last else float(terms.hidden_scales[layer.layer])
        weight = layer.weight[:, :heads, :per_head][layer.input_rows(previous, 5)]
        conv.weight.copy_(scale * weight.reshape(weight.size(0), -1))
        bias = layer.bias[:heads, :per_head]
        conv.bias.copy_(bias.mean(0) if layer.last else bias.reshape(-1))
        name = conv.attention.replace("-", "_")
        for which, vector in zip("lrg", (conv.att_l, conv.att_r, conv.att_g)):
            if vector is not None:
                source = layer.attention_vectors[f"{name}_{which}"][:, :heads, :per_head]
                vector.copy_(source if which == "g" else source / scale)
        previous = (heads, per_head)
    assert float(terms.hidden_scales[0]) != 1.0
    torch.testing.assert_close(model(x, edge_index), expected, rtol=1e-4, atol=1e-5)


def test_score_loss_ignores_the_scale_of_the_logits():
    torch.manual_seed(1)
    logits, y = torch.randn(200, 5), torch.randint(0, 5, (200,))
    logits[torch.arange(200), y] += 1.0
    base = float(score_loss(logits, y))
    assert base <= float(F.cross_entropy(logits, y)) + 1e-6  # T = 1 is on the grid
    for scale in (0.25, 4.0):  # the best temperature moves with the scale, up to one grid step
        assert abs(float(score_loss(logits * scale, y)) - base) < 0.01


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), classes=st.integers(2, 12), nodes=st.integers(1, 300),
       scale=st.floats(0.01, 100.0), margin=st.floats(0.0, 5.0))
def test_bisection_finds_the_grid_temperature_of_least_loss(seed, classes, nodes, scale, margin):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(nodes, classes, generator=generator) * scale
    y = torch.randint(0, classes, (nodes,), generator=generator)
    logits[torch.arange(nodes), y] += margin * scale
    grid = torch.stack([F.cross_entropy(logits / t, y) for t in TEMPERATURES])
    found = best_temperature(logits, y)
    assert float(F.cross_entropy(logits / found, y)) <= float(grid.min()) + 1e-6 * max(1.0, float(grid.min()))


def test_score_loss_passes_gradients_to_the_logits():
    logits = torch.randn(30, 4, requires_grad=True)
    score_loss(logits, torch.randint(0, 4, (30,))).backward()
    assert logits.grad is not None and float(logits.grad.abs().sum()) > 0


def test_attention_and_aggregation_are_one_joint_choice():
    """The pair is drawn, scored and derived together; the cost model sees its marginals."""
    space = SearchSpace()
    controller = ArchController(space)
    with torch.no_grad():
        controller.alpha["l0_pair"].normal_(generator=torch.Generator().manual_seed(0))
    joint = controller.pair_probabilities(0).detach()
    probs = controller.probabilities()[0]
    torch.testing.assert_close(probs["attention"], joint.sum(1))
    torch.testing.assert_close(probs["aggregation"], joint.sum(0))
    torch.manual_seed(1)
    sample = controller.sample(1.0)
    a, g = int(sample[0]["attention"].argmax()), int(sample[0]["aggregation"].argmax())
    pair_names = ("attention", "aggregation")
    others = sum(float(F.log_softmax(controller.alpha[f"l{i}_{name}"].detach(), 0)[int(sample[i][name].argmax())])
                 for i in range(space.depth) for name in space.arch_choices(i) if name not in pair_names)
    pairs = float(torch.log(joint[a, g])) + float(torch.log(controller.pair_probabilities(1).detach()[
        int(sample[1]["attention"].argmax()), int(sample[1]["aggregation"].argmax())]))
    assert float(controller.log_prob(sample).detach()) == pytest.approx(others + pairs, abs=1e-5)
    best = divmod(int(joint.argmax()), joint.size(1))
    assert (controller.network()[0]["attention"], controller.network()[0]["aggregation"]) == best
