"""Every example of examples/gallery runs (as scikit-fem runs its examples), with small
designs (CRYODERM_GALLERY_SMALL), and writes what it says it writes."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from cryoderm.research.outputs import read

GALLERY = Path(__file__).resolve().parents[2] / "examples" / "gallery"
SCRIPTS = sorted(p for p in GALLERY.glob("*.py") if not p.name.startswith("_"))
WRITES = {
    "sweep_cheek.py": ["sweep.parquet"],
    "sensitivity_cheek.py": ["sensitivity.csv", "sensitivity.png"],
    "fit_cheek.py": ["fit.csv", "fit.png"],
    "spot_vs_column.py": ["spot_vs_column.csv", "spot_vs_column.png"],
}


def test_every_script_is_listed_here_and_in_the_gallery_readme():
    readme = (GALLERY / "README.md").read_text(encoding="utf-8")
    assert sorted(WRITES) == [p.name for p in SCRIPTS]
    assert all(f"`{p.name}`" in readme for p in SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_the_example_runs_and_writes_its_outputs(script, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRYODERM_GALLERY_SMALL", "1")
    namespace = runpy.run_path(str(script), run_name="gallery")
    namespace["main"](tmp_path)
    for name in WRITES[script.name]:
        assert (tmp_path / name).stat().st_size > 0
        if not name.endswith(".png"):
            assert read(tmp_path / name).attrs["case_sha256"]
    assert capsys.readouterr().out
