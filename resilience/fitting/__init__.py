"""``resilience fit``: extreme-value fits of one station record supplied by a user.

:mod:`.record` reads the record (CSV, with file, line and field in every error);
:mod:`.station_fit` fits GEV, Gumbel or GPD (optionally non-stationary) with
:mod:`hazard_models.extremes` into a :mod:`.models` ``FitReport`` of parameters, return levels
with intervals and goodness of fit; :mod:`.display` prints its tables and draws its plots.
May import :mod:`resilience.storage` only. Start at :func:`.station_fit.fit_station`.
"""
