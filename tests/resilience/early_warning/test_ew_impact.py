"""Impact-based rules at their edges: metro entrances and the river, substations and the heat,
rain against the local IDF curve; and the asset set of an alert as its area."""

from __future__ import annotations

import re
from datetime import datetime

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from resilience.early_warning.cap import CapValidationError, validate_cap
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.impact import layer_return_levels, to_return_period
from resilience.early_warning.lifecycle import issue_alerts
from resilience.early_warning.rule_models import LEVELS, LayerLevel
from resilience.storage.database import make_engine

HUANGPU, JINGAN, PUDONG = "310101", "310106", "310115"


def _only(decisions, hazard, area):
    return [d for d in decisions if d.hazard == hazard and d.area.code == area]


def _top(decisions, hazard, area):
    levels = [s.level for d in _only(decisions, hazard, area) for s in d.steps]
    return max(levels, key=LEVELS.index) if levels else None


# ------------------------------------------------------------------ metro entrances


@pytest.mark.parametrize(
    ("water_m", "expected"),
    [
        (5.55, None),  # 0.31 m below the floodwall design level (5.86 m) the stations rely on
        (5.56, "yellow"),  # within 0.3 m
        (5.85, "yellow"),
        (5.86, "red"),  # at the design level: over the wall, at the entrances
        (5.87, "red"),
    ],
)
def test_metro_entrances_behind_the_floodwall(
    water_m, expected, make_forecast, all_rules, districts, inventory, idf_layer
):
    ds = make_forecast()
    ds["water_level"].loc[{"station": "huangpu_park", "time": ds["time"][6]}] = np.float32(water_m)
    decisions = evaluate_rules(
        ds, all_rules, districts, assets=inventory, layers={"idf": idf_layer}
    )
    assert _top(decisions, "metro_flooding", HUANGPU) == expected
    if expected:
        (decision,) = _only(decisions, "metro_flooding", HUANGPU)
        assets = decision.steps[0].assets
        # every underground station of Huangpu district (ground 4.5 m + 0.5 m board < 5.86 m)
        assert len(assets) == 15 and {a.level for a in assets} == {expected}
        assert "metro-0123" in {a.asset_id for a in assets}  # People's Square
        assert decision.scope == "Restricted"
        assert decision.steps[0].recipients == [
            "water_authority",
            "emergency_management",
            "transport",
        ]
        assert decision.steps[0].units == "m above the asset level"
        assert not _only(decisions, "metro_flooding", "310113")  # Baoshan: not in the rule


def _mini_inventory() -> gpd.GeoDataFrame:
    """Three underground stations in Huangpu district: behind the wall, on a high entrance
    (board top 6.1 m above the wall's 5.86 m), and undefended (no protection level)."""
    rows = [
        ("behind_wall", 4.5, 5.86, (121.475, 31.232)),
        ("high_entrance", 5.6, 5.86, (121.480, 31.235)),
        ("undefended", 3.0, np.nan, (121.485, 31.228)),
    ]
    return gpd.GeoDataFrame(
        {
            "asset_id": [r[0] for r in rows],
            "name": [r[0].replace("_", " ") for r in rows],
            "asset_type": "metro_station",
            "owner_agency": "Shanghai Shentong Metro Group",
            "criticality": 3,
            "ground_elevation_m": [r[1] for r in rows],
            "protection_level_m": [r[2] for r in rows],
            "design_life_years": 100,
            "replacement_value": 5e8,
            "depends_on": [[], [], []],
            "station_level": "underground",
        },
        geometry=[Point(*r[3]) for r in rows],
        crs=4326,
    )


