"""Semantic checks of a rule set, beyond its schema: each failure is a :class:`RuleError`.

What is checked (every message names the file, the rule or agency id and the field):

* names: unknown hazard, issuer or agency hazard; duplicate rule ids; two rules for one
  hazard (alerts are keyed by hazard and district); unknown asset types;
* thresholds: a level listed twice (overlapping), levels out of order, values not strictly
  increasing with the level, a level not among the rule's levels;
* reachability: a rule level without any threshold, or a threshold above the largest value
  the metric can physically take;
* inputs: station criteria need a station and an explicit district list; impact criteria
  need an asset selection (and only asset rules may have them), a level in the variable's
  units, and return periods >= 1 year;
* ``asset_agencies``: every key an asset type of the catalogue, every value an agency id.
"""

from __future__ import annotations

from resilience.early_warning.rule_models import LEVELS, Criterion, HazardRule, RuleError, RuleSet

__all__ = ["PLAUSIBLE_MAX", "check_rule_set"]

#: Largest physically plausible value of each metric per hour of window; a threshold above
#: it can never be reached. Bounds well above records (domain.md 4.4, 4.5, 1.5): Tmax 40.9
#: degC, 117 mm in 1 h, 5.99 m storm tide.
PLAUSIBLE_MAX: dict[str, float] = {
    "tas": 60.0,
    "pr": 300.0,
    "sfcWind": 100.0,
    "wind_gust": 120.0,
    "water_level": 12.0,
}
#: Largest margin (units of the variable) an asset threshold may ask for: a water level 10 m
#: above an asset's level, or 10 K above its temperature limit, is beyond any forecast.
_MARGIN_MAX = 10.0
#: Longest return period a layer threshold may ask for (years): hazard layers stop at 1000.
_RETURN_PERIOD_MAX = 10000.0
#: Units suffix an inventory column must carry for each variable (house style: units in names).
_COLUMN_UNITS = {"water_level": "_m", "tas": "_degc"}
#: Catalogue fields usable for each variable.
_CATALOGUE_VARIABLES = {"heat_threshold_degc": "tas"}


def _check_order(crit: Criterion, where: str) -> None:
    order = [LEVELS.index(t.level) for t in crit.thresholds]
    if len(set(order)) != len(order):
        raise RuleError(f"{where}, field thresholds: level listed twice (overlapping levels)")
    if order != sorted(order):
        raise RuleError(
            f"{where}, field thresholds: levels out of order; expected blue<yellow<orange<red"
        )
    for low, high in zip(crit.thresholds, crit.thresholds[1:], strict=False):
        if not high.value > low.value:
            raise RuleError(
                f"{where}, field thresholds: values not strictly increasing by level: "
                f"{low.level} {low.value} >= {high.level} {high.value}"
            )


def _bounds(crit: Criterion) -> tuple[float, float, str]:
    """Return (lowest, highest) reachable threshold values of a criterion and what they are."""
    if crit.layer_level is not None:
        return 1.0, _RETURN_PERIOD_MAX, "return period in years"
    if crit.asset_level is not None:
        return -_MARGIN_MAX, _MARGIN_MAX, f"margin to the asset level of {crit.variable}"
    high = PLAUSIBLE_MAX[crit.variable] * (crit.window_h if crit.aggregation == "sum" else 1)
    return -float("inf"), high, f"plausible maximum of {crit.variable}"


def _check_reach(rule: HazardRule, crit: Criterion, where: str) -> None:
    low, high, what = _bounds(crit)
    for t in crit.thresholds:
        if t.level not in rule.levels:
            raise RuleError(
                f"{where}, field thresholds: level {t.level!r} is not in the rule's levels"
            )
        if t.value > high:
            raise RuleError(
                f"{where}, field thresholds: level {t.level!r} can never be reached: "
                f"{t.value} exceeds the {what} ({high})"
            )
        if t.value < low:
            raise RuleError(
                f"{where}, field thresholds: level {t.level!r}: {t.value} is below the "
                f"{what} ({low})"
            )


def _check_asset_level(rule: HazardRule, crit: Criterion, where: str) -> None:
    ref = crit.asset_level
    if ref is None:
        if rule.assets is not None:
            raise RuleError(
                f"{where}, field asset_level: an asset rule needs it on every criterion"
            )
        return
    if rule.assets is None:
        raise RuleError(f"{where}, field asset_level: the rule has no 'assets' selection")
    if (ref.column is None) == (ref.catalogue is None):
        raise RuleError(f"{where}, field asset_level: expected exactly one of column, catalogue")
    suffix = _COLUMN_UNITS.get(crit.variable)
    for column in (ref.column, ref.defence_column):
        if column is not None and (suffix is None or not column.endswith(suffix)):
            raise RuleError(
                f"{where}, field asset_level: column {column!r} must be in the units of "
                f"{crit.variable} (name ending {suffix or '(no asset columns for it)'!r})"
            )
    if ref.catalogue is not None and _CATALOGUE_VARIABLES[ref.catalogue] != crit.variable:
        raise RuleError(
            f"{where}, field asset_level: catalogue {ref.catalogue!r} is for "
            f"{_CATALOGUE_VARIABLES[ref.catalogue]}, not {crit.variable}"
        )
    if ref.offset and not ref.offset_source:
        raise RuleError(f"{where}, field asset_level: an offset needs offset_source")


