"""Full-batch quantisation-aware training with early stopping on validation, over seeds."""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from hwsim.network import ArchSpec
from lpgnas import __version__
from lpgnas.data import GraphData, split_masks
from lpgnas.io.archfile import TrainConfig
from lpgnas.io.interrupts import Deferred, deferred_interrupts
from lpgnas.io.runfiles import check_finite, load_torch, save_torch
from lpgnas.nn.model import QuantGNN, as_input, buffer_size_bytes, model_size_bytes, with_self_loops

# A run given a checkpoint file saves its state there after its first epoch, then once this many
# seconds have passed, and at the epoch boundary after a Ctrl-C or SIGTERM, as the search does
# (lpgnas.search.loop.CHECKPOINT_SECONDS): a hard kill loses at most this many seconds of epochs. On
# the larger datasets one training runs for tens of minutes (a PubMed candidate: 658 s), and a
# study spread over sessions is cut off in the middle of two of them at every session's end.
CHECKPOINT_SECONDS = 30.0


@dataclass
class SeedResult:
    """One training run: accuracies at the best validation epoch and that epoch's weights."""

    seed: int
    val_acc: float
    test_acc: float
    best_epoch: int
    epochs_run: int
    seconds: float
    state_dict: dict


def seed_everything(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    torch.set_num_threads(threads)


def accuracy(logits: Tensor, y: Tensor, mask: Tensor) -> float:
    return float((logits[mask].argmax(dim=-1) == y[mask]).float().mean())


def train_once(
    graph: GraphData,
    arch: ArchSpec,
    config: TrainConfig,
    split: str,
    seed: int,
    threads: int = 1,
    on_epoch: Callable[[int], None] | None = None,
    checkpoint: Path | None = None,
) -> SeedResult:
    """Train `arch` from scratch on one seed; keep the epoch with the best validation accuracy.

    Ties in validation accuracy go to the lower validation loss. Training stops when neither
    improved for `config.patience` epochs (the GAT paper's criterion). With `checkpoint`, a run
    that was interrupted continues from its last saved epoch (the same run, bit for bit: the
    random state is saved too), provided the graph, network, settings, split and seed are the
    same; the file is removed once the run ends.
    """
    seed_everything(seed, threads)
    train_mask, val_mask, test_mask = split_masks(graph, split, seed)
    edge_index = with_self_loops(graph.edge_index, graph.num_nodes)
    x = as_input(graph.x)
    model = QuantGNN(arch, graph.num_features, graph.num_classes, config.dropout, config.attention_dropout)
    optimizer_class = torch.optim.AdamW if config.decoupled_weight_decay else torch.optim.Adam
    optimizer = optimizer_class(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    identity = {"dataset": graph.name, "arch": arch.to_dict(), "train": asdict(config), "split": split, "seed": seed}
    loop = {"epoch": 0, "best": (-1.0, float("inf")), "best_loss": float("inf"), "best_state": None,
            "best_epoch": 0, "stale": 0, "seconds": 0.0}  # best: the (val acc, val loss) ranking key
    if checkpoint is not None and checkpoint.is_file():
        saved = load_torch(checkpoint, "training checkpoint")
        if isinstance(saved, dict) and saved.get("identity") == identity:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            loop = saved["loop"]
            torch.set_rng_state(saved["rng"])
    start, saved_at = time.perf_counter() - loop["seconds"], None
    with deferred_interrupts() if checkpoint is not None else nullcontext(Deferred()) as interrupt:
        while loop["epoch"] < config.epochs and loop["stale"] < config.patience:
            epoch = loop["epoch"] = loop["epoch"] + 1
            model.train()
            optimizer.zero_grad()
            logits = model(x, edge_index)
            loss = F.cross_entropy(logits[train_mask], graph.y[train_mask])
            check_finite(float(loss.detach()), "the training loss", f"epoch {epoch} (seed {seed})")
            loss.backward()
            optimizer.step()
            model.eval()
            with torch.no_grad():
                logits = model(x, edge_index)
                val_loss = float(F.cross_entropy(logits[val_mask], graph.y[val_mask]))
                val_acc = accuracy(logits, graph.y, val_mask)
            improved = False
            if (val_acc, -val_loss) > (loop["best"][0], -loop["best"][1]):
                loop["best"] = (val_acc, val_loss)
                loop["best_state"] = copy.deepcopy(model.state_dict())
                loop["best_epoch"], improved = epoch, True
            if val_loss < loop["best_loss"]:
                loop["best_loss"], improved = val_loss, True
            loop["stale"] = 0 if improved else loop["stale"] + 1
            now = time.perf_counter()
            if checkpoint is not None and (saved_at is None or now - saved_at >= CHECKPOINT_SECONDS
                                           or interrupt.requested):
                loop["seconds"] = now - start
                save_torch(checkpoint, {"identity": identity, "model": model.state_dict(),
                                        "optimizer": optimizer.state_dict(), "loop": loop,
                                        "rng": torch.get_rng_state()})
                saved_at = now
            if interrupt.requested:
                interrupt.reraise()
            if on_epoch is not None:
                on_epoch(epoch)
    seconds = time.perf_counter() - start
    model.load_state_dict(loop["best_state"])
    model.eval()
    with torch.no_grad():
        logits = model(x, edge_index)
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    return SeedResult(seed, accuracy(logits, graph.y, val_mask), accuracy(logits, graph.y, test_mask),
                      loop["best_epoch"], loop["epoch"], seconds, loop["best_state"])


def mean_std(values: list[float]) -> dict[str, float]:
    """Mean and population std (0 for one value), rounded for reports."""
    std = statistics.pstdev(values) if len(values) > 1 else 0.0
    return {"mean": round(statistics.fmean(values), 6), "std": round(std, 6)}


def sizes(graph: GraphData, arch: ArchSpec) -> tuple[int, int]:
    """(model size, LPGNAS buffer size) in bytes for `arch` on `graph`."""
    model = QuantGNN(arch, graph.num_features, graph.num_classes)
    num_edges = int(with_self_loops(graph.edge_index, graph.num_nodes).size(1))
    return model_size_bytes(model), buffer_size_bytes(arch, graph.num_nodes, num_edges, graph.num_classes)


def summarize(graph: GraphData, arch: ArchSpec, split: str, seeds: list[int], runs: list[SeedResult],
              seed: int | None = None) -> dict:
    """The result object of docs/design.md §7 (without target, hw, repaired and search_s)."""
    model_bytes, buffer_bytes = sizes(graph, arch)
    return {
        "schema_version": 1,
        "version": __version__,
        "dataset": graph.name,
        "split": split,
        "seed": seeds[0] if seed is None else seed,
        "seeds": list(seeds),
        "arch": arch.to_dict(),
        "accuracy": {"val": mean_std([r.val_acc for r in runs]), "test": mean_std([r.test_acc for r in runs])},
        "model_size_bytes": model_bytes,
        "buffer_size_bytes": buffer_bytes,
        "timing": {"retrain_s": round(sum(r.seconds for r in runs), 3)},
    }


def best_run(runs: list[SeedResult]) -> SeedResult:
    """The seed with the best validation accuracy (ties: the earlier seed)."""
    return max(runs, key=lambda r: r.val_acc)
