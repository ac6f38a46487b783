"""Storm surge and coastal flooding at the I/O edge: gauges, typhoons, datums, reports, maps.

Inputs: :mod:`.tide_io` (tide-gauge records and stations), :mod:`.typhoon_io` (typhoon
tracks), :mod:`.datum` (vertical datum conversion). Station surge reports (``resilience
surge``): :mod:`.surge_models` (the report's pydantic models), :mod:`.surge_inputs` (reading
its inputs), :mod:`.surge_projection` (sea-level-rise projection of a fit) and
:mod:`.surge_report` (building it). Maps and joint hazards: :mod:`.flood_map` (``resilience
flood``) and :mod:`.compound_report` (``resilience compound``). The science is in
:mod:`hazard_models.coast`. May import :mod:`resilience.storage`, :mod:`resilience.geodata`
and :mod:`resilience.sample` (the synthetic gauges are the default record). Start at
:mod:`.surge_inputs`.
"""
