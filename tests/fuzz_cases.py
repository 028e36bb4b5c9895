"""A seeded generator of malformed inputs for every reader of the CLI (issue 25, item 5).

Each case is one command line, the files it reads (written into a fresh folder, `@TMP@` in the
arguments and in text files) and the environment it runs under. A case is made from its seed
alone, `f"{FUZZ_SEED}/{reader}/{index}"`, so `make(reader, index)` rebuilds any case exactly;
the mutation kind is `KINDS[reader][index % len(KINDS[reader])]`, so every kind is covered.

Every case is bad input: tests/test_fuzz.py asserts that each is refused in one line with exit
status 2 and changes no file. Mutations that happen to be valid input (an unchanged database
page, a number inside its range) are not generated, or are filtered out here.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import json
import random
import shutil
import sqlite3
import string
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

FUZZ_SEED = 25  # issue 25
FIXTURE = Path(__file__).parent / "fixtures" / "before_budget.db"
PAGE = 4096  # the fixture's page size
TMP = "@TMP@"  # replaced by the case's folder
LONG_INT = "7" * 5000  # more digits than Python converts from text (4300)

CHEAP = "epochs=1,train_fraction=0.1"  # what a search costs should a bad input get through
SEARCH = ["search", "--space", "nas_bench_macro", "--dataset", "digits", "--trials", "1",
          "--workers", "1", "--storage", f"sqlite:///{TMP}/s.db"]  # fmt: skip
FIXTURE_DB = f"sqlite:///{TMP}/n.db"  # a copy of the fixture (study "s": mobilenet)


@dataclass(frozen=True)
class Case:
    reader: str
    kind: str
    seed: str
    args: tuple[str, ...]
    # relative path -> content: str (TMP replaced), bytes (as is) or None (an empty folder)
    files: tuple[tuple[str, str | bytes | None], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    # the error line names at least one of these (case-insensitive)
    hints: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.reader}-{self.seed.rsplit('/', 1)[1]}-{self.kind}"


def _case(reader, kind, seed, args, files=None, env=None, hints=()) -> Case:
    return Case(reader, kind, seed, tuple(args), tuple((files or {}).items()),
                tuple((env or {}).items()), tuple(hints))  # fmt: skip


def _junk(rng: random.Random, n: int = 0) -> str:
    return "".join(rng.choices(string.ascii_letters, k=n or rng.randint(1, 8)))


# ---- 1. numeric flags ------------------------------------------------------------------------

INT, FLOAT = "int", "float"
INF = float("inf")
BUDGET_FLAGS = {"--epochs": "epochs", "--image-size": "image_size", "--batch-size": "batch_size",
                "--train-fraction": "train_fraction"}  # fmt: skip
BUDGET_SHORTHANDS = [("--epochs", INT, 1, 10_000), ("--image-size", INT, 1, 1024),
                     ("--batch-size", INT, 1, 65_536), ("--train-fraction", FLOAT, 0, 1)]  # fmt: skip
RETRAIN = ["retrain", "--study-name", "s", "--pareto", "--seeds", "1", "--storage", FIXTURE_DB]
FIDELITY = ["fidelity", "--benchmark", "nas-bench-macro", "--dataset", "digits", "--archs", "2",
            "--storage", f"sqlite:///{TMP}/f.db"]  # fmt: skip
MEASURE = ["measure", "--study-name", "s", "--pareto", "--latency-budget", "0.1", "--threads", "1",
           "--storage", FIXTURE_DB]  # fmt: skip
PROFILE = ["profile", "nas_bench_macro:00000000", "--no-latency"]
TRAIN = ["train", "--space", "nas_bench_macro", "--arch", "00000000", "--dataset", "digits"]
BASELINE = ["baseline", "--models", "resnet18", "--dataset", "digits", "--seeds", "1",
            "--storage", f"sqlite:///{TMP}/b.db"]  # fmt: skip
# command -> (its cheap valid base, whether it takes --budget, its numeric flags with the range
# they accept (after the budget's own check): (flag, kind, low, high); a float's low is open)
NUMERIC = {
    "search": (SEARCH, True, [
        ("--trials", INT, 1, 1_000_000), *BUDGET_SHORTHANDS, ("--max-macs", FLOAT, 0, INF),
        ("--max-params", FLOAT, 0, INF), ("--max-latency-ms", FLOAT, 0, INF),
        ("--seed", INT, 0, 2**32 - 1), ("--workers", INT, 1, 1024), ("--confirm-runs", INT, 1, 100),
        ("--rungs", INT, 1, 10), ("--reduction-factor", INT, 2, 100),
        ("--prescreen-candidates", INT, 2, 100_000)]),
    "retrain": (RETRAIN, True, [("--trial", INT, 0, 1_000_000), ("--seeds", INT, 1, 1000),
                                *BUDGET_SHORTHANDS]),
    "fidelity": (FIDELITY, True, [("--archs", INT, 2, 100_000), ("--seed", INT, 0, 2**32 - 1)]),
    "measure": (MEASURE, False, [("--trial", INT, 0, 1_000_000), ("--threads", INT, 1, 1024),
                                 ("--latency-budget", FLOAT, 0, 600)]),
    "profile": (PROFILE, False, [("--input-size", INT, 1, 4096), ("--batch-size", INT, 1, 65_536),
                                 ("--num-classes", INT, 1, 1_000_000), ("--threads", INT, 1, 1024),
                                 ("--latency-budget", FLOAT, 0, 600)]),
    "train": (TRAIN, True, [("--seed", INT, 0, 2**32 - 1), *BUDGET_SHORTHANDS]),
    "baseline": (BASELINE, True, [("--seed", INT, 0, 2**32 - 1), ("--seeds", INT, 1, 1000),
                                  *BUDGET_SHORTHANDS]),
}  # fmt: skip
NUMBER_KINDS = ("word", "empty", "decimal", "bool", "nan", "inf", "1e400", "below", "above",
                "huge", "zero", "hex", "exponent")  # fmt: skip


def _bad_number(rng: random.Random, kind: str, number: str, low: float, high: float) -> str | None:
    """A value outside what a `number` flag accepts, of this kind; None when it has none."""
    if kind == "word":
        return _junk(rng)
    if kind == "empty":
        return rng.choice(["", " "])
    if kind == "decimal":  # a fraction where an integer belongs
        return f"{rng.uniform(max(low, 1), min(high, 1000)):.3f}" if number == INT else None
    if kind == "bool":
        return rng.choice(["true", "false", "True", "yes"])
    if kind == "nan":
        return rng.choice(["nan", "NaN", "-nan"])
    if kind == "inf":
        return rng.choice(["inf", "-inf", "Infinity"])
    if kind == "1e400":
        return rng.choice(["1e400", "-1e400"])
    if kind == "below":
        if number == INT:
            return str(rng.randint(-(10**25), int(low) - 1))
        return rng.choice([f"-{rng.uniform(0, 1e6):.4g}", "-0", "-1"])
    if kind == "above":
        if high == INF:
            return None
        if number == INT:
            return str(rng.randint(int(high) + 1, int(high) + 10 ** rng.randint(1, 6)))
        return f"{high + rng.uniform(0.001, 1000):.4f}"
    if kind == "huge":
        if high == INF:
            return None
        return rng.choice(["99999999999999999999", "9" * rng.randint(21, 60), "1" + "0" * 30,
                           LONG_INT])  # fmt: skip
    if kind == "zero":
        return "0" if low > 0 or number == FLOAT else None
    if kind == "hex":
        return rng.choice(["0x10", "0b11", "0o7", "1_0x"])
    if kind == "exponent":  # scientific notation where an integer belongs
        return f"{rng.randint(1, 9)}e{rng.randint(0, 3)}" if number == INT else None
    raise AssertionError(kind)


def numeric_case(rng: random.Random, index: int, seed: str) -> Case:
    commands = list(NUMERIC)
    command = commands[index % len(commands)]
    base, takes_budget, flags = NUMERIC[command]
    while True:
        flag, number, low, high = rng.choice(flags)
        kind = rng.choice(NUMBER_KINDS)
        value = _bad_number(rng, kind, number, low, high)
        if value is not None:
            break
    args = _without(base, flag)
    if takes_budget:  # cheap, and without the knob the flag sets (a shorthand may not repeat it)
        knob = BUDGET_FLAGS.get(flag)
        args += ["--budget", ",".join(p for p in CHEAP.split(",") if not p.startswith(f"{knob}="))]
    args += [f"{flag}={value}"] if rng.random() < 0.5 else [flag, value]
    files = {"n.db": FIXTURE.read_bytes()} if FIXTURE_DB in args else None
    hints = [flag, BUDGET_FLAGS[flag]] if flag in BUDGET_FLAGS else [flag]
    return _case("numeric", f"{command}{flag}:{kind}", seed, args, files, hints=hints)


def _without(args: list[str], flag: str) -> list[str]:
    """The arguments with `flag` and its value taken out."""
    if flag not in args:
        return list(args)
    i = args.index(flag)
    return args[:i] + args[i + 2 :]


# ---- 2. --budget strings ---------------------------------------------------------------------

KNOB_KINDS = {"epochs": INT, "steps": INT, "image_size": INT, "train_fraction": FLOAT,
              "batch_size": INT, "val_images": INT, "width": FLOAT}  # fmt: skip
KNOB_RANGES = {"epochs": (1, 10_000), "steps": (1, 10_000_000), "image_size": (1, 1024),
               "train_fraction": (0, 1), "batch_size": (1, 65_536), "val_images": (1, 10_000_000),
               "width": (0, 1)}  # fmt: skip
BUDGET_COMMANDS = {
    "search": SEARCH,
    "fidelity": FIDELITY,
    "retrain": RETRAIN,
    "train": TRAIN,
    "baseline": BASELINE,
}
BUDGET_KINDS = ("unknown_key", "repeated_key", "bad_number", "nan", "negative", "epochs_and_steps",
                "width", "image_size", "no_equals", "separator")  # fmt: skip


def _bad_budget_part(rng: random.Random, kind: str) -> tuple[str, list[str]]:
    """One bad `KEY=VALUE` part (or parts) and what the error line names."""
    if kind == "unknown_key":
        key = rng.choice(["depth", "lr", "epoch", "Epochs", "imagesize", "widths", _junk(rng)])
        return f"{key}={rng.randint(1, 9)}", [key]
    if kind == "repeated_key":
        key = rng.choice(["epochs", "train_fraction"])
        value = rng.choice(["1", "2"]) if key == "epochs" else rng.choice(["0.1", "0.2"])
        return f"{key}={value}", ["twice"]
    if kind == "bad_number":
        key = rng.choice(list(KNOB_KINDS))
        low, high = KNOB_RANGES[key]
        number = KNOB_KINDS[key]
        while (value := _bad_number(rng, rng.choice(NUMBER_KINDS), number, low, high)) is None:
            pass
        return f"{key}={value.strip() or 'x'}", [key]
    if kind == "nan":
        key = rng.choice(list(KNOB_KINDS))
        return f"{key}={rng.choice(['nan', 'NaN'])}", [key]
    if kind == "negative":
        key = rng.choice(list(KNOB_KINDS))
        value = rng.randint(1, 10**6) if KNOB_KINDS[key] == INT else round(rng.uniform(0, 2), 3)
        return f"{key}=-{value}", [key]
    if kind == "epochs_and_steps":
        return f"steps={rng.randint(1, 1000)},epochs={rng.randint(2, 5)}", ["steps"]
    if kind == "width":
        return f"width={rng.choice(['0', '1.5', '-0.25', '2', '0.0'])}", ["width"]
    if kind == "image_size":
        return f"image_size={rng.choice(['5000', '0', '1025', '100000'])}", ["image_size"]
    if kind == "no_equals":
        part = rng.choice(["epochs", "epochs:2", "=2", "epochs 2", "epochs==2", "image size=8"])
        return part, ["KEY=VALUE", "budget"]
    if kind == "separator":
        return rng.choice(["epochs=1;image_size=8", "epochs=1 image_size=8", "epochs=1|2"]), [
            "epochs"
        ]
    raise AssertionError(kind)


def budget_case(rng: random.Random, index: int, seed: str) -> Case:
    kind = BUDGET_KINDS[index % len(BUDGET_KINDS)]
    command = list(BUDGET_COMMANDS)[index // len(BUDGET_KINDS) % len(BUDGET_COMMANDS)]
    bad, hints = _bad_budget_part(rng, kind)
    parts = (
        ["train_fraction=0.1"] if kind in ("epochs_and_steps", "separator") else CHEAP.split(",")
    )
    if kind == "repeated_key":
        parts = [*parts, bad] if bad.split("=")[0] != "epochs" else [bad, *parts]
    else:
        parts.insert(rng.randint(0, len(parts)), bad)
        if kind in ("bad_number", "nan", "negative"):  # the bad knob alone, not twice
            key = bad.split("=")[0]
            parts = [p for p in parts if p == bad or not p.startswith(f"{key}=")]
    budget = ",".join(parts)
    args = [*BUDGET_COMMANDS[command], "--budget", budget]
    files = {"n.db": FIXTURE.read_bytes()} if FIXTURE_DB in args else None
    return _case("budget", f"{command}:{kind}", seed, args, files, hints=hints)


# ---- 3. TOML experiment files ----------------------------------------------------------------

TOML_BASE = {
    "space": '"nas_bench_macro"',
    "dataset": '"digits"',
    "trials": "1",
    "workers": "1",
    "budget": f'"{CHEAP}"',
    "storage": f'"sqlite:///{TMP}/s.db"',
}
# each known key's expected kind (nasbench.config.SearchSettings and the budget's knobs)
TOML_KEY_KINDS = {
    "space": "text", "trials": "count", "storage": "text", "study_name": "text?",
    "dataset": "text", "data_dir": "text", "budget": "budget", "sampler": "text?",
    "objectives": "objectives", "max_macs": "limit", "max_params": "limit",
    "max_latency_ms": "limit", "device": "text", "seed": "seed", "workers": "count",
    "devices": "devices", "benchmark": "text?", "select_column": "text?",
    "report_column": "text?", "latency_device": "text?", "pruning": "bool",
    "confirm_runs": "count", "choices": "table", "train": "table", "rungs": "count",
    "reduction_factor": "count", "zero_cost": "text?", "judge": "text?", "promotion": "text?",
    "weights_dir": "text?", "prescreen": "text?", "prescreen_candidates": "count",
    "epochs": "knob_int", "steps": "knob_int", "image_size": "knob_int",
    "train_fraction": "knob_float", "batch_size": "knob_int", "val_images": "knob_int",
    "width": "knob_float",
}  # fmt: skip
HUGE_INT = "1" + "0" * 400  # beyond any float
WRONG_VALUES = {
    "text": ["5", "1.5", "true", '["mobilenet"]', "{ a = 1 }", "1979-05-27", "nan", "[]"],
    "text?": ["5", "1.5", "true", '["a", "b"]', "{ a = 1 }", "1979-05-27T07:32:00Z", "-inf"],
    "count": ["true", '"1"', "1.5", "nan", "inf", "-inf", "0", "-5", HUGE_INT, "[1]", "{ a = 1 }",
              "1979-05-27"],
    "seed": ["true", '"1"', "1.5", "nan", "inf", "-5", HUGE_INT, "[0]", "{ a = 1 }", "07:32:00"],
    "limit": ["true", '"1e6"', "nan", "inf", "-inf", "-1", "0", "0.0", HUGE_INT, "[1]",
              "{ a = 1 }", "1979-05-27"],
    "bool": ["1", "0", '"true"', "[true]", "{ a = true }", "nan"],
    "objectives": ["5", "true", "[1, 2]", '["acc", 5]', "[]", '"acc,acc"', "{ a = 1 }",
                   '[["acc"]]', "nan"],
    "devices": ["5", "true", "[1]", "{ a = 1 }", "[[1]]", "nan"],
    "table": ["5", '"x"', "[1]", "true", "nan", "{ nosuch = [1] }", "{ lr = true }"],
    "budget": ["5", "true", "[1]", "nan", "{ nosuch = 1 }", '{ epochs = "x" }',
               "{ epochs = 1.5 }", "{ epochs = nan }", '"epochs=abc"', f"{{ epochs = {HUGE_INT} }}"],
    "knob_int": ["true", '"2"', "1.5", "nan", "inf", "-5", "0", HUGE_INT, "[2]", "{ a = 1 }"],
    "knob_float": ["true", '"0.5"', "nan", "inf", "-0.5", "0", "1.5", HUGE_INT, "[0.5]",
                   "{ a = 1 }"],
}  # fmt: skip
# [train] (recipe) and [choices] entries of the wrong type or value
TRAIN_ENTRIES = ['lr = "fast"', "lr = nan", "lr = inf", "lr = -0.1", "momentum = nan",
                 "weight_decay = nan", "weight_decay = inf", "mixup = nan", "mixup = -inf",
                 "cutmix = nan", "grad_clip = nan", "crop_padding = inf", "warmup_epochs = nan",
                 "label_smoothing = nan", "hflip = 1", 'augment = 5', "ema_decay = inf",
                 f"lr = {HUGE_INT}", f"grad_clip = {HUGE_INT}",
                 # (an integer field has no upper bound: bn_recalibration = 10**400 is "all")
                 "bn_recalibration = -1", "eval_batch_size = 0", "optimizer = [1]",
                 "nosuch = 1"]  # fmt: skip
# (of space mobilenet)
CHOICES_ENTRIES = ['depths = "x"', "depths = []", "depths = [1, 1]", "kernel_sizes = [4]",
                   "expand_ratios = [6.0]", 'activations = ["nosuch"]', "se = [1]",
                   "width_mult = [nan]", "width_mult = [100]", "dropout = [inf]", "nosuch = [1]",
                   "last_channels = [true]", "depths = [[1]]", "kernel_sizes = 3",
                   f"last_channels = [{HUGE_INT}]", "depths = [{ a = 1 }]"]  # fmt: skip
TOML_GARBAGE = ["trials = ", "= 5", "[[", "trials = 1\ntrials = 2", 'space = "unterminated',
                "[budget]\n[budget]", "trials = 1 2", "space = 'a\nb'", "key with spaces = 1",
                "[choices\nlayers = [1]", "trials = 0x", "budget = { epochs = 1, }"]  # fmt: skip
TOML_KINDS = ("wrong_type", "wrong_type", "wrong_type", "unknown_key", "internal_key", "garbage",
              "binary", "train_entry", "choices_entry", "huge_int")  # fmt: skip


def _toml(values: dict[str, str], extra: str = "") -> str:
    return "".join(f"{k} = {v}\n" for k, v in values.items()) + extra


def toml_case(rng: random.Random, index: int, seed: str) -> Case:
    kind = TOML_KINDS[index % len(TOML_KINDS)]
    values = dict(TOML_BASE)
    hints: list[str] = ["c.toml"]
    extra = ""
    if kind in ("wrong_type", "huge_int"):
        if kind == "huge_int":
            key = rng.choice([k for k, v in TOML_KEY_KINDS.items()
                              if v in ("count", "seed", "limit", "knob_int", "knob_float")])  # fmt: skip
            value = rng.choice([HUGE_INT, LONG_INT, "9" * rng.randint(20, 40)])
            if TOML_KEY_KINDS[key] in ("limit",) and len(value) < 300:
                value = HUGE_INT  # 9999...9 (40 digits) is a valid limit
        else:
            key = rng.choice(list(TOML_KEY_KINDS))
            value = rng.choice(WRONG_VALUES[TOML_KEY_KINDS[key]])
        if key in KNOB_KINDS:  # a shorthand: the budget text would say it too
            values["budget"] = '"train_fraction=0.1"' if key != "train_fraction" else '"epochs=1"'
        if key in ("choices", "train", "budget") and value.startswith("{") and rng.random() < 0.5:
            values.pop(key, None)  # as a [table] rather than an inline one
            extra = f"[{key}]\n" + value.strip("{} ").replace(", ", "\n") + "\n"
        else:
            values[key] = value
        hints += [key, key.removesuffix("s")]  # (objectives: "objective listed twice")
    elif kind == "unknown_key":
        key = rng.choice(["trial", "Trials", "space_name", "epoch", "lr", "worker", _junk(rng)])
        values[key] = rng.choice(["1", '"x"', "true"])
        hints += [key]
    elif kind == "internal_key":
        values["worker_index"] = rng.choice(["0", "1", "3"])
        hints += ["worker_index"]
    elif kind == "garbage":
        lines = list(_toml(values).splitlines())
        lines.insert(rng.randint(0, len(lines)), rng.choice(TOML_GARBAGE))
        return _case("toml", kind, seed, ["search", "--config", f"{TMP}/c.toml"],
                     {"c.toml": "\n".join(lines) + "\n"}, hints=["TOML", "c.toml"])  # fmt: skip
    elif kind == "binary":
        text = _toml(values)
        data = rng.choice([
            rng.randbytes(rng.randint(1, 400)),
            text.encode("utf-16"),
            text.encode() + b"\xff\xfe" + rng.randbytes(8),
            text.encode().replace(b"\n", b"\x00", 1),
            b"\x00" * rng.randint(1, 64),
        ])  # fmt: skip
        return _case("toml", kind, seed, ["search", "--config", f"{TMP}/c.toml"],
                     {"c.toml": data}, hints=["TOML", "c.toml"])  # fmt: skip
    elif kind == "train_entry":
        entry = rng.choice(TRAIN_ENTRIES)
        extra = f"[train]\n{entry}\n"
        hints += [entry.split(" =")[0]]
    elif kind == "choices_entry":
        entry = rng.choice(CHOICES_ENTRIES)
        values["space"] = '"mobilenet"'
        extra = f"[choices]\n{entry}\n"
        hints += [entry.split(" =")[0]]
    return _case("toml", kind, seed, ["search", "--config", f"{TMP}/c.toml"],
                 {"c.toml": _toml(values, extra)}, hints=hints)  # fmt: skip


# the recipe files of `retrain --config` and `baseline --config` (budget knobs, data_dir, [train])
RECIPE_KEY_KINDS = {"epochs": "knob_int", "batch_size": "knob_int", "image_size": "knob_int",
                    "train_fraction": "knob_float", "budget": "budget", "data_dir": "text",
                    "train": "table"}  # fmt: skip
RECIPE_KINDS = ("wrong_type", "wrong_type", "wrong_type", "search_key", "train_entry", "garbage",
                "binary")  # fmt: skip


def recipe_case(rng: random.Random, index: int, seed: str) -> Case:
    kind = RECIPE_KINDS[index % len(RECIPE_KINDS)]
    command = ["retrain", "baseline"][index // len(RECIPE_KINDS) % 2]
    values = {"epochs": "1", "train_fraction": "0.1"}
    extra, hints = "", ["r.toml"]
    if kind == "wrong_type":
        key = rng.choice(list(RECIPE_KEY_KINDS))
        values[key] = rng.choice(WRONG_VALUES[RECIPE_KEY_KINDS[key]])
        if key == "budget":
            values = {"budget": values["budget"]}
        hints += [key]
    elif kind == "search_key":
        key = rng.choice(["space", "trials", "sampler", "seed", "storage", "worker_index"])
        values[key] = rng.choice(["1", '"x"'])
        hints += [key]
    elif kind == "train_entry":
        entry = rng.choice(TRAIN_ENTRIES)
        extra = f"[train]\n{entry}\n"
        hints += [entry.split(" =")[0]]
    text: str | bytes = _toml(values, extra)
    if kind == "garbage":
        lines = text.splitlines()
        lines.insert(rng.randint(0, len(lines)), rng.choice(TOML_GARBAGE))
        text, hints = "\n".join(lines) + "\n", ["TOML", "r.toml"]
    elif kind == "binary":
        text, hints = (
            rng.choice([rng.randbytes(rng.randint(1, 300)), text.encode("utf-16")]),
            ["TOML", "r.toml"],
        )
    base = RETRAIN if command == "retrain" else BASELINE
    files = {"r.toml": text, **({"n.db": FIXTURE.read_bytes()} if base is RETRAIN else {})}
    return _case("recipe", f"{command}:{kind}", seed, [*base, "--config", f"{TMP}/r.toml"], files,
                 hints=hints)  # fmt: skip


# ---- 4. arch JSON files ----------------------------------------------------------------------

MOBILENET_V2 = {
    "width_mult": 1.0,
    "depths": [1, 2, 3, 4, 3, 3, 1],
    "expand_ratios": [1, 6, 6, 6, 6, 6, 6],
    "kernel_sizes": [3] * 7,
    "se": [False] * 7,
    "activations": ["relu6"] * 7,
    "last_channels": 1280,
    "dropout": 0.2,
}
INT_FIELDS = ("depths", "expand_ratios", "kernel_sizes", "last_channels")
ARCH_KINDS = ("shape", "unknown_key", "missing_key", "float_for_int", "string_value",
              "nested_list", "bool_for_int", "non_finite", "list_length", "invalid_json",
              "binary", "empty", "long_int")  # fmt: skip


def _set_value(rng: random.Random, arch: dict, field: str, make) -> None:
    """Replace the field's value (or one stage's value of a per-stage field) by make(old)."""
    if isinstance(arch[field], list):
        i = rng.randrange(len(arch[field]))
        arch[field][i] = make(arch[field][i])
    else:
        arch[field] = make(arch[field])


def arch_case(rng: random.Random, index: int, seed: str) -> Case:
    kind = ARCH_KINDS[index % len(ARCH_KINDS)]
    train = index // len(ARCH_KINDS) % 2 == 0
    arch = json.loads(json.dumps(MOBILENET_V2))
    hints = ["a.json", "arch"]
    text: str | bytes
    if kind == "shape":
        text = rng.choice([json.dumps(list(arch.items())), json.dumps([arch]), "5", "1.5",
                           '"mobilenet_v2"', "null", "true", "[]"])  # fmt: skip
    elif kind in ("invalid_json", "binary", "empty"):
        good = json.dumps(arch)
        if kind == "invalid_json":
            text = rng.choice([good[: rng.randrange(1, len(good))], good.replace('"', "'"),
                               good[:-1] + ",}", good + " x", "{width_mult: 1}",
                               good.replace(":", "=", 1), "\ufeff" + good])  # fmt: skip
        elif kind == "binary":
            text = rng.choice([rng.randbytes(rng.randint(1, 300)), good.encode("utf-16"),
                               good.encode().replace(b"relu6", b"relu\xff"),
                               b"\x00" + good.encode()])  # fmt: skip
        else:
            text = rng.choice(["", " ", "\n"])
    else:
        if kind == "unknown_key":
            key = rng.choice(["depth", "width", "Width_mult", "stages", _junk(rng)])
            arch[key] = rng.choice([1, "x", [1], None])
            hints += [key]
        elif kind == "missing_key":
            key = rng.choice(list(arch))
            del arch[key]
            hints += [key]
        else:
            field = {
                "long_int": lambda: rng.choice(list(arch)),
                "float_for_int": lambda: rng.choice(INT_FIELDS),
                "string_value": lambda: rng.choice(list(arch)),
                "nested_list": lambda: rng.choice(list(arch)),
                "bool_for_int": lambda: rng.choice(INT_FIELDS),
                "non_finite": lambda: rng.choice(["width_mult", "dropout", *INT_FIELDS]),
                "list_length": lambda: rng.choice(
                    ["depths", "expand_ratios", "kernel_sizes", "se", "activations"]
                ),  # fmt: skip
            }[kind]()
            hints += [field]
            if kind == "float_for_int":
                _set_value(rng, arch, field, lambda v: float(v))
            elif kind == "string_value":
                _set_value(rng, arch, field, lambda v: str(v) if not isinstance(v, str) else 6)
            elif kind == "nested_list":
                _set_value(rng, arch, field, lambda v: [v])
            elif kind == "bool_for_int":
                _set_value(rng, arch, field, lambda v: True)
            elif kind == "long_int":
                _set_value(rng, arch, field, lambda v: "@LONG@")
                hints = ["a.json"]
            elif kind == "non_finite":
                bad = rng.choice([float("nan"), float("inf"), float("-inf"), 10**30])
                _set_value(rng, arch, field, lambda v: bad)
            elif kind == "list_length":
                values = arch[field]
                arch[field] = values[: rng.randrange(len(values))] or []
                if rng.random() < 0.5:
                    arch[field] = values + values[: rng.randint(1, 3)]
        # (NaN and Infinity as Python's json writes and reads them)
        text = json.dumps(arch).replace('"@LONG@"', LONG_INT)
    if train:
        args = ["train", "--space", "mobilenet", "--arch", f"{TMP}/a.json", "--dataset", "digits",
                "--budget", CHEAP]  # fmt: skip
    else:
        args = ["profile", f"mobilenet:{TMP}/a.json", "--no-latency"]
    files = {"a.json": text.encode() if isinstance(text, str) else text}
    return _case("arch", f"{args[0]}:{kind}", seed, args, files, hints=hints)


# ---- 5. user benchmark CSVs ------------------------------------------------------------------

CSV_KINDS = ("bad_cell", "bad_cell", "duplicate_column", "duplicate_row", "no_arch_column",
             "bad_arch", "binary", "empty", "ragged", "header_only", "gzip_garbage")  # fmt: skip
BAD_CELLS = {
    "valid_acc": ["abc", "nan", "NaN", "inf", "-inf", "150", "-5", "1e30", "", "1e400", "100.5",
                  "50%", "true", "0x10", LONG_INT],
    "macs": ["abc", "nan", "inf", "-5", "1e30", "", "1e400", "1.5", "1e19", "true", "-1",
             LONG_INT, "9" * 25],
}  # fmt: skip
BAD_ARCHS = ["0000000", "000000000", "33333333", "abcdefgh", "", "0000 0000", "-1", "00000000x",
             "0.0", "nan", "000000-1", "１１１１１１１１"]  # fmt: skip


@functools.cache
def _macro_rows() -> list[tuple[str, float, int]]:
    from nasbench.benchmarks import load_benchmark

    frame = load_benchmark("nas-bench-macro").frame
    return [(str(a), float(v), int(m)) for a, v, m in zip(frame.index, frame["val_acc"],
                                                          frame["macs"], strict=True)]  # fmt: skip


def csv_case(rng: random.Random, index: int, seed: str) -> Case:
    kind = CSV_KINDS[index % len(CSV_KINDS)]
    table = index // len(CSV_KINDS) % 2 == 0
    header = ["arch", "valid_acc", "macs"]
    rows = [[a, f"{v:g}", str(m)] for a, v, m in rng.sample(_macro_rows(), rng.randint(3, 6))]
    hints = ["t.csv"]
    data: bytes | None = None
    if kind == "bad_cell":
        column = rng.choice(["valid_acc", "macs"])
        row = rng.randrange(len(rows))
        rows[row][header.index(column)] = rng.choice(BAD_CELLS[column])
        hints += [column]
    elif kind == "duplicate_column":
        column = rng.choice(header)
        header.append(column)
        for r in rows:
            r.append(r[header.index(column)])
        hints += [column]
    elif kind == "duplicate_row":
        rows.insert(rng.randint(0, len(rows)), list(rng.choice(rows)))
        hints += ["twice"]
    elif kind == "no_arch_column":
        if rng.random() < 0.5:
            header[0] = rng.choice(["Arch", "name", "arch_string", " arch", "arch\x00"])
        else:
            header, rows = header[1:], [r[1:] for r in rows]
        hints += ["arch"]
    elif kind == "bad_arch":
        rows[rng.randrange(len(rows))][0] = rng.choice(BAD_ARCHS)
        hints += ["row"]
    elif kind == "binary":
        data = rng.choice([rng.randbytes(rng.randint(1, 2000)), b"arch,valid_acc\n\xff\xfe\x00",
                           ",".join(header).encode("utf-16")])  # fmt: skip
    elif kind == "empty":
        data = rng.choice([b"", b"\n", b"   \n\n"])
    elif kind == "ragged":
        rows[rng.randrange(len(rows))].append(rng.choice(["1", "x", '"unterminated']))
    elif kind == "header_only":
        rows = []
    elif kind == "gzip_garbage":
        text = "\n".join(",".join(r) for r in [header, *rows]).encode()
        data = rng.choice([b"\x1f\x8b" + rng.randbytes(rng.randint(1, 200)),
                           gzip.compress(text)[: rng.randint(3, 30)],
                           gzip.compress(rng.randbytes(300))])  # fmt: skip
    if data is None:
        data = ("\n".join(",".join(r) for r in [header, *rows]) + "\n").encode()
    if table:
        args = ["table", "--benchmark", f"{TMP}/t.csv", "--space", "nas_bench_macro"]
    else:
        args = ["search", "--space", "nas_bench_macro", "--benchmark", f"{TMP}/t.csv",
                "--trials", "1", "--workers", "1", "--storage", f"sqlite:///{TMP}/s.db"]  # fmt: skip
    return _case("csv", f"{args[0]}:{kind}", seed, args, {"t.csv": data}, hints=hints)


# ---- 6. database files -----------------------------------------------------------------------

DB_COMMANDS = {
    "table": ["table", "--study-name", "s"],
    "studies": ["studies"],
    "report": ["report", "--output", f"{TMP}/out/r.html"],
    "search": ["search", "--space", "mobilenet", "--dataset", "digits", "--trials", "1",
               "--workers", "1", "--budget", CHEAP],
}  # fmt: skip
DB_KINDS = ("truncated", "header", "btree_page", "text", "column_type", "cell_value")
BTREE_TYPES = (2, 5, 10, 13)  # interior/leaf index, interior/leaf table pages
COLUMN_TYPES = {  # a results column's declared type -> types of another kind
    "INTEGER": ["TEXT", "FLOAT", "BLOB", "DATETIME", "JSON"],
    "BIGINT": ["TEXT", "REAL", "BLOB", "VARCHAR"],
    "FLOAT": ["TEXT", "INTEGER", "BLOB", "VARCHAR", "DATETIME"],
    "VARCHAR": ["INTEGER", "FLOAT", "BLOB", "DATETIME"],
    "TEXT": ["INTEGER", "REAL", "BLOB"],
    "JSON": ["INTEGER", "FLOAT", "BLOB"],
    "DATETIME": ["INTEGER", "FLOAT", "BLOB"],
}


def _is_damaged(data: bytes) -> bool:
    """Whether SQLite (python's sqlite3, PRAGMA quick_check) finds this database damaged."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.db"
        path.write_bytes(data)
        try:  # immutable: read as it is, creating no -wal or -shm file
            with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as c:
                c.text_factory = bytes  # (its report may quote damaged bytes)
                return [r[0] for r in c.execute("PRAGMA quick_check")] != [b"ok"]
        except (sqlite3.DatabaseError, UnicodeDecodeError):  # (an error quoting damaged bytes)
            return True


def _retyped(rng: random.Random) -> tuple[bytes, str]:
    """The fixture with one results column re-created under a type of another kind."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.db"
        shutil.copyfile(FIXTURE, path)
        with contextlib.closing(sqlite3.connect(path)) as conn:
            columns = conn.execute("PRAGMA table_info(results)").fetchall()
            target = rng.choice([c for c in columns if c[1] != "id"])
            new_type = rng.choice(COLUMN_TYPES[target[2]])
            defs = ", ".join(
                "id INTEGER PRIMARY KEY" if name == "id"
                else f"{name} {new_type if name == target[1] else kind}"
                for _, name, kind, *_ in columns
            )  # fmt: skip
            conn.executescript(
                "ALTER TABLE results RENAME TO results_old;"
                f"CREATE TABLE results ({defs});"
                "INSERT INTO results SELECT * FROM results_old;"
                "DROP TABLE results_old;"
            )
            conn.commit()
        return path.read_bytes(), target[1]  # (closing checkpointed the WAL into the file)


# a stored value that its column's type cannot hold, by declared type
BAD_VALUES = {
    "INTEGER": ["abc", "", "1.5.2", b"\xff\x00"], "BIGINT": ["abc", "", "12x", b"\xfe"],
    "FLOAT": ["abc", "", "1,5", b"\xff\xee"], "JSON": ["{broken", "[1,", "x", "'a'"],
    "DATETIME": ["notadate", "2024-13-45 99:00:00", "yesterday", "12:00"],
}  # fmt: skip


def _edited(rng: random.Random) -> tuple[bytes, list[str]]:
    """The fixture with one value of study s's results rows replaced by one of another type."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.db"
        shutil.copyfile(FIXTURE, path)
        with contextlib.closing(sqlite3.connect(path)) as conn:
            info = conn.execute("PRAGMA table_info(results)").fetchall()
            columns = [(n, kind) for _, n, kind, *_ in info if kind in BAD_VALUES and n != "id"]
            name, kind = rng.choice(columns)
            ids = [r[0] for r in conn.execute("SELECT id FROM results WHERE study_name = 's'")]
            row = rng.choice(ids)
            value = rng.choice(BAD_VALUES[kind])
            conn.execute(f"UPDATE results SET {name} = ? WHERE id = ?", (value, row))
            conn.commit()
        return path.read_bytes(), [name, "results"]


def _damaged_db(rng: random.Random, kind: str) -> tuple[bytes, list[str]]:
    fixture = FIXTURE.read_bytes()
    for _ in range(1000):
        data = bytearray(fixture)
        if kind == "truncated":
            cut = rng.choice(
                [rng.randrange(1, len(data)), PAGE * rng.randrange(1, len(data) // PAGE)]
            )
            data = data[:cut]
        elif kind == "header":
            start = rng.choice([0, rng.randrange(0, 92)])
            length = rng.randint(1, 100 - start)
            data[start : start + length] = rng.randbytes(length)
        elif kind == "btree_page":
            pages = [p for p in range(1, len(data) // PAGE + 1)
                     if data[(p - 1) * PAGE + (100 if p == 1 else 0)] in BTREE_TYPES]  # fmt: skip
            page = rng.choice(pages)
            low = (page - 1) * PAGE + (100 if page == 1 else 0) + 8
            start = rng.randrange(low, page * PAGE - 200)
            data[start : start + 200] = rng.randbytes(200)
        if bytes(data) != fixture and _is_damaged(bytes(data)):
            return bytes(data), ["n.db"]
    raise AssertionError(f"no damaging {kind} mutation found")


def db_case(rng: random.Random, index: int, seed: str) -> Case:
    kind = DB_KINDS[index % len(DB_KINDS)]
    command = list(DB_COMMANDS)[index // len(DB_KINDS) % len(DB_COMMANDS)]
    if kind == "cell_value":  # (studies counts rows and a new search reads none of s's values)
        command = ["table", "report"][index // len(DB_KINDS) % 2]
        data, hints = _edited(rng)
    elif kind == "text":
        data = rng.choice([
            ("".join(rng.choices(string.printable, k=rng.randint(1, 3000)))).encode(),
            b"SQLite format 2\x00" + rng.randbytes(200),
            rng.randbytes(rng.randint(1, 5000)),
            b"id,study_name\n1,s\n",
        ])  # fmt: skip
        hints = ["n.db"]
    elif kind == "column_type":
        data, column = _retyped(rng)
        hints = [column]
    else:
        data, hints = _damaged_db(rng, kind)
    args = [*DB_COMMANDS[command], "--storage", FIXTURE_DB]
    files: dict[str, str | bytes | None] = {"n.db": data}
    if command == "report":
        files["out"] = None
    return _case("db", f"{command}:{kind}", seed, args, files, hints=hints)


# ---- 7. image folders ------------------------------------------------------------------------

IMAGE_KINDS = ("one_class", "one_image", "not_an_image", "empty_png", "no_class_folders",
               "empty_class", "truncated_png", "split_classes", "empty_val_class")  # fmt: skip


def _png(rng: random.Random) -> bytes:
    from PIL import Image

    side = rng.randint(4, 12)
    image = Image.new(rng.choice(["RGB", "L", "RGBA"]), (side, side), rng.randint(0, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _class_images(rng: random.Random, root: str, classes: dict[str, int]) -> dict:
    return {f"{root}/{c}/{i}.png": _png(rng) for c, n in classes.items() for i in range(n)}


def image_case(rng: random.Random, index: int, seed: str) -> Case:
    kind = IMAGE_KINDS[index % len(IMAGE_KINDS)]
    good = {c: rng.randint(2, 4) for c in rng.sample(["a", "b", "c", "cat", "dog"], 2)}
    files: dict[str, str | bytes | None] = {}
    hints = ["imagefolder", "img"]
    if kind == "one_class":
        files = _class_images(rng, "img", {"a": rng.randint(1, 5)})
    elif kind == "one_image":
        files = _class_images(rng, "img", {**good, "lonely": 1})
    elif kind in ("not_an_image", "empty_png", "truncated_png"):
        files = _class_images(rng, "img", good)
        name = rng.choice(list(files))
        if kind == "not_an_image":
            files[name] = rng.choice([b"not an image\n", rng.randbytes(100), b"GIF89a" + b"x" * 20])
        elif kind == "empty_png":
            files[name] = b""
        else:
            files[name] = files[name][: rng.randint(8, 40)]  # (ends in IHDR or IDAT's start)
    elif kind == "no_class_folders":
        files = rng.choice([{"img": None}, {"img/0.png": _png(rng), "img/1.png": _png(rng)},
                            {"img/a": None, "img/b": None}])  # fmt: skip
    elif kind == "empty_class":
        files = {**_class_images(rng, "img", good), "img/empty": None}
    elif kind == "empty_val_class":
        files = {**_class_images(rng, "img/train", good), **{f"img/val/{c}": None for c in good}}
    elif kind == "split_classes":
        files = {**_class_images(rng, "img/train", good),
                 **_class_images(rng, "img/val", {"a": 2, "zebra": 2})}  # fmt: skip
    # (all the training images: a tenth of a tiny folder is no image)
    args = [*_without(SEARCH, "--dataset"), "--dataset", f"imagefolder:{TMP}/img",
            "--budget", "epochs=1"]  # fmt: skip
    return _case("images", kind, seed, args, files, hints=hints)


# ---- 8. .pt2 files ---------------------------------------------------------------------------

PT2_KINDS = ("random_bytes", "empty_zip", "garbage_members", "truncated_zip", "empty_file",
             "torch_save")  # fmt: skip


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def pt2_case(rng: random.Random, index: int, seed: str) -> Case:
    kind = PT2_KINDS[index % len(PT2_KINDS)]
    names = ["archive/version", "archive/data.pkl", "archive/models/model.json",
             "archive/extra/nasbench.json", "m/byteorder", "archive/data/0", "../escape",
             "archive/constants/tensor_0.pt"]  # fmt: skip
    if kind == "random_bytes":
        data = rng.randbytes(rng.randint(1, 4000))
    elif kind == "empty_zip":
        data = _zip({})
    elif kind == "garbage_members":
        data = _zip({n: rng.randbytes(rng.randint(0, 200)) for n in rng.sample(names, 4)})
    elif kind == "truncated_zip":
        whole = _zip({n: rng.randbytes(100) for n in rng.sample(names, 3)})
        data = whole[: rng.randrange(4, len(whole) - 1)]
    elif kind == "empty_file":
        data = b""
    else:  # a torch.save file (a zip too), not a torch.export program
        import torch

        buffer = io.BytesIO()
        torch.save({"w": torch.zeros(rng.randint(1, 4))}, buffer)
        data = buffer.getvalue()
    args = ["profile", f"{TMP}/m.pt2", "--no-latency"]
    return _case("pt2", kind, seed, args, {"m.pt2": data}, hints=["m.pt2"])


# ---- 9. environment settings -----------------------------------------------------------------

ENV_NAMES = ("NASBENCH_HEARTBEAT_S", "NASBENCH_GRACE_PERIOD_S")
ENV_VALUES = ("abc", "0", "-5", "1e9", "86401", "99999999999999999999", "1.5", "nan", "inf",
              "10s", "-0", "0x10")  # fmt: skip


def env_case(rng: random.Random, index: int, seed: str) -> Case:
    name = ENV_NAMES[index % 2]
    value = ENV_VALUES[index // 2 % len(ENV_VALUES)]
    command = ["search", "fidelity"][index // (2 * len(ENV_VALUES)) % 2]
    args = [*(SEARCH if command == "search" else FIDELITY), "--budget", CHEAP]
    return _case("env", f"{command}:{name}={value}", seed, args, env={name: value}, hints=[name])


# ---- the inputs before mutation ---------------------------------------------------------------


def valid_cases() -> list[Case]:
    """Each reader's input before mutation, which every command accepts (exit status 0): what
    the mutations break is then what the refusal is about."""
    rng = random.Random(f"{FUZZ_SEED}/valid")
    fixture = {"n.db": FIXTURE.read_bytes()}
    rows = [[a, f"{v:g}", str(m)] for a, v, m in rng.sample(_macro_rows(), 4)]
    table = ("\n".join(",".join(r) for r in [["arch", "valid_acc", "macs"], *rows]) + "\n").encode()
    arch = json.dumps(MOBILENET_V2).encode()
    images = _class_images(rng, "img", {"a": 3, "b": 3})
    toml = _toml(TOML_BASE)
    choices = _toml({**TOML_BASE, "space": '"mobilenet"'}, "[choices]\ndepths = [1, 2]\n")
    recipe = _toml(TOML_BASE, "[train]\nlr = 0.05\nweight_decay = 0\n")
    cases = [
        ("numeric", [*SEARCH, "--budget", CHEAP], None, None),
        ("numeric", [*RETRAIN, "--budget", CHEAP], fixture, None),
        ("numeric", [*FIDELITY, "--budget", CHEAP], None, None),
        ("numeric", MEASURE, fixture, None),
        ("numeric", PROFILE, None, None),
        ("numeric", [*TRAIN, "--budget", CHEAP], None, None),
        ("numeric", [*BASELINE, "--budget", CHEAP], None, None),
        ("toml", ["search", "--config", f"{TMP}/c.toml"], {"c.toml": toml}, None),
        ("toml", ["search", "--config", f"{TMP}/c.toml"], {"c.toml": choices}, None),
        ("toml", ["search", "--config", f"{TMP}/c.toml"], {"c.toml": recipe}, None),
        *[("recipe", [*base, "--config", f"{TMP}/r.toml"],
           {"r.toml": "epochs = 1\ntrain_fraction = 0.1\n[train]\nlr = 0.05\n", **fixture}, None)
          for base in (RETRAIN, BASELINE)],
        ("arch", ["train", "--space", "mobilenet", "--arch", f"{TMP}/a.json", "--dataset",
                  "digits", "--budget", CHEAP], {"a.json": arch}, None),
        ("arch", ["profile", f"mobilenet:{TMP}/a.json", "--no-latency"], {"a.json": arch}, None),
        ("csv", ["table", "--benchmark", f"{TMP}/t.csv", "--space", "nas_bench_macro"],
         {"t.csv": table}, None),
        ("csv", ["search", "--space", "nas_bench_macro", "--benchmark", f"{TMP}/t.csv",
                 "--trials", "1", "--workers", "1", "--storage", f"sqlite:///{TMP}/s.db"],
         {"t.csv": table}, None),
        *[("db", [*command, "--storage", FIXTURE_DB], {**fixture, "out": None}, None)
          for command in DB_COMMANDS.values()],
        ("images", [*_without(SEARCH, "--dataset"), "--dataset", f"imagefolder:{TMP}/img",
                    "--budget", "epochs=1"], images, None),
        *[("env", [*base, "--budget", CHEAP], None, {name: "30"})
          for base in (SEARCH, FIDELITY) for name in ENV_NAMES],
    ]  # fmt: skip
    return [_case(reader, "valid", f"{FUZZ_SEED}/valid/{i}", args, files, env)
            for i, (reader, args, files, env) in enumerate(cases)]  # fmt: skip


# ---- the whole set ---------------------------------------------------------------------------

# reader -> (its generator, how many cases the whole set holds)
READERS = {
    "numeric": (numeric_case, 140),
    "budget": (budget_case, 100),
    "toml": (toml_case, 100),
    "recipe": (recipe_case, 42),
    "arch": (arch_case, 78),
    "csv": (csv_case, 66),
    "db": (db_case, 72),
    "images": (image_case, 27),
    "pt2": (pt2_case, 12),
    "env": (env_case, 48),
}


def make(reader: str, index: int) -> Case:
    """Case `index` of `reader`, rebuilt from its seed alone."""
    seed = f"{FUZZ_SEED}/{reader}/{index}"
    return READERS[reader][0](random.Random(seed), index, seed)


def all_cases() -> list[Case]:
    return [make(reader, i) for reader, (_, count) in READERS.items() for i in range(count)]


def sample(cases: list[Case], per_reader: int) -> list[Case]:
    """A fixed, seeded sample: `per_reader` cases of each reader."""
    rng = random.Random(f"{FUZZ_SEED}/sample")
    chosen = []
    for reader in READERS:
        mine = [c for c in cases if c.reader == reader]
        chosen += rng.sample(mine, min(per_reader, len(mine)))
    return chosen
