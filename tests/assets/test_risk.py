import geopandas as gpd
import numpy as np
import pytest
import xarray as xr
from scipy.stats import nbinom
from shapely.geometry import Point

from assets.metrics import (
    consequence_level,
    design_life_probability,
    design_value_for_target,
    expected_annual_damage,
    likelihood_level,
    risk_class,
)
from assets.risk import build_risk_table
from assets.vulnerability import damage_fraction
from hazard_models.layer import SchemaError, horizon_coords

SCENARIOS = ["ssp126", "ssp585"]
MIDS = [2004.5, 2030.5, 2050.5, 2090.5]


def test_design_life_constant_probability_matches_hand():
    p = np.full(4, 0.01)
    got = design_life_probability(p, MIDS, start_year=2025, design_life_years=50)
    assert got == pytest.approx(1 - 0.99**50, rel=1e-12)  # float round-off only


def test_design_life_interpolates_between_horizon_centres():
    # p = 0 at 2030.5 and 0.02 at 2050.5, 0 before: years 2031..2040 get 0.001*(t-2030.5)
    p = np.array([0.0, 0.0, 0.02, 0.02])
    got = design_life_probability(p, MIDS, start_year=2031, design_life_years=10)
    yearly = 0.001 * (np.arange(2031, 2041) - 2030.5)
    assert got == pytest.approx(1 - np.prod(1 - yearly), rel=1e-12)


def test_design_life_vectorises_over_assets_with_different_lives():
    p = np.full((3, 4), 0.05)
    got = design_life_probability(
        p, MIDS, start_year=2025, design_life_years=np.array([1, 10, 100])
    )
    np.testing.assert_allclose(got, 1 - 0.95 ** np.array([1, 10, 100]), rtol=1e-12)


def test_expected_annual_damage_trapezoid_by_hand():
    # p = 0.1, 0.02, 0.01; D = 0, 600, 1000. Trapezoids: 0.08*300 + 0.01*800 = 32; rare tail
    # (Delft-FIAT: damage of the longest period for rarer events) 0.01*1000 = 10 -> 42
    got = expected_annual_damage(np.array([[1000.0, 0.0, 600.0]]), [100, 10, 50])
    assert got[0] == pytest.approx(42.0, rel=1e-12)


