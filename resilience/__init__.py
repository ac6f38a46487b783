"""resilience: climate risk and urban resilience assessment engine, built first for Shanghai.

Importing this package does no work and imports no heavy dependency: the command line and the
library import what they need where they need it.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
