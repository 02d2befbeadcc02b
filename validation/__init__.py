"""Calibration and validation of the thermal model against measured physiology.

Every measured target lives, with its source, conditions and tolerance, in
``src/cryoderm/data/measurements.toml``. This package turns each target's conditions into
case files (``cryoderm-case/1`` documents, parsed by the public case parser), runs them all
through ``cryoderm.physics.engine.simulate_many`` in one batched call, and compares the model
with the data. ``python -m validation`` prints the comparison and writes the plots of
docs/validation.md; tests/validation checks every claimed target.
"""
