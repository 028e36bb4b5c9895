"""Optuna studies on our storage: the heartbeat storage, quiet logging, a search study's attrs, seeds."""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

import numpy as np
import optuna
import sqlalchemy.exc

from nasbench.errors import UsageError
from nasbench.results import store

# the study attr that says what its params, MACs and latency describe (studies made before it
# measured them on the trained network at the proxy's input size)
COSTS_ATTR = "costs_measured_on"


def _seconds_from_environment(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    if not text.strip():
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 86_400:
        raise UsageError(f"{name} must be a whole number of seconds in [1, 86400], got {text!r}")
    return value


def heartbeat_interval_s() -> int:
    """Seconds between a worker's heartbeats (NASBENCH_HEARTBEAT_S, default 10)."""
    return _seconds_from_environment("NASBENCH_HEARTBEAT_S", 10)


def grace_period_s() -> int:
    """A worker silent this long is dead: its trial is failed and retried (default 60)."""
    return _seconds_from_environment("NASBENCH_GRACE_PERIOD_S", 60)


def check_heartbeat_settings() -> None:
    """Refuse a bad NASBENCH_HEARTBEAT_S or NASBENCH_GRACE_PERIOD_S before any file is written
    (Optuna's storage reads them after the database has been made)."""
    heartbeat_interval_s()
    grace_period_s()


def cost_input_size(attrs: dict[str, Any], trained_size: int) -> int:
    """The input size a search study's costs were measured at."""
    return int((attrs.get(COSTS_ATTR) or {}).get("image_size") or trained_size)


def trial_seed(study_seed: int, trial_number: int, run: int = 0) -> int:
    """Per-trial seed derived from the study seed and the trial number; `run` > 0 gives the seeds
    of the confirmation trainings (--confirm-runs)."""
    entropy = [study_seed, trial_number] + ([run] if run else [])
    state = np.random.SeedSequence(entropy).generate_state(1)[0]
    return int(state % 2**31)  # fits a signed 32-bit column on every database


def make_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage on our URL, with heartbeats so a dead worker's trial is failed."""
    storage = optuna.storages.RDBStorage(
        url,
        engine_kwargs=store.engine_kwargs(url),
        heartbeat_interval=heartbeat_interval_s(),
        grace_period=grace_period_s(),
        heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
            max_retry=2
        ),
    )
    store.tune_engine(storage.engine)
    return storage


def storage_with_retry(url: str) -> optuna.storages.RDBStorage:
    """Optuna creates its tables on first use; processes starting together can race (PostgreSQL:
    a duplicate key; SQLite: "table alembic_version already exists"). The loser retries and finds
    the tables made."""
    for attempt in range(5):
        try:
            return make_storage(url)
        except (
            sqlalchemy.exc.IntegrityError,
            sqlalchemy.exc.ProgrammingError,
            sqlalchemy.exc.OperationalError,
        ) as err:
            lost_race = not isinstance(err, sqlalchemy.exc.OperationalError) or (
                "already exists" in str(err)
            )
            if attempt == 4 or not lost_race:
                raise
            time.sleep(0.5 + attempt)
    raise AssertionError("unreachable")


def quiet_optuna() -> None:
    """Optuna's per-trial log lines and experimental-API warnings would drown the progress bar."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def load_search_attrs(url: str, study_name: str, purpose: str) -> dict[str, Any]:
    """A trained search study's user attrs (settings, recipe...) for `purpose` (retrain, export);
    one line when the study is missing, a benchmark lookup, or not made by nasbench search."""
    quiet_optuna()
    if not store.has_optuna_tables(url):  # loading a study would create Optuna's tables
        raise UsageError(f"no study {study_name!r} in {url}")
    try:
        study = optuna.load_study(study_name=study_name, storage=url)
    except KeyError:
        raise UsageError(f"no study {study_name!r} in {url}") from None
    attrs = study.user_attrs
    if attrs.get("benchmark"):
        raise UsageError(
            f"study {study_name!r} looked its accuracies up in the benchmark table "
            f"{attrs['benchmark'].get('name')}: there is no trained proxy to {purpose}"
        )
    if "settings" not in attrs or "recipe" not in attrs:
        raise UsageError(f"study {study_name!r} was not made by nasbench search")
    return attrs
