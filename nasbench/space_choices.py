"""A space searched over an experiment file's own choices (its `[choices]` table), each checked
against what the space's `validate` accepts."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from nasbench.errors import UsageError
from nasbench.spaces import ArchError, smallest_choices, suggest_categorical_fields

# what a space needs to take [choices]: its suggest samples SUGGEST[field] for every FIELDS entry
# (PER_STAGE fields once per stage), through spaces.suggest_categorical_fields
CHOICE_ATTRIBUTES = ("FIELDS", "SUGGEST", "SMALLEST_ARCH")


class SpaceWithChoices:
    """The space module with SUGGEST, SMALLEST_ARCH and suggest() over other choices; every other
    attribute (validate, build, NAME, REFERENCE_ARCHS, TRAIN_DEFAULTS...) is the module's."""

    def __init__(self, module: ModuleType, suggest_table: dict[str, list[Any]]) -> None:
        self._module = module
        self.SUGGEST = suggest_table
        self._per_stage = getattr(module, "PER_STAGE", ())
        self._num_stages = getattr(module, "NUM_STAGES", 0)
        self.SMALLEST_ARCH = smallest_choices(
            module.FIELDS, suggest_table, self._per_stage, self._num_stages
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def suggest(self, trial: Any) -> dict[str, Any]:
        return suggest_categorical_fields(
            trial, self._module.FIELDS, self.SUGGEST, self._per_stage, self._num_stages
        )


def with_choices(space: ModuleType, choices: dict[str, Any] | None) -> Any:
    """The space searched over `choices` (field -> list of values) in place of its own; the space
    itself when there are none. Raises UsageError naming the first field or value it refuses."""
    if not choices:
        return space
    name = space.NAME
    if any(not hasattr(space, attr) for attr in CHOICE_ATTRIBUTES):
        raise UsageError(
            f"space {name} does not take [choices] (it samples its own parameters); "
            "remove the [choices] table"
        )
    unknown = sorted(set(choices) - set(space.SUGGEST))
    if unknown:
        raise UsageError(
            f"[choices] has unknown field(s) {', '.join(unknown)} for space {name}; "
            f"fields: {', '.join(space.SUGGEST)}"
        )
    table = dict(space.SUGGEST)
    for field, values in choices.items():
        table[field] = _checked(space, field, values)
    return SpaceWithChoices(space, table)


def _checked(space: ModuleType, field: str, values: Any) -> list[Any]:
    """The field's choices, cheapest first where they are numbers (SMALLEST_ARCH takes the first),
    each one accepted by the space's validate in an otherwise smallest arch."""
    if not isinstance(values, list) or not values:
        raise UsageError(f"[choices] {field} must be a non-empty list, got {values!r}")
    if len(set(map(repr, values))) != len(values):
        raise UsageError(f"[choices] {field} lists a value twice: {values!r}")
    per_stage = field in getattr(space, "PER_STAGE", ())
    for value in values:
        arch = dict(space.SMALLEST_ARCH)
        arch[field] = [value] * space.NUM_STAGES if per_stage else value
        try:
            space.validate(arch)
        except ArchError as err:
            raise UsageError(
                f"[choices] {field}: {value!r} is not accepted by space {space.NAME} ({err})"
            ) from None
    if all(isinstance(v, (int, float)) for v in values):
        return sorted(values)
    return list(values)
