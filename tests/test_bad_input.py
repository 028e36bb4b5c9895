"""Bad input, whatever the command: exactly one line on stderr, exit status 2, no traceback, no
informational line before it, and the database (a real one, with studies and rows of every
source) byte-identical afterwards."""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
import shutil
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from nasbench.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "before_budget.db"
DB = "{db}"  # replaced by the copy of the fixture
BUDGET_CASES = [
    ("epochs=0", "epochs must be in [1, 10000]"),
    ("epochs=99999999999999999999", "epochs must be in [1, 10000]"),
    ("train_fraction=nan", "train_fraction must be a finite number"),
    ("image_size=5000", "image_size must be in [1, 1024]"),
    ("depth=0.5", "is not KEY=VALUE"),
    ("width=0", "width must be in (0, 1]"),
    ("width=1.5", "width must be in (0, 1]"),
    ("steps=100,epochs=2", "sets epochs (2) or steps (100), not both"),
    ("steps=0", "steps must be in [1, 10000000]"),
    ("epochs=1,epochs=2", "sets epochs twice"),
]
SEARCH = ["search", "--space", "mobilenet", "--study-name", "s", "--trials", "5"]  # the stored one
# every command that reads or writes a database
DAMAGED_DB_COMMANDS = [
    SEARCH,
    ["baseline", "--models", "resnet18", "--dataset", "synthetic"],
    ["fidelity", "--benchmark", "nas-bench-macro", "--dataset", "digits", "--archs", "4"],
    ["retrain", "--study-name", "s", "--pareto"],
    ["measure", "--study-name", "s", "--pareto"],
    ["studies"],
    ["table", "--study-name", "s"],
    ["report", "--output", "{dir}/r.html"],
    ["export", "--study-name", "s", "--pareto", "--output", "{dir}/e"],
]
DAMAGED_PAGE = 5  # a b-tree page of the fixture (4096-byte pages)
FRESH = ["search", "--space", "mobilenet", "--study-name", "fresh", "--trials", "5"]
CASES = [
    # the storage itself
    (["search", "--space", "mobilenet", "--storage", "sqlite:///{dir}"], "is a directory"),
    (["search", "--space", "mobilenet", "--storage", "sqlite:///{text}"], "is not a SQLite database"),
    (["search", "--space", "mobilenet", "--storage", ""], "storage"),
    (["search", "--space", "mobilenet", "--storage", "postgresql+psycopg://nobody@127.0.0.1:9/x"],
     "cannot connect"),
    (["table", "--storage", "sqlite:///{text}"], "is not a SQLite database"),
    (["retrain", "--study-name", "s", "--pareto", "--storage", "sqlite:///{dir}"], "is a directory"),
    # names that do not exist
    ([*FRESH, "--dataset", "nosuch"], "unknown dataset 'nosuch'"),
    ([*FRESH, "--dataset", "imagefolder:/no/such/folder"], "/no/such/folder"),
    ([*FRESH, "--sampler", "nosuch"], "unknown sampler 'nosuch'"),
    ([*FRESH, "--objectives", "acc,flops"], "unknown objective"),
    (["search", "--space", "nosuch"], "unknown space 'nosuch'"),
    (["retrain", "--study-name", "nosuch", "--pareto"], "no study 'nosuch'"),
    (["export", "--study-name", "nosuch", "--pareto", "--output", "{dir}/out"], "no study 'nosuch'"),
    (["measure", "--study-name", "nosuch"], "no study 'nosuch'"),
    (["baseline", "--models", "notamodel"], "notamodel"),
    (["fidelity", "--benchmark", "nb202", "--dataset", "digits", "--archs", "4"],
     "unknown benchmark"),
    # a rerun that would measure something else
    ([*SEARCH, "--dataset", "synthetic"], "was run with dataset='digits'"),
    ([*SEARCH, "--epochs", "3"], "was run with the budget 'epochs=2,train_fraction=0.3'"),
    ([*SEARCH, "--objectives", "acc,params"], "was run with objectives"),
    # values out of range
    ([*SEARCH, "--trials", "99999999999999999999"], "trials"),
    ([*SEARCH, "--seed", "-1"], "--seed: must be in [0, 4294967295]"),
    ([*SEARCH, "--budget", "epochs=2", "--epochs", "3"], "also given as 3"),
    ([*SEARCH, "--devices", "cuda:9"], "cuda"),
    (["retrain", "--study-name", "s", "--pareto", "--seeds", "0"], "seeds"),
    (["retrain", "--study-name", "s", "--pareto", "--weights-dir", "{text}"], "is a file"),
    # results tables not made (or edited since) by nasbench
    (["table", "--storage", "sqlite:///{wrong_type}"], "column val_acc is TEXT, not FLOAT"),
    (["search", "--space", "mobilenet", "--storage", "sqlite:///{wrong_type}"], "is TEXT"),
    (["table", "--storage", "sqlite:///{edited}"], "results row 1: arch '{broken' is not JSON"),
    (["report", "--storage", "sqlite:///{edited}", "--output", "{dir}/r.html"], "is not JSON"),
    # storage URLs naming no usable file
    (["table", "--storage", "sqlite:////tmp/a%00b.db"], "NUL character"),
    (["search", "--space", "mobilenet", "--storage", "sqlite:////tmp/" + "x" * 300 + ".db"],
     "File name too long"),
    # image folders that no classifier can learn from
    ([*FRESH, "--dataset", "imagefolder:{one_class}"], "one class folder (a)"),
    ([*FRESH, "--dataset", "imagefolder:{one_image}"], "has 1 image(s)"),
    ([*FRESH, "--dataset", "imagefolder:{bomb}"], "could be decompression bomb"),
    # files that would drive a parser into recursion or memory
    (["train", "--space", "mobilenet", "--arch", "{deep_json}"], "nested too deeply"),
    (["train", "--space", "mobilenet", "--arch", "{big_json}"], "an arch is a small JSON object"),
    (["search", "--config", "{deep_toml}"], "nested too deeply"),
    # search strategies
    ([*SEARCH, "--rungs", "2"], "was run with rungs=1, not 2"),
    ([*FRESH, "--rungs", "2", "--reduction-factor", "1"], "--reduction-factor: must be in [2"),
    ([*FRESH, "--zero-cost", "nosuch"], "unknown zero-cost proxy 'nosuch'"),
    ([*FRESH, "--judge", "nas-bench-macro"], "holds nas_bench_macro archs, not 'mobilenet'"),
    (["search", "--space", "nas_bench_macro", "--rungs", "2", "--benchmark", "nas-bench-macro"],
     "--rungs needs a trained search"),
    # a scrambled interior page (a damaged first page fails at open already)
    *[([*command, "--storage", "sqlite:///{damaged}"], "is damaged (On tree page 5")
      for command in DAMAGED_DB_COMMANDS],
    # in-memory databases keep nothing
    *[([*command, "--storage", url], "in-memory SQLite database")
      for command in DAMAGED_DB_COMMANDS[:4] for url in ("sqlite://", "sqlite:///:memory:")],
    *[([*SEARCH, "--budget", text], complaint) for text, complaint in BUDGET_CASES],
    *[(["fidelity", "--benchmark", "nas-bench-macro", "--dataset", "digits", "--archs", "4",
        "--budget", text], complaint) for text, complaint in BUDGET_CASES],
    *[(["retrain", "--study-name", "s", "--pareto", "--budget", text], complaint)
      for text, complaint in BUDGET_CASES],
    *[(["baseline", "--models", "resnet18", "--budget", text], complaint)
      for text, complaint in BUDGET_CASES],
    *[(["train", "--space", "mobilenet", "--arch", "mobilenet_v2", "--budget", text], complaint)
      for text, complaint in BUDGET_CASES],
]  # fmt: skip


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def places(tmp_path: Path, image_folders: dict[str, Path]) -> dict[str, Path]:
    db = tmp_path / "n.db"
    shutil.copyfile(FIXTURE, db)
    folder = tmp_path / "folder"
    folder.mkdir()
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    damaged = tmp_path / "damaged.db"
    data = bytearray(FIXTURE.read_bytes())
    start = (DAMAGED_PAGE - 1) * 4096 + 8
    data[start : start + 200] = random.Random(0).randbytes(200)
    damaged.write_bytes(bytes(data))
    deep_json = tmp_path / "deep.json"
    deep_json.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    big_json = tmp_path / "big.json"
    big_json.write_text('{"a": "' + "x" * (2 << 20) + '"}')
    deep_toml = tmp_path / "deep.toml"
    deep_toml.write_text("space = " + "[" * 100_000 + "]" * 100_000 + "\n")
    wrong_type = tmp_path / "wrong_type.db"
    with contextlib.closing(sqlite3.connect(wrong_type)) as conn:
        conn.execute("create table results (id integer primary key, study_name text, "
                     "status text, arch_hash text, val_acc text)")  # fmt: skip
        conn.commit()
    edited = tmp_path / "edited.db"
    shutil.copyfile(FIXTURE, edited)
    with contextlib.closing(sqlite3.connect(edited)) as conn:  # closing checkpoints the WAL
        conn.execute("update results set arch = '{broken' where id = 1")
        conn.commit()
    return {"db": db, "dir": folder, "text": text, "damaged": damaged, "deep_json": deep_json,
            "big_json": big_json, "deep_toml": deep_toml, "wrong_type": wrong_type,
            "edited": edited, **image_folders}  # fmt: skip


