"""The toy space where every third trial (numbers 1, 4, 7...) is poisoned with 'oom' (see toy.py)."""

from fixture_spaces.toy import REFERENCE_ARCHS, WIDTHS, build, validate  # noqa: F401

NAME = "toy_oom"


def suggest(trial) -> dict:
    width = trial.suggest_categorical("width", list(WIDTHS))
    return {"width": width, "poison": "oom" if trial.number % 3 == 1 else "none"}
