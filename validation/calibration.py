"""The calibration study: which depth of the deep boundary and which vasoconstriction floor
make the face as insulating as measured in cold air?

Two independent facial datasets constrain it (data/measurements.toml): the cheek tissue
resistance of Osczevski 1994 (V4) and the face temperatures of Gavhed 2000 (V2) after 30 min
in -10 C wind. The limb vasoconstriction data (Hodges, Khoshnevis) fix the law's scale and
memory and do not depend on the facial depth. ``python -m validation.calibration`` prints
the grid; docs/validation.md quotes it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cryoderm.physics.engine import simulate_many
from validation import model as m

DEEP_LAYER = {"cheek": "muscle", "nose": "bone", "forehead": "bone"}
DEEP_MM = (6.0, 10.0, 15.0, 20.0, 30.0)
FLOORS = (0.1, 0.05)


def _tissue(zone: str, deep_mm: float) -> dict[str, Any]:
    return {"zone": zone, "thickness_mm": {DEEP_LAYER[zone]: deep_mm}}


def study(
    deep_values: tuple[float, ...] = DEEP_MM, floors: tuple[float, ...] = FLOORS
) -> list[dict[str, float]]:
    """One row per (deep_mm, floor): peak cheek resistance at 10-15 C and 30-min face temperatures."""
    osc = m.target("osczevski-1994-cheek-resistance")["model"]
    gav = m.target("gavhed-2000-face-wind")["model"]
    runs = [(air, h) for air in osc["air_temps_c"] for h in osc["h_w_m2k"]]
    cases = []
    for deep in deep_values:
        for floor in floors:
            law = {"model": "local-cold", "floor_fraction": floor}
            for air, h in runs:
                cases.append(
                    m.build(
                        _tissue("cheek", deep),
                        [m.convective(air, h, osc["duration_s"])],
                        perfusion=law,
                        sample_every_s=30.0,
                    )
                )
            for zone in gav["zones"]:
                wind = {
                    "modality": "cold-air",
                    "gas_temp_c": gav["air_temp_c"],
                    "air_speed_m_s": 5.0,
                    "radiant_temp_c": gav["air_temp_c"],
                    "duration_s": gav["duration_s"],
                }
                cases.append(
                    m.build(_tissue(zone, deep), [wind], perfusion=law, sample_every_s=60.0)
                )
    results = iter(simulate_many(cases))
    low, high = osc["band_c"]
    rows = []
    for deep in deep_values:
        for floor in floors:
            peak = 0.0
            for air, h in runs:
                r = next(results)
                surface = np.asarray(r.probes["surface"])[1:]
                resistance = (37.0 - surface) / (h * (surface - air))
                band = resistance[(surface >= low) & (surface <= high)]
                if band.size:
                    peak = max(peak, float(band.max()))
            row = {"deep_mm": deep, "floor": floor, "cheek_resistance_m2k_w": peak}
            for zone in gav["zones"]:
                row[f"{zone}_5ms_30min_c"] = float(next(results).probes["surface"][-1])
            rows.append(row)
    return rows


def main() -> None:
    rows = study()
    print("deep_mm floor  R_cheek(10-15C)  nose  cheek  forehead   (V4: 0.07; V2 nose ~2 C)")
    for row in rows:
        print(
            f"{row['deep_mm']:7.0f} {row['floor']:5.2f}  {row['cheek_resistance_m2k_w']:15.4f} "
            f"{row['nose_5ms_30min_c']:5.1f} {row['cheek_5ms_30min_c']:6.1f} {row['forehead_5ms_30min_c']:8.1f}"
        )


if __name__ == "__main__":
    main()
