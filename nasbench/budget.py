"""A proxy budget: what one proxy training may cost, as one plain value with one text form (no torch).

The cost knobs are `epochs` or `steps` (optimizer steps in all; the last epoch may be partial),
`image_size`, `train_fraction`, `batch_size`, `val_images` (validate on a fixed, stratified subset of
that many images) and `width` (train a copy of the arch with its channels, or embedding width,
multiplied by it, rounded as its space rounds them); the recipe (optimizer, learning rate,
augmentation...) is `nasbench.train.TrainConfig`'s. A knob left unset takes the dataset's default
(its recipe's epochs and batch size, its native resolution, the whole training split, full width).
The text form is `epochs=2,image_size=16` (`image-size` is accepted too); a budget's label
names only the knobs that differ from their defaults, in KNOBS order, or is "default". Adding a knob
is one row of KNOBS and one field of ProxyBudget.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from nasbench.errors import UsageError


class Knob(NamedTuple):
    """How one budget knob is read and checked."""

    kind: type  # int or float
    low: float  # smallest allowed value (inclusive unless low_open)
    high: float  # largest allowed value (inclusive)
    default: Any  # the value that leaves the dataset's default in place
    low_open: bool = False


# The default proxy of a trained search on real images, from the screen on the JPEG CIFAR-10
# (README, "Reduced proxies on the whole training set"): the best-ranking budget on one CPU core,
# 1,053 optimizer steps of 128 images (3 epochs of the 45,000-image training split) on a
# quarter-width copy at 8 px. The CIFAR files' recipe takes batches of 256: the budget names 128.
# Other datasets keep their recipe's own default.
MEASURED_CPU_BUDGET = "steps=1053,width=0.25,image_size=8"
DATASET_BUDGETS = {
    "cifar10": MEASURED_CPU_BUDGET + ",batch_size=128",
    "cifar100": MEASURED_CPU_BUDGET + ",batch_size=128",
    "imagefolder": MEASURED_CPU_BUDGET,
}


# Upper bounds keep a typo from running for days or exhausting memory (issue: 99999999999 epochs).
KNOBS: dict[str, Knob] = {
    "epochs": Knob(int, 1, 10_000, None),
    "steps": Knob(int, 1, 10_000_000, None),
    "image_size": Knob(int, 1, 1024, None),
    "train_fraction": Knob(float, 0.0, 1.0, 1.0, low_open=True),
    "batch_size": Knob(int, 1, 65_536, None),
    "val_images": Knob(int, 1, 10_000_000, None),
    "width": Knob(float, 0.0, 1.0, 1.0, low_open=True),
}


@dataclass(frozen=True)
class ProxyBudget:
    """What one proxy training costs; None (or train_fraction 1) means the dataset's default."""

    epochs: int | None = None
    image_size: int | None = None
    train_fraction: float = 1.0
    batch_size: int | None = None
    val_images: int | None = None  # a fixed, stratified subset of the validation split
    width: float = 1.0  # channel (or embedding width) multiplier of the trained copy
    steps: int | None = None  # optimizer steps in all, instead of epochs

    def __post_init__(self) -> None:
        for name, knob in KNOBS.items():
            object.__setattr__(self, name, _checked(name, getattr(self, name), knob))
        if self.epochs is not None and self.steps is not None:
            raise UsageError(
                f"a budget sets epochs ({self.epochs}) or steps ({self.steps}), not both"
            )

    @classmethod
    def parse(cls, text: str) -> ProxyBudget:
        """'epochs=3,image-size=16' -> ProxyBudget(epochs=3, image_size=16); "" or "default" is
        the default budget. One line (UsageError) for an unknown or repeated key or a bad value."""
        if not isinstance(text, str):
            raise UsageError(
                f"a budget must be text such as 'epochs=2,image_size=16', got {text!r}"
            )
        values: dict[str, Any] = {}
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if parts == ["default"]:
            return cls()
        for part in parts:
            key, sep, value = part.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in KNOBS:
                raise UsageError(
                    f"budget {text!r}: {part!r} is not KEY=VALUE with KEY one of {', '.join(KNOBS)}"
                )
            if key in values:
                raise UsageError(f"budget {text!r} sets {key} twice")
            values[key] = _number(text, key, value.strip())
        return cls._from_values(values, f"budget {text!r}")

    @classmethod
    def from_mapping(cls, values: dict[str, Any], where: str = "budget") -> ProxyBudget:
        """A budget from a TOML `[budget]` table or other mapping of knob -> value (keys may use -)."""
        if not isinstance(values, dict):
            raise UsageError(f"{where} must be a table of {', '.join(KNOBS)}, got {values!r}")
        normalised = {str(k).replace("-", "_"): v for k, v in values.items()}
        unknown = sorted(set(normalised) - set(KNOBS))
        if unknown:
            raise UsageError(
                f"{where}: unknown budget key(s) {', '.join(unknown)}; keys: {', '.join(KNOBS)}"
            )
        return cls._from_values(normalised, where)

    @classmethod
    def _from_values(cls, values: dict[str, Any], where: str) -> ProxyBudget:
        try:
            return cls(**values)
        except UsageError as err:
            raise UsageError(f"{where}: {err}") from None

    def given(self) -> dict[str, Any]:
        """The knobs that differ from their defaults, in KNOBS order."""
        return {
            name: getattr(self, name)
            for name, knob in KNOBS.items()
            if getattr(self, name) != knob.default
        }

    @property
    def label(self) -> str:
        """The canonical text of the budget: 'epochs=2,image_size=16', or 'default'."""
        return ",".join(f"{k}={v:g}" for k, v in self.given().items()) or "default"

    @property
    def is_default(self) -> bool:
        return not self.given()

    def updated(self, other: ProxyBudget) -> ProxyBudget:
        """This budget with every knob that `other` sets taken from `other` (flags over a file)."""
        return dataclasses.replace(self, **other.given())

    def recipe_overrides(self) -> dict[str, int]:
        """The knobs that are recipe fields (epochs, steps, batch_size), where set."""
        return {k: v for k, v in self.given().items() if k in ("epochs", "steps", "batch_size")}

    @property
    def reduces_input(self) -> bool:
        """Whether the proxy trains another network or input than the user's arch gets (a reduced
        width or another image size): its costs are then measured on the full-width arch at the
        dataset's native resolution."""
        return self.width != 1.0 or self.image_size is not None

    def as_dict(self) -> dict[str, Any]:
        """Every knob, set or not (the flat form a study records in its settings)."""
        return dataclasses.asdict(self)


