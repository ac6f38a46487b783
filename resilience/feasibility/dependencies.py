"""What a checked project depends on, and what would depend on it (issue 18, item 3).

Suppliers are the inventory assets the submission names in ``depends_on`` or, when it names
none, the nearest asset of each type the project needs (``assets.dependencies.SUPPLY_NEEDS``,
the rule of ``resilience.sample.supply``: every type but substations and bridges needs the
nearest substation, hospitals also the nearest water plant). Each supplier's failure
probability comes from its own rows of the published risk table, or, when none is
published, from the check run at its site; its annual probabilities are integrated over the
PROJECT's design life exactly as the project's own (``assets.metrics.design_life_probability``).
Hazards and assets are combined with the two bounds of ``assets.cascade``: full dependence
within one event footprint (``P = max p``, the lower bound) and independence
(``P = 1 - prod(1 - p)``, the upper bound under positive association; Esary, Proschan &
Walkup 1967). A new substation lists the inventory assets whose nearest substation it would
become. The verdict is not changed by any of this (docs/feasibility.md, "Dependencies").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from assets.dependencies import supply_needs
from assets.metrics import design_life_probability
from resilience.feasibility.dependency_models import (
    DependencyAssessment,
    ServiceLossRow,
    Supplier,
    SupplierLossRow,
)
from resilience.feasibility.domain import FeasibilityError
from resilience.feasibility.models import CheckResult, HazardRow, Submission
from resilience.feasibility.report_context import distance_km
from resilience.feasibility.supply_data import SupplyData

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["RULE", "assess_dependencies", "combine_bounds", "supply_needs"]

RULE = (
    "lower bound: full dependence within one event footprint (the same storm, hot summer or "
    "surge hits the project and its suppliers), P = max p; upper bound: independence, "
    "P = 1 - prod(1 - p); over the hazards of each asset and over the project and its "
    "suppliers (assets.cascade, docs/cascade.md). Suppliers' annual probabilities are "
    "integrated over the project's design life, as the project's own."
)
#: Said of a project whose type needs no supply in the data (``supply_needs`` is empty).
_NO_SUPPLY_NOTE = (
    "a substation's or bridge's own supply (the grid above 500 kV, a bridge's needs) is not "
    "in the data: no supplier assessed (the rule of resilience.sample.supply)"
)
#: Types a new asset of these types would supply (counted as its dependants).
_SUPPLIES = "substation"
#: Called with a supplier's Submission when no risk table is published (``run_check``).
CheckSite = Callable[[Submission], CheckResult]


def combine_bounds(probabilities: Sequence[float] | NDArray) -> tuple[float, float]:
    """Return (max p, 1 - prod(1 - p)): the dependent and independent union of events."""
    p = np.asarray(probabilities, dtype=float)
    if p.size == 0:
        return float("nan"), float("nan")
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf: a certain failure gives P = 1
        return float(p.max()), float(-np.expm1(np.log1p(-p).sum()))


def _candidates(assets: pd.DataFrame, need: str) -> pd.DataFrame:
    """Return the assets of type ``need`` that the inventory's assets draw on.

    When the inventory records suppliers of type ``need`` (in the sample, hospitals name the
    drinking-water plants, never the reservoirs or wastewater plants also typed
    ``water_plant``), only those recorded are candidates; otherwise every asset of that type.
    """
    of_type = assets[assets["asset_type"] == need]
    used = {str(i) for ids in assets["depends_on"] if isinstance(ids, list) for i in ids}
    recorded = of_type[of_type["asset_id"].isin(used)]
    return recorded if len(recorded) else of_type


def _pick_suppliers(
    submission: Submission, assets: pd.DataFrame, inventory: str
) -> tuple[list[tuple[pd.Series, str]], list[str]]:
    """Return (inventory row, basis) of every supplier and notes on how they were chosen."""
    index = assets.set_index("asset_id", drop=False)
    if submission.depends_on is not None:
        unknown = [i for i in submission.depends_on if i not in index.index]
        if unknown:
            raise FeasibilityError(
                f"depends_on: asset_ids {unknown[:10]} are not in the inventory {inventory}"
            )
        return [(index.loc[i], "named") for i in submission.depends_on], []
    picked: list[tuple[pd.Series, str]] = []
    notes = [] if supply_needs(submission.asset_type) else [_NO_SUPPLY_NOTE]
    for need in supply_needs(submission.asset_type):
        pool = _candidates(assets, need)
        if pool.empty:
            notes.append(f"no {need} in the inventory: that supply is not assessed")
            continue
        km = distance_km(pool["lon"].to_numpy(float), pool["lat"].to_numpy(float),
                         submission.lon, submission.lat)  # fmt: skip
        picked.append((pool.iloc[int(np.argmin(km))], "assumed"))
        notes.append(f"assumed: the nearest {need} (no depends_on in the submission)")
    return picked, notes


def _risk_rows(
    asset_id: str, risk: pd.DataFrame, layers: dict[str, xr.Dataset], submission: Submission
) -> pd.DataFrame:
    """Return a supplier's (hazard, scenario, horizon, annual, design_life) from the table."""
    ids = risk["asset_id"].to_numpy()  # sorted by open_supply_data
    rows = risk.iloc[np.searchsorted(ids, asset_id) : np.searchsorted(ids, asset_id, "right")]
    if rows.empty:
        raise FeasibilityError(f"{asset_id} has no rows in the published risk table")
    heat = layers["heat"]
    mid = dict(zip(heat["horizon"].values.astype(str),
                   (heat["start"].values + heat["end"].values) / 2.0, strict=True))  # fmt: skip
    unknown = sorted(set(rows["horizon"].astype(str)) - set(mid))
    if unknown:
        raise FeasibilityError(f"risk table horizons {unknown} are not the layers' {sorted(mid)}")
    hazards, scenarios = rows["hazard"].tolist(), rows["scenario"].tolist()
    horizons = rows["horizon"].tolist()
    pairs = list(dict.fromkeys(zip(hazards, scenarios, strict=True)))
    columns = sorted(set(horizons), key=mid.__getitem__)
    annual = np.full((len(pairs), len(columns)), np.nan)  # NaN where a horizon is missing
    row_pair = [pairs.index(pair) for pair in zip(hazards, scenarios, strict=True)]
    annual[row_pair, [columns.index(h) for h in horizons]] = rows[
        "annual_exceedance_probability"
    ].to_numpy(float)
    life = design_life_probability(
        annual,
        [mid[h] for h in columns],
        start_year=submission.start_year,
        design_life_years=int(submission.design_life_years or 1),
    )
    return pd.DataFrame(
        {
            "hazard": hazards,
            "scenario": scenarios,
            "horizon": horizons,
            "annual": annual[row_pair, [columns.index(h) for h in horizons]],
            "design_life": life[row_pair],
        }  # fmt: skip
    )


