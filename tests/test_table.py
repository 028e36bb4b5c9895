"""`nasbench table`: every output format parses, --pareto keeps non-dominated rows, sorting, errors."""

from __future__ import annotations

import io
import json
import random

import pandas as pd
import pytest

from nasbench.arch import arch_hash, arch_summaries, flatten_arch
from nasbench.cli import main
from nasbench.commands.table import run_table
from nasbench.errors import UsageError
from nasbench.results import store
from nasbench.results.formats import FORMATS
from nasbench.results.pareto import pareto_mask
from nasbench.results.table import results_table


def _arch(rng: random.Random) -> dict:
    return {
        "width_mult": rng.choice([0.25, 0.5, 1.0]),
        "depths": [rng.choice([1, 2, 3]) for _ in range(4)],
        "activations": [rng.choice(["relu", "hardswish", "relu6"]) for _ in range(4)],
        "se": [rng.choice([False, True]) for _ in range(4)],
    }


def _write_study(url: str, study: str, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for number in range(n):
        arch = _arch(rng)
        status = "failed" if number == 3 else "complete"
        row = {
            "study_name": study,
            "trial_number": number,
            "source": "search",
            "name": f"trial {number}",
            "space": "mobilenet",
            "arch": arch,
            "arch_hash": arch_hash(arch),
            "status": status,
        }
        if status == "complete":
            row.update(
                val_acc=rng.uniform(70, 99),
                macs=rng.randint(10**6, 10**8),
                params=rng.randint(10**4, 10**6),
                latency_ms=rng.uniform(0.1, 5),
            )
        else:
            row["error"] = "RuntimeError: out of memory"
        rows.append(row)
    # a rerun of trial 0's arch: reused, must not be a second row of the table
    rows.append(
        {**rows[0], "trial_number": n, "name": f"trial {n}", "status": "reused", "reused_from": 0}
    )
    rows.append(
        {
            "study_name": study,
            "source": "baseline",
            "name": "resnet18",
            "space": "torchvision",
            "arch": {"model": "resnet18"},
            "arch_hash": arch_hash({"model": "resnet18"}),
            "status": "complete",
            "val_acc": 95.0,
            "macs": 557_000_000,
            "params": 11_200_000,
            "latency_ms": 3.0,
        }
    )
    for row in rows:
        store.write_result(url, row)
    return rows


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('table') / 'nasbench.db'}"
    _write_study(url, "mobilenet_digits", 25, seed=1)
    _write_study(url, "resnet_digits", 10, seed=2)
    return url


def _output(capsys: pytest.CaptureFixture[str], url: str, **kwargs) -> str:
    kwargs = {"pareto": False, "sort": None, "output_format": "json", **kwargs}
    assert run_table(url, kwargs.pop("study_names", None), **kwargs) == 0
    return capsys.readouterr().out


def _records(capsys: pytest.CaptureFixture[str], url: str, **kwargs) -> list[dict]:
    return json.loads(_output(capsys, url, output_format="json", **kwargs))


@pytest.mark.parametrize("output_format", FORMATS)
def test_every_format_parses_with_one_row_per_architecture(capsys, url, output_format):
    text = _output(capsys, url, output_format=output_format)
    # 25 + 10 trials, one failed each, plus one reference model each; reused reruns not repeated
    n_rows = (25 - 1 + 1) + (10 - 1 + 1)
    if output_format == "json":
        records = json.loads(text)
        assert len(records) == n_rows
        assert list(records[0]) == [
            "study_name", "name", "arch", "params", "macs", "latency_ms", "val_acc",
            "val_acc_std", "train_runs", "test_acc",
        ]  # fmt: skip
    elif output_format == "csv":
        frame = pd.read_csv(io.StringIO(text))
        assert len(frame) == n_rows
        assert frame["val_acc"].between(70, 99).all()
        assert frame["macs"].dtype == "int64"  # exact counts, not millions rounded
    elif output_format == "md":
        lines = text.strip().splitlines()
        assert len(lines) == n_rows + 2
        assert all(line.startswith("|") and line.endswith("|") for line in lines)
    elif output_format == "latex":
        assert "\\begin{tabular}" in text and "\\end{tabular}" in text
        assert "mobilenet\\_digits" in text  # underscores escaped, or LaTeX would not compile
        assert sum(line.rstrip().endswith("\\\\") for line in text.splitlines()) == n_rows + 1
    else:
        assert len(text.strip().splitlines()) == n_rows + 1


def test_reused_rows_are_not_repeated_and_failed_rows_are_left_out(capsys, url):
    records = _records(capsys, url, study_names=["mobilenet_digits"])
    names = [r["name"] for r in records]
    assert "trial 0" in names and "trial 25" not in names  # trial 25 reused trial 0's result
    assert "trial 3" not in names  # failed: no accuracy to print
    assert len(set(json.dumps(r["arch"], sort_keys=True) for r in records)) == len(records)


