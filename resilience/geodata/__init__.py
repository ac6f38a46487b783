"""The city on the map: shipped geography (districts, DEM) and asset inventories on disk.

:mod:`.geography` opens the shipped district boundaries and DEM (and finds shipped data
files); :mod:`.inventory_io` reads and writes asset inventories (GeoPackage, GeoJSON,
Shapefile, CSV) under the Assets contract of :mod:`assets.inventory`; :mod:`.risk_blocks`
builds the RiskTable of an inventory block by block (memory bounded by a block of assets).
May import :mod:`resilience.storage` only. Start at :mod:`.inventory_io`.
"""
