"""The timing loop the benchmarks share."""

from __future__ import annotations

import time


def milliseconds(fn, repeat: int) -> float:
    """Mean milliseconds of fn() over `repeat` calls, after one untimed call (compilation, caches)."""
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1e3
