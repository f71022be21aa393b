"""The LPGNAS study in one command (issue 6): baselines, NAS f32, lpgnas-hw without and with the
hardware penalty on every dataset at hand, then the quantisation statistics; writes
OUT/study.md and its plots. Re-running the same command continues an interrupted study.

Usage:
  python examples/study/run_study.py --out runs/study [--datasets cora,citeseer] [--seeds 0,1,2]
                                     [--workers 2] [--epochs 500] [--candidates 8]
                                     [--larger-candidates 2] [--larger-epochs 200]
                                     [--retry-failed] [--import-records FILE] [--stop-after HOURS]
                                     [--report] [--quick]
--quick exercises every path in a couple of minutes (Cora, one seed, a few epochs): for CI,
not for numbers. --report writes OUT/study.md from the points finished so far and runs nothing
(it may run beside the study). Every report comes with OUT/records.jsonl, the finished points'
records; --import-records FILE adds such a file's points to OUT before anything runs, so a study
continues from results kept in version control or made on another machine.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time

import torch
from study import DATASETS, StudyConfig, run_study

from hwsim.errors import InputError
from lpgnas.cli.program import OneLineParser, positive_float, start_by


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="study directory (created, or continued)")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated (default: all seven)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default: 0,1,2)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="points at once (default: CPUs)")
    parser.add_argument("--epochs", type=int, default=500, help="search epochs (default: 500)")
    parser.add_argument("--candidates", type=int, default=8,
                        help="networks each search trains to pick its derived one (default: 8; 1: the argmax)")
    parser.add_argument("--larger-candidates", type=int, default=2,
                        help="the same on the datasets beyond Cora and CiteSeer (default: 2; see "
                             "study.FULL_PROTOCOL)")
    parser.add_argument("--larger-epochs", type=int, default=200,
                        help="search epochs on the datasets beyond Cora and CiteSeer (default: 200; see "
                             "study.FULL_PROTOCOL)")
    parser.add_argument("--retry-failed", action="store_true", help="run the points that failed before again")
    parser.add_argument("--import-records", metavar="FILE",
                        help="first add the points finished in FILE, a records.jsonl another study wrote")
    parser.add_argument("--stop-after", type=positive_float, metavar="HOURS",
                        help="start no point after HOURS hours (for time-boxed machines): the points in "
                             "flight finish, the same command later continues")
    parser.add_argument("--report", action="store_true", help="only write the report of the finished points")
    parser.add_argument("--target", default="zcu102", help="target of the hardware-aware search (default: zcu102)")
    parser.add_argument("--data-root", help="dataset root (default: $LPGNAS_DATA)")
    parser.add_argument("--quick", action="store_true", help="tiny settings that exercise every path")
    args = parser.parse_args(argv)
    config = StudyConfig(datasets=tuple(d for d in args.datasets.split(",") if d),
                         seeds=tuple(int(s) for s in args.seeds.split(",") if s), target=args.target,
                         epochs=args.epochs, candidates=args.candidates, larger_candidates=args.larger_candidates,
                         larger_epochs=args.larger_epochs)
    if args.quick:
        config = StudyConfig(datasets=("cora",), seeds=(0,), target=args.target, epochs=4, retrain_epochs=10,
                             train_epochs=10, candidates=2)
    command = f"`python examples/study/run_study.py {shlex.join(argv if argv is not None else sys.argv[1:])}`"
    if args.report:  # the points ran elsewhere or earlier: this machine says nothing about them
        header = (f"Report of the points recorded in `{args.out}`, written by {command} on "
                  f"{time.strftime('%Y-%m-%d')}; the same command without `--report` runs the study.")
    else:
        header = (f"Command: {command} on {platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
                  f"{args.workers} worker(s) of 1 thread, {time.strftime('%Y-%m-%d')}.")
    start = time.monotonic()
    try:
        result = run_study(config, args.out, args.workers, args.data_root, progress=True, header=header,
                           retry_failed=args.retry_failed, report_only=args.report,
                           import_records=args.import_records, start_by=start_by(args.stop_after))
    except InputError as err:
        print(f"run_study: error: {err.one_line()}", file=sys.stderr)
        return 2
    for name, reason in result["skipped"].items():
        print(f"skipped {name}: {reason}", file=sys.stderr)
    wall = "" if args.report else f", this run {(time.monotonic() - start) / 3600:.2f} h wall"
    left = result["points"] - result["done"] - len(result["failed"])
    print(f"{result['points']} points, {result['done']} done, {len(result['failed'])} failed, {left} to run{wall}; "
          f"report: {os.path.join(result['study_dir'], 'study.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
