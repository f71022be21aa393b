"""Held-back interrupts: the first SIGINT/SIGTERM is recorded, a second is delivered at once."""

import signal

import pytest

from lpgnas.io.interrupts import deferred_interrupts


@pytest.fixture(autouse=True)
def _python_sigint_handler():
    """Python's own SIGINT handler, whatever this process inherited: a job started in the
    background by a non-interactive shell ignores SIGINT, and these tests deliver it."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_first_signal_is_held_until_reraised():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupts() as interrupt:
            signal.raise_signal(signal.SIGTERM)  # recorded, not delivered
            assert interrupt.requested and interrupt.signum == signal.SIGTERM
            interrupt.signum = signal.SIGINT  # deliver SIGINT instead, which pytest survives
            interrupt.reraise()
    assert signal.getsignal(signal.SIGINT) is before and not interrupt.requested


def test_second_signal_is_delivered_at_once():
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupts() as interrupt:
            signal.raise_signal(signal.SIGINT)
            assert interrupt.requested
            signal.raise_signal(signal.SIGINT)
            pytest.fail("the second SIGINT was held back")


def test_handlers_are_restored_without_a_signal():
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with deferred_interrupts() as interrupt:
        assert signal.getsignal(signal.SIGINT) is not before[signal.SIGINT]
    assert not interrupt.requested
    assert {s: signal.getsignal(s) for s in before} == before
