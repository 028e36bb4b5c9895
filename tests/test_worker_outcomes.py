"""How the worker supervisor reads a dead worker's exit code and what becomes of that worker's trial."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import optuna
import pytest
from optuna.trial import TrialState

from nasbench.config import SearchSettings
from nasbench.results import store
from nasbench.search.workers import death_reason, fail_trials_of, threads_per_worker

optuna.logging.set_verbosity(optuna.logging.WARNING)

PID = 4321
PARAMS = {"a": 2, "b": "conv"}


# ---- death_reason --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exitcode", "reason"),
    [
        (-signal.SIGKILL, "worker process killed by SIGKILL"),
        (-signal.SIGSEGV, "worker process killed by SIGSEGV"),
        (-signal.SIGABRT, "worker process killed by SIGABRT"),
        (-signal.SIGTERM, "worker process killed by SIGTERM"),
    ],
)
def test_a_negative_exit_code_is_the_signal_that_killed_the_worker(exitcode, reason):
    assert death_reason(exitcode) == reason


def test_a_signal_number_without_a_name_is_given_by_number():
    assert death_reason(-99) == "worker process killed by signal 99"


@pytest.mark.parametrize("exitcode", [1, 2, 3, 130, 143])
def test_a_positive_exit_code_is_an_exit_status_not_a_signal(exitcode):
    # 130 and 143 are what a worker returns after Ctrl-C or SIGTERM: still statuses here
    assert death_reason(exitcode) == f"worker process exited with status {exitcode}"


# ---- threads_per_worker --------------------------------------------------------------------------


def test_the_cores_are_shared_out_between_workers_and_each_gets_at_least_one():
    cores = len(os.sched_getaffinity(0))
    assert threads_per_worker(1) == cores
    assert threads_per_worker(cores) == 1
    assert threads_per_worker(cores + 1) == 1  # more workers than cores: never zero threads
    assert threads_per_worker(2) == max(1, cores // 2)


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs a CPU affinity of at least two cores to restrict",
)
def test_only_the_cores_this_process_may_run_on_are_shared_out():
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        assert threads_per_worker(1) == 1  # os.cpu_count() would say len(allowed) or more
    finally:
        os.sched_setaffinity(0, allowed)


# ---- fail_trials_of ------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path) -> SearchSettings:
    made = SearchSettings(space="toy", storage=f"sqlite:///{tmp_path / 'nasbench.db'}",
                          study_name="outcomes", dataset="digits", seed=7)  # fmt: skip
    store.ensure_schema(made.storage)  # an empty results table, as a search leaves it
    return made


@pytest.fixture
def study(settings) -> Iterator[optuna.Study]:
    # Optuna's in-memory storage (a SQLite one costs seconds to create); the results table that a
    # crash writes to is the SQLite file of settings.storage
    yield optuna.create_study(study_name=settings.study_name, direction="maximize")
    store.dispose_engines()


def running_trial(study: optuna.Study, worker: str) -> optuna.Trial:
    """A trial that a worker process has started and not finished, as after its death."""
    study.enqueue_trial(PARAMS)
    trial = study.ask()
    assert trial.suggest_categorical("a", [0, 1, 2]) == PARAMS["a"]
    assert trial.suggest_categorical("b", ["conv", "pool"]) == PARAMS["b"]
    trial.set_user_attr("worker", worker)
    trial.set_user_attr("arch", {"depth": 2})
    trial.set_user_attr("arch_hash", f"hash-of-{worker}")
    return trial


@pytest.fixture
def dead_and_alive(study):
    """A RUNNING trial of the dead worker PID, and one of another worker whose pid ends alike."""
    dead = running_trial(study, f"node1:{PID}")
    alive = running_trial(study, f"node1:1{PID}")
    return dead.number, alive.number


def trials_by_number(study: optuna.Study) -> dict[int, optuna.trial.FrozenTrial]:
    return {t.number: t for t in study.get_trials(deepcopy=False)}


def assert_other_worker_untouched(study, alive: int) -> None:
    other = trials_by_number(study)[alive]
    assert other.state == TrialState.RUNNING
    assert "error" not in other.user_attrs


def assert_retried(study, settings, dead: int, reason: str) -> None:
    trials = trials_by_number(study)
    assert trials[dead].state == TrialState.FAIL
    assert trials[dead].user_attrs["error"] == f"{reason}; retried"
    assert "status" not in trials[dead].user_attrs  # not counted against the budget
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert len(waiting) == 1
    assert waiting[0].user_attrs["retry_of"] == dead
    assert waiting[0].system_attrs["fixed_params"] == PARAMS
    assert store.load_results(settings.storage).empty  # no result row for a retried trial


def assert_recorded_as_crash(study, settings, dead: int, reason: str) -> None:
    trials = trials_by_number(study)
    assert trials[dead].state == TrialState.FAIL
    assert trials[dead].user_attrs["status"] == "failed"
    assert trials[dead].user_attrs["error"] == reason
    assert not study.get_trials(deepcopy=False, states=(TrialState.WAITING,))  # not redone
    rows = store.load_results(settings.storage, [settings.study_name])
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["trial_number"], row["status"], row["error"]) == (dead, "failed", reason)
    assert (row["source"], row["space"], row["dataset"], row["seed"]) == (
        "search", "toy", "digits", 7
    )  # fmt: skip
    assert row["arch_hash"] == f"hash-of-node1:{PID}"


@pytest.mark.parametrize("name", ["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP"])
def test_a_worker_killed_from_outside_has_its_trial_failed_and_queued_again(
    study, settings, dead_and_alive, name
):
    dead, alive = dead_and_alive
    reason = death_reason(-signal.Signals[name])
    fail_trials_of(study, PID, reason, settings)
    assert_retried(study, settings, dead, reason)
    assert_other_worker_untouched(study, alive)


@pytest.mark.parametrize("name", ["SIGSEGV", "SIGABRT", "SIGBUS", "SIGFPE", "SIGILL"])
def test_a_worker_crashed_by_the_code_under_test_records_a_failed_result_not_retried(
    study, settings, dead_and_alive, name
):
    dead, alive = dead_and_alive
    reason = death_reason(-signal.Signals[name])
    fail_trials_of(study, PID, reason, settings)
    assert_recorded_as_crash(study, settings, dead, reason)
    assert_other_worker_untouched(study, alive)


def test_an_unknown_signal_number_counts_as_a_crash(study, settings, dead_and_alive):
    dead, alive = dead_and_alive
    fail_trials_of(study, PID, death_reason(-99), settings)
    assert_recorded_as_crash(study, settings, dead, "worker process killed by signal 99")
    assert_other_worker_untouched(study, alive)


def test_a_worker_exiting_with_an_error_status_records_a_failed_result(
    study, settings, dead_and_alive
):
    dead, alive = dead_and_alive
    fail_trials_of(study, PID, death_reason(3), settings)
    assert_recorded_as_crash(study, settings, dead, "worker process exited with status 3")
    assert_other_worker_untouched(study, alive)


def test_an_explicit_retry_outcome_overrides_the_reason(study, settings, dead_and_alive):
    # a worker stopped by SIGTERM exits with status 143: a status, yet its trial is redone
    dead, alive = dead_and_alive
    fail_trials_of(study, PID, "worker stopped by SIGTERM", settings, outcome="retry")
    assert_retried(study, settings, dead, "worker stopped by SIGTERM")
    assert_other_worker_untouched(study, alive)


def test_an_interrupted_trial_is_failed_for_a_rerun_without_a_result_or_a_retry(
    study, settings, dead_and_alive
):
    dead, alive = dead_and_alive
    fail_trials_of(study, PID, "stopped with the search", settings, outcome="interrupted")
    trial = trials_by_number(study)[dead]
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["interrupted"] is True
    assert trial.user_attrs["error"] == "stopped with the search"
    assert "status" not in trial.user_attrs
    assert not study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert store.load_results(settings.storage).empty
    assert_other_worker_untouched(study, alive)


def test_finished_trials_of_the_dead_worker_are_left_as_they_are(study, settings):
    done = running_trial(study, f"node1:{PID}")
    study.tell(done, 0.5)
    fail_trials_of(study, PID, death_reason(-signal.SIGSEGV), settings)
    trial = trials_by_number(study)[done.number]
    assert trial.state == TrialState.COMPLETE and trial.value == 0.5
    assert "error" not in trial.user_attrs
