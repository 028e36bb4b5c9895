"""The toy space where every second width choice is poisoned with 'abort' (see toy.py)."""

from fixture_spaces.toy import *  # noqa: F403
from fixture_spaces.toy import REFERENCE_ARCHS, build, validate  # noqa: F401

NAME = "toy_abort"


def suggest(trial) -> dict:
    width = trial.suggest_categorical("width", [4, 8, 16])
    return {"width": width, "poison": "abort" if width == 8 else "none"}
