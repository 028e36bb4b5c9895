"""End-to-end behaviour of `nasbench search`: rows per trial, resume, dedup, limits, failures, bad input."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import torch

from nasbench.cli import main
from nasbench.results import store
from search_spaces import nb201
from search_spaces.nas_bench_macro import OPS

TESTS = Path(__file__).resolve().parent
FAST = ["--epochs", "2", "--train-fraction", "0.3", "--seed", "1"]


def nasbench_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The CLI in its own process, exactly as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    return subprocess.run(
        [sys.executable, "-m", "nasbench.cli", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=300,
    )  # fmt: skip


def nasbench(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The CLI's main() in this process (saves importing torch per call), same exit codes."""
    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def sqlite_url(tmp_path: Path, name: str = "nasbench.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def counted(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.trials if not t.user_attrs.get("interrupted")]


@pytest.mark.timeout(600)
@pytest.mark.slow
def test_search_on_digits_stores_one_row_per_trial_and_a_loadable_study(tmp_path):
    url = sqlite_url(tmp_path)
    done = nasbench("search", "--space", "mobilenet", "--trials", "3", "--storage", url, *FAST)
    assert done.returncode == 0, done.stderr
    rows = store.load_results(url)
    assert len(rows) == 3
    assert set(rows["study_name"]) == {"mobilenet_digits"}
    assert sorted(rows["trial_number"]) == [0, 1, 2]
    finished = rows[rows["status"].isin(["complete", "reused", "pruned"])]
    assert len(finished) >= 1
    assert finished["val_acc"].between(0, 100).all()
    assert (finished["macs"] > 0).all() and (finished["params"] > 0).all()
    assert (finished["latency_ms"] > 0).all()
    assert set(rows["dataset"]) == {"digits"}
    study = optuna.load_study(study_name="mobilenet_digits", storage=url)
    assert len(study.trials) == 3
    assert study.user_attrs["space"] == "mobilenet"
    assert all(t.state.is_finished() for t in study.trials)


def test_rerun_of_a_finished_study_runs_nothing_more(tmp_path):
    url = sqlite_url(tmp_path)
    args = ("search", "--space", "fixture_spaces.toy", "--trials", "2", "--storage", url, *FAST)
    assert nasbench(*args).returncode == 0
    again = nasbench(*args)
    assert again.returncode == 0
    assert "already has 2 of 2 trials" in again.stderr
    assert len(store.load_results(url)) == 2


@pytest.mark.timeout(600)
@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_interrupted_search_reruns_to_exactly_n_trials(tmp_path, stop):
    url = sqlite_url(tmp_path)
    # one training per trial (--confirm-runs 1): the rerun's work is what the test waits for
    args = ["search", "--space", "fixture_spaces.toy", "--trials", "4", "--storage", url,
            "--sampler", "random", "--no-pruning", "--epochs", "40", "--seed", "3",
            "--confirm-runs", "1"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    proc = subprocess.Popen([sys.executable, "-m", "nasbench.cli", *args], env=env,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    db = tmp_path / "nasbench.db"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until a trial is mid-training
        if db.exists() and _running_trials(db) > 0 and _result_rows(db) >= 1:
            break
        time.sleep(0.2)
    proc.send_signal(stop)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + stop, err
    assert "rerun the same command" in err
    assert _running_trials(db) == 0
    study = optuna.load_study(study_name="fixture_spaces.toy_digits", storage=url)
    # the signal normally lands mid-trial; that trial is marked and not counted (none if it fell between)
    assert sum(bool(t.user_attrs.get("interrupted")) for t in study.trials) <= 1
    before = len(counted(study))
    assert before < 4

    done = nasbench(*args)
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name="fixture_spaces.toy_digits", storage=url)
    assert len(counted(study)) == 4
    assert len(store.load_results(url)) == 4
    assert _running_trials(db) == 0


def _running_trials(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM trials WHERE state = 'RUNNING'").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def _result_rows(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        try:
            return conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def test_an_arch_already_evaluated_is_reused_not_trained_again(tmp_path):
    url = sqlite_url(tmp_path)
    done = nasbench("search", "--space", "fixture_spaces.toy", "--trials", "8", "--storage", url,
                    "--sampler", "random", "--no-pruning", *FAST)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = store.load_results(url)
    assert len(rows) == 8
    trained = rows[rows["status"] == "complete"]
    reused = rows[rows["status"] == "reused"]
    assert len(trained) == rows["arch_hash"].nunique() <= 3  # the toy space has 3 archs
    assert len(reused) == 8 - len(trained)
    for _, row in reused.iterrows():
        (original,) = [r for _, r in rows.iterrows() if r["id"] == row["reused_from"]]
        assert original["status"] == "complete" and original["study_name"] == row["study_name"]
        assert row["arch_hash"] == original["arch_hash"]
        assert row["val_acc"] == original["val_acc"]
        assert row["train_s"] == 0.0
        assert f"row {original['id']} " in row["error"]
        assert f"trial {original['trial_number']}" in row["error"]


def test_reuse_spans_studies_under_the_same_protocol_only(tmp_path):
    url = sqlite_url(tmp_path)
    base = ("search", "--space", "fixture_spaces.toy", "--trials", "3", "--storage", url,
            "--sampler", "random", "--no-pruning", "--seed", "1", "--train-fraction", "0.3")  # fmt: skip
    assert nasbench(*base, "--epochs", "2", "--study-name", "a").returncode == 0
    assert nasbench(*base, "--epochs", "2", "--study-name", "b").returncode == 0
    assert nasbench(*base, "--epochs", "3", "--study-name", "c").returncode == 0
    rows = store.load_results(url)
    b, c = rows[rows["study_name"] == "b"], rows[rows["study_name"] == "c"]
    a_hashes = set(rows[rows["study_name"] == "a"]["arch_hash"])
    assert (b[b["arch_hash"].isin(a_hashes)]["status"] == "reused").all()
    assert "reused" not in set(c["status"]) or c["arch_hash"].duplicated().any()


def test_hard_limits_store_infeasible_rows_without_training(tmp_path):
    url = sqlite_url(tmp_path)
    # toy params on digits: width 4 -> 98, 8 -> 186, 16 -> 362; only width 16 breaks 200
    done = nasbench("search", "--space", "fixture_spaces.toy", "--trials", "6", "--storage", url,
                    "--sampler", "random", "--max-params", "200", *FAST)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = store.load_results(url)
    infeasible = rows[rows["status"] == "infeasible"]
    assert len(infeasible) >= 1
    assert (infeasible["params"] > 200).all()
    assert infeasible["train_s"].isna().all()  # never trained
    assert infeasible["error"].fillna("").str.match(r"params [\d,]+ > limit 200").all()
    study = optuna.load_study(study_name="fixture_spaces.toy_digits", storage=url)
    by_number = {t.number: t for t in study.trials}
    for number in infeasible["trial_number"]:  # what the samplers read (Trial.set_constraint)
        assert by_number[number].constraints["params"] > 0
        assert by_number[number].constraints["memory"] == 0
    feasible = rows[rows["status"] == "complete"]["trial_number"]
    assert all(by_number[n].constraints["params"] <= 0 for n in feasible)


def test_nan_loss_gives_a_failed_row_with_its_reason_and_the_search_goes_on(tmp_path):
    url = sqlite_url(tmp_path)
    done = nasbench("search", "--space", "fixture_spaces.toy_nan", "--trials", "6", "--storage",
                    url, "--sampler", "random", "--seed", "2", "--epochs", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = store.load_results(url)
    assert len(rows) == 6
    failed = rows[rows["status"] == "failed"]
    assert len(failed) >= 1, rows[["status", "arch"]]
    assert failed["error"].fillna("").str.contains("nan", case=False).all()
    assert (rows["status"].isin(["complete", "reused"])).any()
    assert "failed" in done.stderr  # the progress output names the failure


def test_a_rerun_with_other_protocol_settings_is_refused(tmp_path):
    url = sqlite_url(tmp_path)
    args = ("search", "--space", "fixture_spaces.toy", "--trials", "1", "--storage", url)
    assert nasbench(*args, *FAST).returncode == 0
    done = nasbench(*args[:4], "2", *args[5:], "--epochs", "5", "--seed", "1")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "was run with the budget 'epochs=2,train_fraction=0.3', not 'epochs=5'" in done.stderr
    # the same budget with another recipe is another protocol too, and says which field
    done = nasbench(*args[:4], "2", *args[5:], "--config", str(_recipe_file(tmp_path)))
    assert done.returncode == 2 and "recipe lr" in done.stderr, done.stderr


def test_a_rerun_without_budget_flags_resumes_the_study_s_budget(tmp_path):
    url = sqlite_url(tmp_path)
    args = ("search", "--space", "fixture_spaces.toy", "--storage", url)
    assert nasbench(*args, "--trials", "1", *FAST).returncode == 0
    done = nasbench(*args, "--trials", "2")  # no budget flags: the study's own budget
    assert done.returncode == 0, done.stderr
    rows = store.load_results(url)
    assert len(rows) == 2 and rows["protocol_hash"].nunique() == 1
    assert set(rows["budget"]) == {"epochs=2,train_fraction=0.3"}


def _recipe_file(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.toml"
    path.write_text("epochs = 2\ntrain_fraction = 0.3\n[train]\nlr = 0.01\n")
    return path


def test_config_file_gives_settings_and_flags_win(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        'space = "fixture_spaces.toy"\ntrials = 1\nepochs = 1\nstudy_name = "from_toml"\n'
    )
    url = sqlite_url(tmp_path)
    done = nasbench("search", "--config", str(config), "--storage", url, "--trials", "2")
    assert done.returncode == 0, done.stderr
    rows = store.load_results(url)
    assert set(rows["study_name"]) == {"from_toml"} and len(rows) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--space", "nosuch"], "unknown space 'nosuch'; valid spaces: "),
        (["--space", "fixture_spaces.toy", "--sampler", "nosuch"], "nosuch"),
        (["--space", "fixture_spaces.toy", "--dataset", "nosuch"], "nosuch"),
        (["--space", "fixture_spaces.toy", "--trials", "0"], "--trials: must be in [1, 1000000]"),
        (["--space", "fixture_spaces.toy", "--objectives", "acc,flops"], "unknown objective"),
        (["--space", "fixture_spaces.toy", "--bogus-flag"], "unrecognized arguments"),
        (["--space", "fixture_spaces.toy", "--study-name", ""], "study name must not be empty"),
        (["--space", "fixture_spaces.toy", "--study-name", "  "], "study name must not be empty"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(tmp_path, args, message):
    done = nasbench("search", *args, "--storage", sqlite_url(tmp_path), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0]
    assert not (tmp_path / "nasbench.db").exists()


@pytest.mark.slow
def test_bad_input_in_a_real_process_prints_one_line_and_no_traceback(tmp_path):
    done = nasbench_process("search", "--space", "nosuch", "--storage", sqlite_url(tmp_path))
    assert done.returncode == 2
    assert done.stderr == (
        "nasbench: error: unknown space 'nosuch'; valid spaces: channel_bench_mobilenet, "
        "channel_bench_resnet, mobilenet, nas_bench_macro, nb201, resnet, swin, vit\n"
    )


def test_unknown_config_key_is_rejected(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('space = "mobilenet"\nlearning_rate = 3\n')
    done = nasbench("search", "--config", str(config), "--storage", sqlite_url(tmp_path))
    assert done.returncode == 2
    assert "unknown key(s) learning_rate" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["text", "foreign_sqlite"])
def test_storage_that_is_not_ours_is_refused_and_left_unchanged(tmp_path, kind):
    path = tmp_path / "data.db"
    if kind == "text":
        path.write_text("these are my notes, not a database\n")
    else:
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
            conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
    before = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    done = nasbench_process("search", "--space", "fixture_spaces.toy", "--trials", "1",
                    "--storage", f"sqlite:///{path}", *FAST)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.db"]


def test_studies_lists_counts(tmp_path):
    url = sqlite_url(tmp_path)
    assert nasbench("search", "--space", "fixture_spaces.toy", "--trials", "2", "--storage", url,
                    *FAST).returncode == 0  # fmt: skip
    done = nasbench("studies", "--storage", url, "--format", "json")
    assert done.returncode == 0, done.stderr
    import json

    (study,) = json.loads(done.stdout)
    assert study["study_name"] == "fixture_spaces.toy_digits"
    assert study["trials"] == 2
    assert sum(study[s] for s in ("complete", "reused", "pruned", "infeasible", "failed")) == 2


@pytest.mark.slow
def test_a_nas_bench_macro_search_stores_the_table_s_values_and_its_true_front(tmp_path):
    url = sqlite_url(tmp_path)
    done = nasbench("search", "--space", "nas_bench_macro", "--benchmark", "nas-bench-macro",
                    "--objectives", "acc,macs", "--trials", "100", "--storage", url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = store.load_results(url, ["nas_bench_macro_nas-bench-macro"])
    assert len(rows) == 100 and set(rows["status"]) <= {"complete", "reused"}
    table = pd.read_csv("nasbench/benchmark_tables/nas_bench_macro.csv.gz",
                        dtype={"arch": str}).set_index("arch")  # fmt: skip
    keys = ["".join(str(OPS.index(op)) for op in arch["layers"]) for arch in rows["arch"]]
    expected = table.loc[keys]
    assert rows["val_acc"].tolist() == expected["test_acc_1"].tolist()
    assert rows["test_acc"].to_numpy() == pytest.approx(
        ((expected["test_acc_2"] + expected["test_acc_3"]) / 2).to_numpy()
    )
    assert rows["params"].tolist() == expected["params"].tolist()
    assert rows["macs"].tolist() == expected["macs"].tolist()
    assert set(rows["dataset"]) == {"cifar10 (nas-bench-macro)"}

    study = optuna.load_study(study_name="nas_bench_macro_nas-bench-macro", storage=url)
    front = pd.DataFrame(study.user_attrs["true_front"]).set_index("arch")
    assert len(front) == 65 and front["macs"].is_monotonic_increasing
    assert (front["val_acc"] == table.loc[front.index, "test_acc_1"]).all()
    assert study.user_attrs["benchmark"]["selected_on"] == "test_acc_1"
    assert (
        nasbench("report", "--storage", url, "--output", str(tmp_path / "r.html")).returncode == 0
    )
    page = (tmp_path / "r.html").read_text()
    assert "true front of nas-bench-macro" in page and "looked up, not trained" in page


@pytest.mark.slow
def test_a_latency_search_reads_the_named_device_and_refuses_tables_without_it(tmp_path):
    url = sqlite_url(tmp_path)
    done = nasbench("search", "--space", "nb201", "--benchmark", "nb201-cifar10", "--trials", "12",
                    "--objectives", "acc,latency", "--latency-device", "raspi4",
                    "--storage", url)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = store.load_results(url, ["nb201_nb201-cifar10"])
    latency = pd.read_csv("nasbench/benchmark_tables/nb201_latency.csv.gz").set_index("arch")
    keys = [nb201.to_nb201_string(arch) for arch in rows["arch"]]
    assert rows["latency_ms"].tolist() == latency.loc[keys, "latency_ms_raspi4"].tolist()
    assert set(rows["device"]) == {"raspi4"}
    again = nasbench("search", "--space", "nb201", "--benchmark", "nb201-cifar10", "--trials", "12",
                     "--objectives", "acc,latency", "--storage", url)  # fmt: skip
    assert again.returncode == 2 and "latency_device='raspi4'" in again.stderr


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--space", "nb201", "--benchmark", "nb202"], "unknown benchmark 'nb202'"),
        (["--space", "nb201", "--benchmark", "nas-bench-macro"], "use --space nas_bench_macro"),
        (["--space", "nb201", "--benchmark", "nb201-imagenet16", "--objectives", "acc,latency"],
         "CIFAR-10 only"),
        (["--space", "nb201", "--benchmark", "nb201-cifar10", "--objectives", "acc,latency",
          "--latency-device", "pixel9"], "no latency on 'pixel9'"),
        (["--space", "nb201", "--benchmark", "BENCH"], "bench.csv', row 1"),
        (["--space", "nb201", "--benchmark", "BENCH", "--select-column", "v"],
         "lacks column(s) v"),
    ],
)  # fmt: skip
def test_bad_benchmark_input_is_one_line_and_status_2(tmp_path, args, complaint):
    bad = tmp_path / "bench.csv"
    bad.write_text("arch,valid_acc\n|x~0|,1\n")
    args = [str(bad) if a == "BENCH" else a for a in args]
    url = sqlite_url(tmp_path)
    done = nasbench("search", *args, "--trials", "3", "--storage", url)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and complaint in done.stderr, done.stderr


@pytest.mark.parametrize("space", ["vit", "swin"])
def test_transformer_spaces_search_end_to_end_offline(tmp_path, space):
    url = sqlite_url(tmp_path)
    done = nasbench("search", "--space", space, "--trials", "2", "--storage", url, "--epochs", "1",
                    "--train-fraction", "0.2", "--sampler", "random")  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = store.load_results(url)
    assert len(rows) == 2 and set(rows["space"]) == {space}
    assert rows["status"].isin(["complete", "reused", "pruned"]).all(), rows[["status", "error"]]
    study = optuna.load_study(study_name=f"{space}_digits", storage=url)
    assert study.user_attrs["recipe"]["optimizer"] == "adamw"  # the space's own training defaults


def test_front_size_counts_the_distinct_points_of_optunas_pareto_front():
    from nasbench.results.pareto import front_size

    rng = np.random.default_rng(0)
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"])
    for _ in range(60):
        values = [float(v) for v in rng.integers(0, 6, size=3)]  # ties and repeats on purpose
        study.add_trial(optuna.trial.create_trial(values=values))
    expected = len({tuple(t.values) for t in study.best_trials})
    assert front_size([t.values for t in study.trials], ["maximize", "minimize", "minimize"]) == (
        expected
    )


def test_joins_front_only_when_no_result_is_at_least_as_good_on_every_objective():
    from nasbench.results.pareto import joins_front

    directions = ["maximize", "minimize"]
    others = [(90.0, 2e6), (95.0, 5e6)]
    assert joins_front((91.0, 1e6), [], directions)  # the first result always joins
    assert joins_front((89.0, 1e6), others, directions)  # cheaper than every other
    assert joins_front((96.0, 9e6), others, directions)  # more accurate than every other
    assert joins_front((93.0, 3e6), others, directions)  # between the two
    assert not joins_front((94.0, 6e6), others, directions)  # worse and dearer than 95 @ 5M
    assert not joins_front((95.0, 5e6), others, directions)  # a tie does not join
    assert not joins_front((90.0, 2.5e6), others, directions)
    assert joins_front((97.5,), [(97.0,), (96.0,)], ["maximize"])  # one objective: beat the best
    assert not joins_front((97.0,), [(97.0,), (96.0,)], ["maximize"])


def test_front_entrants_are_trained_with_more_seeds_and_scored_by_their_mean(tmp_path):
    from nasbench.data import load_dataset
    from nasbench.evaluation.context import make_recipe
    from nasbench.evaluation.model import build_for, train_proxy
    from nasbench.results.pareto import joins_front
    from nasbench.spaces import load_space
    from nasbench.workflow.studies import trial_seed

    url = sqlite_url(tmp_path)
    done = nasbench("search", "--space", "fixture_spaces.toy", "--trials", "6", "--storage", url,
                    "--sampler", "random", "--no-pruning", "--confirm-runs", "3", *FAST)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = store.load_results(url).set_index("trial_number")
    study = optuna.load_study(study_name="fixture_spaces.toy_digits", storage=url)
    trials = {t.number: t for t in study.trials}
    complete = rows[rows["status"] == "complete"]
    confirmed = complete[complete["train_runs"] == 3]
    assert 0 in confirmed.index  # the first result always joins the (empty) front
    assert set(complete["train_runs"]) <= {1, 3}

    for number, row in confirmed.iterrows():
        runs = trials[number].user_attrs["val_acc_runs"]
        assert len(runs) == 3
        assert row["val_acc"] == pytest.approx(statistics.fmean(runs))
        assert row["val_acc_std"] == pytest.approx(statistics.stdev(runs))
        assert trials[number].values[0] == pytest.approx(row["val_acc"])  # what Optuna was told
    # A result trained once was, when it finished, no better than an earlier one on every objective.
    directions = ["maximize", "minimize"]
    finished = rows.index[rows["status"].isin(["complete", "reused"])]
    for number in complete.index[complete["train_runs"] == 1]:
        earlier = [trials[n].values for n in finished if n < number]
        assert not joins_front(tuple(trials[number].values), earlier, directions)
    # so the Pareto front holds means only, and a reused result carries its runs along
    assert all(rows.loc[t.number, "train_runs"] == 3 for t in study.best_trials)
    by_id = rows.set_index("id")
    for _, row in rows[rows["status"] == "reused"].iterrows():
        original = by_id.loc[row["reused_from"]]
        assert row["train_runs"] == original["train_runs"]
        np.testing.assert_equal(row["val_acc_std"], original["val_acc_std"])  # NaN == NaN here

    # Each run is the arch trained from its own seed (weights and batches): retraining reproduces it.
    number = confirmed.index[0]
    space = load_space("fixture_spaces.toy")
    data = load_dataset("digits", train_fraction=0.3, seed=0)
    recipe = make_recipe(data.name, {}, 2, None)
    retrained = []
    for run in range(3):
        seed = trial_seed(1, int(number), run)
        model = build_for(space, confirmed.loc[number, "arch"], data, seed=seed)
        retrained.append(train_proxy(model, data, recipe, device="cpu", seed=seed)[0]["val_acc"])
    assert retrained == pytest.approx(trials[number].user_attrs["val_acc_runs"])


def test_confirm_runs_1_trains_every_arch_once_and_is_another_protocol(tmp_path):
    url = sqlite_url(tmp_path)
    args = ("search", "--space", "fixture_spaces.toy", "--trials", "3", "--storage", url,
            "--sampler", "random", "--no-pruning", *FAST)  # fmt: skip
    assert nasbench(*args, "--confirm-runs", "1").returncode == 0
    rows = store.load_results(url)
    trained = rows[rows["status"] == "complete"]
    assert len(trained) >= 1
    assert (trained["train_runs"] == 1).all() and trained["val_acc_std"].isna().all()

    refused = nasbench(*args)  # the default, 3 runs: its accuracies mean something else
    assert refused.returncode == 2
    assert "--confirm-runs" in refused.stderr
    assert len(store.load_results(url)) == len(rows)


def test_weights_of_a_seeded_build_depend_on_the_seed_alone():
    from nasbench.data import load_dataset
    from nasbench.evaluation.model import build_for
    from nasbench.spaces import load_space

    space, data = load_space("mobilenet"), load_dataset("synthetic")
    arch = space.REFERENCE_ARCHS["mobilenet_v2"]
    first = build_for(space, arch, data, seed=5).state_dict()
    torch.manual_seed(123)  # whatever the global RNG holds
    state = torch.get_rng_state()
    second = build_for(space, arch, data, seed=5).state_dict()
    assert torch.equal(torch.get_rng_state(), state)  # the caller's RNG state is kept
    assert all(torch.equal(first[k], second[k]) for k in first)
    other = build_for(space, arch, data, seed=6).state_dict()
    assert not all(torch.equal(first[k], other[k]) for k in first)


@pytest.mark.slow
def test_a_new_study_with_a_cost_objective_trains_the_spaces_smallest_arch_first(tmp_path):
    from nasbench.spaces import load_space

    url = sqlite_url(tmp_path)
    args = ("search", "--space", "mobilenet", "--trials", "1", "--storage", url, *FAST)
    assert nasbench(*args, "--confirm-runs", "1").returncode == 0
    assert nasbench(*args, "--objectives", "acc", "--study-name", "accuracy_only",
                    "--confirm-runs", "1").returncode == 0  # fmt: skip
    rows = store.load_results(url).set_index("study_name")
    smallest = load_space("mobilenet").SMALLEST_ARCH
    assert rows.loc["mobilenet_digits", "arch"] == smallest
    assert rows.loc["accuracy_only", "arch"] != smallest  # one objective: nothing to anchor
