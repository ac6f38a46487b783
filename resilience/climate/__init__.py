"""Climate projections in: catalogue, download, open, normalise, assemble, bias-adjust, pull.

:mod:`.catalog` (a YAML catalogue of sources: model, reading, writing); :mod:`.selection`
(the files a run needs for its horizons, pulled into the cache); :mod:`.fetch` (HTTP
downloads checked against sizes and hashes, so the cache can be trusted);
:mod:`.projection_file` (NEX-GDDP-CMIP6 file names and header scans); :mod:`.projections`
(open local NEX-GDDP-CMIP6-style daily files as one lazy Projections Dataset);
:mod:`.normalise` (any CMIP6-style Dataset to the axes, names and units of the Projections
contract); :mod:`.ensemble` (normalised runs into one models x scenarios Dataset);
:mod:`.bias` (quantile delta mapping against an observed reference); :mod:`.pull`
(``resilience pull``: catalogue to normalised projections). May import
:mod:`resilience.storage`, :mod:`resilience.geodata` and the top-level settings and schema.
Start at :mod:`.pull`.
"""
