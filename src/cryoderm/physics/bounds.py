"""The one bounds table: unit, limits and default of every input of a case.

The table is ``data/bounds.toml``; this module reads it and applies it. Three users, one rule:

- the value objects of :mod:`cryoderm.physics.case` call :func:`validate` in
  ``__post_init__``, so a case built in Python is checked exactly as a case file is;
- the case-file parser (:mod:`cryoderm.physics.casefile`) takes from it the keys each section
  allows, their kinds and the "required" and type messages, then lets the value objects check
  the ranges and re-paths their errors to what the user wrote (``phase[2].dwell_s``);
- :func:`markdown` renders the "Keys" table of docs/case-file.md (``cryoderm bounds``).

Every error is an :class:`~cryoderm.physics.errors.InvalidInput` naming the key, the value,
its unit and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import Any

from cryoderm.data import load_table
from cryoderm.physics.errors import MISSING, InvalidInput

KINDS = ("number", "numbers", "flag", "choice", "text", "derived")


@dataclass(frozen=True)
class Bound:
    """One entry of the table (see the header of data/bounds.toml for each field).

    low/high: limits of a number (None: unbounded on that side; ``high_key`` names a field
    of the same object that is the upper limit instead). default: the value taken when the
    key is absent (None: required, derived or given by ``default_text``)."""

    key: str
    kind: str
    unit: str
    low: float | None
    high: float | None
    low_open: bool
    high_open: bool
    high_key: str | None
    high_text: str
    default: object
    default_text: str
    required: bool
    choices: tuple[str, ...]
    choices_text: str
    source: str

    @property
    def name(self) -> str:
        """The key's own name (the last part of ``key``)."""
        return self.key.rsplit(".", 1)[-1]

    def allowed(self, high: float | None = None) -> str:
        """What the key accepts, in words (``high``: the value of ``high_key``)."""
        if self.kind == "flag":
            return "true or false"
        if self.kind == "text":
            return "a non-empty text string" if self.required else "a text string"
        if self.kind == "choice":
            return self.choices_text or "one of: " + ", ".join(self.choices)
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_g(self.low)}")
        top = high if high is not None else self.high
        if top is not None:
            parts.append(f"{'<' if self.high_open else '<='} {_g(top)}")
            if high is not None and self.high_text:
                parts[-1] += f" ({self.high_text})"
        elif self.high_text:
            parts.append(f"<= {self.high_text}")
        return "a number " + " and ".join(parts) if parts else "a number"

    def error(self, field: str, value: object, high: float | None = None) -> InvalidInput:
        """The error for ``value`` at ``field``: names field, value, unit and what is allowed."""
        return InvalidInput(field, value, self.allowed(high), self.unit)

    def missing(self, field: str) -> InvalidInput:
        """The error for a required key that is absent."""
        return InvalidInput(field, MISSING, f"required: {self.allowed()}", self.unit)

    def within(self, value: object, high: float | None = None) -> bool:
        """Whether ``value`` is a finite number within the limits (booleans are not numbers)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        number = float(value)
        if not math.isfinite(number):
            return False
        low, top = self.low, high if high is not None else self.high
        if low is not None and (number <= low if self.low_open else number < low):
            return False
        return not (top is not None and (number >= top if self.high_open else number > top))

    def check(self, field: str, value: object, high: float | None = None) -> None:
        """Raise the error of ``value`` unless it is a finite number within the limits."""
        if not self.within(value, high):
            raise self.error(field, value, high)


def _g(number: float) -> str:
    """A number as people write it: 0.5, 86400, 1e8."""
    return f"{number:g}".replace("e+0", "e").replace("e+", "e")


def _reference(text: str) -> Any:
    """The value at ``table:dotted.path`` of a sourced data table."""
    table, _, path = text.partition(":")
    value: Any = load_table(table)
    for part in path.split("."):
        value = value[part]
    return value


def _limit(entry: Mapping[str, Any], name: str) -> float | None:
    value = entry.get(name)
    if isinstance(value, str):
        value = _reference(value)
    return None if value is None else float(value)


def _bound(entry: Mapping[str, Any]) -> Bound:
    kind = str(entry.get("kind", "number"))
    if kind not in KINDS:
        raise ValueError(f"data/bounds.toml: {entry['key']}: kind {kind!r} is not one of {KINDS}")
    default = entry.get("default")
    if "default_from" in entry:
        default = _reference(str(entry["default_from"]))
    if isinstance(default, int) and not isinstance(default, bool):
        default = float(default)
    return Bound(
        key=str(entry["key"]),
        kind=kind,
        unit=str(entry.get("unit", "")),
        low=_limit(entry, "min"),
        high=_limit(entry, "max"),
        low_open=bool(entry.get("min_open", False)),
        high_open=bool(entry.get("max_open", False)),
        high_key=entry.get("max_key"),
        high_text=str(entry.get("max_text", "")),
        default=default,
        default_text=str(entry.get("default_text", "")),
        required=bool(entry.get("required", False)),
        choices=tuple(entry.get("choices", ())),
        choices_text=str(entry.get("choices_text", "")),
        source=str(entry["source"]),
    )


@cache
def _table() -> dict[str, Bound]:
    return {str(entry["key"]): _bound(entry) for entry in load_table("bounds")["bound"]}


def all_bounds() -> tuple[Bound, ...]:
    """Every entry, in the table's (the documentation's) order."""
    return tuple(_table().values())


def bound(key: str) -> Bound:
    """The entry of ``key`` (KeyError for a key the table lacks: a programming error)."""
    return _table()[key]


def default(key: str) -> Any:
    """The default of ``key``: what a value object's field starts as."""
    value = bound(key).default
    if value is None:
        raise KeyError(f"data/bounds.toml: {key} has no default value")
    return value


