"""The command line shows sources as "Author Year" and lists the works with their links."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cryoderm.data import citations


def cryoderm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cryoderm.cli", *args], capture_output=True, text=True, check=True
    )


@pytest.mark.parametrize(
    ("command", "key"),
    [(("zones",), "Meng2022"), (("screen", "--list"), "CryoniqND")],
)
def test_text_output_shows_author_year_and_lists_the_links(command, key) -> None:
    work = citations.references()[key]
    out = cryoderm(*command).stdout
    assert work.label in out and work.link in out
    assert key not in out


@pytest.mark.parametrize(
    ("command", "key"),
    [
        (("zones", "--format", "json"), "Meng2022"),
        (("screen", "--list", "--format", "json"), "CryoniqND"),
    ],
)
def test_json_output_lists_the_works_cited(command, key) -> None:
    document = json.loads(cryoderm(*command).stdout)
    work = citations.references()[key]
    assert {"key": key, "label": work.label, "url": work.link} in document["references"]


def test_a_plan_lists_the_sources_of_its_protocol() -> None:
    out = cryoderm("plan", "--zone", "cheek", "--goal", "skin-tone", "--modality", "cold-air")
    assert "sources of the protocol and its limits:" in out.stdout
    assert citations.references()["Radecka2021"].link in out.stdout
