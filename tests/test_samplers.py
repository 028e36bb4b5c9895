"""The sampler table builds every sampler, local search climbs and never repeats itself, compare-samplers reports curves."""

from __future__ import annotations

import dataclasses
import itertools
import random
from types import SimpleNamespace

import numpy as np
import optuna
import pytest
import torch

from nasbench.benchmarks import load_benchmark
from nasbench.cli import main
from nasbench.config import SearchSettings
from nasbench.errors import UsageError
from nasbench.evaluation.tabular import macs_of_cell, true_front
from nasbench.measure import count_macs
from nasbench.report.compare_figure import compare_figure
from nasbench.results.pareto import hypervolume
from nasbench.search import compare
from nasbench.search.compare import compare_samplers, paired_against, run_comparison
from nasbench.search.samplers import (
    SAMPLER_NAMES,
    LocalSearchSampler,
    default_sampler_name,
    make_sampler,
)
from nasbench.search.study import sampler_name
from search_spaces import nb201

optuna.logging.set_verbosity(optuna.logging.WARNING)
torch.set_num_threads(1)

# a tiny categorical space with a GRID, like nb201's, and a separable objective peaking at (2, 2, 2)
TINY = SimpleNamespace(NAME="tiny", GRID={name: [0, 1, 2] for name in ("a", "b", "c")})


def tiny_objective(trial: optuna.Trial) -> float:
    return float(
        sum(trial.suggest_categorical(name, choices) for name, choices in TINY.GRID.items())
    )


@pytest.fixture
def nb201_csv() -> str:
    """The NAS-Bench-201 CIFAR-10 table shipped with the package."""
    return "nb201-cifar10"


def cell(trial: optuna.trial.FrozenTrial) -> tuple[int, ...]:
    return tuple(trial.params[name] for name in TINY.GRID)


# ---- the table of samplers ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_every_sampler_runs_trials_on_a_small_categorical_space(name):
    # 12 trials: past the 10 random start-up trials of gp and local, so their models run too
    sampler = make_sampler(name, seed=0, n_objectives=1, space=TINY)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(tiny_objective, n_trials=12)
    assert len(study.trials) == 12
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert all(set(cell(t)) <= {0, 1, 2} for t in study.trials)
    assert all(t.value == sum(cell(t)) for t in study.trials)
    assert study.best_value == max(t.value for t in study.trials)
    # it explores: a sampler stuck on a few cells of the 27 fails here
    assert len({cell(t) for t in study.trials}) >= 6
    # the seed fixes the proposals
    again = optuna.create_study(
        direction="maximize", sampler=make_sampler(name, seed=0, n_objectives=1, space=TINY)
    )
    again.optimize(tiny_objective, n_trials=12)
    assert [cell(t) for t in again.trials] == [cell(t) for t in study.trials]


@pytest.mark.parametrize("name", sorted(set(SAMPLER_NAMES) - {"local", "gp"}))
def test_multi_objective_samplers_run_two_objectives(name):
    # maximise the sum, minimise a: the front of the grid is (a, 2, 2) for a = 0, 1, 2
    sampler = make_sampler(name, seed=0, n_objectives=2, space=TINY)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(lambda t: (tiny_objective(t), t.params["a"]), n_trials=8)
    assert all(t.values == [sum(cell(t)), cell(t)[0]] for t in study.trials)

    def dominated(t: optuna.trial.FrozenTrial) -> bool:
        return any(
            o.values[0] >= t.values[0] and o.values[1] <= t.values[1] and o.values != t.values
            for o in study.trials
        )

    front = sorted(t.number for t in study.trials if not dominated(t))
    assert sorted(t.number for t in study.best_trials) == front
    assert len({cell(t) for t in study.trials}) >= 4


def test_unknown_sampler_name_lists_the_valid_names():
    with pytest.raises(UsageError, match="unknown sampler 'cmaes'; valid samplers: tpe, nsga2"):
        make_sampler("cmaes", seed=0, n_objectives=1)


