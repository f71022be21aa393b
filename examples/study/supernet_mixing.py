"""Train a search's supernet with the search's weight step, drawing only the named choices per step.

Usage: python examples/study/supernet_mixing.py DATASET [--vary attention,aggregation,...]
       [--path gcn,sum,relu,64,1] [--epochs 150] [--lr 0.005] [--binary-features] [--seed 0]

Every layer starts from the fixed path (attention, aggregation, activation, hidden units, heads;
the last layer takes attention, aggregation and heads from it); at each step the choices named in
--vary are drawn uniformly in every layer, as the search's warm-up draws them (its architecture
logits are still zero then), all at f32. Prints, per 10 epochs, the drawn paths' mean training
accuracy and the fixed path's validation accuracy at the window's end.
Why: on Amazon Computers the study's searches sat near the majority class for most of their
200 epochs (README); this tells a path that cannot learn the graph from paths that stall each
other through the weights they share. --binary-features trains on x > 0 instead of the
row-normalised features (the raw bag-of-words of the Amazon and Coauthor graphs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace

import torch
import torch.nn.functional as F

from hwsim.errors import InputError
from lpgnas.data import dataset_info, load_dataset, resolve_split, split_masks
from lpgnas.nn.model import as_input, with_self_loops
from lpgnas.search.hparams import SearchHyperParams
from lpgnas.search.space import SearchSpace
from lpgnas.search.supernet import SuperNet
from lpgnas.train import accuracy, seed_everything

PATH_FIELDS = ("attention", "aggregation", "activation", "hidden", "heads")
WINDOW = 10


def parse_path(text: str, space: SearchSpace) -> dict:
    """{choice: candidate} of a comma-separated path, each checked against the search space."""
    values = text.split(",")
    if len(values) != len(PATH_FIELDS):
        raise InputError("argument --path", "", f"needs {len(PATH_FIELDS)} values ({','.join(PATH_FIELDS)}), "
                         f"got {text!r}")
    path = {}
    for name, value in zip(PATH_FIELDS, values):
        candidates = space.arch_choices(0)[name]
        picked = int(value) if isinstance(candidates[0], int) and value.isdigit() else value
        if picked not in candidates:
            raise InputError("argument --path", name, f"{value!r} is not one of {', '.join(map(str, candidates))}")
        path[name] = picked
    return path


def path_sample(space: SearchSpace, path: dict, vary: tuple[str, ...], generator: torch.Generator | None):
    """The supernet's sample: `path` with the `vary` choices drawn uniformly (generator None: none drawn)."""
    sample = []
    for layer in range(space.depth):
        picks = {}
        for name, candidates in space.choices(layer).items():
            if generator is not None and name in vary:
                index = int(torch.randint(len(candidates), (), generator=generator))
            else:
                index = candidates.index(path[name]) if name in path else 0  # quantisers: f32 only
            picks[name] = F.one_hot(torch.tensor(index), len(candidates)).float()
        sample.append(picks)
    return sample


def run(dataset: str, path_text: str, vary: tuple[str, ...], epochs: int, lr: float, binary: bool,
        seed: int) -> list[tuple[int, float, float]]:
    """(last epoch, mean training accuracy of the drawn paths, validation accuracy of the fixed path) per window."""
    space = SearchSpace(weight_quants=("f32",), activation_quants=("f32",))
    path = parse_path(path_text, space)
    graph = load_dataset(dataset)
    if binary:
        graph = replace(graph, x=(graph.x > 0).float())
    seed_everything(seed, 1)
    split = resolve_split(dataset, "full")
    train_mask, val_mask, _ = split_masks(graph, split, seed)
    x, edge_index, y = as_input(graph.x), with_self_loops(graph.edge_index, graph.num_nodes), graph.y
    supernet = SuperNet(space, graph.num_features, graph.num_classes, SearchHyperParams().search_dropout)
    optimizer = torch.optim.Adam(supernet.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    weight_decay = dataset_info(dataset).weight_decay  # the search's path L2 (0 on Amazon and Coauthor)
    fixed = path_sample(space, path, vary, None)
    rows, drawn_accs = [], []
    for epoch in range(1, epochs + 1):
        supernet.train()
        logits, terms = supernet(x, edge_index, path_sample(space, path, vary, generator))
        loss = F.cross_entropy(logits[train_mask], y[train_mask]) + weight_decay / 2 * terms.path_l2
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(supernet.parameters(), SearchHyperParams().grad_clip)
        optimizer.step()
        drawn_accs.append(accuracy(logits.detach(), y, train_mask))
        if epoch % WINDOW == 0:
            supernet.eval()
            with torch.no_grad():
                val_acc = accuracy(supernet(x, edge_index, fixed)[0], y, val_mask)
            rows.append((epoch, statistics.fmean(drawn_accs[-WINDOW:]), val_acc))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--vary", default="",
                        help=f"choices drawn per step, comma-separated from {','.join(PATH_FIELDS)}")
    parser.add_argument("--path", default="gcn,sum,relu,64,1", help="the fixed path (default: gcn,sum,relu,64,1)")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--lr", type=float, default=SearchHyperParams().weight_lr,
                        help="weight rate (default: the search's weight_lr)")
    parser.add_argument("--binary-features", action="store_true", help="train on x > 0, not row-normalised x")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    vary = tuple(v for v in args.vary.split(",") if v)
    try:
        unknown = [v for v in vary if v not in PATH_FIELDS]
        if unknown:
            raise InputError("argument --vary", "", f"unknown choice {unknown[0]!r}; choices: {','.join(PATH_FIELDS)}")
        if args.epochs < WINDOW:
            raise InputError("argument --epochs", "", f"must be at least {WINDOW}, got {args.epochs}")
        rows = run(args.dataset, args.path, vary, args.epochs, args.lr, args.binary_features, args.seed)
    except InputError as err:
        print(f"supernet_mixing: {err.one_line()}", file=sys.stderr)
        return 2
    features = "binary" if args.binary_features else "row-normalised"
    print(f"{args.dataset}, path {args.path}, drawn per step: {','.join(vary) or 'nothing'}, {features} features, "
          f"lr {args.lr}, seed {args.seed}")
    print("  epoch  drawn paths' training accuracy (10-epoch mean)  fixed path's validation accuracy")
    for epoch, train_acc, val_acc in rows:
        print(f"  {epoch:>5}  {train_acc:.3f}  {val_acc:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
