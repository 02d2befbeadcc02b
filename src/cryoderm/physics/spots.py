"""Surface conditions of an axisymmetric case: each segment's exposure, ring by ring.

A phase without a spot acts on the whole surface exactly as in a column case (its segments'
h, gas temperature and radiation, exposures.py). A phase with a spot (case.Spot) confines
its exposure to the spot and adds the background everywhere, spot included:

    q_in(r) = h s(r) (T_gas - T) + h_bg (T_bg - T)

with s(r) the spot profile averaged over each radial node's ring (radial.ring_average), so
that the heat a ring exchanges is exact for any grid. The background stands for the room
around the spot, its radiation included, so a spot phase has no radiation term of its own
(a cold-air phase's radiant_temp_c is refused with a spot), and between the passes of a
swept jet (the room-air segments of its pulse train) the spot sees the background alone.

A contact phase's spot is its applicator's footprint (a top-hat): the skin under it touches
the applicator (contact_table: each ring's share of the footprint, the contact conductance,
the applicator's coefficients), the skin around it the background; a contact phase without a
spot covers the whole surface, as in a column case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cryoderm.data import load_table
from cryoderm.physics.bounds import default
from cryoderm.physics.case import Case, ColdAirPhase, ContactPhase, Phase
from cryoderm.physics.errors import InvalidInput
from cryoderm.physics.exposures import Segment
from cryoderm.physics.radial import RadialGrid, ring_average
from cryoderm.physics.solver import _applicator_nodes


@dataclass(frozen=True, eq=False)
class SurfaceTable:
    """Per segment (rows) and radial node (columns): the convective conductance eta
    (W/(m2 K)) towards tenv (C), and eps*sigma (W/(m2 K4)) towards radiant (C)."""

    eta: np.ndarray
    tenv: np.ndarray
    eps_sigma: np.ndarray
    radiant: np.ndarray

    @property
    def radiates(self) -> bool:
        return bool(self.eps_sigma.any())


def spot_radii_mm(case: Case) -> tuple[float, ...]:
    """The radii of the case's spots (the radial grid resolves each), in phase order."""
    return tuple(
        float(phase.spot_radius_mm)
        for phase in case.phases
        if phase.spot_profile is not None and phase.spot_radius_mm is not None
    )


def check_phases(case: Case) -> None:
    """What an axisymmetric case cannot mean: radiation to a cold surrounding confined to a
    spot; a contact footprint that is not a top-hat."""
    for index, phase in enumerate(case.phases, 1):
        where = f"phase[{index}]"
        if phase.spot_profile is None:
            continue
        if isinstance(phase, ColdAirPhase) and phase.radiant_temp_c is not None:
            raise InvalidInput(
                f"{where}.radiant_temp_c",
                phase.radiant_temp_c,
                "not with a spot: the background (background_temp_c, "
                "background_heat_transfer_w_m2k) stands for the room around the spot",
                "°C",
            )
        if isinstance(phase, ContactPhase) and phase.spot_profile != "top-hat":
            raise InvalidInput(
                f"{where}.spot_profile",
                phase.spot_profile,
                'an applicator\'s footprint is "top-hat"',
            )


def background(phase: Phase) -> tuple[float, float]:
    """(h, temperature) of a spot phase's background: given, or room air (data/bounds.toml)."""
    h = phase.background_heat_transfer_w_m2k
    temp = phase.background_temp_c
    return (
        float(h if h is not None else default("phase.background_heat_transfer_w_m2k")),
        float(temp if temp is not None else default("phase.background_temp_c")),
    )


def _room_air(segment: Segment) -> bool:
    room = load_table("exposures")["room_air"]
    return (
        segment.heat_transfer_w_m2k == float(room["heat_transfer_w_m2k"])
        and segment.gas_temp_c == float(room["temp_c"])
        and segment.eps_sigma_w_m2k4 == 0.0
    )


def footprint(phase: Phase, grid: RadialGrid) -> np.ndarray:
    """Each ring's share of a phase's spot (1 everywhere without a spot)."""
    if phase.spot_profile is None or phase.spot_radius_mm is None:
        return np.ones(grid.n)
    return ring_average(grid, phase.spot_profile, phase.spot_radius_mm)


