"""`lpgnas-hw sweep`: many searches over a grid of hardware budgets, targets, datasets and seeds.

Each point runs in its own run directory (SWEEP_DIR/runs/KEY) through a backend (a local
process pool, or Ray tasks) and returns its outcome to this process, which alone records it in
the sweep database (lpgnas.sweep.store). Re-running the same command skips the recorded points
and continues the others from whatever their run directories hold (a search resumes from its
checkpoint). Every point pins its torch threads, so its result does not depend on the backend
or the number of workers.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path

from hwsim.errors import InputError
from hwsim.network import ArchSpec, parse_arch
from hwsim.simulate import simulate
from hwsim.target import load_target
from lpgnas.data import KIPF_WEIGHT_DECAY, load_dataset, resolve_split
from lpgnas.io.archfile import TrainConfig, load_arch_file
from lpgnas.io.progress import progress_bar
from lpgnas.io.runfiles import read_json, write_json
from lpgnas.search.config import SearchConfig, retrain_config
from lpgnas.search.hparams import parse_hyperparams
from lpgnas.search.run import run_search
from lpgnas.sweep.pareto import write_pareto
from lpgnas.sweep.spec import Point, SweepSpec, expand
from lpgnas.sweep.store import Record, SweepStore
from lpgnas.train import summarize, train_once


def _label(point: Point) -> str:
    if point.label:
        return point.label
    if point.kind == "reference":
        return "no-hw search"
    options = point.options
    parts = []
    if options.get("latency_budget_ms") is not None:
        parts.append(f"latency ≤ {options['latency_budget_ms']:g} ms")
    if options.get("buffer_budget_kib") is not None:
        parts.append(f"buffer ≤ {options['buffer_budget_kib']:g} KiB")
    parts.append(f"λ={options.get('latency_weight', 0):g}")
    if options.get("size_weight"):
        parts.append(f"λ_size={options['size_weight']:g}")
    return ", ".join(parts)


def _row(point: Point, result: dict, hw: dict, target: str, run_dir: str) -> dict:
    """One point on one target: what the tables and the Pareto analysis read."""
    options = point.options
    return {"key": point.key, "kind": point.kind, "label": _label(point), "dataset": point.dataset,
            "split": result["split"], "target": target, "seed": point.seed,
            "latency_weight": options.get("latency_weight"), "latency_budget_ms": options.get("latency_budget_ms"),
            "buffer_budget_kib": options.get("buffer_budget_kib"),
            "test_acc": result["accuracy"]["test"]["mean"], "test_acc_std": result["accuracy"]["test"]["std"],
            "val_acc": result["accuracy"]["val"]["mean"], "latency_ms": hw["latency_ms"],
            "peak_buffer_kib": hw["peak_buffer_bytes"] / 1024, "model_size_kib": result["model_size_bytes"] / 1024,
            "buffer_size_kib": result["buffer_size_bytes"] / 1024, "arch": result["arch"],
            "source": options.get("source"), "run_dir": run_dir}


def _on_targets(point: Point, arch: ArchSpec, data_root: str | None) -> dict[str, dict]:
    """The simulation of `arch` on each of the point's targets, by target name."""
    graph = load_dataset(point.dataset, data_root)
    hw_graph = graph.to_hw()
    reports = {}
    for spec in point.targets:
        target = load_target(spec)
        reports[target.name] = simulate(hw_graph, arch, target, graph.num_classes).to_dict()
    return reports


def _compute_seconds(result: dict) -> float:
    """The training and search seconds a result records, summed. They are carried in checkpoints,
    so for a point resumed after an interruption they include the earlier runs' time."""
    return float(sum(result.get("timing", {}).values()))


