"""The search (DESIGN.md §4): one differentiable round over architecture and bit widths with
the hardware cost in the loss, then derivation, repair, retraining and exact simulation.

Run directory: run.json (the configuration), checkpoint.pt (the search state, saved every
CHECKPOINT_SECONDS, at the end and when interrupted),
search.json (the derived network, once the search is done), with --candidates K > 1
candidates/candidate_I.json (each candidate trained for the selection) and selection.json,
retrain/seed_S.{json,pt} (each finished retraining seed; the search seed's is the kept
candidate's run), then arch.yaml, model.pt and result.json. A training in progress keeps its
state beside its result-to-be (candidate_I.checkpoint.pt, seed_S.checkpoint.pt; see
lpgnas.train.CHECKPOINT_SECONDS). `--resume RUN_DIR` continues from whatever is there; nothing
finished is redone.
"""

from __future__ import annotations

import pickle
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from costmodels.expected import ExpectedCost
from costmodels.penalty import HardwarePenalty
from costmodels.tables import build_tables
from hwsim.errors import InputError
from hwsim.graph import Graph
from hwsim.network import ArchSpec, parse_arch
from hwsim.simulate import Report, simulate
from hwsim.target import Target, load_target
from lpgnas.archfile import TrainConfig, dump_arch
from lpgnas.data import KIPF_WEIGHT_DECAY, GraphData, dataset_info, load_dataset, resolve_split, split_masks
from lpgnas.derive import derive, select
from lpgnas.interrupts import deferred_interrupts
from lpgnas.model import as_input, with_self_loops
from lpgnas.progress import progress_bar
from lpgnas.runio import read_json, save_torch, write_json, write_text
from lpgnas.space import SearchSpace, parse_quant_choices
from lpgnas.supernet import ArchController, SuperNet
from lpgnas.train import SeedResult, accuracy, best_run, seed_everything, summarize, train_once