def combine(
    budget: ProxyBudget | None, shorthands: dict[str, Any], where: str
) -> ProxyBudget | None:
    """A `--budget` (or a file's `budget`) and its shorthand flags (`--epochs 2`...) as one budget;
    one line when the two name one knob with different values. None when neither was given."""
    given = {k: v for k, v in shorthands.items() if v is not None}
    if budget is None and not given:
        return None
    short = ProxyBudget.from_mapping(given, where)
    if budget is None:
        return short
    for key in short.given():
        value = getattr(budget, key)
        if value != KNOBS[key].default and value != getattr(short, key):
            raise UsageError(
                f"{where}: the budget sets {key}={value:g} and {key} is also given as "
                f"{getattr(short, key):g}; keep one"
            )
    return budget.updated(short)


def _number(text: str, key: str, value: str) -> int | float:
    kind = KNOBS[key].kind
    try:
        return kind(value)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise UsageError(f"budget {text!r}: {key}={value!r} is not {what}") from None


def _checked(name: str, value: Any, knob: Knob) -> Any:
    if value is None:
        return knob.default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{name} must be a number, got {value!r}")
    if knob.kind is int and isinstance(value, float):
        raise UsageError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):  # (an int is finite, if huge)
        raise UsageError(f"{name} must be a finite number, got {value!r}")
    low_ok = value > knob.low if knob.low_open else value >= knob.low
    if not low_ok or value > knob.high:
        bracket = "(" if knob.low_open else "["
        low, high = (f"{int(b)}" if knob.kind is int else f"{b:g}" for b in (knob.low, knob.high))
        raise UsageError(f"{name} must be in {bracket}{low}, {high}], got {value!r}")
    return knob.kind(value)


def default_budget(dataset: str) -> ProxyBudget:
    """The budget a trained search (and `fidelity --budget default`) uses on `dataset` when none
    is given: the measured one on real images, the recipe's default elsewhere."""
    return ProxyBudget.parse(DATASET_BUDGETS.get(dataset.split(":", 1)[0], "default"))
