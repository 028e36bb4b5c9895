"""NAS-Bench-Macro and Channel-Bench-Macro spaces: the built networks cost exactly what the tables say,
the tables' digit strings are archs wherever an arch is, and the spaces search and train on digits."""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Iterator

import optuna
import pandas as pd
import pytest
import torch

from nasbench.arch_strings import (
    format_arch_string,
    has_arch_string,
    parse_arch_string,
    resolve_arch,
)
from nasbench.cli import main
from nasbench.measure import count_macs, count_params
from nasbench.results import store
from nasbench.search.samplers import make_sampler
from nasbench.spaces import ArchError, SpaceError, load_space
from search_spaces.arch_strings import nb201 as nb201_strings

optuna.logging.set_verbosity(optuna.logging.WARNING)

MACRO_SPACES = ("nas_bench_macro", "channel_bench_mobilenet", "channel_bench_resnet")
# space -> (table in ../shared/data, device to build on). Meta builds allocate no weights, which
# pays for the wide ResNets; batch-norm runs slower on meta tensors than it computes on the CPU for
# the small MobileNets (measured: 200 rows take about 7, 6 and 12 s on one thread).
TABLES = {
    "nas_bench_macro": ("nas_bench_macro_cifar10.csv", "cpu"),
    "channel_bench_mobilenet": ("channel_bench_macro_mobilenet_cifar10.csv", "cpu"),
    "channel_bench_resnet": ("channel_bench_macro_resnet_cifar10.csv", "meta"),
}
SAMPLE_ROWS = 200
DECILES = 10
# rows of the tables (arch, params, macs), for the tests that must not need ../shared/data
KNOWN_ROWS = {
    "nas_bench_macro": ("01201122", 2377962, 61131264),
    "channel_bench_mobilenet": ("3334344", 1289962, 139921408),
    "channel_bench_resnet": ("3334344", 11075530, 963923712),
}
NB201_STRING = nb201_strings.EXAMPLE
NB201_STRING_PARAMS = 802426  # its row of nb201_cifar10.csv
FAST_TRAINING = ["--epochs", "1", "--train-fraction", "0.3", "--seed", "1"]


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One CPU thread: the 2-core CI machine runs other work, and spinning threads only slow it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run_cli(*args: str) -> tuple[int, str, str]:
    """The CLI's main() in this process: exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return status, out.getvalue(), err.getvalue()


def stratified_sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """`rows` rows, the same number from each decile of mean_test_acc (ties broken by row order)."""
    decile = pd.qcut(frame["mean_test_acc"].rank(method="first"), DECILES, labels=False)
    return frame.groupby(decile).sample(rows // DECILES, random_state=seed)


# ---- exact costs ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("space_name", MACRO_SPACES)
def test_built_networks_have_exactly_the_tables_params_and_macs(space_name, shared_data):
    file, device = TABLES[space_name]
    frame = pd.read_csv(shared_data(file), dtype={"arch": str})
    sample = stratified_sample(frame, SAMPLE_ROWS, seed=0)
    assert len(sample) == SAMPLE_ROWS
    assert sample["mean_test_acc"].min() < frame["mean_test_acc"].quantile(0.1)
    assert sample["mean_test_acc"].max() > frame["mean_test_acc"].quantile(0.9)
    space = load_space(space_name)
    wrong = []
    for arch_string, params, macs in zip(
        sample["arch"], sample["params"], sample["macs"], strict=True
    ):
        with torch.device(device):
            model = space.build(space.from_string(arch_string), 10, 3, 32)
        ours = (count_params(model), count_macs(model, (1, 3, 32, 32)).macs)
        if ours != (params, macs):
            wrong.append(f"{arch_string}: ours {ours}, table {(params, macs)}")
    assert wrong == []


@pytest.mark.parametrize("space_name", MACRO_SPACES)
def test_a_known_row_costs_what_the_table_says_without_the_table(space_name):
    arch_string, params, macs = KNOWN_ROWS[space_name]
    space = load_space(space_name)
    model = space.build(space.from_string(arch_string), 10, 3, 32)
    assert count_params(model) == params
    assert count_macs(model, (1, 3, 32, 32)).macs == macs


# ---- arch strings --------------------------------------------------------------------------------


@pytest.mark.parametrize("space_name", MACRO_SPACES)
def test_every_arch_string_round_trips(space_name):
    space = load_space(space_name)
    assert has_arch_string(space_name)
    for arch in space.REFERENCE_ARCHS.values():
        text = space.to_string(arch)
        assert space.from_string(text) == arch
        assert format_arch_string(space_name, arch) == text
        assert parse_arch_string(space_name, text) == arch
    text = KNOWN_ROWS[space_name][0]
    assert space.to_string(space.from_string(text)) == text


def test_nas_bench_macro_strings_keep_leading_zeros_and_map_digits_to_ops():
    space = load_space("nas_bench_macro")
    arch = space.from_string("00000012")
    assert arch == {"layers": ["identity"] * 6 + ["mb_k3_e3", "mb_k5_e6"]}
    assert space.to_string(arch) == "00000012"
    assert space.to_string(space.SMALLEST_ARCH) == "00000000"


def test_channel_bench_digits_are_quarters_of_the_widest_channel_counts():
    mobilenet = load_space("channel_bench_mobilenet")
    resnet = load_space("channel_bench_resnet")
    assert mobilenet.from_string("1234123") == {"widths": [32, 384, 576, 768, 64, 768, 768]}
    assert resnet.from_string("4444444") == {"widths": [256, 256, 256, 512, 512, 512, 512]}
    assert resnet.from_string("1111111") == resnet.SMALLEST_ARCH


MALFORMED = {
    "nas_bench_macro": {
        "too short": ("0120112", "expected 8 digits, got 7"),
        "too long": ("012011220", "expected 8 digits, got 9"),
        "digit out of range": ("01201123", r"digit 8 is 3; layers\[7\] takes 0=identity"),
        "not a digit": ("0120x122", r"character 5 \('x'\) is not a digit"),
        "an int (leading zeros lost)": (1201122, "must be a str"),
    },
    "channel_bench_mobilenet": {
        "too short": ("123412", "expected 7 digits, got 6"),
        "digit 0": ("0234123", r"digit 1 is 0; widths\[0\] takes 1=32, 2=64, 3=96, 4=128"),
        "digit 5": ("1234125", r"digit 7 is 5; widths\[6\] takes 1=256"),
        "not a digit": ("12-4123", r"character 3 \('-'\) is not a digit"),
    },
    "channel_bench_resnet": {
        "too long": ("12341234", "expected 7 digits, got 8"),
        "digit 9": ("9234123", r"digit 1 is 9; widths\[0\] takes 1=64"),
        "empty": ("", "expected 7 digits, got 0"),
    },
}


@pytest.mark.parametrize(
    "space_name,case",
    [(space, case) for space, cases in MALFORMED.items() for case in cases],
)
def test_a_malformed_string_is_a_one_line_arch_error_saying_what_is_wrong(space_name, case):
    text, message = MALFORMED[space_name][case]
    with pytest.raises(ArchError, match=message) as raised:
        parse_arch_string(space_name, text)
    assert "\n" not in str(raised.value)


# ---- validate, suggest, GRID ---------------------------------------------------------------------


BAD_ARCHS = {
    "nas_bench_macro": {
        "unknown op": ({"layers": ["identity"] * 7 + ["conv"]}, r"layers\[7\]='conv'"),
        "seven layers": ({"layers": ["identity"] * 7}, "layers must be a list of 8"),
        "a string, not a list": ({"layers": "00000000"}, "layers must be a list of 8"),
        "missing field": ({}, "missing field.*layers"),
        "extra field": ({"layers": ["identity"] * 8, "width": 1}, "unknown field.*width"),
    },
    "channel_bench_mobilenet": {
        # 192 is a choice of widths[1] but not of widths[0]
        "width of another position": ({"widths": [192] * 7}, r"widths\[0\]=192.*32, 64, 96, 128"),
        "between choices": ({"widths": [33, 192, 192, 192, 64, 384, 256]}, r"widths\[0\]=33"),
        "a bool": ({"widths": [True, 192, 192, 192, 64, 384, 256]}, r"widths\[0\]=True"),
    },
    "channel_bench_resnet": {
        "width of another position": (
            {"widths": [64, 64, 64, 64, 128, 128, 128]},
            r"widths\[3\]=64",
        ),
        "eight widths": ({"widths": [64] * 8}, "widths must be a list of 7"),
    },
}


@pytest.mark.parametrize(
    "space_name,case",
    [(space, case) for space, cases in BAD_ARCHS.items() for case in cases],
)
def test_validate_rejects_a_bad_arch_naming_the_position(space_name, case):
    arch, message = BAD_ARCHS[space_name][case]
    with pytest.raises(ArchError, match=message):
        load_space(space_name).validate(arch)


@pytest.mark.parametrize("space_name", MACRO_SPACES)
def test_suggest_samples_one_categorical_per_position_over_the_grid(space_name):
    space = load_space(space_name)
    study = optuna.create_study(
        storage=optuna.storages.InMemoryStorage(), sampler=optuna.samplers.RandomSampler(seed=0)
    )
    for _ in range(5):
        trial = study.ask()
        arch = space.suggest(trial)
        space.validate(arch)
        assert json.loads(json.dumps(arch)) == arch
        assert {n: list(d.choices) for n, d in trial.distributions.items()} == space.GRID
        study.tell(trial, 0.0)
    (field,) = space.FIELDS
    assert list(space.GRID) == [f"{field}_{i}" for i in range(len(arch[field]))]


@pytest.mark.parametrize(
    "space_name,cells", [("nas_bench_macro", 3**8), ("channel_bench_mobilenet", 4**7)]
)
def test_grid_sampler_enumerates_the_whole_table(space_name, cells):
    space = load_space(space_name)
    assert math.prod(len(choices) for choices in space.GRID.values()) == cells
    # small enough to enumerate: the grid sampler takes it (it refuses a space without a GRID)
    sampler = make_sampler("grid", seed=0, n_objectives=1, space=space)
    assert isinstance(sampler, optuna.samplers.GridSampler)


@pytest.mark.parametrize("space_name", MACRO_SPACES)
def test_networks_build_and_run_on_small_one_channel_inputs(space_name):
    space = load_space(space_name)
    for arch in space.REFERENCE_ARCHS.values():
        model = space.build(arch, 3, 1, 8).eval()
        with torch.no_grad():
            out = model(torch.randn(2, 1, 8, 8))
        assert out.shape == (2, 3) and torch.isfinite(out).all()


# ---- SPACE:ARCHSTRING wherever an arch is --------------------------------------------------------


def test_resolve_arch_tries_reference_name_then_json_file_then_arch_string(tmp_path, monkeypatch):
    space, arch, label = resolve_arch("nas_bench_macro:best")
    assert label == "nas_bench_macro:best" and space.to_string(arch) == "22212202"
    _, arch, label = resolve_arch("nas_bench_macro:01201122")
    assert label == "nas_bench_macro:01201122" and arch == space.from_string("01201122")
    # a file of that name wins over the arch string
    monkeypatch.chdir(tmp_path)
    (tmp_path / "01201122").write_text(json.dumps(space.from_string("22222222")))
    _, arch, label = resolve_arch("nas_bench_macro:01201122")
    assert arch == space.from_string("22222222")
    _, arch, label = resolve_arch(f"nb201:{NB201_STRING}")
    assert label == f"nb201:{NB201_STRING}"
    assert arch == parse_arch_string("nb201", NB201_STRING)


def test_a_bad_reference_names_the_three_options():
    with pytest.raises(ArchError) as raised:
        resolve_arch("nas_bench_macro:0120112")
    message = str(raised.value)
    assert "reference arch" in message and "JSON file" in message and "arch string" in message
    assert "best" in message and "expected 8 digits" in message and "\n" not in message
    with pytest.raises(SpaceError, match="nor a JSON file; resnet has no arch string"):
        resolve_arch("resnet:01201122")


@pytest.mark.parametrize("space_name", MACRO_SPACES)
def test_profile_of_an_arch_string_defaults_to_the_benchmarks_input(space_name):
    arch_string, params, macs = KNOWN_ROWS[space_name]
    status, out, err = run_cli(
        "profile", f"{space_name}:{arch_string}", "--no-latency", "--format", "json"
    )
    assert status == 0, err
    (row,) = json.loads(out)
    assert row["name"] == f"{space_name}:{arch_string}"
    assert row["input_size"] == "3x32x32"
    assert (row["params"], row["macs"]) == (params, macs)  # 10 classes, as the table


def test_profile_of_an_nb201_string_defaults_to_cifar10_and_obeys_explicit_sizes():
    status, out, err = run_cli("profile", f"nb201:{NB201_STRING}", "--no-latency",
                               "--format", "json")  # fmt: skip
    assert status == 0, err
    (row,) = json.loads(out)
    assert row["input_size"] == "3x32x32" and row["params"] == NB201_STRING_PARAMS
    status, out, err = run_cli("profile", "nas_bench_macro:00000000", "--input-size", "64",
                               "--num-classes", "100", "--no-latency", "--format", "json")  # fmt: skip
    assert status == 0, err
    (row,) = json.loads(out)
    assert row["input_size"] == "3x64x64"
    assert row["params"] == 387882 + 90 * 1281  # the 1280->10 head grown to 100 classes


def test_profile_of_a_malformed_arch_string_is_one_line_and_status_2():
    status, out, err = run_cli("profile", "channel_bench_resnet:12345", "--no-latency")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "expected 7 digits" in err


@pytest.mark.parametrize(
    "space_name,arch_string",
    [pytest.param("nas_bench_macro", "01201122", marks=pytest.mark.slow),
     ("channel_bench_mobilenet", "1111111"), ("nb201", NB201_STRING)],
)  # fmt: skip
def test_train_accepts_an_arch_string(space_name, arch_string):
    status, out, err = run_cli("train", "--space", space_name, "--arch", arch_string,
                               *FAST_TRAINING, "--format", "json")  # fmt: skip
    assert status == 0, err
    (row,) = json.loads(out)
    assert row["name"] == f"{space_name}:{arch_string}"
    assert 0 <= row["val_acc"] <= 100 and row["image_size"] == 8


# ---- search --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("space_name", MACRO_SPACES)
def test_a_three_trial_search_on_digits_trains_three_archs(space_name, tmp_path):
    url = f"sqlite:///{tmp_path / 'nasbench.db'}"
    status, _, err = run_cli("search", "--space", space_name, "--trials", "3", "--storage", url,
                             *FAST_TRAINING)  # fmt: skip
    assert status == 0, err
    rows = store.load_results(url)
    assert list(rows["status"]) == ["complete"] * 3
    assert set(rows["dataset"]) == {"digits"}
    assert rows["val_acc"].between(0, 100).all()
    space = load_space(space_name)
    for arch, params in zip(rows["arch"], rows["params"], strict=True):
        assert params == count_params(space.build(arch, 10, 1, 8))  # digits: 1x8x8, 10 classes
