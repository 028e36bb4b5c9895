"""The toy space where every third trial (numbers 1, 4, 7...) is poisoned with 'nan' (see toy.py)."""

from fixture_spaces.toy import REFERENCE_ARCHS, WIDTHS, build, validate  # noqa: F401

NAME = "toy_nan"


def suggest(trial) -> dict:
    width = trial.suggest_categorical("width", list(WIDTHS))
    return {"width": width, "poison": "nan" if trial.number % 3 == 1 else "none"}