def surface_table(case: Case, segments: tuple[Segment, ...], grid: RadialGrid) -> SurfaceTable:
    """The surface conditions of every segment on the radial grid (module docstring); under
    a contact applicator's footprint the skin exchanges nothing with the air."""
    n = len(segments)
    eta = np.zeros((n, grid.n))
    tenv = np.zeros((n, grid.n))
    eps = np.zeros((n, grid.n))
    radiant = np.zeros((n, grid.n))
    counts: dict[int, int] = {}
    for segment in segments:
        counts[segment.phase_index] = counts.get(segment.phase_index, 0) + 1
    for k, segment in enumerate(segments):
        phase = case.phases[segment.phase_index]
        h, gas = segment.heat_transfer_w_m2k, segment.gas_temp_c
        if segment.applicator is not None:
            h_bg, t_bg = background(phase) if phase.spot_profile is not None else (0.0, 0.0)
            eta[k] = (1.0 - footprint(phase, grid)) * h_bg
            tenv[k] = t_bg
            continue
        if phase.spot_profile is None:
            eta[k], tenv[k] = h, gas
            eps[k], radiant[k] = segment.eps_sigma_w_m2k4, segment.radiant_temp_c
            continue
        assert phase.spot_radius_mm is not None  # Case checked it
        h_bg, t_bg = background(phase)
        between_passes = counts[segment.phase_index] > 1 and _room_air(segment)
        spot = (
            0.0
            if between_passes
            else h * ring_average(grid, phase.spot_profile, phase.spot_radius_mm)
        )
        total = spot + h_bg
        eta[k] = total
        tenv[k] = np.where(
            total > 0.0, (spot * gas + h_bg * t_bg) / np.where(total > 0.0, total, 1.0), t_bg
        )
    return SurfaceTable(eta=eta, tenv=tenv, eps_sigma=eps, radiant=radiant)


@dataclass(frozen=True, eq=False)
class ContactTable:
    """The applicator of an axisymmetric case (axisym_general.Contact): rows per ring's
    column (0: no contact phase); per segment each ring's share of the footprint, the contact
    conductance (0: not touching), whether a fresh applicator starts there and its slot; per
    slot the applicator's node coefficients (back first) and starting temperature."""

    rows: int
    foot: np.ndarray
    link: np.ndarray
    fresh: np.ndarray
    slot: np.ndarray
    nodes: dict[str, np.ndarray]
    t0: np.ndarray


def contact_table(
    case: Case, segments: tuple[Segment, ...], grid: RadialGrid, cells: int
) -> ContactTable:
    """The applicators of the contact segments (solver.py's slab of ``cells`` cells, the
    column engine's, for each)."""
    n = len(segments)
    foot = np.zeros((n, grid.n))
    link = np.zeros(n)
    fresh = np.zeros(n, dtype=np.int64)
    slot = np.zeros(n, dtype=np.int64)
    slabs: list[dict[str, np.ndarray]] = []
    starts: list[float] = []
    for k, segment in enumerate(segments):
        phase = case.phases[segment.phase_index]
        if segment.applicator is None:
            if isinstance(phase, ContactPhase) and slabs:
                # Between a moving applicator's strokes: off the skin (no link), it keeps
                # its rows and recovers by conduction within itself (as in the column).
                foot[k] = footprint(phase, grid)
                slot[k] = len(slabs) - 1
            continue
        foot[k] = footprint(phase, grid)
        link[k] = segment.applicator.contact_conductance_w_m2k
        first = k == 0 or segments[k - 1].phase_index != segment.phase_index
        if first:
            slabs.append(_applicator_nodes(segment.applicator, cells))
            starts.append(segment.applicator_temp_c)
        fresh[k] = 1 if first else 0
        slot[k] = len(slabs) - 1
    rows = cells + 1 if slabs else 0
    names = ("cl", "cs", "lat", "tf", "gl", "gs")
    nodes = {
        name: np.array([slab[name] for slab in slabs]) if slabs else np.zeros((1, 1))
        for name in names
    }
    t0 = np.repeat(np.asarray(starts)[:, None], rows, axis=1) if slabs else np.zeros((1, 1))
    return ContactTable(rows, foot, link, fresh, slot, nodes, t0)