def test_grid_needs_a_space_that_defines_a_small_grid():
    with pytest.raises(UsageError, match="grid needs a space small enough"):
        make_sampler("grid", seed=0, n_objectives=1, space=SimpleNamespace(NAME="resnet"))
    huge = SimpleNamespace(NAME="huge", GRID={f"p{i}": list(range(10)) for i in range(7)})
    with pytest.raises(UsageError, match="huge is not"):
        make_sampler("grid", seed=0, n_objectives=1, space=huge)


def test_local_search_refuses_several_objectives():
    with pytest.raises(UsageError, match="'local' optimises one objective; for several use tpe"):
        make_sampler("local", seed=0, n_objectives=2, space=TINY)


def test_default_is_local_search_for_one_objective_on_a_gridded_space_else_tpe():
    assert default_sampler_name(nb201, 1) == "local"
    assert default_sampler_name(nb201, 2) == "tpe"
    assert default_sampler_name(SimpleNamespace(NAME="resnet"), 1) == "tpe"
    assert default_sampler_name(None, 1) == "tpe"


def test_a_trained_search_of_several_objectives_defaults_to_random_sampling():
    resnet = SimpleNamespace(NAME="resnet")
    assert default_sampler_name(resnet, 2, trained=True) == "random"
    assert default_sampler_name(resnet, 1, trained=True) == "tpe"
    assert default_sampler_name(nb201, 1, trained=True) == "local"


def test_a_study_resumes_with_its_recorded_sampler_and_a_given_one_wins():
    settings = SearchSettings(study_name="s", objectives=("acc", "macs"))
    trained = SimpleNamespace(space=nb201, benchmark=None, zero_cost=None)
    assert sampler_name(settings, trained) == "random"
    assert (
        sampler_name(settings, SimpleNamespace(space=nb201, benchmark="t", zero_cost=None)) == "tpe"
    )
    assert (
        sampler_name(settings, SimpleNamespace(space=nb201, benchmark=None, zero_cost="nwot"))
        == "tpe"
    )
    made_under_the_old_default = {"settings": {}, "sampler": "tpe"}
    assert sampler_name(settings, trained, made_under_the_old_default) == "tpe"
    given = dataclasses.replace(settings, sampler="nsga2")
    assert sampler_name(given, trained, made_under_the_old_default) == "nsga2"


