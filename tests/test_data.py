import pytest
import torch

from hwsim.errors import InputError
from lpgnas.data import dataset_info, full_split, load_dataset, split_masks


def test_full_split_is_stratified_disjoint_and_deterministic():
    y = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    train, val, test = full_split(y, seed=3)
    assert not (train & val).any() and not (train & test).any() and not (val & test).any()
    assert (train | val | test).all()
    for cls, n in [(0, 50), (1, 30), (2, 20)]:
        assert int(train[y == cls].sum()) == round(0.6 * n)
        assert int(val[y == cls].sum()) == round(0.2 * n)
    assert all(torch.equal(a, b) for a, b in zip(full_split(y, 3), (train, val, test)))
    assert not torch.equal(full_split(y, 4)[0], train)


def test_unknown_dataset_names_the_choices():
    with pytest.raises(InputError, match="unknown dataset 'kora'.*cora"):
        dataset_info("kora")
    assert dataset_info("Amazon-Photo").pyg_name == "Photo"


def test_missing_dataset_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LPGNAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LPGNAS_OFFLINE", "1")
    with pytest.raises(InputError, match="ind.cora.x") as info:
        load_dataset("cora", tmp_path / "empty")
    assert str(tmp_path / "empty" / "Cora" / "raw") in info.value.one_line()


def test_cora_loads_from_a_read_only_root_without_writing_there(data_root):
    before = sorted(p.name for p in (data_root / "Cora").iterdir())
    graph = load_dataset("cora", data_root)
    assert (graph.num_nodes, graph.num_features, graph.num_classes) == (2708, 1433, 7)
    assert graph.edge_index.size(1) == 10556
    assert sorted(p.name for p in (data_root / "Cora").iterdir()) == before
    train, val, test = split_masks(graph, "public", 0)
    assert (int(train.sum()), int(val.sum()), int(test.sum())) == (140, 500, 1000)


def test_amazon_has_no_public_split(data_root):
    if not (data_root / "Photo" / "raw").is_dir():
        pytest.skip("Amazon Photo not in the offline data root")
    graph = load_dataset("photo", data_root)
    with pytest.raises(InputError, match="no public split"):
        split_masks(graph, "public", 0)
