"""Heat, rain and IDF layers built from projection files, and their figures.

The I/O edge of :mod:`hazard_models.heat` and :mod:`hazard_models.rain`: :mod:`.build` opens
projections (:mod:`resilience.climate`), builds the layers under the configured dask
scheduler and writes each atomically; :mod:`.plots` draws return-level and change maps and
IDF charts. ``resilience hazards`` (:mod:`resilience.cli.hazards`) calls them. May import
:mod:`resilience.climate` and :mod:`resilience.storage`. Start at :mod:`.build`.
"""
