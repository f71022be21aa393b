"""Small graphs made in code for fast tests."""

import torch


def ring_graph(num_nodes: int = 4) -> torch.Tensor:
    """An undirected ring, both directions listed: a 4-node graph that runs in milliseconds."""
    src = torch.arange(num_nodes)
    dst = (src + 1) % num_nodes
    return torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