def _site_submission(row: pd.Series, submission: Submission) -> Submission:
    """Return the submission of a supplier's site: its type and standards, the project's life."""
    fields = {
        "project_name": f"supplier {row['asset_id']}",
        "asset_type": str(row["asset_type"]),
        "lon": float(row["lon"]),
        "lat": float(row["lat"]),
        "start_year": submission.start_year,
        "design_life_years": submission.design_life_years,
    }
    for column in ("ground_elevation_m", "protection_level_m", "criticality",
                   "heat_threshold_degc", "drainage_return_period_years"):  # fmt: skip
        value = pd.to_numeric(pd.Series([row.get(column)]), errors="coerce").iloc[0]
        if pd.notna(value):
            fields[column] = int(value) if column == "criticality" else float(value)
    return Submission.model_validate(fields)


def _hazard_rows(rows: Sequence[HazardRow]) -> pd.DataFrame:
    """Return a check's rows as (hazard, scenario, horizon, annual, design_life)."""
    return pd.DataFrame(
        [
            (
                r.hazard,
                r.scenario,
                r.horizon,
                r.annual_exceedance_probability,
                r.design_life_exceedance_probability,
            )
            for r in rows
        ],  # fmt: skip
        columns=["hazard", "scenario", "horizon", "annual", "design_life"],
        dtype=object,
    ).astype({"annual": float, "design_life": float})


