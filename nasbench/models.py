"""torchvision's classification models: built as their published weights build them (to profile),
or adapted to a dataset's channels, classes and size (to train as reference rows)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torchvision
from torch import nn

from nasbench.errors import UsageError
from nasbench.spaces import ArchError, check_keys

# Constructor arguments that torchvision's builders force when they load the published weights
# (see e.g. torchvision/models/googlenet.py): the model is built the same way, minus the download.
PUBLISHED_BUILD_ARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"transform_input": True, "aux_logits": False, "init_weights": False},
    # inception_v3 keeps its auxiliary classifier with the weights (it does not run in eval mode)
    "inception_v3": {"transform_input": True, "aux_logits": True, "init_weights": False},
}
# Families whose constructor fixes the input size (position embeddings, attention grids).
IMAGE_SIZE_ARG = {"vit_": "image_size", "maxvit_": "input_size"}
MIN_IMAGE_SIZE = 32  # below this the classic stems (stride 16-32) leave nothing to pool
TRANSFORMERS_ADAMW = {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.05}


def classification_model_names() -> list[str]:
    """Names of torchvision's classification models, sorted."""
    return sorted(torchvision.models.list_models(module=torchvision.models))


def check_model_name(name: str) -> None:
    if name not in classification_model_names():
        raise UsageError(
            f"unknown torchvision model {name!r}; e.g. resnet18, mobilenet_v2, vit_b_16 "
            f"(see torchvision.models.list_models())"
        )


def published_model(
    name: str, input_size: int | None, num_classes: int | None
) -> tuple[Callable[[], nn.Module], int, dict[str, Any]]:
    """How to build `name` as its DEFAULT weights build it (weights=None: no download), the input
    size (None: the weights' crop size, where the published GFLOPS were counted), and the
    published figures."""
    weights = torchvision.models.get_model_weights(name).DEFAULT
    crop = weights.transforms().crop_size[0]
    size = input_size or crop
    kwargs = dict(PUBLISHED_BUILD_ARGS.get(name, {}))
    kwargs["num_classes"] = num_classes or len(weights.meta["categories"])
    for prefix, arg in IMAGE_SIZE_ARG.items():
        if name.startswith(prefix):
            kwargs[arg] = size if arg == "image_size" else (size, size)
    published = {
        "published_params": weights.meta["num_params"],
        # published GFLOPS are multiply-adds at the crop size; at another size they do not compare
        "published_gflops": weights.meta["_ops"] if size == crop else None,
        "imagenet_top1": weights.meta["_metrics"]["ImageNet-1K"]["acc@1"],
    }
    return (lambda: torchvision.models.get_model(name, weights=None, **kwargs)), size, published


def build_baseline(name: str, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """torchvision's model `name` with a head for `num_classes` and a stem for `in_channels`."""
    check_model_name(name)
    kwargs: dict[str, Any] = {"weights": None, "num_classes": num_classes}
    if name.startswith("vit_"):
        kwargs["image_size"] = image_size
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=True)
    model = torchvision.models.get_model(name, **kwargs)
    if in_channels != 3:
        _replace_first_conv(model, in_channels)
    return model


def _replace_first_conv(model: nn.Module, in_channels: int) -> None:
    """Swap the first convolution for one reading `in_channels` (e.g. greyscale) inputs."""
    for parent in model.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.Conv2d):
                new = nn.Conv2d(
                    in_channels,
                    child.out_channels,
                    child.kernel_size,
                    child.stride,
                    child.padding,
                    child.dilation,
                    1,
                    child.bias is not None,
                    child.padding_mode,
                )
                setattr(parent, child_name, new)
                return
    raise UsageError(
        f"{type(model).__name__} has no convolution to adapt to {in_channels} channels"
    )


def baseline_image_size(name: str, image_size: int) -> int:
    """The input size a classic model is trained at: the data's, raised to what its stem needs."""
    weights = torchvision.models.get_model_weights(name).DEFAULT
    min_side = max(weights.meta.get("min_size", (1, 1)))
    if name.startswith(("vit_", "swin_")):
        min_side = 1  # vit is built at the data's size; swin pads small maps to its window
    size = max(image_size, min_side, MIN_IMAGE_SIZE)
    if name.startswith("vit_"):
        patch = int(name.split("_")[-1])
        size = -(-size // patch) * patch
    return size


def baseline_recipe_defaults(name: str) -> dict[str, Any]:
    """The recipe overrides of a model family (AdamW for transformers), as a space's TRAIN_DEFAULTS."""
    return TRANSFORMERS_ADAMW if name.startswith(("vit_", "swin_")) else {}


class TorchvisionSpace:
    """torchvision's models as a space of one-field archs, {"model": NAME}, for the evaluator."""

    NAME = "torchvision"
    REFERENCE_ARCHS: dict[str, dict[str, Any]] = {}

    @staticmethod
    def validate(arch: dict[str, Any]) -> None:
        check_keys(arch, ["model"])
        if arch["model"] not in classification_model_names():
            raise ArchError(f"unknown torchvision model {arch['model']!r}")

    @staticmethod
    def build(
        arch: dict[str, Any], num_classes: int, in_channels: int, image_size: int
    ) -> nn.Module:
        return build_baseline(arch["model"], num_classes, in_channels, image_size)