# Search hyper-parameters (what each was measured against: docs/search-tuning.md).
# Weights: Adam with the sampled path's own L2 term (see SuperNet.path_l2: each path trains
# as it is retrained; decay on the whole supernet would shrink every slice a step did not
# sample), lighter dropout than the GCN paper's and DARTS's gradient clipping. The first
# third of the epochs trains weights only (FBNet's warm-up), on random paths at their widest
# widths: paths drawn at random widths are ~40 % at <= 2 bits, and a warm-up under them left
# the supernet at chance, so α's first steps picked whatever learnt fastest. Rate 0.005: at
# 0.02 even a widest-width warm-up left most probe paths near chance (measured before the
# hidden outputs were scaled, see SuperLayer.forward; 0.02 with the scaling is untried).
# Architecture: Adam with DARTS's betas (0.5, 0.999) and no weight decay (the gradients of a
# freshly initialised supernet are ~1e-6, which an L2 term on α would swamp); rate 0.03:
# at 0.1 α collapsed on its first leader within ~80 steps. Gumbel temperature: annealed
# exponentially from 5 to 0.5 (GDAS: 10 -> 0.1).
WEIGHT_LR, SEARCH_DROPOUT, GRAD_CLIP = 0.005, 0.2, 1.0  # L2: the dataset's, SearchConfig.weight_decay
ARCH_LR, ARCH_BETAS = 0.03, (0.5, 0.999)
WARMUP_FRACTION = 1 / 3
WEIGHT_STEPS = 1  # weight steps per epoch
TAU_START, TAU_END = 5.0, 0.5
# The search state is saved after the first epoch, then once this many seconds have passed, at
# the end, and at the epoch boundary after a Ctrl-C or SIGTERM (lpgnas.interrupts), so only a
# hard kill loses epochs, at most this many seconds of them. Saving after every epoch cost
# 30-95 ms of a 0.62 s Cora epoch (a 37 MB supernet with its Adam state) and 170-210 MB per epoch
# on Coauthor CS and Physics.
CHECKPOINT_SECONDS = 30.0
# Bit widths: the gradient of the validation loss through the quantisation mixture is a poor
# accuracy signal on its own. Coarse widths of the last layer sharpen the logits, and the
# near-identical high widths (q8, q16, f32) split their vote three ways, so in tuning the last
# layer's 2-bit options won every search, retraining to ~32 % on Cora. The architecture loss
# therefore also carries DISTORTION_WEIGHT · Σ E_p[‖Q(x) − x‖²/‖x‖²] over every mixed tensor:
# the first-order accuracy cost of each width, against which the hardware penalty trades.
DISTORTION_WEIGHT = 1.0
# Architecture logits learn by the score-function estimator (REINFORCE with a baseline):
# (L − b)·∇ log p(sampled path), L the sampled path's validation loss. The
# straight-through gate (GDAS) was tried first: its gradient <∂L/∂out, out> rewards whatever
# enlarges a layer's output, and in tuning it drove every Cora search to max aggregation in
# the last layer (74-77 % when retrained, 82 % for sum). The score function has no such bias,
# and needs only forward passes for α, so each architecture step scores ARCH_SAMPLES paths,
# each against the mean loss of the others (the leave-one-out baseline). With 4 paths a
# --no-hw Cora search (seed 0) retrained to 70 %, with 8 to 81 % (2 seeds); variance across
# search seeds is still large (seed 1: 51 %). The validation error as the score instead of the
# loss retrained to 64.9 % (seed 1): it cannot tell a confident path from a lucky one.
ARCH_SAMPLES = 8
# Retraining the derived network from scratch: the classic papers' settings, GAT's (Veličković
# et al. 2018) for networks with attention coefficients, GCN's (Kipf & Welling 2017) otherwise,
# with their Adam + L2. AdamW's decoupled decay (lr·λ = 5e-6 per step) barely regularises:
# on Cora (seeds 0-4) Adam + L2 retrains a GCN-normalised first layer with 4 summed heads to
# 82.5 % instead of 81.0 %, the GCN to 82.8 instead of 81.2 % and a GAT to 82.7 instead of
# 82.0 %. Its one failure: a first layer with GCN normalisation *and* mean aggregation has
# such small outputs that the L2 term wins and it collapses to the majority class (~30 %;
# 63 % under AdamW, a poor network either way), which the search's path L2 penalises too.
# Both train for at most 1000 epochs, stopping after 100 without a better validation score (the
# GAT baseline's rule; the manual baselines' arch files use it too). GCN's 200 epochs undertrain
# on the 60/20/20 split: on Cora (seeds 0-2) the GCN baseline reaches 85.86 % instead of 81.73,
# mean aggregation 87.72 instead of 85.86, and the networks the λ = 0.1 study searches kept
# 87.96 instead of 85.86 (docs/search-tuning.md, session 8).
# The weight decay is the dataset's (DatasetInfo.weight_decay): the papers' 5e-4 on Planetoid.
RETRAIN_ATTENTION = TrainConfig(lr=0.005, weight_decay=KIPF_WEIGHT_DECAY, dropout=0.6, epochs=1000)
RETRAIN_PLAIN = TrainConfig(lr=0.01, weight_decay=KIPF_WEIGHT_DECAY, dropout=0.5, epochs=1000)


def retrain_config(arch: ArchSpec, weight_decay: float) -> TrainConfig:
    """The retraining hyper-parameters of a derived network (see RETRAIN_ATTENTION)."""
    attention = any(layer.quant.attention is not None for layer in arch.layers)
    return replace(RETRAIN_ATTENTION if attention else RETRAIN_PLAIN, weight_decay=weight_decay)


