"""Case key paths: name any input of a case file and set or scale it.

A key path is the dotted name a case file gives a value, as the parser's messages write it:
``phase[1].gas_temp_c``, ``tissue.core_temp_c``, ``perfusion.scale_k``. Arrays of tables
(``phase``, ``tissue.layer``, ``output.probe``) are indexed from 1, as the format counts them,
or by name (``tissue.layer[dermis].thickness_mm``), or all at once (``tissue.layer[*]``).
``tissue.thickness_mm.<layer>``, the zone-override form, means
``tissue.layer[<layer>].thickness_mm``.

Values are applied to the case's *resolved* document (:func:`case_document`: the zone
already written as explicit layers, every default filled in), and the new document goes
through the public parser, so a value out of range is refused with the parser's own
message, exactly as in a case file. Pure: no file is read here.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cryoderm.physics.case import Case
from cryoderm.physics.casefile import case_to_toml, parse_case
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


def case_document(case: Case) -> dict[str, Any]:
    """The resolved case file of ``case`` as a document (parse_case of it gives ``case``)."""
    return tomllib.loads(case_to_toml(case))


def _locate(node: Any, steps: Sequence[Step], key: KeyPath) -> list[tuple[Any, ...]]:
    """Every location the path names, as tuples of indices from the document's root."""
    if not steps:
        return [()]
    step, rest = steps[0], steps[1:]
    if not isinstance(node, Mapping):
        raise InvalidStudy(str(key), key.text, f"{step.name!r} is not inside a table here")
    if step.item is None:
        if rest and step.name not in node:
            raise InvalidStudy(str(key), key.text, f"the case has no table {step.name!r}")
        if not rest:
            return [(step.name,)]
        return [(step.name, *tail) for tail in _locate(node[step.name], rest, key)]
    items = node.get(step.name)
    if not isinstance(items, list):
        raise InvalidStudy(str(key), key.text, f"{step.name!r} is not an array of tables")
    if step.item == ALL:
        chosen = list(range(len(items)))
    elif isinstance(step.item, int):
        if step.item > len(items):
            raise InvalidStudy(
                str(key), key.text, f"the case has {len(items)} {step.name} entries (from 1)"
            )
        chosen = [step.item - 1]
    else:
        names = [item.get("name") for item in items]
        if step.item not in names:
            known = ", ".join(str(n) for n in names if n is not None) or "none"
            raise InvalidStudy(str(key), key.text, f"no {step.name} named {step.item!r}: {known}")
        chosen = [names.index(step.item)]
    if not rest:
        raise InvalidStudy(str(key), key.text, "name a value inside the table, e.g. .thickness_mm")
    found = []
    for index in chosen:
        found += [(step.name, index, *tail) for tail in _locate(items[index], rest, key)]
    return found


def current_values(doc: Mapping[str, Any], key: KeyPath) -> list[float | None]:
    """The values at every location ``key`` names (None where the key is not written)."""
    values = []
    for location in _locate(doc, key.steps, key):
        node: Any = doc
        for part in location[:-1]:
            node = node[part]
        value = node.get(location[-1])
        values.append(None if value is None else _as_number(value, key))
    return values


def _as_number(value: Any, key: KeyPath) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidStudy(str(key), value, "a numeric input of the case (this one is not)")
    return float(value)


def _replaced(node: Any, location: Sequence[Any], change: Callable[[Any], Any]) -> Any:
    """A copy of ``node`` with the value at ``location`` changed; only the path is copied."""
    head, rest = location[0], location[1:]
    copy: Any = list(node) if isinstance(node, list) else dict(node)
    if rest:
        copy[head] = _replaced(node[head], rest, change)
    else:
        copy[head] = change(node.get(head) if isinstance(node, Mapping) else node[head])
    return copy


def apply(doc: Mapping[str, Any], changes: Sequence[tuple[KeyPath, Mode, float]]) -> dict[str, Any]:
    """A new document with every (key, mode, value) applied: "set" writes the value, "scale"
    multiplies the value the document holds (which must be written)."""
    out: Any = doc
    for key, mode, value in changes:
        for location in _locate(out, key.steps, key):
            if mode == "set":

                def written(_old: Any, v: float = value) -> float:
                    return float(v)

                out = _replaced(out, location, written)
                continue

            def scaled(old: Any, v: float = value, k: KeyPath = key) -> float:
                if old is None:
                    raise InvalidStudy(
                        k.text, None, "scale needs a value written in the case: set it instead"
                    )
                return _as_number(old, k) * float(v)

            out = _replaced(out, location, scaled)
    return dict(out)


def build_case(doc: Mapping[str, Any], source: str = "<study>") -> Case:
    """Parse a changed document (InvalidInput, naming the key, for a value out of range)."""
    return parse_case(doc, source)
