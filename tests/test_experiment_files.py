"""Experiment files define the whole experiment: [choices] searched, [train] recipe, both checked,
stored with the study, part of its protocol, and shown by the report."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import optuna
import pytest

from nasbench.budget import ProxyBudget
from nasbench.cli import main
from nasbench.config import make_settings
from nasbench.errors import UsageError
from nasbench.results import store
from nasbench.space_choices import with_choices
from nasbench.spaces import load_space
from nasbench.workflow.contexts import budget_recipe

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def write(tmp_path: Path, text: str, name: str = "run.toml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_the_gpu_experiment_file_validates_and_its_largest_arch_builds_and_profiles_on_cpu(
    tmp_path,
):
    settings = make_settings(str(EXPERIMENTS / "mobilenet_cifar10.toml"), {})
    space = with_choices(load_space(settings.space), settings.choices)
    assert space.SUGGEST["width_mult"] == [0.5, 0.75, 1.0]
    assert space.SUGGEST["expand_ratios"] == [3, 6] and space.SUGGEST["depths"][-1] == 4
    recipe = budget_recipe(settings.dataset, settings.train, settings.budget)
    assert (recipe.epochs, recipe.batch_size, recipe.label_smoothing) == (15, 256, 0.1)
    assert recipe.ema and recipe.mixup > 0 and recipe.cutmix > 0 and recipe.random_erasing > 0
    largest = {
        field: [values[-1]] * space.NUM_STAGES if field in space.PER_STAGE else values[-1]
        for field, values in space.SUGGEST.items()
    }
    largest["activations"] = ["hardswish"] * space.NUM_STAGES
    arch_file = tmp_path / "largest.json"
    arch_file.write_text(json.dumps(largest))
    code, out, err = cli("profile", f"mobilenet:{arch_file}", "--input-size", "32",
                         "--no-latency", "--format", "json")  # fmt: skip
    assert code == 0, err
    row = json.loads(out)[0]
    # wider, deeper and larger-kernelled than MobileNetV2 (2.2 M params at 10 classes)
    assert row["params"] > 3e6 and row["macs"] > 50e6


def test_choices_are_checked_against_what_the_space_accepts():
    space = load_space("mobilenet")
    assert with_choices(space, {}) is space
    chosen = with_choices(space, {"depths": [3, 1], "se": [True, False]})
    assert chosen.SUGGEST["depths"] == [1, 3] and chosen.SUGGEST["se"] == [False, True]
    assert chosen.SMALLEST_ARCH["depths"] == [1] * 7 and chosen.NAME == "mobilenet"
    bad = [
        ({"depths": [1, 9]}, "[choices] depths: 9 is not accepted by space mobilenet"),
        ({"kernel_sizes": [4]}, "kernel_sizes: 4 is not accepted"),
        ({"width": [1.0]}, "unknown field(s) width for space mobilenet; fields: width_mult"),
        ({"depths": []}, "depths must be a non-empty list"),
        ({"depths": 2}, "depths must be a non-empty list"),
        ({"depths": [1, 1]}, "lists a value twice"),
    ]
    for choices, complaint in bad:
        with pytest.raises(UsageError, match=None) as caught:
            with_choices(space, choices)
        assert complaint in str(caught.value)
    with pytest.raises(UsageError, match="space nb201 does not take"):
        with_choices(load_space("nb201"), {"edge_1": ["none"]})


def test_train_table_fills_the_recipe_and_flags_come_first(tmp_path):
    config = write(tmp_path, 'space = "mobilenet"\n[train]\nepochs = 3\nlr = 0.05\nema = true\n')
    settings = make_settings(config, {})
    assert settings.budget.epochs == 3 and settings.train == {"lr": 0.05, "ema": True}
    assert make_settings(config, {"epochs": 5}).budget.epochs == 5  # a flag beats the file
    same = write(tmp_path, "epochs = 3\n[train]\nepochs = 3\n", "same.toml")
    assert make_settings(same, {}).budget.epochs == 3
    for text, complaint in [
        (
            "epochs = 2\n[train]\nepochs = 3\n",
            "sets epochs twice: epochs = 2 and [train] epochs = 3",
        ),
        ("train = 3\n", "train in"),
        ("choices = [1]\n", "choices in"),
    ]:
        with pytest.raises(UsageError) as caught:
            make_settings(write(tmp_path, text, "bad.toml"), {})
        assert complaint in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("[choices]\ndepths = [1, 12]\n", "[choices] depths: 12 is not accepted"),
        ("[train]\nlearning_rate = 0.1\n", "unknown training setting 'learning_rate'"),
        ('[train]\nlr = "fast"\n', "training setting 'lr' must be float"),
    ],
)
def test_a_bad_experiment_file_is_one_line_and_status_2_and_stores_nothing(
    tmp_path, text, complaint
):
    config = write(tmp_path, 'space = "mobilenet"\ntrials = 1\n' + text)
    url = f"sqlite:///{tmp_path / 'n.db'}"
    code, _, err = cli("search", "--config", config, "--storage", url)
    assert code == 2 and len(err.strip().splitlines()) == 1 and complaint in err, err
    assert store.load_results(url).empty if (tmp_path / "n.db").exists() else True


TINY = """space = "mobilenet"
study_name = "tiny"
trials = 3
train_fraction = 0.3
objectives = ["acc"]
confirm_runs = 1
[choices]
width_mult = [0.25]
depths = [1]
expand_ratios = [1, 2]
last_channels = [0]
[train]
epochs = 1
lr = 0.05
"""


@pytest.mark.slow
def test_a_search_samples_only_the_files_choices_and_a_rerun_with_others_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    config = write(tmp_path, TINY)
    code, _, err = cli("search", "--config", config, "--storage", url)
    assert code == 0, err
    rows = store.load_results(url, ["tiny"])
    assert len(rows) == 3
    for arch in rows["arch"]:
        arch = json.loads(arch) if isinstance(arch, str) else arch
        assert arch["width_mult"] == 0.25 and arch["depths"] == [1] * 7
        assert set(arch["expand_ratios"]) <= {1, 2} and arch["last_channels"] == 0
    study = optuna.load_study(study_name="tiny", storage=url)
    assert study.user_attrs["settings"]["choices"]["expand_ratios"] == [1, 2]
    assert study.user_attrs["recipe"]["lr"] == 0.05 and study.user_attrs["epochs"] == 1

    other = write(tmp_path, TINY.replace("[1, 2]", "[1, 4]"), "other.toml")
    code, _, err = cli("search", "--config", other, "--storage", url)
    assert code == 2 and "was run with choices=" in err and len(err.strip().splitlines()) == 1
    slower = write(tmp_path, TINY.replace("lr = 0.05", "lr = 0.1"), "slower.toml")
    code, _, err = cli("search", "--config", slower, "--storage", url)
    assert code == 2 and "(recipe lr 0.05, not 0.1)" in err, err
    assert len(store.load_results(url, ["tiny"])) == 3

    page = tmp_path / "r.html"
    assert cli("report", "--storage", url, "--output", str(page))[0] == 0
    text = page.read_text()
    assert "expand_ratios 1/2" in text and "lr 0.05" in text


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.toml")), ids=lambda p: p.name)
def test_every_experiment_file_validates(path):
    settings = make_settings(str(path), {})
    with_choices(load_space(settings.space), settings.choices)
    defaults = {**getattr(load_space(settings.space), "TRAIN_DEFAULTS", {}), **settings.train}
    budget_recipe(settings.dataset, defaults, settings.budget or ProxyBudget())
