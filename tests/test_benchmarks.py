"""Benchmark tables as data: the shipped tables, a user's own CSV, costs computed where a table has
none, latency by device, true fronts, and the commands that list and print them."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest
import torch

from nasbench.arch_strings import parse_arch_string
from nasbench.benchmarks import SHIPPED, BenchmarkError, load_benchmark
from nasbench.cli import main
from nasbench.evaluation.context import Context, Request
from nasbench.evaluation.tabular import arch_costs, evaluate_tabular, table_costs, true_front
from nasbench.measure import count_macs, count_params
from nasbench.results.pareto import non_dominated
from nasbench.spaces import load_space
from search_spaces import nb201

torch.set_num_threads(1)

OPTIMUM = nb201.to_nb201_string(nb201.REFERENCE_ARCHS["optimum"])


def built_costs(space_name: str, key: str, classes: int, size: int) -> dict[str, int]:
    space = load_space(space_name)
    model = space.build(parse_arch_string(space_name, key), classes, 3, size)
    return {"params": count_params(model), "macs": count_macs(model, (1, 3, size, size)).macs}


# ---- the shipped tables --------------------------------------------------------------------------


@pytest.mark.slow
def test_every_shipped_table_loads_with_its_space_dataset_and_accuracy_columns():
    expected = {
        "nb201-cifar10": ("nb201", 15625, 10, 32, 94.37),
        "nb201-cifar100": ("nb201", 15625, 100, 32, 73.51),
        "nb201-imagenet16": ("nb201", 15625, 120, 16, 47.33),
        "nas-bench-macro": ("nas_bench_macro", 6561, 10, 32, None),
    }
    assert set(SHIPPED) == set(expected)
    for name, (space, rows, classes, size, best) in expected.items():
        bench = load_benchmark(name)
        assert (bench.space, len(bench), bench.num_classes, bench.image_size) == (
            space, rows, classes, size
        )  # fmt: skip
        assert bench.frame["val_acc"].between(0, 100).all()
        if best is not None:
            reported = bench.frame["val_acc" if bench.validation_only else "test_acc"]
            assert reported.max() == pytest.approx(best, abs=0.005)


def test_imagenet16_is_validation_only_and_says_so():
    bench = load_benchmark("nb201-imagenet16")
    assert bench.validation_only and "test_acc" not in bench.frame
    assert "validation only" in bench.report_label
    assert "test_acc" not in bench.lookup(nb201.REFERENCE_ARCHS["optimum"])


def test_nas_bench_macro_selects_on_one_run_and_reports_the_mean_of_the_other_two():
    bench = load_benchmark("nas-bench-macro")
    raw = pd.read_csv(
        "nasbench/benchmark_tables/nas_bench_macro.csv.gz", dtype={"arch": str}
    ).set_index("arch")
    key = raw["mean_test_acc"].idxmax()
    found = bench.lookup(parse_arch_string("nas_bench_macro", key))
    assert found["val_acc"] == raw.loc[key, "test_acc_1"]
    assert found["test_acc"] == pytest.approx(
        (raw.loc[key, "test_acc_2"] + raw.loc[key, "test_acc_3"]) / 2
    )
    assert (found["params"], found["macs"]) == (raw.loc[key, "params"], raw.loc[key, "macs"])
    assert bench.select_label == "test_acc_1"
    assert bench.report_label == "mean of test_acc_2, test_acc_3"


@pytest.mark.slow
def test_shipped_tables_hold_the_published_values_unchanged(shared_data):
    cifar10 = pd.read_csv(shared_data("nb201_cifar10.csv"))
    bench = load_benchmark("nb201-cifar10")
    assert bench.frame["val_acc"].tolist() == cifar10["cifar10_valid_acc"].tolist()
    assert bench.frame["test_acc"].tolist() == cifar10["cifar10_test_acc"].tolist()
    latency = pd.read_csv(shared_data("nb201_latency_ms.csv"))
    assert bench.frame["latency_ms_pixel3"].tolist() == latency["pixel3"].tolist()
    others = pd.read_csv(shared_data("nb201_cifar100_imagenet16.csv"))
    assert load_benchmark("nb201-cifar100").frame["test_acc"].tolist() == (
        others["cifar100_test_acc"].tolist()
    )
    macro = pd.read_csv(shared_data("nas_bench_macro_cifar10.csv"), dtype={"arch": str})
    assert load_benchmark("nas-bench-macro").frame.index.tolist() == macro["arch"].tolist()


# ---- costs for another dataset's network ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["nb201-cifar100", "nb201-imagenet16"])
def test_nb201_costs_are_those_of_the_network_built_for_the_dataset(name):
    bench = load_benchmark(name)
    space = load_space("nb201")
    keys = random.Random(0).sample(list(bench.frame.index), 6) + [OPTIMUM]
    for key in keys:
        expected = built_costs("nb201", key, bench.num_classes, bench.image_size)
        assert arch_costs(space, bench, parse_arch_string("nb201", key)) == expected, key
    cifar10 = arch_costs(space, load_benchmark("nb201-cifar10"), nb201.REFERENCE_ARCHS["optimum"])
    assert arch_costs(space, bench, nb201.REFERENCE_ARCHS["optimum"]) != cifar10


@pytest.mark.slow
def test_table_costs_keep_the_table_s_params_and_compute_the_missing_macs():
    bench = load_benchmark("nb201-cifar10")
    costs = table_costs(bench)
    assert (costs["params"] == bench.frame["params"]).all()
    assert costs.loc[OPTIMUM, "macs"] == built_costs("nb201", OPTIMUM, 10, 32)["macs"]


# ---- a user's table ------------------------------------------------------------------------------


def test_a_user_table_without_costs_gets_them_computed_in_the_search_rows(tmp_path):
    resnet = nb201.to_nb201_string(nb201.REFERENCE_ARCHS["resnet"])
    path = tmp_path / "mine.csv"
    path.write_text(f"arch,acc_a,acc_b\n{OPTIMUM},90,92\n{resnet},80,84\n")
    bench = load_benchmark(path, space="nb201", select_column="acc_a", report_column="acc_a,acc_b")
    assert bench.select_label == "acc_a" and bench.report_label == "mean of acc_a, acc_b"
    ctx = Context(space=nb201, protocol="p", benchmark=bench)
    row = evaluate_tabular(nb201.REFERENCE_ARCHS["resnet"], ctx, Request()).row
    assert row["status"] == "complete"
    assert (row["val_acc"], row["test_acc"]) == (80.0, 82.0)
    assert {k: row[k] for k in ("params", "macs")} == built_costs("nb201", resnet, 10, 32)


def test_channel_bench_as_a_user_table_with_named_columns(shared_data):
    path = shared_data("channel_bench_macro_mobilenet_cifar10.csv")
    bench = load_benchmark(path, space="channel_bench_mobilenet",
                           select_column="test_acc_1", report_column="mean_test_acc")  # fmt: skip
    assert len(bench) == 4**7 and bench.dataset == "user table"
    front = true_front(bench, ["acc", "macs"], None)
    assert front["macs"].is_monotonic_increasing and front["val_acc"].is_monotonic_increasing
    values = bench.frame[["val_acc", "macs"]].to_numpy()
    assert len(front) == non_dominated(values, ["maximize", "minimize"]).sum()


@pytest.mark.parametrize(
    ("content", "options", "complaint"),
    [
        ("arch,valid_acc\n0120,1\n", {}, "row 1: .*8"),
        (f"arch,valid_acc\n{OPTIMUM},1\n", {}, "row 1: "),
        ("arch,test_acc_1\n01201122,1\n", {}, "lacks column.*valid_acc.*--select-column"),
        ("arch,valid_acc\n01201122,1\n", {"report_column": "mean"}, "lacks column.*mean.*--report"),
        ("arch,valid_acc,macs\n01201122,1,2.5\n", {}, "row 1: macs=2.5 is not a whole number"),
        ("arch,valid_acc,latency_ms_x\n01201122,1,fast\n", {}, "row 1: latency_ms_x='fast'"),
        ("arch,valid_acc\n01201122,150\n", {}, r"valid_acc=150 is outside \[0, 100\]"),
        ("arch,valid_acc\n01201122,-5\n", {}, r"valid_acc=-5 is outside \[0, 100\]"),
        ("arch,valid_acc\n01201122,1e300\n", {}, r"valid_acc=1e\+300 is outside \[0, 100\]"),
        ("arch,valid_acc\n01201122,inf\n", {}, "valid_acc=inf is not a finite number"),
        ("arch,valid_acc,macs\n01201122,1,1e30\n", {}, r"macs=1e\+30 is outside \[0, 1e\+18\]"),
        ("arch,valid_acc,macs\n01201122,1,-5\n", {}, r"macs=-5 is outside \[0, 1e\+18\]"),
        ("arch,valid_acc,latency_ms_x\n01201122,1,-0.5\n", {}, "latency_ms_x=-0.5 is outside"),
        ("arch,valid_acc,valid_acc\n01201122,1,2\n", {}, "names column 'valid_acc' twice"),
        ("arch,valid_acc\n01201122,1\n01201122,2\n", {}, "row 2: .* appears twice"),
        ("x" * (2**20 + 10), {}, "no header line in its first 1 MB"),
    ],
)
def test_a_bad_user_table_is_one_line_naming_the_file_and_row(
    tmp_path, content, options, complaint
):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(BenchmarkError, match=complaint) as info:
        load_benchmark(path, space="nas_bench_macro", **options)
    assert "bad.csv" in str(info.value) and "\n" not in str(info.value)


def test_unknown_names_spaces_and_devices_are_one_line():
    with pytest.raises(BenchmarkError, match="unknown benchmark 'nb202'; shipped: nb201-cifar10"):
        load_benchmark("nb202")
    with pytest.raises(BenchmarkError, match="holds nas_bench_macro archs, not 'nb201'"):
        load_benchmark("nas-bench-macro", space="nb201")
    with pytest.raises(BenchmarkError, match="space 'mobilenet' has no benchmark arch string"):
        load_benchmark("mine.csv", space="mobilenet")
    with pytest.raises(BenchmarkError, match="no latency on 'iphone'.*pixel3"):
        load_benchmark("nb201-cifar10").latency_column("iphone")


# ---- the commands --------------------------------------------------------------------------------


@pytest.mark.slow
def test_benchmarks_lists_the_shipped_tables_with_source_licence_and_how_they_report(capsys):
    assert main(["benchmarks", "--format", "json"]) == 0
    listed = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(listed) == set(SHIPPED)
    macro = listed["nas-bench-macro"]
    assert macro["licence"] == "Apache-2.0" and macro["rows"] == 6561
    assert "mean of runs 2 and 3" in macro["selection_and_reporting"]
    assert listed["nb201-imagenet16"]["reported"] == "validation only"
    assert listed["nb201-cifar10"]["best_reportable_acc"] == 94.37
    assert listed["nb201-cifar10"]["latency_devices"] == 27


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["table", "json", "csv", "md", "latex"])
def test_table_prints_a_benchmark_s_true_front_in_every_format(capsys, fmt):
    assert main(["table", "--benchmark", "nb201-cifar10", "--pareto", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert OPTIMUM in out or OPTIMUM.replace("|", "\\textbar ") in out or fmt == "latex"
    if fmt == "json":
        rows = json.loads(out)
        assert [r["macs"] for r in rows] == sorted(r["macs"] for r in rows)
        assert rows[-1]["arch"] == OPTIMUM and rows[-1]["test_acc"] == pytest.approx(94.3733, 1e-4)


@pytest.mark.slow
def test_table_of_the_latency_front_on_a_named_device(capsys):
    args = ["table", "--benchmark", "nb201-cifar10", "--pareto", "--objectives", "acc,latency",
            "--latency-device", "raspi4", "--format", "json"]  # fmt: skip
    assert main(args) == 0
    rows = json.loads(capsys.readouterr().out)
    bench = load_benchmark("nb201-cifar10")
    assert [r["latency_ms"] for r in rows] == [
        bench.frame.loc[r["arch"], "latency_ms_raspi4"] for r in rows
    ]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--benchmark", "nb202"], "unknown benchmark 'nb202'"),
        (["--benchmark", "nb201-cifar100", "--objectives", "acc,latency"], "no latency"),
        (
            [
                "--benchmark",
                "nb201-cifar10",
                "--objectives",
                "acc,latency",
                "--latency-device",
                "x",
            ],
            "no latency on 'x'",
        ),
    ],
)
def test_table_bad_benchmark_input_is_one_line_and_status_2(capsys, args, complaint):
    assert main(["table", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert complaint in err and len(err.splitlines()) == 1
