"""The contact modalities as the studies applied them (physics/applicators.py): a melting
crushed-ice pack of its stated mass, frozen peas from the freezer, ice through a dry towel,
against the skin temperatures measured under them.

The crushed-ice pack's contact conductance was calibrated once on a 0 C surface
(kanlayanaphotporn-2005-pack-types); here the pack is the melting slab itself, of the mass
the studies used, so the check is that the slab (latent heat, melt water that mixes, its
mass) keeps the calibrated skin temperature, and that the barrier and the peas, which were
not calibrated, land within the measured spread (tolerance: 1 SD of each study)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import cryoderm

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from validation import model  # noqa: E402

# Tsang1997: 0.68 kg of ice for 30 min, skin at 30 min bare and through a dry towel (mean,
# SD; n = 9). The site's fat is not reported: 6 mm (assumption, a young adult's limb).
TSANG_BARE_C, TSANG_BARE_SD = 12.50, 4.39
TSANG_TOWEL_C, TSANG_TOWEL_SD = 23.48, 2.88


def _target(name: str) -> dict:
    return next(t for t in model.measurements()["target"] if t["id"] == name)


def _skin_at_end(fat_mm: float, phase: dict) -> float:
    case = model.build(model.limb_tissue(fat_mm), [phase], sample_every_s=30.0)
    result = cryoderm.simulate(case)
    assert result.ok, result.message
    return float(result.probes["surface"][-1])


def _pack(**keys: object) -> dict:
    return {"modality": "contact", "applicator_temp_c": 0.0, **keys}


def test_a_melting_crushed_ice_pack_of_its_mass_keeps_the_calibrated_skin_temperature() -> None:
    target = _target("kanlayanaphotporn-2005-pack-types")
    fat = target["model"]["fat_mm"]
    # A 0.75 kg bag over 450 cm2 (Otte2002's 750 g bag; area: assumption).
    skin = _skin_at_end(
        fat,
        _pack(applicator="crushed-ice-pack", mass_kg=0.75, area_cm2=450.0, duration_s=1200.0),
    )
    assert skin == pytest.approx(target["value"], abs=target["spread"])  # measured 10.06 C


def test_frozen_peas_from_the_freezer_land_within_the_measured_spread() -> None:
    target = _target("chesterton-2002-peas-gel")
    skin = _skin_at_end(
        target["model"]["fat_mm"],
        _pack(
            applicator="frozen-peas",
            applicator_temp_c=-18.0,  # a home freezer (assumption)
            mass_kg=0.454,
            area_cm2=300.0,
            duration_s=1200.0,
        ),
    )
    assert skin == pytest.approx(target["value"], abs=target["spread"])  # measured 12.92 C


def test_a_dry_towel_barrier_keeps_the_skin_as_warm_as_measured() -> None:
    def ice(**barrier: object) -> float:
        return _skin_at_end(
            6.0,
            _pack(
                applicator="crushed-ice-pack",
                mass_kg=0.68,
                area_cm2=400.0,
                duration_s=1800.0,
                **barrier,
            ),
        )

    bare, towel = ice(), ice(barrier="towel-dry")
    assert bare == pytest.approx(TSANG_BARE_C, abs=TSANG_BARE_SD)  # measured 10.0 C
    assert towel == pytest.approx(TSANG_TOWEL_C, abs=TSANG_TOWEL_SD)  # measured 23.9 C
