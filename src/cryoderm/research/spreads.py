"""The sourced spreads of a case, as study parameters: one table for studies and planning.

Every spread of ``data/spreads.toml`` that acts on the case (physics.spreads.spreads_for:
thicknesses, dermal perfusion, the deep boundary, the local-cold law, contact conductance,
the cold-air and LN2 device assumptions) becomes a :class:`~.parameters.Parameter` keyed
``spread:<name>``, with the table's distribution, source and rule for applying a value. The
planner's prediction intervals (physics.intervals) draw from the same table.
"""

from __future__ import annotations

from cryoderm.physics.case import Case
from cryoderm.physics.spreads import spreads_for
from cryoderm.research.parameters import SPREAD_PREFIX, Parameter, SpreadQuantiles


def case_spreads(case: Case) -> list[Parameter]:
    """A parameter for every sourced spread that acts on ``case``, in the table's order."""
    return [
        Parameter(
            SPREAD_PREFIX + spread.name,
            SpreadQuantiles(spread, case),
            f"{spread.source} (evidence {spread.evidence})",
            label=spread.name,
        )
        for spread in spreads_for(case)
    ]
