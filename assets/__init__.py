"""Infrastructure assets: inventory contract, catalogue, vulnerability, overlay and risk.

Pure functions over GeoDataFrames and xarray objects; no I/O, settings or database; may
import ``hazard_models`` only. :mod:`.inventory` (the Assets contract and its validation) and
:mod:`.catalogue` (asset types and their design standards); :mod:`.overlay` (hazard layers
sampled at asset geometries); :mod:`.vulnerability` (depth-damage curves); :mod:`.metrics`
(design-life exceedance, expected annual damage, risk classes) and :mod:`.risk` (the
RiskTable). Start at :mod:`.risk`.
"""
