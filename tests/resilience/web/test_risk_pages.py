"""The risk map pages on a real risk table: the refresh's own step on small published layers.

The layers are the feasibility tests' synthetic Gumbel worlds (``make_layers``) plus the
hot-day counts the hospital's heat standard needs, published into a real LayerStore; the
inventory is six assets written as a GeoPackage (a line and a polygon among them); the table
is written by ``flows.steps.assess_risk``, which also publishes it to ``<data_dir>/risk``,
where the app built by ``create_app`` reads it. Expected classes and values are read from
the published table itself, never typed in.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from lxml import etree, html
from shapely.geometry import LineString, Point, Polygon

from flows.steps import assess_risk
from resilience.api.app import create_app
from resilience.geodata.inventory_io import read_inventory, write_inventory
from resilience.settings import Settings
from resilience.storage.layer_store import LayerStore
from resilience.storage.risk_io import write_risk_table
from resilience.web.risk_data import RiskSource
from resilience.web.risk_routes import risk_router
from resilience.web.risk_svg import CLASS_COLOURS
from resilience.web.routes import _environment

TESTS = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


def _make_layers():  # noqa: ANN202 - dict of name to Dataset
    spec = importlib.util.spec_from_file_location(
        "_risk_page_factories", TESTS / "resilience/feasibility/conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    layers = module.make_layers()
    heat = layers["heat"]
    level = heat["txx"].isel(return_period=0, drop=True)  # (scenario, horizon, quantile, grid)
    for threshold in (35, 37, 40):  # a count rising with TXx: 3 days per degC above th - 10
        days = np.clip((level - threshold + 10.0) * 3.0, 0.0, None)
        heat[f"tx_days_above_{threshold}"] = days.assign_attrs(
            units="days", long_name=f"days with tasmax above {threshold} degC", method="test"
        )
    return layers


def _inventory() -> gpd.GeoDataFrame:
    rows = [
        ("hosp-a", "Ruijin Hospital", "瑞金医院", "hospital", 5, 3.2, np.nan, Point(121.47, 31.21)),
        (
            "sub-b",
            "Sijing substation",
            "泗泾变电站",
            "substation",
            4,
            3.0,
            4.5,
            Point(121.25, 31.1),
        ),
        ("metro-c", "Xinzhuang", "莘庄", "metro_station", 4, 4.0, 4.8, Point(121.38, 31.11)),
        ("plant-d", "Yangshupu water plant", "", "water_plant", 3, 2.6, 5.0, Point(121.53, 31.26)),
        (
            "bridge-e",
            "Lupu Bridge",
            "卢浦大桥",
            "bridge",
            4,
            4.5,
            np.nan,
            LineString([(121.46, 31.19), (121.48, 31.20)]),
        ),
        (
            "wall-f",
            "Wusong seawall",
            "",
            "seawall",
            5,
            3.5,
            6.27,
            Polygon([(121.49, 31.38), (121.51, 31.38), (121.51, 31.40), (121.49, 31.40)]),
        ),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "asset_id",
            "name",
            "name_zh",
            "asset_type",
            "criticality",
            "ground_elevation_m",
            "protection_level_m",
            "geometry",
        ],
    )
    frame["owner_agency"] = "test"
    frame["design_life_years"] = 50
    frame["replacement_value"] = 1.0e8
    frame["depends_on"] = [[] for _ in range(len(frame))]
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


@pytest.fixture(scope="module")
def risk_world(tmp_path_factory) -> Iterator[dict]:
    folder = tmp_path_factory.mktemp("risk")
    data = folder / "data"
    store = LayerStore(data / "layers")
    for name, layer in _make_layers().items():
        store.publish(name, layer)
    inventory = write_inventory(_inventory(), folder / "assets.gpkg")
    outputs = assess_risk(data / "layers", inventory, folder / "out", 2025)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    app = create_app(Settings(data_dir=data, database_url=f"sqlite:///{folder / 'web.db'}"))
    with TestClient(app) as client:
        yield {
            "folder": folder,
            "data": data,
            "inventory": inventory,
            "outputs": outputs,
            "client": client,
            "table": gpd.read_file(data / "risk" / "risk_table.gpkg", layer="risk"),
            "client_class": TestClient,
            "app": app,
        }


def _page(client, url: str, status: int = 200):  # noqa: ANN001, ANN202 - TestClient, lxml tree
    response = client.get(url)
    assert response.status_code == status, response.text[:2000]
    return html.fromstring(response.text)


def _selection(table: pd.DataFrame, hazard: str, scenario: str, horizon: str) -> pd.DataFrame:
    mask = (table.hazard == hazard) & (table.scenario == scenario) & (table.horizon == horizon)
    return table[mask].set_index("asset_id")


def test_refresh_publishes_the_table_where_the_pages_read_it(risk_world):
    published = risk_world["data"] / "risk"
    out = risk_world["folder"] / "out"
    for name in ("risk_table.parquet", "risk_table.gpkg", "risk_table.csv"):
        assert (published / name).is_file(), name
    pages_read = pd.read_parquet(published / "risk_table.parquet")  # what the pages read
    pd.testing.assert_frame_equal(
        pages_read.drop(columns="geometry"),
        pd.DataFrame(risk_world["table"].drop(columns="geometry")),
        check_dtype=False,
    )
    assert json.loads((published / "risk_table.provenance.json").read_text()) == json.loads(
        (out / "risk_table.provenance.json").read_text()
    )
    assert len(risk_world["table"]) == risk_world["outputs"].rows == 6 * 3 * 2 * 4
    assert Settings(data_dir=risk_world["data"]).risk_dir == published


def test_a_table_over_the_export_limit_is_published_as_geoparquet_only(tmp_path):
    data = tmp_path / "data"
    store = LayerStore(data / "layers")
    for name, layer in _make_layers().items():
        store.publish(name, layer)
    inventory = write_inventory(_inventory(), tmp_path / "assets.gpkg")
    out = assess_risk(data / "layers", inventory, tmp_path / "out", 2025, export_max_rows=10)
    assert out.gpkg is None and out.csv is None and out.rows == 144
    assert out.exports_skipped.startswith("144 rows, over the export limit of 10")
    for folder in (tmp_path / "out", data / "risk"):
        assert sorted(p.name for p in folder.glob("risk_table.*")) == [
            "risk_table.parquet",
            "risk_table.provenance.json",
            "risk_table.step.json",
        ]
    again = assess_risk(data / "layers", inventory, tmp_path / "out", 2025, export_max_rows=10)
    assert again.reused and again.exports_skipped == out.exports_skipped and again.csv is None
    # another limit is another table: written again, with its exports
    full = assess_risk(data / "layers", inventory, tmp_path / "out", 2025)
    assert not full.reused and full.csv is not None and full.csv.is_file()
    assert (data / "risk" / "risk_table.csv").is_file()


def test_map_colours_each_asset_with_the_class_of_its_row(risk_world):
    page = _page(risk_world["client"], "/risk")  # defaults: surge, ssp585, far
    expected = _selection(risk_world["table"], "surge", "ssp585", "far")
    circles = {c.get("data-asset"): c for c in page.iter(f"{SVG}circle", "circle")}
    assert set(circles) == set(expected.index)  # the line and the polygon too (a point each)
    for asset_id, row in expected.iterrows():
        assert circles[asset_id].get("data-class") == row.risk_class
        assert circles[asset_id].get("fill") == CLASS_COLOURS[row.risk_class]
        link = circles[asset_id].getparent()
        assert link.get("href").startswith(f"/risk/assets/{asset_id}?")
    counts = {
        li.get("data-class"): int(li.find(".//strong").text)
        for li in page.xpath("//ul[contains(@class, 'risk-legend')]/li")
    }
    for risk_class, count in expected.risk_class.value_counts().items():
        assert counts[risk_class] == count
    top = [tr.get("data-asset") for tr in page.xpath("//table[@class='risk-top']//tr[@data-asset]")]
    scores = expected.loc[top, "score"].to_numpy()
    assert len(top) == 6 and np.all(np.diff(scores) <= 0)  # highest score first
    assert "Synthetic inputs" in page.text_content()  # the layers' inputs are synthetic


def test_filters_change_the_colouring(risk_world):
    table = risk_world["table"]
    before = _selection(table, "surge", "ssp585", "far").risk_class
    after = _selection(table, "heat", "ssp126", "baseline").risk_class
    changed = [a for a in before.index if before[a] != after[a]]
    assert changed, "the test world should give some asset different classes"
    page = _page(risk_world["client"], "/risk?hazard=heat&scenario=ssp126&horizon=baseline")
    circles = {c.get("data-asset"): c for c in page.iter(f"{SVG}circle", "circle")}
    for asset_id in changed:
        assert circles[asset_id].get("data-class") == after[asset_id]
    selected = page.xpath("//select[@name='hazard']/option[@selected]")
    assert [o.get("value") for o in selected] == ["heat"]


def test_asset_page_shows_every_row_of_the_asset(risk_world):
    table = risk_world["table"]
    rows = table[table.asset_id == "hosp-a"]
    page = _page(risk_world["client"], "/risk/assets/hosp-a?hazard=rain&scenario=ssp585")
    assert "瑞金医院" in page.findtext(".//h1") and "Ruijin Hospital" in page.findtext(".//h1")
    shown = page.xpath("//table[@class='risk-rows']//tr[@data-hazard]")
    assert len(shown) == len(rows) == 3 * 2 * 4
    for tr, row in zip(shown, rows.itertuples(), strict=True):
        assert (tr.get("data-hazard"), tr.get("data-scenario"), tr.get("data-horizon")) == (
            row.hazard,
            row.scenario,
            row.horizon,
        )
        cells = {td.get("data-column"): td.text_content().strip() for td in tr.iter("td")}
        assert cells["risk_class"] == row.risk_class
        assert cells["layer_version"] == row.layer_version == "v0001"
        assert cells["synthetic_input"] == row.synthetic_input
        assert float(cells["score"]) == pytest.approx(row.score, rel=1e-3)  # 4 digits shown
        # the service it loses through its suppliers, published by the refresh (issue 18)
        assert "service_loss_probability" in cells and "upstream_driver" in cells
        if row.service_loss_probability == row.service_loss_probability:  # not NaN
            shown_p = float(cells["service_loss_probability"])
            assert shown_p == pytest.approx(row.service_loss_probability, rel=1e-3, abs=1e-4)
    unknown = _page(risk_world["client"], f"/risk/assets/{quote('no such')}", 404)
    assert "no such" in unknown.text_content()


def test_bad_parameters_answer_422_naming_the_allowed_values(risk_world):
    client = risk_world["client"]
    text = _page(client, "/risk?hazard=wind", 422).text_content()
    assert "hazard" in text and "heat, rain, surge" in text
    text = _page(client, "/risk/layers/heat/txx.svg?scenario=ssp999", 422).text_content()
    assert "scenario" in text and "ssp126" in text and "ssp585" in text
    text = _page(client, "/risk/layers/heat/nothing.svg", 422).text_content()
    assert "variable" in text and "txx" in text
    _page(client, "/risk/layers/nope/txx.svg", 404)
    assert "nope" in _page(client, "/risk/layers?layer=nope", 404).text_content()


def test_layer_svg_draws_every_cell_with_a_colour_bar_in_the_units(risk_world):
    client = risk_world["client"]
    url = "/risk/layers/heat/txx.svg?scenario=ssp585&horizon=far&return_period=100"
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = etree.fromstring(response.content)
    layer = LayerStore(risk_world["data"] / "layers").open("heat")
    expected = layer["txx"].sel(scenario="ssp585", horizon="far", return_period=100.0)
    expected = expected.sel(quantile=0.5)
    cells = root.findall(f".//{SVG}rect[@class='cell']")
    assert len(cells) == layer.sizes["lat"] * layer.sizes["lon"]
    values = np.array([float(c.get("data-value")) for c in cells])
    assert values.max() == pytest.approx(float(expected.max()), rel=1e-3)  # 4 digits written
    bar = root.find(f".//{SVG}g[@class='colour-bar']")
    assert bar is not None and bar.get("data-units") == "degC"
    assert "degC" in "".join(bar.itertext())
    title = root.findtext(f"{SVG}text[@class='map-title']")
    for word in ("heat", "txx", "ssp585", "far", "100", "median"):
        assert word in title
    stations = etree.fromstring(client.get("/risk/layers/surge/still_water_level.svg").content)
    assert len(stations.findall(f".//{SVG}circle[@class='cell']")) == 2


def test_layers_page_lists_layers_and_embeds_the_chosen_map(risk_world):
    page = _page(risk_world["client"], "/risk/layers?layer=rain&variable=rx1day&horizon=mid")
    listed = [a.text for a in page.xpath("//ul[@class='risk-layer-list']//a")]
    assert listed == ["heat", "rain", "surge"]
    (img,) = page.xpath("//figure[@class='layer-figure']/img")
    assert img.get("src").startswith("/risk/layers/rain/rx1day.svg?")
    assert "horizon=mid" in img.get("src")
    assert risk_world["client"].get(img.get("src")).status_code == 200


def _router_client(risk_world, risk_dir: Path):  # noqa: ANN001, ANN202 - TestClient
    app = FastAPI()
    source = RiskSource(risk_dir, risk_world["data"] / "layers")
    app.include_router(risk_router(source, environment=_environment()))
    return risk_world["client_class"](app)


def test_empty_state_says_what_to_run_and_where_it_looks(risk_world, tmp_path):
    page = _page(_router_client(risk_world, tmp_path / "risk"), "/risk")
    text = page.text_content()
    assert "make demo" in text and "resilience refresh" in text
    assert str(tmp_path / "risk") in text


def test_a_replaced_table_is_read_again_without_a_restart(risk_world, tmp_path):
    risk_dir = tmp_path / "risk"
    shutil.copytree(risk_world["data"] / "risk", risk_dir)
    client = _router_client(risk_world, risk_dir)
    url = "/risk?hazard=surge&scenario=ssp585&horizon=far"
    first = _page(client, url).xpath("//circle[@data-asset='sub-b']")[0].get("data-class")
    table = pd.DataFrame(risk_world["table"].drop(columns="geometry"))
    new_class = "low" if first != "low" else "very high"
    table.loc[table.asset_id == "sub-b", "risk_class"] = new_class
    write_risk_table(table, read_inventory(risk_world["inventory"]), risk_dir)
    again = _page(client, url).xpath("//circle[@data-asset='sub-b']")[0].get("data-class")
    assert again == new_class


@pytest.mark.slow
def test_risk_map_in_chromium(risk_world, chromium, browser, tmp_path):
    from selenium.webdriver.common.by import By

    with browser.serve(risk_world["app"]) as root:
        chromium.get(f"{root}/risk?hazard=surge&scenario=ssp585&horizon=far")
        circles = chromium.find_elements(By.CSS_SELECTOR, "svg.risk-map circle[data-asset]")
        assert len(circles) == 6
        expected = _selection(risk_world["table"], "surge", "ssp585", "far")
        colour = circles[0].value_of_css_property("fill").replace(" ", "")
        hexed = CLASS_COLOURS[expected.risk_class[circles[0].get_attribute("data-asset")]]
        rgb = "rgb({},{},{})".format(*(int(hexed[i : i + 2], 16) for i in (1, 3, 5)))
        assert colour in {hexed, rgb}
        map_png = tmp_path / "risk_map.png"
        chromium.save_screenshot(str(map_png))
        target = circles[-1].get_attribute("data-asset")
        circles[-1].click()  # the last drawn is on top: nothing covers it
        assert f"/risk/assets/{target}" in chromium.current_url
        assert chromium.find_elements(By.CSS_SELECTOR, "table.risk-rows tr[data-hazard]")
        chromium.get(f"{root}/risk/layers?layer=heat&variable=txx")
        image = chromium.find_element(By.CSS_SELECTOR, "figure.layer-figure img")
        assert chromium.execute_script("return arguments[0].naturalWidth", image) > 0
        layer_png = tmp_path / "risk_layer.png"
        chromium.save_screenshot(str(layer_png))
        outside = browser.outside_loopback(browser.requested_urls(chromium))
    assert not outside, outside
    for png in (map_png, layer_png):
        assert browser.non_white_share(png) > 0.05, png
