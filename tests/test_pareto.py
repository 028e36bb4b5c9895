"""Pareto fronts and hypervolume: one non-domination rule and one normalisation, pinned by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nasbench.results.pareto import (
    front_size,
    hypervolume,
    hypervolume_history,
    joins_front,
    non_dominated,
    pareto_mask,
)

MAX_MIN = ["maximize", "minimize"]


def _brute_force(points: np.ndarray, directions: list[str]) -> list[bool]:
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    values = points * signs
    return [
        not any((o <= p).all() and (o < p).any() for o in values) and not np.isnan(p).any()
        for p in values
    ]


@pytest.mark.parametrize("dims", [2, 3, 4])
def test_non_dominated_agrees_with_the_definition_on_random_points(dims):
    rng = np.random.default_rng(dims)
    directions = ["maximize"] + ["minimize"] * (dims - 1)
    points = rng.integers(0, 6, size=(200, dims)).astype(float)  # many ties and duplicates
    points[5, 1] = np.nan
    assert non_dominated(points, directions).tolist() == _brute_force(points, directions)


def test_pareto_mask_keeps_duplicates_of_a_front_point_and_drops_equal_accuracy_at_more_cost():
    mask = pareto_mask([90, 90, 90, 95, 80, 95], [10, 10, 20, 30, 5, 40])
    assert mask.tolist() == [True, True, False, True, True, False]


def test_front_size_counts_distinct_points():
    points = [[90, 10], [90, 10], [95, 30], [80, 5], [85, 20]]
    assert front_size(points, MAX_MIN) == 3


def test_joins_front_needs_a_point_no_result_is_at_least_as_good_as():
    others = [[90.0, 10.0], [95.0, 30.0]]
    assert joins_front([92.0, 20.0], others, MAX_MIN)
    assert not joins_front([90.0, 10.0], others, MAX_MIN)  # a tie adds nothing
    assert not joins_front([89.0, 10.0], others, MAX_MIN)
    assert joins_front([50.0, 1.0], [], MAX_MIN)
    assert joins_front([91.0], [[90.0]], ["maximize"]) and not joins_front(
        [90.0], [[90.0]], ["maximize"]
    )


def test_hypervolume_of_two_points_is_the_union_of_their_boxes():
    # reference cost 100: (90 %, 20) covers 0.9 x 0.8; (60 %, 10) adds 0.6 x 0.1 beyond it
    value = hypervolume([[90.0, 20.0], [60.0, 10.0]], MAX_MIN, [0.0, 100.0])
    assert value == pytest.approx(0.9 * 0.8 + 0.6 * 0.1)


def test_hypervolume_ignores_points_at_or_beyond_the_reference_and_dominated_ones():
    base = hypervolume([[90.0, 20.0]], MAX_MIN, [0.0, 100.0])
    more = hypervolume([[90.0, 20.0], [99.0, 100.0], [80.0, 30.0]], MAX_MIN, [0.0, 100.0])
    assert base == more == pytest.approx(0.72)
    assert hypervolume([], MAX_MIN, [0.0, 100.0]) == 0.0


def test_hypervolume_in_three_dimensions_matches_an_exact_count_on_a_grid():
    points = np.array([[80.0, 2.0, 5.0], [60.0, 1.0, 8.0], [90.0, 6.0, 2.0]])
    directions = ["maximize", "minimize", "minimize"]
    reference = [0.0, 10.0, 10.0]
    # exact: the dominated region is a union of boxes on a grid of the points' coordinates
    grid = [sorted({0.0, *points[:, d], 100.0 if d == 0 else 10.0}) for d in range(3)]
    volume = 0.0
    for cell in itertools.product(*(range(len(g) - 1) for g in grid)):
        lo = [grid[d][cell[d]] for d in range(3)]
        hi = [grid[d][cell[d] + 1] for d in range(3)]
        covered = any(p[0] >= hi[0] and p[1] <= lo[1] and p[2] <= lo[2] for p in points)
        if covered:
            volume += (hi[0] - lo[0]) / 100 * (hi[1] - lo[1]) / 10 * (hi[2] - lo[2]) / 10
    assert hypervolume(points, directions, reference) == pytest.approx(volume)


def test_hypervolume_history_equals_the_hypervolume_of_each_prefix():
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.uniform(50, 99, 60), rng.uniform(1, 100, 60)])
    points[7] = [np.nan, 3.0]
    history = hypervolume_history(points, MAX_MIN, [0.0, 110.0])
    expected = [hypervolume(points[: i + 1][~np.isnan(points[: i + 1, 0])], MAX_MIN, [0.0, 110.0])
                for i in range(len(points))]  # fmt: skip
    assert history == pytest.approx(expected)
    assert (np.diff(history) >= 0).all()
