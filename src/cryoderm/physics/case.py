"""The inputs of one simulation, as frozen value objects.

A :class:`Case` is what a case file (docs/case-file.md) means once parsed: every zone
already resolved to explicit layers, every default already filled in from the sourced
tables. The solver consumes only this; it never reads files.

Every value object checks itself when it is built, against the one bounds table
(data/bounds.toml, :mod:`cryoderm.physics.bounds`): units, limits and defaults of every field
are defined there, and a value out of its limits raises
:class:`~cryoderm.physics.errors.InvalidInput` naming the field (``phase.duration_s``; the
case-file parser names it as written, ``phase[2].duration_s``), the value, its unit and what
is allowed.

Units: SI lengths are given in the unit named by the field (``thickness_mm``); temperatures
are absolute in degrees C; perfusion is volumetric blood flow per tissue volume in 1/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from cryoderm.data import load_table
from cryoderm.physics import jets
from cryoderm.physics.bounds import bound, default, validate
from cryoderm.physics.errors import MISSING, InvalidInput

CUSTOM_APPLICATOR = "custom"
# What a custom applicator must state: the material's properties and its slab and contact.
CUSTOM_REQUIRED = (
    "conductivity_w_mk",
    "density_kg_m3",
    "specific_heat_j_kgk",
    "thickness_mm",
    "contact_conductance_w_m2k",
)


@cache
def applicator_names() -> tuple[str, ...]:
    """The named applicator materials of data/exposures.toml, then "custom"."""
    return (*load_table("exposures")["applicator"], CUSTOM_APPLICATOR)


@cache
def barrier_names() -> tuple[str, ...]:
    """ "none", then the barrier layers of data/exposures.toml."""
    return ("none", *load_table("exposures").get("barrier", {}))


@dataclass(frozen=True)
class Layer:
    """One tissue layer, surface first.

    perfusion_per_s: volumetric blood perfusion (m3 blood / m3 tissue / s), basal value.
    metabolic_w_m3: basal metabolic heat.
    water_fraction: the water mass fraction that freezes (None: the tissue of that name in
    data/freezing.toml, else its default).
    """

    name: str
    thickness_mm: float
    conductivity_w_mk: float
    density_kg_m3: float
    specific_heat_j_kgk: float
    perfusion_per_s: float = default("tissue.layer.perfusion_per_s")
    metabolic_w_m3: float = default("tissue.layer.metabolic_w_m3")
    water_fraction: float | None = None

    def __post_init__(self) -> None:
        validate(self, "tissue.layer")


@dataclass(frozen=True)
class Blood:
    """Blood properties used by the Pennes term (defaults: data/tissue.toml [blood])."""

    density_kg_m3: float = default("tissue.blood.density_kg_m3")
    specific_heat_j_kgk: float = default("tissue.blood.specific_heat_j_kgk")

    def __post_init__(self) -> None:
        validate(self, "tissue.blood")


@dataclass(frozen=True)
class Tissue:
    """A layered skin site: layers surface first, a fixed-temperature deep boundary.

    zone, sex and age_years record where the layers came from (None for explicit layers).
    """

    layers: tuple[Layer, ...]
    core_temp_c: float = default("tissue.core_temp_c")
    arterial_temp_c: float = default("tissue.arterial_temp_c")
    blood: Blood = field(default_factory=Blood)
    zone: str | None = None
    sex: Literal["female", "male"] | None = None
    age_years: float | None = None

    def __post_init__(self) -> None:
        if not self.layers:
            raise InvalidInput("tissue.layer", MISSING, "at least one [[tissue.layer]] is required")
        validate(self, "tissue")

    @property
    def depth_mm(self) -> float:
        return sum(layer.thickness_mm for layer in self.layers)


@dataclass(frozen=True)
class Perfusion:
    """How blood perfusion responds to local temperature.

    model "constant": the layers' basal perfusion throughout.
    model "local-cold": local cold-induced vasoconstriction, omega = omega0 * max(floor,
    2**((T - reference_temp_c)/scale_k)) with a first-order memory of time constant
    memory_s after rewarming (docs/physics.md section 4). None means the sourced default
    (data/perfusion.toml).
    """

    model: Literal["constant", "local-cold"] = default("perfusion.model")
    reference_temp_c: float | None = None
    scale_k: float | None = None
    floor_fraction: float | None = None
    memory_s: float | None = None

    def __post_init__(self) -> None:
        validate(self, "perfusion")


@dataclass(frozen=True)
class Freezing:
    """Latent heat and frozen properties below the tissue freezing point (docs/physics.md
    section 5; data/freezing.toml).

    enabled None: on wherever a heat source of the case is colder than the freezing point
    (freezing.decide). latent_heat_j_kg, frozen_conductivity_w_mk, frozen_specific_heat_j_kgk
    None: each layer's own, from its water (data/freezing.toml [tissue]); a value: every
    layer's."""

    enabled: bool | None = None
    freeze_point_c: float = default("freezing.freeze_point_c")
    latent_heat_j_kg: float | None = None
    frozen_conductivity_w_mk: float | None = None
    frozen_specific_heat_j_kgk: float | None = None

    def __post_init__(self) -> None:
        validate(self, "freezing")