def _check_layer_level(crit: Criterion, where: str) -> None:
    ref = crit.layer_level
    if ref is None:
        return
    if crit.station is not None:
        raise RuleError(f"{where}, field layer_level: station series have no grid return levels")
    if "duration" in ref.select or "return_period" in ref.select:
        raise RuleError(
            f"{where}, field layer_level.select: duration comes from window_h and return_period "
            "from the thresholds; do not select them"
        )


def _check_criterion(rule: HazardRule, crit: Criterion, where: str) -> None:
    _check_order(crit, where)
    _check_reach(rule, crit, where)
    if (crit.variable == "water_level") != (crit.station is not None):
        raise RuleError(
            f"{where}, field station: expected a station for water_level and only for it"
        )
    if crit.asset_level is not None and crit.layer_level is not None:
        raise RuleError(f"{where}: expected asset_level or layer_level, not both")
    _check_asset_level(rule, crit, where)
    _check_layer_level(crit, where)


def _check_rule(rules: RuleSet, rule: HazardRule, name: str) -> None:
    from assets.catalogue import ASSET_TYPES

    where = f"{name}: rule {rule.id!r}"
    if rule.hazard not in rules.hazards:
        raise RuleError(f"{where}, field hazard: unknown hazard {rule.hazard!r}")
    if rule.issuer not in {a.id for a in rules.agencies}:
        raise RuleError(f"{where}, field issuer: unknown agency {rule.issuer!r}")
    if list(rule.levels) != sorted(set(rule.levels), key=LEVELS.index):
        raise RuleError(f"{where}, field levels: overlapping or unordered levels {rule.levels}")
    unknown = sorted(set(rule.assets.types) - set(ASSET_TYPES)) if rule.assets else []
    if unknown:
        raise RuleError(
            f"{where}, field assets.types: unknown asset type {unknown}; expected some of "
            f"{sorted(ASSET_TYPES)}"
        )
    for crit in rule.criteria:
        _check_criterion(rule, crit, f"{where}, criterion {crit.id!r}")
    reached = {t.level for c in rule.criteria for t in c.thresholds}
    for level in rule.levels:
        if level not in reached:
            raise RuleError(f"{where}, field levels: level {level!r} can never be reached")
        if level not in rule.guidance:
            raise RuleError(f"{where}, field guidance: no guidance for level {level!r}")
    if any(c.station for c in rule.criteria) and rule.areas == "all":
        raise RuleError(f"{where}, field areas: a station rule needs an explicit district list")


def _check_asset_agencies(rules: RuleSet, name: str) -> None:
    from assets.catalogue import ASSET_TYPES

    known = {a.id for a in rules.agencies}
    for asset_type, agency in rules.asset_agencies.items():
        if asset_type not in ASSET_TYPES:
            raise RuleError(
                f"{name}: field asset_agencies: unknown asset type {asset_type!r}; expected "
                f"some of {sorted(ASSET_TYPES)}"
            )
        if agency not in known:
            raise RuleError(
                f"{name}: field asset_agencies.{asset_type}: unknown agency {agency!r}; "
                f"expected one of {sorted(known)}"
            )


def check_rule_set(rules: RuleSet, name: str) -> None:
    """Check a schema-valid rule set for the errors listed in the module docstring.

    Parameters
    ----------
    rules : RuleSet
        The parsed rule set.
    name : str
        File name used in error messages.

    Raises
    ------
    RuleError
        At the first problem, naming ``name``, the rule or agency id and the field.
    """
    ids = [r.id for r in rules.rules]
    if len(set(ids)) != len(ids):
        raise RuleError(f"{name}: rules: duplicate rule id in {ids}")
    seen: dict[str, str] = {}
    for rule in rules.rules:
        if rule.hazard in seen:
            raise RuleError(
                f"{name}: rule {rule.id!r}, field hazard: {rule.hazard!r} already has rule "
                f"{seen[rule.hazard]!r}; expected one rule per hazard (alerts are keyed by "
                "hazard and district)"
            )
        seen[rule.hazard] = rule.id
    for agency in rules.agencies:
        unknown = sorted(set(agency.hazards) - set(rules.hazards))
        if unknown:
            raise RuleError(f"{name}: agency {agency.id!r}, field hazards: unknown {unknown}")
        if len(set(agency.channels)) != len(agency.channels):
            raise RuleError(f"{name}: agency {agency.id!r}, field channels: listed twice")
    _check_asset_agencies(rules, name)
    for rule in rules.rules:
        _check_rule(rules, rule, name)