def _loss_rows(frame: pd.DataFrame) -> list[SupplierLossRow]:
    """Combine a supplier's hazards per scenario and horizon (both bounds).

    A few dozen rows: plain Python over the records is faster here than a pandas groupby.
    """
    groups: dict[tuple[str, str], list[tuple[str, float, float]]] = {}
    columns = ["hazard", "scenario", "horizon", "annual", "design_life"]
    for hazard, scenario, horizon, annual, life in frame[columns].itertuples(False, None):
        entry = (str(hazard), float(annual), float(life))
        groups.setdefault((str(scenario), str(horizon)), []).append(entry)
    out = []
    for (scenario, horizon), entries in groups.items():
        known = [(a, d) for _, a, d in entries if np.isfinite(a) and np.isfinite(d)]
        annual_bounds = combine_bounds([a for a, _ in known])  # NaN (None) when none known
        life_bounds = combine_bounds([d for _, d in known])
        out.append(
            SupplierLossRow(
                scenario=scenario,
                horizon=horizon,
                annual_failure_probability_lower=annual_bounds[0],
                annual_failure_probability_upper=annual_bounds[1],
                design_life_failure_probability_lower=life_bounds[0],
                design_life_failure_probability_upper=life_bounds[1],
                hazards_unknown=sorted(
                    {h for h, a, d in entries if not (np.isfinite(a) and np.isfinite(d))}
                ),
            )
        )
    return out


def _supplier(
    row: pd.Series,
    basis: str,
    submission: Submission,
    *,
    data: SupplyData,
    layers: dict[str, xr.Dataset],
    check_site: CheckSite,
) -> Supplier:
    """Return one supplier with its failure probabilities (or the reason they are missing)."""
    km = distance_km(np.array([row["lon"]], float), np.array([row["lat"]], float),
                     submission.lon, submission.lat)  # fmt: skip
    entry = Supplier(
        asset_id=str(row["asset_id"]),
        name=str(row.get("name", "")),
        asset_type=str(row["asset_type"]),
        distance_km=round(float(km[0]), 3),
        basis=basis,  # type: ignore[arg-type]
    )
    try:
        if data.risk is not None:
            frame = _risk_rows(entry.asset_id, data.risk, layers, submission)
        else:
            frame = _hazard_rows(check_site(_site_submission(row, submission)).rows)
    except (FeasibilityError, ValueError) as error:  # outside the layers, invalid standards
        entry.problem = f"{entry.asset_id}: failure probability not assessed ({error})"
        return entry
    entry.rows = _loss_rows(frame)
    return entry


def _service_loss(rows: Sequence[HazardRow], suppliers: list[Supplier]) -> list[ServiceLossRow]:
    """Return the project's own and combined design-life service-loss bounds per scenario."""
    own = _hazard_rows(rows).dropna(subset=["design_life"])
    out = []
    for scenario in dict.fromkeys(r.scenario for r in rows):
        mine = own[own["scenario"] == scenario].drop_duplicates("hazard")["design_life"]
        own_low, own_high = combine_bounds(mine.tolist())
        pairs: list[tuple[float | None, float | None]] = [(own_low, own_high)]
        for supplier in suppliers:
            match = [r for r in supplier.rows if r.scenario == scenario]
            pairs += (
                [
                    (
                        r.design_life_failure_probability_lower,
                        r.design_life_failure_probability_upper,
                    )
                    if not r.hazards_unknown  # a hazard of unknown probability: the union unknown
                    else (None, None)
                    for r in match[:1]
                ]
                or [(None, None)]
            )
        values = np.array([v if v is not None else np.nan for pair in pairs for v in pair])
        known = bool(np.isfinite(values).all())  # an unknown part leaves the union unknown
        low = float(values[0::2].max()) if known else None
        high = combine_bounds(values[1::2])[1] if known else None
        out.append(ServiceLossRow(scenario=scenario, own_lower=own_low, own_upper=own_high,
                                  lower=low, upper=high))  # fmt: skip
    return out