def test_likelihood_bands_at_their_edges():
    p = [0.0, 0.00199, 0.002, 0.00999, 0.01, 0.0499, 0.05, 0.2499, 0.25, 1.0, np.nan]
    got = likelihood_level(p)
    np.testing.assert_array_equal(got[:-1], [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    assert np.isnan(got[-1])


def test_class_bands_at_their_edges():
    got = risk_class([1, 4, 5, 9, 10, 16, 17, 25, np.nan])
    assert list(got) == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
        "very high",
        "very high",
        "not assessed",
    ]


def test_consequence_combines_criticality_and_sensitivity():
    np.testing.assert_array_equal(
        consequence_level([1, 3, 5, 5, 1], [1, 2, 3, 1, 3]), [1, 3, 5, 4, 2]
    )


def test_design_value_meets_target():
    loc = np.array([[30.0, 31.0, 32.0, 34.0]])
    params = (loc, np.full_like(loc, 1.5), np.full_like(loc, -0.1))
    x = design_value_for_target(params, MIDS, start_year=2025, design_life_years=50, target=0.1)
    from hazard_models.extremes.gev import exceedance_probability

    p = exceedance_probability(x[:, None], *params)
    prob = design_life_probability(p, MIDS, start_year=2025, design_life_years=50)
    assert prob[0] == pytest.approx(0.1, abs=1e-9)  # bisection converges far below 1e-9


def _exposure(metric, units, loc, scale, dims=("scenario", "horizon"), extra=None):
    shape = (1, 2, 4)
    locs = np.broadcast_to(np.asarray(loc, dtype=float), shape).copy()
    a = {"long_name": "t", "method": "t"}
    data = {
        f"{metric}_gev_loc": (("asset_id", *dims), locs, {**a, "units": units}),
        f"{metric}_gev_scale": (("asset_id", *dims), np.full(shape, scale), {**a, "units": units}),
        f"{metric}_gev_shape": (("asset_id", *dims), np.zeros(shape), {**a, "units": "1"}),
    }
    if extra is not None:
        data[metric] = (
            ("asset_id", *dims, "return_period", "quantile"),
            np.full((*shape, 2, 3), extra),
            {**a, "units": units},
        )
    coords = {
        "asset_id": ["s1"],
        "scenario": SCENARIOS,
        "return_period": [20.0, 100.0],
        "quantile": [0.1, 0.5, 0.9],
        **horizon_coords(),
    }
    return xr.Dataset(data, coords=coords, attrs={"hazard": metric})


def _assets(**overrides):
    row = {
        "asset_id": ["s1"],
        "name": ["Sub"],
        "asset_type": ["substation"],
        "owner_agency": ["grid"],
        "criticality": [4],
        "ground_elevation_m": [4.0],
        "protection_level_m": [5.0],
        "design_life_years": [50],
        "replacement_value": [1e6],
        "depends_on": [[]],
    }
    row.update(overrides)
    return gpd.GeoDataFrame(row, geometry=[Point(121.4, 31.2)], crs="EPSG:4326")


def test_heat_rows_against_hand_gumbel():
    exposure = _exposure("txx", "degC", [36.0, 37.0, 38.0, 40.0], 2.0, extra=41.5)
    table = build_risk_table({"heat": exposure}, _assets())
    assert len(table) == 8  # 1 asset x 1 hazard x 2 scenarios x 4 horizons
    gumbel = 1 - np.exp(-np.exp(-(40.0 - np.array([36, 37, 38, 40])) / 2.0))
    np.testing.assert_allclose(
        table["annual_exceedance_probability"].to_numpy()[:4], gumbel, rtol=1e-12
    )
    assert (table["metric_value"] == 41.5).all() and (table["standard"] == 40.0).all()
    expected = design_life_probability(gumbel, MIDS, start_year=2025, design_life_years=50)
    np.testing.assert_allclose(table["design_life_exceedance_probability"], expected, rtol=1e-12)
    # likelihood from each horizon's annual p (NRR bands: 5-25 % -> 4, > 25 % -> 5);
    # substation criticality 4 + heat sensitivity 3 - 2 = consequence 5
    levels = np.where(gumbel > 0.25, 5, np.where(gumbel > 0.05, 4, 3))
    np.testing.assert_array_equal(table["likelihood"].to_numpy()[:4], levels)
    np.testing.assert_array_equal(table["score"].to_numpy()[:4], levels * 5)
    assert table["expected_annual_damage"].isna().all()


def test_rain_standard_is_baseline_level_at_drainage_period():
    exposure = _exposure("rx1day", "mm/day", [100.0, 105.0, 110.0, 120.0], 20.0)
    table = build_risk_table({"rain": exposure}, _assets(drainage_return_period_years=[50.0]))
    level = 100.0 - 20.0 * np.log(-np.log(1 - 1 / 50))  # Gumbel 50-yr level, Coles eq. 3.4
    assert table["standard"].iloc[0] == pytest.approx(level, rel=1e-12)
    assert table["annual_exceedance_probability"].iloc[0] == pytest.approx(0.02, rel=1e-9)
    assert table["metric"].iloc[0] == "rx1day_50yr_pooled"


def test_surge_damage_depth_and_ead_by_hand():
    exposure = _exposure("still_water_level", "m", 4.0, 0.5, extra=6.0)
    periods = (10, 100, 1000)
    table = build_risk_table({"surge": exposure}, _assets(), return_periods=periods)
    level = 4.0 - 0.5 * np.log(-np.log(1 - 1 / np.array(periods)))  # 5.125, 6.30, 7.45 m
    depth = np.where(level > 5.0, np.maximum(level - 4.0, 0), 0)
    damage = damage_fraction(depth, "industrial") * 1e6
    row = table.iloc[0]
    np.testing.assert_allclose([row[f"damage_rp{t}"] for t in periods], damage, rtol=1e-12)
    assert row["expected_annual_damage"] == pytest.approx(
        expected_annual_damage(damage, periods), rel=1e-12
    )


def test_surge_below_ground_and_below_protection_do_no_damage():
    exposure = _exposure("still_water_level", "m", 4.0, 0.5, extra=5.0)
    high_ground = build_risk_table({"surge": exposure}, _assets(ground_elevation_m=[9.0]))
    assert (high_ground.filter(like="damage_rp") == 0).all().all()
    walled = build_risk_table({"surge": exposure}, _assets(protection_level_m=[20.0]))
    assert (walled.filter(like="damage_rp") == 0).all().all()
    assert walled["annual_exceedance_probability"].max() < 1e-9


def test_without_protection_the_ground_is_the_surge_standard():
    exposure = _exposure("still_water_level", "m", 4.0, 0.5, extra=5.0)
    table = build_risk_table({"surge": exposure}, _assets(protection_level_m=[np.nan]))
    assert (table["standard"] == 4.0).all()  # ground elevation
    # Gumbel(4.0, 0.5): P(level > 4.0 m) = 1 - exp(-1) in the baseline
    assert table["annual_exceedance_probability"].iloc[0] == pytest.approx(1 - np.exp(-1.0))
    assert (table["damage_rp100"] > 0).all()  # no defence: water above 4 m ground floods
    bare = _assets(protection_level_m=[np.nan], ground_elevation_m=[np.nan])
    table = build_risk_table({"surge": exposure}, bare)
    assert table["design_life_exceedance_probability"].isna().all()
    assert (table["risk_class"] == "not assessed").all()


def test_hospital_heat_is_a_count_of_hot_days():
    exposure = _exposure("txx", "degC", [39.0, 40.0, 41.0, 43.0], 1.0, extra=41.5)
    counts = np.broadcast_to(
        np.array([5.0, 10.0, 20.0, 45.0])[None, None, :, None], (1, 2, 4, 3)
    ).copy()
    counts[..., 0] *= 0.8  # quantile spread: the median (index 1) is the one used
    attrs = {"units": "days", "long_name": "days Tmax >= 35 degC", "method": "test"}
    dims = ("asset_id", "scenario", "horizon", "quantile")
    exposure = exposure.assign(tx_days_above_35=(dims, counts, attrs))
    table = build_risk_table({"heat": exposure}, _assets(asset_type=["hospital"]))
    k = 4.0  # assets.hot_days.HOT_DAY_DISPERSION
    expected = nbinom.sf(30, k, k / (k + np.array([5.0, 10.0, 20.0, 45.0])))
    np.testing.assert_allclose(
        table["annual_exceedance_probability"].to_numpy()[:4], expected, rtol=1e-9
    )
    assert (table["standard"] == 30.0).all() and (table["standard_units"] == "days/yr").all()
    assert (table["metric"] == "tx_days_above_35_median").all()
    assert table["metric_value"].iloc[0] == 5.0
    assert table["likelihood"].iloc[0] == 1  # 5 hot days a year: a 30-day plan holds today
    with pytest.raises(SchemaError, match="hot-day assets need \\['tx_days_above_35'\\]"):
        build_risk_table(
            {"heat": exposure.drop_vars("tx_days_above_35")}, _assets(asset_type=["hospital"])
        )


def test_unknown_hazard_and_missing_variable_are_rejected():
    with pytest.raises(SchemaError, match="unknown hazards"):
        build_risk_table({"wind": xr.Dataset()}, _assets())
    exposure = _exposure("txx", "degC", 36.0, 2.0)  # no 'txx' return levels
    with pytest.raises(SchemaError, match="missing"):
        build_risk_table({"heat": exposure}, _assets())


def test_rows_run_by_asset_id_then_hazard_each_keeping_its_scenario_and_horizon_order():
    """Three assets out of order, two hazards: rows sorted as documented, values kept."""
    ids = ["b", "c", "a"]  # inventory order, not sorted

    def exposure(metric, units, base):  # asset k: location and levels raised by 10 k
        locs = [base, base + 1, base + 2, base + 3]
        parts = [
            _exposure(
                metric, units, np.add(locs, 10.0 * k), 2.0, extra=base + 10.0 * k
            ).assign_coords(asset_id=[i])
            for k, i in enumerate(ids)
        ]
        return xr.concat(parts, dim="asset_id", combine_attrs="override")

    one = _assets()
    assets = gpd.GeoDataFrame(
        {col: list(one[col]) * 3 for col in one.columns if col != "geometry"},
        geometry=[Point(121.4 + 0.01 * k, 31.2) for k in range(3)],
        crs="EPSG:4326",
    ).assign(asset_id=ids, name=[i.upper() for i in ids])
    exposures = {"rain": exposure("rx1day", "mm/day", 100.0), "heat": exposure("txx", "degC", 36.0)}
    table = build_risk_table(exposures, assets)
    columns = (table[c] for c in ("asset_id", "hazard", "scenario", "horizon"))
    keys = list(zip(*columns, strict=True))
    horizons = list(exposures["heat"]["horizon"].values)
    expected = [
        (a, h, s, z)
        for a in sorted(ids)
        for h in ("heat", "rain")
        for s in SCENARIOS
        for z in horizons
    ]
    assert keys == expected
    assert table["name"].tolist() == [a.upper() for a, *_ in expected]
    # each row carries its own asset's values: the heat metric is 36 + 10 k for asset k
    heat = table[table["hazard"] == "heat"].drop_duplicates("asset_id").set_index("asset_id")
    assert heat["metric_value"].to_dict() == {"a": 56.0, "b": 36.0, "c": 46.0}


def test_a_probability_equal_to_its_target_meets_it():
    from assets.metrics import exceeds_target

    got = exceeds_target([0.1, 0.1 + 1e-13, 0.1 + 1e-9, np.nan], 0.1)
    np.testing.assert_array_equal(got, [False, False, True, False])
