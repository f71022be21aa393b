"""Score every (attention, aggregation) pair of one layer on a search's trained supernet.

Why: the architecture logits of attention and aggregation are learnt as independent choices,
so a pair that is good only together (`const` with `mean`, GraphSAGE's averaging) is credited
through paths that draw other partners. This probe holds the derived network fixed and swaps
one layer's pair through every candidate, scoring each path on the search's own validation
split with the search's calibrated loss (what it showed: docs/search-tuning.md, "One choice for
attention and aggregation").
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from hwsim.errors import InputError
from lpgnas.data import split_masks
from lpgnas.nn.model import as_input, with_self_loops
from lpgnas.search.config import run_config
from lpgnas.search.loop import load_checkpoint, new_state
from lpgnas.search.loss import score_loss
from lpgnas.search.problem import prepare


def pair_scores(run_dir: str | Path, layer: int = 0) -> dict[tuple[str, str], tuple[float, float]]:
    """{(attention, aggregation): (validation score loss, validation accuracy)} for `layer`
    (0-based) of the supernet in RUN_DIR/checkpoint.pt, the other choices at their argmax."""
    run_dir = Path(run_dir)
    config = run_config(run_dir)
    if not (run_dir / "checkpoint.pt").is_file():
        raise InputError(str(run_dir), "checkpoint.pt", "the search has no checkpoint")
    problem = prepare(config)
    if not 0 <= layer < problem.space.depth:
        raise InputError("--layer", "", f"must be 1..{problem.space.depth}")
    state = new_state(problem)
    load_checkpoint(state, run_dir / "checkpoint.pt")
    graph, space = problem.graph, problem.space
    _, val_mask, _ = split_masks(graph, problem.split, problem.config.seed)
    x, edge_index = as_input(graph.x), with_self_loops(graph.edge_index, graph.num_nodes)
    network = state.controller.network()
    choices = space.arch_choices(layer)
    scores = {}
    state.supernet.eval()
    for a, attention in enumerate(choices["attention"]):
        for g, aggregation in enumerate(choices["aggregation"]):
            picks = [dict(p) for p in network]
            picks[layer].update(attention=a, aggregation=g)
            sample = [{name: F.one_hot(torch.tensor(k), len(space.choices(i)[name])).float()
                       for name, k in p.items()} for i, p in enumerate(picks)]
            with torch.no_grad():
                logits = state.supernet(x, edge_index, sample)[0][val_mask]
            accuracy = float((logits.argmax(-1) == graph.y[val_mask]).float().mean())
            scores[(attention, aggregation)] = (float(score_loss(logits, graph.y[val_mask])), accuracy)
    return scores