@dataclass(frozen=True)
class SteadyInitial:
    """Start from the steady state under this ambient (before phase 1)."""

    ambient_temp_c: float = default("initial.steady.ambient_temp_c")
    heat_transfer_w_m2k: float = default("initial.steady.heat_transfer_w_m2k")

    def __post_init__(self) -> None:
        validate(self, "initial", "initial.steady")


@dataclass(frozen=True)
class UniformInitial:
    """Start from a uniform temperature."""

    temp_c: float = default("initial.uniform.temp_c")

    def __post_init__(self) -> None:
        validate(self, "initial", "initial.uniform")


Initial = SteadyInitial | UniformInitial


@dataclass(frozen=True)
class Spot:
    """Where a phase acts, in an axisymmetric case (docs/case-file.md, "Geometry"): on the
    whole surface (spot_profile None, the default) or on a spot around the axis.

    spot_profile "gaussian": the phase's heat transfer falls off as exp(-(r/spot_radius_mm)^2);
    "top-hat": it acts within spot_radius_mm only (a contact phase's footprint). The
    background, room air over the whole surface (spot included) at background_temp_c with
    background_heat_transfer_w_m2k, defaults to the room air of data/exposures.toml.
    Keyword-only, after each modality's own fields; a column case refuses them (Case)."""

    spot_profile: Literal["gaussian", "top-hat"] | None = field(default=None, kw_only=True)
    spot_radius_mm: float | None = field(default=None, kw_only=True)
    background_temp_c: float | None = field(default=None, kw_only=True)
    background_heat_transfer_w_m2k: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class ConvectivePhase(Spot):
    """A gas at gas_temp_c with a given total heat transfer coefficient."""

    gas_temp_c: float
    heat_transfer_w_m2k: float
    duration_s: float
    modality: Literal["convective"] = "convective"

    def __post_init__(self) -> None:
        validate(self, "phase", "phase.convective", "phase")


NOZZLE_KEYS = ("device", "setting", "nozzle_diameter_mm", "exit_speed_m_s")


