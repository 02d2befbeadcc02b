"""Sourced tables shipped with the package.

Every table is a TOML file beside this module. Every row that carries a number carries a
``source`` (and, where the evidence is weak, an ``evidence`` note saying so). This package
imports nothing else of cryoderm: it is the leaf every layer may read.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_table(name: str) -> dict[str, Any]:
    """The parsed TOML table ``name`` (without ``.toml``), cached for the process."""
    text = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)
