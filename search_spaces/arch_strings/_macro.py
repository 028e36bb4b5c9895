"""Digit arch strings shared by the NAS-Bench-Macro and Channel-Bench-Macro codecs (no torch).

Each of the three spaces has one list field, position i taking one of `choices[i]`, and its
benchmark table writes an arch as one digit per position:

    nas_bench_macro           {"layers": [op] * 8}, op one of identity, mb_k3_e3, mb_k5_e6;
                              digit = index of the op (0, 1, 2): "01201122"
    channel_bench_mobilenet   {"widths": [c0, ..., c6]}, the channel counts; digit d in 1..4 is
    channel_bench_resnet      c_i = round(d * M_i / 4): "1234321"

The strings stay strings: leading zeros are part of a NAS-Bench-Macro arch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nasbench.spaces import ArchError, check_choice, check_keys, check_stage_list

CHANNEL_DIGITS = (1, 2, 3, 4)


@dataclass(frozen=True)
class DigitArchs:
    """The archs of a space with one list field whose position i takes one of `choices[i]`, written
    in its benchmark table as one digit per position (`first_digit` stands for choices[i][0])."""

    name: str  # the space
    field: str
    choices: tuple[tuple[Any, ...], ...]  # per position, cheapest first
    first_digit: int

    @property
    def length(self) -> int:
        return len(self.choices)

    @property
    def grid(self) -> dict[str, list[Any]]:
        """Optuna parameter name (`field_i`) -> choices: the space's GRID."""
        return {self.param(i): list(c) for i, c in enumerate(self.choices)}

    @property
    def smallest(self) -> dict[str, list[Any]]:
        """The arch of every position's first (cheapest) choice."""
        return {self.field: [c[0] for c in self.choices]}

    def param(self, position: int) -> str:
        return f"{self.field}_{position}"

    def suggest(self, trial: Any) -> dict[str, list[Any]]:
        """Sample every position from an Optuna trial (one categorical parameter `field_i` each)."""
        return {
            self.field: [
                trial.suggest_categorical(self.param(i), list(c))
                for i, c in enumerate(self.choices)
            ]
        }

    def validate(self, arch: dict[str, Any]) -> None:
        """Raise ArchError naming the missing/unknown field or the first bad position and its choices."""
        # fast path for a valid arch: benchmark tables format every row (16,384) on load
        values = arch.get(self.field) if type(arch) is dict else None
        if (
            type(values) is list
            and len(arch) == 1
            and len(values) == self.length
            and all(
                type(v) in (int, str) and v in c for v, c in zip(values, self.choices, strict=True)
            )
        ):
            return
        check_keys(arch, (self.field,))
        check_stage_list(arch, self.field, self.length)
        for i, (value, allowed) in enumerate(zip(arch[self.field], self.choices, strict=True)):
            check_choice({f"{self.field}[{i}]": value}, f"{self.field}[{i}]", allowed)

    def to_string(self, arch: dict[str, Any]) -> str:
        """The table's digit string of a valid arch (ArchError for an invalid one)."""
        self.validate(arch)
        return "".join(
            str(self.first_digit + c.index(v))
            for v, c in zip(arch[self.field], self.choices, strict=True)
        )

    def from_string(self, text: str) -> dict[str, list[Any]]:
        """The arch of a digit string; ArchError saying what is wrong with a malformed one."""
        if not isinstance(text, str):
            raise ArchError(
                f"a {self.name} arch string must be a str of {self.length} digits, "
                f"not {type(text).__name__} (keep leading zeros)"
            )
        digits = text.strip()
        if len(digits) != self.length:
            raise ArchError(
                f"{text!r} is not a {self.name} arch string: expected {self.length} digits, "
                f"got {len(digits)} characters"
            )
        values = []
        for i, (char, allowed) in enumerate(zip(digits, self.choices, strict=True)):
            if char not in "0123456789":
                raise ArchError(
                    f"{text!r} is not a {self.name} arch string: character {i + 1} ({char!r}) "
                    "is not a digit"
                )
            index = int(char) - self.first_digit
            if not 0 <= index < len(allowed):
                raise ArchError(
                    f"{text!r} is not a {self.name} arch string: digit {i + 1} is {char}; "
                    f"{self.field}[{i}] takes {self._legend(i)}"
                )
            values.append(allowed[index])
        return {self.field: values}

    def _legend(self, position: int) -> str:
        return ", ".join(
            f"{self.first_digit + j}={v}" for j, v in enumerate(self.choices[position])
        )


def channel_archs(name: str, max_widths: Sequence[int]) -> DigitArchs:
    """A Channel-Bench-Macro width space: digit d at position i is round(d * max_widths[i] / 4)."""
    choices = tuple(tuple(round(d * m / 4) for d in CHANNEL_DIGITS) for m in max_widths)
    return DigitArchs(name, "widths", choices, first_digit=CHANNEL_DIGITS[0])
