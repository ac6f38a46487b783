"""The values a feasibility report prints, built from a CheckResult in one language.

Each function turns part of a :class:`~resilience.feasibility.models.CheckResult` into the
strings the template (``report_template``) shows: table cells with the model spread, the
executive summary's governing hazard and the one number to change, options, tipping points
and layer provenance. Fields that a check did not fill give "not available", never an error.
"""

from __future__ import annotations

from typing import Any

from resilience.feasibility.models import AdaptationOption, Advice, CheckResult, HazardRow
from resilience.feasibility.report_context import ReportContext
from resilience.feasibility.report_text import (
    TEXT,
    Lang,
    horizon_label,
    metric_label,
    num,
    pct,
    scenario_label,
    units_label,
)

__all__ = [
    "DIGITS",
    "advice_text",
    "change",
    "governing",
    "heat_standard",
    "hazard_sections",
    "layer_rows",
    "layer_names",
    "option_rows",
    "option_text",
    "tipping_rows",
]

#: Decimals shown per unit (the precision the layers carry).
DIGITS = {"m": 2, "degC": 1, "mm/day": 0, "days/yr": 1}


def _spread(
    value: float | None, low: float | None, high: float | None, show: Any
) -> tuple[str, str]:
    """Return the value and its model spread "(low – high)" ("" without a spread)."""
    if value is None or low is None or high is None:
        return show(value), ""
    return show(value), f"({show(low)} – {show(high)})"


def _row_cells(row: HazardRow, lang: Lang) -> dict[str, Any]:
    digits = DIGITS.get(row.metric_units, 2)

    def value(v: float | None) -> str:
        return num(v, digits)

    return {
        "scenario": scenario_label(row.scenario, lang, short=True),
        "horizon": horizon_label(row.horizon, lang),
        "value": _spread(row.metric_value, row.metric_value_p10, row.metric_value_p90, value),
        "standard": (num(row.standard, DIGITS.get(row.standard_units, 2)), ""),
        "annual": _spread(
            row.annual_exceedance_probability,
            row.annual_exceedance_probability_p10,
            row.annual_exceedance_probability_p90,
            pct,
        ),
        "life": _spread(
            row.design_life_exceedance_probability,
            row.design_life_exceedance_probability_p10,
            row.design_life_exceedance_probability_p90,
            pct,
        ),
        "depth": "" if row.flood_depth_m is None else f"{row.flood_depth_m:.2f} m",
        "l": "" if row.likelihood is None else str(row.likelihood),
        "c": "" if row.consequence is None else str(row.consequence),
        "score": "" if row.score is None else str(row.score),
        "risk_class": row.risk_class,
        "class_label": TEXT[row.risk_class][lang] if row.risk_class in TEXT else row.risk_class,
    }


def _life_lines(rows: list[HazardRow], lang: Lang) -> list[str]:
    """One line per scenario: its design-life chance with the 10-90 % spread."""
    lines, seen = [], set()
    for row in rows:
        if row.scenario in seen or row.design_life_exceedance_probability is None:
            continue
        seen.add(row.scenario)
        low = row.design_life_exceedance_probability_p10
        high = row.design_life_exceedance_probability_p90
        key = "life_p_line" if low is not None and high is not None else "life_p_line_only"
        lines.append(
            TEXT[key][lang].format(
                scenario=scenario_label(row.scenario, lang),
                p=pct(row.design_life_exceedance_probability),
                lo=pct(low),
                hi=pct(high),
            )
        )
    return lines


def hazard_sections(
    result: CheckResult, lang: Lang, context: ReportContext
) -> list[dict[str, Any]]:
    """Return one section per hazard: labels, table cells and figures."""
    from resilience.feasibility.report_figures import probability_figure, return_level_figure

    sections = []
    for hazard in dict.fromkeys(row.hazard for row in result.rows):
        rows = [row for row in result.rows if row.hazard == hazard]
        curve = context.curves.get(hazard)
        figure = return_level_figure(result, hazard, lang, curve)
        first = rows[0]
        quantiles = getattr(first, "spread_quantiles", None)
        sections.append(
            {
                "name": hazard,
                "spread": f"{100 * quantiles[0]:g}-{100 * quantiles[1]:g} %"
                if quantiles
                else "10-90 %",
                "not_checked": result.not_checked.get(hazard, ""),
                "metric": metric_label(first.metric, lang),
                "units": units_label(first.metric_units, lang),
                "basis": first.standard_basis,
                "depth": any(row.flood_depth_m is not None for row in rows),
                "rows": [_row_cells(row, lang) for row in rows],
                "probability_svg": probability_figure(result, hazard, lang),
                "life_lines": _life_lines(rows, lang),
                "return_svg": figure[0] if figure else None,
                "return_source": figure[1] if figure else None,
                "curve_where": curve.where if curve is not None else "",
            }
        )
    return sections


def heat_standard(result: CheckResult, lang: Lang) -> tuple[str, str]:
    """Return the heat standard's kind and value as printed in the project table."""
    submission = result.submission
    kind = str(getattr(submission, "heat_standard", "equipment") or "equipment")
    threshold = num(submission.heat_threshold_degc, 1)
    days = getattr(submission, "heat_days_standard", None)
    if kind == "hot_days" and days is not None:
        value = f"{days:g} {units_label('days/yr', lang)}, Tmax ≥ {threshold} °C"
    else:
        value = f"{threshold} °C"
    return (TEXT[kind][lang] if kind in TEXT else kind), value


