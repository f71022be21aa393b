"""hwsim: a cycle and memory model of a low-precision GNN accelerator (docs/design.md §5).

What a what-if script needs, without torch::

    import hwsim
    target = hwsim.load_target("zcu102")              # a preset name or a YAML file
    graph, classes = hwsim.load_graph_file("g.npz")   # or lpgnas.data.load_hw_graph("cora")
    arch = hwsim.load_arch("examples/archs/gat-w4a8.yaml")
    report = hwsim.simulate(graph, arch, target, classes)
    print(report.latency_ms, report.to_dict()["per_layer"])

`build_tables` gives the per-layer cost tables over a search space's choices (what the search's
expected cost contracts). The numba kernels live in `hwsim._kernels`, private to this package.
Names are imported on first use, so `import hwsim` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "InputError": "hwsim.errors",
    "Target": "hwsim.target", "load_target": "hwsim.target", "parse_target": "hwsim.target",
    "preset_names": "hwsim.target",
    "Graph": "hwsim.graph", "load_graph_file": "hwsim.graphio",
    "ArchSpec": "hwsim.network", "parse_arch": "hwsim.network", "load_arch": "hwsim.network",
    "simulate": "hwsim.simulate", "Report": "hwsim.simulate",
    "build_tables": "hwsim.tables", "LayerTables": "hwsim.tables", "CostTable": "hwsim.tables",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'hwsim' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
