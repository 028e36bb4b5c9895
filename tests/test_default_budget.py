"""The default proxy budget: the measured CPU budget on real images, the recipe's elsewhere; a new
study records it, a study made under an older default resumes with that one."""

from __future__ import annotations

from pathlib import Path

import optuna

from nasbench.budget import MEASURED_CPU_BUDGET, ProxyBudget, default_budget
from nasbench.cli import main
from nasbench.config import SearchSettings
from nasbench.search.study import with_study_budget
from nasbench.workflow.fidelity import fidelity_budgets

MEASURED = ProxyBudget.parse(MEASURED_CPU_BUDGET)


def test_real_image_datasets_default_to_the_measured_cpu_budget():
    assert default_budget("imagefolder:/data/cifar10-jpeg") == MEASURED
    assert MEASURED.label == "steps=1053,image_size=8,width=0.25"
    for name in ("cifar10", "cifar100"):  # their recipe's batch is 256: the budget names 128
        assert default_budget(name) == ProxyBudget.parse(MEASURED_CPU_BUDGET + ",batch_size=128")
    for name in ("digits", "synthetic", "mnist", "fashion_mnist"):
        assert default_budget(name).is_default


def test_fidelity_measures_what_the_search_would_use():
    assert fidelity_budgets(None, "cifar10") == [default_budget("cifar10")]
    assert fidelity_budgets(["default", "epochs=1"], "imagefolder:x") == [
        MEASURED,
        ProxyBudget.parse("epochs=1"),
    ]
    assert fidelity_budgets(["default"], "digits") == [ProxyBudget()]
    assert fidelity_budgets([""], "cifar10") == []  # zero-cost proxies only


def _settings(**values) -> SearchSettings:
    return SearchSettings(study_name="s", dataset="cifar10", **values)


def test_a_new_study_takes_the_default_and_an_old_one_keeps_its_own():
    measured = default_budget("cifar10")
    assert with_study_budget(_settings(), None).budget == measured
    # what an older version recorded for a study made under the old default: every knob unset
    old = {"settings": {"epochs": None, "steps": None, "image_size": None, "width": 1.0}}
    assert with_study_budget(_settings(), old).budget.is_default
    # --budget default means "the search's default": the study's own when it has one
    assert with_study_budget(_settings(budget=ProxyBudget()), old).budget.is_default
    assert with_study_budget(_settings(budget=ProxyBudget()), None).budget == measured
    given = ProxyBudget.parse("epochs=2")  # a budget given replaces the default whole
    assert with_study_budget(_settings(budget=given), None).budget == given
    # an experiment file's [train] that says how long to train keeps the recipe's length
    assert with_study_budget(_settings(train={"epochs": 15}), None).budget.is_default
    assert with_study_budget(_settings(train={"lr": 0.2}), None).budget == measured
    # nothing trains in a zero-cost or lookup search: no budget applies
    assert with_study_budget(_settings(zero_cost="nwot"), None).budget.is_default


def _write_pngs(folder: Path) -> None:
    from PIL import Image

    for name, colour in {"blue": (0, 0, 255), "red": (255, 0, 0)}.items():
        (folder / name).mkdir(parents=True)
        for j in range(8):
            Image.new("RGB", (32, 32), (colour[0], j * 20, colour[2])).save(
                folder / name / f"{j}.png"
            )


def test_an_image_folder_search_without_budget_flags_records_the_measured_budget(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("NASBENCH_CACHE_DIR", str(tmp_path / "cache"))
    _write_pngs(tmp_path / "images")
    url = f"sqlite:///{tmp_path / 'd.db'}"
    # a MACs limit no arch meets: every trial is infeasible, so nothing trains for 1,053 steps
    args = ["search", "--space", "nas_bench_macro", "--dataset", f"imagefolder:{tmp_path / 'images'}",
            "--trials", "2", "--workers", "1", "--max-macs", "1", "--storage", url]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    [study] = optuna.get_all_study_summaries(url)
    assert study.user_attrs["budget"] == MEASURED.label
    assert study.user_attrs["image_size"] == 8
    # a rerun with more trials, without budget flags or with --budget default, resumes it
    assert main([*args[:6], "3", *args[7:]]) == 0, capsys.readouterr().err
    assert main([*args[:6], "4", *args[7:], "--budget", "default"]) == 0, capsys.readouterr().err
    assert len(optuna.load_study(study_name=study.study_name, storage=url).trials) == 4
