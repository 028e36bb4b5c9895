"""Taking found architectures out of the harness: the arch JSON, a `torch.export` program that plain
PyTorch loads (normalisation inside, retrained weights when they exist), ONNX on request (checked
in ONNX Runtime against PyTorch on the same input), and the snippet that rebuilds it with nasbench.

An exported program takes float images in [0, 1], N x C x H x W at its stored size (any N), and
returns logits. Its metadata (`nasbench.json` inside the .pt2 file) says what it is.
"""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from nasbench.arch import canonical_json
from nasbench.data import load_dataset
from nasbench.errors import UsageError
from nasbench.spaces import load_space

METADATA = "nasbench.json"  # the metadata file inside an exported .pt2
ONNX_TOLERANCE = 1e-4  # largest |ONNX Runtime - PyTorch| allowed, relative to the largest logit


class Normalized(nn.Module):
    """The model behind the normalisation it was trained with: [0, 1] images in, logits out."""

    def __init__(self, model: nn.Module, mean: list[float], std: list[float]) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model((images - self.mean) / self.std)


@dataclass
class Exported:
    """What one trial's export wrote, and where its weights came from."""

    trial: int
    files: list[Path]
    weights: str  # "retrained: ..." or "untrained (seeded initialisation): ..."
    onnx_max_error: float | None = None


def load_exported(path: str | Path) -> tuple[torch.export.ExportedProgram, dict[str, Any]]:
    """An exported program and its metadata; one line for a file that is not one."""
    extra = {METADATA: ""}
    not_ours = UsageError(f"{path} is not a torch.export program (nasbench export writes them)")
    if not zipfile.is_zipfile(path):
        raise not_ours
    quiet = logging.getLogger("torch.export")  # it logs a traceback before it raises
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        program = torch.export.load(str(path), extra_files=extra)
    except Exception:  # torch raises several kinds for a file that is not a .pt2
        raise not_ours from None
    finally:
        quiet.setLevel(level)
    try:
        metadata = json.loads(extra[METADATA]) if extra[METADATA] else {}
    except (json.JSONDecodeError, RecursionError):
        metadata = {}
    if not isinstance(metadata, dict):  # another tool's metadata: not ours to read
        metadata = {}
    return program, metadata


def export_trial(
    trial: pd.Series,
    study: dict[str, Any],
    retrained: pd.DataFrame,
    output: Path,
    *,
    onnx: bool = False,
) -> Exported:
    """Write trialN.json, trialN.pt2 (and trialN.onnx) for one evaluated search row."""
    number = int(trial["trial_number"])
    source = _weights_source(retrained, number)
    if source is not None:
        payload = torch.load(source["weights_path"], map_location="cpu", weights_only=True)
        arch, shape = payload["arch"], (payload["in_channels"], payload["image_size"])
        num_classes, mean, std = payload["num_classes"], payload["mean"], payload["std"]
        state = payload["state_dict"]
        weights = (
            f"retrained: seed {int(source['seed'])}, val acc {float(source['val_acc']):.2f} %, "
            f"test acc {float(source['test_acc']):.2f} % ({Path(source['weights_path']).name})"
        )
        classes = payload.get("classes", [])
    else:
        settings = study["settings"]
        data = load_dataset(
            settings["dataset"],
            data_dir=settings.get("data_dir", "data"),
            image_size=study.get("image_size"),
            train_fraction=settings.get("train_fraction", 1),
            seed=0,
        )
        arch, shape = trial["arch"], (data.in_channels, data.image_size)
        num_classes, mean, std, classes = data.num_classes, data.mean, data.std, data.classes
        state = None
        weights = "untrained (seeded initialisation): retrain the trial for trained weights"
    space = load_space(trial["space"])
    torch.manual_seed(0)
    model = space.build(arch, num_classes, shape[0], shape[1])
    if state is not None:
        model.load_state_dict(state)
    wrapped = Normalized(model, list(mean), list(std)).eval()
    output.mkdir(parents=True, exist_ok=True)
    stem = output / f"trial{number}"
    files = [stem.with_suffix(".json")]
    files[0].write_text(canonical_json(arch) + "\n")
    example = torch.rand(
        2, shape[0], shape[1], shape[1], generator=torch.Generator().manual_seed(0)
    )
    batch = torch.export.Dim("batch", min=1, max=65536)
    program = torch.export.export(wrapped, (example,), dynamic_shapes=({0: batch},))
    metadata = {
        "study_name": trial["study_name"],
        "trial": number,
        "space": trial["space"],
        "arch": arch,
        "input_shape": [1, shape[0], shape[1], shape[1]],
        "input": "float32 images in [0, 1], N x C x H x W; the program normalises them",
        "mean": list(mean),
        "std": list(std),
        "num_classes": num_classes,
        "classes": classes,
        "weights": weights,
    }
    files.append(stem.with_suffix(".pt2"))
    torch.export.save(program, str(files[-1]), extra_files={METADATA: json.dumps(metadata)})
    exported = Exported(number, files, weights)
    if onnx:
        files.append(stem.with_suffix(".onnx"))
        exported.onnx_max_error = _export_onnx(wrapped, example, files[-1])
    return exported


def rebuild_snippet(study: dict[str, Any], exported: Exported) -> str:
    """Python that loads the exported program with plain PyTorch, and rebuilds it with nasbench."""
    pt2, arch_file = exported.files[1], exported.files[0]
    space = study.get("space")
    return (
        "import json, torch\n"
        f"program = torch.export.load({str(pt2)!r})  # plain PyTorch, no nasbench\n"
        "model = program.module()  # float images in [0, 1], N x C x H x W -> logits\n"
        "# or rebuild it with nasbench (untrained; the .pt2 holds the weights):\n"
        "from nasbench.spaces import load_space\n"
        f"arch = json.load(open({str(arch_file)!r}))\n"
        f"net = load_space({space!r}).build(arch, num_classes, in_channels, image_size)\n"
    )


def _weights_source(retrained: pd.DataFrame, number: int) -> pd.Series | None:
    """The retrained run of this trial to export: the best by validation accuracy (never test)."""
    if not len(retrained):
        return None
    runs = retrained[
        (retrained["trial_number"] == number)
        & (retrained["status"] == "complete")
        & retrained["weights_path"].notna()
    ]
    runs = runs[[Path(p).is_file() for p in runs["weights_path"]]]
    if not len(runs):
        return None
    return runs.sort_values(["val_acc", "id"], ascending=[False, True]).iloc[0]


def _export_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> float:
    """Write ONNX and run it in ONNX Runtime on `example`: the largest difference from PyTorch,
    relative to the largest logit; an error when it exceeds ONNX_TOLERANCE."""
    try:
        import onnxruntime
    except ImportError:
        raise UsageError(
            "--onnx needs onnx, onnxscript and onnxruntime: pip install 'nasbench[onnx]'"
        ) from None
    program = torch.onnx.export(
        model, (example,), dynamo=True, verbose=False, dynamic_shapes=({0: "batch"},)
    )
    program.save(str(path))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: example.numpy()})[0]
    with torch.no_grad():
        want = model(example).numpy()
    error = float(np.abs(got - want).max() / max(1.0, float(np.abs(want).max())))
    if error > ONNX_TOLERANCE:
        raise UsageError(
            f"{path}: ONNX Runtime differs from PyTorch by {error:.2e} (relative; allowed "
            f"{ONNX_TOLERANCE:g}); the ONNX file is not to be trusted"
        )
    return error
