"""From search to a publishable table: `retrain` rows per (trial, seed) with test accuracy, resumable;
`baseline --config --seeds` beside them; `table` and `report` show the retrained figures."""

from __future__ import annotations

import contextlib
import io
import json
import statistics
from pathlib import Path

import optuna
import pytest

from nasbench.cli import main
from nasbench.results import store

SEARCH = ["search", "--space", "fixture_spaces.toy", "--trials", "4", "--epochs", "1",
          "--train-fraction", "0.3", "--study-name", "s"]  # fmt: skip


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def searched(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    code, _, err = cli(*SEARCH, "--storage", url)
    assert code == 0, err
    return url


@pytest.mark.slow
def test_retrain_stores_a_row_per_trial_and_seed_with_test_accuracy_and_resumes(searched, tmp_path):
    url = searched
    recipe = tmp_path / "retrain.toml"
    recipe.write_text("epochs = 2\n[train]\nlr = 0.05\n")
    args = ["retrain", "--storage", url, "--study-name", "s", "--trial", "1", "--trial", "3",
            "--seeds", "2", "--config", str(recipe)]  # fmt: skip
    code, _, err = cli(*args)
    assert code == 0, err
    rows = store.load_results(url, ["s"])
    runs = rows[rows["source"] == "retrain"]
    pairs = sorted(zip(runs["trial_number"], runs["seed"], strict=True))
    assert pairs == [(1, 0), (1, 1), (3, 0), (3, 1)]
    assert set(runs["status"]) == {"complete"} and runs["test_acc"].between(0, 100).all()
    assert set(runs["epochs"]) == {2} and runs["protocol_hash"].nunique() == 1
    search = rows[rows["source"] == "search"].set_index("trial_number")
    for _, run in runs.iterrows():  # the same arch as the trial it names, on the whole split
        assert run["arch_hash"] == search.loc[run["trial_number"], "arch_hash"]
    assert runs["protocol_hash"].iloc[0] not in set(search["protocol_hash"])
    study = optuna.load_study(study_name="s", storage=url)
    (protocol,) = study.user_attrs["retrain"].values()
    assert protocol["recipe"]["lr"] == 0.05 and protocol["recipe"]["epochs"] == 2

    code, _, err = cli(*args, "--trial", "0")  # only trial 0 is new
    assert code == 0, err
    again = store.load_results(url, ["s"])
    assert (again["source"] == "retrain").sum() == 6
    assert "4 already stored" in err

    code, _, err = cli("baseline", "--models", "resnet18", "--storage", url, "--study-name", "s",
                       "--config", str(recipe), "--seeds", "2", "--train-fraction", "0.3")  # fmt: skip
    assert code == 0, err
    code, out, err = cli("table", "--storage", url, "--study-name", "s", "--format", "json")
    assert code == 0, err
    table = json.loads(out)
    assert [r["name"] for r in table][-1] == "resnet18"  # the costliest, sorted by MACs
    by_name = {r["name"]: r for r in table}
    assert set(by_name) == {"trial 0", "trial 1", "trial 3", "resnet18"}
    tests = runs[runs["trial_number"] == 1]["test_acc"].tolist()
    assert by_name["trial 1"]["test_acc_mean"] == pytest.approx(statistics.fmean(tests))
    assert by_name["trial 1"]["test_acc_std"] == pytest.approx(statistics.stdev(tests))
    assert by_name["trial 1"]["seeds"] == 2 and by_name["resnet18"]["seeds"] == 2
    assert by_name["trial 1"]["proxy_acc"] == pytest.approx(search.loc[1, "val_acc"])
    assert by_name["resnet18"]["proxy_acc"] is None
    code, out, _ = cli("table", "--storage", url, "--study-name", "s", "--format", "md")
    assert code == 0 and " ± " in out and "proxy val acc (%)" in out
    code, out, _ = cli("table", "--storage", url, "--study-name", "s", "--format", "latex")
    assert code == 0 and "\\begin{tabular}" in out

    page = tmp_path / "r.html"
    assert cli("report", "--storage", url, "--output", str(page))[0] == 0
    text = page.read_text()
    assert "Retrained" in text and "proxy against retrained" in text


@pytest.mark.slow
def test_retrain_of_the_front_takes_the_studys_pareto_trials(searched):
    url = searched
    code, _, err = cli("retrain", "--storage", url, "--study-name", "s", "--pareto",
                       "--epochs", "1", "--seeds", "1")  # fmt: skip
    assert code == 0, err
    rows = store.load_results(url, ["s"])
    search = rows[(rows["source"] == "search") & rows["val_acc"].notna()]
    front = set()
    for _, row in search.iterrows():
        beaten = (
            (search["val_acc"] >= row["val_acc"]) & (search["macs"] <= row["macs"])
            & ((search["val_acc"] > row["val_acc"]) | (search["macs"] < row["macs"]))
        )  # fmt: skip
        if not beaten.any():
            front.add(row["arch_hash"])
    retrained = rows[rows["source"] == "retrain"]
    assert set(retrained["arch_hash"]) == front


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--pareto", "--trial", "1"], "--pareto, or --trial N (repeatable), not both"),
        ([], "name the trials: --pareto, or --trial N (repeatable)"),
        (["--trial", "99"], "has no evaluated trial 99; evaluated trials: 0-3"),
        (["--trial", "-1"], "--trial: must be in [0, 1000000]"),
        (["--trial", "1", "--seeds", "0"], "--seeds: must be in [1, 1000]"),
        (["--trial", "1", "--study-name", "nosuch"], "no study 'nosuch'"),
    ],
)
def test_bad_retrain_input_is_one_line_and_status_2_and_changes_nothing(searched, args, complaint):
    before = store.load_results(searched)
    base = ["retrain", "--storage", searched]
    if "--study-name" not in args:
        base += ["--study-name", "s"]
    code, _, err = cli(*base, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and complaint in err, err
    assert len(store.load_results(searched)) == len(before)


def test_a_retrain_config_with_search_settings_and_a_benchmark_study_are_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    code, _, err = cli("search", "--space", "nas_bench_macro", "--benchmark", "nas-bench-macro",
                       "--trials", "3", "--storage", url, "--study-name", "m")  # fmt: skip
    assert code == 0, err
    code, _, err = cli("retrain", "--storage", url, "--study-name", "m", "--pareto")
    assert code == 2 and "looked its accuracies up in the benchmark table" in err
    config = tmp_path / "r.toml"
    config.write_text('trials = 5\nspace = "mobilenet"\n')
    code, _, err = cli("retrain", "--storage", url, "--study-name", "m", "--pareto",
                       "--config", str(config))  # fmt: skip
    assert code == 2 and "sets space, trials, which a retrain does not use" in err, err
