"""The command line as a table of commands: every command's --help works, a bad flag is one line
on stderr with exit status 2, building the parser and --help load no torch, and the names the help
lists come from the registries the commands use."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import subprocess
import sys

import pytest

from nasbench import names
from nasbench.cli import COMMANDS, main
from nasbench.spaces import space_names

# the fewest arguments each command needs, so that a bad flag, and not a missing one, is the error
REQUIRED: dict[str, list[str]] = {
    "profile": ["resnet18"],
    "train": ["--space", "mobilenet", "--arch", "mobilenet_v2"],
    "baseline": ["--models", "resnet18"],
    "retrain": ["--study-name", "s", "--pareto"],
    "export": ["--study-name", "s", "--pareto", "--output", "out"],
    "measure": ["--study-name", "s"],
    "compare-samplers": ["--benchmark", "nb201-cifar10"],
    "fidelity": ["--benchmark", "nb201-cifar10", "--dataset", "digits", "--archs", "4"],
}


def _has_storage(command: str) -> bool:
    parser = argparse.ArgumentParser()
    importlib.import_module(f"nasbench.commands.{COMMANDS[command][0]}").add_arguments(parser)
    return "--storage" in parser.format_help()


WITH_STORAGE = [command for command in COMMANDS if _has_storage(command)]


def _main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # --help exits through argparse
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


def _words(text: str) -> str:
    return " ".join(text.split())  # argparse wraps help at the terminal's width


def test_every_module_of_the_table_defines_add_arguments_run_and_a_docstring():
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"nasbench.commands.{module_name}")
        assert callable(module.add_arguments) and callable(module.run), name
        assert module.__doc__ and help_text, name


def test_nasbench_help_lists_every_command():
    code, out, err = _main(["--help"])
    assert code == 0 and err == ""
    for name, (_, help_text) in COMMANDS.items():
        assert name in out
        assert _words(help_text) in _words(out)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_has_help(command):
    code, out, err = _main([command, "--help"])
    assert code == 0 and err == ""
    assert out.startswith(f"usage: nasbench {command}")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_bad_flag_is_one_line_and_exit_2(command):
    code, out, err = _main([command, *REQUIRED.get(command, []), "--no-such-flag"])
    assert code == 2 and out == ""
    assert err.splitlines() == ["nasbench: error: nasbench: unrecognized arguments: --no-such-flag"]


@pytest.mark.parametrize("command", [c for c in COMMANDS if c in REQUIRED])
def test_a_missing_required_argument_is_one_line_and_exit_2(command):
    code, out, err = _main([command])
    lines = err.splitlines()
    assert code == 2 and out == "" and len(lines) == 1, err
    assert lines[0].startswith(f"nasbench: error: nasbench {command}: ")


@pytest.mark.parametrize("command", WITH_STORAGE)
def test_an_empty_storage_is_refused_not_taken_as_the_default(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default's nasbench.db would appear here
    code, out, err = _main([command, *REQUIRED.get(command, []), "--storage", ""])
    lines = err.splitlines()
    assert code == 2 and out == "" and len(lines) == 1, err
    assert "argument --storage" in lines[0] and "empty URL is refused" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_command_is_one_line_naming_the_commands():
    code, _, err = _main(["nosuch"])
    assert code == 2 and len(err.splitlines()) == 1
    assert all(repr(name) in err for name in COMMANDS)


def test_the_parser_and_every_help_load_no_torch():
    code = f"""
import contextlib, io, sys
from nasbench.cli import build_parser, main
build_parser()
for argv in [["--help"], *[[name, "--help"] for name in {list(COMMANDS)!r}]]:
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(argv)
        except SystemExit as exit_:
            assert exit_.code == 0, argv
with contextlib.redirect_stderr(io.StringIO()):
    assert main(["search", "--no-such-flag"]) == 2
loaded = [m for m in ("torch", "torchvision") if m in sys.modules]
assert not loaded, loaded
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("argv", [["--help"], ["search", "--help"], ["search", "--nosuch"]])
def test_the_fast_paths_load_neither_pandas_nor_optuna(argv):
    code = f"""
import contextlib, io, sys
from nasbench.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        main({argv!r})
    except SystemExit:
        pass
loaded = [m for m in ("torch", "optuna", "pandas", "sqlalchemy") if m in sys.modules]
assert not loaded, loaded
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_light_name_registries_agree_with_their_modules():
    from nasbench import data, zero_cost
    from nasbench.results import formats
    from nasbench.search import samplers

    assert data.DATASET_NAMES == names.DATASET_NAMES
    assert samplers.SAMPLER_NAMES == names.SAMPLER_NAMES
    assert tuple(zero_cost.ZERO_COST_PROXIES) == names.ZERO_COST_NAMES
    assert formats.FORMATS == names.FORMATS


def test_the_help_lists_the_registered_names():
    _, search_help, _ = _main(["search", "--help"])
    search_help = _words(search_help)
    for name in [*space_names(), *names.SAMPLER_NAMES, *names.DATASET_NAMES]:
        assert name in search_help, name
    _, fidelity_help, _ = _main(["fidelity", "--help"])
    assert ",".join(names.ZERO_COST_NAMES) in fidelity_help
    _, table_help, _ = _main(["table", "--help"])
    assert all(fmt in table_help for fmt in names.FORMATS)
