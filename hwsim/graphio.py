"""Users' own graphs: `.npz` with `edge_index` (and optional `num_nodes`, `x`, `y`), or a
two-column edge-list `.csv` (source, destination; an optional header line)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from hwsim.errors import InputError
from hwsim.graph import Graph


def load_graph_file(path: str | Path) -> tuple[Graph, int | None]:
    """Read a graph file; returns the Graph and the class count when the file has labels `y`.

    Raises:
        InputError: unreadable file, missing or malformed fields (naming file and field).
    """
    path = Path(path)
    source = str(path)
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, zipfile.BadZipFile) as err:
            raise InputError(source, "", f"cannot read npz file: {err}") from None
        if "edge_index" not in arrays:
            raise InputError(source, "edge_index", f"required; the file has {sorted(arrays) or 'no arrays'}")
        edges = arrays["edge_index"]
        if edges.ndim == 2 and edges.shape[1] == 2 and edges.shape[0] != 2:
            edges = edges.T  # accept [E, 2] too
        x = arrays.get("x")
        if x is not None and x.ndim != 2:
            raise InputError(source, "x", f"expected a 2-D feature matrix, got shape {list(x.shape)}")
        num_nodes = int(arrays["num_nodes"]) if "num_nodes" in arrays else None
        if num_nodes is None:
            num_nodes = max(int(edges.max()) + 1 if edges.size else 0, 0 if x is None else x.shape[0])
        classes = int(np.unique(arrays["y"]).size) if "y" in arrays else None
        nnz = None if x is None else np.count_nonzero(x, axis=1)
        width = 1 if x is None else x.shape[1]
        return Graph.from_edge_index(edges, num_nodes, width, nnz, name=path.stem, source=source), classes
    if path.suffix == ".csv":
        edges = _read_edge_csv(path)
        num_nodes = int(edges.max()) + 1 if edges.size else 0
        return Graph.from_edge_index(edges, num_nodes, 1, None, name=path.stem, source=source), None
    raise InputError(source, "", "unknown graph file type; use .npz (edge_index[, num_nodes, x, y]) or .csv")


def _read_edge_csv(path: Path) -> np.ndarray:
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise InputError(str(path), "", f"cannot read file: {err.strerror or err}") from None
    pairs: list[tuple[int, int]] = []
    header_skipped = False
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.replace("\t", ",").split(",")]
        if len(cells) != 2:
            raise InputError(str(path), f"line {number}", f"expected two columns (source, destination), got {line!r}")
        try:
            pairs.append((int(cells[0]), int(cells[1])))
        except ValueError:
            if not pairs and not header_skipped:
                header_skipped = True  # a header line such as "source,target"
                continue
            raise InputError(str(path), f"line {number}", f"node ids must be integers, got {line!r}") from None
    return np.asarray(pairs, dtype=np.int64).T.reshape(2, -1)
