"""`nasbench search`: one process, or a supervisor of worker processes sharing the study."""

from __future__ import annotations

import argparse

from nasbench import arguments
from nasbench.config import make_settings
from nasbench.names import ZERO_COST_NAMES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        default=None,
        metavar="FILE.toml",
        help="settings file (see experiments/); flags given here win",
    )
    p.add_argument("--space", default=None, help=arguments.space_help())
    p.add_argument(
        "--trials",
        type=arguments.positive_int,
        default=None,
        help="the study's total number of trials (default 200); a rerun completes it",
    )
    p.add_argument(
        "--storage",
        type=arguments.storage_url,
        default=None,
        metavar="URL",
        help="SQLAlchemy URL of the database (default sqlite:///nasbench.db)",
    )
    p.add_argument("--study-name", default=None, help="default: SPACE_DATASET")
    arguments.add_data(p)
    arguments.add_budget(
        p,
        what="one proxy training (default on cifar10, cifar100 and image folders: the measured "
        "CPU budget steps=1053,width=0.25,image_size=8; elsewhere the dataset's recipe; a rerun: "
        "the study's own)",
    )
    arguments.add_device(p, default=None)
    p.add_argument("--sampler", default=None, help=arguments.sampler_help())
    p.add_argument(
        "--objectives",
        default=None,
        help="acc followed by any of macs, latency, params (default acc,macs)",
    )
    p.add_argument("--max-macs", type=arguments.positive_float, default=None)
    p.add_argument("--max-params", type=arguments.positive_float, default=None)
    p.add_argument("--max-latency-ms", type=arguments.positive_float, default=None)
    p.add_argument("--seed", type=arguments.seed_int, default=None)
    p.add_argument(
        "--workers",
        type=arguments.bounded_int(1, 1024),
        default=None,
        help="worker processes on this machine sharing the study",
    )
    p.add_argument("--devices", default=None, help="one worker per device, e.g. cuda:0,cuda:1")
    arguments.add_benchmark(p)
    p.add_argument(
        "--no-pruning",
        dest="pruning",
        action="store_const",
        const=False,
        default=None,
        help="train every trial to the end",
    )
    p.add_argument(
        "--confirm-runs",
        type=arguments.bounded_int(1, 100),
        default=None,
        metavar="N",
        help="train an arch that would join the Pareto front N times in all, with different "
        "seeds, and take the mean accuracy (default 3; 1: off)",
    )
    p.add_argument(
        "--rungs",
        type=arguments.bounded_int(1, 10),
        default=None,
        metavar="N",
        help="successive halving: rung r trains the budget's steps x FACTOR**r, the best "
        "1/FACTOR of a rung's archs (non-dominated sorting) go on to the next (default 1: off)",
    )
    p.add_argument(
        "--reduction-factor",
        type=arguments.bounded_int(2, 100),
        default=None,
        metavar="FACTOR",
        help="with --rungs: how much longer each rung trains, and how few go on (default 3)",
    )
    p.add_argument(
        "--promotion",
        default=None,
        choices=("retrain", "continue"),
        help="with --rungs: how a promoted arch trains, continuing its lower rung's state saved "
        "before the decay of a warm-up-stable-decay schedule (continue: every rung trains with "
        "that schedule; the default where the states have a home: SQLite or --weights-dir) or "
        "from scratch (retrain; the default elsewhere); a study resumes with its own",
    )
    p.add_argument(
        "--weights-dir",
        default=None,
        metavar="FOLDER",
        help="with --promotion continue: where the saved states lie (default: beside a SQLite "
        "database; with PostgreSQL, a folder every machine shares); removed as they are done",
    )
    p.add_argument(
        "--zero-cost",
        default=None,
        metavar="PROXY",
        help=f"score each arch with a zero-cost proxy instead of training it "
        f"({', '.join(ZERO_COST_NAMES)}); the score is the first objective",
    )
    p.add_argument(
        "--prescreen",
        default=None,
        metavar="PROXY",
        help="before a trained search, score --prescreen-candidates random archs with this "
        "zero-cost proxy; the best tenth (non-dominated sorting of score and MACs) train first",
    )
    p.add_argument(
        "--prescreen-candidates",
        type=arguments.bounded_int(2, 100_000),
        default=None,
        metavar="N",
        help="with --prescreen: how many random archs to score (default 500)",
    )
    p.add_argument(
        "--judge",
        default=None,
        metavar="TABLE",
        help="a benchmark table of the search's space (shipped name or CSV): each evaluated "
        "arch's row also gets the table's truth (truth_acc); nasbench judge scores the front",
    )


def run(args: argparse.Namespace) -> int:
    """Run (or resume) the search the flags (and --config) describe; return the exit status.
    Everything is checked before the line saying how many workers run is printed."""
    flags = {k: v for k, v in vars(args).items() if k not in ("command", "config", "run")}
    settings = make_settings(args.config, flags)  # (bad values refused before torch is loaded)

    from nasbench.search.run import run_search
    from nasbench.search.workers import choose_workers, run_workers

    settings, chosen = choose_workers(settings)
    if settings.workers > 1 or settings.devices:
        return run_workers(settings, announce=chosen)
    return run_search(settings)