@dataclass(frozen=True, kw_only=True)
class ColdAirPhase(Spot):
    """Cold air on the skin, as wind or from a nozzle, plus radiation.

    Wind: air_speed_m_s with the air at gas_temp_c; h from a facial forced-convection
    correlation (data/exposures.toml [cold_air]); radiation to radiant_temp_c (None: the air).
    Nozzle: nozzle_distance_mm from the skin, with a device and its setting (data/exposures.toml
    [cold_air_device]) and/or the nozzle's own nozzle_diameter_mm, exit_speed_m_s and exit
    air temperature gas_temp_c; h from the impinging-jet correlation of physics/jets.py, the
    air mixed with room air on its way, radiation to radiant_temp_c (None: the room).
    Keyword-only (the keys of the two ways are optional).
    """

    gas_temp_c: float | None = None
    air_speed_m_s: float | None = None
    duration_s: float
    radiant_temp_c: float | None = None
    nozzle_distance_mm: float | None = None
    device: str | None = None
    setting: float | None = None
    nozzle_diameter_mm: float | None = None
    exit_speed_m_s: float | None = None
    modality: Literal["cold-air"] = "cold-air"

    def __post_init__(self) -> None:
        validate(self, "phase", "phase.cold-air", "phase")
        if self.nozzle_distance_mm is None:
            self._check_wind()
        else:
            self._check_nozzle()

    @property
    def nozzle(self) -> bool:
        """Whether the air comes from a nozzle at a distance (else: wind)."""
        return self.nozzle_distance_mm is not None

    def _check_wind(self) -> None:
        for key in NOZZLE_KEYS:
            value = getattr(self, key)
            if value is not None:
                raise InvalidInput(
                    f"phase.{key}",
                    value,
                    "only with nozzle_distance_mm (a nozzle at a distance from the skin)",
                    bound(f"phase.cold-air.{key}").unit,
                )
        if self.air_speed_m_s is None:
            raise InvalidInput(
                "phase.air_speed_m_s",
                MISSING,
                "required for wind: the air speed at the face; for a cold-air device give "
                "nozzle_distance_mm (mm) with device and setting instead",
                "m/s",
            )
        if self.gas_temp_c is None:
            raise bound("phase.cold-air.gas_temp_c").missing("phase.gas_temp_c")

    def _check_nozzle(self) -> None:
        if self.air_speed_m_s is not None:
            raise InvalidInput(
                "phase.air_speed_m_s",
                self.air_speed_m_s,
                "not with nozzle_distance_mm: a nozzle's air speed is its exit_speed_m_s "
                "(or the device's setting)",
                "m/s",
            )
        assert self.nozzle_distance_mm is not None
        if self.device is None:
            for key in ("nozzle_diameter_mm", "exit_speed_m_s", "gas_temp_c"):
                if getattr(self, key) is None:
                    raise InvalidInput(
                        f"phase.{key}",
                        MISSING,
                        "required for a nozzle without a device (or give device and setting: "
                        f"one of {', '.join(jets.device_names())})",
                        bound(f"phase.cold-air.{key}").unit,
                    )
            nozzle = jets.Nozzle(
                diameter_mm=float(self.nozzle_diameter_mm),  # type: ignore[arg-type]
                distance_mm=float(self.nozzle_distance_mm),
                exit_speed_m_s=float(self.exit_speed_m_s),  # type: ignore[arg-type]
                exit_temp_c=float(self.gas_temp_c),  # type: ignore[arg-type]
            )
        else:
            if self.device not in jets.device_names():
                raise InvalidInput(
                    "phase.device", self.device, f"one of: {', '.join(jets.device_names())}"
                )
            if self.setting is None and self.exit_speed_m_s is None:
                raise bound("phase.cold-air.setting").missing("phase.setting")
            nozzle = jets.device_nozzle(
                self.device,
                float(self.setting) if self.setting is not None else math.nan,
                float(self.nozzle_distance_mm),
                "phase",
                diameter_mm=self.nozzle_diameter_mm,
                exit_speed_m_s=self.exit_speed_m_s,
                exit_temp_c=self.gas_temp_c,
            )
        jets.check_range(nozzle, "phase")


@dataclass(frozen=True)
class Ln2VapourPhase(Spot):
    """A liquid-nitrogen vapour wand swept over the skin: a periodic pulse train of cold gas.

    The gas temperature and heat transfer at the skin for a given distance are device
    assumptions (data/exposures.toml states their basis); None means that default.
    """

    distance_cm: float
    sweep_period_s: float
    dwell_s: float
    duration_s: float
    gas_temp_c: float | None = None
    heat_transfer_w_m2k: float | None = None
    modality: Literal["ln2-vapour"] = "ln2-vapour"

    def __post_init__(self) -> None:
        validate(self, "phase", "phase.ln2-vapour", "phase")


