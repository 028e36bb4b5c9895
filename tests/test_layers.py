"""The layers import one way (top to bottom: cli, commands, search, workflow, evaluation, the torch
side, results and report, plain data); results and report never need torch; no command module
imports another; cli.py is a table of commands, not a program."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nasbench"

# top to bottom; a module may import its own layer and the layers below it, never one above
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("cli", ("nasbench.cli",)),
    ("commands", ("nasbench.commands", "nasbench.arguments")),
    ("search", ("nasbench.search",)),
    ("workflow", ("nasbench.workflow",)),
    ("evaluation", ("nasbench.evaluation",)),
    (
        "torch side",
        (
            "nasbench.layers",
            "nasbench.attention",
            "nasbench.measure",
            "nasbench.data",
            "nasbench.train",
            "nasbench.models",
            "nasbench.profile",
            "nasbench.zero_cost",
            "nasbench.export",
        ),
    ),  # fmt: skip
    ("report", ("nasbench.report",)),
    ("results", ("nasbench.results", "nasbench.store")),
]
# below every layer: plain data (arch dicts, spaces' contract, settings, budgets, benchmark tables)
TORCH_FREE = ("nasbench.arch", "nasbench.arch_strings", "nasbench.benchmarks", "nasbench.budget",
              "nasbench.config", "nasbench.names", "nasbench.results", "nasbench.report")  # fmt: skip
CLI_FUNCTION_MAX_LINES = 60


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, whether the import is inside a function) for each import of a file."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            found.append((name, node.col_offset > 0))
    return found


def _within(module: str, prefix: str) -> bool:
    # by whole names: nasbench.arch_strings is not inside nasbench.arch
    return module == prefix or module.startswith(prefix + ".")


def _layer_of(module: str) -> int:
    """The index of the module's layer in LAYERS (plain data: len(LAYERS))."""
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(_within(module, prefix) for prefix in prefixes):
            return index
    return len(LAYERS)


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: _module_name(p))
def test_a_module_imports_only_its_layer_and_the_layers_below_it(path):
    module = _module_name(path)
    for name, _ in _imports(path):
        if not name.startswith("nasbench.") or _within(name, module):
            continue
        if _layer_of(name) < _layer_of(module):
            above = LAYERS[_layer_of(name)][0]
            pytest.fail(f"{module} imports {name}, from the {above} layer above it")


def test_the_workflow_layer_sits_between_the_search_and_the_evaluator():
    names = [name for name, _ in LAYERS]
    assert names.index("search") < names.index("workflow") < names.index("evaluation")
    workflow = [_module_name(p) for p in (PACKAGE / "workflow").glob("*.py")]
    assert {"nasbench.workflow.contexts", "nasbench.workflow.rows"} <= set(workflow)
    # retrain, baseline and fidelity are evaluation workflows, not the Optuna search
    assert not (PACKAGE / "search" / "retrain.py").exists()
    assert not (PACKAGE / "search" / "fidelity.py").exists()


def test_no_command_module_imports_another():
    for path in sorted((PACKAGE / "commands").glob("*.py")):
        module = _module_name(path)
        others = [
            name
            for name, _ in _imports(path)
            if _within(name, "nasbench.commands") and not _within(name, module)
            and name != "nasbench.commands"
        ]  # fmt: skip
        assert others == [], f"{module} imports {others}: shared code belongs in a layer below"


def test_no_function_in_cli_py_is_long():
    tree = ast.parse((PACKAGE / "cli.py").read_text())
    long = [
        f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > CLI_FUNCTION_MAX_LINES
    ]
    assert long == []


def test_only_commands_import_inside_a_function():
    # commands import their heavy dependencies when they run, so that building the parser and
    # --help need no torch; anywhere else an import inside a function would dodge a cycle
    nested = [
        f"{_module_name(path)}: {name}"
        for path in _sources()
        for name, inside in _imports(path)
        if inside and name.startswith("nasbench.") and _layer_of(_module_name(path)) > 1
    ]
    assert nested == []


def test_results_and_report_load_without_torch():
    modules = [_module_name(p) for p in _sources() if _module_name(p).startswith(TORCH_FREE)]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "bad = [m for m in ('torch', 'torchvision') if m in sys.modules]\n"
        + "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_no_import_cycle_between_nasbench_modules():
    graph: dict[str, set[str]] = {}
    modules = {_module_name(p) for p in _sources()}
    for path in _sources():
        targets = set()
        for name, _ in _imports(path):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != _module_name(path) and name != "nasbench":
                targets.add(name)
        graph[_module_name(path)] = targets
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
