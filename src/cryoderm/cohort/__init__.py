"""Virtual cohorts: protocol risk over a population of faces, on Dask (docs/cohort.md).

- ``population.VirtualPopulation(zone, sex, age range, seed).sample(n)``: subjects whose
  dermis, fat and dermal perfusion vary within sourced spreads (data/cohort.toml);
- ``risk.protocol_risk(case, population, n, client=...)``: the case run on every subject in
  blocks of ``simulate_many`` on Dask workers, reduced to a frozen ``CohortRisk``;
- ``cluster.client_for(address)``: a LocalCluster by default, or a scheduler's address.
"""