@dataclass(frozen=True)
class SearchConfig:
    """Everything a search run depends on (stored as run.json)."""

    target: str
    dataset: str = "cora"
    data_root: str | None = None
    split: str | None = None
    layers: int = 2
    epochs: int = 500
    seed: int = 0
    seeds: tuple[int, ...] | None = None
    latency_weight: float = 0.1
    buffer_weight: float = 0.0
    size_weight: float = 0.0
    latency_budget_ms: float | None = None
    buffer_budget_kib: float | None = None
    budget_weight: float = 1.0
    quant_choices: str = "all"
    no_hw: bool = False
    threads: int = 1
    out: str | None = None
    retrain: TrainConfig | None = None  # None: chosen for the derived network (retrain_config)
    retrain_epochs: int | None = None  # caps the retraining epochs (quick sweeps and tests)
    candidates: int = 1  # networks trained to pick the derived one (lpgnas.derive); 1: the argmax alone
    # L2 weight decay of the supernet's paths and of retraining; None: the dataset's
    # (DatasetInfo.weight_decay), resolved here so that run.json records the value used.
    weight_decay: float | None = None

    def __post_init__(self) -> None:
        if self.weight_decay is None:
            object.__setattr__(self, "weight_decay", dataset_info(self.dataset).weight_decay)

    def train_config(self, arch: ArchSpec) -> TrainConfig:
        """How the derived network `arch` is retrained."""
        return (self.retrain or retrain_config(arch, self.weight_decay)).with_epochs(self.retrain_epochs)

    @property
    def retrain_seeds(self) -> tuple[int, ...]:
        return self.seeds if self.seeds else (self.seed,)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["seeds"] = list(self.seeds) if self.seeds else None
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SearchConfig:
        data = dict(data)
        data["seeds"] = tuple(data["seeds"]) if data.get("seeds") else None
        data["retrain"] = TrainConfig(**data["retrain"]) if data.get("retrain") else None
        data.setdefault("weight_decay", KIPF_WEIGHT_DECAY)  # runs from before the field trained with it
        return cls(**data)


@dataclass
class Problem:
    """The validated inputs of a search: data, target, space and the hardware cost model."""

    config: SearchConfig
    graph: GraphData
    hw_graph: Graph  # the same graph as hwsim streams it (its miss curves computed once)
    split: str
    target: Target
    space: SearchSpace
    cost: ExpectedCost
    penalty: HardwarePenalty | None
    reference: Report
    tables_s: float


def reference_arch(depth: int) -> ArchSpec:
    """The normaliser of the penalties: a plain 8-bit GCN (16 hidden) of the same depth."""
    layer = {"attention": "gcn", "aggregation": "sum", "heads": 1,
             "quant": {"weight": "q8", "feature": "q8", "message": "q8"}}
    hidden = {**layer, "activation": "relu", "hidden": 16}
    return parse_arch({"layers": [hidden] * (depth - 1) + [layer]})


def prepare(config: SearchConfig) -> Problem:
    """Validate every input and build the cost model; raises InputError before any training."""
    target = load_target(config.target)
    split = resolve_split(config.dataset, config.split)
    if config.layers < 1:
        raise InputError("argument --layers", "", f"must be at least 1, got {config.layers}")
    if config.candidates < 1:
        raise InputError("argument --candidates", "", f"must be at least 1, got {config.candidates}")
    for name in ("latency_budget_ms", "buffer_budget_kib"):
        value = getattr(config, name)
        if value is not None and value <= 0:
            raise InputError(f"argument --{name.replace('_', '-')}", "", f"must be positive, got {value}")
    weights, activations = parse_quant_choices(config.quant_choices)
    space = SearchSpace(config.layers, weights, activations)
    graph = load_dataset(config.dataset, config.data_root)
    hw_graph = graph.to_hw()
    start = time.perf_counter()
    tables = build_tables(hw_graph, target, graph.num_classes, config.layers, weights, activations)
    tables_s = time.perf_counter() - start
    cost = ExpectedCost(tables)
    reference_net = reference_arch(config.layers)
    reference = simulate(hw_graph, reference_net, target, graph.num_classes)
    budget_bytes = None if config.buffer_budget_kib is None else config.buffer_budget_kib * 1024
    min_latency, min_buffer = cost.lower_bounds()
    if config.latency_budget_ms is not None and min_latency > config.latency_budget_ms:
        raise InputError("argument --latency-budget-ms", "", f"no network of the space runs in "
                         f"{config.latency_budget_ms} ms on {target.name}; the fastest possible is "
                         f"{min_latency:.4g} ms")
    if budget_bytes is not None and min_buffer > budget_bytes:
        raise InputError("argument --buffer-budget-kib", "", f"no network of the space fits "
                         f"{config.buffer_budget_kib} KiB; the smallest needs {min_buffer / 1024:.4g} KiB")
    penalty = None
    if not config.no_hw:
        reference_model_bytes = reference_net.model_size_bits(graph.num_features, graph.num_classes) / 8
        penalty = HardwarePenalty(cost, reference.latency_ms, reference.peak_buffer_bytes, reference_model_bytes,
                                  config.latency_weight, config.buffer_weight, config.size_weight,
                                  config.latency_budget_ms, budget_bytes, config.budget_weight)
    return Problem(config, graph, hw_graph, split, target, space, cost, penalty, reference, tables_s)


