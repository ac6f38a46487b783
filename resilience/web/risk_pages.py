"""What the risk map pages show, from a loaded risk table: the selection, counts, top assets.

Pure functions over :attr:`.risk_data.RiskTable.rows` (no I/O): the hazard, scenario and
horizon chosen from the query (defaults ``surge`` / ``ssp585`` / ``far``, else the first
present), each asset's row for that choice, the count per risk class, the highest scores,
one asset's rows, and the marks the map draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode

import numpy as np
import pandas as pd

from assets.risk import RISK_COLUMNS
from assets.service_loss import SERVICE_LOSS_COLUMNS
from resilience.web.layer_view import ParamError
from resilience.web.risk_svg import CLASS_ORDER, AssetMark

__all__ = [
    "ASSET_COLUMNS",
    "COLUMN_LABELS",
    "SELECTORS",
    "asset_rows",
    "asset_url",
    "choose_selection",
    "class_counts",
    "map_marks",
    "selected_rows",
    "selector_options",
    "top_assets",
]

#: The query parameters that choose what the map colours, and their preferred defaults.
SELECTORS: dict[str, str] = {"hazard": "surge", "scenario": "ssp585", "horizon": "far"}
#: The columns of an asset's page, in order (those present in the table are shown).
ASSET_COLUMNS: tuple[str, ...] = (
    *(c for c in RISK_COLUMNS if c not in ("asset_id", "name", "asset_type", "criticality")),
    "likelihood",
    "consequence",
    "score",
    "risk_class",
    *SERVICE_LOSS_COLUMNS,  # lost through suppliers (docs/cascade.md)
    "layer_version",
    "synthetic_input",
)
#: Short headings of those columns on the asset page (the column name is the cell's title).
COLUMN_LABELS = {
    "hazard": "灾种 hazard",
    "scenario": "情景 scenario",
    "horizon": "时段 horizon",
    "metric": "指标 metric",
    "metric_value": "指标值 value",
    "metric_units": "单位 units",
    "standard": "标准 standard",
    "standard_units": "单位 units",
    "annual_exceedance_probability": "年超越概率 annual p",
    "design_life_exceedance_probability": "设计寿命内概率 design-life p",
    "expected_annual_damage": "年期望损失 EAD (CNY)",
    "likelihood": "可能性 likelihood",
    "consequence": "后果 consequence",
    "score": "得分 score",
    "risk_class": "等级 class",
    "service_loss_probability": "服务中断概率 service loss p",
    "service_loss_probability_lower": "下限 lower",
    "service_loss_probability_upper": "上限 upper",
    "upstream_driver": "上游主因 upstream driver",
    "layer_version": "图层版本 layer version",
    "synthetic_input": "合成输入 synthetic",
}
_TOP = 20


def selector_options(rows: pd.DataFrame) -> dict[str, list[str]]:
    """Return the values present for each selector, in the table's order.

    Parameters
    ----------
    rows : pandas.DataFrame
        The risk table's rows.

    Returns
    -------
    dict of str to list of str
        ``hazard``, ``scenario`` and ``horizon`` to their values (first appearance order:
        the table is written baseline, near, mid, far).
    """
    return {name: [str(v) for v in pd.unique(rows[name].astype(str))] for name in SELECTORS}


def choose_selection(rows: pd.DataFrame, query: Mapping[str, str]) -> dict[str, str]:
    """Return the hazard, scenario and horizon to map: the query's, else the defaults.

    Parameters
    ----------
    rows : pandas.DataFrame
        The risk table's rows.
    query : mapping of str to str
        Request query parameters; empty values count as absent.

    Returns
    -------
    dict of str to str
        ``hazard``, ``scenario``, ``horizon``.

    Raises
    ------
    ParamError
        If a given value is not present in the table (names the allowed values).
    """
    options = selector_options(rows)
    chosen = {}
    for name, preferred in SELECTORS.items():
        values = options[name]
        value = query.get(name) or (preferred if preferred in values else values[0])
        if value not in values:
            raise ParamError(name, value, values)
        chosen[name] = value
    return chosen


def selected_rows(rows: pd.DataFrame, chosen: Mapping[str, str]) -> pd.DataFrame:
    """Return one row per asset for the chosen hazard, scenario and horizon."""
    mask = np.ones(len(rows), dtype=bool)
    for name, value in chosen.items():
        mask &= (rows[name].astype(str) == value).to_numpy()
    return rows[mask]


def class_counts(selected: pd.DataFrame) -> list[tuple[str, int]]:
    """Return (risk class, number of assets) for every class, lowest first, then others."""
    counts = selected["risk_class"].astype(str).value_counts()
    known = [(name, int(counts.get(name, 0))) for name in CLASS_ORDER]
    extra = [(str(n), int(c)) for n, c in counts.items() if n not in CLASS_ORDER]
    return known + extra


def top_assets(selected: pd.DataFrame, count: int = _TOP) -> pd.DataFrame:
    """Return the ``count`` highest-scoring rows (ties by asset_id; unscored rows last)."""
    return selected.sort_values(
        ["score", "asset_id"], ascending=[False, True], na_position="last"
    ).head(count)


def asset_rows(rows: pd.DataFrame, asset_id: str) -> pd.DataFrame:
    """Return every row of one asset (all hazards, scenarios, horizons), in table order."""
    return rows[rows["asset_id"] == asset_id]


def asset_url(asset_id: str, chosen: Mapping[str, str]) -> str:
    """Return the link to an asset's page, keeping the map's selection."""
    return f"/risk/assets/{quote(asset_id, safe='')}?{urlencode(dict(chosen))}"


def map_marks(selected: pd.DataFrame, chosen: Mapping[str, str]) -> list[AssetMark]:
    """Return the map's marks, lowest class first so that the highest are drawn on top."""
    rank = {name: k for k, name in enumerate(CLASS_ORDER)}
    order = selected["risk_class"].astype(str).map(lambda c: rank.get(c, -1))
    ordered = selected.assign(_rank=order.to_numpy()).sort_values(["_rank", "asset_id"])
    return [
        AssetMark(
            asset_id=str(row.asset_id),
            lon=float(row.lon),
            lat=float(row.lat),
            risk_class=str(row.risk_class),
            href=asset_url(str(row.asset_id), chosen),
            title=f"{row.name} ({row.asset_id}): {row.risk_class}, score {row.score:g}",
        )
        for row in ordered.itertuples()
    ]