def arrays() -> tuple[str, ...]:
    """The sections written as arrays of tables (``[[phase]]``)."""
    return tuple(load_table("bounds")["arrays"])


def variant_key(section: str) -> str | None:
    """The choice that selects a section's further keys (phase: modality), or None."""
    return load_table("bounds")["variants"].get(section)


def keys_of(section: str, variant: str | None = None) -> tuple[str, ...]:
    """The keys a section of the case file allows, in the table's order: its own entries,
    those of its variant (``phase`` with ``cold-air``) and its sub-sections' names."""
    base = f"{section}." if section else ""
    own = f"{section}.{variant}." if variant else None
    others = tuple(f"{section}.{choice}." for choice in _variant_choices(section))
    names: list[str] = []
    for key, entry in _table().items():
        if entry.kind == "derived":  # a limit on computed quantities, not a key to write
            continue
        if own is not None and key.startswith(own):
            rest = key[len(own) :]
        elif others and key.startswith(others):
            continue
        elif key.startswith(base):
            rest = key[len(base) :]
        else:
            continue
        name = rest.split(".", 1)[0]
        if name not in names:
            names.append(name)
    return tuple(names)


def entry_for(section: str, name: str, variant: str | None = None) -> Bound | None:
    """The entry of key ``name`` in ``section`` (its variant's first), or None for a
    sub-section."""
    table = _table()
    keys = [f"{section}.{name}" if section else name]
    if variant is not None:
        keys.insert(0, f"{section}.{variant}.{name}")
    return next((table[key] for key in keys if key in table), None)


def _variant_choices(section: str) -> tuple[str, ...]:
    choice = variant_key(section)
    return bound(f"{section}.{choice}").choices if choice else ()


@dataclass(frozen=True)
class _Check:
    attr: str
    bound: Bound
    none_ok: bool


@cache
def _spec(cls: type, sections: tuple[str, ...]) -> tuple[_Check, ...]:
    """The checks of a value-object class: every field with an entry in ``sections``
    (searched in order, so a modality's entry comes before the common one)."""
    table = _table()
    checks = []
    for spec in fields(cls):
        keys = (f"{section}.{spec.name}" if section else spec.name for section in sections)
        entry = next((table[key] for key in keys if key in table), None)
        if entry is None or entry.kind in ("numbers", "derived"):
            continue
        checks.append(_Check(spec.name, entry, spec.default is None))
    return tuple(checks)


