"""``cryoderm zones``: the built-in facial zones, their layers and the source of every number.

    cryoderm zones [--format json|table]

Evidence markers: S seen in the source, V restated from it, D derived here, I interpolated or
borrowed from the nearest measured site, A an assumption (see src/cryoderm/data/tissue.toml).
Sources are shown as "Author Year"; the references with their links follow the tables.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "zones",
        help="list the built-in facial zones with their layers and sources",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--format", choices=("json", "table"), default="table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from cryoderm.data import citations
    from cryoderm.physics.zones import age_rule, list_zones

    zones = list_zones()
    rule = age_rule()
    sources = [layer.thickness_source for zone in zones for layer in zone.layers]
    sources += [p.source for zone in zones for layer in zone.layers for p in layer.properties]
    sources += [value.source for value in rule.values()]
    works = citations.cited(*sources)
    if args.format == "json":
        document = {
            "zones": [dataclasses.asdict(zone) for zone in zones],
            "age_rule": {key: dataclasses.asdict(value) for key, value in rule.items()},
            "references": citations.as_json(works),
        }
        print(json.dumps(document, indent=2))
        return 0
    _print_table(zones)
    print("References")
    for line in citations.reference_lines(works):
        print(f"  {line}")
    return 0


def _print_table(zones: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from cryoderm.data.citations import cite

    console = Console()
    for zone in zones:
        table = Table(title=f"{zone.name}: {zone.label}", title_justify="left", expand=True)
        table.add_column("layer")
        table.add_column("thickness mm (F / M)", justify="right")
        table.add_column("ev.")
        table.add_column("thickness source", ratio=3)
        for layer in zone.layers:
            table.add_row(
                layer.name,
                f"{layer.thickness_female_mm:g} / {layer.thickness_male_mm:g}",
                layer.thickness_evidence,
                cite(layer.thickness_source),
            )
        console.print(table)
        thinning = ", ".join(zone.age_thinning) or "none"
        console.print(f"  deep layer: {zone.deep_note}; dermis thins with age for: {thinning}\n")
    materials = Table(title="layer properties", title_justify="left", expand=True)
    for column in ("layer", "property", "value", "ev.", "source"):
        materials.add_column(column)
    shown: set[str] = set()
    for zone in zones:
        for layer in zone.layers:
            if layer.name in shown:
                continue
            shown.add(layer.name)
            for prop in layer.properties:
                materials.add_row(
                    layer.name, prop.name, f"{prop.value:g}", prop.evidence, cite(prop.source)
                )
    console.print(materials)