# The temperatures score_loss chooses among: a log grid from e^-3 to e^3.
TEMPERATURES = torch.exp(torch.linspace(-3.0, 3.0, 61))


def score_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The validation loss a path is scored by: cross-entropy at its best temperature,
    min_T CE(logits / T) (T on a log grid from e^-3 to e^3; its gradient is that at the best T).

    Plain cross-entropy rewards confident logits: a first layer that sums its neighbours
    unnormalised (`const`, `sum`) reaches a lower validation loss than the GCN's normalisation
    (0.67 vs 0.87 on Cora, retrained alone, seeds 0-4) yet 2 points less test accuracy (80.6 vs
    82.5 %). At its best temperature the ranking follows test accuracy (0.68 vs 0.61).
    """
    return F.cross_entropy(logits / best_temperature(logits.detach(), y), y)


def best_temperature(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The grid temperature of least cross-entropy, found by bisection: 11-12 evaluations of the
    loss instead of the grid's 61, which took ~8 % of a Coauthor CS architecture epoch (9 calls
    per step, each over [61·validation nodes, classes]).

    Exact, not a heuristic: CE(z·b) = logsumexp(z·b) − b·z_y is convex in b = 1/T, so along the
    grid (b decreasing) the mean loss falls strictly until its first minimum and never falls
    after it; the first k with loss(k + 1) ≥ loss(k) is the grid's argmin, up to float rounding
    where two grid losses tie (tests/test_supernet.py compares both).
    """
    losses: dict[int, float] = {}

    def loss(k: int) -> float:
        if k not in losses:
            losses[k] = float(F.cross_entropy(logits / TEMPERATURES[k], y))
        return losses[k]

    low, high = 0, len(TEMPERATURES) - 1
    with torch.no_grad():
        while low < high:
            middle = (low + high) // 2
            if loss(middle + 1) >= loss(middle):
                high = middle
            else:
                low = middle + 1
    return TEMPERATURES[low]


