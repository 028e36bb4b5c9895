"""Ctrl-C and SIGTERM during a search: at once inside an evaluation, else at the next safe point."""

from __future__ import annotations

import os
import signal
import time

import pytest

from nasbench.search.signals import StopRequest, Terminated, exit_status


def test_a_signal_outside_an_evaluation_waits_for_a_safe_point():
    before = signal.getsignal(signal.SIGTERM)
    stops = StopRequest()
    with stops.installed():
        os.kill(os.getpid(), signal.SIGTERM)  # as if it landed in Optuna's tell
        time.sleep(0.05)  # the handler has run, and raised nothing
        assert stops.signum == signal.SIGTERM
        with pytest.raises(Terminated) as stopped:
            stops.raise_if_requested()
    assert exit_status(stopped.value) == 143
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_signal_inside_an_evaluation_stops_it_at_once():
    stops = StopRequest()
    started = time.monotonic()
    with stops.installed(), pytest.raises(KeyboardInterrupt) as stopped, stops.interruptible():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(10)
    assert time.monotonic() - started < 5
    assert not isinstance(stopped.value, Terminated) and exit_status(stopped.value) == 130


def test_an_evaluation_does_not_start_after_a_deferred_signal():
    stops = StopRequest()
    with stops.installed():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        with pytest.raises(KeyboardInterrupt), stops.interruptible():
            pytest.fail("the evaluation ran after the signal")
