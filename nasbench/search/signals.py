"""Ctrl-C and SIGTERM: honoured where stopping leaves the study consistent, then a clean exit."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler, `kill PID`): stop as cleanly as after Ctrl-C."""


def _stop_exception(signum: int) -> KeyboardInterrupt:
    return Terminated("received SIGTERM") if signum == signal.SIGTERM else KeyboardInterrupt()


def exit_status(stop: KeyboardInterrupt) -> int:
    """The shell's convention: 128 + the signal's number."""
    return 128 + (signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT)


def stop_on_sigterm() -> None:
    """Make SIGTERM raise Terminated in the main thread, as SIGINT raises KeyboardInterrupt."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, _frame: _raise(signum))


def _raise(signum: int) -> None:
    raise _stop_exception(signum)


class StopRequest:
    """SIGINT and SIGTERM during a search.

    Inside `interruptible()` (a trial's evaluation) a signal raises at once: the trial is failed,
    marked and not counted. Anywhere else (Optuna's ask and tell, writing a result) it is only
    recorded, and `raise_if_requested()` raises it at the next trial boundary. A signal that landed
    in the middle of that bookkeeping used to leave a trial RUNNING, or a result row beside a trial
    that did not count.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._interruptible = False
        self._previous: dict[int, Any] = {}

    @contextmanager
    def installed(self) -> Iterator[StopRequest]:
        """Handle the signals for the duration (main thread only); restore the old handlers after."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        try:
            yield self
        finally:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        self.raise_if_requested()
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False

    def raise_if_requested(self) -> None:
        if self.signum is not None:
            raise _stop_exception(self.signum)

    def _handle(self, signum: int, _frame: object) -> None:
        self.signum = signum
        if self._interruptible:
            self._interruptible = False  # raise once; a second signal waits for a safe point
            raise _stop_exception(signum)
