"""Real observations of Shanghai's weather and sea level: readers and comparisons with the engine.

Readers (the I/O edge; each checks units and ranges, names file, line and field in its
errors, and reports gaps instead of filling them): :mod:`.era5land` (ERA5-Land daily, a CF
Dataset usable as the QDM reference of ``resilience.climate.bias.adjust_qdm``), :mod:`.ghcn`
(GHCN-Daily monthly summaries to annual maxima TXx and Rx1day), :mod:`.hourly` (the hourly
station record), :mod:`.psmsl` (PSMSL RLR monthly sea level, annual means and trends), with
:mod:`.quality` (gaps, the RClimDex completeness rule, world-record bounds),
:mod:`.table_rows` and :mod:`.shipped` (the files in ``resilience/data/observed``).
:mod:`.comparisons`, :mod:`.water_comparisons` and :mod:`.trend` (OLS trends with Newey-West
standard errors) are pure computations over what was read;
:mod:`.events` turns the hourly record into observed events for ``resilience warn verify``;
:mod:`.derived` writes the derived files that ship. May import the top-level modules of
``resilience``, :mod:`resilience.storage`, :mod:`resilience.geodata`, ``hazard_models`` and
``assets``. Start at :mod:`.comparisons`; results and numbers are in ``docs/observed.md``.
"""
