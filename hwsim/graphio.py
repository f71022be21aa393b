"""Users' own graphs: `.npz` with `edge_index` (and optional `num_nodes`, `x`, `y`), or a
two-column edge-list `.csv` (source, destination; an optional header line)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from hwsim.errors import InputError
from hwsim.files import read_text, regular_file
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
            with np.load(regular_file(path), allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise InputError(source, "", f"cannot read npz file: {err}") from None
        if "edge_index" not in arrays:
            raise InputError(source, "edge_index", f"required; the file has {sorted(arrays) or 'no arrays'}")
        edges = node_ids(arrays["edge_index"], source, "edge_index")
        if edges.ndim == 2 and edges.shape[1] == 2 and edges.shape[0] != 2:
            edges = edges.T  # accept [E, 2] too
        x = arrays.get("x")
        if x is not None and (x.ndim != 2 or not np.issubdtype(x.dtype, np.number)):
            raise InputError(source, "x", f"expected a numeric 2-D feature matrix, got {x.dtype} {list(x.shape)}")
        if x is not None and not np.all(np.isfinite(x)):
            raise InputError(source, "x", "features must be finite (found NaN or inf)")
        num_nodes = read_num_nodes(arrays["num_nodes"], source) if "num_nodes" in arrays else None
        if num_nodes is None:
            num_nodes = max(int(edges.max()) + 1 if edges.size else 0, 0 if x is None else x.shape[0])
        classes = class_count(arrays["y"], source) if "y" in arrays else None
        nnz = None if x is None else np.count_nonzero(x, axis=1)
        width = 1 if x is None else x.shape[1]
        return Graph.from_edge_index(edges, num_nodes, width, nnz, name=path.stem, source=source), classes
    if path.suffix == ".csv":
        edges = _read_edge_csv(path)
        num_nodes = int(edges.max()) + 1 if edges.size else 0
        return Graph.from_edge_index(edges, num_nodes, 1, None, name=path.stem, source=source), None
    raise InputError(source, "", "unknown graph file type; use .npz (edge_index[, num_nodes, x, y]) or .csv")


# Node ids index arrays of the graph's size: more nodes than this is a typo, not a graph.
MAX_NODES = 2**31 - 1


def node_ids(values: np.ndarray, source: str, field: str) -> np.ndarray:
    """Integer node ids (integer-valued floats accepted), finite, non-negative, below MAX_NODES."""
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
        raise InputError(source, field, f"node ids must be integers, got {values.dtype}")
    if values.size and not np.issubdtype(values.dtype, np.integer):
        if not np.all(np.isfinite(values)) or not np.all(np.equal(np.mod(values, 1), 0)):
            raise InputError(source, field, "node ids must be whole numbers (found a fraction, NaN or inf)")
    if values.size and (values.min() < 0 or values.max() >= MAX_NODES):
        raise InputError(source, field, f"node ids must lie in [0, {MAX_NODES})")
    return values.astype(np.int64)


def read_num_nodes(value: np.ndarray, source: str) -> int:
    """One whole number (a 1-element array or an integer-valued float too), 1 to MAX_NODES."""
    if value.size != 1 or not np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype, np.complexfloating):
        raise InputError(source, "num_nodes", f"expected one integer, got {value.dtype} {list(value.shape)}")
    number = float(value.reshape(()))
    if not (np.isfinite(number) and number == int(number) and 0 < number <= MAX_NODES):
        raise InputError(source, "num_nodes", f"expected a whole number from 1 to {MAX_NODES}, got {number:g}")
    return int(number)


# More classes than this is a typo, not a dataset (the output layer has one column per class).
MAX_CLASSES = 100_000


def class_count(y: np.ndarray, source: str) -> int:
    """The class count of integer labels 0..C-1, one per node: the largest label + 1 (a class
    with no node still has its output)."""
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.number) or not np.all(np.isfinite(y)):
        raise InputError(source, "y", f"expected finite labels, one per node, got {y.dtype} {list(y.shape)}")
    if y.size and (y.min() < 0 or not np.all(np.equal(np.mod(y, 1), 0))):
        raise InputError(source, "y", "labels must be whole numbers from 0 (the class index)")
    if y.size and y.max() >= MAX_CLASSES:
        raise InputError(source, "y", f"labels are class indices below {MAX_CLASSES:,}; found {y.max():g}")
    return int(y.max()) + 1 if y.size else 0


def _read_edge_csv(path: Path) -> np.ndarray:
    lines = read_text(path).splitlines()
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
            pair = (int(cells[0]), int(cells[1]))
            if not all(0 <= v < MAX_NODES for v in pair):
                raise InputError(str(path), f"line {number}", f"node ids must lie in [0, {MAX_NODES}), got {line!r}")
            pairs.append(pair)
        except ValueError:
            if not pairs and not header_skipped:
                header_skipped = True  # a header line such as "source,target"
                continue
            raise InputError(str(path), f"line {number}", f"node ids must be integers, got {line!r}") from None
    edges = np.asarray(pairs, dtype=np.int64).T.reshape(2, -1)
    return node_ids(edges, str(path), "node ids")