@pytest.mark.parametrize(
    ("water_m", "levels"),
    [
        (3.19, {}),
        (3.2, {"undefended": "yellow"}),  # board top 3.5 m, within 0.3 m
        (3.5, {"undefended": "red"}),
        (5.56, {"undefended": "red", "behind_wall": "yellow"}),
        (5.8, {"undefended": "red", "behind_wall": "yellow", "high_entrance": "yellow"}),
        (6.1, {"undefended": "red", "behind_wall": "red", "high_entrance": "red"}),
    ],
)
def test_asset_level_is_the_board_top_or_the_defence_whichever_is_higher(
    water_m, levels, make_forecast, all_rules, districts, idf_layer
):
    ds = make_forecast()
    ds["water_level"].loc[{"station": "huangpu_park", "time": ds["time"][6]}] = np.float32(water_m)
    decisions = evaluate_rules(
        ds, all_rules, districts, assets=_mini_inventory(), layers={"idf": idf_layer}
    )
    got = {a.asset_id: a.level for d in decisions for s in d.steps for a in s.assets}
    assert got == levels


def test_a_growing_asset_set_is_an_update_announced_ahead(
    make_forecast, all_rules, districts, tmp_path, idf_layer
):
    """Red in Huangpu all along, but two more stations flood at 15:00: a new area."""
    ds = make_forecast()
    huangpu = {"station": "huangpu_park"}
    ds["water_level"].loc[huangpu] = np.float32(2.0)
    ds["water_level"].loc[{**huangpu, "time": ds["time"][6]}] = np.float32(3.6)  # 14:00
    ds["water_level"].loc[{**huangpu, "time": ds["time"][7]}] = np.float32(6.2)  # 15:00
    decisions = evaluate_rules(
        ds, all_rules, districts, assets=_mini_inventory(), layers={"idf": idf_layer}
    )
    (decision,) = _only(decisions, "metro_flooding", HUANGPU)
    assert [s.level for s in decision.steps] == ["red", "red"]
    assert [len(s.assets) for s in decision.steps] == [1, 3]
    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    messages = issue_alerts(
        [decision], engine=engine, out_dir=tmp_path, sender="t@x.cn", now=ds_issued(ds)
    )
    assert [m.msg_type for m in messages] == ["Alert", "Update", "Cancel"]
    assert messages[1].sent == ds_issued(ds)  # new assets: announced within the lead time
    xml = messages[1].path.read_bytes()
    assert xml.count(b"<circle>") == 2 * 3  # three stations, in both languages
    assert b"<scope>Restricted</scope>" in xml
    for bad, why in [(b"31.2,121.5 0", "radius not positive"), (b"31.2 0.3", "expected")]:
        broken = re.sub(rb"<circle>[^<]*</circle>", b"<circle>" + bad + b"</circle>", xml, count=1)
        with pytest.raises(CapValidationError, match=f"circle: .*{why}"):
            validate_cap(broken)


def ds_issued(ds) -> datetime:
    return datetime.fromisoformat(ds.attrs["issued"])


def test_missing_inventory_column_is_named(make_forecast, all_rules, districts, idf_layer):
    bare = _mini_inventory().drop(columns="station_level")
    with pytest.raises(ValueError, match=r"needs inventory column 'station_level'"):
        evaluate_rules(
            make_forecast(), all_rules, districts, assets=bare, layers={"idf": idf_layer}
        )


# ------------------------------------------------------------------ substations


@pytest.mark.parametrize(
    ("tmax", "expected"),
    [(38.0, None), (38.01, "yellow"), (40.0, "yellow"), (40.01, "orange")],
)
def test_substation_against_the_transformer_ambient_limit(
    tmax, expected, make_forecast, all_rules, districts, inventory, idf_layer
):
    ds = make_forecast()
    ds["tas"][:, 6] = np.float32(tmax)  # the daily maximum, everywhere
    decisions = evaluate_rules(
        ds, all_rules, districts, assets=inventory, layers={"idf": idf_layer}
    )
    assert _top(decisions, "substation_heat", JINGAN) == expected
    if expected:
        (decision,) = _only(decisions, "substation_heat", JINGAN)
        assert [a.asset_id for a in decision.steps[0].assets] == ["sub-shibo"]
        assert {d.area.code for d in decisions if d.hazard == "substation_heat"} == {
            JINGAN,
            PUDONG,  # Sanlin, Yanggao, Gulu
            "310114",  # Jiading: Huangdu, Xuxing
            "310113",  # Baoshan: Yanghang
            "310117",  # Songjiang: Sijing
            "310120",  # Fengxian: Nanqiao
            "310118",  # Qingpu: Liantang
            "310116",  # Jinshan: Tingwei
        }