def test_machine_formats_carry_exact_values_and_human_formats_rounded_labels(capsys, url):
    stored = store.load_results(url, ["resnet_digits"])
    stored = stored[stored["status"] == "complete"].set_index("name")
    for record in _records(capsys, url, study_names=["resnet_digits"]):
        row = stored.loc[record["name"]]
        assert record["macs"] == int(row["macs"]) and isinstance(record["macs"], int)
        assert record["params"] == int(row["params"])
        assert record["val_acc"] == float(row["val_acc"])  # every digit, not 2 decimals
        assert record["arch"] == row["arch"]
    csv = pd.read_csv(io.StringIO(_output(capsys, url, output_format="csv")))
    assert json.loads(csv["arch"].iloc[0]) in [r for r in store.load_results(url)["arch"]]
    text = _output(capsys, url, output_format="md", study_names=["resnet_digits"])
    header = text.splitlines()[0]
    assert "MACs (M)" in header and "val acc (%)" in header and "macs" not in header
    assert "557.00" in text  # the reference model's 557,000,000 MACs, in millions


def _dominates(a: dict, b: dict) -> bool:
    acc_a, acc_b, macs_a, macs_b = a["val_acc"], b["val_acc"], a["macs"], b["macs"]
    return acc_a >= acc_b and macs_a <= macs_b and (acc_a > acc_b or macs_a < macs_b)


def test_pareto_rows_are_non_dominated_and_dominate_the_rest(capsys, url):
    front = _records(capsys, url, pareto=True)
    everything = _records(capsys, url)
    assert 0 < len(front) < len(everything)
    for study in ("mobilenet_digits", "resnet_digits"):
        kept = [r for r in front if r["study_name"] == study]
        rest = [r for r in everything if r["study_name"] == study and r not in kept]
        assert kept
        for a in kept:
            assert not any(_dominates(b, a) for b in kept)
        for r in rest:  # nothing left out that is not dominated
            assert any(_dominates(a, r) for a in kept)


def test_sort_orders_costs_ascending_and_accuracy_best_first(capsys, url):
    by_macs = [r["macs"] for r in _records(capsys, url, sort="macs")]
    assert by_macs == sorted(by_macs)
    by_acc = [r["val_acc"] for r in _records(capsys, url, sort="val_acc")]
    assert by_acc == sorted(by_acc, reverse=True)
    by_header = [r["latency_ms"] for r in _records(capsys, url, sort="latency (ms)")]
    assert by_header == sorted(by_header)


def test_unknown_sort_column_is_a_usage_error_listing_the_valid_ones(capsys, url):
    with pytest.raises(
        UsageError, match="unknown sort column 'flops'; valid: study_name, name, params"
    ):
        run_table(url, None, pareto=False, sort="flops", output_format="md")
    assert main(["table", "--storage", url, "--sort", "flops"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "val_acc" in err


def test_unknown_study_is_a_usage_error(url):
    with pytest.raises(UsageError, match="studies with results: mobilenet_digits, resnet_digits"):
        run_table(url, ["nope"], pareto=False, sort=None, output_format="md")


def test_missing_database_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no database"):
        run_table(f"sqlite:///{tmp_path / 'none.db'}", None, output_format="md")
    assert not (tmp_path / "none.db").exists()


def test_table_reads_a_postgresql_database(postgres_db_url, capsys):
    _write_study(postgres_db_url, "pg_study", 5, seed=3)
    records = _records(capsys, postgres_db_url, pareto=True)
    assert records and {r["study_name"] for r in records} == {"pg_study"}


def test_pareto_mask_keeps_duplicates_and_drops_equal_accuracy_at_higher_cost():
    acc = [90, 90, 90, 95, 80, 95]
    cost = [10, 10, 20, 30, 5, 40]
    assert pareto_mask(acc, cost).tolist() == [True, True, False, True, True, False]


def test_arch_summary_is_compact_and_unambiguous():
    archs = [
        {
            "w": 0.5,
            "depths": [1, 2, 3],
            "act": ["relu", "hardswish", "relu"],
            "se": [True, False, False],
        },
        {"w": 1.0, "depths": [10, 2, 3], "act": ["relu", "relu6", "relu"], "se": [False] * 3},
    ]
    assert arch_summaries(archs) == [
        "w=0.5 depths=123 act=relu-h-relu se=100",
        "w=1 depths=10-2-3 act=relu-relu6-relu se=000",
    ]
    assert flatten_arch(archs[0])["depths_2"] == 3


def test_table_of_no_rows_is_empty_not_an_error():
    frame = pd.DataFrame(columns=store.COLUMNS)
    assert results_table(frame, pareto=True).empty


def test_accuracies_averaged_over_several_trainings_show_their_spread_and_count(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    for number, (runs, std) in enumerate([(3, 0.8), (1, None)]):
        arch = {"width": number}
        store.write_result(
            url,
            {"study_name": "s", "trial_number": number, "source": "search", "arch": arch,
             "arch_hash": arch_hash(arch), "status": "complete", "val_acc": 95.0 + number,
             "val_acc_std": std, "train_runs": runs, "macs": 10**6 * (number + 1)},
        )  # fmt: skip
    records = _records(capsys, url)
    assert [(r["val_acc_std"], r["train_runs"]) for r in records] == [(0.8, 3), (None, 1)]
    header = _output(capsys, url, output_format="table").splitlines()[0]
    assert "val acc std" in header and "runs" in header


def test_human_formats_leave_out_the_spread_when_every_accuracy_is_one_training(capsys, url):
    header = _output(capsys, url, output_format="table").splitlines()[0]
    assert "val acc (%)" in header and "std" not in header and "runs" not in header
