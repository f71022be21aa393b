"""The supernet's per-path L2 term and the search's calibrated path score, on graphs made in code."""

import torch
import torch.nn.functional as F

from lpgnas.search import score_loss
from lpgnas.space import SearchSpace
from lpgnas.supernet import ArchController, SuperNet


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
    net(x, edge_index, sample)
    expected, width = 0.0, 5
    for layer, picks in zip(net.layers, sample):
        choices = space.arch_choices(layer.layer)
        attention = choices["attention"][int(picks["attention"].argmax())]
        heads = choices["heads"][int(picks["heads"].argmax())]
        per_head = layer.per_head_max if layer.last else choices["hidden"][int(picks["hidden"].argmax())]
        expected += float(layer.weight[:width, :heads, :per_head].square().sum())
        expected += float(layer.bias[:heads, :per_head].square().sum())
        for name, vector in layer.attention_vectors.items():
            if name.startswith(attention.replace("-", "_") + "_"):
                expected += float(vector[:, :heads, :per_head].square().sum())
        width = heads * per_head
    assert abs(float(net.path_l2()) - expected) <= 1e-4 * expected
    assert float(net.path_l2()) < sum(float(p.square().sum()) for p in net.parameters())


def test_score_loss_ignores_the_scale_of_the_logits():
    torch.manual_seed(1)
    logits, y = torch.randn(200, 5), torch.randint(0, 5, (200,))
    logits[torch.arange(200), y] += 1.0
    base = float(score_loss(logits, y))
    assert base <= float(F.cross_entropy(logits, y)) + 1e-6  # T = 1 is on the grid
    for scale in (0.25, 4.0):  # the best temperature moves with the scale, up to one grid step
        assert abs(float(score_loss(logits * scale, y)) - base) < 0.01


def test_score_loss_passes_gradients_to_the_logits():
    logits = torch.randn(30, 4, requires_grad=True)
    score_loss(logits, torch.randint(0, 4, (30,))).backward()
    assert logits.grad is not None and float(logits.grad.abs().sum()) > 0