def _search(point: Point, run_dir: Path, data_root: str | None) -> tuple[list[dict], float]:
    relative = str(Path("runs") / point.key)
    # A point without a weight decay means Kipf's (see sweepspec.dataset_training).
    options = {"weight_decay": KIPF_WEIGHT_DECAY, **point.options}
    # a point carries only the hyper-parameters that differ from their defaults (sweep.spec.expand)
    options["hparams"] = parse_hyperparams(options.get("hparams"), f"point {point.key}: hparams")
    config = SearchConfig(target=point.targets[0], dataset=point.dataset, data_root=data_root, seed=point.seed,
                          out=str(run_dir), **options)
    result = run_search(config, resume=(run_dir / "run.json").is_file())
    if point.kind == "search":
        return [_row(point, result, result["hw"], result["target"], relative)], _compute_seconds(result)
    reports = _on_targets(point, parse_arch(result["arch"]), data_root)
    return [_row(point, result, hw, name, relative) for name, hw in reports.items()], _compute_seconds(result)


def _train(point: Point, run_dir: Path, data_root: str | None) -> tuple[list[dict], float]:
    """Train a given network (an arch file, or an arch object with its train settings) on one seed."""
    result_file = run_dir / "result.json"
    if result_file.is_file():  # trained before an interruption: not trained again
        result = read_json(result_file)
    else:
        options = point.options
        # the dataset's weight decay where it is not Kipf's (sweepspec.dataset_training)
        weight_decay = options.get("weight_decay", KIPF_WEIGHT_DECAY)
        if isinstance(options["arch"], dict):
            arch = parse_arch(options["arch"], f"point {point.key}")
            train = TrainConfig(**options["train"]) if options.get("train") else retrain_config(arch, weight_decay)
        else:
            arch, train = load_arch_file(options["arch"])
            if "weight_decay" in options:  # else the arch file's own
                train = replace(train, weight_decay=weight_decay)
        graph = load_dataset(point.dataset, data_root)
        split = resolve_split(point.dataset, options["split"])
        run = train_once(graph, arch, train.with_epochs(options["epochs"]), split, point.seed, options["threads"],
                         checkpoint=run_dir / "checkpoint.pt")
        result = summarize(graph, arch, split, [point.seed], [run])
        result["hw_by_target"] = _on_targets(point, arch, data_root)
        write_json(result_file, result)
    relative = str(Path("runs") / point.key)
    rows = [_row(point, result, hw, name, relative) for name, hw in result["hw_by_target"].items()]
    return rows, _compute_seconds(result)


NOT_STARTED = "not started"


def execute(point: Point, sweep_dir: str, data_root: str | None, start_by: float | None = None) -> dict:
    """Run one point (in a worker); its outcome, a failure included, as a plain dict. A point that
    would start after `start_by` (Unix time) does not run: its outcome is NOT_STARTED, which is not
    recorded, so a later run of the sweep takes it. Checked here, where the point starts, so one
    rule serves a process pool and a Ray cluster that queues its tasks."""
    if start_by is not None and time.time() > start_by:
        return {"status": NOT_STARTED, "rows": [], "error": None, "seconds": 0.0}
    start, compute_s = time.perf_counter(), 0.0
    try:
        run = _search if point.kind in ("search", "reference") else _train
        (rows, compute_s), error = run(point, Path(sweep_dir) / "runs" / point.key, data_root), None
    except InputError as err:
        rows, error = [], err.one_line()
    except Exception as err:  # noqa: BLE001 - any failure of one point is recorded, the sweep goes on
        rows, error = [], f"{type(err).__name__}: {err}"
    # this run's wall-clock time; for a point resumed after an interruption, its recorded
    # compute time where that is longer (it counts the earlier runs too)
    return {"status": "failed" if error else "done", "rows": rows, "error": error,
            "seconds": max(time.perf_counter() - start, compute_s)}


def _failure(message: str) -> dict:
    return {"status": "failed", "rows": [], "error": message, "seconds": 0.0}


def _exit_with_parent(parent: int) -> None:
    """Worker initialiser: leave when the sweep process is gone (it may be SIGKILLed), so no orphan
    keeps writing into a run directory that a re-run of the sweep is about to continue. The worker
    gets a process group of its own, so a terminal's Ctrl-C reaches the sweep alone, which passes
    it on exactly once (_Forwarded): a second signal would stop a worker without saving."""
    os.setpgrp()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


