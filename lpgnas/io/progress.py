"""Progress on stderr: a tqdm bar on a terminal, a plain line every PROGRESS_SECONDS elsewhere
(a log file, CI, nohup), so a long search never sits silent for minutes."""

from __future__ import annotations

import sys
import time
from typing import Any

from tqdm import tqdm

# How often a line is written when stderr is not a terminal (the first after this long, then
# again each time this long has passed, and one at the end).
PROGRESS_SECONDS = 30.0


class LineProgress:
    """The part of tqdm's interface the project uses (update, set_postfix, n), as lines."""

    def __init__(self, total: int, desc: str, interval: float = PROGRESS_SECONDS) -> None:
        self.total, self.desc, self.interval = total, desc, interval
        self.n = 0
        self._postfix: dict[str, Any] = {}
        self._start = self._printed_at = time.monotonic()
        self._printed_n = 0

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self._printed_at >= self.interval:
            self._print()

    def set_postfix(self, **values: Any) -> None:
        self._postfix = values

    def _print(self) -> None:
        elapsed = time.monotonic() - self._start
        extra = "".join(f", {k}={v}" for k, v in self._postfix.items())
        print(f"{self.desc}: {self.n}/{self.total} ({elapsed:.0f} s{extra})", file=sys.stderr, flush=True)
        self._printed_at, self._printed_n = time.monotonic(), self.n

    def close(self) -> None:
        if self.n != self._printed_n and time.monotonic() - self._start >= self.interval:
            self._print()  # the end of anything long enough to have reported on the way

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress_bar(total: int, desc: str, enabled: bool = True) -> tqdm | LineProgress:
    """A bar on a terminal, lines elsewhere; nothing when not `enabled`."""
    if enabled and not sys.stderr.isatty():
        return LineProgress(total, desc)
    return tqdm(total=total, desc=desc, file=sys.stderr, disable=not enabled, dynamic_ncols=True, leave=False)
