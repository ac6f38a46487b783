"""resilience: climate risk and urban resilience assessment engine, built first for Shanghai.

The I/O edge and the applications around the pure science of ``hazard_models`` and
``assets``. Subpackages by concern (docs/design.md has the map and the allowed imports):
``storage`` (database, layer files, atomic writes), ``geodata`` (districts, DEM, asset
inventories), ``climate`` (projections in), ``sample`` (the bundled Shanghai sample),
``hazards`` (heat and rain layers), ``coast`` (surge, floods, compound), ``fitting``
(``resilience fit``), ``feasibility`` (project checks), ``early_warning`` (rules to CAP
alerts and their delivery), ``api`` (REST) and ``cli`` (the commands); ``settings``,
``schema`` and ``compute`` stay at the top.

Importing this package does no work and imports no heavy dependency: the command line and the
library import what they need where they need it.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
