"""A benchmark space is its space module plus a torch-free codec module of the same name: no code in
the package tests a space's name, codecs are found by name and read arch strings without torch, and
a space that knows its costs says so itself."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from nasbench.arch_strings import (
    arch_string_spaces,
    format_arch_string,
    has_arch_string,
    parse_arch_string,
    resolve_arch,
)
from nasbench.benchmarks import SHIPPED, load_benchmark
from nasbench.evaluation.tabular import arch_costs, space_costs
from nasbench.measure import count_macs, count_params
from nasbench.spaces import SpaceError, load_space, space_names

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nasbench"
TABLE_SPACES = sorted({spec.space for spec in SHIPPED.values()})
USER_SPACE = "fixture_spaces.toy_strings"


def _names_a_space(node: ast.AST, names: set[str]) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in names
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_names_a_space(e, names) for e in node.elts)
    return False


def _space_name_tests(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, code) of each `==`/`!=`/`in` test against a space name and each load_space("...")."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            tests = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)
            operands = [node.left, *node.comparators]
            if any(isinstance(op, tests) for op in node.ops) and any(
                _names_a_space(o, names) for o in operands
            ):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "load_space" and node.args and isinstance(node.args[0], ast.Constant):
                found.append((node.lineno, ast.unparse(node)))
    return found


def test_no_code_in_the_package_tests_a_space_s_name():
    names = set(space_names())
    found = [
        f"{path.relative_to(ROOT)}:{line}: {code}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, code in _space_name_tests(path.read_text(), names)
    ]
    assert found == [], "a space says what it does, not its name:\n" + "\n".join(found)


def test_the_name_check_finds_comparisons_memberships_and_loads_by_a_literal_name():
    source = (
        'if space.NAME == "nb201": pass\n'
        'ok = name not in ("x", "nas_bench_macro")\n'
        'space = spaces.load_space("mobilenet")\n'
        'fine = name == "nb201-cifar10" or load_space(name)\n'
        'row = Shipped("nb201", "cifar10")\n'
    )
    assert [line for line, _ in _space_name_tests(source, set(space_names()))] == [1, 2, 3]


def test_every_space_with_a_table_has_a_torch_free_codec_found_by_name_that_round_trips():
    assert set(TABLE_SPACES) <= set(arch_string_spaces()) <= set(space_names())
    script = f"""
import importlib, sys
from nasbench.arch_strings import format_arch_string, parse_arch_string
for name in {arch_string_spaces()!r}:
    codec = importlib.import_module("search_spaces.arch_strings." + name)
    arch = parse_arch_string(name, codec.EXAMPLE)
    assert arch == codec.parse(codec.EXAMPLE), name
    assert format_arch_string(name, arch) == codec.format(arch) == codec.EXAMPLE, name
    assert "torch" not in sys.modules, name + " pulled in torch"
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    for name in arch_string_spaces():  # the codec's arch is one its space accepts
        codec = __import__(f"search_spaces.arch_strings.{name}", fromlist=["EXAMPLE"])
        load_space(name).validate(parse_arch_string(name, codec.EXAMPLE))


def test_space_names_lists_spaces_only_not_the_codec_package():
    assert "arch_strings" not in space_names()
    with pytest.raises(SpaceError, match="unknown space 'arch_strings'"):
        load_space("arch_strings")


def test_a_space_without_arch_strings_names_the_spaces_that_have_them():
    assert not has_arch_string("mobilenet")
    with pytest.raises(SpaceError) as raised:
        parse_arch_string("mobilenet", "x")
    assert str(raised.value).endswith("spaces with one: " + ", ".join(arch_string_spaces()))


def test_a_user_space_offers_its_own_arch_strings():
    assert has_arch_string(USER_SPACE) and not has_arch_string("fixture_spaces.toy")
    arch = parse_arch_string(USER_SPACE, "w8")
    assert arch == {"width": 8, "poison": "none"}
    assert format_arch_string(USER_SPACE, arch) == "w8"
    space, resolved, label = resolve_arch(f"{USER_SPACE}:w16")
    assert space.NAME == "toy_strings" and resolved["width"] == 16 and label == f"{USER_SPACE}:w16"
    with pytest.raises(SpaceError, match="has no benchmark arch string"):
        parse_arch_string("fixture_spaces.toy", "w8")


def test_a_user_space_s_table_gets_the_costs_of_its_built_networks(tmp_path):
    path = tmp_path / "toy.csv"
    pd.DataFrame({"arch": ["w4", "w16"], "valid_acc": [50.0, 60.0]}).to_csv(path, index=False)
    bench = load_benchmark(path, space=USER_SPACE)
    space = load_space(USER_SPACE)
    arch = parse_arch_string(USER_SPACE, "w16")
    model = space.build(arch, bench.num_classes, 3, bench.image_size)
    expected = {
        "params": count_params(model),
        "macs": count_macs(model, (1, 3, bench.image_size, bench.image_size)).macs,
    }
    assert arch_costs(space, bench, arch) == expected
    assert arch_costs(space, bench, json.loads(json.dumps(arch))) == expected  # cached by value


def test_a_space_that_knows_its_costs_is_asked_instead_of_built():
    asked = []

    def own_costs(arch, num_classes, image_size):
        asked.append((arch, num_classes, image_size))
        return {"params": 1, "macs": 2}

    space = SimpleNamespace(arch_costs=own_costs, build=None)  # building would fail
    assert space_costs(space, {"a": 1}, 10, 32) == {"params": 1, "macs": 2}
    assert asked == [({"a": 1}, 10, 32)]
    assert hasattr(load_space("nb201"), "arch_costs")
