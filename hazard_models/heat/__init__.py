"""Extreme heat: yearly heat indices and the heat hazard layer built from daily projections.

:mod:`.indices` holds the yearly indices (TXx, hot days, hot spells, tropical nights, cooling
degree days) and :mod:`.humid_heat` the NWS heat index, as pure functions; :mod:`.layer`
builds the heat HazardLayer (return levels, horizon means, ensemble change and robustness)
from them. May import the top of ``hazard_models`` (layer contract, horizons, yearly engine,
ensemble statistics) and :mod:`hazard_models.extremes`; never ``rain`` or ``coast``. Start
at :mod:`.layer`.
"""
