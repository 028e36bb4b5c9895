"""Proxy fidelity: budgets parse, the sample is stratified and fixed, every (budget, arch) is one
stored row, a rerun continues and refuses another sample, and the figures agree with scipy."""

from __future__ import annotations

import contextlib
import io
import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from nasbench.benchmarks import load_benchmark
from nasbench.budget import ProxyBudget
from nasbench.cli import main
from nasbench.errors import UsageError
from nasbench.results import store
from nasbench.results.ranking import rank_agreement, summarize_fidelity, top_overlap
from nasbench.workflow.fidelity import FidelitySettings, run_fidelity, sample_archs

torch.set_num_threads(1)

BUDGET = "epochs=1,train_fraction=0.2"


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fidelity.db'}"


# ---- budgets and the sample ----------------------------------------------------------------------


def test_the_sample_draws_one_arch_from_each_stratum_of_the_truth_and_is_seeded():
    bench = load_benchmark("nas-bench-macro")
    sample = sample_archs(bench, 12, seed=0)
    truth = bench.frame["truth"].sort_values(kind="stable")
    strata = np.array_split(truth.index.to_numpy(), 12)
    assert [key in stratum for key, stratum in zip(sample, strata, strict=True)] == [True] * 12
    assert sample == sample_archs(bench, 12, seed=0) != sample_archs(bench, 12, seed=1)
    with pytest.raises(UsageError, match="between 2 and the table's 6561 rows"):
        sample_archs(bench, 6562, seed=0)


# ---- the figures ---------------------------------------------------------------------------------


def test_rank_agreement_matches_scipy_and_its_interval_holds_tau():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=40)
    proxy = truth + rng.normal(scale=0.8, size=40)
    found = rank_agreement(proxy, truth, seed=0)
    assert found["kendall_tau"] == pytest.approx(stats.kendalltau(proxy, truth).statistic)
    assert found["spearman_rho"] == pytest.approx(stats.spearmanr(proxy, truth).statistic)
    assert found["kendall_tau_low"] < found["kendall_tau"] < found["kendall_tau_high"]
    assert found["archs"] == 40 and found["top_fraction"] == 0.2
    perfect = rank_agreement(truth, truth)
    assert perfect["kendall_tau"] == pytest.approx(1) and perfect["top_overlap"] == 1
    assert rank_agreement(-truth, truth)["kendall_tau"] == pytest.approx(-1)


def test_top_overlap_counts_the_truth_s_best_fifth_found_by_the_proxy():
    truth = np.arange(10.0)  # best two: 9 and 8
    proxy = np.array([9, 1, 2, 3, 4, 5, 6, 7, 0, 8.0])  # its best two: indexes 0 and 9
    assert top_overlap(proxy, truth) == 0.5


def test_a_zero_cost_score_without_signal_ranks_below_every_finite_score():
    truth = [90.0, 80.0, 70.0, 60.0]
    rows = pd.DataFrame({
        "source": "fidelity", "status": "complete", "budget": "zero-cost:synflow",
        "proxy_score": [3.0, 2.0, 1.0, math.nan], "val_acc": math.nan, "truth_acc": truth,
        "train_s": 0.1, "eval_s": math.nan,
    })  # fmt: skip
    summary = summarize_fidelity(rows).iloc[0]
    assert summary["archs"] == 4 and summary["kendall_tau"] == pytest.approx(1.0)
    # a trained budget's missing accuracy is not a score: that row is not complete
    failed = rows.assign(budget="epochs=1", status=["complete"] * 3 + ["failed"])
    assert summarize_fidelity(failed).iloc[0]["archs"] == 3


# ---- a fidelity run ------------------------------------------------------------------------------


def test_a_trained_budget_also_ranks_by_its_training_speed_estimate_lower_first():
    truth = [60.0, 70.0, 80.0, 90.0]
    rows = pd.DataFrame({
        "source": "fidelity", "status": "complete", "budget": "epochs=1", "truth_acc": truth,
        "val_acc": [70.0, 60.0, 80.0, 90.0], "proxy_score": math.nan,
        "tse": [2.0, 1.5, 1.0, 0.5], "train_s": 1.0, "eval_s": 0.0,
    })  # fmt: skip
    summary = summarize_fidelity(rows).set_index("budget")
    assert summary.loc["epochs=1 (tse)", "kendall_tau"] == pytest.approx(1.0)  # falling loss
    assert summary.loc["epochs=1", "kendall_tau"] == pytest.approx(2 / 3)


