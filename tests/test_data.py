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


def write_graph(path, graph, masks: bool = True) -> None:
    """A GraphData as a user's .npz: features, labels, edges (and its public masks)."""
    import numpy as np

    arrays = {"x": graph.x.numpy(), "y": graph.y.numpy(), "edge_index": graph.edge_index.numpy()}
    if masks and graph.public_masks is not None:
        arrays.update(zip(("train_mask", "val_mask", "test_mask"), (m.numpy() for m in graph.public_masks)))
    np.savez(path, **arrays)


def two_communities(path, nodes: int = 60, seed: int = 0) -> None:
    """A small graph made in code: two classes, edges mostly within a class, features near the label."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.arange(nodes) % 2
    src, dst = rng.integers(0, nodes, (2, 8 * nodes))
    keep = (y[src] == y[dst]) | (rng.random(src.size) < 0.1)
    x = rng.random((nodes, 12)) + np.eye(2)[y].repeat(6, axis=1)
    np.savez(path, x=x, y=y, edge_index=np.stack([src[keep], dst[keep]]))


def test_a_graph_file_of_coras_arrays_trains_to_coras_accuracy(cora, tmp_path, capsys):
    import json

    from lpgnas.cli import main

    path = tmp_path / "my-cora.npz"
    write_graph(path, cora)
    results = []
    for dataset in ("cora", str(path)):
        assert main(["train", "--arch", "gcn", "--dataset", dataset, "--epochs", "30", "--seeds", "0",
                     "--json"]) == 0
        results.append(json.loads(capsys.readouterr().out))
    named, own = results
    assert own["split"] == "public" and own["dataset"] == "my-cora"
    assert own["accuracy"]["test"]["mean"] == pytest.approx(named["accuracy"]["test"]["mean"], abs=0.005)
    assert own["model_size_bytes"] == named["model_size_bytes"]


def test_a_small_graph_file_searches_on_a_split_drawn_per_seed(tmp_path, capsys):
    import json

    from lpgnas.cli import main

    path = tmp_path / "communities.npz"
    two_communities(path)
    assert dataset_info(str(path)).splits == ("full",)
    assert main(["search", "--target", "zcu102", "--dataset", str(path), "--epochs", "3", "--retrain-epochs", "20",
                 "--out", str(tmp_path / "run"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["split"] == "full" and result["dataset"] == "communities" and result["hw"]["latency_ms"] > 0
    assert 0.5 < result["accuracy"]["test"]["mean"] <= 1  # two separable classes


@pytest.mark.parametrize("change, field", [
    ({"x": None}, "x"), ({"y": None}, "y"), ({"edge_index": None}, "edge_index"),
    ({"x": "nan"}, "x"), ({"y": "float"}, "y"), ({"y": "short"}, "y"), ({"edge_index": "out"}, "edge_index"),
    ({"edge_index": "float"}, "edge_index"), ({"train_mask": "only"}, "val_mask"),
    ({"train_mask": "none"}, "train_mask"),
])
def test_bad_graph_files_are_one_line_errors(change, field, tmp_path, capsys):
    import numpy as np

    from lpgnas.cli import main

    path = tmp_path / "g.npz"
    two_communities(path, nodes=10)
    arrays = dict(np.load(path))
    (name, how), = change.items()
    if how is None:
        del arrays[name]
    elif how == "nan":
        arrays["x"][0, 0] = np.nan
    elif how == "float":
        arrays[name] = arrays[name].astype(float) + 0.5
    elif how == "short":
        arrays["y"] = arrays["y"][:-1]
    elif how == "out":
        arrays["edge_index"][0, 0] = 10
    elif how == "only":
        arrays["train_mask"] = np.ones(10, dtype=bool)
    elif how == "none":
        arrays.update(train_mask=np.zeros(10, dtype=bool), val_mask=np.ones(10, dtype=bool),
                      test_mask=np.ones(10, dtype=bool))
    np.savez(path, **arrays)
    assert main(["train", "--arch", "gcn", "--dataset", str(path), "--epochs", "1"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and str(path) in err[0] and field in err[0] and "Traceback" not in err[0]


def test_an_edge_list_cannot_train(tmp_path, capsys):
    from lpgnas.cli import main

    path = tmp_path / "edges.csv"
    path.write_text("0,1\n1,2\n")
    assert main(["train", "--arch", "gcn", "--dataset", str(path)]) == 2
    assert ".npz with x, y and edge_index" in capsys.readouterr().err


def test_a_truncated_processed_file_is_rebuilt_from_the_raw_files(data_root, tmp_path, monkeypatch, capsys):
    """A kill while torch_geometric writes processed/ must not poison the cache for good."""
    monkeypatch.setenv("LPGNAS_CACHE", str(tmp_path / "cache"))
    first = load_dataset("cora", data_root)
    processed = next((tmp_path / "cache" / "datasets" / "Cora" / "processed").glob("data*.pt"))
    processed.write_bytes(processed.read_bytes()[:1000])
    again = load_dataset("cora", data_root)
    assert torch.equal(again.x, first.x) and torch.equal(again.edge_index, first.edge_index)
    assert "rebuilding" in capsys.readouterr().err


def test_simulate_and_search_count_the_classes_of_a_graph_file_alike(tmp_path):
    """Labels with a gap (0 and 2): three outputs, however the file is read."""
    import numpy as np

    from hwsim.graphio import load_graph_file
    from lpgnas.data import load_graph_npz

    path = tmp_path / "gap.npz"
    ring = np.arange(10)
    np.savez(path, edge_index=np.stack([ring, (ring + 1) % 10]), x=np.eye(10, 4), y=(ring % 2) * 2)
    assert load_graph_file(path)[1] == load_graph_npz(path).num_classes == 3


def test_a_damaged_hardware_graph_cache_is_rebuilt(data_root, tmp_path, monkeypatch):
    from lpgnas.data import load_hw_graph

    monkeypatch.setenv("LPGNAS_CACHE", str(tmp_path / "cache"))
    graph, classes = load_hw_graph("cora", data_root)
    cached = tmp_path / "cache" / "datasets" / "Cora" / "hwgraph.npz"
    cached.write_bytes(cached.read_bytes()[:100])
    again, classes_again = load_hw_graph("cora", data_root)
    assert classes_again == classes and (again.indptr == graph.indptr).all() and cached.stat().st_size > 100


def test_graph_files_at_the_edges_train_or_say_why(tmp_path, capsys):
    """All-zero (or enormous) features are a valid, if useless, graph; a graph too small for a
    60/20/20 split says so."""
    import numpy as np

    from lpgnas.cli import main

    ring = np.arange(12)
    for name, x in (("zeros", np.zeros((12, 6))), ("huge", np.full((12, 6), 3e38, dtype=np.float32))):
        path = tmp_path / f"{name}.npz"
        np.savez(path, edge_index=np.stack([ring, (ring + 1) % 12]), x=x, y=ring % 2)
        assert main(["train", "--arch", "gcn-w4a8", "--dataset", str(path), "--epochs", "2", "--json"]) == 0
        capsys.readouterr()
    tiny = tmp_path / "tiny.npz"
    np.savez(tiny, edge_index=np.array([[0, 1, 2], [1, 2, 3]]), x=np.eye(4), y=np.array([0, 1, 0, 1]))
    assert main(["train", "--arch", "gcn", "--dataset", str(tiny), "--epochs", "2"]) == 2
    assert "too few nodes per class" in capsys.readouterr().err


def test_a_run_on_a_graph_file_resumes_from_another_folder(tmp_path, monkeypatch, capsys):
    import numpy as np

    from lpgnas.cli import main

    ring = np.arange(30)
    np.savez(tmp_path / "g.npz", edge_index=np.stack([ring, (ring + 1) % 30]), x=np.eye(30, 5), y=ring % 2)
    monkeypatch.chdir(tmp_path)
    assert main(["search", "--target", "zcu102", "--dataset", "g.npz", "--epochs", "2", "--retrain-epochs", "2",
                 "--out", "run"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["search", "--resume", str(tmp_path / "run"), "--json"]) == 0
