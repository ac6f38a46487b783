"""What the engineers' pages print about a check and the catalogue, as plain table cells.

``resilience.web`` may not import ``resilience.feasibility`` (docs/design.md), so these
functions read a check's result by its fields (a pydantic ``CheckResult`` arrives duck-typed):
the per-hazard summary (the worst scenario's design-life chance against the hazard's target,
the highest score) and the tipping points. :func:`catalogue_defaults` gives each asset type's
standards from ``assets.catalogue`` for the form.
"""

from __future__ import annotations

from typing import Any

from assets.catalogue import ASSET_TYPES
from assets.metrics import exceeds_target
from resilience.probability_text import percent_text

__all__ = ["STANDARD_FIELDS", "catalogue_defaults", "hazard_summary", "percent", "tipping_rows"]

#: The form's fields that default from the asset type's catalogue entry, with the
#: ``AssetType`` attribute each defaults from (``Submission._defaults_from_catalogue``).
STANDARD_FIELDS: dict[str, str] = {
    "design_life_years": "design_life_years",
    "heat_standard": "heat_standard",
    "heat_threshold_degc": "heat_threshold_degc",
    "heat_days_standard": "heat_days_standard",
    "drainage_return_period_years": "drainage_return_period_years",
}


#: A probability as the report writes it ("<0.01 %", "0.528 %", "97.7 %").
percent = percent_text


def catalogue_defaults() -> dict[str, dict[str, Any]]:
    """Return each asset type's catalogue standards, for the form's hints and table.

    Returns
    -------
    dict of str to dict
        By asset type: ``label``, the :data:`STANDARD_FIELDS` values (design life in years,
        heat standard kind, heat threshold in degC, hot days per year or None, drainage
        return period in years), ``hazards`` (checked hazards), ``confirmed`` (False when a
        default rests on an UNCONFIRMED fact) and ``heat_basis``.
    """
    return {
        name: {
            "label": kind.label,
            **{field: getattr(kind, attribute) for field, attribute in STANDARD_FIELDS.items()},
            "hazards": list(kind.hazards),
            "confirmed": kind.confirmed,
            "heat_basis": kind.heat_basis,
        }
        for name, kind in ASSET_TYPES.items()
    }


def _worst(rows: list[Any]) -> Any | None:
    known = [r for r in rows if r.design_life_exceedance_probability is not None]
    return max(known, key=lambda r: r.design_life_exceedance_probability, default=None)


def hazard_summary(result: Any) -> list[dict[str, Any]]:
    """Return one line per hazard of a check: its standard, worst case, target and score.

    Parameters
    ----------
    result : CheckResult
        The check (read by field: ``rows``, ``hazard_targets``, ``target_probability``,
        ``governing_hazard``, ``not_checked``).

    Returns
    -------
    list of dict
        In the rows' order, then hazards that were not checked: ``hazard``, ``standard``
        (value and units as text), ``worst`` (the highest design-life exceedance
        probability over scenarios, as text) and ``worst_scenario``, ``target`` (the
        hazard's acceptable design-life probability, as text), ``above`` (True when the
        worst case is above the target: the check then needs adaptation), ``score`` and
        ``risk_class`` (the highest score over every scenario and horizon), ``governing``,
        and ``not_checked`` (the reason, or "").
    """
    lines = []
    hazards = list(dict.fromkeys(row.hazard for row in result.rows))
    for hazard in hazards:
        rows = [row for row in result.rows if row.hazard == hazard]
        target = result.hazard_targets.get(hazard, result.target_probability)
        worst = _worst(rows)
        scored = [r for r in rows if r.score is not None]
        top = max(scored, key=lambda r: r.score, default=None)
        standard = rows[0].standard
        lines.append(
            {
                "hazard": hazard,
                "standard": "n/a"
                if standard is None
                else f"{standard:.4g} {rows[0].standard_units}",
                "worst": percent(worst.design_life_exceedance_probability) if worst else "n/a",
                "worst_scenario": worst.scenario if worst else "",
                "target": percent(target),
                "above": bool(
                    worst and exceeds_target(worst.design_life_exceedance_probability, target)
                ),
                "score": "" if top is None else str(top.score),
                "risk_class": "" if top is None else top.risk_class,
                "governing": hazard == result.governing_hazard,
                "not_checked": result.not_checked.get(hazard, ""),
            }
        )
    for hazard, reason in result.not_checked.items():
        if hazard not in hazards:
            lines.append({"hazard": hazard, "not_checked": reason, "governing": False})
    return lines


def tipping_rows(result: Any) -> list[dict[str, str]]:
    """Return the check's adaptation tipping points as table cells.

    Parameters
    ----------
    result : CheckResult
        The check (``tipping_points``: hazard, scenario, standard, units, year, status).

    Returns
    -------
    list of dict of str
        ``hazard``, ``scenario``, ``standard`` (with units), ``year`` ("—" when not reached
        by the last horizon) and ``status`` (``before_start``, ``within_life``,
        ``after_life`` or ``not_reached``).
    """
    return [
        {
            "hazard": point.hazard,
            "scenario": point.scenario,
            "standard": "n/a" if point.standard is None else f"{point.standard:.4g} {point.units}",
            "year": "—" if point.year is None else str(point.year),
            "status": point.status,
        }
        for point in result.tipping_points
    ]