def temperature(epoch: int, epochs: int) -> float:
    return TAU_START * (TAU_END / TAU_START) ** (epoch / max(1, epochs - 1))


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
    supernet = SuperNet(problem.space, problem.graph.num_features, problem.graph.num_classes, SEARCH_DROPOUT)
    controller = ArchController(problem.space)
    weight_opt = torch.optim.Adam(supernet.parameters(), lr=WEIGHT_LR)  # L2 per path: see SuperNet.path_l2
    arch_opt = torch.optim.Adam(controller.parameters(), lr=ARCH_LR, betas=ARCH_BETAS)
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
    config, graph = problem.config, problem.graph
    train_mask, val_mask, _ = split_masks(graph, problem.split, config.seed)
    x, edge_index, y = as_input(graph.x), with_self_loops(graph.edge_index, graph.num_nodes), graph.y
    supernet, controller = state.supernet, state.controller
    supernet.train()
    warmup = int(WARMUP_FRACTION * config.epochs)
    saved_at = None  # perf_counter of the last checkpoint (None: none yet in this process)
    with progress_bar(config.epochs, f"search {graph.name}", progress) as bar, deferred_interrupts() as interrupt:
        bar.update(state.epoch)
        while state.epoch < config.epochs:
            start = time.perf_counter()
            tau = temperature(state.epoch, config.epochs)
            details: dict[str, float] = {}
            arch_loss = torch.zeros(())
            if state.epoch >= warmup:
                # architecture step, in eval mode: dropout's noise would drown the score's signal.
                # α: the score function over ARCH_SAMPLES paths, each at drawn widths (one plain
                # fake-quantisation per tensor, ~3x cheaper than the mixture); β: the gradient of a
                # further path's loss through its width mixture, plus the distortion prior
                supernet.eval()
                with torch.no_grad():
                    samples = [controller.sample(tau, quant="draw") for _ in range(ARCH_SAMPLES)]
                    values = [float(score_loss(supernet(x, edge_index, sample)[val_mask], y[val_mask]))
                              for sample in samples]
                with frozen(supernet):
                    logits = supernet(x, edge_index, controller.sample(tau))
                    loss = score_loss(logits[val_mask], y[val_mask])
                    distortion = supernet.distortion()
                    supernet.train()
                    total = sum(values)
                    score = sum((v - (total - v) / (len(values) - 1)) * controller.log_prob(sample)
                                for v, sample in zip(values, samples)) / len(values)
                    arch_loss = loss + DISTORTION_WEIGHT * distortion + score
                    if problem.penalty is not None:
                        arch_loss, details = problem.penalty(arch_loss, controller.probabilities())
                    state.arch_opt.zero_grad()
                    arch_loss.backward()
                state.arch_opt.step()
            # weight steps: training loss of other sampled paths, at drawn widths (the warm-up's at
            # their widest, see WARMUP_FRACTION)
            for _ in range(WEIGHT_STEPS):
                widths = "widest" if state.epoch < warmup else "draw"
                logits = supernet(x, edge_index, controller.sample(tau, quant=widths))
                weight_loss = F.cross_entropy(logits[train_mask], y[train_mask])
                weight_loss = weight_loss + config.weight_decay / 2 * supernet.path_l2()
                state.weight_opt.zero_grad()
                weight_loss.backward()
                torch.nn.utils.clip_grad_norm_(supernet.parameters(), GRAD_CLIP)
                state.weight_opt.step()
            state.seconds += time.perf_counter() - start
            state.epoch += 1
            train_acc = accuracy(logits.detach(), y, train_mask)  # of the last sampled path
            record = {"epoch": state.epoch, "tau": tau, "arch_loss": float(arch_loss.detach()),
                      "weight_loss": float(weight_loss.detach()), "train_acc": train_acc, **details}
            state.history.append(record)
            bar.set_postfix(loss=f"{record['weight_loss']:.3f}", acc=f"{train_acc:.2f}", **(
                {"E_lat_ms": f"{details['latency_ms']:.4f}"} if details else {}))
            bar.update(1)
            now = time.perf_counter()
            if run_dir is not None and (saved_at is None or now - saved_at >= CHECKPOINT_SECONDS
                                        or state.epoch == config.epochs or interrupt.requested):
                save_torch(run_dir / "checkpoint.pt", state.state_dict())
                saved_at = now
            if interrupt.requested:
                interrupt.reraise()


def retrain(problem: Problem, arch: ArchSpec, run_dir: Path | None, progress: bool,
            trained: SeedResult | None = None) -> list[SeedResult]:
    """Train the derived network from scratch on each seed; finished seeds are read back, and
    `trained` (the kept candidate's run, the same training call) stands for its own seed."""
    config = problem.config
    train = config.train_config(arch)
    runs = []
    for seed in config.retrain_seeds:
        json_path = None if run_dir is None else run_dir / "retrain" / f"seed_{seed}.json"
        if json_path is not None and json_path.exists():
            saved = read_json(json_path)
            state = torch.load(run_dir / "retrain" / f"seed_{seed}.pt", weights_only=True)
            runs.append(SeedResult(**saved, state_dict=state))
            continue
        if trained is not None and trained.seed == seed:
            run = trained
        else:
            checkpoint = None if run_dir is None else run_dir / "retrain" / f"seed_{seed}.checkpoint.pt"
            with progress_bar(train.epochs, f"retrain seed {seed}", progress) as bar:
                run = train_once(problem.graph, arch, train, problem.split, seed, config.threads,
                                 on_epoch=lambda e: bar.update(1), checkpoint=checkpoint)
        if run_dir is not None:
            save_torch(run_dir / "retrain" / f"seed_{seed}.pt", run.state_dict)
            write_json(json_path, {k: v for k, v in asdict(run).items() if k != "state_dict"})
        runs.append(run)
    return runs


def selected(problem: Problem, searched: dict, run_dir: Path | None,
             progress: bool) -> tuple[dict, SeedResult | None]:
    """The candidate selection (lpgnas.derive.select), read back from selection.json once done,
    and the kept candidate's run when it was trained now."""
    path = None if run_dir is None else run_dir / "selection.json"
    if path is not None and path.exists():
        return read_json(path), None
    selection, kept = select(problem, searched, run_dir, progress)
    if path is not None:
        write_json(path, selection)
    return selection, kept


