"""The argument groups several commands share, defined once (storage, study, trials, format, budget,
data, benchmark, latency timing), and the argparse types that check numbers at the border.

Nothing here imports torch or pandas: building the parser, --help and a one-line error stay fast.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable

from nasbench.budget import KNOBS, ProxyBudget, combine
from nasbench.config import DEFAULT_STORAGE, DEVICES, LATENCY_BUDGET_S, SEED_MAX
from nasbench.names import DATASET_NAMES, FORMATS, SAMPLER_NAMES
from nasbench.spaces import space_names

LATENCY_BUDGET_MAX_S = 600.0  # a typo such as 1e20 would time one model until killed
COUNT_MAX = 1_000_000  # trials, seeds and other counts: far above any real run, far below a hang


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high}], got {value}")
        return value

    return parse


positive_int = bounded_int(1, COUNT_MAX)
non_negative_int = bounded_int(0, COUNT_MAX)
seed_int = bounded_int(0, SEED_MAX)


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def latency_seconds(text: str) -> float:
    value = positive_float(text)
    if value > LATENCY_BUDGET_MAX_S:
        raise argparse.ArgumentTypeError(f"must be at most {LATENCY_BUDGET_MAX_S:g} s, got {text}")
    return value


def storage_url(text: str) -> str:
    """An argparse type: a storage URL; empty is refused, not taken as the default."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"must name a database, e.g. {DEFAULT_STORAGE} (an empty URL is refused)"
        )
    return text


def progress(text: str) -> None:
    """Progress lines go to stderr, so that stdout holds only the command's table."""
    print(text, file=sys.stderr, flush=True)


# ---- groups -------------------------------------------------------------------------------------


def add_storage(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--storage",
        type=storage_url,
        default=DEFAULT_STORAGE,
        metavar="URL",
        help=f"SQLAlchemy URL of the database (default {DEFAULT_STORAGE})",
    )


def add_study_name(
    p: argparse.ArgumentParser, *, required: bool = False, many: bool = False, help: str = ""
) -> None:
    p.add_argument(
        "--study-name",
        required=required,
        nargs="+" if many else None,
        default=None,
        help=help or ("default: every study" if many else None),
    )


def add_trial_selection(p: argparse.ArgumentParser, *, default_all: bool = False) -> None:
    """Trials are named the same way in every command: --trial N (repeatable) or --pareto."""
    every = " (default: every evaluated trial)" if default_all else ""
    p.add_argument(
        "--trial",
        type=non_negative_int,
        action="append",
        default=None,
        metavar="N",
        help="a trial number (repeatable)" + every,
    )
    p.add_argument("--pareto", action="store_true", help="every trial on the study's Pareto front")


def add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table, md, latex for people; json, csv for programs",
    )


def add_latency_budget(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--latency-budget",
        type=latency_seconds,
        default=LATENCY_BUDGET_S,
        metavar="SECONDS",
        help=f"seconds of warm-up and timed blocks per model (default {LATENCY_BUDGET_S:g})",
    )


def add_device(p: argparse.ArgumentParser, *, default: str | None = "auto") -> None:
    p.add_argument("--device", choices=DEVICES, default=default)


def add_budget(p: argparse.ArgumentParser, *, what: str = "a proxy training") -> None:
    """--budget and its shorthands, one flag per knob (budget_of reads them)."""
    p.add_argument(
        "--budget",
        default=None,
        metavar='"epochs=2,image_size=16"',
        help=f"what {what} costs: any of {', '.join(KNOBS)}; the flags below are shorthands",
    )
    p.add_argument("--epochs", type=positive_int, default=None)
    p.add_argument("--image-size", type=positive_int, default=None)
    p.add_argument("--batch-size", type=positive_int, default=None)
    p.add_argument("--train-fraction", type=positive_float, default=None)


def budget_of(args: argparse.Namespace) -> ProxyBudget | None:
    """The budget the flags give (None when none was given); one line when --budget and a
    shorthand disagree or a knob is out of range."""
    budget = ProxyBudget.parse(args.budget) if args.budget is not None else None
    # (knobs without a shorthand flag, such as val_images, come only through --budget)
    return combine(budget, {k: getattr(args, k, None) for k in KNOBS}, "--budget")


def add_data(p: argparse.ArgumentParser, *, dataset_default: str | None = None) -> None:
    p.add_argument(
        "--dataset",
        default=dataset_default,
        help=f"{', '.join(DATASET_NAMES)} (default {dataset_default or 'digits'}, offline)",
    )
    p.add_argument(
        "--data-dir", default=None, help="where torchvision datasets live (default data)"
    )


def add_benchmark(
    p: argparse.ArgumentParser,
    help_text: str = "look accuracies (and costs) up in a benchmark table instead of training: "
    "a shipped one (nasbench benchmarks) or a CSV file",
) -> None:
    p.add_argument("--benchmark", default=None, metavar="NAME|FILE.csv", help=help_text)
    p.add_argument(
        "--select-column",
        default=None,
        metavar="COLUMN[,COLUMN...]",
        help="the table's accuracy to select on (default valid_acc; several are averaged)",
    )
    p.add_argument(
        "--report-column",
        default=None,
        metavar="COLUMN[,COLUMN...]",
        help="the table's accuracy to report (default test_acc, when the table has it)",
    )
    p.add_argument(
        "--latency-device",
        default=None,
        metavar="DEVICE",
        help="the table's latency column for the latency objective (default pixel3); in a "
        "trained search, the latency `nasbench measure --label DEVICE` stored, looked up",
    )


def space_help(prefix: str = "search space") -> str:
    """The shipped spaces by name, from the search_spaces package (no space is imported)."""
    return f"{prefix}: {', '.join(space_names())}, or a dotted module path of your own"


def sampler_help() -> str:
    return (
        f"{', '.join(SAMPLER_NAMES)} (default: random for a trained search of several objectives, "
        "local for one objective over nb201, else tpe; a study resumes with its own)"
    )
