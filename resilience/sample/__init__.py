"""The bundled Shanghai sample: synthetic projections, real assets, tides and a forecast."""
