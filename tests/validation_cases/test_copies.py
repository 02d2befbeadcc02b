"""The copied verification cases still equal the shared originals (when they are present)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
SHARED = HERE.parents[2] / "shared" / "validation"


def _copied() -> list[str]:
    return sorted(p.name for p in HERE.iterdir() if p.suffix in {".toml", ".json"})


def test_every_case_file_and_the_answers_are_copied():
    names = _copied()
    assert "expected.json" in names and len(names) >= 7


@pytest.mark.parametrize("name", _copied())
def test_copy_equals_the_shared_original(name):
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not beside the repository")
    assert (HERE / name).read_bytes() == (SHARED / name).read_bytes()


def test_no_shared_case_is_missing_here():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not beside the repository")
    shared = sorted(p.name for p in SHARED.iterdir() if p.suffix in {".toml", ".json"})
    assert shared == _copied()


@pytest.mark.parametrize("name", ["r1-cold-air.toml", "r2-jet-spot.toml"])
def test_the_benchmark_case_equals_the_shared_one(name):
    shared = HERE.parents[2] / "shared" / "bench" / name
    if not shared.exists():
        pytest.skip(f"{shared} is not beside the repository")
    copy = HERE.parents[1] / "benchmarks" / "cases" / name
    assert copy.read_bytes() == shared.read_bytes()