def _dependants(submission: Submission, assets: pd.DataFrame) -> dict[str, int]:
    """Count, by type, the assets whose nearest substation a new one at the site would be.

    Ties go to the project, so a project on the site of an existing substation (a
    replacement) counts the assets that substation supplies today.
    """
    needing = assets[[_SUPPLIES in supply_needs(t) for t in assets["asset_type"]]]
    if needing.empty:
        return {}
    lon, lat = needing["lon"].to_numpy(float), needing["lat"].to_numpy(float)
    new = distance_km(lon, lat, submission.lon, submission.lat)
    existing = assets[assets["asset_type"] == _SUPPLIES]
    current = np.full(lon.size, np.inf)
    for x, y in zip(existing["lon"].to_numpy(float), existing["lat"].to_numpy(float), strict=True):
        current = np.minimum(current, distance_km(lon, lat, x, y))
    counts = needing.loc[new <= current, "asset_type"].value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items())}


def _replacement_note(submission: Submission, assets: pd.DataFrame) -> list[str]:
    """Say when the site is that of an existing substation (within 50 m: a replacement)."""
    existing = assets[assets["asset_type"] == _SUPPLIES]
    km = distance_km(existing["lon"].to_numpy(float), existing["lat"].to_numpy(float),
                     submission.lon, submission.lat)  # fmt: skip
    same = existing["asset_id"][km < 0.05].tolist()
    if not same:
        return []
    return [
        f"the site is that of {', '.join(same)}: the dependants counted are the assets it "
        "supplies today (ties go to the project)"
    ]


def assess_dependencies(
    submission: Submission,
    rows: Sequence[HazardRow],
    layers: dict[str, xr.Dataset],
    *,
    data: SupplyData,
    check_site: CheckSite,
) -> DependencyAssessment:
    """Return the dependencies section of a check.

    Parameters
    ----------
    submission : Submission
        The project (``depends_on``, site, ``start_year``, ``design_life_years``).
    rows : sequence of HazardRow
        The project's own rows (their design-life probabilities, 0-1, per scenario).
    layers : mapping of str to xarray.Dataset
        The layers of the check (``heat``'s ``start``/``end`` give the horizons' years).
    data : SupplyData
        Inventory and risk rows (:func:`resilience.feasibility.supply_data.open_supply_data`).
    check_site : callable
        Runs the check for a supplier's :class:`Submission` (used when ``data.risk`` is None).

    Returns
    -------
    DependencyAssessment
        ``not_assessed`` with the reason when ``data`` has no inventory; otherwise the
        suppliers, the project's service-loss bounds per scenario and, for a substation,
        its dependants by type.

    Raises
    ------
    FeasibilityError
        If ``depends_on`` names an asset_id that is not in the inventory.
    """
    if data.assets is None:
        return DependencyAssessment(status="not_assessed", reason=data.problem, rule=RULE)
    picked, notes = _pick_suppliers(submission, data.assets, data.inventory)
    suppliers = [
        _supplier(row, basis, submission, data=data, layers=layers, check_site=check_site)
        for row, basis in picked
    ]
    notes += [s.problem for s in suppliers if s.problem] + list(data.notes)
    substation = submission.asset_type == _SUPPLIES
    if substation:
        notes += _replacement_note(submission, data.assets)
    return DependencyAssessment(
        status="assessed",
        source="risk_table" if data.risk is not None else "check_at_site",
        inventory=data.inventory,
        inventory_sha256=data.inventory_sha256,
        risk_table_provenance_sha256=data.provenance_sha256,
        rule=RULE,
        notes=notes,
        suppliers=suppliers,
        service_loss=_service_loss(rows, suppliers),
        dependants=_dependants(submission, data.assets) if substation else {},
    )
