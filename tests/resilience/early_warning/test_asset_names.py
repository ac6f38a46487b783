"""Impact alerts name their assets in each text's language: Chinese names in zh-CN texts
(the inventory's optional ``name_zh``), English names in en-US ones, and the English name
when an asset has no Chinese one; every message stays XSD-valid."""

from __future__ import annotations

import re
from datetime import datetime

import geopandas as gpd
import numpy as np
import pytest
from lxml import etree
from shapely.geometry import Point

from resilience.early_warning.cap import CAP_NS, validate_cap
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.lifecycle import issue_alerts
from resilience.early_warning.wording import asset_name_zh
from resilience.storage.database import make_engine

HUANGPU = "310101"
_NS = {"cap": CAP_NS}


def _descriptions(xml: bytes) -> dict[str, str]:
    """Return the description of each ``<info>`` by language (zh-CN, en-US)."""
    root = etree.fromstring(xml)
    return {
        info.findtext("cap:language", "", _NS): info.findtext("cap:description", "", _NS)
        for info in root.findall("cap:info", _NS)
    }


def _flood_huangpu(make_forecast, water_m: float = 6.2):
    """A forecast with the Huangpu at ``water_m`` (m Wusong) at 14:00: over every defence."""
    ds = make_forecast()
    where = {"station": "huangpu_park", "time": ds["time"][6]}
    ds["water_level"].loc[where] = np.float32(water_m)
    return ds


def _issue(decisions, ds, tmp_path) -> list[dict[str, str]]:
    """Issue the decisions' messages; return their descriptions, each message XSD-checked."""
    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    issued = datetime.fromisoformat(ds.attrs["issued"])
    messages = issue_alerts(decisions, engine=engine, out_dir=tmp_path, sender="t@x.cn", now=issued)
    out = []
    for message in messages:
        xml = message.path.read_bytes()
        validate_cap(xml)  # raises if the message broke the CAP 1.2 schema
        out.append(_descriptions(xml))
    return out


def _latin_names(text: str) -> list[str]:
    """Words of Latin letters in a text, asset ids ("metro-0123", "hosp-ruijin") left out."""
    without_ids = re.sub(r"[（(][a-z0-9-]+[，,]", "", text)
    return re.findall(r"[A-Za-z]{3,}(?: [A-Za-z']+)*", without_ids)


def test_metro_stations_in_chinese_in_the_chinese_text(
    make_forecast, all_rules, districts, inventory, idf_layer, tmp_path
):
    ds = _flood_huangpu(make_forecast)
    decisions = evaluate_rules(
        ds, all_rules, districts, assets=inventory, layers={"idf": idf_layer}
    )
    metro = [d for d in decisions if d.hazard == "metro_flooding" and d.area.code == HUANGPU]
    alert = _issue(metro, ds, tmp_path)[0]
    zh, en = alert["zh-CN"], alert["en-US"]
    square = inventory.loc[inventory["asset_id"] == "metro-0123"].iloc[0]
    assert f"{square['name_zh']}站（metro-0123，" in zh  # 人民广场站 (People's Square)
    assert "人民广场站" in zh and "涉及设施" in zh
    assert _latin_names(zh.split("涉及设施")[1]) == []  # no English name left in the list
    assert f"{square['name']} (metro-0123, " in en and "人民广场" not in en


def test_hospitals_in_chinese_in_the_chinese_text(
    make_forecast, all_rules, districts, inventory, idf_layer, tmp_path
):
    """The metro rule pointed at hospitals: Ruijin Hospital (Huangpu) is 瑞金医院."""
    rule = next(r for r in all_rules.rules if r.id == "metro_entrance_flooding")
    assert rule.assets is not None
    hospitals = rule.model_copy(
        update={"assets": rule.assets.model_copy(update={"types": ["hospital"], "where": {}})}
    )
    rules = all_rules.model_copy(update={"rules": [hospitals]})
    ds = _flood_huangpu(make_forecast)
    decisions = evaluate_rules(ds, rules, districts, assets=inventory, layers={"idf": idf_layer})
    huangpu = [d for d in decisions if d.area.code == HUANGPU]
    zh = _issue(huangpu, ds, tmp_path)[0]["zh-CN"]
    assert "瑞金医院（hosp-ruijin，" in zh and "Ruijin" not in zh
    assert _latin_names(zh.split("涉及设施")[1]) == []


def _two_stations(name_zh: list[object] | None) -> gpd.GeoDataFrame:
    """Two underground stations in Huangpu below any defence; ``name_zh`` column optional."""
    columns = {
        "asset_id": ["st-a", "st-b"],
        "name": ["Alpha Road", "Beta Road"],
        "asset_type": "metro_station",
        "owner_agency": "Shanghai Shentong Metro Group",
        "criticality": 3,
        "ground_elevation_m": [3.0, 3.0],
        "protection_level_m": [np.nan, np.nan],
        "design_life_years": 100,
        "replacement_value": 5e8,
        "depends_on": [[], []],
        "station_level": "underground",
    }
    if name_zh is not None:
        columns["name_zh"] = name_zh
    points = [Point(121.475, 31.232), Point(121.485, 31.228)]
    return gpd.GeoDataFrame(columns, geometry=points, crs=4326)


@pytest.mark.parametrize(
    ("name_zh", "expected"),
    [
        (None, ["Alpha Road（st-a，", "Beta Road（st-b，"]),  # no column at all
        (["甲路", ""], ["甲路站（st-a，", "Beta Road（st-b，"]),  # blank: the English name
        (["甲路站", np.nan], ["甲路站（st-a，", "Beta Road（st-b，"]),  # NaN; "站" not doubled
    ],
)
def test_an_asset_without_a_chinese_name_keeps_its_name(
    name_zh, expected, make_forecast, all_rules, districts, idf_layer, tmp_path
):
    ds = _flood_huangpu(make_forecast, water_m=3.6)
    decisions = evaluate_rules(
        ds, all_rules, districts, assets=_two_stations(name_zh), layers={"idf": idf_layer}
    )
    metro = [d for d in decisions if d.hazard == "metro_flooding"]
    alert = _issue(metro, ds, tmp_path)[0]
    for text in expected:
        assert text in alert["zh-CN"]
    assert "Alpha Road (st-a, " in alert["en-US"] and "Beta Road (st-b, " in alert["en-US"]


def test_asset_name_zh_falls_back_and_adds_the_station_suffix():
    assert asset_name_zh("人民广场", "People's Square", "metro_station") == "人民广场站"
    assert asset_name_zh(" 瑞金医院 ", "Ruijin Hospital", "hospital") == "瑞金医院"
    for blank in ("", "  ", None, float("nan")):
        assert asset_name_zh(blank, "Pudong Airport", "airport") == "Pudong Airport"
