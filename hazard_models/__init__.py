"""Science of hazards: extreme-value statistics, heat, rain, surge and the layer contract.

Pure functions over numpy arrays and xarray objects; no I/O, settings or Prefect.
"""