@dataclass(frozen=True)
class ContactPhase(Spot):
    """A cold applicator pressed on the skin: a finite body that warms up, through a contact conductance.

    applicator: a named material from data/exposures.toml, or "custom" with the
    properties given. thickness_mm: the applicator's effective thickness (finite body).
    """

    applicator: str
    applicator_temp_c: float
    duration_s: float
    conductivity_w_mk: float | None = None
    density_kg_m3: float | None = None
    specific_heat_j_kgk: float | None = None
    thickness_mm: float | None = None
    contact_conductance_w_m2k: float | None = None
    mass_kg: float | None = None
    area_cm2: float | None = None
    ice_fraction: float | None = None
    melt_water: Literal["stays", "mixes", "drains"] | None = None
    barrier: str | None = None
    barrier_thickness_mm: float | None = None
    contact_fraction: float = default("phase.contact.contact_fraction")
    stroke_period_s: float | None = None
    modality: Literal["contact"] = "contact"

    def __post_init__(self) -> None:
        names = applicator_names()
        if self.applicator not in names:
            raise InvalidInput("phase.applicator", self.applicator, f"one of: {', '.join(names)}")
        if self.applicator == CUSTOM_APPLICATOR:
            for key in CUSTOM_REQUIRED:
                if getattr(self, key) is None and not (
                    key == "thickness_mm" and self.mass_kg is not None
                ):
                    raise InvalidInput(
                        f"phase.{key}", MISSING, 'required for applicator = "custom"'
                    )
        barriers = barrier_names()
        if self.barrier is not None and self.barrier not in barriers:
            raise InvalidInput("phase.barrier", self.barrier, f"one of: {', '.join(barriers)}")
        validate(self, "phase", "phase.contact", "phase")
        _check_contact(self)


@dataclass(frozen=True)
class AmbientPhase(Spot):
    """Rewarming in room air."""

    ambient_temp_c: float = default("phase.ambient.ambient_temp_c")
    heat_transfer_w_m2k: float = default("phase.ambient.heat_transfer_w_m2k")
    duration_s: float = 600.0
    modality: Literal["ambient"] = "ambient"

    def __post_init__(self) -> None:
        validate(self, "phase", "phase.ambient", "phase")