class _Forwarded:
    """SIGINT or SIGTERM to the sweep's process (Ctrl-C, a scheduler, `kill`) is passed on to its
    workers as one SIGINT: each saves its point's checkpoint at the next epoch boundary and stops
    with a KeyboardInterrupt, which the pool hands back as the point's result (a SIGTERM would end
    the worker and break the pool, whose cleanup then terminates the others before they save).
    No new point starts, and the sweep stops once they have, leaving those points unrecorded for
    the next run to resume. A second signal stops the sweep at once (the workers still save, as
    they got the first)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    @contextlib.contextmanager
    def forwarding_to(self, pool: ProcessPoolExecutor) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():  # signals go to the main thread only
            yield
            return

        def forward(signum: int, frame) -> None:
            if self.signum is not None:
                raise KeyboardInterrupt
            self.signum = signum
            processes = getattr(pool, "_processes", None) or {}  # pid -> Process of the live workers
            for process in list(processes.values()):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGINT)

        previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def run_local(points: list[Point], sweep_dir: str, data_root: str | None, workers: int,
              start_by: float | None = None,
              task: Callable[[Point, str, str | None, float | None], dict] = execute) -> Iterator[tuple[Point, dict]]:
    """A pool of `workers` processes (spawned: a forked torch/numba runtime is not safe), handed
    one point per free worker. A worker that dies (out of memory, killed) breaks the pool and
    fails the points then in flight, not the ones still to come: a fresh pool runs those."""
    queue = list(reversed(points))
    stop = _Forwarded()
    while queue and not stop.signum:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_exit_with_parent, initargs=(os.getpid(),))
        clean, broken = False, False
        running: dict[Future, Point] = {}
        try:
            with stop.forwarding_to(pool):
                while running or (queue and not broken and not stop.signum):
                    while queue and not broken and not stop.signum and len(running) < workers:
                        try:
                            running[pool.submit(task, queue[-1], sweep_dir, data_root, start_by)] = queue[-1]
                            queue.pop()
                        except BrokenProcessPool:
                            broken = True
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        point = running.pop(future)
                        try:
                            outcome = future.result()
                        except KeyboardInterrupt:  # stopped by a forwarded signal, its checkpoint saved
                            continue
                        except Exception as err:  # noqa: BLE001 - a worker that died (out of memory, killed)
                            if stop.signum:  # a worker the signal ended outside a checkpointed loop
                                continue
                            broken = broken or isinstance(err, BrokenProcessPool)
                            outcome = _failure(f"worker failed: {type(err).__name__}: {err}")
                        yield point, outcome
            clean = True
        finally:
            pool.shutdown(wait=clean, cancel_futures=True)
    if stop.signum:  # the points stopped are not recorded: the next run resumes them
        raise KeyboardInterrupt


def run_ray(points: list[Point], sweep_dir: str, data_root: str | None, workers: int, threads: int,
            address: str | None, start_by: float | None = None) -> Iterator[tuple[Point, dict]]:
    """Each point a Ray task of `threads` CPUs, on the cluster at `address` or a local instance."""
    try:
        import ray
    except ImportError:
        raise InputError("argument --backend", "", "ray is not installed; install it with "
                         "pip install 'lpgnas-hw[ray]'") from None
    started = not ray.is_initialized()
    if started:
        try:
            if address:
                ray.init(address=address, log_to_driver=False, logging_level="warning")
            else:
                ray.init(num_cpus=workers * threads, include_dashboard=False, log_to_driver=False,
                         logging_level="warning")
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise InputError("argument --ray-address", "", f"cannot start or reach Ray ({err})") from None
    task = ray.remote(num_cpus=threads, max_retries=0)(execute)
    pending = {task.remote(point, sweep_dir, data_root, start_by): point for point in points}
    try:
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            point = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except Exception as err:  # noqa: BLE001 - a task that died is one failed point
                outcome = _failure(f"ray task failed: {type(err).__name__}: {err}")
            yield point, outcome
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def run_points(points: list[Point], sweep_dir: str, workers: int = 1, backend: str = "local",
               ray_address: str | None = None, threads: int = 1, retry_failed: bool = False,
               progress: bool = False, desc: str = "sweep", data_root: str | None = None,
               start_by: float | None = None) -> dict[str, Record]:
    """Run the unrecorded `points` into `sweep_dir` (and, with retry_failed, the failed ones);
    returns every record of the directory by key. No point starts after `start_by` (Unix time):
    the points in flight then finish, the others stay unrecorded for a later run."""
    if backend not in ("local", "ray"):
        raise InputError("argument --backend", "", f"expected local or ray, got {backend!r}")
    store = SweepStore(sweep_dir, create=True)
    try:  # closed however the run ends (an interrupt included), releasing its lock
        store.lock()
        finished = {r.key: r for r in store.records()}
        todo = [p for p in points
                if p.key not in finished or (retry_failed and finished[p.key].status == "failed")]
        data_root = data_root or os.environ.get("LPGNAS_DATA")
        sweep_dir = str(Path(sweep_dir).resolve())
        if backend == "local":
            outcomes = run_local(todo, sweep_dir, data_root, workers, start_by)
        else:
            outcomes = run_ray(todo, sweep_dir, data_root, workers, threads, ray_address, start_by)
        todo_keys = {p.key for p in todo}
        failed = sum(1 for p in points if p.key not in todo_keys and finished[p.key].status == "failed")
        _record(points, outcomes, store, workers, failed, progress, desc, len(todo))
        return {r.key: r for r in store.records()}
    finally:
        store.close()


def _record(points: list[Point], outcomes: Iterator[tuple[Point, dict]], store: SweepStore, workers: int,
            failed: int, progress: bool, desc: str, left: int) -> None:
    """Record each outcome as it comes, with the progress line (not-started points stay unrecorded)."""
    not_started = 0
    with progress_bar(len(points), desc, progress) as bar:
        bar.update(len(points) - left)
        bar.set_postfix(done=len(points) - left - failed, running=min(workers, left), failed=failed)
        for point, outcome in outcomes:
            left -= 1
            if outcome["status"] == NOT_STARTED:
                not_started += 1
            else:
                store.record(point.key, point.kind, json.loads(point.to_json()), outcome)
                failed += outcome["status"] == "failed"
            bar.set_postfix(done=len(points) - left - failed - not_started, running=min(workers, left),
                            failed=failed, **({"not_started": not_started} if not_started else {}))
            bar.update(1)


def run_sweep(spec: SweepSpec, sweep_dir: str, workers: int = 1, backend: str = "local",
              ray_address: str | None = None, retry_failed: bool = False, progress: bool = False,
              start_by: float | None = None) -> dict:
    """Run every unfinished point of `spec` into `sweep_dir` (none starting after `start_by`),
    then write pareto.csv and the plots of the points recorded so far."""
    points = expand(spec)
    records = run_points(points, sweep_dir, workers, backend, ray_address, spec.threads, retry_failed, progress,
                         data_root=spec.data_root, start_by=start_by)
    files = write_pareto(Path(sweep_dir), list(records.values()))
    ordered = [records[p.key] for p in points if p.key in records]
    return {"schema_version": 1, "sweep_dir": str(Path(sweep_dir).resolve()),
            "points": [row for r in ordered for row in r.rows],
            "failed": [{"key": r.key, "error": r.error} for r in ordered if r.status == "failed"],
            "not_started": [p.key for p in points if p.key not in records], "total": len(points), "files": files}


def remake_pareto(sweep_dir: str) -> dict:
    """`lpgnas-hw pareto`: pareto.csv and the plots again, from the sweep database."""
    store = SweepStore(sweep_dir)
    records = store.records()
    files = write_pareto(Path(sweep_dir), records)
    store.close()
    return {"schema_version": 1, "sweep_dir": str(Path(sweep_dir).resolve()),
            "points": [row for r in records for row in r.rows],
            "failed": [{"key": r.key, "error": r.error} for r in records if r.status == "failed"], "files": files}