# ------------------------------------------------------------------ the local IDF curve


@pytest.mark.parametrize(
    ("period", "level"), [(5, "blue"), (10, "yellow"), (30, "orange"), (50, "red")]
)
def test_three_hour_rain_against_the_local_return_levels(
    period, level, make_forecast, all_rules, districts, idf_layer
):
    today = idf_layer["idf_intensity"].sel(
        scenario="ssp245", horizon="baseline", quantile=0.5, duration=180.0, return_period=period
    )
    depth = float(today.sel(lat=31.2, lon=121.5)) * 3  # mm in 3 h (the formula is uniform)
    below = LEVELS[LEVELS.index(level) - 1] if level != "blue" else None
    layer_rules = all_rules.model_copy(
        update={"rules": [r for r in all_rules.rules if r.id == "rain_above_local_design"]}
    )

    def top(value: float) -> str | None:
        ds = make_forecast()
        ds["pr"][:, 6] = np.float32(value)  # one wet hour: its 3-h total is the value
        decisions = evaluate_rules(ds, layer_rules, districts, layers={"idf": idf_layer})
        return _top(decisions, "local_extreme_rain", HUANGPU)

    assert top(depth - 0.01) == below
    assert top(depth) == level  # exactly on the node: float32 level == float32 value
    assert top(depth + 0.01) == level


def test_return_period_between_nodes_is_log_linear():
    periods = np.array([1.0, 10.0, 100.0])
    levels = np.array([[10.0], [20.0], [40.0]])
    values = np.array([[0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 60.0]], dtype="float64")
    got = to_return_period(values, levels, periods)[0]
    # below the first node: linear to zero; between nodes: 10 ** fraction; above: the last
    # segment's slope (two decades per 20 mm -> one decade per 20 mm)
    expected = [0.0, 0.5, 1.0, 10**0.5, 10.0, 10**1.5, 100.0, 1000.0]
    np.testing.assert_allclose(got, expected, rtol=1e-12)  # closed form, float64
    assert got[2] == 1.0 and got[4] == 10.0 and got[6] == 100.0  # exact at the nodes


def test_layer_cells_off_the_grid_give_no_level(idf_layer):
    ref = LayerLevel(
        layer="idf",
        variable="idf_intensity",
        select={"scenario": "ssp245", "horizon": "baseline", "quantile": 0.5},
    )
    lat, lon = np.array([31.2, 35.0]), np.array([121.5])
    periods, levels = layer_return_levels(idf_layer, ref, window_h=3, grid=(lat, lon), rule_id="r")
    assert periods.tolist() == [1, 2, 3, 5, 10, 20, 30, 50, 100]
    assert np.isfinite(levels[:, 0]).all() and np.isnan(levels[:, 1]).all()  # 35 N is far off
    with pytest.raises(ValueError, match=r"rule 'r': layer 'idf': cannot select .*duration 420"):
        layer_return_levels(idf_layer, ref, window_h=7, grid=(lat, lon), rule_id="r")
    with pytest.raises(ValueError, match=r"layer 'idf': no variable 'rx1day'"):
        layer_return_levels(
            idf_layer, ref.model_copy(update={"variable": "rx1day"}), window_h=3,
            grid=(lat, lon), rule_id="r",
        )  # fmt: skip


def test_rules_needing_absent_inputs_are_named(make_forecast, all_rules, districts):
    with pytest.raises(ValueError, match=r"rule 'metro_entrance_flooding': needs an asset"):
        evaluate_rules(make_forecast(), all_rules, districts)
    no_assets = all_rules.model_copy(
        update={"rules": [r for r in all_rules.rules if r.assets is None]}
    )
    with pytest.raises(ValueError, match=r"rule 'rain_above_local_design': needs hazard layer"):
        evaluate_rules(make_forecast(), no_assets, districts)
