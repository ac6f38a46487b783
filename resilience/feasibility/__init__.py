"""Climate feasibility checks (气候可行性论证) of a proposed site: models, check, report, store.

Import from the submodules (``resilience.feasibility.check.run_check`` ...); this package
imports nothing heavy at start-up.
"""

from resilience.feasibility.models import Advice, CheckResult, HazardRow, Submission

__all__ = ["Advice", "CheckResult", "HazardRow", "Submission"]
