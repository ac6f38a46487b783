"""Early warnings: rule set, rule engine, alert lifecycle and CAP 1.2 bulletins (design path 3).

``rules`` loads and validates the YAML rule set, ``metric`` and ``episode`` turn a forecast
into hourly levels and episodes, ``engine`` evaluates the rules into ``AlertDecision``s,
``lifecycle`` issues and stores Alert/Update/Cancel messages built by ``cap``, ``run`` is the
entry point for the CLI and the flow, and ``bulletin`` formats a run for people.
"""

from resilience.early_warning.bulletin import bulletin_lines, format_bulletins
from resilience.early_warning.cap import CapValidationError, build_cap, validate_cap
from resilience.early_warning.decision import AlertDecision, AreaRef, LevelStep
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.lifecycle import IssuedMessage, issue_alerts
from resilience.early_warning.rules import RuleError, RuleSet, load_rules
from resilience.early_warning.run import WarningRun, run_warnings

__all__ = [
    "AlertDecision",
    "AreaRef",
    "CapValidationError",
    "IssuedMessage",
    "LevelStep",
    "RuleError",
    "RuleSet",
    "WarningRun",
    "build_cap",
    "bulletin_lines",
    "evaluate_rules",
    "format_bulletins",
    "issue_alerts",
    "load_rules",
    "run_warnings",
    "validate_cap",
]
