"""The package layout (docs/design.md §2): imports go one way, cli → sweep → search → train →
nn/data → quant/sparse → io → costmodels → hwsim, with no circle, and hwsim never imports torch.

Read from the source (AST), so imports inside functions and under TYPE_CHECKING count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("hwsim", "costmodels", "lpgnas")
# Each unit and its level: a module may import from lower levels and from its own unit only.
LEVELS = {
    "hwsim": 0,
    "costmodels": 1,
    "lpgnas.io": 2,
    "lpgnas.quant": 3, "lpgnas.sparse": 3,
    "lpgnas.nn": 4, "lpgnas.data": 4,
    "lpgnas.train": 5,
    "lpgnas.search": 6,
    "lpgnas.sweep": 7,
    "lpgnas.cli": 8,
}
TORCH = ("torch", "torch_geometric")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(path: Path, name: str) -> set[str]:
    """Every module `path` imports (absolute names; `from a import b` counts b where b is a module)."""
    known = modules()
    out = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known)
    return out


def unit(module: str) -> str | None:
    matches = [u for u in LEVELS if module == u or module.startswith(u + ".")]
    return max(matches, key=len) if matches else None


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for m in imports(path, name) if m in known and m != name} for name, path in known.items()}


def test_every_module_has_a_level():
    assert [name for name in modules() if unit(name) is None and name != "lpgnas"] == []


def test_imports_point_down_only():
    wrong = []
    for name, targets in graph().items():
        source = unit(name)
        for target in targets:
            other = unit(target)
            if other is None or other == source or source is None:
                continue
            if LEVELS[other] >= LEVELS[source]:
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_no_import_circle():
    edges = graph()
    state: dict[str, int] = {}
    circles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                circles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                visit(target, stack + [target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert circles == []


def test_hwsim_imports_no_torch():
    known = modules()
    offenders = [f"{name} imports {m}" for name, path in known.items() if name.startswith("hwsim")
                 for m in imports(path, name) if m.split(".")[0] in TORCH]
    assert offenders == []


def test_numba_kernels_stay_private_to_hwsim():
    """hwsim._kernels is the cycle model's inside; the rest of the project uses hwsim's public modules."""
    offenders = [f"{name} imports hwsim._kernels" for name, targets in graph().items()
                 if not name.startswith("hwsim") and "hwsim._kernels" in targets]
    assert offenders == []


def test_hwsim_exports_what_scripts_use():
    import hwsim

    assert all(getattr(hwsim, name) is not None for name in hwsim.__all__)
    assert {"load_target", "load_arch", "load_graph_file", "simulate", "build_tables"} <= set(hwsim.__all__)
