"""Service-loss columns of the RiskTable and the expected service at risk.

:func:`add_service_loss` turns each slice of the RiskTable (hazard x scenario x horizon)
into a ``(node, slice)`` array of direct probabilities, runs the cascade of
:mod:`assets.cascade` over the dependency graph (:mod:`assets.dependencies`) and appends
the service-loss probability, its two bounds and the upstream driver to every row;
:func:`service_at_risk` sums them per service type (docs/cascade.md, section 2).
"""

from __future__ import annotations

from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assets.cascade import CascadeGraph, prepare_cascade, propagate_service_loss
from assets.dependencies import SERVICE_TYPES
from hazard_models.layer import SchemaError

__all__ = [
    "SERVICE_LOSS_COLUMNS",
    "SLICE_COLUMNS",
    "Basis",
    "Rule",
    "add_service_loss",
    "service_at_risk",
]

#: Which bound is the headline ``service_loss_probability`` (docs/cascade.md).
Rule = Literal["dependent", "independent"]
#: Which RiskTable probability is the direct one.
Basis = Literal["annual", "design_life"]
#: Columns added to the RiskTable by :func:`add_service_loss` (none renamed).
SERVICE_LOSS_COLUMNS: tuple[str, ...] = (
    "service_loss_probability",
    "service_loss_probability_lower",
    "service_loss_probability_upper",
    "upstream_driver",
)
#: A slice of the RiskTable: the rows sharing one climate and hazard.
SLICE_COLUMNS: tuple[str, ...] = ("hazard", "scenario", "horizon")
_BASIS_COLUMN = {
    "annual": "annual_exceedance_probability",
    "design_life": "design_life_exceedance_probability",
}


def _direct_matrix(
    table: pd.DataFrame, prepared: CascadeGraph, column: str
) -> tuple[NDArray, NDArray, NDArray]:
    """Return the (node, slice) direct probabilities and each row's node and slice index."""
    rows = pd.Index(prepared.nodes).get_indexer(table["asset_id"].astype(str))
    if (rows < 0).any():
        unknown = sorted(set(table["asset_id"].astype(str)[rows < 0]))
        raise SchemaError(f"risk table: asset_ids {unknown[:10]} are not in the dependency graph")
    slices = table.groupby(list(SLICE_COLUMNS), sort=False).ngroup().to_numpy()
    count = int(slices.max()) + 1 if slices.size else 0
    direct = np.full((prepared.nodes.size, count), np.nan)
    direct[rows, slices] = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    return direct, rows, slices


def add_service_loss(
    table: pd.DataFrame,
    graph: nx.DiGraph,
    *,
    rule: Rule = "dependent",
    basis: Basis = "annual",
    prepared: CascadeGraph | None = None,
) -> pd.DataFrame:
    """Add service-loss columns to a RiskTable, per hazard, scenario and horizon.

    Parameters
    ----------
    table : pandas.DataFrame
        RiskTable (``assets.risk.build_risk_table``): ``asset_id``, ``hazard``,
        ``scenario``, ``horizon`` and the probability column of ``basis``.
    graph : networkx.DiGraph
        Dependency graph (``assets.dependencies.build_dependency_graph``) holding every
        ``asset_id`` of the table; a node without a row in a slice has direct p NaN, which
        reaches its dependants (unknown, never silently 0).
    rule : {"dependent", "independent"}
        Which bound is ``service_loss_probability`` (``assets.cascade`` notes; default
        dependent: full dependence within one event footprint).
    basis : {"annual", "design_life"}
        Direct probability used: ``annual_exceedance_probability`` (per year, the default)
        or ``design_life_exceedance_probability`` (over each asset's own design life, so an
        upstream asset's probability covers its life, not the dependant's).
    prepared : CascadeGraph, optional
        ``prepare_cascade(graph)``, to reuse across calls.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` with :data:`SERVICE_LOSS_COLUMNS` added (existing columns are
        unchanged): the probability under ``rule``, its ``_lower`` (dependent) and
        ``_upper`` (independent) bounds, and ``upstream_driver`` (the upstream asset whose
        direct probability sets the lower bound; ``""`` when it is the asset's own).
        ``attrs["service_loss"]`` records rule, basis and whether the upper bound is exact.

    Raises
    ------
    SchemaError
        If a column is missing or a table asset is not in the graph.
    """
    column = _BASIS_COLUMN[basis]
    missing = [c for c in ("asset_id", *SLICE_COLUMNS, column) if c not in table.columns]
    if missing:
        raise SchemaError(f"risk table: expected columns {missing} for the cascade")
    prepared = prepare_cascade(graph) if prepared is None else prepared
    direct, rows, slices = _direct_matrix(table, prepared, column)
    result = propagate_service_loss(direct, prepared)
    out = table.copy()
    lower, upper = result.lower[rows, slices], result.upper[rows, slices]
    out["service_loss_probability"] = lower if rule == "dependent" else upper
    out["service_loss_probability_lower"] = lower
    out["service_loss_probability_upper"] = upper
    driver = result.driver[rows, slices]
    named = np.where(driver >= 0, prepared.nodes[np.maximum(driver, 0)], "")
    out["upstream_driver"] = np.where((driver == rows) | (driver < 0), "", named)
    out.attrs["service_loss"] = {"rule": rule, "basis": basis, "upper_exact": result.upper_exact}
    return out


def service_at_risk(
    table: pd.DataFrame, *, asset_types: tuple[str, ...] = SERVICE_TYPES
) -> pd.DataFrame:
    """Return the expected number of assets of each type losing service, per slice.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`add_service_loss` (with ``asset_type``).
    asset_types : tuple of str
        Types counted (default metro stations, hospitals, water plants).

    Returns
    -------
    pandas.DataFrame
        One row per hazard x scenario x horizon x asset type: ``assets`` (count),
        ``direct`` (expected number failing by their own hazard, per year on the annual
        basis) and ``lower``/``upper`` (expected number losing service, cascade bounds),
        over the assets whose probability is known; ``unknown`` counts the others (outside
        a layer, or fed by such an asset), left out of the sums, not counted as 0.

    Notes
    -----
    An expected count is the sum of the assets' probabilities (linearity of expectation,
    whatever the dependence between them), so the bounds of the sum are the sums of the
    bounds.
    """
    basis = table.attrs.get("service_loss", {}).get("basis", "annual")
    rows = table[table["asset_type"].isin(asset_types)]
    grouped = rows.groupby([*SLICE_COLUMNS, "asset_type"], sort=True)
    return grouped.agg(
        assets=("asset_id", "nunique"),
        direct=(_BASIS_COLUMN[basis], "sum"),
        lower=("service_loss_probability_lower", "sum"),
        upper=("service_loss_probability_upper", "sum"),
        unknown=("service_loss_probability_lower", lambda p: int(p.isna().sum())),
    ).reset_index()
