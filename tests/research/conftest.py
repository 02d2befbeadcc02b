"""Fixtures of the research tests (the cases themselves are in research_cases.py)."""

from __future__ import annotations

import pytest

from cryoderm.physics.case import Case
from research.research_cases import convective_case


@pytest.fixture
def cheek() -> Case:
    return convective_case()
