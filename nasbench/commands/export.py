"""`nasbench export`: a study's chosen trials as arch JSON, torch.export programs and ONNX files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nasbench import arguments


def add_arguments(p: argparse.ArgumentParser) -> None:
    arguments.add_storage(p)
    arguments.add_study_name(p, required=True)
    arguments.add_trial_selection(p)
    p.add_argument("--output", required=True, metavar="DIR")
    p.add_argument(
        "--onnx",
        action="store_true",
        help="also write ONNX, checked in ONNX Runtime against PyTorch (pip install 'nasbench[onnx]')",
    )


def run(args: argparse.Namespace) -> int:
    return run_export(
        args.storage,
        args.study_name,
        trials=args.trial or [],
        pareto=args.pareto,
        output=args.output,
        onnx=args.onnx,
    )


def run_export(
    url: str,
    study_name: str,
    *,
    trials: list[int],
    pareto: bool,
    output: str,
    onnx: bool = False,
) -> int:
    """Export every chosen trial into `output`, with a manifest (export.json) listing them."""
    from nasbench.export import export_trial, rebuild_snippet
    from nasbench.results import store
    from nasbench.results.selection import check_trial_choice, select_trials
    from nasbench.workflow.studies import load_search_attrs

    check_trial_choice(trials, pareto)
    store.check_storage(url, create=False)
    attrs = load_search_attrs(url, study_name, "export")
    frame = store.load_results(url, [study_name])
    chosen = select_trials(
        frame, study_name, trials=trials, pareto=pareto, objectives=attrs.get("objectives")
    )
    retrained = frame[frame["source"] == "retrain"]
    folder = Path(output)
    manifest = []
    exported = None
    for _, trial in chosen.iterrows():
        exported = export_trial(trial, attrs, retrained, folder, onnx=onnx)
        check = (
            f"; ONNX Runtime agrees within {exported.onnx_max_error:.1e}"
            if exported.onnx_max_error is not None
            else ""
        )
        print(
            f"trial {exported.trial}: {', '.join(f.name for f in exported.files)} "
            f"({exported.weights}{check})",
            file=sys.stderr,
        )
        manifest.append(
            {
                "trial": exported.trial,
                "files": [f.name for f in exported.files],
                "weights": exported.weights,
                "onnx_max_error": exported.onnx_max_error,
            }
        )
    (folder / "export.json").write_text(
        json.dumps(
            {"study_name": study_name, "space": attrs.get("space"), "trials": manifest}, indent=2
        )
        + "\n"
    )
    if exported is not None:
        print(rebuild_snippet(attrs, exported), end="")
    return 0
