"""`nasbench baseline`: torchvision's classic families trained as reference rows of a study."""

from __future__ import annotations

import argparse

from nasbench import arguments


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", required=True, help="comma-separated torchvision model names")
    arguments.add_storage(p)
    p.add_argument("--study-name", default=None, help="the study the rows belong to")
    arguments.add_data(p)
    arguments.add_budget(p, what="each training")
    arguments.add_device(p)
    p.add_argument("--seed", type=arguments.seed_int, default=0)
    p.add_argument(
        "--seeds",
        type=arguments.bounded_int(1, 1000),
        default=1,
        metavar="K",
        help="train each model K times, seeds SEED..SEED+K-1 (default 1)",
    )
    p.add_argument(
        "--config",
        default=None,
        metavar="FILE.toml",
        help="the budget, data_dir and [train] of a retrain recipe file",
    )


def run(args: argparse.Namespace) -> int:
    from nasbench.workflow.retrain import BaselineSettings, run_baseline

    settings = BaselineSettings(
        models=tuple(m.strip() for m in args.models.split(",") if m.strip()),
        storage=args.storage,
        study_name=args.study_name,
        dataset=args.dataset or "digits",
        data_dir=args.data_dir,
        budget=arguments.budget_of(args),
        device=args.device,
        seed=args.seed,
        seeds=args.seeds,
        config=args.config,
    )
    return run_baseline(settings, progress=arguments.progress)
