"""Compile and cache every kernel of the engine: ``python -m cryoderm.physics.warmup``.

numba stores the machine code on disk (cache=True), so later processes load it instead of
compiling; ``make setup`` runs this once. It runs tiny cases through every kernel path:
one case and a shared batch, linear and nonlinear, with and without an applicator and full field,
and axisymmetric spots (linear, general with the field, an applicator's footprint).
"""

from __future__ import annotations

import sys
import time

from cryoderm.physics.case import (
    Case,
    ContactPhase,
    ConvectivePhase,
    Freezing,
    Geometry,
    Layer,
    Output,
    Perfusion,
    Tissue,
)
from cryoderm.physics.engine import SPLIT_FROM, simulate, simulate_many


def _cases() -> list[Case]:
    tissue = Tissue(
        layers=(
            Layer("epidermis", 0.1, 0.24, 1200, 3590),
            Layer("dermis", 1.0, 0.45, 1200, 3300, 1.25e-3, 368.0),
        )
    )
    cold = (ConvectivePhase(gas_temp_c=-30.0, heat_transfer_w_m2k=60.0, duration_s=4.0),)
    contact = (ContactPhase(applicator="ice", applicator_temp_c=-5.0, duration_s=4.0),)
    spot = (
        ConvectivePhase(
            gas_temp_c=-30.0,
            heat_transfer_w_m2k=60.0,
            duration_s=4.0,
            spot_profile="gaussian",
            spot_radius_mm=5.0,
        ),
    )
    stamp = (
        ContactPhase(
            applicator="ice",
            applicator_temp_c=-5.0,
            duration_s=4.0,
            spot_profile="top-hat",
            spot_radius_mm=5.0,
        ),
    )
    axisymmetric = Geometry(kind="axisymmetric")
    return [
        Case(tissue=tissue, phases=cold),
        Case(tissue=tissue, phases=spot, geometry=axisymmetric),
        Case(
            tissue=tissue,
            phases=spot,
            perfusion=Perfusion(model="local-cold"),
            output=Output(full_field=True),
            geometry=axisymmetric,
        ),
        Case(tissue=tissue, phases=stamp, geometry=axisymmetric),
        Case(
            tissue=tissue,
            phases=cold,
            perfusion=Perfusion(model="local-cold"),
            freezing=Freezing(enabled=True),
            output=Output(full_field=True),
        ),
        Case(tissue=tissue, phases=contact),
    ]


def main() -> int:
    start = time.perf_counter()
    for case in _cases():
        result = simulate(case)
        if not result.ok:
            print(f"warm-up case failed: {result.message}", file=sys.stderr)
            return 1
        simulate_many([case] * SPLIT_FROM)
    print(f"cryoderm kernels compiled and cached in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
