"""The nb201 space matches NAS-Bench-201 (strings, parameter counts), and tabular benchmark files load or fail clearly."""

from __future__ import annotations

import itertools
import random
import re
from collections import defaultdict
from pathlib import Path

import pytest
import torch

from nasbench.benchmarks import BenchmarkError, load_benchmark
from nasbench.errors import UsageError
from nasbench.measure import count_params
from nasbench.spaces import ArchError, load_space
from search_spaces import nb201

torch.set_num_threads(1)

OPTIMUM = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ALL_CELLS = [
    dict(zip(nb201.EDGES, ops, strict=True)) for ops in itertools.product(nb201.OPS, repeat=6)
]


@pytest.fixture(scope="module")
def benchmark():
    """The NAS-Bench-201 CIFAR-10 table shipped with the package."""
    return load_benchmark("nb201-cifar10")


# ---- the space ---------------------------------------------------------------------------------


def test_every_cell_round_trips_through_the_nb201_string():
    strings = {nb201.to_nb201_string(arch) for arch in ALL_CELLS}
    assert len(strings) == len(ALL_CELLS) == 5**6
    for arch in ALL_CELLS:
        assert nb201.from_nb201_string(nb201.to_nb201_string(arch)) == arch


def test_string_lists_each_node_s_inputs_in_order():
    arch = nb201.REFERENCE_ARCHS["optimum"]
    assert nb201.to_nb201_string(arch) == OPTIMUM
    assert nb201.from_nb201_string(OPTIMUM)["edge_3_2"] == "nor_conv_1x1"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("|nor_conv_3x3~0|+|none~0|none~1|", "3 nodes"),
        ("|nor_conv_3x3~0|+|none~0|+|none~0|none~1|none~2|", "2 input edge"),
        ("|nor_conv_3x3~0|+|none~1|none~0|+|none~0|none~1|none~2|", "must be op~0"),
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "edge_1_0='conv_5x5'"),
        ("nor_conv_3x3~0+|none~0|none~1|+|none~0|none~1|none~2|", r"\|op~i\|"),
    ],
)
def test_malformed_string_is_rejected_with_the_reason(text, complaint):
    with pytest.raises(ArchError, match=complaint):
        nb201.from_nb201_string(text)


def test_suggest_samples_one_categorical_per_edge_from_the_five_ops():
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    arch = nb201.suggest(trial)
    assert list(arch) == list(nb201.EDGES)
    assert {n: list(d.choices) for n, d in trial.distributions.items()} == nb201.GRID
    assert load_space("nb201") is nb201


def test_network_is_backbone_neck_head_and_classifies_cifar_sized_images():
    model = nb201.build(nb201.REFERENCE_ARCHS["optimum"], 10, 3, 32).eval()
    assert [name for name, _ in model.named_children()] == ["backbone", "neck", "head"]
    with torch.no_grad():
        features = model.backbone(torch.randn(2, 3, 32, 32))
        assert features.shape == (2, 64, 8, 8)
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_none_edges_contribute_nothing_to_a_node():
    cell = nb201.Cell(dict.fromkeys(nb201.EDGES, "none") | {"edge_3_0": "skip_connect"}, 4)
    x = torch.randn(1, 4, 5, 5)
    assert torch.equal(cell(x), x)


# ---- parameter counts against the table -----------------------------------------------------------


def _conv_counts(arch: dict[str, str]) -> tuple[int, int]:
    ops = list(arch.values())
    return ops.count("nor_conv_1x1"), ops.count("nor_conv_3x3")


