"""Seeded malformed inputs for every reader (tests/fuzz_cases.py), each run in-process: one line
on stderr that names the cause, exit status 2, nothing on stdout, no traceback, and every file
byte-identical afterwards, none added (README: "Bad input gets one line on stderr and exit
status 2; nothing stored is changed").

The fast tier runs a fixed seeded sample; the slow tier the whole generated set. A failing case
prints its seed and command line; `fuzz_cases.make(READER, INDEX)` rebuilds it.
"""

from __future__ import annotations

import gc
import hashlib
import shlex
from pathlib import Path

import pytest
from fuzz_cases import TMP, Case, all_cases, sample, valid_cases

from nasbench.cli import main
from nasbench.results import store

CASES = all_cases()
SAMPLE = sample(CASES, per_reader=10)  # the fast tier
VALID = valid_cases()


def _write(case: Case, root: Path) -> None:
    for name, content in case.files:
        path = root / name
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content.replace(TMP, str(root)))
        else:
            path.write_bytes(content)


def _snapshot(root: Path) -> dict[str, str]:
    """Every file's sha256 and every folder under root, by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "/"
        for p in sorted(root.rglob("*"))
    }


def run_case(case: Case, root: Path, monkeypatch: pytest.MonkeyPatch, capfd) -> None:
    monkeypatch.delenv("NASBENCH_WORKERS", raising=False)  # the parallel default, as a user has it
    monkeypatch.delenv("NASBENCH_QUICK_CHECKED", raising=False)  # (restored afterwards)
    for name, value in case.env:
        monkeypatch.setenv(name, value)
    _write(case, root)
    args = [a.replace(TMP, str(root)) for a in case.args]
    before = _snapshot(root)
    capfd.readouterr()
    try:
        code = main(args)
    except (Exception, SystemExit) as err:  # reported with the case below
        code = f"raised {type(err).__name__}: {err}"
    finally:
        store.dispose_engines()
    out, err = capfd.readouterr()
    after = _snapshot(root)
    if after != before:  # close what a process closes as it exits (SQLite removes -wal, -shm)
        gc.collect()
        after = _snapshot(root)
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in case.env)
    where = (
        f"\nseed {case.seed!r} ({case.kind}; fuzz_cases.make({case.reader!r}, "
        f"{int(case.seed.rsplit('/', 1)[1])}))\ncommand: {env + ' ' if env else ''}nasbench "
        f"{shlex.join(args)}\nexit: {code}\nstderr: {err[-2000:]!r}\nstdout: {out[-500:]!r}"
    )
    lines = err.strip().splitlines()
    assert code == 2, "exit status is not 2" + where
    assert "Traceback" not in out + err, "a traceback" + where
    assert len(lines) == 1, f"{len(lines)} lines on stderr, not one" + where
    assert lines[0].startswith("nasbench: error: "), "not a one-line error" + where
    cause = lines[0].removeprefix("nasbench: error: ").strip()
    assert cause and not cause.startswith("internal error"), "no cause named" + where
    if case.hints:
        text = cause.lower().replace("_", " ")
        named = any(hint.lower().replace("_", " ") in text for hint in case.hints)
        assert named, f"the line names none of {list(case.hints)}" + where
    assert out == "", "something on stdout" + where
    assert after == before, (
        f"stored files changed: {sorted(set(after.items()) ^ set(before.items()))}" + where
    )


@pytest.mark.parametrize("case", SAMPLE, ids=[c.id for c in SAMPLE])
def test_a_seeded_sample_of_malformed_inputs_is_refused_in_one_line(
    case, tmp_path, monkeypatch, capfd
):
    run_case(case, tmp_path, monkeypatch, capfd)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_generated_malformed_input_is_refused_in_one_line(case, tmp_path, monkeypatch, capfd):
    run_case(case, tmp_path, monkeypatch, capfd)


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", VALID, ids=[f"{c.reader}-{i}-{c.args[0]}" for i, c in enumerate(VALID)]
)
def test_every_reader_accepts_its_input_before_mutation(case, tmp_path, monkeypatch, capfd):
    """The generator's starting points are valid, so that what a mutation breaks is the cause."""
    monkeypatch.delenv("NASBENCH_WORKERS", raising=False)
    monkeypatch.delenv("NASBENCH_QUICK_CHECKED", raising=False)
    for name, value in case.env:
        monkeypatch.setenv(name, value)
    _write(case, tmp_path)
    args = [a.replace(TMP, str(tmp_path)) for a in case.args]
    try:
        code = main(args)
    finally:
        store.dispose_engines()
    out, err = capfd.readouterr()
    assert code == 0, f"nasbench {shlex.join(args)}\n{err[-2000:]}"
