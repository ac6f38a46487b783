"""Coastal flooding science: tide-gauge extremes, sea-level rise, surge layer, inundation.

:mod:`.gauge_extremes` fits annual maxima or hourly peaks of tide gauges; :mod:`.sea_level`
holds the sea-level-rise distributions; :mod:`.allowance` the Hunter allowance and
amplification factors; :mod:`.surge` builds the storm-surge HazardLayer from them;
:mod:`.inundation` floods the DEM behind defence lines (static bathtub, the upper bound);
:mod:`.storm_tide`, :mod:`.overtopping` and :mod:`.basin_fill` store only the water that
overflows them; :mod:`.compound` joins rain and surge.
May import the top of ``hazard_models`` and :mod:`hazard_models.extremes`; never ``heat`` or
``rain``. Start at :mod:`.surge`.
"""
