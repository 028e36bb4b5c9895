"""Several search workers on one machine: one process each, supervised so a crash costs one trial.

Each worker is an ordinary single-process search on the shared storage (Optuna's RDB storage, the
same mechanism that lets machines share a study over PostgreSQL). The supervisor restarts workers
that die; a trial whose process died is failed with the reason. A crash of the code under test
(segfault, abort, CUDA device-side assert) is recorded as a failed result, not retried; a worker
killed from outside (SIGKILL) has its trial failed and queued again with the same params; one
stopped by SIGTERM or SIGINT fails its own trial (not counted) and is restarted. SIGTERM to the
supervisor is passed on to the workers, which stop as after Ctrl-C: their trials are
failed, not counted, and redone by a rerun.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import signal
import sys
import time

import optuna
import torch
from optuna.trial import TrialState
from tqdm import tqdm

from nasbench.config import SearchSettings
from nasbench.errors import UsageError
from nasbench.evaluation.context import resolve_device
from nasbench.search.budget import counted_trials, work_left
from nasbench.search.objective import search_identity
from nasbench.search.prescreen import run_prescreen
from nasbench.search.run import already_complete, run_search
from nasbench.search.rungs import PROMOTES_ATTR, RUNG_ATTR, queue_due_promotions, trial_rung
from nasbench.search.signals import Terminated, exit_status, stop_on_sigterm
from nasbench.search.study import prepare_search
from nasbench.workflow.rows import store_row
from nasbench.workflow.studies import quiet_optuna

EXTERNAL_SIGNALS = {signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
# exit statuses of a worker that stopped cleanly on a signal (nasbench.search.signals.exit_status)
STOPPED_BY_SIGNAL = {128 + signal.SIGINT: "SIGINT", 128 + signal.SIGTERM: "SIGTERM"}
MAX_RESTARTS_PER_WORKER = 50
MAX_CPU_WORKERS = 8  # the default's cap on a many-core CPU: SQLite has one writer at a time


def _worker_main(settings: SearchSettings, threads: int) -> None:
    torch.set_num_threads(threads)
    sys.exit(run_search(settings, quiet=True))


def available_cores() -> int:
    """The cores this process may run on (its affinity on Linux), else all the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def threads_per_worker(workers: int) -> int:
    """This process's cores shared out: N workers with torch's default of all cores each would
    oversubscribe the CPU (every worker spins one thread per core)."""
    return max(1, available_cores() // workers)


def choose_workers(settings: SearchSettings) -> tuple[SearchSettings, str | None]:
    """The settings with their number of workers decided, and a line saying what was chosen.

    Given --workers or --devices: as given. A benchmark lookup costs nothing to parallelise: one.
    On GPUs, one worker per visible device. On a CPU, one worker per core with one torch thread
    each, at most MAX_CPU_WORKERS (SQLite has one writer at a time): a proxy's training does not
    get faster with a second thread here, while a second worker nearly doubles the trials per hour.
    NASBENCH_WORKERS overrides the rule. Only one worker reproduces a run exactly from its seed.
    """
    if settings.workers is not None or settings.devices:
        return dataclasses.replace(settings, workers=settings.workers or 1), None
    override = os.environ.get("NASBENCH_WORKERS", "").strip()
    if override:
        if not override.isdigit() or int(override) < 1:
            raise UsageError(f"NASBENCH_WORKERS must be a positive integer, got {override!r}")
        return dataclasses.replace(settings, workers=int(override)), None
    if settings.benchmark:
        return dataclasses.replace(settings, workers=1), None
    if resolve_device(settings.device).startswith("cuda"):
        gpus = torch.cuda.device_count()
        if gpus < 2:
            return dataclasses.replace(settings, workers=1), None
        devices = [f"cuda:{i}" for i in range(gpus)]
        return dataclasses.replace(settings, workers=gpus, devices=devices), (
            f"nasbench: {gpus} workers, one per GPU ({', '.join(devices)}); --workers 1 "
            "reproduces a run exactly from its seed"
        )
    workers = max(1, min(available_cores(), MAX_CPU_WORKERS))
    if workers == 1:
        return dataclasses.replace(settings, workers=1), None
    return dataclasses.replace(settings, workers=workers), (
        f"nasbench: {workers} worker processes, one per core with 1 torch thread each; "
        "--workers 1 reproduces a run exactly from its seed"
    )


def death_reason(exitcode: int) -> str:
    """'worker process killed by SIGSEGV' for a signal, '... exited with status 3' otherwise."""
    if exitcode < 0:
        try:
            return f"worker process killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"worker process killed by signal {-exitcode}"
    return f"worker process exited with status {exitcode}"


def check_devices(devices: list[str]) -> None:
    """One line for a device this machine does not have (before any worker starts)."""
    for device in devices:
        resolved = resolve_device(device)
        index = resolved.partition(":")[2]
        if resolved.startswith("cuda") and index:
            if not index.isdigit() or int(index) >= torch.cuda.device_count():
                raise UsageError(
                    f"device {device!r} does not exist: torch sees {torch.cuda.device_count()} "
                    "CUDA device(s)"
                )
        elif resolved not in ("cpu", "cuda"):
            raise UsageError(f"unknown device {device!r}; use cpu, cuda or cuda:N")


def run_workers(settings: SearchSettings, announce: str | None = None) -> int:
    """Run settings.workers (or one per --devices entry) worker processes until the budget is met;
    `announce` is printed once everything is checked, before the first worker starts."""
    quiet_optuna()
    devices = settings.devices or [settings.device] * settings.workers
    check_devices(devices)
    # checks the settings and records them, once for all (and decides the budget of a rerun)
    settings, contexts, study, _ = prepare_search(settings)
    queue_due_promotions(study, settings, contexts[0].objectives, study.get_trials())
    done = counted_trials(study)
    if not work_left(study, settings.trials):  # nothing to do: no worker is started
        print(already_complete(settings, done), file=sys.stderr)
        return 0
    if announce:
        print(announce, file=sys.stderr, flush=True)
    run_prescreen(study, settings, contexts[0].space, contexts[0].device)  # once, before any worker
    context = mp.get_context("spawn")
    workers: dict[int, tuple[mp.Process, str]] = {}
    restarts = 0
    max_restarts = MAX_RESTARTS_PER_WORKER * len(devices)
    started = 0

    def start(device: str) -> None:
        nonlocal started
        started += 1
        child = dataclasses.replace(
            settings, workers=1, devices=None, device=device, worker_index=started
        )
        process = context.Process(
            target=_worker_main, args=(child, threads_per_worker(len(devices))), daemon=False
        )
        process.start()
        workers[process.pid] = (process, device)

    done = counted_trials(study)
    bar = tqdm(
        total=settings.trials,
        initial=min(done, settings.trials),
        desc=study.study_name,
        unit="trial",
        file=sys.stderr,
        dynamic_ncols=True,
    )
    try:
        stop_on_sigterm()
        for device in devices:
            start(device)
        while workers:
            time.sleep(1.0)
            for pid, (process, device) in list(workers.items()):
                if process.is_alive():
                    continue
                process.join()
                del workers[pid]
                if process.exitcode in STOPPED_BY_SIGNAL:  # SIGTERM or SIGINT to this worker only
                    reason = f"worker stopped by {STOPPED_BY_SIGNAL[process.exitcode]}"
                    bar.write(f"{reason} ({device}); restarting it", file=sys.stderr)
                    fail_trials_of(study, pid, reason, settings, outcome="retry")
                    if work_left(study, settings.trials):
                        start(device)
                    continue
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
                    if restarts > max_restarts:
                        bar.write("too many worker crashes; stopping", file=sys.stderr)
                        continue
                    if work_left(study, settings.trials):
                        start(device)
            now = counted_trials(study)
            bar.update(min(now, settings.trials) - bar.n)
            if not workers and work_left(study, settings.trials) and restarts <= max_restarts:
                for device in devices:  # a late crash left the budget unfilled
                    start(device)
    except KeyboardInterrupt as stop:
        # Ctrl-C reached the workers too (one process group); SIGTERM reached only this process
        for process, _ in workers.values():
            if isinstance(stop, Terminated) and process.is_alive():
                process.terminate()
        for process, _ in workers.values():
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
        for pid in workers:
            fail_trials_of(study, pid, "stopped with the search", settings, outcome="interrupted")
        bar.close()
        print(
            f"nasbench: {'terminated' if isinstance(stop, Terminated) else 'interrupted'}; study "
            f"{settings.study_name!r} holds {counted_trials(study)} of {settings.trials} trials; "
            f"rerun the same command to complete it",
            file=sys.stderr,
        )
        return exit_status(stop)
    bar.close()
    done = counted_trials(study)
    if work_left(
        study, settings.trials
    ):  # the workers kept crashing: say so, do not report success
        print(
            f"nasbench: stopped after {restarts} worker crashes; study {settings.study_name!r} "
            f"holds {done} of {settings.trials} trials",
            file=sys.stderr,
        )
        return 1
    return 0


def fail_trials_of(
    study: optuna.Study, pid: int, reason: str, settings: SearchSettings, *, outcome: str = ""
) -> None:
    """Fail the RUNNING trials of a dead worker. `outcome`: "retry" queues the params again,
    "interrupted" leaves the trial to a rerun (no result row), "" (the default) decides by the
    reason: killed from outside is retried, a crash is recorded as a failed result."""
    storage = study._storage  # Optuna has no public API to finish another process's trial
    suffix = f":{pid}"
    if not outcome:
        exitcode_signal = reason.split()[-1] if "killed by" in reason else ""
        external = any(exitcode_signal == s.name for s in EXTERNAL_SIGNALS)
        outcome = "retry" if external else "crash"
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not str(trial.user_attrs.get("worker", "")).endswith(suffix):
            continue
        if outcome == "interrupted":
            storage.set_trial_user_attr(trial._trial_id, "interrupted", True)
            storage.set_trial_user_attr(trial._trial_id, "error", reason)
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            continue
        if outcome == "retry":
            storage.set_trial_user_attr(trial._trial_id, "error", f"{reason}; retried")
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            kept = {k: v for k, v in trial.user_attrs.items() if k in (RUNG_ATTR, PROMOTES_ATTR)}
            study.enqueue_trial(trial.params, user_attrs={**kept, "retry_of": trial.number})
            continue
        storage.set_trial_user_attr(trial._trial_id, "status", "failed")
        storage.set_trial_user_attr(trial._trial_id, "error", reason)
        row = search_identity(
            settings,
            None,
            trial.number,
            arch=trial.user_attrs.get("arch"),
            arch_hash=trial.user_attrs.get("arch_hash"),
            status="failed",
            error=reason,
            dataset=settings.dataset,
            **({"rung": trial_rung(trial)} if settings.rungs > 1 else {}),
        )
        row["seed"] = settings.seed  # the study's: the trial's own seeds are not known here
        store_row(settings.storage, row)
        storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