def run_config(run_dir: str | Path) -> SearchConfig:
    """The SearchConfig of an existing run directory (its run.json), continuing where the
    directory is now, even if it was moved after run.json was written."""
    run_json = Path(run_dir) / "run.json"
    if not run_json.is_file():
        raise InputError(str(run_dir), "run.json", "not a run directory (no run.json)")
    try:
        return SearchConfig.from_dict({**read_json(run_json), "out": str(run_dir)})
    except (ValueError, TypeError, KeyError) as err:
        raise InputError(str(run_json), "", f"unreadable run configuration: {err}") from None


def load_checkpoint(state: SearchState, checkpoint: Path) -> None:
    """Restore `state` from a search checkpoint; a damaged file is a one-line InputError."""
    try:
        state.load_state_dict(torch.load(checkpoint, weights_only=False))
    except (RuntimeError, KeyError, EOFError, ValueError, pickle.UnpicklingError) as err:
        raise InputError(str(checkpoint), "", f"unreadable checkpoint ({err}); delete it to restart "
                         "the search") from None


def run_search(config: SearchConfig, progress: bool = False, resume: bool = False) -> dict:
    """The whole job; returns the result object of DESIGN.md §7."""
    problem = prepare(config)
    run_dir = Path(config.out) if config.out else None
    if run_dir is not None:
        if not resume and (run_dir / "run.json").exists():
            raise InputError(str(run_dir), "", "already holds a run; continue it with --resume or choose another --out")
        write_json(run_dir / "run.json", config.to_dict())
    search_file = None if run_dir is None else run_dir / "search.json"
    if search_file is not None and search_file.exists():
        try:
            searched = read_json(search_file)
        except ValueError as err:
            raise InputError(str(search_file), "", f"not valid JSON ({err})") from None
    else:
        state = new_state(problem)
        checkpoint = None if run_dir is None else run_dir / "checkpoint.pt"
        if checkpoint is not None and checkpoint.exists():
            load_checkpoint(state, checkpoint)
        search_epochs(problem, state, run_dir, progress)
        searched = derive(problem, state)
        if search_file is not None:
            write_json(search_file, searched)
    selection, kept = selected(problem, searched, run_dir, progress) if config.candidates > 1 else (None, None)
    chosen = searched if selection is None else selection["candidates"][selection["chosen"]]
    arch = parse_arch(chosen["arch"])
    runs = retrain(problem, arch, run_dir, progress, kept)
    retrain_s = sum(r.seconds for r in runs if r is not kept)  # the kept run's time is in select_s
    result = summarize(problem.graph, arch, problem.split, list(config.retrain_seeds), runs, seed=config.seed)
    report = simulate(problem.hw_graph, arch, problem.target, problem.graph.num_classes)
    result["target"] = problem.target.name
    result["hw"] = report.to_dict()
    result["repaired"] = bool(chosen["repairs"])
    if chosen["repairs"]:
        result["repairs"] = chosen["repairs"]
    result["timing"] = {"search_s": round(searched["search_s"], 3), "retrain_s": round(retrain_s, 3),
                        "tables_s": round(problem.tables_s, 4)}
    if selection is not None:
        result["selection"] = {"chosen": selection["chosen"], "candidates": [
            {k: row[k] for k in ("arch", "val_acc", "latency_ms", "peak_buffer_bytes", "score")}
            for row in selection["candidates"]]}
        result["timing"]["select_s"] = round(selection["select_s"], 3)
    result = _ordered(result)
    if run_dir is not None:
        save_torch(run_dir / "model.pt", best_run(runs).state_dict)
        write_text(run_dir / "arch.yaml", dump_arch(arch, config.train_config(arch)))
        write_json(run_dir / "result.json", result)
    return result


_ORDER = ("schema_version", "dataset", "split", "seed", "seeds", "target", "arch", "accuracy", "model_size_bytes",
          "buffer_size_bytes", "hw", "repaired", "repairs", "selection", "timing")


def _ordered(result: dict) -> dict:
    return {k: result[k] for k in _ORDER if k in result}

