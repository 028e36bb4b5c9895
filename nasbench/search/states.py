"""Where successive halving keeps the training states a promotion continues from (--promotion
continue), and their removal once no training needs them.

Rung r of an arch saves its state before the decay of its warm-up-stable-decay schedule; its
promotion to rung r + 1 continues from it and removes it once trained. A promotion killed with its
worker finds the state still there when it is retried. Whatever is left (archs never promoted)
goes when the study is done. SQLite keeps them beside the database file; a study shared through
PostgreSQL names a folder every machine sees (--weights-dir).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from nasbench.config import SearchSettings

STATES_SUFFIX = ".states"


def study_states_dir(settings: SearchSettings) -> Path:
    """The folder of this study's saved states."""
    root = settings.weights_dir
    if root is None:  # the settings check that only SQLite leaves it unset
        root = settings.storage.removeprefix("sqlite:///") + STATES_SUFFIX
    return Path(root).expanduser() / settings.study_name


def state_path(settings: SearchSettings, arch_hash: str, rung: int) -> Path:
    """The saved state of `arch_hash`'s training at `rung`."""
    return study_states_dir(settings) / f"{arch_hash}-rung{rung}.pt"


def training_states(
    settings: SearchSettings, arch_hash: str, rung: int
) -> tuple[Path | None, Path | None]:
    """(the state a training at `rung` continues from, where it saves its own): None where
    promotions retrain, at rung 0 (nothing below) and at the top rung (nothing above)."""
    if settings.promotion != "continue":
        return None, None
    resume = state_path(settings, arch_hash, rung - 1) if rung > 0 else None
    save = state_path(settings, arch_hash, rung) if rung < settings.rungs - 1 else None
    return resume, save


def remove_study_states(settings: SearchSettings) -> None:
    """Remove every saved state of the study (it is done: no promotion is left)."""
    if settings.promotion != "continue":
        return
    folder = study_states_dir(settings)
    shutil.rmtree(folder, ignore_errors=True)
    if settings.weights_dir is None:  # the folder beside the database, if no other study uses it
        try:
            folder.parent.rmdir()
        except OSError:
            pass
