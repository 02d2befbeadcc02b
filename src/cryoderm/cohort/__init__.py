"""Virtual cohorts: protocol risk over a population of faces, on Dask (docs/cohort.md).

``population.sample(zone, size, seed)`` draws subjects whose tissue varies within sourced
spreads (data/cohort.toml); ``risk.protocol_risk(case, size)`` runs the case for each of them
on a Dask LocalCluster (or a given scheduler) and reports the fraction with a freezing risk
and the fraction below the modality's floor.
"""
