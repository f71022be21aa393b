"""The search loop (docs/design.md §4): per epoch an architecture step (validation loss + hardware
penalty) and a weight step, with the state that is checkpointed between epochs."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from hwsim.errors import InputError
from lpgnas.data import split_masks
from lpgnas.io.interrupts import deferred_interrupts
from lpgnas.io.progress import progress_bar
from lpgnas.io.runfiles import check_finite, load_torch, save_torch
from lpgnas.nn.model import as_input, with_self_loops
from lpgnas.search.loss import score_loss, temperature
from lpgnas.search.problem import Problem
from lpgnas.search.rundir import first_difference
from lpgnas.search.supernet import ArchController, SuperNet
from lpgnas.train import accuracy, seed_everything

# The search state is saved after the first epoch, then once this many seconds have passed, at
# the end, and at the epoch boundary after a Ctrl-C or SIGTERM (lpgnas.io.interrupts), so only a
# hard kill loses epochs, at most this many seconds of them. Saving after every epoch cost
# 30-95 ms of a 0.62 s Cora epoch (a 37 MB supernet with its Adam state) and 170-210 MB per epoch
# on Coauthor CS and Physics.
CHECKPOINT_SECONDS = 30.0


@dataclass
class SearchState:
    """What the search loop updates (and checkpoints) each epoch."""

    supernet: SuperNet
    controller: ArchController
    weight_opt: torch.optim.Optimizer
    arch_opt: torch.optim.Optimizer
    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def state_dict(self) -> dict:
        return {"supernet": self.supernet.state_dict(), "controller": self.controller.state_dict(),
                "weight_opt": self.weight_opt.state_dict(), "arch_opt": self.arch_opt.state_dict(),
                "epoch": self.epoch, "history": self.history, "seconds": self.seconds,
                "rng": torch.get_rng_state()}

    def load_state_dict(self, state: dict) -> None:
        self.supernet.load_state_dict(state["supernet"])
        self.controller.load_state_dict(state["controller"])
        self.weight_opt.load_state_dict(state["weight_opt"])
        self.arch_opt.load_state_dict(state["arch_opt"])
        self.epoch, self.history, self.seconds = state["epoch"], state["history"], state["seconds"]
        torch.set_rng_state(state["rng"])


def new_state(problem: Problem) -> SearchState:
    seed_everything(problem.config.seed, problem.config.threads)
    hparams = problem.config.hparams
    supernet = SuperNet(problem.space, problem.graph.num_features, problem.graph.num_classes, hparams.search_dropout)
    controller = ArchController(problem.space)
    weight_opt = torch.optim.Adam(supernet.parameters(), lr=hparams.weight_lr)  # L2 per path: see PathTerms.path_l2
    arch_opt = torch.optim.Adam(controller.parameters(), lr=hparams.arch_lr, betas=hparams.arch_betas)
    return SearchState(supernet, controller, weight_opt, arch_opt)


@contextmanager
def frozen(module: torch.nn.Module):
    """`module`'s parameters need no gradient inside: the architecture step differentiates α
    alone, so autograd neither records nor computes the weights' gradients (the weight step
    zeroed and recomputed them anyway)."""
    trainable = [p for p in module.parameters() if p.requires_grad]
    for parameter in trainable:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in trainable:
            parameter.requires_grad_(True)


def search_epochs(problem: Problem, state: SearchState, run_dir: Path | None, progress: bool) -> None:
    """Alternate an architecture step (validation loss + hardware penalty) and a weight step."""
    config, graph, hparams = problem.config, problem.graph, problem.config.hparams
    train_mask, val_mask, _ = split_masks(graph, problem.split, config.seed)
    x, edge_index, y = as_input(graph.x), with_self_loops(graph.edge_index, graph.num_nodes), graph.y
    supernet, controller = state.supernet, state.controller
    supernet.train()
    warmup = int(hparams.warmup_fraction * config.epochs)
    saved_at = None  # perf_counter of the last checkpoint (None: none yet in this process)
    with progress_bar(config.epochs, f"search {graph.name}", progress) as bar, deferred_interrupts() as interrupt:
        bar.update(state.epoch)
        while state.epoch < config.epochs:
            start = time.perf_counter()
            tau = temperature(state.epoch, config.epochs, hparams)
            details: dict[str, float] = {}
            arch_loss = torch.zeros(())
            if state.epoch >= warmup:
                # architecture step, in eval mode: dropout's noise would drown the score's signal.
                # α: the score function over arch_samples paths, each at drawn widths (one plain
                # fake-quantisation per tensor, ~3x cheaper than the mixture); β: the gradient of a
                # further path's loss through its width mixture, plus the distortion prior
                supernet.eval()
                with torch.no_grad():
                    samples = [controller.sample(tau, quant="draw") for _ in range(hparams.arch_samples)]
                    values = [float(score_loss(supernet(x, edge_index, sample)[0][val_mask], y[val_mask]))
                              for sample in samples]
                with frozen(supernet):
                    logits, terms = supernet(x, edge_index, controller.sample(tau))
                    loss = score_loss(logits[val_mask], y[val_mask])
                    distortion = terms.distortion
                    supernet.train()
                    total = sum(values)
                    score = sum((v - (total - v) / (len(values) - 1)) * controller.log_prob(sample)
                                for v, sample in zip(values, samples)) / len(values)
                    arch_loss = loss + hparams.distortion_weight * distortion + score
                    if problem.penalty is not None:
                        arch_loss, details = problem.penalty(arch_loss, controller.probabilities())
                    state.arch_opt.zero_grad()
                    arch_loss.backward()
                state.arch_opt.step()
            # weight steps: training loss of other sampled paths, at drawn widths (the warm-up's at
            # their widest, see SearchHyperParams.warmup_fraction)
            for _ in range(hparams.weight_steps):
                widths = "widest" if state.epoch < warmup else "draw"
                logits, terms = supernet(x, edge_index, controller.sample(tau, quant=widths))
                weight_loss = F.cross_entropy(logits[train_mask], y[train_mask])
                weight_loss = weight_loss + config.weight_decay / 2 * terms.path_l2
                state.weight_opt.zero_grad()
                weight_loss.backward()
                torch.nn.utils.clip_grad_norm_(supernet.parameters(), hparams.grad_clip)
                state.weight_opt.step()
            state.seconds += time.perf_counter() - start
            state.epoch += 1
            train_acc = accuracy(logits.detach(), y, train_mask)  # of the last sampled path
            record = {"epoch": state.epoch, "tau": tau, "arch_loss": float(arch_loss.detach()),
                      "weight_loss": float(weight_loss.detach()), "train_acc": train_acc, **details}
            for name in ("arch_loss", "weight_loss"):
                check_finite(record[name], f"the search's {name.replace('_', ' ')}", f"epoch {state.epoch}")
            state.history.append(record)
            bar.set_postfix(loss=f"{record['weight_loss']:.3f}", acc=f"{train_acc:.2f}", **(
                {"E_lat_ms": f"{details['latency_ms']:.4f}"} if details else {}))
            bar.update(1)
            now = time.perf_counter()
            if run_dir is not None and (saved_at is None or now - saved_at >= CHECKPOINT_SECONDS
                                        or state.epoch == config.epochs or interrupt.requested):
                save_torch(run_dir / "checkpoint.pt", {**state.state_dict(), "identity": search_identity(problem)})
                saved_at = now
            if interrupt.requested:
                interrupt.reraise()


# The options a search's state does not depend on (retraining, where files go, threads).
_NOT_THE_SEARCH = ("out", "data_root", "keep_checkpoint", "seeds", "retrain", "retrain_epochs", "candidates",
                   "threads")


def search_identity(problem: Problem) -> str:
    """What a search's state depends on, saved in its checkpoint: one made under another target,
    dataset or setting is refused rather than continued (JSON text: data for weights_only)."""
    config = {k: v for k, v in problem.config.to_dict().items() if k not in _NOT_THE_SEARCH}
    return json.dumps({"config": config, "target": problem.target.to_dict(), "dataset": problem.graph.name,
                       "nodes": problem.graph.num_nodes, "features": problem.graph.num_features}, sort_keys=True)


def load_checkpoint(state: SearchState, checkpoint: Path, identity: str | None = None) -> None:
    """Restore `state` from a search checkpoint, loaded as data only (lpgnas.io.runfiles.load_torch);
    a damaged or foreign file, or one of another search than `identity`, is a one-line InputError
    (checkpoints from before identities existed are taken as they are)."""
    saved = load_torch(checkpoint, "search checkpoint")
    if identity is not None and isinstance(saved, dict) and "identity" in saved and saved["identity"] != identity:
        try:
            field = first_difference(json.loads(saved["identity"]), json.loads(identity)).lstrip(".")
        except (TypeError, ValueError):
            field = "identity"
        raise InputError(str(checkpoint), field, "the checkpoint is of another search (this field differs); "
                         "delete it to restart the search") from None
    try:
        state.load_state_dict(saved)
    except (RuntimeError, KeyError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise InputError(str(checkpoint), "", f"not this search's checkpoint ({type(err).__name__}: "
                         f"{str(err)[:200]}); delete it to restart the search") from None


