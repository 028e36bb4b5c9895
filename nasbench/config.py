"""Search settings: defaults, a TOML file and command-line flags merged into one checked dataclass."""

from __future__ import annotations

import dataclasses
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from nasbench.budget import KNOBS, ProxyBudget, combine
from nasbench.errors import UsageError
from nasbench.names import ZERO_COST_NAMES

DEFAULT_STORAGE = "sqlite:///nasbench.db"
DEVICES = ("auto", "cpu", "cuda")
# seconds of warm-up and timed blocks per model in `profile` and `measure` (a search's per-trial
# latency, which only ranks, is timed far more briefly: evaluation.model.RANKING_LATENCY)
LATENCY_BUDGET_S = 2.0
RETRAIN_SEEDS = 3  # nasbench retrain: trainings per trial
RETRAIN_EPOCH_FACTOR = 4  # without --epochs: a retrain trains this many times the proxy's epochs


class Objective(NamedTuple):
    """What an objective name means: Optuna's direction and the results column it is read from."""

    direction: str
    column: str


OBJECTIVES = {
    "acc": Objective("maximize", "val_acc"),
    "macs": Objective("minimize", "macs"),
    "latency": Objective("minimize", "latency_ms"),
    "params": Objective("minimize", "params"),
    # a zero-cost search's first objective (--zero-cost): a score, never shown as an accuracy
    "score": Objective("maximize", "proxy_score"),
}


def directions(objectives: list[str] | tuple[str, ...]) -> list[str]:
    """Optuna's directions of these objective names."""
    return [OBJECTIVES[name].direction for name in objectives]


def objective_values(row: dict[str, Any], objectives: list[str] | tuple[str, ...]) -> tuple:
    """A result row's values of these objectives, as floats, in order."""
    return tuple(float(row[OBJECTIVES[name].column]) for name in objectives)


@dataclass
class SearchSettings:
    """Everything that defines a search; stored with the study so a rerun can be checked against it."""

    space: str = "mobilenet"
    trials: int = 200
    storage: str = DEFAULT_STORAGE
    study_name: str | None = None  # default: "<space>_<dataset>"
    dataset: str = "digits"
    data_dir: str = "data"
    # what one proxy training costs; None: not given (a new study takes the dataset's default, a
    # rerun the budget its study recorded)
    budget: ProxyBudget | None = None
    sampler: str | None = None  # None: the harness default for the space and objectives
    objectives: list[str] = field(default_factory=lambda: ["acc", "macs"])
    max_macs: float | None = None
    max_params: float | None = None
    max_latency_ms: float | None = None
    device: str = "auto"
    seed: int = 0
    workers: int | None = None  # None: chosen from the machine (search.workers.choose_workers)
    devices: list[str] | None = None
    # a benchmark table answers accuracy instead of training: a shipped name or a CSV path
    benchmark: str | None = None
    select_column: str | None = None  # the table's accuracy column(s) to select on
    report_column: str | None = None  # and to report (nasbench.benchmarks)
    latency_device: str | None = None  # the table's latency column (default pixel3)
    pruning: bool = True
    # trainings (seeds) of an arch whose first result would join the Pareto front; its accuracy is
    # their mean, so that a lucky seed does not define the front (1: off)
    confirm_runs: int = 3
    worker_index: int = 0  # set by the supervisor: each worker's sampler gets its own seed
    # an experiment file's [choices] (space field -> the values to search, nasbench.space_choices)
    # and [train] (recipe field -> value over the dataset's defaults, nasbench.train.TrainConfig)
    choices: dict[str, list[Any]] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    # successive halving: rung r trains the budget's steps x reduction_factor**r (1: one budget)
    rungs: int = 1
    reduction_factor: int = 3
    # how a promoted arch trains at the next rung: "retrain" from scratch, or "continue" from the
    # state its lower rung saved before the decay of a warm-up-stable-decay schedule, kept in
    # weights_dir (default: beside a SQLite database; PostgreSQL needs one every machine shares).
    # None: not given (a rerun takes the study's; a new study, search.study.with_study_promotion)
    promotion: str | None = None
    weights_dir: str | None = None
    # a zero-cost proxy (nasbench.zero_cost) scores each arch instead of training it
    zero_cost: str | None = None
    # a zero-cost proxy that scores prescreen_candidates random archs before a trained search;
    # the best tenth of them (NSGA-II order of score and MACs) train first
    prescreen: str | None = None
    prescreen_candidates: int = 500
    # a benchmark table whose space is the search's: each row also gets the table's truth
    judge: str | None = None

    def __post_init__(self) -> None:
        if self.study_name is None:
            benchmark = self.benchmark if isinstance(self.benchmark, str) else None  # (_check)
            source = benchmark and Path(benchmark).name.removesuffix(".gz")
            source = source.removesuffix(".csv") if source else self.dataset
            self.study_name = f"{self.space}_{source}".replace(":", "_").replace("/", "_")

    @property
    def latency_decides(self) -> bool:
        """Whether latency is an objective or a limit (else a search only records it)."""
        return "latency" in self.objectives or self.max_latency_ms is not None


