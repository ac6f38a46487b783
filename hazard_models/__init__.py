"""Science of hazards: extreme-value statistics, heat, rain, coast and the layer contract.

Pure functions over numpy arrays and xarray objects; no I/O, settings or Prefect, and no
import of ``assets``, ``resilience`` or ``flows``. The folder is the map:

* top level, shared by every hazard: :mod:`.layer` (the HazardLayer contract; start here),
  :mod:`.horizon` (horizons and scenarios), :mod:`.yearly` (the year-block engine of yearly
  indices), :mod:`.horizon_stats` (per-horizon building blocks), :mod:`.ensemble_stats`
  (ensemble change, quantiles and robustness);
* :mod:`.extremes`: the extreme-value engine (GEV, GPD, Gumbel, non-stationary, L-moments,
  regional pooling, intervals, goodness of fit);
* :mod:`.heat`, :mod:`.rain`, :mod:`.coast`: the science of each hazard and its layer.
"""
