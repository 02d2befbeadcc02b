"""Case key paths: name any input of a case file and set or scale it.

A key path is the dotted name a case file gives a value, as the parser's messages write it:
``phase[1].gas_temp_c``, ``tissue.core_temp_c``, ``perfusion.scale_k``. Arrays of tables
(``phase``, ``tissue.layer``, ``output.probe``) are indexed from 1, as the format counts them,
or by name (``tissue.layer[dermis].thickness_mm``), or all at once (``tissue.layer[*]``).
``tissue.thickness_mm.<layer>``, the zone-override form, means
``tissue.layer[<layer>].thickness_mm``.

Values are applied to the :class:`~cryoderm.physics.case.Case` itself (its value objects
hold the same names as the file, arrays as ``layers``, ``phases``, ``probes``); they check
their own bounds (the one bounds table), so a value out of range is refused naming the key
path with the unit and what is allowed, exactly as in a case file. Pure: no file is read.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cryoderm.physics.case import Case
from cryoderm.physics.errors import InvalidInput
from cryoderm.research.errors import InvalidStudy

Mode = Literal["set", "scale"]
MODES: tuple[Mode, ...] = ("set", "scale")
ALL = "*"

_STEP = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[([^\[\]]+)\])?$")


@dataclass(frozen=True)
class Step:
    """One step of a key path: a key, and for an array of tables which of its items."""

    name: str
    item: int | str | None = None


@dataclass(frozen=True)
class KeyPath:
    """A parsed key path (see the module's docstring); ``text`` is as the user wrote it."""

    text: str
    steps: tuple[Step, ...]

    def __str__(self) -> str:
        return self.text


def parse_key(text: str, field: str = "key") -> KeyPath:
    """Parse ``text``; InvalidStudy naming ``field`` if it is not a key path."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidStudy(field, text, "a case key path such as phase[1].gas_temp_c")
    parts = text.strip().split(".")
    if len(parts) == 3 and parts[0] == "tissue" and parts[1] == "thickness_mm":
        parts = ["tissue", f"layer[{parts[2]}]", "thickness_mm"]
    steps = []
    for part in parts:
        match = _STEP.match(part)
        if match is None:
            raise InvalidStudy(
                field,
                text,
                "dotted keys, arrays indexed from 1, by name or [*]: e.g. phase[1].gas_temp_c, "
                "tissue.layer[dermis].thickness_mm",
            )
        name, item = match.group(1), match.group(2)
        steps.append(Step(name, _item(item, text, field)))
    return KeyPath(text.strip(), tuple(steps))


def _item(item: str | None, text: str, field: str) -> int | str | None:
    if item is None:
        return None
    item = item.strip()
    if item.isdigit():
        index = int(item)
        if index < 1:
            raise InvalidStudy(field, text, "arrays are counted from 1, as in the case file")
        return index
    return item


#: Arrays of tables in the case file, and the value objects' names for them.
ARRAYS = {"layer": "layers", "phase": "phases", "probe": "probes"}


def _label(step: Step, index: int | None = None) -> str:
    return step.name if index is None else f"{step.name}[{index + 1}]"


def _indices(items: Sequence[Any], step: Step, key: KeyPath) -> list[int]:
    if step.item == ALL:
        return list(range(len(items)))
    if isinstance(step.item, int):
        if step.item > len(items):
            raise InvalidStudy(
                key.text, key.text, f"the case has {len(items)} {step.name} entries (from 1)"
            )
        return [step.item - 1]
    names = [getattr(item, "name", None) for item in items]
    if step.item not in names:
        known = ", ".join(str(n) for n in names if n is not None) or "none"
        raise InvalidStudy(key.text, key.text, f"no {step.name} named {step.item!r}: {known}")
    return [names.index(step.item)]


def _fields(obj: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(obj)] if dataclasses.is_dataclass(obj) else []


def _visit(
    obj: Any,
    steps: Sequence[Step],
    key: KeyPath,
    where: str,
    leaf: Callable[[Any, str, str], Any],
) -> Any:
    """Walk ``steps`` from ``obj``; ``leaf(parent, field, where)`` gives the new leaf value
    (or records it). Returns the rebuilt object (only the path is rebuilt)."""
    step, rest = steps[0], steps[1:]
    attribute = ARRAYS.get(step.name, step.name) if step.item is not None else step.name
    if attribute not in _fields(obj):
        kind = getattr(obj, "modality", None)
        here = f"{where} ({kind})" if kind else where or "the case"
        valid = ", ".join(n for n in _fields(obj) if n not in ("modality",))
        raise InvalidStudy(key.text, key.text, f"{here} has no {step.name!r}; valid: {valid}")
    path = f"{where}.{step.name}" if where else step.name
    if step.item is None:
        if not rest:
            value = leaf(obj, attribute, path)
            try:
                return dataclasses.replace(obj, **{attribute: value})
            except InvalidInput as error:
                # The value object names its field; the user named an item of the case.
                raise InvalidInput(path, error.value, error.allowed, error.unit) from None
        child = getattr(obj, attribute)
        if not dataclasses.is_dataclass(child):
            raise InvalidStudy(key.text, key.text, f"{path} is a value, not a table")
        return dataclasses.replace(obj, **{attribute: _visit(child, rest, key, path, leaf)})
    items = getattr(obj, attribute)
    if not isinstance(items, tuple):
        raise InvalidStudy(key.text, key.text, f"{path} is not an array of tables")
    if not rest:
        raise InvalidStudy(key.text, key.text, "name a value inside the table, e.g. .thickness_mm")
    changed = list(items)
    for index in _indices(items, step, key):
        label = f"{where}.{_label(step, index)}" if where else _label(step, index)
        changed[index] = _visit(items[index], rest, key, label, leaf)
    return dataclasses.replace(obj, **{attribute: tuple(changed)})


def _number(value: Any, key: KeyPath) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidStudy(key.text, value, "a numeric input of the case (this one is not)")
    return float(value)


def current_values(case: Case, key: KeyPath) -> list[float | None]:
    """The case's values at every location ``key`` names (None where it is not set)."""
    found: list[float | None] = []

    def record(parent: Any, attribute: str, where: str) -> Any:
        value = getattr(parent, attribute)
        found.append(None if value is None else _number(value, key))
        return value

    _visit(case, key.steps, key, "", record)
    return found


def apply(case: Case, changes: Sequence[tuple[KeyPath, Mode, float]]) -> Case:
    """``case`` with every (key, mode, value) applied: "set" writes the value, "scale"
    multiplies the case's own value (which must be set). A value out of bounds raises
    InvalidInput naming the key path (``phase[1].heat_transfer_w_m2k``)."""
    for key, mode, value in changes:
        case = _visit(case, key.steps, key, "", _changer(key, mode, float(value)))
    return case


def _changer(key: KeyPath, mode: Mode, value: float) -> Callable[[Any, str, str], float]:
    def change(parent: Any, attribute: str, where: str) -> float:
        old = getattr(parent, attribute)
        if mode == "set":
            if old is not None:
                _number(old, key)
            return value
        if old is None:
            raise InvalidStudy(key.text, None, "scale needs a value set in the case: set it")
        return _number(old, key) * value

    return change
