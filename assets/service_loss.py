"""Service-loss columns of the RiskTable and the expected service at risk.

:func:`add_service_loss` turns each slice of the RiskTable (hazard x scenario x horizon)
into a ``(node, slice)`` array of direct probabilities, runs the cascade of
:mod:`assets.cascade` over the dependency graph (:mod:`assets.dependencies`) and appends
the service-loss probability, its two bounds and the upstream driver to every row;
:func:`service_at_risk` sums them per service type (docs/cascade.md, section 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assets.cascade import (
    CascadeGraph,
    CascadeResult,
    prepare_cascade,
    propagate_service_loss,
)
from assets.dependencies import SERVICE_TYPES
from hazard_models.layer import SchemaError

__all__ = [
    "SERVICE_LOSS_COLUMNS",
    "SLICE_COLUMNS",
    "Basis",
    "Rule",
    "add_service_loss",
    "direct_entries",
    "direct_matrix",
    "loss_columns",
    "service_at_risk",
    "slice_codes",
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


def slice_codes(table: pd.DataFrame, codes: dict[tuple, int]) -> NDArray:
    """Return each row's slice index (hazard, scenario, horizon), numbering new slices.

    Slices are numbered in order of first appearance; ``codes`` (slice -> index) carries
    the numbering from one block of rows to the next and gains the slices first seen here.
    """
    local = table.groupby(list(SLICE_COLUMNS), sort=False).ngroup().to_numpy()
    if not local.size:
        return local
    firsts = table[list(SLICE_COLUMNS)].drop_duplicates()  # ngroup's order (first appearance)
    keys = [tuple(key) for key in firsts.itertuples(index=False)]
    to_global = np.array([codes.setdefault(key, len(codes)) for key in keys], dtype=np.int64)
    return to_global[local]


def direct_entries(
    table: pd.DataFrame,
    prepared: CascadeGraph,
    codes: dict[tuple, int],
    *,
    basis: Basis = "annual",
    nodes: pd.Index | None = None,
) -> tuple[NDArray, NDArray, NDArray]:
    """Return each row's node (in ``prepared.nodes``), slice and direct probability.

    Parameters
    ----------
    table : pandas.DataFrame
        RiskTable rows (all of them, or one block of them).
    prepared : CascadeGraph
        ``prepare_cascade`` of the inventory's dependency graph.
    codes : dict
        Slice numbering shared by the blocks of one table (:func:`slice_codes`).
    basis : {"annual", "design_life"}
        Which probability column is the direct one.
    nodes : pandas.Index, optional
        ``pd.Index(prepared.nodes)``, to reuse across blocks.

    Raises
    ------
    SchemaError
        If a column is missing or a row's asset is not in the graph.
    """
    column = _BASIS_COLUMN[basis]
    missing = [c for c in ("asset_id", *SLICE_COLUMNS, column) if c not in table.columns]
    if missing:
        raise SchemaError(f"risk table: expected columns {missing} for the cascade")
    nodes = pd.Index(prepared.nodes) if nodes is None else nodes
    rows = nodes.get_indexer(table["asset_id"].astype(str))
    if (rows < 0).any():
        unknown = sorted(set(table["asset_id"].astype(str)[rows < 0]))
        raise SchemaError(f"risk table: asset_ids {unknown[:10]} are not in the dependency graph")
    direct = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    return rows, slice_codes(table, codes), direct


def direct_matrix(
    entries: Sequence[tuple[NDArray, NDArray, NDArray]], prepared: CascadeGraph, slices: int
) -> NDArray:
    """Return the ``(node, slice)`` direct probabilities of the rows' :func:`direct_entries`.

    A node without a row in a slice keeps NaN (unknown, which reaches its dependants).
    """
    direct = np.full((prepared.nodes.size, slices), np.nan)
    for rows, codes, values in entries:
        direct[rows, codes] = values
    return direct


def loss_columns(
    rows: NDArray,
    slices: NDArray,
    result: CascadeResult,
    prepared: CascadeGraph,
    *,
    rule: Rule = "dependent",
) -> dict[str, NDArray]:
    """Return :data:`SERVICE_LOSS_COLUMNS` for rows at ``rows`` (nodes) and ``slices``."""
    lower, upper = result.lower[rows, slices], result.upper[rows, slices]
    driver = result.driver[rows, slices]
    named = np.where(driver >= 0, prepared.nodes[np.maximum(driver, 0)], "")
    return {
        "service_loss_probability": lower if rule == "dependent" else upper,
        "service_loss_probability_lower": lower,
        "service_loss_probability_upper": upper,
        "upstream_driver": np.where((driver == rows) | (driver < 0), "", named),
    }


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
        A table too large to hold twice is done in blocks of rows
        (``resilience.geodata.risk_blocks``) with the same functions.

    Raises
    ------
    SchemaError
        If a column is missing or a table asset is not in the graph.
    """
    prepared = prepare_cascade(graph) if prepared is None else prepared
    codes: dict[tuple, int] = {}
    rows, slices, direct = direct_entries(table, prepared, codes, basis=basis)
    result = propagate_service_loss(
        direct_matrix([(rows, slices, direct)], prepared, len(codes)), prepared
    )
    out = table.copy(deep=False)  # new columns only: the table's own are shared, not copied
    for name, values in loss_columns(rows, slices, result, prepared, rule=rule).items():
        out[name] = values
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
