"""The search (docs/design.md §4): one differentiable round over architecture and bit widths with
the hardware cost in the loss, then derivation, repair, retraining and exact simulation.

Run directory: run.json (the configuration), checkpoint.pt (the search state, saved every
lpgnas.search.loop.CHECKPOINT_SECONDS, at the end and when interrupted; removed once the run is
done unless --keep-checkpoint),
search.json (the derived network, once the search is done), with --candidates K > 1
candidates/candidate_I.json (each candidate trained for the selection) and selection.json,
retrain/seed_S.{json,pt} (each finished retraining seed; the search seed's is the kept
candidate's run), then arch.yaml, model.pt and result.json. A training in progress keeps its
state beside its result-to-be (candidate_I.checkpoint.pt, seed_S.checkpoint.pt; see
lpgnas.train.CHECKPOINT_SECONDS). `--resume RUN_DIR` continues from whatever is there; nothing
finished is redone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from hwsim.network import ArchSpec, parse_arch
from hwsim.simulate import simulate
from lpgnas.io.archfile import dump_arch
from lpgnas.io.progress import progress_bar
from lpgnas.io.runfiles import load_torch, save_torch, write_json, write_text
from lpgnas.search.config import SearchConfig
from lpgnas.search.derive import derive, select
from lpgnas.search.loop import load_checkpoint, new_state, search_epochs, search_identity
from lpgnas.search.problem import Problem, prepare
from lpgnas.search.rundir import claim, read_searched, read_seed_run, read_selection
from lpgnas.train import SeedResult, best_run, summarize, train_once


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
            saved = read_seed_run(json_path)
            state = load_torch(run_dir / "retrain" / f"seed_{seed}.pt", "retrained model")
            fields = ("seed", "val_acc", "test_acc", "best_epoch", "epochs_run", "seconds")
            runs.append(SeedResult(**{k: saved[k] for k in fields}, state_dict=state))
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
    """The candidate selection (lpgnas.search.derive.select), read back from selection.json once done,
    and the kept candidate's run when it was trained now."""
    path = None if run_dir is None else run_dir / "selection.json"
    if path is not None and path.exists():
        return read_selection(path, problem.config.candidates), None
    selection, kept = select(problem, searched, run_dir, progress)
    if path is not None:
        write_json(path, selection)
    return selection, kept


def run_search(config: SearchConfig, progress: bool = False, resume: bool = False,
               on_start: Callable[[], None] | None = None) -> dict:
    """The whole job; returns the result object of docs/design.md §7. `on_start` is called once the
    inputs and the run directory's configuration and search state are validated and the work
    begins (the CLI names the run directory then, so bad input stays one line; files of later
    stages, such as a retraining seed's, are validated when they are read)."""
    problem = prepare(config)
    run_dir = Path(config.out) if config.out else None
    if run_dir is not None:
        claim(run_dir, problem, resume)
    on_start = on_start or (lambda: None)
    search_file = None if run_dir is None else run_dir / "search.json"
    if search_file is not None and search_file.exists():
        searched = read_searched(search_file)
        on_start()
    else:
        state = new_state(problem)
        checkpoint = None if run_dir is None else run_dir / "checkpoint.pt"
        if checkpoint is not None and checkpoint.exists():
            load_checkpoint(state, checkpoint, search_identity(problem))
        on_start()
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
        if not config.keep_checkpoint:  # search.json holds what the rest of the run needs
            (run_dir / "checkpoint.pt").unlink(missing_ok=True)
    return result


_ORDER = ("schema_version", "version", "dataset", "split", "seed", "seeds", "target", "arch", "accuracy",
          "model_size_bytes", "buffer_size_bytes", "hw", "repaired", "repairs", "selection", "timing")


def _ordered(result: dict) -> dict:
    return {k: result[k] for k in _ORDER if k in result}

