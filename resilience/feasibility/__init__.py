"""Climate feasibility checks (气候可行性论证) of a proposed site: models, check, report, store.

Start at ``service.check_submission`` (what the CLI, the REST API and the flows call), then
``check.run_check`` and the modules it composes (``domain``, ``site``, ``assessment``,
``options``, ``tipping``, ``identity``); ``report`` renders HTML and PDF, ``store`` keeps checks
and reviewers' decisions. Import from the submodules; this package imports nothing heavy at
start-up.
"""

from resilience.feasibility.models import Advice, CheckResult, HazardRow, Submission

__all__ = ["Advice", "CheckResult", "HazardRow", "Submission"]
