import json

import pytest
import torch

from hwsim.network import parse_arch
from lpgnas.cli import main
from lpgnas.data import GraphData
from lpgnas.io.archfile import TrainConfig
from lpgnas.train import train_once


def two_communities(n=40, seed=0) -> GraphData:
    """Two dense communities with class-correlated features: any sane GNN separates them."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    src, dst = torch.randint(0, n, (2, 6 * n), generator=g)
    keep = y[src] == y[dst]
    edge_index = torch.stack([src[keep], dst[keep]])
    x = torch.randn(n, 6, generator=g) * 0.5 + y.unsqueeze(1).float()
    return GraphData("toy", x, y, torch.cat([edge_index, edge_index.flip(0)], 1), 2, None)


ARCH = {"layers": [
    {"attention": "gat", "aggregation": "sum", "activation": "relu", "hidden": 8, "heads": 2,
     "quant": {"weight": "q4", "feature": "q8", "attention": "q8", "message": "q8"}},
    {"attention": "gcn", "aggregation": "mean", "heads": 1,
     "quant": {"weight": "q4", "feature": "q8", "message": "q8"}}]}


def test_quantised_training_learns_a_toy_graph():
    run = train_once(two_communities(), parse_arch(ARCH), TrainConfig(epochs=60, dropout=0.1), "full", seed=0)
    assert run.test_acc >= 0.85 and 1 <= run.best_epoch <= run.epochs_run


def test_training_is_deterministic_per_seed():
    graph, arch, config = two_communities(), parse_arch(ARCH), TrainConfig(epochs=15)
    a, b = (train_once(graph, arch, config, "full", seed=5) for _ in range(2))
    assert a.val_acc == b.val_acc and all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)


class _Stop(Exception):
    """Stands for a kill between two epochs."""


def _stop_at(epoch: int):
    def on_epoch(current: int) -> None:
        if current == epoch:
            raise _Stop

    return on_epoch


def _same(a, b) -> bool:
    return ((a.val_acc, a.test_acc, a.best_epoch, a.epochs_run) == (b.val_acc, b.test_acc, b.best_epoch, b.epochs_run)
            and all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict))


def test_an_interrupted_run_continues_from_its_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr("lpgnas.train.CHECKPOINT_SECONDS", 0.0)  # a checkpoint after every epoch
    graph, arch, config = two_communities(), parse_arch(ARCH), TrainConfig(epochs=40, dropout=0.5)
    whole = train_once(graph, arch, config, "full", seed=3)
    path = tmp_path / "run.ckpt"
    with pytest.raises(_Stop):
        train_once(graph, arch, config, "full", seed=3, on_epoch=_stop_at(17), checkpoint=path)
    assert torch.load(path, weights_only=False)["loop"]["epoch"] == 17
    resumed = train_once(graph, arch, config, "full", seed=3, checkpoint=path)
    assert _same(resumed, whole) and not path.exists()  # the same run, bit for bit; its file removed
    # the checkpoint of another run (here: another seed) is not continued
    with pytest.raises(_Stop):
        train_once(graph, arch, config, "full", seed=3, on_epoch=_stop_at(17), checkpoint=path)
    assert _same(train_once(graph, arch, config, "full", seed=4, checkpoint=path),
                 train_once(graph, arch, config, "full", seed=4))


def test_train_json_on_cora(data_root, capsys):
    code = main(["train", "--arch", "examples/archs/gcn-w4a8.yaml", "--dataset", "cora", "--data-root",
                 str(data_root), "--epochs", "40", "--seeds", "0,1", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"schema_version", "version", "dataset", "split", "seed", "seeds", "arch", "accuracy",
                           "model_size_bytes", "buffer_size_bytes", "timing"}
    assert result["split"] == "public" and result["seeds"] == [0, 1]
    assert 0.6 <= result["accuracy"]["test"]["mean"] <= 1.0
    assert result["model_size_bytes"] < 92252 / 7  # f32 GCN on Cora: 92,252 bytes


def test_train_weight_decay_overrides_the_arch_files(data_root, monkeypatch, capsys):
    import lpgnas.train

    used, real = [], lpgnas.train.train_once

    def spy(graph, arch, config, *args, **kwargs):
        used.append(config.weight_decay)
        return real(graph, arch, config, *args, **kwargs)

    monkeypatch.setattr(lpgnas.train, "train_once", spy)
    for extra in ([], ["--weight-decay", "0"]):
        assert main(["train", "--arch", "examples/archs/gcn.yaml", "--dataset", "cora", "--data-root",
                     str(data_root), "--epochs", "2", *extra, "--json"]) == 0
    assert used == [5e-4, 0.0]  # the file's, then the flag's
    capsys.readouterr()
