"""`nasbench retrain`: a study's Pareto front or chosen trials trained again, evaluated on test."""

from __future__ import annotations

import argparse

from nasbench import arguments
from nasbench.config import RETRAIN_EPOCH_FACTOR, RETRAIN_SEEDS


def add_arguments(p: argparse.ArgumentParser) -> None:
    arguments.add_storage(p)
    arguments.add_study_name(p, required=True)
    arguments.add_trial_selection(p)
    arguments.add_budget(
        p, what=f"each retraining (default: {RETRAIN_EPOCH_FACTOR} x the proxy's epochs)"
    )
    p.add_argument(
        "--seeds",
        type=arguments.bounded_int(1, 1000),
        default=RETRAIN_SEEDS,
        metavar="K",
        help=f"trainings per trial, seeds 0..K-1 (default {RETRAIN_SEEDS})",
    )
    p.add_argument(
        "--config",
        default=None,
        metavar="FILE.toml",
        help="budget (or epochs, batch_size, image_size...), data_dir and [train] of the recipe",
    )
    arguments.add_device(p)
    p.add_argument(
        "--weights-dir",
        default=None,
        metavar="DIR",
        help="where the retrained weights go (default: beside a SQLite file, NAME_weights/)",
    )


def run(args: argparse.Namespace) -> int:
    from nasbench.workflow.retrain import RetrainSettings, run_retrain

    settings = RetrainSettings(
        storage=args.storage,
        study_name=args.study_name,
        trials=tuple(args.trial or ()),
        pareto=args.pareto,
        budget=arguments.budget_of(args),
        seeds=args.seeds,
        config=args.config,
        device=args.device,
        weights_dir=args.weights_dir,
    )
    return run_retrain(settings, progress=arguments.progress)
