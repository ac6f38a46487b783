"""The bundled Shanghai sample: synthetic projections, real assets, tides and a forecast.

:mod:`.bundle` writes the whole sample folder (``resilience sample``) from :mod:`.projections`
(synthetic CMIP6-style daily files, drawn by the weather generator in :mod:`.weather`),
:mod:`.reference` (a synthetic "observed" reference for bias adjustment),
:mod:`.inventory` (the asset inventory from shipped public data), :mod:`.tides` (synthetic
tide-gauge maxima) and :mod:`.forecast` (an ensemble forecast for the warnings). May import
:mod:`resilience.storage`, :mod:`resilience.geodata` and :mod:`resilience.climate`. Start at
:mod:`.bundle`.
"""
