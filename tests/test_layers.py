"""The layers import one way: results and report never need torch; nothing below the commands
imports the CLI, the commands or (below the search) the search."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nasbench"

# layer -> the nasbench layers it must not import (by module prefix)
FORBIDDEN = {
    "nasbench.arch": ("nasbench.",),
    "nasbench.errors": ("nasbench.",),
    "nasbench.config": ("nasbench.results", "nasbench.report", "nasbench.search",
                        "nasbench.evaluation", "nasbench.commands", "nasbench.cli"),
    **{
        plain_data: ("nasbench.results", "nasbench.report", "nasbench.search",
                     "nasbench.evaluation", "nasbench.commands", "nasbench.cli")
        for plain_data in ("nasbench.cells", "nasbench.macro_archs", "nasbench.arch_strings")
    },
    "nasbench.results": ("nasbench.report", "nasbench.search", "nasbench.evaluation",
                         "nasbench.commands", "nasbench.cli"),
    "nasbench.report": ("nasbench.search", "nasbench.evaluation", "nasbench.commands",
                        "nasbench.cli"),
    "nasbench.evaluation": ("nasbench.search", "nasbench.report", "nasbench.commands",
                            "nasbench.cli"),
    "nasbench.search": ("nasbench.report", "nasbench.commands", "nasbench.cli"),
    "nasbench.commands": ("nasbench.cli",),
    **{
        torch_side: ("nasbench.search", "nasbench.evaluation", "nasbench.report",
                     "nasbench.commands", "nasbench.cli")
        for torch_side in ("nasbench.layers", "nasbench.attention", "nasbench.measure",
                           "nasbench.data", "nasbench.train", "nasbench.models", "nasbench.profile",
                           "nasbench.zero_cost")
    },
}  # fmt: skip
TORCH_FREE = ("nasbench.arch", "nasbench.cells", "nasbench.macro_archs", "nasbench.arch_strings",
              "nasbench.benchmarks", "nasbench.config", "nasbench.results", "nasbench.report")  # fmt: skip


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


def _within(module: str, layer: str) -> bool:
    # by whole names: nasbench.arch_strings is not inside nasbench.arch
    return module == layer or module.startswith(layer + ".")


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: _module_name(p))
def test_a_module_imports_only_the_layers_below_it(path):
    module = _module_name(path)
    rules = [banned for layer, banned in FORBIDDEN.items() if _within(module, layer)]
    for name, _ in _imports(path):
        for banned in (b for rule in rules for b in rule):
            if name.startswith(banned) and not name.startswith(module):
                pytest.fail(f"{module} imports {name}, a layer above it")


def test_nothing_imports_inside_a_function_to_dodge_a_cycle():
    nasbench_imports_inside_functions = [
        f"{_module_name(path)}: {name}"
        for path in _sources()
        for name, nested in _imports(path)
        if nested and name.startswith("nasbench.") and not path.name == "cli.py"
    ]
    assert nasbench_imports_inside_functions == []


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
