"""The researcher's toolkit: sensitivity, fitting, sweeps and tidy outputs (docs/research.md).

- ``parameters.Parameter(key, distribution, source)``: an uncertain input, named by its case
  key path (``phase[1].gas_temp_c``); ``spreads.case_spreads(case)``: the sourced spreads;
- ``sensitivity.morris`` / ``sensitivity.sobol`` over an ``evaluate.CaseModel``;
- ``fitting.fit``: parameters from measured traces, with intervals and a posterior;
- ``sweep``: grids and random designs over any case key.

Runs go through ``cryoderm.simulate_many``; large designs run on Dask (cohort.cluster).
"""
