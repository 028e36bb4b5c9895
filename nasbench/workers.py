"""Several search workers on one machine: one process each, supervised so a crash costs one trial.

Each worker is an ordinary single-process search on the shared storage (Optuna's RDB storage, the
same mechanism that lets machines share a study over PostgreSQL). The supervisor restarts workers
that die; a trial whose process died is failed with the reason. A crash of the code under test
(segfault, abort, CUDA device-side assert) is recorded as a failed result, not retried; a worker
killed from outside (SIGKILL, SIGTERM) has its trial failed and queued again with the same params.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import signal
import sys
import time
from datetime import UTC, datetime

import optuna
from optuna.trial import TrialState
from tqdm import tqdm

from nasbench import store
from nasbench.config import SearchSettings

EXTERNAL_SIGNALS = {signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
MAX_RESTARTS_PER_WORKER = 50


def _worker_main(settings: SearchSettings) -> None:
    from nasbench.search import run_search

    sys.exit(run_search(settings, quiet=True))


def death_reason(exitcode: int) -> str:
    """'killed by SIGSEGV' for a signal, 'exited with status 3' otherwise."""
    if exitcode < 0:
        try:
            return f"worker process killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"worker process killed by signal {-exitcode}"
    return f"worker process exited with status {exitcode}"


def run_workers(settings: SearchSettings) -> int:
    """Run settings.workers (or one per --devices entry) worker processes until the budget is met."""
    from nasbench.search import Search, counted_trials

    devices = settings.devices or [settings.device] * settings.workers
    study = Search(settings).open_study()  # checks settings and records them once
    context = mp.get_context("spawn")
    workers: dict[int, tuple[mp.Process, str]] = {}
    restarts = 0
    started = 0

    def start(device: str) -> None:
        nonlocal started
        started += 1
        child = dataclasses.replace(
            settings, workers=1, devices=None, device=device, worker_index=started
        )
        process = context.Process(target=_worker_main, args=(child,), daemon=False)
        process.start()
        workers[process.pid] = (process, device)

    done = counted_trials(study)
    bar = tqdm(total=settings.trials, initial=min(done, settings.trials), desc=study.study_name,
               unit="trial", file=sys.stderr, dynamic_ncols=True)  # fmt: skip
    for device in devices:
        start(device)
    try:
        while workers:
            time.sleep(1.0)
            for pid, (process, device) in list(workers.items()):
                if process.is_alive():
                    continue
                process.join()
                del workers[pid]
                if process.exitcode and process.exitcode > 0:  # an error, not a crash: stop
                    bar.write(
                        f"{death_reason(process.exitcode)} ({device}); stopping the search",
                        file=sys.stderr,
                    )
                    fail_trials_of(study, pid, death_reason(process.exitcode), settings)
                    for other, _ in workers.values():
                        other.terminate()
                    bar.close()
                    return process.exitcode
                if process.exitcode and process.exitcode < 0:
                    reason = death_reason(process.exitcode)
                    bar.write(f"{reason} ({device}); restarting it", file=sys.stderr)
                    fail_trials_of(study, pid, reason, settings)
                    restarts += 1
                    if restarts > MAX_RESTARTS_PER_WORKER * len(devices):
                        bar.write("too many worker crashes; stopping", file=sys.stderr)
                        continue
                    if counted_trials(study) < settings.trials:
                        start(device)
            now = counted_trials(study)
            bar.update(min(now, settings.trials) - bar.n)
            if not workers and now < settings.trials and restarts <= MAX_RESTARTS_PER_WORKER:
                for device in devices:  # a late crash left the budget unfilled
                    start(device)
    except KeyboardInterrupt:
        for process, _ in workers.values():
            process.join(timeout=60)
        bar.close()
        print(
            f"nasbench: interrupted; study {settings.study_name!r} holds {counted_trials(study)} of "
            f"{settings.trials} trials; rerun the same command to complete it",
            file=sys.stderr,
        )
        return 130
    bar.close()
    return 0


def fail_trials_of(study: optuna.Study, pid: int, reason: str, settings: SearchSettings) -> None:
    """Fail the RUNNING trials of a dead worker: recorded with the reason, or queued again."""
    storage = study._storage  # Optuna has no public API to finish another process's trial
    suffix = f":{pid}"
    exitcode_signal = reason.split()[-1] if "killed by" in reason else ""
    external = any(exitcode_signal == s.name for s in EXTERNAL_SIGNALS)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not str(trial.user_attrs.get("worker", "")).endswith(suffix):
            continue
        if external:
            storage.set_trial_user_attr(trial._trial_id, "error", f"{reason}; retried")
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
            continue
        storage.set_trial_user_attr(trial._trial_id, "status", "failed")
        storage.set_trial_user_attr(trial._trial_id, "error", reason)
        store.write_result(settings.storage, {
            "study_name": settings.study_name, "trial_number": trial.number, "source": "search",
            "name": f"trial {trial.number}", "space": settings.space,
            "arch": trial.user_attrs.get("arch"), "arch_hash": trial.user_attrs.get("arch_hash"),
            "status": "failed", "error": reason,
            "dataset": settings.dataset, "seed": settings.seed,
            "code_version": store.code_version(), "finished_at": datetime.now(UTC),
        })  # fmt: skip
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