def test_a_new_trained_search_records_random_sampling(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    args = ["search", "--space", "fixture_spaces.toy", "--trials", "1", "--storage", url,
            "--study-name", "r", "--epochs", "1", "--train-fraction", "0.2", "--confirm-runs", "1"]  # fmt: skip
    assert main(args) == 0
    assert optuna.load_study(study_name="r", storage=url).user_attrs["sampler"] == "random"


def test_constraints_reach_the_samplers_that_steer_with_them():
    def constraints(trial):
        return [0.0]

    for name in ("tpe", "nsga2", "gp", "local"):
        sampler = make_sampler(name, seed=0, n_objectives=1, constraints_func=constraints)
        assert sampler._constraints_func is constraints, name


# ---- local search --------------------------------------------------------------------------------


def test_local_search_never_repeats_a_cell_until_the_space_is_exhausted():
    # a third of the cells fail (as an architecture that does not fit in memory would): they are
    # not proposed again either
    def objective(trial):
        value = tiny_objective(trial)
        if trial.params["b"] == 1:
            raise ValueError("does not fit")
        return value

    study = optuna.create_study(direction="maximize", sampler=LocalSearchSampler(seed=3))
    study.optimize(objective, n_trials=27, catch=(ValueError,))
    cells = [tuple(t.params.values()) for t in study.trials]
    assert len(set(cells)) == 27 == len(list(itertools.product(*TINY.GRID.values())))
    assert sum(t.state == optuna.trial.TrialState.FAIL for t in study.trials) == 9


def test_local_search_climbs_to_the_optimum_of_a_separable_objective():
    # 5 parameters x 6 choices = 7,776 cells: random search has a 0.5 % chance to hit the optimum
    # in 40 trials; each improving one-parameter move brings local search one step closer
    grid = {f"p{i}": list(range(6)) for i in range(5)}

    def objective(trial):
        return float(sum(trial.suggest_categorical(n, c) for n, c in grid.items()))

    for seed in range(3):
        study = optuna.create_study(direction="maximize", sampler=LocalSearchSampler(seed=seed))
        study.optimize(objective, n_trials=40)
        assert study.best_value == 25.0, seed


@pytest.mark.parametrize("how", ["constraints_func", "set_constraint"])
def test_local_search_minimises_and_avoids_infeasible_cells(how):
    # minimise a - b - c, but a cell with b == 2 is infeasible: the best feasible cell is (0, 1, 2)
    def objective(trial):
        a, b, c = (trial.suggest_categorical(n, ch) for n, ch in TINY.GRID.items())
        violation = 1.0 if b == 2 else 0.0
        trial.set_user_attr("violation", violation)
        if how == "set_constraint":
            trial.set_constraint("b_below_2", violation)
        return float(a - b - c)

    constraints = (lambda t: [t.user_attrs["violation"]]) if how == "constraints_func" else None
    sampler = LocalSearchSampler(seed=0, n_startup_trials=3, constraints_func=constraints)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(objective, n_trials=12)
    feasible = [t for t in study.trials if t.user_attrs["violation"] == 0]
    assert min(t.value for t in feasible) == -3.0
    assert any(t.params == {"a": 0, "b": 1, "c": 2} for t in study.trials)
    # an infeasible cell with a better value was tried, yet the sampler ranks (0, 1, 2) first
    assert min(t.value for t in study.trials) == -4.0
    ranked_first = max(sampler._scores, key=sampler._scores.get)
    assert study.trials[ranked_first].params == {"a": 0, "b": 1, "c": 2}


def test_local_search_continues_a_study_it_did_not_start():
    # a fresh sampler reads the history: after the random start it proposes an unseen neighbour
    study = optuna.create_study(direction="maximize", sampler=LocalSearchSampler(seed=0))
    study.optimize(tiny_objective, n_trials=12)
    seen = {tuple(t.params.values()) for t in study.trials}
    study.sampler = LocalSearchSampler(seed=99)
    trial = study.ask()
    cell = tuple(trial.suggest_categorical(n, c) for n, c in TINY.GRID.items())
    assert cell not in seen
    assert any(sum(x != y for x, y in zip(cell, old, strict=True)) == 1 for old in seen)


def test_local_search_beats_random_search_on_nas_bench_201(nb201_csv):
    # 5 seeds x 60 trials: measured 94.34 (local) vs 93.61 (random); over 60 simulated groups of 5
    # seeds the gap was 0.51 in the median and above 0.13 in 95 % of them
    summary = compare_samplers(nb201_csv, ["random", "local"], trials=60, seeds=5)
    final = summary[summary["trial"] == 60].set_index("sampler")["test_acc_mean"]
    assert final["local"] > final["random"] + 0.1, final.to_dict()


# ---- compare-samplers ----------------------------------------------------------------------------


def test_compare_reports_every_trial_count_of_every_sampler_as_a_curve_and_a_figure(nb201_csv):
    summary = compare_samplers(nb201_csv, ["tpe", "random"], trials=15, seeds=2)
    assert list(summary["sampler"].unique()) == ["tpe", "random"]
    assert summary.groupby("sampler")["trial"].apply(list).to_dict() == {
        "random": list(range(1, 16)), "tpe": list(range(1, 16))
    }  # fmt: skip
    assert (summary["seeds"] == 2).all()
    for _, rows in summary.groupby("sampler"):
        # the best validation accuracy so far never drops; test accuracy may
        assert rows["val_acc_mean"].is_monotonic_increasing
    assert summary["test_acc_mean"].between(10, 94.38).all()
    figure = compare_figure(summary)
    assert {trace.legendgroup for trace in figure.data} == {"tpe", "random"}


def test_compare_with_macs_adds_a_hypervolume_ratio_that_never_decreases(nb201_csv):
    summary = compare_samplers(nb201_csv, ["random"], trials=8, seeds=1,
                               objectives=["acc", "macs"])  # fmt: skip
    assert summary["hv_ratio_mean"].is_monotonic_increasing
    assert 0 < summary["hv_ratio_mean"].iloc[-1] < 1
    assert len(compare_figure(summary).layout.annotations) == 2  # two panel titles


def test_a_search_that_visits_the_true_front_has_a_hypervolume_ratio_of_one():
    # a history of random cells, then every cell of the true front: the ratio ends at exactly 1
    bench = load_benchmark("nb201-cifar10")
    objectives = ["acc", "latency"]
    table = compare._lookup_table(bench, objectives, "pixel3")
    reference, true_volume = compare._reference(bench, objectives, "pixel3", table)
    front = true_front(bench, objectives, "pixel3")
    keys = [*random.Random(0).sample(sorted(table), 50), *front.index]
    curves = compare._curves([table[k] for k in keys], objectives, reference, true_volume)
    assert curves["hv_ratio"].iloc[49] < 0.99
    assert curves["hv_ratio"].iloc[-1] == pytest.approx(1.0)
    assert curves["hv_ratio"].is_monotonic_increasing


def test_paired_comparison_counts_the_seeds_each_sampler_wins():
    runs = run_comparison("nas-bench-macro", ["random", "tpe"], trials=30, seeds=4,
                          objectives=["acc", "macs"])  # fmt: skip
    paired = paired_against(runs, "random", 30, "hv_ratio").set_index("sampler")
    assert paired.loc["random", ["better", "tied", "worse"]].tolist() == [0, 4, 0]
    tpe = paired.loc["tpe"]
    assert tpe["better"] + tpe["tied"] + tpe["worse"] == 4
    at_30 = runs[runs["trial"] == 30].set_index(["sampler", "seed"])["hv_ratio"]
    assert tpe["vs_random_mean_diff"] == pytest.approx((at_30["tpe"] - at_30["random"]).mean())


def test_compare_rejects_unknown_objectives_samplers_and_tables(tmp_path):
    with pytest.raises(UsageError, match="energy not available"):
        compare_samplers("nb201-cifar10", ["random"], 5, 1, ["acc", "energy"])
    with pytest.raises(UsageError, match="nb201-cifar100 has no latency"):
        compare_samplers("nb201-cifar100", ["random"], 5, 1, ["acc", "latency"])
    with pytest.raises(UsageError, match="no latency on 'pixel9'"):
        compare_samplers("nb201-cifar10", ["random"], 5, 1, ["acc", "latency"],
                         latency_device="pixel9")  # fmt: skip
    with pytest.raises(UsageError, match="unknown sampler 'sa'"):
        compare_samplers("nb201-cifar10", ["sa"], 5, 1)
    with pytest.raises(UsageError, match="does not exist"):
        compare_samplers(str(tmp_path / "x.csv"), ["random"], 5, 1, space="nb201")
    with pytest.raises(UsageError, match="unknown benchmark 'nb202'"):
        compare_samplers("nb202", ["random"], 5, 1)


def test_hypervolume_is_the_dominated_fraction_of_the_reference_box():
    directions = ["maximize", "minimize"]
    reference = np.array([0.0, 100.0])
    # 80 % accuracy at cost 50: the box [20 % error, 1] x [0.5, 1] of the unit square
    assert hypervolume(np.array([[80.0, 50.0]]), directions, reference) == pytest.approx(0.8 * 0.5)
    two = np.array([[80.0, 50.0], [60.0, 10.0], [50.0, 60.0]])  # the last one is dominated
    assert hypervolume(two, directions, reference) == pytest.approx(0.8 * 0.5 + 0.6 * 0.4)
    assert hypervolume(np.array([[80.0, 120.0]]), directions, reference) == 0.0


def test_macs_of_a_cell_equal_count_macs_of_its_network():
    for ops in random.Random(0).sample(list(itertools.product(nb201.OPS, repeat=6)), 2):
        arch = dict(zip(nb201.EDGES, ops, strict=True))
        measured = count_macs(nb201.build(arch, 10, 3, 32), (1, 3, 32, 32))
        assert macs_of_cell(nb201, arch) == measured.macs
        assert measured.uncounted_ops == {}