def _check_contact(phase: ContactPhase) -> None:
    """The combinations of a contact phase's keys (each key's own limits are the bounds
    table's): a pack by mass needs its area and no thickness; ice fraction and melt water
    only for a melting applicator, ice only at or below its melting point; a barrier's
    thickness only with a barrier; a stroke period exactly when the contact is partial."""
    material = load_table("exposures")["applicator"].get(phase.applicator, {})
    if (phase.mass_kg is None) != (phase.area_cm2 is None):
        given, absent = (
            ("mass_kg", "area_cm2") if phase.area_cm2 is None else ("area_cm2", "mass_kg")
        )
        raise InvalidInput(
            f"phase.{given}",
            getattr(phase, given),
            f"a pack by mass needs both mass_kg and area_cm2 ({absent} is missing)",
            bound(f"phase.contact.{given}").unit,
        )
    if phase.mass_kg is not None and phase.area_cm2 is not None:
        if phase.thickness_mm is not None:
            raise InvalidInput(
                "phase.thickness_mm",
                phase.thickness_mm,
                "give either thickness_mm or mass_kg with area_cm2, not both",
                "mm",
            )
        density = (
            phase.density_kg_m3
            if phase.density_kg_m3 is not None
            else material.get("density_kg_m3")
        )
        assert density is not None  # custom requires it
        thickness = phase.mass_kg / (density * phase.area_cm2 * 1e-4) * 1e3
        limit = bound("phase.contact.thickness_mm")
        if not limit.within(thickness):
            raise InvalidInput(
                "phase.mass_kg",
                phase.mass_kg,
                f"spread over {phase.area_cm2:g} cm² at {density:g} kg/m³ it is "
                f"{thickness:.3g} mm thick; the pack's thickness must be {limit.allowed()} mm",
                "kg",
            )
    melting = material.get("melting_point_c")
    for key in ("ice_fraction", "melt_water"):
        if getattr(phase, key) is not None and melting is None:
            raise InvalidInput(
                f"phase.{key}",
                getattr(phase, key),
                "only for an applicator that melts (ice, crushed-ice-pack, ice-water-bag, "
                f"frozen-peas, ice-massage); {phase.applicator!r} does not",
            )
    if melting is not None:
        fraction = (
            phase.ice_fraction
            if phase.ice_fraction is not None
            else float(material.get("ice_fraction", 1.0))
        )
        temp = phase.applicator_temp_c
        if temp > melting and fraction > 0.0:
            raise InvalidInput(
                "phase.applicator_temp_c",
                temp,
                f"{phase.applicator} melts at {melting:g} °C: above it there is no ice "
                f"(at most {melting:g} °C; ice_fraction = 0 for melt water alone)",
                "°C",
            )
        if temp < melting and fraction < 1.0:
            raise InvalidInput(
                "phase.ice_fraction",
                fraction,
                f"below its melting point ({melting:g} °C) {phase.applicator} is all ice: "
                "an ice fraction below 1 only at the melting point",
            )
    if phase.barrier_thickness_mm is not None and phase.barrier in (None, "none"):
        raise InvalidInput(
            "phase.barrier_thickness_mm",
            phase.barrier_thickness_mm,
            "only with a barrier (cloth-dry, cloth-wet, towel-dry, towel-wet, film)",
            "mm",
        )
    moving = phase.contact_fraction < 1.0
    if moving and phase.stroke_period_s is None:
        entry = bound("phase.contact.stroke_period_s")
        raise InvalidInput(
            "phase.stroke_period_s",
            MISSING,
            f"required with contact_fraction < 1 (a moving applicator): {entry.allowed()}",
            entry.unit,
        )
    if moving and phase.stroke_period_s is not None:
        strokes = math.ceil(phase.duration_s / phase.stroke_period_s - 1e-9)
        most = bound("phase.contact.strokes").high
        if most is not None and strokes > most:
            raise InvalidInput(
                "phase.stroke_period_s",
                phase.stroke_period_s,
                f"gives {strokes} strokes over {phase.duration_s:g} s, more than {most:g}; "
                "split the treatment into phases or stroke less often",
                "s",
            )
    if not moving and phase.stroke_period_s is not None:
        raise InvalidInput(
            "phase.stroke_period_s",
            phase.stroke_period_s,
            "only with contact_fraction < 1 (a moving applicator)",
            "s",
        )


Phase = ConvectivePhase | ColdAirPhase | Ln2VapourPhase | ContactPhase | AmbientPhase


@dataclass(frozen=True)
class Probe:
    """A named depth below the skin surface at which the output series is sampled; in an
    axisymmetric case also a radius from the spot's axis (None: on the axis)."""

    name: str
    depth_mm: float
    radius_mm: float | None = None

    def __post_init__(self) -> None:
        validate(self, "output.probe")


@dataclass(frozen=True)
class Output:
    """The time grid of the output series and the probes. full_field: also return T(x, t)."""

    sample_every_s: float = default("output.sample_every_s")
    probes: tuple[Probe, ...] = (Probe("surface", 0.0),)
    full_field: bool = default("output.full_field")

    def __post_init__(self) -> None:
        validate(self, "output")
        seen: set[str] = set()
        for index, probe in enumerate(self.probes, 1):
            if probe.name in seen:
                raise InvalidInput(
                    f"output.probe[{index}].name", probe.name, "a name not used by another probe"
                )
            seen.add(probe.name)


@dataclass(frozen=True)
class Geometry:
    """The shape of the tissue: "column" (1-D: layers under a uniform surface condition) or
    "axisymmetric" (2-D: a cylinder of the same layers, radius_mm, around the axis of the
    phases' spots; its side wall is adiabatic)."""

    kind: Literal["column", "axisymmetric"] = default("geometry.kind")
    radius_mm: float = default("geometry.radius_mm")

    def __post_init__(self) -> None:
        validate(self, "geometry")

    @property
    def axisymmetric(self) -> bool:
        return self.kind == "axisymmetric"


