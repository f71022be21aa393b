"""Datasets through torch_geometric's loaders, a never-written-to data root, and the splits.

Data root: `--data-root`, else `$LPGNAS_DATA`, else the user cache. torch_geometric writes
`processed/` beside `raw/`, so the raw files are first copied into the user cache
(`$LPGNAS_CACHE`, else `$XDG_CACHE_HOME/lpgnas`, else `~/.cache/lpgnas`) and loaded there:
the data root itself is only ever read.

torch and torch_geometric are imported where a graph is loaded, not on import: `simulate` and
`targets` read a dataset's hardware graph from its cache (`load_hw_graph`) without them.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import shutil
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hwsim.errors import InputError
from hwsim.files import regular_file
from lpgnas.io.runfiles import write_atomic

if TYPE_CHECKING:
    from torch import Tensor

    from hwsim.graph import Graph

# The L2 weight decay of the GCN and GAT papers (Kipf & Welling 2017, Veličković et al. 2018),
# tuned on the Planetoid citation graphs.
KIPF_WEIGHT_DECAY = 5e-4


@dataclass(frozen=True)
class DatasetInfo:
    """Where torch_geometric finds a dataset, which splits it has, and the weight decay its
    networks train with."""

    name: str
    family: str  # planetoid | amazon | coauthor
    pyg_name: str  # the name passed to the loader; also the folder under the root
    raw_files: tuple[str, ...]
    # The L2 weight decay of every network trained on this dataset: the searches' path L2 and
    # retraining, and the study's and sweeps' manual baselines. Kipf's 5e-4, tuned on Planetoid,
    # underfits the Amazon and Coauthor graphs: with it the GCN baseline reached 81.6 % on Photo's
    # full split (literature: ~91 % with far fewer labels, Shchur et al. 2018, "Pitfalls of Graph
    # Neural Network Evaluation"). The values below were picked by the GCN baseline's validation
    # accuracy (full split, seed 0) among 5e-4, 5e-5 and 0, and 0 won on all four: Photo 81.3 /
    # 90.7 / 93.0 %, Computers 66.1 / 79.7 / 84.9, CS 86.9 / 93.4 / 93.7, Physics 95.4 / 96.5 /
    # 97.0 (docs/search-tuning.md, "Weight decay per dataset").
    weight_decay: float = KIPF_WEIGHT_DECAY
    has_masks: bool = False  # a user's graph file with train/val/test masks (family "file")

    @property
    def splits(self) -> tuple[str, ...]:
        return ("public", "full") if self.family == "planetoid" or self.has_masks else ("full",)

    @property
    def default_split(self) -> str:
        return self.splits[0]


def _planetoid(pyg_name: str) -> DatasetInfo:
    stem = f"ind.{pyg_name.lower()}"
    files = tuple(f"{stem}.{ext}" for ext in ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index"))
    return DatasetInfo(pyg_name.lower(), "planetoid", pyg_name, files)


DATASETS: dict[str, DatasetInfo] = {
    "cora": _planetoid("Cora"),
    "citeseer": _planetoid("CiteSeer"),
    "pubmed": _planetoid("PubMed"),
    "computers": DatasetInfo("computers", "amazon", "Computers", ("amazon_electronics_computers.npz",),
                             weight_decay=0.0),
    "photo": DatasetInfo("photo", "amazon", "Photo", ("amazon_electronics_photo.npz",), weight_decay=0.0),
    "cs": DatasetInfo("cs", "coauthor", "CS", ("ms_academic_cs.npz",), weight_decay=0.0),
    "physics": DatasetInfo("physics", "coauthor", "Physics", ("ms_academic_phy.npz",), weight_decay=0.0),
}
_ALIASES = {"amazon-computers": "computers", "amazon-photo": "photo", "coauthor-cs": "cs",
            "coauthor-physics": "physics"}


def is_graph_file(dataset: str | os.PathLike) -> bool:
    """A user's graph file rather than a dataset name."""
    return Path(dataset).suffix in (".npz", ".csv")


def dataset_info(name: str, source: str = "argument --dataset") -> DatasetInfo:
    """The registry entry for a dataset name (case-insensitive; aliases accepted), or the
    description of a user's `.npz` graph (its own masks give it the `public` split)."""
    if is_graph_file(name):
        return DatasetInfo(Path(name).stem, "file", str(name), (), has_masks=set(MASKS) <= _npz_names(name))
    key = name.lower()
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise InputError(source, "", f"unknown dataset {name!r}; choices: {', '.join(DATASETS)}")
    return DATASETS[key]


