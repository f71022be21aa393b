"""Ctrl-C and SIGTERM held back until the work in hand reaches a point where it can be saved.

Why: the search checkpoints its state only now and then (a Cora supernet with its optimiser
is 37 MB, and saving it every epoch cost 5-15 % of the search), so an interruption that struck
between two checkpoints would throw away finished epochs. Inside `deferred_interrupts()` the
first SIGINT or SIGTERM is only recorded; the loop saves at its next epoch boundary and calls
`reraise()`, which restores the previous handlers and delivers the signal again, so the
process ends exactly as it would have (KeyboardInterrupt for SIGINT, termination for
SIGTERM). A second signal is not held back: it is delivered at once.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Deferred:
    """The first signal caught inside `deferred_interrupts`, if any."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def _catch(self, signum: int, frame) -> None:
        if self.signum is not None:  # a second signal: stop now
            self._restore()
            signal.raise_signal(signum)
            return
        self.signum = signum
        print(f"\n{signal.Signals(signum).name}: finishing the current epoch to save it "
              "(send it again to stop at once)", file=sys.stderr)

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # None: set outside Python
        self._previous = {}

    def reraise(self) -> None:
        """Deliver the held-back signal with the handlers that were there before."""
        signum, self.signum = self.signum, None
        self._restore()
        if signum is not None:
            signal.raise_signal(signum)


@contextmanager
def deferred_interrupts() -> Iterator[Deferred]:
    """Hold back SIGINT/SIGTERM while the block runs (main thread only: elsewhere signals cannot
    be handled, and the block runs with the handlers it has)."""
    deferred = Deferred()
    if threading.current_thread() is not threading.main_thread():
        yield deferred
        return
    deferred._previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
    for signum in SIGNALS:
        signal.signal(signum, deferred._catch)
    try:
        yield deferred
    finally:
        deferred._restore()
