"""Which rules the inputs at hand allow: an asset inventory, hazard layers.

Impact rules need more than a forecast and districts: ``assets`` rules an inventory,
``layer_level`` criteria a hazard layer by name (``idf``). :func:`runnable_rules` leaves out
the rules whose inputs are missing and says why (the CLI and ``run_warnings`` report them);
:func:`check_inputs` raises instead (``evaluate_rules`` calls it).
"""

from __future__ import annotations

from collections.abc import Mapping

from resilience.early_warning.rule_models import HazardRule, RuleSet

__all__ = ["check_inputs", "rule_inputs", "runnable_rules"]


def rule_inputs(rule: HazardRule) -> list[str]:
    """Return what a rule needs beyond the forecast and districts: ``assets``, ``layer:NAME``."""
    needs = ["assets"] if rule.assets is not None else []
    needs += [f"layer:{c.layer_level.layer}" for c in rule.criteria if c.layer_level]
    return needs


def _missing(rule: HazardRule, assets: object, layers: Mapping[str, object]) -> str | None:
    for need in rule_inputs(rule):
        if need == "assets" and assets is None:
            return "needs an asset inventory (assets=...)"
        if need.startswith("layer:") and need[6:] not in layers:
            return f"needs hazard layer {need[6:]!r} (layers=...)"
    return None


def runnable_rules(
    rules: RuleSet,
    *,
    assets: object | None = None,
    layers: Mapping[str, object] | None = None,
) -> tuple[RuleSet, dict[str, str]]:
    """Split a rule set into the rules the given inputs allow and the others, with reasons.

    Parameters
    ----------
    rules : RuleSet
        The rule set.
    assets : geopandas.GeoDataFrame, optional
        The asset inventory, if any.
    layers : mapping of str to xarray.Dataset, optional
        The hazard layers at hand, by name.

    Returns
    -------
    (RuleSet, dict of str to str)
        The rule set without the rules whose inputs are missing (agencies and hazards kept),
        and ``{rule_id: reason}`` for those left out.
    """
    layers = layers or {}
    skipped = {r.id: why for r in rules.rules if (why := _missing(r, assets, layers)) is not None}
    kept = [r for r in rules.rules if r.id not in skipped]
    return rules.model_copy(update={"rules": kept}), skipped


def check_inputs(rules: RuleSet, *, assets: object | None, layers: Mapping[str, object]) -> None:
    """Raise ``ValueError`` naming the first rule whose inventory or layer is missing."""
    for rule in rules.rules:
        why = _missing(rule, assets, layers)
        if why is not None:
            raise ValueError(f"rule {rule.id!r}: {why}")
