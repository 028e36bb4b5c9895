"""Which trials of a study a command acts on: `--trial N` (repeatable) or `--pareto`, named the
same way by retrain, export and measure."""

from __future__ import annotations

import pandas as pd

from nasbench.config import OBJECTIVES
from nasbench.errors import UsageError
from nasbench.results.pareto import non_dominated
from nasbench.results.vocabulary import EVALUATED

DEFAULT_OBJECTIVES = ("acc", "macs")


def search_rows(frame: pd.DataFrame, study_name: str, *, every_rung: bool = False) -> pd.DataFrame:
    """The study's evaluated search rows (complete or reused: one per trial that has an
    accuracy), by trial number. With successive halving, each arch's row at its highest rung
    (what the study knows best of it), unless `every_rung`."""
    rows = frame[
        (frame["study_name"] == study_name)
        & (frame["source"] == "search")
        & frame["status"].isin(EVALUATED)
        & frame["trial_number"].notna()
    ]
    rows = rows.sort_values("trial_number", kind="stable")
    if every_rung or "rung" not in rows or rows["rung"].isna().all():
        return rows
    return highest_rungs(rows)


def highest_rungs(rows: pd.DataFrame) -> pd.DataFrame:
    """Each arch's row at its highest rung (the latest trial of it there), in the rows' order."""
    rung = rows["rung"].fillna(0).astype(int)
    order = rows.assign(_rung=rung).sort_values(["_rung", "trial_number"], kind="stable")
    kept = order.drop_duplicates("arch_hash", keep="last").index
    return rows.loc[rows.index.isin(kept)]


def check_trial_choice(trials: list[int] | tuple[int, ...] | None, pareto: bool) -> None:
    """Exactly one way of naming trials, checked before anything is loaded."""
    if bool(trials) == pareto:
        both = ", not both" if pareto else ""
        raise UsageError(f"name the trials: --pareto, or --trial N (repeatable){both}")


def select_trials(
    frame: pd.DataFrame,
    study_name: str,
    *,
    trials: list[int] | None,
    pareto: bool,
    objectives: list[str] | tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """The evaluated search rows of the named trials, or of the study's Pareto front over its
    objectives (accuracy against MACs when it recorded none). One line for a bad choice."""
    check_trial_choice(trials, pareto)
    rows = search_rows(frame, study_name, every_rung=bool(trials))
    if not len(rows):
        raise UsageError(f"study {study_name!r} has no evaluated search trial")
    if trials:
        numbers = rows["trial_number"].astype(int)
        missing = [n for n in dict.fromkeys(trials) if n not in set(numbers)]
        if missing:
            raise UsageError(
                f"study {study_name!r} has no evaluated trial {', '.join(map(str, missing))}; "
                f"evaluated trials: {_ranges(sorted(numbers))}"
            )
        return rows[numbers.isin(trials)].reset_index(drop=True)
    objectives = list(objectives or DEFAULT_OBJECTIVES)
    columns = [OBJECTIVES[name].column for name in objectives]
    directions = [OBJECTIVES[name].direction for name in objectives]
    points = rows[columns].astype(float).to_numpy()
    front = rows[non_dominated(points, directions)]
    return front.drop_duplicates("arch_hash").reset_index(drop=True)


def _ranges(numbers: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    parts: list[str] = []
    start = previous = None
    for n in [*numbers, None]:
        if start is not None and n == previous + 1:
            previous = n
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = n
    return ", ".join(parts)