def test_every_cell_of_the_table_has_the_params_of_a_network_built_with_its_convolutions(benchmark):
    # Only convolutions have parameters and all edges have the same shape, so the network's count
    # depends on how many 1x1 and 3x3 convs the cell holds (28 cases): build one real network per
    # case and check every row of the table against it. The next test builds cells directly.
    rows = defaultdict(list)
    for key, params in benchmark.frame["params"].items():
        rows[_conv_counts(nb201.from_nb201_string(key))].append((key, params))
    assert len(benchmark.frame) == 5**6 and len(rows) == 28
    rng = random.Random(0)
    for counts, cells in sorted(rows.items()):
        key, _ = rng.choice(cells)
        with torch.device("meta"):  # shapes only: counting needs no memory nor initialisation
            built = count_params(nb201.build(nb201.from_nb201_string(key), 10, 3, 32))
        wrong = [k for k, params in cells if params != built]
        assert not wrong, f"{counts}: built {built} params, table differs for {wrong[:3]}"


def test_sampled_cells_built_directly_have_the_table_s_params(benchmark):
    for arch in random.Random(1).sample(ALL_CELLS, 12):
        model = nb201.build(arch, 10, 3, 32)
        assert count_params(model) == benchmark.lookup(arch)["params"], nb201.to_nb201_string(arch)


# ---- the tabular benchmark -------------------------------------------------------------------------


def test_lookup_gives_validation_and_test_accuracy_and_params(benchmark):
    assert benchmark.lookup(nb201.REFERENCE_ARCHS["optimum"]) == pytest.approx(
        {"val_acc": 91.606667, "test_acc": 94.373333, "params": 1073466}
    )
    best_by_val = benchmark.frame["val_acc"].idxmax()
    assert best_by_val == OPTIMUM
    assert len(benchmark.fingerprint) == 16


HEADER = "arch,params,valid_acc,test_acc"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bench.csv"
    path.write_text(text)
    return path


def test_a_table_of_a_few_cells_loads_and_refuses_a_cell_it_lacks(tmp_path):
    other = nb201.to_nb201_string(nb201.REFERENCE_ARCHS["resnet"])
    bench = load_benchmark(
        write(tmp_path, f"{HEADER},extra\n{OPTIMUM},1073466,91.6,94.4,x\n"), space="nb201"
    )
    assert bench.lookup(nb201.REFERENCE_ARCHS["optimum"]) == {
        "val_acc": 91.6, "test_acc": 94.4, "params": 1073466
    }  # fmt: skip
    with pytest.raises(BenchmarkError, match=f"no row for {re.escape(other)}"):
        bench.lookup(nb201.REFERENCE_ARCHS["resnet"])
    with pytest.raises(BenchmarkError, match="edge_1_0"):
        bench.lookup({"edge_1_0": "conv"})


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (None, "does not exist"),
        ("", "not a readable CSV"),
        (
            "arch,params,cifar10_valid_acc\n" + f"{OPTIMUM},1,2\n",
            "lacks column.*valid_acc; name its accuracy column.* with --select-column",
        ),
        ("params,valid_acc\n1,2\n", "lacks the arch column"),
        (f"{HEADER}\n", "has no rows"),
        (
            f"{HEADER}\n{OPTIMUM},1073466,ninety,94.4\n",
            "row 1: valid_acc='ninety' is not a finite number",
        ),
        (f"{HEADER}\n{OPTIMUM},1073466,,94.4\n", "row 1: valid_acc=.* is not a finite number"),
        (f"{HEADER}\n{OPTIMUM},1.5,91.6,94.4\n", "params=1.5 is not a whole number"),
        (f"{HEADER}\n|nor_conv_3x3~0|,1,91.6,94.4\n", "row 1: .*3 nodes"),
        (f"{HEADER}\n{OPTIMUM},1,91.6,94.4\n{OPTIMUM},1,91.6,94.4\n", "row 2: .* appears twice"),
        ('arch,params\n"unclosed,1\n', "not a readable CSV"),
    ],
)
def test_malformed_benchmark_file_raises_one_line_benchmark_error(tmp_path, content, complaint):
    path = tmp_path / "missing.csv" if content is None else write(tmp_path, content)
    with pytest.raises(BenchmarkError, match=complaint) as info:
        load_benchmark(path, space="nb201")
    assert isinstance(info.value, UsageError)
    assert "\n" not in str(info.value)
