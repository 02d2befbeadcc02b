"""Built-in facial zones: layered tissue from the sourced table ``data/tissue.toml``.

A zone is four layers, surface first: epidermis, dermis, subcutaneous fat and a deep layer
(muscle or bone) above the fixed core temperature. Thicknesses come from facial ultrasound,
histology and cadaver studies (Meng2022, Chopra2015, Kim2019, Iyengar2018), properties
from the IT'IS database and the layered bioheat literature (Hasgall2018, Jiang2002; data/tissue.toml).

Refinements, where the data support them:
- sex: the dermis is the female or male mean of Meng2022; without a sex, their mean.
- age (with a sex): the dermis thins at the zones and sexes where Meng2022 found thinning
  with age, at a rate borrowed from arm histology (an assumption the table states).

Every number carries its source and an evidence marker (S, V, D, I, A; see the table's header).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from cryoderm.data import load_table
from cryoderm.physics.bounds import bound, default
from cryoderm.physics.case import Blood, Layer, Tissue
from cryoderm.physics.errors import InvalidInput

SEXES = ("female", "male")
PROPERTY_KEYS = (
    "conductivity_w_mk",
    "density_kg_m3",
    "specific_heat_j_kgk",
    "perfusion_per_s",
    "metabolic_w_m3",
)


@dataclass(frozen=True)
class Sourced:
    """One number from the tissue table with its provenance.

    evidence: S seen in the source, V restated from the source, D derived here, I interpolated
    or borrowed from the nearest measured site, A an assumption (see data/tissue.toml).
    """

    name: str
    value: float
    source: str
    evidence: str


@dataclass(frozen=True)
class ZoneLayer:
    """One layer of a built-in zone: thickness by sex (mm) and its material's properties."""

    name: str
    thickness_female_mm: float
    thickness_male_mm: float
    thickness_source: str
    thickness_evidence: str
    properties: tuple[Sourced, ...]

    @property
    def thickness_mean_mm(self) -> float:
        return (self.thickness_female_mm + self.thickness_male_mm) / 2.0


@dataclass(frozen=True)
class ZoneInfo:
    """A built-in facial zone: identifier, readable label, layers surface first with sources.

    age_thinning: the sexes whose dermis is refined by age here (Meng2022).
    deep_note: what the deep layer stands for anatomically.
    """

    name: str
    label: str
    layers: tuple[ZoneLayer, ...]
    age_thinning: tuple[str, ...]
    deep_note: str


def _table() -> dict[str, Any]:
    return load_table("tissue")


def _sourced(name: str, entry: Mapping[str, Any]) -> Sourced:
    return Sourced(name, float(entry["value"]), str(entry["source"]), str(entry["evidence"]))


def _material(material: str) -> tuple[Sourced, ...]:
    rows = _table()["material"][material]
    return tuple(_sourced(key, rows[key]) for key in PROPERTY_KEYS)


def _thickness_layer(name: str, entry: Mapping[str, Any], material: str) -> ZoneLayer:
    if "value" in entry:
        female = male = float(entry["value"])
    else:
        female, male = float(entry["female"]), float(entry["male"])
    return ZoneLayer(
        name=name,
        thickness_female_mm=female,
        thickness_male_mm=male,
        thickness_source=str(entry["source"]),
        thickness_evidence=str(entry["evidence"]),
        properties=_material(material),
    )


@cache
def _zones() -> dict[str, ZoneInfo]:
    table = _table()
    defaults = table["defaults"]
    zones: dict[str, ZoneInfo] = {}
    for name, row in table["zone"].items():
        deep = str(row["deep_layer"])
        layers = (
            _thickness_layer("epidermis", defaults["epidermis_mm"], "epidermis"),
            _thickness_layer("dermis", row["dermis_mm"], "dermis"),
            _thickness_layer("fat", row["fat_mm"], "fat"),
            # A zone may calibrate its own deep depth (tissue.toml, e.g. the cheek on V4).
            _thickness_layer(deep, row.get("deep_mm", defaults["deep_mm"]), deep),
        )
        zones[name] = ZoneInfo(
            name=name,
            label=str(row["label"]),
            layers=layers,
            age_thinning=tuple(row["age_thinning"]),
            deep_note=str(row["deep_note"]),
        )
    return zones