@dataclass
class GraphData:
    """A node-classification graph. `edge_index` has no self-loops; `x` is row-normalised."""

    name: str
    x: Tensor
    y: Tensor
    edge_index: Tensor
    num_classes: int
    public_masks: tuple[Tensor, Tensor, Tensor] | None  # Planetoid's train/val/test

    @property
    def num_nodes(self) -> int:
        return int(self.x.size(0))

    @property
    def num_features(self) -> int:
        return int(self.x.size(1))

    def to_hw(self) -> Graph:
        """The graph as hwsim streams it (self-loops added, feature non-zeros per row counted)."""
        import torch

        from hwsim.graph import Graph

        nnz = torch.count_nonzero(self.x, dim=1).numpy()
        return Graph.from_edge_index(self.edge_index.numpy(), self.num_nodes, self.num_features, nnz, name=self.name)


def cache_dir() -> Path:
    """The writable cache for datasets (and processed files)."""
    if os.environ.get("LPGNAS_CACHE"):
        return Path(os.environ["LPGNAS_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lpgnas"


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """`--data-root`, else `$LPGNAS_DATA`, else the cache's datasets folder."""
    if explicit:
        return Path(explicit)
    if os.environ.get("LPGNAS_DATA"):
        return Path(os.environ["LPGNAS_DATA"])
    return cache_dir() / "datasets"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock so parallel sweep workers do not process the same dataset at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _copy_raw(src: Path, dst: Path, files: tuple[str, ...]) -> None:
    """Copy raw files that are missing or differ in size, each through a temporary name."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in files:
        target = dst / name
        if target.exists() and target.stat().st_size == (src / name).stat().st_size:
            continue
        tmp = dst / f".{name}.tmp{os.getpid()}"
        shutil.copyfile(src / name, tmp)
        os.replace(tmp, target)


def _instantiate(info: DatasetInfo, root: Path):
    from torch_geometric.datasets import Amazon, Coauthor, Planetoid

    loader = {"planetoid": Planetoid, "amazon": Amazon, "coauthor": Coauthor}[info.family]
    return loader(str(root), info.pyg_name)


def load_dataset(name: str, root: str | os.PathLike | None = None) -> GraphData:
    """Load a dataset by name (reading the data root and writing only to the cache), or a
    user's `.npz` graph file (load_graph_npz).

    Raises:
        InputError: unknown name, or files missing where no download is possible.
    """
    if is_graph_file(name):
        return load_graph_npz(name)
    info = dataset_info(name)
    source_root = data_root(root)
    cache_root = cache_dir() / "datasets"
    src_raw = source_root / info.pyg_name / "raw"
    cache_raw = cache_root / info.pyg_name / "raw"
    with _locked(cache_root / f".{info.name}.lock"):
        if src_raw.resolve() != cache_raw.resolve() and all((src_raw / f).is_file() for f in info.raw_files):
            _copy_raw(src_raw, cache_raw, info.raw_files)
        have_raw = all((cache_raw / f).is_file() for f in info.raw_files)
        if not have_raw and os.environ.get("LPGNAS_OFFLINE"):
            raise _missing(info, src_raw)
        processed = cache_root / info.pyg_name / "processed"
        for attempt in range(2):
            try:
                dataset = _instantiate(info, cache_root)
                break
            except InputError:
                raise
            except Exception as err:  # the loader's download failed (offline) or the files are bad
                if not have_raw:
                    raise _missing(info, src_raw) from None
                if attempt == 0 and processed.exists():
                    # a run killed while torch_geometric wrote processed/ leaves it truncated:
                    # it is only derived from the raw files, so it is rebuilt once from them
                    print(f"lpgnas-hw: {processed} is damaged ({type(err).__name__}); rebuilding it from the "
                          "raw files", file=sys.stderr)
                    shutil.rmtree(processed, ignore_errors=True)
                    continue
                raise InputError(str(cache_raw), "", f"could not read dataset {info.name!r} "
                                 f"({type(err).__name__}: {str(err)[:160]})") from None
    data = dataset[0]
    x = data.x.float()
    x = x / x.sum(dim=1, keepdim=True).clamp(min=1e-12)  # row-normalise, as the GCN/GAT papers do
    masks = None
    if info.family == "planetoid":
        masks = (data.train_mask, data.val_mask, data.test_mask)
    return GraphData(info.name, x, data.y, data.edge_index, int(dataset.num_classes), masks)


def _missing(info: DatasetInfo, folder: Path) -> InputError:
    expected = ", ".join(info.raw_files)
    return InputError(str(folder), "", f"dataset {info.name!r} not found and could not be downloaded; "
                      f"expected files: {expected} (set --data-root or LPGNAS_DATA)")


def full_split(labels: Tensor, seed: int, fractions: tuple[float, float] = (0.6, 0.2)) -> tuple[Tensor, ...]:
    """Stratified random train/val/test masks (60/20/20 by default), deterministic per seed."""
    import torch

    rng = np.random.default_rng(seed)
    y = labels.numpy()
    n = y.shape[0]
    masks = [np.zeros(n, dtype=bool) for _ in range(3)]
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n_train = int(round(fractions[0] * idx.size))
        n_val = int(round(fractions[1] * idx.size))
        masks[0][idx[:n_train]] = True
        masks[1][idx[n_train:n_train + n_val]] = True
        masks[2][idx[n_train + n_val:]] = True
    return tuple(torch.from_numpy(m) for m in masks)


def resolve_split(dataset: str, split: str | None) -> str:
    """The split to use: the given one if the dataset has it, else the dataset's default."""
    info = dataset_info(dataset)
    if split is None:
        return info.default_split
    if split not in info.splits:
        raise InputError("argument --split", "", f"dataset {info.name!r} has no {split!r} split; "
                         f"choices: {', '.join(info.splits)}")
    return split


def split_masks(graph: GraphData, split: str, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """Train/val/test masks of a split: `public` (Planetoid's) or `full` (60/20/20 per seed)."""
    if split == "public":
        if graph.public_masks is None:
            raise InputError("argument --split", "", f"dataset {graph.name!r} has no public split; use 'full'")
        return graph.public_masks
    if split == "full":
        masks = full_split(graph.y, seed)
        for name, mask in zip(("training", "validation", "test"), masks):
            if not bool(mask.any()):
                raise InputError(graph.name, "y", f"too few nodes per class for a 60/20/20 split: the {name} set is "
                                 "empty (give train_mask, val_mask and test_mask in the file)")
        return masks
    raise InputError("argument --split", "", f"unknown split {split!r}; choices: public, full")


# The hardware graph of a dataset, cached beside its raw files so that `simulate` on a dataset
# name needs neither torch nor torch_geometric after the first run (8 of its 10-12 s on Cora were
# their import). The fingerprint of the raw files (names, sizes, modification times) is stored
# inside; a changed raw file, or a cache from another format version, is rebuilt.
HW_GRAPH_FORMAT = 1


def _raw_fingerprint(info: DatasetInfo, raw: Path) -> str:
    parts = [f"v{HW_GRAPH_FORMAT}"]
    for name in info.raw_files:
        stat = (raw / name).stat()
        parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def _same_size(source: Path, cached: Path) -> bool:
    """False where the data root holds a different file than the cache (load_dataset copies it)."""
    return not source.is_file() or source.stat().st_size == cached.stat().st_size


def load_hw_graph(name: str, root: str | os.PathLike | None = None) -> tuple[Graph, int]:
    """A dataset as hwsim streams it, and its class count, from the cache when it is current."""
    from hwsim.graph import Graph  # numba's import, only where a graph is built

    info = dataset_info(name)
    cache_raw = cache_dir() / "datasets" / info.pyg_name / "raw"
    cached = cache_raw.parent / "hwgraph.npz"
    source_raw = data_root(root) / info.pyg_name / "raw"
    if cached.is_file() and all((cache_raw / f).is_file() and _same_size(source_raw / f, cache_raw / f)
                                for f in info.raw_files):
        fingerprint = _raw_fingerprint(info, cache_raw)
        try:
            with np.load(cached, allow_pickle=False) as data:
                if str(data["fingerprint"]) == fingerprint:
                    graph = Graph(data["indptr"], data["indices"], int(data["num_features"]), data["feature_nnz"],
                                  name=info.name)
                    return graph, int(data["num_classes"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # a damaged or foreign cache file: rebuilt below
    data = load_dataset(name, root)
    graph = data.to_hw()
    fingerprint = _raw_fingerprint(info, cache_raw)
    buffer = io.BytesIO()
    np.savez(buffer, fingerprint=np.array(fingerprint), indptr=graph.indptr, indices=graph.indices,
             num_features=graph.num_features, feature_nnz=graph.feature_nnz, num_classes=data.num_classes)
    try:
        write_atomic(cached, buffer.getvalue())
    except OSError:
        pass  # a read-only cache only costs the next run the slow path
    return graph, data.num_classes


# A user's graph for training and search: `.npz` with `x` [N, F] features, `y` [N] labels,
# `edge_index` ([2, E] or [E, 2], source then destination) and optionally the three masks, which
# become the `public` split; without them (or with `--split full`) a stratified 60/20/20 split is
# drawn per seed. Features are scaled to unit L1 norm per row, as the built-in datasets are.
MASKS = ("train_mask", "val_mask", "test_mask")


def _npz_names(path: str | os.PathLike) -> set[str]:
    _require_npz(path)
    try:
        with np.load(regular_file(path), allow_pickle=False) as data:
            return set(data.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise InputError(str(path), "", f"cannot read npz file: {err}") from None


def _require_npz(path: str | os.PathLike) -> None:
    if Path(path).suffix != ".npz":
        raise InputError(str(path), "", "an edge list holds no features or labels; training and search take an "
                         ".npz with x, y and edge_index")


def load_graph_npz(path: str | os.PathLike) -> GraphData:
    """A user's node-classification graph, validated field by field (InputError names the field)."""
    import torch

    from hwsim.graphio import class_count, node_ids, read_num_nodes

    source = str(path)
    _require_npz(path)
    try:
        with np.load(regular_file(path), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise InputError(source, "", f"cannot read npz file: {err}") from None
    for name in ("x", "y", "edge_index"):
        if name not in arrays:
            raise InputError(source, name, f"required for training; the file has {sorted(arrays) or 'no arrays'}")
    x, y = arrays["x"], arrays["y"]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0 or not np.issubdtype(x.dtype, np.number):
        raise InputError(source, "x", f"expected a numeric [nodes, features] matrix, got {x.dtype} {list(x.shape)}")
    if not np.all(np.isfinite(x)):
        raise InputError(source, "x", "features must be finite (found NaN or inf)")
    num_nodes = x.shape[0]
    # the same rules as `simulate` reads the file with (hwsim.graphio)
    classes = class_count(y, source)
    if y.shape != (num_nodes,):
        raise InputError(source, "y", f"expected {num_nodes} labels (one per row of x), got {list(y.shape)}")
    if "num_nodes" in arrays and read_num_nodes(arrays["num_nodes"], source) != num_nodes:
        raise InputError(source, "num_nodes", f"differs from the {num_nodes} rows of x")
    edges = node_ids(arrays["edge_index"], source, "edge_index")
    if edges.ndim == 2 and edges.shape[1] == 2 and edges.shape[0] != 2:
        edges = edges.T  # accept [E, 2] too
    if edges.ndim != 2 or edges.shape[0] != 2:
        raise InputError(source, "edge_index", f"expected node ids of shape [2, E], got {list(edges.shape)}")
    if edges.size and edges.max() >= num_nodes:
        raise InputError(source, "edge_index", f"node ids must lie in [0, {num_nodes})")
    masks = None
    present = [m for m in MASKS if m in arrays]
    if present:
        if len(present) != len(MASKS):
            raise InputError(source, next(m for m in MASKS if m not in arrays), "give all three masks or none")
        masks = []
        for name in MASKS:
            mask = arrays[name]
            if mask.shape != (num_nodes,) or mask.dtype != np.bool_ or not mask.any():
                raise InputError(source, name, f"expected {num_nodes} booleans with at least one True")
            masks.append(torch.from_numpy(mask.copy()))
        masks = tuple(masks)
    edges = edges[:, edges[0] != edges[1]]  # self-loops are the model's to add
    rows = np.asarray(x, dtype=np.float64)  # summed in float64: float32 rows of 3e38 would overflow
    rows = rows / np.maximum(np.abs(rows).sum(axis=1, keepdims=True), 1e-12)
    features = torch.from_numpy(rows.astype(np.float32))
    return GraphData(Path(path).stem, features, torch.from_numpy(y.astype(np.int64)), torch.from_numpy(edges),
                     classes, masks)