INTERNAL_SETTINGS = ("worker_index",)  # set by the supervisor, never by a user
# what a file or flags may set: the settings, and the budget's knobs as shorthands (epochs = 2)
SETTING_NAMES = tuple(
    f.name for f in dataclasses.fields(SearchSettings) if f.name not in INTERNAL_SETTINGS
) + tuple(KNOBS)
TABLES = ("choices", "train")  # an experiment file's tables: [choices], [train] (and [budget])
# recipe fields that are budget knobs too (flags --epochs, --batch-size)
RECIPE_SETTINGS = ("epochs", "batch_size")
SEED_MAX = 2**32 - 1  # numpy's and torch's seeds
TRIALS_MAX = 1_000_000
CONFIRM_RUNS_MAX = 100
WORKERS_MAX = 1024
RUNGS_MAX = 10
MAX_CONFIG_BYTES = 1 << 20
REDUCTION_FACTOR_MAX = 100
PRESCREEN_CANDIDATES_MAX = 100_000
PROMOTIONS = ("retrain", "continue")


def parse_objectives(value: str | list[str]) -> list[str]:
    """'acc,macs' -> ['acc', 'macs'], checked: accuracy first, no repeats, known names only."""
    if not isinstance(value, str) and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        raise UsageError(f"objectives must be a list such as ['acc', 'macs'], got {value!r}")
    names = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
    unknown = [n for n in names if n not in OBJECTIVES]
    if unknown or not names:
        raise UsageError(
            f"unknown objective(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(OBJECTIVES)}"
        )
    if len(set(names)) != len(names):
        raise UsageError(f"objective listed twice in {','.join(names)}")
    if names[0] != "acc":
        raise UsageError("the first objective must be acc (accuracy), e.g. --objectives acc,macs")
    return names


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a settings file; unknown keys are rejected with the list of valid ones."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"config file {str(path)!r} does not exist")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise UsageError(
            f"config file {str(path)!r} is {path.stat().st_size:,} bytes: a settings file is "
            f"small (at most {MAX_CONFIG_BYTES:,} bytes)"
        )
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise UsageError(f"config file {str(path)!r} is not valid TOML: {err}") from None
    except ValueError as err:  # an integer of more digits than Python converts (4300)
        raise UsageError(
            f"config file {str(path)!r} holds a number too long to read: {err}"
        ) from None
    except RecursionError:
        raise UsageError(f"config file {str(path)!r} is nested too deeply to read") from None
    data = {key.replace("-", "_"): value for key, value in data.items()}
    unknown = sorted(set(data) - set(SETTING_NAMES))
    if unknown:
        raise UsageError(
            f"unknown key(s) {', '.join(unknown)} in {path}; valid keys: {', '.join(SETTING_NAMES)}"
        )
    for table in TABLES:  # (budget may be a table or its text form: read_budget checks it)
        if table in data and not isinstance(data[table], dict):
            raise UsageError(f"{table} in {path} must be a table ([{table}]), got {data[table]!r}")
    train = data.get("train", {})
    for key in RECIPE_SETTINGS:
        if key in data and key in train and data[key] != train[key]:
            raise UsageError(
                f"{path} sets {key} twice: {key} = {data[key]!r} and [train] {key} = "
                f"{train[key]!r}; keep one"
            )
        if key in train:  # the top-level setting, so that a flag still overrides it
            data[key] = train.pop(key)
    return data


def read_budget(values: dict[str, Any], where: str) -> ProxyBudget | None:
    """Take the budget out of a file's or the flags' values: `budget` (text, or a [budget] table)
    and its shorthands (epochs, image_size, ...); one line when the two disagree."""
    given = values.pop("budget", None)
    shorthands = {key: values.pop(key) for key in KNOBS if key in values}
    if isinstance(given, dict):
        budget = ProxyBudget.from_mapping(given, f"[budget] in {where}")
    elif given is None:
        budget = None
    else:
        budget = ProxyBudget.parse(given)
    return combine(budget, shorthands, where)


def make_settings(config_file: str | None, flags: dict[str, Any]) -> SearchSettings:
    """Defaults < TOML file < flags that were given (None means not given); the budget knob by knob."""
    values: dict[str, Any] = read_toml(config_file) if config_file else {}
    budget = read_budget(values, str(config_file))
    flags = {k: v for k, v in flags.items() if v is not None}
    flag_budget = read_budget(flags, "--budget")
    values.update(flags)
    if flag_budget is not None:
        budget = flag_budget if budget is None else budget.updated(flag_budget)
    values["budget"] = budget
    if "objectives" in values:
        values["objectives"] = parse_objectives(values["objectives"])
    if isinstance(values.get("devices"), str):
        values["devices"] = [d.strip() for d in values["devices"].split(",") if d.strip()]
    settings = SearchSettings(**values)
    _check(settings)
    return settings