@dataclass(frozen=True)
class Numerics:
    """Resolution of the solver, as divisors of its default grid spacing and time steps.

    1 is the default (0.01 K on the R1 benchmark, docs/physics.md); 2 halves every cell and
    every step. radial_refinement further divides the radial spacing of an axisymmetric
    case (space_refinement divides both). Used by convergence studies; limits in
    data/bounds.toml."""

    space_refinement: float = default("numerics.space_refinement")
    time_refinement: float = default("numerics.time_refinement")
    radial_refinement: float = default("numerics.radial_refinement")

    def __post_init__(self) -> None:
        validate(self, "numerics")


@dataclass(frozen=True)
class Case:
    """One cold exposure of one skin site: everything the solver needs, nothing it must look up."""

    tissue: Tissue
    phases: tuple[Phase, ...]
    perfusion: Perfusion = field(default_factory=Perfusion)
    freezing: Freezing = field(default_factory=Freezing)
    initial: Initial = field(default_factory=SteadyInitial)
    output: Output = field(default_factory=Output)
    title: str = default("title")
    numerics: Numerics = field(default_factory=Numerics)
    geometry: Geometry = field(default_factory=Geometry)

    def __post_init__(self) -> None:
        if not self.phases:
            raise InvalidInput("phase", MISSING, "at least one [[phase]] is required")
        validate(self, "")
        _check_geometry(self)
        depth = self.tissue.depth_mm
        limit = bound("output.probe.depth_mm")
        for index, probe in enumerate(self.output.probes, 1):
            if probe.depth_mm > depth:
                raise limit.error(f"output.probe[{index}].depth_mm", probe.depth_mm, depth)
        sample = self.output.sample_every_s
        count = output_count(self.duration_s, sample)
        most = bound("output.samples").high
        if most is not None and count > most:
            raise InvalidInput(
                "output.sample_every_s",
                sample,
                f"gives {count} output times over {self.duration_s:g} s, more than {most:g}; "
                "sample less often",
                "s",
            )

    @property
    def duration_s(self) -> float:
        return sum(phase.duration_s for phase in self.phases)


def output_count(duration_s: float, sample_every_s: float) -> int:
    """How many output times a case of this duration and sampling has (the start, every
    sample_every_s, and the end when it falls between samples)."""
    count = math.floor(duration_s / sample_every_s + 1e-9) + 1
    return count + 1 if duration_s - (count - 1) * sample_every_s > 1e-9 else count


SPOT_KEYS = (
    "spot_profile",
    "spot_radius_mm",
    "background_temp_c",
    "background_heat_transfer_w_m2k",
)


def _check_geometry(case: Case) -> None:
    """Spots and probe radii only in an axisymmetric case; a spot needs its radius; the
    background only with a spot; probes within the tissue's radius."""
    axisymmetric = case.geometry.axisymmetric
    needs = 'only with [geometry] kind = "axisymmetric"'
    for index, phase in enumerate(case.phases, 1):
        where = f"phase[{index}]"
        given = [key for key in SPOT_KEYS if getattr(phase, key, None) is not None]
        if given:
            key = given[0]
            field, value, unit = f"{where}.{key}", getattr(phase, key), bound(f"phase.{key}").unit
            if not axisymmetric:
                raise InvalidInput(field, value, needs, unit)
            if phase.spot_profile is None:
                raise InvalidInput(field, value, "only with a spot_profile", unit)
        profile = phase.spot_profile
        if profile is not None and phase.spot_radius_mm is None:
            raise bound("phase.spot_radius_mm").missing(f"{where}.spot_radius_mm")
    limit = bound("output.probe.radius_mm")
    for index, probe in enumerate(case.output.probes, 1):
        if probe.radius_mm is None:
            continue
        if not axisymmetric:
            raise InvalidInput(f"output.probe[{index}].radius_mm", probe.radius_mm, needs, "mm")
        if probe.radius_mm > case.geometry.radius_mm:
            raise limit.error(
                f"output.probe[{index}].radius_mm", probe.radius_mm, case.geometry.radius_mm
            )
