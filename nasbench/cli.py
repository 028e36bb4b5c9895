"""Command-line entry point: the table of commands; each command module owns its arguments.

A command module in `nasbench.commands` defines `add_arguments(parser)` and `run(args) -> int`;
only the module of the command being run is imported, and it imports torch only inside the
functions that run, so that building the parser, `--help` and a one-line error load no torch.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from nasbench import __version__
from nasbench.errors import UsageError

# command -> (its module in nasbench.commands, its one-line help), in the order --help lists them
COMMANDS = {
    "search": ("search", "explore a space: sample, measure, train proxies, store"),
    "report": ("report", "write the self-contained HTML dashboard"),
    "table": ("table", "the accuracy-versus-MACs table of studies, or of a benchmark table"),
    "profile": ("profile", "params, MACs and latency of models"),
    "train": ("train", "train one architecture with the proxy recipe (nothing is stored)"),
    "baseline": ("baseline", "train torchvision's classic families as reference rows"),
    "retrain": ("retrain", "retrain a study's Pareto front or chosen trials, evaluated on test"),
    "export": ("export", "a study's front or chosen trials as arch JSON, .pt2, ONNX"),
    "measure": ("measure", "re-measure the latency of a study's archs on this machine"),
    "studies": ("studies", "list the studies in a database with their counts"),
    "benchmarks": ("benchmarks", "list the benchmark tables shipped with nasbench"),
    "judge": ("judge", "judge searches run with --judge by their benchmark table's truth"),
    "compare-samplers": ("compare_samplers", "benchmark search strategies on a benchmark table"),
    "fidelity": (
        "fidelity",
        "how well proxy budgets and zero-cost proxies rank a benchmark's archs",
    ),
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad flags in one line with exit status 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; with `only`, of that one command's flags (the others, and all
    for only="", are named for --help without importing their modules)."""
    parser = _Parser(
        prog="nasbench",
        description="Neural-architecture search and benchmarking for image classification.",
    )
    parser.add_argument("--version", action="version", version=f"nasbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or only == name:
            module = importlib.import_module(f"nasbench.commands.{module_name}")
            module.add_arguments(command)
            command.set_defaults(run=module.run)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The command named in argv: its first word that is not an option."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        args = build_parser(only=_command_in(argv) or "").parse_args(argv)
        return args.run(args)
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


if __name__ == "__main__":
    sys.exit(main())
