"""cryoderm: safe, evidence-based facial cryotherapy.

The Python API of the thermal engine::

    import cryoderm
    case = cryoderm.load_case("cheek.toml")
    result = cryoderm.simulate(case)          # a frozen SimulationResult
    results = cryoderm.simulate_many(cases)   # the batched path
    engine = cryoderm.Engine(threads=1)       # an engine of its own (caches, threads)
    result.to_dataframe(), result.to_xarray()  # tidy outputs (pandas, xarray)
    cryoderm.sensitivity(case)                # Morris and Sobol over the sourced spreads
    cryoderm.fit(case, traces, ["h"])         # parameters from measured traces

Names are imported lazily so that ``import cryoderm`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "Engine",
    "Parameter",
    "fit",
    "load_case",
    "morris",
    "parse_case",
    "sensitivity",
    "simulate",
    "simulate_many",
    "sobol",
]

if TYPE_CHECKING:
    from os import PathLike

    from cryoderm.physics.case import Case
    from cryoderm.physics.casefile import parse_case
    from cryoderm.physics.engine import Engine, simulate, simulate_many

_LAZY = {
    "Engine": "cryoderm.physics.engine",
    "parse_case": "cryoderm.physics.casefile",
    "simulate": "cryoderm.physics.engine",
    "simulate_many": "cryoderm.physics.engine",
    "morris": "cryoderm.research.sensitivity",
    "sobol": "cryoderm.research.sensitivity",
    "Parameter": "cryoderm.research.parameters",
    "fit": "cryoderm.research.fitting",
}
# cryoderm.sensitivity(case, ...) is research.sensitivity.study.
_RENAMED = {"sensitivity": ("cryoderm.research.sensitivity", "study")}


def load_case(path: str | PathLike[str]) -> Case:
    """Read and validate a case file (docs/case-file.md); raises InvalidInput on bad input.

    The file is read here, at the edge; :func:`parse_case` (pure) does the rest."""
    from pathlib import Path

    from cryoderm.physics.casefile import parse_case_text

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        from cryoderm.physics.errors import InvalidInput

        raise InvalidInput("case file", str(path), f"cannot be read ({error.strerror})") from None
    except UnicodeDecodeError:
        from cryoderm.physics.errors import InvalidInput

        raise InvalidInput("case file", str(path), "must be UTF-8 text (TOML)") from None
    return parse_case_text(text, source=str(path))


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _RENAMED:
        module, attribute = _RENAMED[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'cryoderm' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
