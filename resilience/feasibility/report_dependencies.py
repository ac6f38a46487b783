"""The strings of the "Dependencies" section of the feasibility report, in en and zh.

The HTML/PDF template and the CLI (``report.format_dependencies``) show them: what the
project draws on (each supplier, named or assumed, and its chance of failing over the
project's design life), the project's service-loss probability with and without
its suppliers (both bounds), a new substation's dependants, or why the section was not
assessed (``resilience.feasibility.dependencies``). The verdict does not use it.
"""

from __future__ import annotations

from typing import Any

from resilience.feasibility.dependency_models import SupplierLossRow
from resilience.feasibility.models import CheckResult
from resilience.feasibility.report_text import Lang, num, pct, scenario_label

__all__ = ["DEPENDENCY_TEXT", "dependency_section"]

DEPENDENCY_TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Dependencies", "zh": "依赖关系"},
    "lead": {
        "en": "What the project draws on to operate, and the probability that each supplier "
        "fails over the project's design life (lower bound: one event hits all, max p; upper "
        "bound: independent events). Reported beside the verdict, which rests on the "
        "project's own hazards.",
        "zh": "项目运行所依赖的设施，以及各供给设施在项目设计使用年限内失效的概率（下限：同一事件"
        "同时影响所有设施，取最大值；上限：各事件相互独立）。仅与论证结论并列报告，结论仍基于项目"
        "自身灾害。",
    },
    "not_assessed": {"en": "Not assessed:", "zh": "未评估："},
    "no_section": {
        "en": "the check was run without an inventory (no dependencies section).",
        "zh": "本次论证未使用设施清单（无依赖关系结果）。",
    },
    "supplier": {"en": "Supplier", "zh": "供给设施"},
    "type": {"en": "Type", "zh": "类型"},
    "distance": {"en": "Distance (km)", "zh": "距离（公里）"},
    "basis": {"en": "Basis", "zh": "依据"},
    "named": {"en": "named", "zh": "申报指定"},
    "assumed": {"en": "assumed (nearest)", "zh": "假定（最近）"},
    "fails": {"en": "Design-life failure p", "zh": "设计使用年限内失效概率"},
    "scenario": {"en": "Scenario", "zh": "情景"},
    "own": {"en": "Own hazards", "zh": "自身灾害"},
    "with": {"en": "With suppliers", "zh": "计入供给设施"},
    "loss": {
        "en": "Probability of losing service over the design life",
        "zh": "设计使用年限内失去服务的概率",
    },
    "dependants": {
        "en": "Assets of the inventory whose nearest substation this would be:",
        "zh": "清单中以本变电站为最近变电站的设施：",
    },
    "dependants_none": {
        "en": "No asset of the inventory would have this as its nearest substation.",
        "zh": "清单中没有设施以本变电站为最近变电站。",
    },
    "source_risk_table": {
        "en": "Suppliers' probabilities: their rows of the published risk table",
        "zh": "供给设施概率来源：已发布风险表中的对应记录",
    },
    "source_check_at_site": {
        "en": "Suppliers' probabilities: this check run at each supplier's site (no risk "
        "table published)",
        "zh": "供给设施概率来源：在各供给设施位置运行本论证（未发布风险表）",
    },
    "source_none": {"en": "", "zh": ""},
}


def _t(key: str, lang: Lang) -> str:
    return DEPENDENCY_TEXT[key][lang]


def _bounds(lower: float | None, upper: float | None) -> str:
    """Return "lower-upper" as percentages, one value when they are equal."""
    if lower is None or upper is None:
        return "n/a"
    return pct(lower) if pct(lower) == pct(upper) else f"{pct(lower)} – {pct(upper)}"


def _life(row: SupplierLossRow) -> str:
    shown = _bounds(
        row.design_life_failure_probability_lower, row.design_life_failure_probability_upper
    )
    if row.hazards_unknown:  # the bounds cover the known hazards only: say which are not
        return f"{shown} (+ {', '.join(row.hazards_unknown)}: n/a)"
    return shown


def _supplier_cells(result: CheckResult, lang: Lang) -> list[list[str]]:
    section = result.dependencies
    assert section is not None
    rows = []
    for s in section.suppliers:
        per_scenario: dict[str, SupplierLossRow] = {}
        for r in s.rows:  # the same over a scenario's horizons: the first, as the totals take
            per_scenario.setdefault(r.scenario, r)
        fails = "; ".join(
            f"{scenario_label(k, lang, short=True)} {_life(r)}" for k, r in per_scenario.items()
        )
        rows.append(
            [
                f"{s.name} ({s.asset_id})",
                s.asset_type,
                num(s.distance_km, 1),
                _t(s.basis, lang),
                fails or s.problem or "n/a",
            ]
        )
    return rows


def dependency_section(result: CheckResult, lang: Lang) -> dict[str, Any]:
    """Return the strings of the report's "Dependencies" section in ``lang``.

    Parameters
    ----------
    result : CheckResult
        The check (``dependencies`` may be None: the section says it was not assessed).
    lang : {"en", "zh"}
        Language of the fixed phrases (asset names, notes and the rule are shown as written).

    Returns
    -------
    dict
        ``title``, ``assessed`` (bool), ``not_assessed`` (the reason), ``lead``,
        ``headers``/``suppliers`` (table cells), ``loss_headers``/``loss`` (per scenario),
        ``dependants`` (text or ""), ``notes``, ``source`` and ``rule``.
    """
    section = result.dependencies
    out: dict[str, Any] = {"title": _t("title", lang), "assessed": False}
    if section is None or section.status != "assessed":
        why = _t("no_section", lang) if section is None else section.reason
        out["not_assessed"] = f"{_t('not_assessed', lang)} {why}"
        return out
    dependants = ""
    if result.submission.asset_type == "substation":
        counts = ", ".join(f"{k} {v}" for k, v in section.dependants.items())
        dependants = f"{_t('dependants', lang)} {counts}" if counts else _t("dependants_none", lang)
    out.update(
        assessed=True,
        lead=_t("lead", lang),
        headers=[_t(k, lang) for k in ("supplier", "type", "distance", "basis", "fails")],
        suppliers=_supplier_cells(result, lang),
        loss_title=_t("loss", lang),
        loss_headers=[_t(k, lang) for k in ("scenario", "own", "with")],
        loss=[
            [
                scenario_label(r.scenario, lang, short=True),
                _bounds(r.own_lower, r.own_upper),
                _bounds(r.lower, r.upper),
            ]
            for r in section.service_loss
        ],
        dependants=dependants,
        notes=section.notes,
        source=_t(f"source_{section.source}", lang),
        rule=section.rule,
    )
    return out