def check_study_name(name: str) -> None:
    """A study needs a visible name: optuna-dashboard, `studies` and `--study-name` select by it."""
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"study name must not be empty, got {name!r}")


def _check(s: SearchSettings) -> None:
    check_study_name(s.study_name)
    for name in ("space", "dataset", "data_dir", "storage"):
        if not isinstance(getattr(s, name), str):
            raise UsageError(f"{name} must be text, got {getattr(s, name)!r}")
    if s.sampler is not None and not isinstance(s.sampler, str):
        raise UsageError(f"sampler must be text, got {s.sampler!r}")
    bounds = {
        "trials": (1, TRIALS_MAX),
        "workers": (1, WORKERS_MAX),
        "confirm_runs": (1, CONFIRM_RUNS_MAX),
        "rungs": (1, RUNGS_MAX),
        "reduction_factor": (2, REDUCTION_FACTOR_MAX),
        "prescreen_candidates": (2, PRESCREEN_CANDIDATES_MAX),
    }
    for name, (low, high) in bounds.items():
        value = getattr(s, name)
        if name == "workers" and value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise UsageError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    for name in (
        "weights_dir",
        "zero_cost",
        "prescreen",
        "judge",
        "benchmark",
        "select_column",
        "report_column",
        "latency_device",
    ):
        if getattr(s, name) is not None and not isinstance(getattr(s, name), str):
            raise UsageError(f"{name} must be text, got {getattr(s, name)!r}")
    _check_strategy(s)
    for name in ("max_macs", "max_params", "max_latency_ms"):
        value = getattr(s, name)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not 0 < value <= sys.float_info.max  # (an integer such as 10**400 is no float)
        ):
            raise UsageError(f"{name} must be a positive finite number, got {value!r}")
    if s.devices is not None and (
        not isinstance(s.devices, list) or not all(isinstance(d, str) for d in s.devices)
    ):
        raise UsageError(f"devices must be a list of devices such as ['cuda:0'], got {s.devices!r}")
    if s.device not in DEVICES:
        raise UsageError(f"device must be one of {', '.join(DEVICES)}, got {s.device!r}")
    if isinstance(s.seed, bool) or not isinstance(s.seed, int) or not 0 <= s.seed <= SEED_MAX:
        raise UsageError(f"seed must be an integer in [0, {SEED_MAX}], got {s.seed!r}")
    if not isinstance(s.pruning, bool):
        raise UsageError(f"pruning must be true or false, got {s.pruning!r}")
    if not isinstance(s.objectives, (str, list)):
        raise UsageError(f"objectives must be a list such as ['acc', 'macs'], got {s.objectives!r}")
    parse_objectives(s.objectives)


def _check_strategy(s: SearchSettings) -> None:
    """Successive halving, zero-cost scoring and a lookup table exclude one another."""
    if s.zero_cost is not None and s.zero_cost not in ZERO_COST_NAMES:
        raise UsageError(
            f"unknown zero-cost proxy {s.zero_cost!r}; valid proxies: {', '.join(ZERO_COST_NAMES)}"
        )
    if s.promotion is not None and s.promotion not in PROMOTIONS:
        raise UsageError(f"promotion must be one of {', '.join(PROMOTIONS)}, got {s.promotion!r}")
    if s.promotion == "continue" and s.rungs == 1:
        raise UsageError("--promotion continue needs successive halving (--rungs 2 or more)")
    if (
        s.promotion == "continue"
        and s.weights_dir is None
        and not s.storage.startswith("sqlite:///")
    ):
        raise UsageError(
            "--promotion continue keeps each rung's state in files: give --weights-dir, a folder "
            "every machine of this study shares"
        )
    if s.prescreen is not None and s.prescreen not in ZERO_COST_NAMES:
        raise UsageError(
            f"unknown zero-cost proxy {s.prescreen!r} for --prescreen; valid proxies: "
            f"{', '.join(ZERO_COST_NAMES)}"
        )
    if s.prescreen and (s.zero_cost or s.benchmark):
        raise UsageError(
            "--prescreen chooses which archs a trained search trains first: a "
            f"{'--zero-cost' if s.zero_cost else '--benchmark'} search trains nothing"
        )
    if s.rungs > 1 and s.benchmark:
        raise UsageError(
            "--rungs needs a trained search: a --benchmark lookup costs the same at any budget"
        )
    if s.rungs > 1 and s.zero_cost:
        raise UsageError("--rungs needs a trained search: --zero-cost trains nothing")
    if s.zero_cost and s.benchmark:
        raise UsageError(
            "--zero-cost scores archs on the data: it cannot look them up (--benchmark)"
        )
    if s.judge and s.benchmark:
        raise UsageError(
            "--judge scores a trained (or zero-cost) search by a table; a --benchmark search "
            "already reads that table"
        )