@pytest.fixture(scope="module")
def image_folders(tmp_path_factory) -> dict[str, Path]:
    """Image folders no classifier can learn from (made once: the bomb takes a second)."""
    root = tmp_path_factory.mktemp("images")
    images = {"one_class": {"a": 3}, "one_image": {"a": 3, "b": 1}, "bomb": {"a": 2, "b": 2}}
    for name, classes in images.items():
        for cls, count in classes.items():
            (root / name / cls).mkdir(parents=True)
            for i in range(count):
                Image.new("RGB", (8, 8)).save(root / name / cls / f"{i}.png")
    Image.new("1", (20_000, 20_000)).save(root / "bomb" / "b" / "huge.png")  # 49 kB
    return {name: root / name for name in images}


@pytest.mark.parametrize(("args", "complaint"), CASES, ids=[" ".join(a)[:70] for a, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(places, monkeypatch, args, complaint):
    monkeypatch.delenv("NASBENCH_WORKERS", raising=False)  # the parallel default, as a user has it
    args = [a.format(**places) for a in args]
    if "--storage" not in args and args[0] not in ("train", "profile"):  # (they store nothing)
        args += ["--storage", f"sqlite:///{places['db']}"]
    before = {name: _digest(path) for name, path in places.items() if path.is_file()}
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    lines = err.getvalue().strip().splitlines()
    assert code == 2, (code, err.getvalue())
    assert len(lines) == 1 and lines[0].startswith("nasbench: error:"), lines
    assert complaint in lines[0], lines[0]
    assert out.getvalue() == ""
    after = {name: _digest(path) for name, path in places.items() if path.is_file()}
    assert after == before, "a refused command changed a stored file"
    assert sorted(p.name for p in places["dir"].iterdir()) == []
