"""Command-line entry point: argument parsing only; every command calls one function."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from nasbench import __version__
from nasbench.config import (
    DEFAULT_STORAGE,
    LATENCY_BUDGET_S,
    RETRAIN_EPOCH_FACTOR,
    RETRAIN_SEEDS,
)
from nasbench.errors import UsageError
from nasbench.results.formats import FORMATS


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad flags in one line with exit status 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _add_storage(p: argparse.ArgumentParser) -> None:
    p.add_argument("--storage", default=None, help=f"SQLAlchemy URL (default {DEFAULT_STORAGE})")


def _add_trial_flags(p: argparse.ArgumentParser, default_all: bool = False) -> None:
    """Trials are named the same way in every command: --trial N (repeatable) or --pareto."""
    every = " (default: every evaluated trial)" if default_all else ""
    p.add_argument(
        "--trial", type=_non_negative_int, action="append", default=None, metavar="N",
        help="a trial number (repeatable)" + every,
    )  # fmt: skip
    p.add_argument("--pareto", action="store_true", help="every trial on the study's Pareto front")


def _add_latency_budget(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--latency-budget", type=_positive_float, default=LATENCY_BUDGET_S, metavar="SECONDS",
        help=f"seconds of warm-up and timed blocks per model (default {LATENCY_BUDGET_S:g})",
    )  # fmt: skip


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nasbench",
        description="Neural-architecture search and benchmarking for image classification.",
    )
    parser.add_argument("--version", action="version", version=f"nasbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("profile", help="params, MACs and latency of models")
    p.add_argument(
        "models",
        nargs="+",
        metavar="MODEL",
        help="torchvision model name, SPACE:NAME or SPACE:FILE.json",
    )
    p.add_argument(
        "--input-size",
        type=_positive_int,
        default=None,
        help="input side in pixels (default: each torchvision model's weights crop "
        "size; 224 for SPACE archs)",
    )
    p.add_argument("--batch-size", type=_positive_int, default=1)
    p.add_argument(
        "--num-classes",
        type=_positive_int,
        default=None,
        help="classes of the head (default: 1000 for torchvision models and references)",
    )
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    p.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="CPU threads for latency (default: all cores)",
    )
    p.add_argument("--no-latency", action="store_true")
    _add_latency_budget(p)
    p.add_argument("--format", choices=FORMATS, default="table")

    p = sub.add_parser("search", help="explore a space: sample, measure, train proxies, store")
    p.add_argument(
        "--config",
        default=None,
        metavar="FILE.toml",
        help="settings file (see experiments/); flags given here win",
    )
    p.add_argument(
        "--space",
        default=None,
        help="search space (mobilenet, resnet, vit, swin, nb201, nas_bench_macro, "
        "channel_bench_mobilenet, channel_bench_resnet, or a dotted module path)",
    )
    p.add_argument(
        "--trials",
        type=_positive_int,
        default=None,
        help="the study's total number of trials (default 200); a rerun completes it",
    )
    _add_storage(p)
    p.add_argument("--study-name", default=None, help="default: SPACE_DATASET")
    _add_data_flags(p)
    p.add_argument(
        "--sampler",
        default=None,
        help="tpe, nsga2, random, qmc, gp, grid, local... (default: per space)",
    )
    p.add_argument(
        "--objectives",
        default=None,
        help="acc followed by any of macs, latency, params (default acc,macs)",
    )
    p.add_argument("--max-macs", type=_positive_float, default=None)
    p.add_argument("--max-params", type=_positive_float, default=None)
    p.add_argument("--max-latency-ms", type=_positive_float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="worker processes on this machine sharing the study",
    )
    p.add_argument("--devices", default=None, help="one worker per device, e.g. cuda:0,cuda:1")
    _add_benchmark_flags(p)
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
        type=_positive_int,
        default=None,
        metavar="N",
        help="train an arch that would join the Pareto front N times in all, with different "
        "seeds, and take the mean accuracy (default 3; 1: off)",
    )

    p = sub.add_parser("train", help="train one architecture with the proxy recipe")
    p.add_argument("--space", required=True)
    p.add_argument(
        "--arch",
        required=True,
        metavar="NAME|FILE.json|ARCHSTRING",
        help="a reference arch name, an arch JSON file, or the space's benchmark arch string",
    )
    _add_data_flags(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=FORMATS, default="table")

    p = sub.add_parser("studies", help="list the studies in a database with their counts")
    _add_storage(p)
    p.add_argument("--format", choices=FORMATS, default="table")

    p = sub.add_parser("report", help="write the self-contained HTML dashboard")
    _add_storage(p)
    p.add_argument("--study-name", nargs="+", default=None, help="default: every study")
    p.add_argument("--output", default=None, metavar="FILE.html")
    p.add_argument(
        "--latency-device", default=None, metavar="LABEL",
        help="show the latency measured on this device (nasbench measure --label)",
    )  # fmt: skip

    p = sub.add_parser(
        "measure", help="re-measure the latency of a study's archs on this machine, labelled"
    )
    _add_storage(p)
    p.add_argument("--study-name", required=True)
    _add_trial_flags(p, default_all=True)
    p.add_argument("--label", default=None, help="the device's label (default: its name)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--threads", type=_positive_int, default=None, help="default: all cores")
    _add_latency_budget(p)
    p.add_argument("--format", choices=FORMATS, default="table")

    p = sub.add_parser("table", help="the accuracy-versus-MACs table")
    _add_storage(p)
    p.add_argument("--study-name", nargs="+", default=None, help="default: every study")
    p.add_argument("--pareto", action="store_true", help="only the non-dominated rows")
    p.add_argument(
        "--space", default=None, help="with --benchmark FILE.csv: the space of its archs"
    )
    _add_benchmark_flags(p, help_text="print a benchmark table's rows (with --pareto: its true "
                         "front) instead of a study's")  # fmt: skip
    p.add_argument(
        "--objectives", default=None, help="with --benchmark: acc and the costs (default acc,macs)"
    )
    p.add_argument("--sort", default=None, metavar="COLUMN")
    p.add_argument("--format", choices=FORMATS, default="table")

    p = sub.add_parser("baseline", help="train torchvision's classic families as reference rows")
    p.add_argument("--models", required=True, help="comma-separated torchvision model names")
    _add_storage(p)
    p.add_argument("--study-name", default=None, help="the study the rows belong to")
    _add_data_flags(p)
    p.add_argument("--seed", type=int, default=0)

    p.add_argument(
        "--seeds", type=_positive_int, default=None, metavar="K",
        help="train each model K times, seeds SEED..SEED+K-1 (default 1)",
    )  # fmt: skip
    p.add_argument(
        "--config", default=None, metavar="FILE.toml",
        help="epochs, batch_size, image_size, data_dir and [train] of a retrain recipe file",
    )  # fmt: skip

    p = sub.add_parser(
        "retrain", help="retrain a study's Pareto front or chosen trials, evaluated on test"
    )
    _add_storage(p)
    p.add_argument("--study-name", required=True)
    _add_trial_flags(p)
    p.add_argument(
        "--epochs", type=_positive_int, default=None,
        help=f"default: {RETRAIN_EPOCH_FACTOR} x the proxy's epochs",
    )  # fmt: skip
    p.add_argument(
        "--seeds", type=_positive_int, default=RETRAIN_SEEDS, metavar="K",
        help=f"trainings per trial, seeds 0..K-1 (default {RETRAIN_SEEDS})",
    )  # fmt: skip
    p.add_argument(
        "--config", default=None, metavar="FILE.toml",
        help="epochs, batch_size, image_size, data_dir and [train] of the retrain recipe",
    )  # fmt: skip
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument(
        "--weights-dir", default=None, metavar="DIR",
        help="where the retrained weights go (default: beside a SQLite file, NAME_weights/)",
    )  # fmt: skip

    p = sub.add_parser(
        "export", help="a study's front or chosen trials as arch JSON, .pt2 (torch.export), ONNX"
    )
    _add_storage(p)
    p.add_argument("--study-name", required=True)
    _add_trial_flags(p)
    p.add_argument("--output", required=True, metavar="DIR")
    p.add_argument(
        "--onnx", action="store_true",
        help="also write ONNX, checked in ONNX Runtime against PyTorch (pip install 'nasbench[onnx]')",
    )  # fmt: skip

    p = sub.add_parser(
        "fidelity", help="how well proxy budgets and zero-cost proxies rank a benchmark's archs"
    )
    _add_benchmark_flags(
        p, help_text="the table whose archs are trained and judged (NAME|FILE.csv)"
    )
    p.add_argument(
        "--space", default=None, help="with --benchmark FILE.csv: the space of its archs"
    )
    p.add_argument("--dataset", required=True, help="a dataset with the benchmark's classes")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--archs", type=_positive_int, required=True, metavar="K")
    p.add_argument(
        "--budget",
        action="append",
        default=None,
        metavar='"epochs=3,image_size=16"',
        help="a proxy budget (repeatable; default: the dataset's search recipe; "
        '"" with --zero-cost: train nothing)',
    )
    p.add_argument("--zero-cost", default="", metavar="synflow,nwot,snip,grad_norm")
    p.add_argument("--seed", type=int, default=0)
    _add_storage(p)
    p.add_argument("--study-name", default=None, help="default: fidelity_BENCHMARK_DATASET")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--format", choices=FORMATS, default="table")

    p = sub.add_parser("benchmarks", help="list the benchmark tables shipped with nasbench")
    p.add_argument("--format", choices=FORMATS, default="table")

    p = sub.add_parser(
        "compare-samplers", help="benchmark search strategies on a tabular benchmark"
    )
    p.add_argument("--space", default=None, help="default: the shipped benchmark's space")
    p.add_argument("--benchmark", required=True, metavar="NAME|FILE.csv")
    p.add_argument("--select-column", default=None, metavar="COLUMN[,COLUMN...]")
    p.add_argument("--report-column", default=None, metavar="COLUMN[,COLUMN...]")
    p.add_argument("--latency-device", default=None, metavar="DEVICE")
    p.add_argument("--samplers", default="random,tpe,local")
    p.add_argument("--trials", type=_positive_int, default=100)
    p.add_argument("--seeds", type=_positive_int, default=20)
    p.add_argument("--objectives", default="acc")
    p.add_argument("--output", default=None, metavar="FILE.html", help="also write a figure")
    p.add_argument("--format", choices=FORMATS, default="table")

    return parser


def _add_benchmark_flags(
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


def _add_data_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dataset",
        default=None,
        help="digits (default, offline), cifar10, cifar100, mnist, fashion_mnist, "
        "imagefolder:PATH, synthetic",
    )
    p.add_argument(
        "--data-dir", default=None, help="where torchvision datasets live (default data)"
    )
    p.add_argument("--epochs", type=_positive_int, default=None)
    p.add_argument("--image-size", type=_positive_int, default=None)
    p.add_argument("--batch-size", type=_positive_int, default=None)
    p.add_argument("--train-fraction", type=_positive_float, default=None)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return run(args)
    except UsageError as err:
        print(f"nasbench: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nasbench: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug, not bad input: still one line unless debugging
        if os.environ.get("NASBENCH_DEBUG"):
            raise
        print(
            f"nasbench: internal error: {type(err).__name__}: {err} "
            "(set NASBENCH_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


def run(args: argparse.Namespace) -> int:
    if args.command == "profile":
        from nasbench.commands.profile import run_profile

        return run_profile(
            args.models,
            input_size=args.input_size,
            batch_size=args.batch_size,
            num_classes=args.num_classes,
            device=args.device,
            dtype=args.dtype,
            threads=args.threads,
            latency=not args.no_latency,
            output_format=args.format,
            budget_s=args.latency_budget,
        )
    if args.command == "search":
        from nasbench.commands.search import run as run_search
        from nasbench.config import make_settings

        flags = {k: v for k, v in vars(args).items() if k not in ("command", "config")}
        return run_search(make_settings(args.config, flags))
    if args.command == "train":
        from nasbench.commands.train import run_train

        return run_train(
            args.space,
            args.arch,
            dataset=args.dataset or "digits",
            data_dir=args.data_dir,
            epochs=args.epochs,
            image_size=args.image_size,
            batch_size=args.batch_size,
            train_fraction=args.train_fraction or 1.0,
            device=args.device or "auto",
            seed=args.seed,
            output_format=args.format,
        )
    if args.command == "studies":
        from nasbench.commands.studies import run_studies

        return run_studies(args.storage or DEFAULT_STORAGE, output_format=args.format)
    if args.command == "report":
        from nasbench.commands.report import run_report

        return run_report(
            args.storage or DEFAULT_STORAGE, args.study_name, args.output, args.latency_device
        )
    if args.command == "measure":
        from nasbench.commands.measure import run_measure

        return run_measure(
            args.storage or DEFAULT_STORAGE,
            args.study_name,
            trials=args.trial or [],
            pareto=args.pareto,
            label=args.label,
            device=args.device,
            threads=args.threads,
            budget_s=args.latency_budget,
            output_format=args.format,
        )
    if args.command == "table":
        from nasbench.commands.table import run_table

        if args.benchmark:
            from nasbench.commands.benchmarks import run_benchmark_table

            return run_benchmark_table(
                args.benchmark,
                space=args.space,
                select_column=args.select_column,
                report_column=args.report_column,
                objectives=args.objectives or "acc,macs",
                latency_device=args.latency_device,
                pareto=args.pareto,
                output_format=args.format,
            )
        return run_table(
            args.storage or DEFAULT_STORAGE,
            args.study_name,
            pareto=args.pareto,
            sort=args.sort,
            output_format=args.format,
            latency_device=args.latency_device,
        )
    if args.command == "fidelity":
        from nasbench.commands.fidelity import run_fidelity_command
        from nasbench.evaluation.context import resolve_device
        from nasbench.search.fidelity import FidelitySettings

        if not args.benchmark:
            raise UsageError("fidelity needs --benchmark NAME|FILE.csv: the truth to judge against")
        settings = FidelitySettings(
            benchmark=args.benchmark,
            dataset=args.dataset,
            archs=args.archs,
            budgets=args.budget,
            zero_cost=[z.strip() for z in args.zero_cost.split(",") if z.strip()],
            seed=args.seed,
            storage=args.storage or DEFAULT_STORAGE,
            study_name=args.study_name,
            space=args.space,
            select_column=args.select_column,
            report_column=args.report_column,
            data_dir=args.data_dir or "data",
            device=resolve_device(args.device),
        )
        return run_fidelity_command(settings, output_format=args.format)
    if args.command == "retrain":
        from nasbench.search.retrain import RetrainSettings, run_retrain

        settings = RetrainSettings(
            storage=args.storage or DEFAULT_STORAGE,
            study_name=args.study_name,
            trials=tuple(args.trial or ()),
            pareto=args.pareto,
            epochs=args.epochs,
            seeds=args.seeds,
            config=args.config,
            device=args.device,
            weights_dir=args.weights_dir,
        )
        return run_retrain(settings, progress=_progress)
    if args.command == "export":
        from nasbench.commands.export import run_export

        return run_export(
            args.storage or DEFAULT_STORAGE,
            args.study_name,
            trials=args.trial or [],
            pareto=args.pareto,
            output=args.output,
            onnx=args.onnx,
        )
    if args.command == "benchmarks":
        from nasbench.commands.benchmarks import run_benchmarks

        return run_benchmarks(output_format=args.format)
    if args.command == "baseline":
        from nasbench.commands.baseline import run_baseline

        return run_baseline(
            [m.strip() for m in args.models.split(",") if m.strip()],
            storage=args.storage or DEFAULT_STORAGE,
            study_name=args.study_name,
            dataset=args.dataset or "digits",
            data_dir=args.data_dir,
            epochs=args.epochs,
            image_size=args.image_size,
            batch_size=args.batch_size,
            train_fraction=args.train_fraction or 1.0,
            device=args.device or "auto",
            seed=args.seed,
            seeds=args.seeds or 1,
            config=args.config,
        )
    if args.command == "compare-samplers":
        from nasbench.commands.compare_samplers import run_compare

        return run_compare(
            args.space,
            args.benchmark,
            args.samplers.split(","),
            select_column=args.select_column,
            report_column=args.report_column,
            latency_device=args.latency_device,
            trials=args.trials,
            seeds=args.seeds,
            objectives=args.objectives.split(","),
            output=args.output,
            output_format=args.format,
        )
    raise UsageError(f"unknown command {args.command!r}")


if __name__ == "__main__":
    sys.exit(main())
