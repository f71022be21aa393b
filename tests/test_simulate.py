"""`lpgnas-hw simulate` and `targets` end to end, on Cora and on users' own graph files."""

import json

import numpy as np
import pytest

from lpgnas.cli import main

GAT = "examples/archs/gat-w4a8.yaml"


def run_json(capsys, *argv):
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_simulate_cora_json(data_root, capsys):
    result = run_json(capsys, "simulate", "--target", "zcu102", "--arch", GAT, "--dataset", "cora",
                      "--data-root", str(data_root))
    assert {"schema_version", "target", "dataset", "hw"} <= set(result)
    hw = result["hw"]
    assert {"cycles", "latency_ms", "dram_bytes", "peak_buffer_bytes", "macs", "edges", "per_layer"} <= set(hw)
    assert hw["edges"] == 2 * (10556 + 2708)  # two layers, self-loops included
    layer = hw["per_layer"][0]
    assert {"cycles", "latency_ms", "dram_bytes", "buffer_bytes", "macs", "edges", "hit_rate",
            "combination", "aggregation"} <= set(layer)
    assert layer["combination"]["macs"] < 2708 * 1433 * 64  # zero-skipping the 1.3 %-dense features
    assert hw["latency_ms"] == pytest.approx(sum(p["latency_ms"] for p in hw["per_layer"]))


def test_simulate_npz_and_csv_graphs(tmp_path, capsys):
    rng = np.random.default_rng(0)
    edges = rng.integers(0, 50, size=(2, 200))
    x = (rng.random((50, 12)) < 0.2).astype(np.float32)
    np.savez(tmp_path / "g.npz", edge_index=edges, x=x, y=rng.integers(0, 4, 50))
    (tmp_path / "g.csv").write_text("source,target\n" + "\n".join(f"{s},{d}" for s, d in edges.T))
    from_npz = run_json(capsys, "simulate", "--target", "zcu104", "--arch", GAT, "--dataset", str(tmp_path / "g.npz"))
    from_csv = run_json(capsys, "simulate", "--target", "zcu104", "--arch", GAT, "--dataset",
                        str(tmp_path / "g.csv"), "--num-classes", "4")
    assert from_npz["hw"]["edges"] == from_csv["hw"]["edges"]
    assert from_npz["hw"]["per_layer"][1]["aggregation"]["dram_bytes"] == \
        from_csv["hw"]["per_layer"][1]["aggregation"]["dram_bytes"]


@pytest.mark.parametrize("content,field", [("1,2\n3\n", "line 2"), ("a,b\n1,x\n", "line 2")])
def test_bad_csv_graph(tmp_path, capsys, content, field):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["simulate", "--target", "zcu102", "--arch", GAT, "--dataset", str(path), "--num-classes", "2"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and field in err and err.count("\n") == 1


def test_npz_without_edges_or_labels(tmp_path, capsys):
    np.savez(tmp_path / "none.npz", x=np.zeros((3, 2)))
    assert main(["simulate", "--target", "zcu102", "--arch", GAT, "--dataset", str(tmp_path / "none.npz")]) == 2
    assert "edge_index" in capsys.readouterr().err
    np.savez(tmp_path / "nolabels.npz", edge_index=np.array([[0, 1], [1, 0]]))
    assert main(["simulate", "--target", "zcu102", "--arch", GAT, "--dataset", str(tmp_path / "nolabels.npz")]) == 2
    assert "--num-classes" in capsys.readouterr().err


def test_targets_lists_presets(capsys):
    names = [t["name"] for t in run_json(capsys, "targets")["targets"]]
    assert names == ["u250", "u280", "zcu102", "zcu104"]


def test_the_onchip_account_by_hand():
    """A 4-node ring, one 8-bit GCN layer of 2 units over 3 features, on a target of 1 KiB."""
    import numpy as np
    from hw_strategies import target_dict

    from hwsim.graph import Graph
    from hwsim.network import parse_arch
    from hwsim.simulate import simulate
    from hwsim.target import parse_target

    ring = np.arange(4)
    graph = Graph.from_edge_index(np.stack([ring, (ring + 1) % 4]), 4, 3)  # dense features, self-loops added
    arch = parse_arch({"layers": [{"attention": "gat", "aggregation": "sum", "heads": 1,
                                   "quant": {"weight": "q8", "feature": "q8", "message": "q8", "attention": "q4"}}]})
    target = parse_target(target_dict(bram_kib=1.0))
    layer = simulate(graph, arch, target, 2).layers[0].onchip
    assert layer.need == {"weights": (3 + 2) * 2, "features": 4 * 3, "messages": 4 * 2, "attention": 4,
                          "outputs": 4 * 2 * 4}  # 8 edges x 1 head x 4 bits; outputs at 32 bits
    assert layer.by_partition == {"weight": 10, "feature": 12, "message": 12, "output": 32}
    assert layer.capacity == {"weight": 204, "feature": 204, "message": 512, "output": 102} and layer.spills == []
    tiny = simulate(graph, arch, parse_target(target_dict(bram_kib=0.05)), 2)
    assert "output" in tiny.layers[0].onchip.spills and tiny.to_dict()["fits_onchip"] is False
