"""The face map: one SVG shape (or a left/right pair) per face zone of the safety registry.

The outline is drawn in a 200 x 280 box, front view; the shapes mark where each zone is, not its
exact anatomy. Zone identifiers are those of ``data/thresholds.toml``; their labels those of
``data/tissue.toml`` (cryoderm.data.labels).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cryoderm.data import labels

ZONE_SHAPES: dict[str, tuple[str, ...]] = {
    "forehead": ('<path d="M46,64 Q50,24 100,20 Q150,24 154,64 Q100,54 46,64 Z"/>',),
    "glabella": ('<ellipse cx="100" cy="72" rx="9" ry="8"/>',),
    "temple": (
        '<ellipse cx="37" cy="84" rx="9" ry="17"/>',
        '<ellipse cx="163" cy="84" rx="9" ry="17"/>',
    ),
    "periorbital": (
        '<ellipse cx="71" cy="88" rx="18" ry="10"/>',
        '<ellipse cx="129" cy="88" rx="18" ry="10"/>',
    ),
    "nose": ('<path d="M93,82 L107,82 L114,128 L86,128 Z"/>',),
    "cheek": (
        '<ellipse cx="60" cy="124" rx="19" ry="20"/>',
        '<ellipse cx="140" cy="124" rx="19" ry="20"/>',
    ),
    "perioral": ('<ellipse cx="100" cy="152" rx="25" ry="13"/>',),
    "chin": ('<ellipse cx="100" cy="184" rx="21" ry="12"/>',),
    "jawline": (
        '<path d="M33,134 Q38,186 78,208 L84,198 Q50,180 45,134 Z"/>',
        '<path d="M167,134 Q162,186 122,208 L116,198 Q150,180 155,134 Z"/>',
    ),
    "neck": ('<rect x="72" y="216" width="56" height="52" rx="6"/>',),
}


@dataclass(frozen=True)
class MapZone:
    zone: str
    label: str
    shapes: tuple[str, ...]
    checked: bool


def map_zones(zones: Iterable[str], selected: Iterable[str]) -> list[MapZone]:
    """The zones to draw, in the given order, marking those already chosen."""
    chosen = set(selected)
    return [
        MapZone(
            z,
            labels.label("zone", z),
            ZONE_SHAPES.get(z, ()),
            z in chosen,
        )
        for z in zones
    ]