@pytest.mark.slow
def test_fidelity_stores_a_row_per_budget_and_arch_and_a_rerun_continues(tmp_path):
    url = sqlite_url(tmp_path)
    args = ["fidelity", "--benchmark", "nas-bench-macro", "--dataset", "digits", "--archs", "4",
            "--budget", BUDGET, "--zero-cost", "synflow", "--storage", url]  # fmt: skip
    code, out, err = cli(*args, "--format", "json")
    assert code == 0, err
    summary = {row["budget"]: row for row in json.loads(out)}
    assert set(summary) == {"cost:params", "cost:macs", "epochs=1,train_fraction=0.2",
                            "epochs=1,train_fraction=0.2 (tse)", "zero-cost:synflow"}  # fmt: skip
    for row in summary.values():
        assert row["archs"] == 4 and -1 <= row["kendall_tau"] <= 1
        assert row["kendall_tau_low"] <= row["kendall_tau"] <= row["kendall_tau_high"]
        assert 0 <= row["top_overlap"] <= 1 and row["seconds_per_arch"] >= 0
    rows = store.load_results(url, ["fidelity_nas-bench-macro_digits"])
    assert len(rows) == 16 and set(rows["source"]) == {"fidelity"}
    trained = rows[rows["budget"] == BUDGET]
    bench = load_benchmark("nas-bench-macro")
    assert trained["truth_acc"].tolist() == bench.frame.loc[trained["name"], "truth"].tolist()
    assert (trained["epochs"] == 1).all() and trained["val_acc"].between(0, 100).all()
    # every trained row records its steps, the images they saw and its training-speed estimate
    assert (trained["steps"] > 0).all() and (trained["tse"] > 0).all()
    assert (trained["images_seen"] == trained["steps"] * trained["batch_size"]).all()

    assert cli(*args)[0] == 0  # nothing missing: nothing trained again
    assert len(store.load_results(url, ["fidelity_nas-bench-macro_digits"])) == 16
    code, _, err = cli(*args, "--budget", "epochs=1,train_fraction=0.1")
    assert code == 0, err
    again = store.load_results(url, ["fidelity_nas-bench-macro_digits"])
    assert len(again) == 20 and set(again["name"]) == set(rows["name"])

    code, _, err = cli(*[a if a != "4" else "5" for a in args])
    assert code == 2 and "archs=4" in err and len(err.strip().splitlines()) == 1
    assert len(store.load_results(url, ["fidelity_nas-bench-macro_digits"])) == 20

    for fmt in ("json", "md"):  # every format renders through results.formats, tested there
        code, out, err = cli("table", "--storage", url, "--format", fmt)
        assert code == 0, err
        assert "zero-cost:synflow" in out
    page = tmp_path / "r.html"
    assert cli("report", "--storage", url, "--output", str(page))[0] == 0
    text = page.read_text()
    assert "Proxy fidelity" in text and "Kendall tau against the truth" in text


@pytest.mark.slow
def test_an_interrupted_run_resumes_where_it_stopped(tmp_path):
    settings = FidelitySettings(benchmark="nas-bench-macro", dataset="digits", archs=4,
                                budgets=[BUDGET], storage=sqlite_url(tmp_path))  # fmt: skip
    seen = []

    def interrupt_after_two(text: str) -> None:
        seen.append(text)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_fidelity(settings, progress=interrupt_after_two)
    rows = store.load_results(settings.storage, ["fidelity_nas-bench-macro_digits"])
    assert (rows["budget"] == BUDGET).sum() == 2
    summary = run_fidelity(settings).set_index("budget")
    rows = store.load_results(settings.storage, ["fidelity_nas-bench-macro_digits"])
    assert (rows["budget"] == BUDGET).sum() == 4 and summary.loc[BUDGET, "archs"] == 4


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--benchmark", "nas-bench-macro", "--archs", "7000"], "between 2 and the table's 6561"),
        (["--benchmark", "nas-bench-macro", "--archs", "4", "--budget", "lr=1"], "not KEY=VALUE"),
        (["--benchmark", "nb201-cifar100", "--archs", "4"], "digits has 10 classes"),
        (["--benchmark", "nas-bench-macro", "--archs", "4", "--budget", ""], "trains nothing"),
        (["--benchmark", "nas-bench-macro", "--archs", "4", "--zero-cost", "magic"],
         "unknown zero-cost proxy magic"),
        (["--benchmark", "nb202", "--archs", "4"], "unknown benchmark"),
        (["--archs", "4"], "needs --benchmark"),
    ],
)  # fmt: skip
def test_bad_fidelity_input_is_one_line_and_status_2_and_stores_nothing(tmp_path, args, complaint):
    url = sqlite_url(tmp_path)
    code, _, err = cli("fidelity", "--dataset", "digits", "--storage", url, *args)
    assert code == 2 and complaint in err and len(err.strip().splitlines()) == 1, err
    if Path(url.removeprefix("sqlite:///")).exists():
        assert not len(store.load_results(url))


