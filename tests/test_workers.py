"""Many workers, one study: exact budgets, no arch trained twice, and crashes that cost one trial."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from nasbench.config import SearchSettings
from nasbench.errors import UsageError
from nasbench.results import store
from nasbench.search import workers as supervisor

TESTS = Path(__file__).resolve().parent
STUDY = "fixture_spaces.toy_digits"
ENV = {**os.environ, "PYTHONPATH": str(TESTS), "NASBENCH_HEARTBEAT_S": "1",
       "NASBENCH_GRACE_PERIOD_S": "4"}  # fmt: skip

# every test here starts worker processes that train: 13-45 s each on two cores
pytestmark = pytest.mark.slow


def search_args(url: str, trials: int, *extra: str, space: str = "fixture_spaces.toy") -> list[str]:
    return [sys.executable, "-m", "nasbench.cli", "search", "--space", space, "--trials",
            str(trials), "--storage", url, "--sampler", "random", "--no-pruning",
            "--train-fraction", "0.3", *extra]  # fmt: skip


def load(url: str, study_name: str = STUDY) -> optuna.Study:
    return optuna.load_study(study_name=study_name, storage=url)


def assert_exactly(url: str, n: int, study_name: str = STUDY) -> None:
    """N trials with a result, one row each, nothing RUNNING, no arch trained twice."""
    study = load(url, study_name)
    counted = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
               or t.user_attrs.get("status") == "failed"]  # fmt: skip
    assert len(counted) == n
    assert not [t for t in study.trials if t.state == TrialState.RUNNING]
    rows = store.load_results(url, [study_name])
    assert len(rows) == n
    assert sorted(rows["trial_number"]) == sorted(t.number for t in counted)
    trained = rows[rows["status"] == "complete"]
    assert not trained["arch_hash"].duplicated().any(), "an arch was trained twice"


@pytest.mark.parametrize(
    ("backend", "workers"), [("sqlite", 2), ("postgresql", 2), ("postgresql", 4)]
)
def test_workers_on_one_machine_finish_exactly_n(request, tmp_path, backend, workers):
    backend_url = (
        f"sqlite:///{tmp_path / 'nasbench.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_db_url")
    )
    done = subprocess.run(search_args(backend_url, 6, "--workers", str(workers), "--epochs", "1"),
                          env=ENV, capture_output=True, text=True, timeout=400)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert_exactly(backend_url, 6)


def test_separate_processes_share_one_study_like_machines(backend_url):
    """Independent `nasbench search` processes on one storage: the way machines share a study."""
    procs = [subprocess.Popen(search_args(backend_url, 6, "--epochs", "1", "--seed", str(i)),
                              env=ENV, stderr=subprocess.PIPE, text=True)
             for i in range(2)]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=400)
        assert proc.returncode == 0, err
    assert_exactly(backend_url, 6)


def running_worker_pid(url: str, deadline: float) -> int:
    while time.monotonic() < deadline:
        try:
            trials = load(url).get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        except (KeyError, Exception):  # the study may not exist yet
            trials = []
        for trial in trials:
            worker = trial.user_attrs.get("worker")
            if worker and trial.user_attrs.get("arch_hash"):
                return int(worker.rsplit(":", 1)[1])
        time.sleep(0.2)
    raise AssertionError("no trial started in time")


def test_sigkill_of_a_worker_fails_and_retries_its_trial(tmp_path):
    """On SQLite; on PostgreSQL the heartbeat test below kills a whole process instead."""
    backend_url = f"sqlite:///{tmp_path / 'nasbench.db'}"
    proc = subprocess.Popen(search_args(backend_url, 6, "--workers", "2", "--epochs", "15"),
                            env=ENV, stderr=subprocess.PIPE, text=True)  # fmt: skip
    victim = running_worker_pid(backend_url, time.monotonic() + 120)
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=400)
    assert proc.returncode == 0, err
    assert "SIGKILL" in err
    assert_exactly(backend_url, 6)
    study = load(backend_url)
    killed = [t for t in study.trials if "SIGKILL" in t.user_attrs.get("error", "")]
    assert len(killed) == 1 and killed[0].state == TrialState.FAIL
    retries = [t for t in study.trials if t.user_attrs.get("retry_of") == killed[0].number]
    assert len(retries) == 1 and retries[0].params == killed[0].params
    assert retries[0].state == TrialState.COMPLETE


def test_sigterm_to_the_supervisor_stops_its_workers_and_a_rerun_completes(tmp_path):
    url = f"sqlite:///{tmp_path / 'nasbench.db'}"
    args = search_args(url, 6, "--workers", "2", "--epochs", "40", "--seed", "5")
    proc = subprocess.Popen(args, env=ENV, stderr=subprocess.PIPE, text=True)
    worker = running_worker_pid(url, time.monotonic() + 120)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "terminated" in err and err.count("rerun the same command") == 1  # not once per worker
    with pytest.raises(ProcessLookupError):  # the worker stopped with its supervisor
        os.kill(worker, 0)
    study = load(url)
    assert not study.get_trials(states=(TrialState.RUNNING,))
    assert len(store.load_results(url, [STUDY])) < 6

    done = subprocess.run(args, env=ENV, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr
    assert_exactly(url, 6)


def test_a_dead_process_is_detected_by_heartbeat_and_its_trial_retried(postgres_db_url):
    """Two independent processes (as on two machines); one is SIGKILLed mid-trial."""
    url = postgres_db_url
    first = subprocess.Popen(search_args(url, 6, "--epochs", "15", "--seed", "1"), env=ENV,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    victim_pid = running_worker_pid(url, time.monotonic() + 120)
    second = subprocess.Popen(search_args(url, 6, "--epochs", "15", "--seed", "2"), env=ENV,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert victim_pid == first.pid
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=60)
    _, err = second.communicate(timeout=400)
    assert second.returncode == 0, err
    assert_exactly(url, 6)
    study = load(url)
    stale = [t for t in study.trials if t.state == TrialState.FAIL and "status" not in t.user_attrs]
    assert len(stale) == 1
    assert any(t.system_attrs.get("failed_trial") == stale[0].number for t in study.trials)


@pytest.mark.parametrize(("space", "reason"), [("fixture_spaces.toy_abort", "SIGABRT"),
                                               ("fixture_spaces.toy_oom", "out of memory")])  # fmt: skip
def test_a_crashing_or_oom_trial_is_recorded_and_the_others_complete(tmp_path, space, reason):
    url = f"sqlite:///{tmp_path / 'nasbench.db'}"
    study_name = f"{space}_digits"
    done = subprocess.run(search_args(url, 6, "--workers", "2", "--epochs", "1", "--seed", "4",
                                      space=space),
                          env=ENV, capture_output=True, text=True, timeout=400)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = store.load_results(url, [study_name])
    assert len(rows) == 6
    bad = rows[rows["arch"].map(lambda a: a is not None and a["poison"] != "none")]
    good = rows[rows["arch"].map(lambda a: a is not None and a["poison"] == "none")]
    assert len(bad) >= 1 and len(good) >= 1, rows[["status", "arch"]]
    assert bad["error"].str.contains(reason).all()
    assert set(bad["status"]) == ({"failed"} if reason == "SIGABRT" else {"infeasible"})
    assert set(good["status"]) <= {"complete", "reused"}
    if reason == "out of memory":  # reported to the sampler through the memory constraint
        study = load(url, study_name)
        by_number = {t.number: t for t in study.trials}
        assert all(by_number[n].constraints["memory"] > 0 for n in bad["trial_number"])
        assert all(by_number[n].constraints["memory"] == 0 for n in good["trial_number"])


def test_the_default_number_of_workers_follows_the_machine(monkeypatch):
    monkeypatch.delenv("NASBENCH_WORKERS")
    base = SearchSettings(device="cpu")
    for cores, expected in [(1, 1), (2, 2), (6, 6), (64, supervisor.MAX_CPU_WORKERS)]:
        monkeypatch.setattr(supervisor, "available_cores", lambda cores=cores: cores)
        chosen, note = supervisor.choose_workers(base)
        assert chosen.workers == expected
        assert (note is None) == (expected == 1)
        if note:
            assert f"{expected} worker processes" in note and "--workers 1 reproduces" in note
    assert supervisor.choose_workers(replace(base, workers=1))[0].workers == 1  # as given
    assert supervisor.choose_workers(replace(base, benchmark="nb201-cifar10"))[0].workers == 1
    monkeypatch.setenv("NASBENCH_WORKERS", "3")
    assert supervisor.choose_workers(base)[0].workers == 3
    monkeypatch.setenv("NASBENCH_WORKERS", "many")
    with pytest.raises(UsageError, match="NASBENCH_WORKERS must be a positive integer"):
        supervisor.choose_workers(base)