def validate(obj: object, where: str, *sections: str) -> None:
    """Check every field of the value object ``obj`` against its entry in the table.

    ``sections``: the table sections that hold the object's entries (default ``where``);
    errors name the field ``where.name`` (the parser replaces ``where`` by the path the
    user wrote, e.g. ``phase[2]``). A field whose default is None may be None."""
    cls: Any = type(obj)
    for check in _spec(cls, sections if sections else (where,)):
        value = getattr(obj, check.attr)
        if value is None and check.none_ok:
            continue
        entry = check.bound
        field = f"{where}.{check.attr}" if where else check.attr
        if entry.kind == "number":
            high = getattr(obj, entry.high_key) if entry.high_key else None
            # The common case first: a float within fixed limits, without the call.
            if (
                type(value) is float
                and high is None
                and not entry.low_open
                and not entry.high_open
                and entry.low is not None
                and entry.high is not None
                and entry.low <= value <= entry.high
            ):
                continue
            entry.check(field, value, high)
        elif entry.kind == "flag":
            if not isinstance(value, bool):
                raise entry.error(field, value)
        elif entry.kind == "text":
            if not isinstance(value, str) or (entry.required and not value.strip()):
                raise entry.error(field, value)
        elif entry.kind == "choice" and entry.choices and value not in entry.choices:
            raise entry.error(field, value)


# ---------------------------------------------------------------- documentation
def _display_key(entry: Bound) -> str:
    parts = entry.key.split(".")
    if entry.kind == "derived":
        return f"[{'.'.join(parts[:-1])}] *{parts[-1]}* (not a key: {entry.default_text})"
    if len(parts) == 3 and variant_key(parts[0]) and parts[0] not in arrays():
        return f"[{parts[0]}] {parts[1]}: `{parts[2]}`"
    for array in sorted(arrays(), key=len, reverse=True):
        prefix = array.split(".")
        if parts[: len(prefix)] == prefix:
            rest = parts[len(prefix) :]
            section = f"[[{array}]]"
            break
    else:
        section = f"[{'.'.join(parts[:-1])}]" if len(parts) > 1 else ""
        rest = parts[-1:]
    if len(rest) == 2:  # a variant's key: phase.cold-air.air_speed_m_s
        return f"{section} {rest[0]}: `{rest[1]}`"
    if entry.kind == "numbers":
        return f"`[{entry.key}]` (layer name = thickness)"
    return f"{section} `{rest[0]}`".strip()


def _display_default(entry: Bound) -> str:
    if entry.kind == "derived":
        return ""
    if entry.required:
        return "required"
    if entry.default_text:
        return entry.default_text
    value = entry.default
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _g(value)
    if isinstance(value, str):
        return f'"{value}"'
    return ""


def _display_allowed(entry: Bound) -> str:
    if entry.kind == "derived":
        return entry.allowed().removeprefix("a number ")
    if entry.kind == "choice" and entry.choices:
        return ", ".join(f'`"{choice}"`' for choice in entry.choices)
    if entry.kind in ("number", "numbers"):
        high = f"`{entry.high_key}`" if entry.high_key else None
        words = entry.allowed()
        if high is not None:
            words = words + f" and <= {high}"
        return words.removeprefix("a number ")
    return entry.allowed()


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def rows() -> Iterator[tuple[str, str, str, str, str]]:
    """(key, unit, allowed, default, source) of every entry, as the documentation shows them."""
    for entry in all_bounds():
        yield (
            _display_key(entry),
            entry.unit,
            _display_allowed(entry),
            _display_default(entry),
            entry.source,
        )


def markdown() -> str:
    """The "Keys" table of docs/case-file.md."""
    lines = [
        "| key | unit | allowed | default | source |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows()]
    return "\n".join(lines) + "\n"