@pytest.mark.slow
def test_fidelity_on_jpeg_cifar10_images_with_nas_bench_macro_truth(tmp_path, shared_data):
    archive = shared_data("cifar10_jpeg.zip")
    root = tmp_path / "cifar10"
    with zipfile.ZipFile(archive) as zf:  # 30 training and 10 test images a class, not 60,000
        names = [n for n in zf.namelist() if n.endswith(".jpg")]
        for split, count in (("train", 30), ("test", 10)):
            for cls in sorted({n.split("/")[-2] for n in names if f"/{split}/" in n}):
                chosen = sorted(n for n in names if f"/{split}/{cls}/" in n)[:count]
                for name in chosen:
                    target = root / split / cls / Path(name).name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(zf.read(name))
    code, out, err = cli("fidelity", "--benchmark", "nas-bench-macro", "--dataset",
                         f"imagefolder:{root}", "--archs", "3", "--budget", "epochs=1,image_size=16",
                         "--storage", sqlite_url(tmp_path), "--format", "json")  # fmt: skip
    assert code == 0, err
    trained = next(r for r in json.loads(out) if r["budget"] == "epochs=1,image_size=16")
    assert trained["archs"] == 3


# every space with a benchmark table: (--benchmark, --space, a table in ../shared/data or None)
BENCHMARK_SPACES = [
    ("nas-bench-macro", None, None),
    ("nb201-cifar10", None, None),
    (None, "channel_bench_mobilenet", "channel_bench_macro_mobilenet_cifar10.csv"),
    (None, "channel_bench_resnet", "channel_bench_macro_resnet_cifar10.csv"),
]


@pytest.mark.slow  # about 25 s a space (the default trains full width for 3 epochs)
@pytest.mark.parametrize(("benchmark", "space", "shared_table"), BENCHMARK_SPACES)
def test_a_reduced_budget_and_the_default_run_on_every_benchmark_space(
    tmp_path, shared_data, benchmark, space, shared_table
):
    if shared_table is not None:
        benchmark = str(shared_data(shared_table))
    reduced = ProxyBudget.parse("width=0.25,image_size=16,epochs=1,train_fraction=0.2").label
    args = ["fidelity", "--benchmark", benchmark, "--dataset", "digits", "--archs", "3",
            "--budget", reduced, "--budget", "default", "--storage", sqlite_url(tmp_path),
            "--study-name", "f"]  # fmt: skip
    if space:  # a user table: its space and its accuracy columns named
        args += ["--space", space, "--select-column", "mean_test_acc",
                 "--report-column", "mean_test_acc"]  # fmt: skip
    code, out, err = cli(*args, "--format", "json")
    assert code == 0, err
    assert {r["budget"] for r in json.loads(out)} >= {reduced, "default"}
    rows = store.load_results(sqlite_url(tmp_path), ["f"])
    small = rows[rows["budget"] == reduced].set_index("name")
    full = rows[rows["budget"] == "default"].set_index("name")
    assert len(small) == len(full) == 3 and (small["status"] == "complete").all()
    # the reduced proxy trained at 16 px and stored the costs of the full-width arch at 8 px,
    # exactly what the default budget (full width, digits' native 8 px) measures on its network
    assert (small["image_size"] == 16).all() and (full["image_size"] == 8).all()
    assert small.loc[full.index, "params"].tolist() == full["params"].tolist()
    assert small.loc[full.index, "macs"].tolist() == full["macs"].tolist()
    assert small["protocol_hash"].nunique() == 1 != full["protocol_hash"].iloc[0]


def test_the_paired_difference_of_two_proxies_is_exact_and_its_interval_holds_it():
    from nasbench.results.ranking import paired_tau_difference

    rng = np.random.default_rng(0)
    truth = rng.normal(size=40)
    good = truth + rng.normal(scale=0.2, size=40)
    noise = rng.normal(size=40)
    d = paired_tau_difference(good, noise, truth, seed=0)
    expected = stats.kendalltau(good, truth).statistic - stats.kendalltau(noise, truth).statistic
    assert d["difference"] == pytest.approx(expected)
    assert 0 < d["low"] <= d["difference"] <= d["high"]  # a clear winner: the interval excludes 0
    same = paired_tau_difference(good, good, truth, seed=0)
    assert same == {"difference": 0.0, "low": 0.0, "high": 0.0}  # paired: shared draws cancel
    assert math.isnan(paired_tau_difference([1, 2], [2, 1], [1, 2])["difference"])
