"""The city on the map: shipped geography (districts, DEM) and asset inventories on disk.

:mod:`.geography` opens the shipped district boundaries and DEM (and finds shipped data
files); :mod:`.inventory_io` reads and writes asset inventories (GeoPackage, GeoJSON,
Shapefile, CSV) under the Assets contract of :mod:`assets.inventory`. May import
:mod:`resilience.storage` only. Start at :mod:`.inventory_io`.
"""
