"""Early warnings: rule set, rule engine, alert lifecycle and CAP 1.2 bulletins (design path 3).

``rules`` loads the YAML rule set into the models of ``rule_models`` and validates it
(``rule_checks``); ``metric``, ``impact``
and ``episode`` turn a forecast into hourly levels and episodes per district or asset;
``engine`` evaluates the rules (``availability``: which ones the inputs allow) into
``AlertDecision``s; ``lifecycle`` (with ``schedule`` and ``supersede``)
issues and stores Alert/Update/Cancel messages built by ``cap``; ``run`` is the entry point
for the CLI and ``intake`` the steps of the warnings flow; ``bulletin`` formats a run for
people. Delivery: ``outbox``, ``dispatch``, ``delivery_config``, ``delivery``; views: ``feed``;
scoring: ``verify`` and ``verify_inputs`` (docs/warnings.md, docs/warning_delivery.md).
Its tables are in :mod:`resilience.storage.tables`. May import :mod:`resilience.storage`,
:mod:`resilience.geodata` and ``assets``; start reading at ``run``.
"""

from resilience.early_warning.availability import runnable_rules
from resilience.early_warning.bulletin import bulletin_lines, format_bulletins
from resilience.early_warning.cap import CapValidationError, build_cap, validate_cap
from resilience.early_warning.decision import AlertDecision, AreaRef, LevelStep, RuleScope
from resilience.early_warning.engine import evaluate_rules, rule_scopes
from resilience.early_warning.lifecycle import IssuedMessage, issue_alerts
from resilience.early_warning.rule_models import RuleError, RuleSet
from resilience.early_warning.rules import load_rules
from resilience.early_warning.run import WarningRun, load_inputs, run_warnings

__all__ = [
    "AlertDecision",
    "AreaRef",
    "CapValidationError",
    "IssuedMessage",
    "LevelStep",
    "RuleError",
    "RuleScope",
    "RuleSet",
    "WarningRun",
    "build_cap",
    "bulletin_lines",
    "evaluate_rules",
    "format_bulletins",
    "issue_alerts",
    "load_inputs",
    "load_rules",
    "rule_scopes",
    "run_warnings",
    "runnable_rules",
    "validate_cap",
]
