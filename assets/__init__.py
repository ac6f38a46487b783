"""Infrastructure assets: inventory contract, catalogue, vulnerability, overlay and risk.

Pure functions over GeoDataFrames and xarray objects; no I/O, settings or database.
"""
