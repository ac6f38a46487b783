"""Climate projections in: catalogue, download, identify, open, normalise, assemble, store.

:mod:`.catalog` (a YAML catalogue of sources: model, reading, writing); :mod:`.selection`
(the files a run needs for its horizons, pulled into the cache); :mod:`.fetch` (HTTP
downloads checked against sizes and hashes, so the cache can be trusted);
:mod:`.file_identity` (what a file holds: NEX-GDDP-CMIP6 or CMIP6 DRS names, else its global
attributes); :mod:`.member` (ensemble members as ``model`` labels);
:mod:`.projection_file` (NEX-GDDP-CMIP6 file names and header scans); :mod:`.projections`
(open local NEX-GDDP-CMIP6-style daily files as one lazy Projections Dataset);
:mod:`.normalise` (any CMIP6-style Dataset to the axes, names and units of the Projections
contract); :mod:`.coverage` (years a run lacks for a horizon); :mod:`.ensemble` (normalised
runs into one models x scenarios Dataset); :mod:`.assembly` (pulled files to Projections);
:mod:`.bias` (quantile delta mapping against an observed reference); :mod:`.pull`
(``resilience pull``: catalogue or folder to normalised projections); :mod:`.store_write`
and :mod:`.store` (the projections store: write it safely, pull into it, open it or a
folder of files). May import :mod:`resilience.storage`, :mod:`resilience.geodata` and the
top-level settings and schema. Start at :mod:`.store`, then :mod:`.pull`.
"""
