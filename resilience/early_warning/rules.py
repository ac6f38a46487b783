"""The warning rule set: agencies, hazards and threshold rules, loaded from YAML and validated.

A rule set is declarative (``resilience/data/rules/shanghai.yaml``). Each rule has criteria;
a criterion is one metric of one forecast variable (an hourly value, a rolling ``sum`` over
``window_h`` hours, or the local ``daily_max``) with one threshold per level it can trigger.
A member reaches a level at an hour when any criterion meets that level's threshold (for
``duration_h`` consecutive hours). Every threshold carries ``source`` and ``unconfirmed``
(domain brief: UNCONFIRMED facts stay configurable and flagged).

Two kinds of criteria are *impact-based*:

* ``asset_level``: the rule covers assets of the inventory (``assets``); the metric is the
  forecast value at each asset minus the asset's own level (an inventory column or a
  catalogue field, plus an offset, and no lower than a defence level), so thresholds are
  margins in the variable's units (``-0.3``: within 0.3 m of the level).
* ``layer_level``: the metric is the local return period (years) of the forecast value,
  read off a hazard layer's return levels per grid cell (``idf_intensity``: the 3-h total
  against the 3-h IDF depth), so thresholds are return periods.

:func:`load_rules` raises :class:`RuleError` naming the file, the rule and the field when the
file is inconsistent (models in :mod:`resilience.early_warning.rule_models`, cross-field
checks in :mod:`resilience.early_warning.rule_checks`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from resilience.early_warning.rule_checks import check_rule_set
from resilience.early_warning.rule_models import RuleError, RuleSet
from resilience.validation_text import error_message

__all__ = ["default_rules_path", "load_rules", "parse_rules"]


def default_rules_path() -> Path:
    """Return the path of the shipped Shanghai rule set."""
    return Path(str(resources.files("resilience") / "data" / "rules" / "shanghai.yaml"))


def _where(raw: dict, loc: tuple) -> str:
    """Describe a pydantic error location, naming the rule or agency id when there is one."""
    if len(loc) >= 2 and loc[0] in ("rules", "agencies") and isinstance(loc[1], int):
        items = raw.get(loc[0]) or []
        ident = items[loc[1]].get("id", "?") if loc[1] < len(items) else "?"
        rest = ".".join(str(p) for p in loc[2:])
        kind = {"rules": "rule", "agencies": "agency"}[loc[0]]
        return f"{kind} {ident!r}, field {rest or '(whole entry)'}"
    return "field " + ".".join(str(p) for p in loc)


def parse_rules(raw: object, *, name: str = "<rules>") -> RuleSet:
    """Validate a rule set given as parsed YAML.

    Parameters
    ----------
    raw : object
        The mapping read from a rule file.
    name : str
        File name used in error messages.

    Returns
    -------
    RuleSet

    Raises
    ------
    RuleError
        Naming ``name``, the rule or agency id and the field, and what was expected.
    """
    if not isinstance(raw, dict):
        raise RuleError(f"{name}: expected a mapping with agencies, hazards and rules")
    try:
        rules = RuleSet.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{_where(raw, e['loc'])}: {error_message(e)}" for e in exc.errors()]
        if len(lines) == 1:
            raise RuleError(f"{name}: {lines[0]}") from exc
        listed = "\n".join(f"  {line}" for line in lines)
        raise RuleError(f"{name}: {len(lines)} fields are invalid\n{listed}") from exc
    check_rule_set(rules, name)
    return rules


def load_rules(path: Path | None = None) -> RuleSet:
    """Load and validate a rule file (default: the shipped Shanghai rules).

    Parameters
    ----------
    path : Path, optional
        YAML rule file; ``None`` uses :func:`default_rules_path`.

    Returns
    -------
    RuleSet

    Raises
    ------
    RuleError
        If the file is missing, is not valid YAML or breaks a rule (names file, rule id and
        field).
    """
    path = Path(path) if path is not None else default_rules_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleError(f"{path}: cannot read the rule file: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from exc
    return parse_rules(raw, name=str(path))
