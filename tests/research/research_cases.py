"""Cases shared by the research tests: small and on the engine's fast (linear) path."""

from __future__ import annotations

from cryoderm.physics.case import Case
from cryoderm.physics.casefile import parse_case


def convective_case(h_w_m2k: float = 60.0, duration_s: float = 120.0) -> Case:
    """Cheek (woman, 45) under -30 C gas for ``duration_s``, then 60 s of room air."""
    return parse_case(
        {
            "format": "cryoderm-case/1",
            "title": "cheek, convective -30 C",
            "tissue": {"zone": "cheek", "sex": "female", "age_years": 45},
            "phase": [
                {
                    "modality": "convective",
                    "gas_temp_c": -30.0,
                    "heat_transfer_w_m2k": h_w_m2k,
                    "duration_s": duration_s,
                },
                {"modality": "ambient", "duration_s": 60.0},
            ],
            "output": {
                "sample_every_s": 2.0,
                "probe": [
                    {"name": "surface", "depth_mm": 0.0},
                    {"name": "dermis-fat", "depth_mm": 1.0},
                ],
            },
        }
    )
