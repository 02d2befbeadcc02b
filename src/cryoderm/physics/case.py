"""The inputs of one simulation, as frozen value objects.

A :class:`Case` is what a case file (``shared/case-format.md``) means once parsed: every
zone already resolved to explicit layers, every default already filled in from the sourced
tables. The solver consumes only this; it never reads files.

Units: SI lengths are given in the unit named by the field (``thickness_mm``); temperatures
are absolute in degrees C; perfusion is volumetric blood flow per tissue volume in 1/s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Layer:
    """One tissue layer, surface first.

    perfusion_per_s: volumetric blood perfusion (m3 blood / m3 tissue / s), basal value.
    metabolic_w_m3: basal metabolic heat.
    """

    name: str
    thickness_mm: float
    conductivity_w_mk: float
    density_kg_m3: float
    specific_heat_j_kgk: float
    perfusion_per_s: float = 0.0
    metabolic_w_m3: float = 0.0


@dataclass(frozen=True)
class Blood:
    """Blood properties used by the Pennes term (IT'IS v4 defaults, see data/tissue.toml)."""

    density_kg_m3: float = 1050.0
    specific_heat_j_kgk: float = 3617.0


@dataclass(frozen=True)
class Tissue:
    """A layered skin site: layers surface first, a fixed-temperature deep boundary.

    zone, sex and age_years record where the layers came from (None for explicit layers).
    """

    layers: tuple[Layer, ...]
    core_temp_c: float = 37.0
    arterial_temp_c: float = 37.0
    blood: Blood = field(default_factory=Blood)
    zone: str | None = None
    sex: Literal["female", "male"] | None = None
    age_years: float | None = None

    @property
    def depth_mm(self) -> float:
        return sum(layer.thickness_mm for layer in self.layers)


@dataclass(frozen=True)
class Perfusion:
    """How blood perfusion responds to local temperature.

    model "constant": the layers' basal perfusion throughout.
    model "local-cold": local cold-induced vasoconstriction, omega = omega0 * max(floor,
    2**((T - reference_temp_c)/scale_k)) with a first-order memory of time constant
    memory_s after rewarming (physics.md 2.3-2.4). None means the sourced default.
    """

    model: Literal["constant", "local-cold"] = "constant"
    reference_temp_c: float | None = None
    scale_k: float | None = None
    floor_fraction: float | None = None
    memory_s: float | None = None


@dataclass(frozen=True)
class Freezing:
    """Latent heat and frozen properties below the tissue freezing point (physics.md 1.5)."""

    enabled: bool = False
    freeze_point_c: float = -0.55
    latent_heat_j_kg: float = 217000.0
    frozen_conductivity_w_mk: float = 2.0
    frozen_specific_heat_j_kgk: float = 1800.0


@dataclass(frozen=True)
class SteadyInitial:
    """Start from the steady state under this ambient (before phase 1)."""

    ambient_temp_c: float = 22.0
    heat_transfer_w_m2k: float = 10.0


@dataclass(frozen=True)
class UniformInitial:
    """Start from a uniform temperature."""

    temp_c: float = 34.0


Initial = SteadyInitial | UniformInitial


@dataclass(frozen=True)
class ConvectivePhase:
    """A gas at gas_temp_c with a given total heat transfer coefficient."""

    gas_temp_c: float
    heat_transfer_w_m2k: float
    duration_s: float
    modality: Literal["convective"] = "convective"


@dataclass(frozen=True)
class ColdAirPhase:
    """A cold-air device or wind: h from a facial forced-convection correlation plus radiation.

    radiant_temp_c: temperature of the surroundings for the radiative exchange (None: the gas).
    """

    gas_temp_c: float
    air_speed_m_s: float
    duration_s: float
    radiant_temp_c: float | None = None
    modality: Literal["cold-air"] = "cold-air"


@dataclass(frozen=True)
class Ln2VapourPhase:
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


@dataclass(frozen=True)
class ContactPhase:
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
    modality: Literal["contact"] = "contact"


@dataclass(frozen=True)
class AmbientPhase:
    """Rewarming in room air."""

    ambient_temp_c: float = 22.0
    heat_transfer_w_m2k: float = 10.0
    duration_s: float = 600.0
    modality: Literal["ambient"] = "ambient"


Phase = ConvectivePhase | ColdAirPhase | Ln2VapourPhase | ContactPhase | AmbientPhase


@dataclass(frozen=True)
class Probe:
    """A named depth below the skin surface at which the output series is sampled."""

    name: str
    depth_mm: float


@dataclass(frozen=True)
class Output:
    """The time grid of the output series and the probes. full_field: also return T(x, t)."""

    sample_every_s: float = 1.0
    probes: tuple[Probe, ...] = (Probe("surface", 0.0),)
    full_field: bool = False


@dataclass(frozen=True)
class Numerics:
    """Resolution of the solver, as divisors of its default grid spacing and time steps.

    1 is the default (0.01 K on the R1 benchmark, docs/physics.md); 2 halves every cell and
    every step. Used by convergence studies; values in (0, 64]."""

    space_refinement: float = 1.0
    time_refinement: float = 1.0


@dataclass(frozen=True)
class Case:
    """One cold exposure of one skin site: everything the solver needs, nothing it must look up."""

    tissue: Tissue
    phases: tuple[Phase, ...]
    perfusion: Perfusion = field(default_factory=Perfusion)
    freezing: Freezing = field(default_factory=Freezing)
    initial: Initial = field(default_factory=SteadyInitial)
    output: Output = field(default_factory=Output)
    title: str = ""
    numerics: Numerics = field(default_factory=Numerics)

    @property
    def duration_s(self) -> float:
        return sum(phase.duration_s for phase in self.phases)
