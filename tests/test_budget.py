"""ProxyBudget: one value for what a proxy costs, one text form, checked in one place; flags,
experiment files and shorthands agree or are refused in one line."""

from __future__ import annotations

import pytest

from nasbench.budget import ProxyBudget, combine
from nasbench.config import make_settings
from nasbench.errors import UsageError


def test_a_budget_is_parsed_with_either_spelling_and_written_back_canonically():
    budget = ProxyBudget.parse("image-size=16, epochs=3")
    assert (budget.epochs, budget.image_size) == (3, 16)
    assert budget.label == "epochs=3,image_size=16"
    assert ProxyBudget.parse("train_fraction=0.25").label == "train_fraction=0.25"
    assert ProxyBudget.parse("").label == "default" == ProxyBudget.parse("default").label


def test_labels_are_those_earlier_versions_stored():
    # fidelity rows of earlier versions are found by these labels: keys in this order, %g numbers
    for text in ("epochs=1,image_size=16,train_fraction=0.09", "epochs=3,image_size=16,"
                 "train_fraction=0.045", "epochs=2,image_size=8,train_fraction=0.09",
                 "epochs=1,train_fraction=0.2", "batch_size=64"):  # fmt: skip
        assert ProxyBudget.parse(text).label == text
    # a knob at its default is left out: the same budget as not naming it
    assert ProxyBudget.parse("train_fraction=1,epochs=2") == ProxyBudget(epochs=2)
    assert ProxyBudget.parse("train_fraction=1,epochs=2").label == "epochs=2"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("lr=0.1", "'lr=0.1' is not KEY=VALUE"),
        ("epochs", "is not KEY=VALUE"),
        ("epochs=two", "epochs='two' is not an integer"),
        ("epochs=1.5", "epochs='1.5' is not an integer"),
        ("train_fraction=1.5", "train_fraction must be in (0, 1]"),
        ("train_fraction=0", "train_fraction must be in (0, 1]"),
        ("train_fraction=nan", "must be a finite number"),
        ("train_fraction=inf", "must be a finite number"),
        ("epochs=0", "epochs must be in [1, 10000]"),
        ("epochs=99999999999999999999", "epochs must be in [1, 10000]"),
        ("image_size=4096", "image_size must be in [1, 1024]"),
        ("batch_size=1000000", "batch_size must be in [1, 65536]"),
        ("epochs=1,epochs=2", "sets epochs twice"),
    ],
)
def test_a_bad_budget_is_one_line_naming_the_cause(text, complaint):
    with pytest.raises(UsageError) as caught:
        ProxyBudget.parse(text)
    assert complaint in str(caught.value) and "\n" not in str(caught.value)


def test_a_table_of_knobs_is_checked_by_type():
    assert ProxyBudget.from_mapping({"image-size": 16}).image_size == 16
    for values, complaint in [
        ({"epochs": True}, "epochs must be a number"),
        ({"epochs": 2.0}, "epochs must be an integer"),
        ({"image_size": "16"}, "image_size must be a number"),
        ({"depth": 0.25}, "unknown budget key(s) depth"),
    ]:
        with pytest.raises(UsageError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
            ProxyBudget.from_mapping(values)


def test_shorthands_join_the_budget_and_a_disagreement_is_refused():
    assert combine(None, {"epochs": None}, "--budget") is None
    joined = combine(ProxyBudget.parse("epochs=2"), {"epochs": 2, "image_size": 8}, "--budget")
    assert joined == ProxyBudget(epochs=2, image_size=8)
    with pytest.raises(UsageError, match="sets epochs=2 and epochs is also given as 3"):
        combine(ProxyBudget.parse("epochs=2"), {"epochs": 3}, "--budget")


def test_search_settings_take_the_budget_from_flags_and_files_knob_by_knob(tmp_path):
    assert make_settings(None, {}).budget is None  # not given: a rerun resumes the study's own
    flags = make_settings(None, {"budget": "epochs=2,image_size=16", "train_fraction": 0.5})
    assert flags.budget == ProxyBudget(epochs=2, image_size=16, train_fraction=0.5)
    with pytest.raises(UsageError, match="also given"):
        make_settings(None, {"budget": "epochs=2", "epochs": 3})
    for text in ('budget = "epochs=2,image_size=16"\n', "[budget]\nepochs = 2\nimage_size = 16\n",
                 "epochs = 2\nimage_size = 16\n", "image_size = 16\n[train]\nepochs = 2\n"):  # fmt: skip
        path = tmp_path / "e.toml"
        path.write_text(text)
        assert make_settings(str(path), {}).budget == ProxyBudget(epochs=2, image_size=16), text
        # a flag wins over the file for its knob; the file's other knobs stay
        assert make_settings(str(path), {"epochs": 5}).budget == ProxyBudget(
            epochs=5, image_size=16
        )
    path.write_text('budget = "epochs=2"\nepochs = 3\n')
    with pytest.raises(UsageError, match="also given as 3"):
        make_settings(str(path), {})
    path.write_text("[budget]\nlr = 0.1\n")
    with pytest.raises(UsageError, match="unknown budget key"):
        make_settings(str(path), {})


def test_a_budget_validates_on_a_fixed_stratified_subset_with_its_own_protocol():
    from nasbench.workflow.contexts import budget_data, budget_recipe, trained_context

    whole = ProxyBudget(epochs=1)
    subset = ProxyBudget.parse("epochs=1,val_images=50")
    assert subset.label == "epochs=1,val_images=50"
    full, part = budget_data("digits", None, whole), budget_data("digits", None, subset)
    again = budget_data("digits", None, subset, base=full)  # the same subset from a loaded base
    assert len(part.val_y) == 50 and part.val_y.equal(again.val_y) and part.val_x.equal(again.val_x)
    assert set(part.val_y.tolist()) == set(full.val_y.tolist())  # every class is there
    assert part.train_y.equal(full.train_y)  # training is untouched
    recipe = budget_recipe("digits", {}, whole)
    hashes = {
        trained_context(None, data, recipe, {}, device="cpu", budget=budget).protocol
        for data, budget in ((full, whole), (part, subset))
    }
    assert len(hashes) == 2  # a subset's accuracies are not the whole split's
    # without the knob the hash is the one earlier versions computed (no budget in it)
    assert trained_context(None, full, recipe, {}, device="cpu", budget=whole).protocol == (
        trained_context(None, full, recipe, {}, device="cpu").protocol
    )