def governing(result: CheckResult, lang: Lang) -> str:
    """Return the governing hazard with its worst row, or "not available"."""
    hazard = result.governing_hazard
    if hazard is None:
        return TEXT["not_available"][lang]
    rows = [r for r in result.rows if r.hazard == hazard and r.score is not None]
    if not rows:
        return TEXT[hazard][lang]
    worst = max(rows, key=lambda r: (r.score or 0, r.design_life_exceedance_probability or 0))
    return (
        f"{TEXT[hazard][lang]}: {TEXT['score'][lang]} {worst.score} "
        f"({TEXT[worst.risk_class][lang] if worst.risk_class in TEXT else worst.risk_class}), "
        f"{scenario_label(worst.scenario, lang)}, {horizon_label(worst.horizon, lang)}; "
        f"{TEXT['life_p'][lang].split(' (')[0].split('（')[0]} "
        f"{pct(worst.design_life_exceedance_probability)}"
    )


def option_text(option: AdaptationOption, lang: Lang) -> str:
    """Return an adaptation option's action in ``lang`` (English: the engine's words)."""
    if lang == "en":
        return option.action
    changes = dict(option.changes)
    if not changes and option.hazard != "combined" and option.standard is not None:
        changes = {option.hazard: option.standard}
    parts = [_change_zh(hazard, value, option.units) for hazard, value in changes.items()]
    return "；".join(parts) if parts else option.action


def _change_zh(hazard: str, value: float, units: str) -> str:
    if hazard == "surge":
        return f"防护高程提高至 {value:.2f} 米（吴淞基面）"
    if hazard == "rain":
        return f"排水设计雨量提高至 {value:g} 毫米/日"
    if hazard == "heat" and units == "days/yr":
        return f"高温日数设计标准调整为 {value:g} 天/年"
    name = TEXT[hazard]["zh"] if hazard in TEXT else hazard
    return f"{name}设计标准调整为 {value:g} {units_label(units, 'zh')}"


def advice_text(advice: Advice, lang: Lang) -> str:
    """Return an advice line in ``lang`` (English: the engine's message)."""
    if lang == "en":
        return advice.message
    units = units_label(advice.units, lang)
    current = "暂无" if advice.current_standard is None else f"{advice.current_standard:.4g}"
    text = (
        f"{TEXT[advice.hazard][lang]}：设计标准由 {current} 调整为 {advice.advised_standard:g} "
        f"{units}（最不利情景 {scenario_label(advice.worst_scenario, lang)}，设计年限内超越概率 "
        f"{pct(advice.design_life_exceedance_probability)}）"
    )
    if advice.advised_return_period_years is not None:
        text += f"，相当于基准期 {advice.advised_return_period_years:.0f} 年一遇"
    return text


def change(result: CheckResult, lang: Lang) -> str:
    """Return the one number to change: the best single option, else the advice.

    Single-hazard options rank by the verdict they give, then the governing hazard first;
    when the best one alone does not make the project feasible, the verdict of all advised
    changes together follows.
    """
    if result.verdict == "feasible":
        return TEXT["no_change"][lang]
    order = {"feasible": 0, "feasible_with_adaptation": 1, "not_feasible": 2}
    singles = sorted(
        (o for o in result.options if o.hazard != "combined"),
        key=lambda o: (order[o.verdict], o.hazard != result.governing_hazard),
    )
    if singles:
        best = singles[0]
        text = f"{option_text(best, lang)} → {TEXT[best.verdict][lang]}"
        combined = [o for o in result.options if o.hazard == "combined"]
        if best.verdict != "feasible" and combined:
            text += f"; {TEXT['combined'][lang]} → {TEXT[combined[0].verdict][lang]}"
        return text
    advice = sorted(result.advice, key=lambda a: a.hazard != result.governing_hazard)
    if advice:
        return advice_text(advice[0], lang)
    return TEXT["not_available"][lang]


def option_rows(result: CheckResult, lang: Lang) -> list[dict[str, str]]:
    """Return the adaptation options as table cells."""
    return [
        {
            "hazard": TEXT[o.hazard][lang],
            "action": option_text(o, lang),
            "verdict": o.verdict,
            "verdict_label": TEXT[o.verdict][lang],
            "p": pct(o.design_life_exceedance_probability),
        }
        for o in result.options
    ]


def tipping_rows(result: CheckResult, lang: Lang) -> list[dict[str, str]]:
    """Return the tipping points as table cells."""
    return [
        {
            "hazard": TEXT[p.hazard][lang],
            "scenario": scenario_label(p.scenario, lang),
            "standard": f"{num(p.standard, DIGITS.get(p.units, 2))} {units_label(p.units, lang)}",
            "year": "—" if p.year is None else str(p.year),
            "status": TEXT[p.status][lang],
        }
        for p in result.tipping_points
    ]


def layer_rows(result: CheckResult, lang: Lang) -> list[dict[str, str]]:
    """Return the provenance table: version, inputs sha256, synthetic flag, code."""
    flag = {"yes": TEXT["yes"][lang], "no": TEXT["no"][lang]}
    rows = []
    for hazard in dict.fromkeys([*result.layer_versions, *result.layer_inputs]):
        layer = result.layer_inputs.get(hazard)
        rows.append(
            {
                "hazard": TEXT[hazard][lang] if hazard in TEXT else hazard,
                "version": result.layer_versions.get(hazard, ""),
                "sha": layer.inputs_sha256 if layer else "",
                "synthetic": flag.get(layer.synthetic, TEXT["unknown_value"][lang])
                if layer
                else TEXT["unknown_value"][lang],
                "code": layer.code_version if layer else "",
            }
        )
    return rows


def layer_names(result: CheckResult, flag: str, lang: Lang) -> str:
    """Return the names of the layers whose synthetic flag is ``flag``."""
    return ", ".join(
        TEXT[h][lang] if lang == "zh" and h in TEXT else h
        for h, layer in result.layer_inputs.items()
        if layer.synthetic == flag
    )
