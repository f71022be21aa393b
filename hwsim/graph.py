"""The workload graph as the accelerator streams it: CSR by destination, in node order.

Built from an edge list the way the networks see it (duplicates and existing self-loops
removed, one self-loop per node added), so simulated edge counts equal the edges aggregated
in training. Per-row non-zero counts of the input features drive zero-skipping.
"""

from __future__ import annotations

import numpy as np

from hwsim._kernels import lru_miss_curve, static_miss_curve
from hwsim.errors import InputError


class Graph:
    """A graph in CSR-by-destination form, with cached buffer miss curves.

    Attributes:
        indptr: int64 [N+1]; the in-edges of node i are indices[indptr[i]:indptr[i+1]].
        indices: int64 [E]; source node of each edge, grouped by destination, ascending.
        num_features: width of the layer-1 input.
        feature_nnz: int64 [N] non-zeros per feature row, or None when unknown (dense).
    """

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, num_features: int,
                 feature_nnz: np.ndarray | None = None, name: str = "graph") -> None:
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(indices, dtype=np.int64)
        self.num_features = int(num_features)
        self.feature_nnz = None if feature_nnz is None else np.ascontiguousarray(feature_nnz, dtype=np.int64)
        self.name = name
        self._miss_curves: dict[str, np.ndarray] = {}

    @property
    def num_nodes(self) -> int:
        return int(self.indptr.size - 1)

    @property
    def num_edges(self) -> int:
        return int(self.indices.size)

    @property
    def max_in_degree(self) -> int:
        return int(np.diff(self.indptr).max()) if self.num_nodes else 0

    @property
    def feature_nnz_total(self) -> int:
        return int(self.feature_nnz.sum()) if self.feature_nnz is not None else self.num_nodes * self.num_features

    @property
    def feature_nnz_max_row(self) -> int:
        return int(self.feature_nnz.max()) if self.feature_nnz is not None and self.num_nodes else self.num_features

    def miss_curve(self, policy: str) -> np.ndarray:
        """misses[c] for a message buffer of c nodes, c = 0..N (int64 [N+1]); computed once."""
        if policy not in self._miss_curves:
            if policy == "lru":
                self._miss_curves[policy] = lru_miss_curve(self.indices, self.num_nodes)
            elif policy == "degree":
                self._miss_curves[policy] = static_miss_curve(self.indices, self.num_nodes)
            else:
                raise ValueError(f"Could not resolve buffer policy {policy!r} among choices ['lru', 'degree']")
        return self._miss_curves[policy]

    @classmethod
    def from_edge_index(cls, edge_index: np.ndarray, num_nodes: int, num_features: int = 1,
                        feature_nnz: np.ndarray | None = None, add_self_loops: bool = True,
                        name: str = "graph", source: str = "graph") -> Graph:
        """Build from a [2, E] array of (source, destination) pairs.

        Raises:
            InputError: node ids out of range or a malformed array.
        """
        edges = np.asarray(edge_index)
        if edges.ndim != 2 or edges.shape[0] != 2:
            raise InputError(source, "edge_index", f"expected shape [2, E], got {list(edges.shape)}")
        if edges.size and not np.issubdtype(edges.dtype, np.integer):
            if not np.all(np.equal(np.mod(edges, 1), 0)):
                raise InputError(source, "edge_index", "node ids must be integers")
        edges = edges.astype(np.int64, copy=False)
        if num_nodes <= 0:
            raise InputError(source, "num_nodes", f"must be positive, got {num_nodes}")
        if edges.size and (edges.min() < 0 or edges.max() >= num_nodes):
            raise InputError(source, "edge_index", f"node ids must lie in [0, {num_nodes}); "
                             f"found {int(edges.min())}..{int(edges.max())}")
        src, dst = edges
        keep = src != dst
        src, dst = src[keep], dst[keep]
        if add_self_loops:
            loops = np.arange(num_nodes, dtype=np.int64)
            src, dst = np.concatenate([src, loops]), np.concatenate([dst, loops])
        key = np.unique(dst * num_nodes + src)  # sorts by destination, then source; drops duplicates
        dst, src = np.divmod(key, num_nodes)
        indptr = np.zeros(num_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(dst, minlength=num_nodes), out=indptr[1:])
        if feature_nnz is not None and len(feature_nnz) != num_nodes:
            raise InputError(source, "x", f"feature rows ({len(feature_nnz)}) differ from num_nodes ({num_nodes})")
        return cls(indptr, src, num_features, feature_nnz, name)
