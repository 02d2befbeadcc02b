"""What a result was computed from: the cryoderm version, the resolved case and its hash.

The *resolved* case is the case with every default the engine takes filled in: the parser
and the value objects already fill the constant defaults (data/bounds.toml); this module
adds the ones the engine derives from sourced tables at run time (the local-cold law of the
tissue's zone, an applicator's material, the LN2 jet at its distance, the radiant
temperature of cold air, a spot's background). Its document is a case file (``parse_case(document)`` gives the
resolved case back), and its hash is the SHA-256 of that document's canonical JSON (keys
sorted, no spaces), so that equal inputs give equal hashes on any machine::

    from cryoderm.physics.provenance import provenance
    p = provenance(case)
    p.cryoderm_version, p.case_sha256, p.case     # p.case: the resolved case file, as a dict
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass
from typing import Any

from cryoderm import __version__
from cryoderm.physics import applicators, exposures, perfusion, spots
from cryoderm.physics.case import Case, ColdAirPhase, ContactPhase, Ln2VapourPhase, Phase
from cryoderm.physics.casefile import case_to_toml


@dataclass(frozen=True)
class Provenance:
    """cryoderm_version: the package that computed the result. case_toml: the resolved
    case file. case_sha256: SHA-256 of the canonical JSON of its document (``case``)."""

    cryoderm_version: str
    case_toml: str
    case_sha256: str

    @property
    def case(self) -> dict[str, Any]:
        """The resolved case file as a decoded document."""
        return tomllib.loads(self.case_toml)

    def to_json_dict(self) -> dict[str, Any]:
        """For JSON output: the resolved case as a document."""
        return {
            "cryoderm_version": self.cryoderm_version,
            "case_sha256": self.case_sha256,
            "case": self.case,
        }

    def to_attrs(self) -> dict[str, str]:
        """For file metadata (CSV, Parquet, netCDF attributes): the resolved case as text."""
        return {
            "cryoderm_version": self.cryoderm_version,
            "case": self.case_toml,
            "case_sha256": self.case_sha256,
        }


def _resolved_phase(phase: Phase, index: int) -> Phase:
    if phase.spot_profile is not None:
        # A spot's background: given, or the room air the engine takes (spots.background).
        h, temp = spots.background(phase)
        phase = dataclasses.replace(phase, background_heat_transfer_w_m2k=h, background_temp_c=temp)
    if isinstance(phase, ContactPhase):
        return _resolved_contact(phase, index)
    if isinstance(phase, Ln2VapourPhase):
        gas, h = exposures.ln2_jet(phase.distance_cm)
        return dataclasses.replace(
            phase,
            gas_temp_c=gas if phase.gas_temp_c is None else phase.gas_temp_c,
            heat_transfer_w_m2k=h
            if phase.heat_transfer_w_m2k is None
            else phase.heat_transfer_w_m2k,
        )
    if isinstance(phase, ColdAirPhase) and phase.nozzle_distance_mm is not None:
        nozzle = exposures.phase_nozzle(phase)
        phase = dataclasses.replace(
            phase,
            nozzle_diameter_mm=nozzle.diameter_mm,
            exit_speed_m_s=nozzle.exit_speed_m_s,
            gas_temp_c=nozzle.exit_temp_c,
        )
    # A spot exchanges no radiation of its own (spots.py): its radiant temperature stays unset.
    if isinstance(phase, ColdAirPhase) and phase.radiant_temp_c is None and not phase.spot_profile:
        _, _, radiant = exposures.cold_air_surface(phase)
        return dataclasses.replace(phase, radiant_temp_c=radiant)
    return phase


def _resolved_contact(phase: ContactPhase, index: int) -> ContactPhase:
    """A contact phase with its material's values written out. Keys that do not apply stay
    unset: the thickness of a pack given by mass (or the mass of one given by thickness),
    ice fraction and melt water of an applicator that does not melt, a barrier's thickness
    without a barrier, the stroke period of a static applicator. The contact conductance is
    the applicator's own: the barrier is added in series when the case runs."""
    material = exposures.applicator_for(phase, f"phase[{index}]")
    by_mass = phase.mass_kg is not None
    melts = material.melting_point_c is not None
    barrier = phase.barrier if phase.barrier is not None else "none"
    layer = applicators.barriers().get(barrier)
    return dataclasses.replace(
        phase,
        conductivity_w_mk=material.conductivity_w_mk,
        density_kg_m3=material.density_kg_m3,
        specific_heat_j_kgk=material.specific_heat_j_kgk,
        thickness_mm=None if by_mass else material.thickness_mm,
        contact_conductance_w_m2k=exposures.own_contact_conductance_w_m2k(phase),
        ice_fraction=exposures.ice_fraction(phase) if melts else None,
        melt_water=material.melt_water if melts else None,  # type: ignore[arg-type]
        barrier=barrier,
        barrier_thickness_mm=(
            None
            if layer is None
            else phase.barrier_thickness_mm
            if phase.barrier_thickness_mm is not None
            else float(layer["thickness_mm"])
        ),
    )


def resolved(case: Case) -> Case:
    """``case`` with every default the engine derives at run time filled in (the same
    functions the engine calls: perfusion.resolve, exposures.applicator_for, ln2_jet)."""
    law = perfusion.resolve(case.perfusion, case.tissue.zone)
    return dataclasses.replace(
        case,
        perfusion=dataclasses.replace(
            case.perfusion,
            reference_temp_c=law.reference_temp_c,
            scale_k=law.scale_k,
            floor_fraction=law.floor_fraction,
            memory_s=law.memory_s,
        ),
        phases=tuple(_resolved_phase(p, k) for k, p in enumerate(case.phases, start=1)),
    )


def canonical_json(document: dict[str, Any]) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, floats as Python writes
    them (shortest round-trip), UTF-8 text unescaped."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def provenance(case: Case) -> Provenance:
    """The provenance of a result computed from ``case``."""
    text = case_to_toml(resolved(case))
    digest = hashlib.sha256(canonical_json(tomllib.loads(text)).encode("utf-8")).hexdigest()
    return Provenance(cryoderm_version=__version__, case_toml=text, case_sha256=digest)