def list_zones() -> list[ZoneInfo]:
    """Every built-in zone, in the table's order."""
    return list(_zones().values())


def zone_names() -> list[str]:
    return list(_zones())


def age_rule() -> dict[str, Sourced]:
    """The age refinement's parameters (rate per decade, reference and allowed ages)."""
    return {key: _sourced(key, entry) for key, entry in _table()["age"].items()}


def default_blood() -> Blood:
    """Blood properties for the Pennes term, from the sourced table."""
    blood = _table()["blood"]
    return Blood(
        density_kg_m3=float(blood["density_kg_m3"]["value"]),
        specific_heat_j_kgk=float(blood["specific_heat_j_kgk"]["value"]),
    )


def zone_info(zone: str) -> ZoneInfo:
    """The named zone; InvalidInput naming the allowed zones otherwise."""
    zones = _zones()
    if zone not in zones:
        raise InvalidInput("tissue.zone", zone, f"one of the built-in zones: {', '.join(zones)}")
    return zones[zone]


def _dermis_age_factor(info: ZoneInfo, sex: str | None, age_years: float | None) -> float:
    if age_years is None:
        return 1.0
    rule = age_rule()
    low, high = rule["min_age_years"].value, rule["max_age_years"].value
    if not low <= age_years <= high:
        raise InvalidInput(
            "tissue.age_years",
            age_years,
            f"between {low:g} and {high:g} (the zone tables are from adults)",
            "years",
        )
    if sex is None or sex not in info.age_thinning:
        return 1.0
    decades = (age_years - rule["reference_age_years"].value) / 10.0
    return 1.0 + rule["dermis_change_per_decade"].value * decades


def tissue_for_zone(
    zone: str,
    *,
    sex: str | None = None,
    age_years: float | None = None,
    core_temp_c: float = default("tissue.core_temp_c"),
    arterial_temp_c: float = default("tissue.arterial_temp_c"),
    thickness_overrides_mm: Mapping[str, float] | None = None,
) -> Tissue:
    """The layered tissue of a built-in facial zone, refined by sex and age.

    sex: "female", "male" or None (the mean of both). age_years: 18-90, refines the dermis
    where Meng2022 found thinning with age for that sex (None: the table's mean adult).
    thickness_overrides_mm: layer name -> thickness in mm (limits: data/bounds.toml), applied last.
    Raises InvalidInput for an unknown zone, sex, age out of range or a bad override.
    """
    info = zone_info(zone)
    if sex is not None and sex not in SEXES:
        raise InvalidInput("tissue.sex", sex, f"one of: {', '.join(SEXES)}")
    dermis_factor = _dermis_age_factor(info, sex, age_years)
    overrides = dict(thickness_overrides_mm or {})
    names = [layer.name for layer in info.layers]
    for name, value in overrides.items():
        if name not in names:
            raise InvalidInput(
                f"tissue.thickness_mm.{name}",
                value,
                f"a layer of zone {zone!r}: {', '.join(names)}",
                "mm",
            )
        bound("tissue.thickness_mm").check(f"tissue.thickness_mm.{name}", value)
    layers = []
    for zone_layer in info.layers:
        if sex == "female":
            thickness = zone_layer.thickness_female_mm
        elif sex == "male":
            thickness = zone_layer.thickness_male_mm
        else:
            thickness = zone_layer.thickness_mean_mm
        if zone_layer.name == "dermis":
            thickness *= dermis_factor
        thickness = overrides.get(zone_layer.name, thickness)
        props = {p.name: p.value for p in zone_layer.properties}
        layers.append(
            Layer(
                name=zone_layer.name,
                thickness_mm=thickness,
                conductivity_w_mk=props["conductivity_w_mk"],
                density_kg_m3=props["density_kg_m3"],
                specific_heat_j_kgk=props["specific_heat_j_kgk"],
                perfusion_per_s=props["perfusion_per_s"],
                metabolic_w_m3=props["metabolic_w_m3"],
            )
        )
    typed_sex: Literal["female", "male"] | None = (
        "female" if sex == "female" else "male" if sex == "male" else None
    )
    return Tissue(
        layers=tuple(layers),
        core_temp_c=core_temp_c,
        arterial_temp_c=arterial_temp_c,
        blood=default_blood(),
        zone=zone,
        sex=typed_sex,
        age_years=age_years,
    )
