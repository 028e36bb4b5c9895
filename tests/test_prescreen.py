"""The zero-cost prescreen of a trained search: the best-scored candidates train first, once per
study, and a resumed study does not score again; its bad input."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from nasbench.cli import main
from nasbench.report import info
from nasbench.report.load import load_studies, select_studies
from nasbench.results import store
from nasbench.search.prescreen import kept_count, random_candidates
from nasbench.search.promotion import pareto_ranks
from nasbench.spaces import load_space

ARGS = ["--space", "nas_bench_macro", "--dataset", "digits", "--prescreen", "nwot",
        "--prescreen-candidates", "30", "--confirm-runs", "1", "--budget", "steps=4",
        "--workers", "1"]  # fmt: skip
STUDY = "nas_bench_macro_digits"


def cli(*args: str, capsys) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_best_tenth_is_kept_but_never_more_than_the_trials():
    assert kept_count(500, 100_000) == 50
    assert kept_count(30, 100) == 3
    assert kept_count(30, 2) == 2
    assert kept_count(5, 100) == 1


def test_random_candidates_are_distinct_archs_of_the_space_and_seeded():
    space = load_space("nas_bench_macro")
    first = random_candidates(space, 40, seed=3)
    assert len(first) == 40
    assert len({str(arch) for _, arch in first}) == 40
    for params, arch in first:
        space.validate(arch)
        assert params  # what enqueue_trial repeats
    assert [a for _, a in random_candidates(space, 40, seed=3)] == [a for _, a in first]
    assert [a for _, a in random_candidates(space, 40, seed=4)] != [a for _, a in first]


def test_the_prescreens_best_train_first_and_a_rerun_does_not_score_again(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    code, _, err = cli("search", *ARGS, "--trials", "6", "--storage", url, capsys=capsys)
    assert code == 0, err
    assert "prescreen: scored 30 of 30 random archs with nwot" in err
    assert "the best 3 (non-dominated sorting of score and MACs) train first" in err
    study = optuna.load_study(study_name=STUDY, storage=url)
    record = study.user_attrs["prescreen"]
    assert record["proxy"] == "nwot" and record["candidates"] == 30 and record["queued"] == 3
    assert record["seconds"] > 0
    ranked = record["ranked"]
    assert len(ranked) == 30 and len({r["arch_hash"] for r in ranked}) == 30
    # the queued three are of the best fronts of (score, MACs): no candidate left out is on a
    # better front than any of them
    values = np.array([[r["score"], r["macs"]] for r in ranked])
    ranks = pareto_ranks(values, ["maximize", "minimize"])
    assert ranks[0] == 0 and ranks[:3].max() <= ranks[3:].min()
    # trial 0 is the space's smallest arch (queued when the study was made); 1-3 the prescreen's,
    # in its order; then the sampler's
    trials = sorted(study.get_trials(), key=lambda t: t.number)
    assert [t.user_attrs["arch_hash"] for t in trials[1:4]] == [r["arch_hash"] for r in ranked[:3]]
    rows = store.load_results(url, [STUDY])
    assert len(rows) == 6 and rows["arch_hash"].is_unique
    assert rows["val_acc"].notna().all()  # trained, not scored: the prescreen makes no rows
    # the report says what the prescreen did
    [shown] = load_studies(url, select_studies(url, [STUDY]))
    budget = info.overview_rows(shown)["proxy budget"]
    assert "prescreen: nwot scored 30 random archs in " in budget, budget
    assert "the best 3 trained first" in budget
    # resumed with more trials: the record stands and nothing is scored again
    code, _, err = cli("search", *ARGS, "--trials", "7", "--storage", url, capsys=capsys)
    assert code == 0, err
    assert "prescreen:" not in err
    study = optuna.load_study(study_name=STUDY, storage=url)
    assert study.user_attrs["prescreen"] == record
    assert sum(t.state == TrialState.COMPLETE for t in study.get_trials()) == 7


def test_a_rerun_with_another_prescreen_is_refused(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    plain = [a for a in ARGS if a not in ("--prescreen", "nwot", "--prescreen-candidates", "30")]
    code, _, err = cli("search", *plain, "--trials", "2", "--storage", url, capsys=capsys)
    assert code == 0, err
    code, _, err = cli("search", *ARGS, "--trials", "3", "--storage", url, capsys=capsys)
    assert code == 2 and "prescreen=None, not 'nwot'" in err, err
    assert len(store.load_results(url)) == 2


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--prescreen", "nope"], "unknown zero-cost proxy 'nope' for --prescreen"),
        (["--prescreen", "nwot", "--zero-cost", "nwot"], "a --zero-cost search trains nothing"),
        (["--prescreen", "nwot", "--benchmark", "nas-bench-macro"], "--benchmark search trains"),
        (["--prescreen", "nwot", "--prescreen-candidates", "1"], "must be in [2, 100000]"),
    ],
)
def test_bad_prescreen_input_is_one_line_and_status_2(tmp_path, capsys, args, complaint):
    url = f"sqlite:///{tmp_path / 'bad.db'}"
    code, _, err = cli("search", "--space", "nas_bench_macro", "--dataset", "digits",
                       "--trials", "2", "--storage", url, *args, capsys=capsys)  # fmt: skip
    assert code == 2 and complaint in err and len(err.strip().splitlines()) == 1, err
