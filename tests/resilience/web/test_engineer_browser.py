"""The engineers' pages in a real browser: Debian's chromium (selenium) against uvicorn on
127.0.0.1 serving ``create_app``'s app on the API tests' small published layers.

An engineer signs in, picks the site by clicking the district map (the script fills lon and
lat and moves the marker), types it exactly, sees the chosen asset type's catalogue
defaults, submits, reads the verdict and the curves, and opens the HTML report; the
screenshots are not blank and no request leaves 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from assets.catalogue import ASSET_TYPES
from resilience.feasibility.store import load_stored_check
from resilience.web.site_map import map_frame

_SPEC = importlib.util.spec_from_file_location(
    "_api_fixtures_browser", Path(__file__).resolve().parents[1] / "api" / "conftest.py"
)
assert _SPEC is not None and _SPEC.loader is not None
api = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(api)

SITE = (121.45, 31.30)  # inside the small layers (the API tests' substation)
#: One CSS pixel of the map is about 1/400 degree at the 1280 px window; a click lands
#: within a pixel of its target, so the picked site is within 0.01 degree of it.
PICK_TOLERANCE_DEG = 0.01


@pytest.fixture(scope="module")
def world(tmp_path_factory):  # noqa: ANN201
    return api.make_world(tmp_path_factory.mktemp("engineer_browser"))


@pytest.fixture
def server(world, browser):  # noqa: ANN001, ANN201
    with browser.serve(world["app"]) as root:
        yield root


def click_map_at(driver, lon: float, lat: float) -> None:  # noqa: ANN001
    """Click the form's map where the map's projection puts (lon, lat)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    svg = driver.find_element(By.CSS_SELECTOR, "svg.site-map[data-pick='1']")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", svg)
    box = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); const v = arguments[0].viewBox.baseVal;"
        "return [r.width, r.height, v.width, v.height];",
        svg,
    )
    x, y = map_frame().xy(lon, lat)
    dx, dy = x * box[0] / box[2] - box[0] / 2, y * box[1] / box[3] - box[1] / 2
    ActionChains(driver).move_to_element_with_offset(svg, round(dx), round(dy)).click().perform()


def marker_at(driver) -> tuple[float, float, str]:  # noqa: ANN001
    from selenium.webdriver.common.by import By

    marker = driver.find_element(By.ID, "site-marker")
    return (
        float(marker.get_attribute("cx")),
        float(marker.get_attribute("cy")),
        marker.get_attribute("visibility") or "",
    )


@pytest.mark.slow
def test_engineer_submits_a_check_from_the_map_and_reads_it(
    server, world, chromium, browser, tmp_path
) -> None:  # noqa: ANN001
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver, shots = chromium, tmp_path / "shots"
    shots.mkdir()
    driver.get(f"{server}/checks/signin")
    driver.find_element(By.NAME, "key").send_keys(world["keys"]["alice"])
    driver.find_element(By.CSS_SELECTOR, "form.signin button").click()
    WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith("/checks"))
    driver.get(f"{server}/checks/new")
    assert marker_at(driver)[2] == "hidden"
    # the asset type's catalogue defaults follow the select (the script fills them in)
    Select(driver.find_element(By.NAME, "asset_type")).select_by_value("hospital")
    life = driver.find_element(By.CSS_SELECTOR, "[data-default-for='design_life_years'] b")
    assert life.text == str(ASSET_TYPES["hospital"].design_life_years)
    assert driver.find_element(By.NAME, "heat_days_standard").get_attribute("placeholder") == "30"
    Select(driver.find_element(By.NAME, "asset_type")).select_by_value("substation")
    life = driver.find_element(By.CSS_SELECTOR, "[data-default-for='design_life_years'] b")
    assert life.text == str(ASSET_TYPES["substation"].design_life_years)
    # a click on the map sets lon and lat and shows the marker there
    click_map_at(driver, *SITE)
    lon = float(driver.find_element(By.NAME, "lon").get_attribute("value"))
    lat = float(driver.find_element(By.NAME, "lat").get_attribute("value"))
    assert lon == pytest.approx(SITE[0], abs=PICK_TOLERANCE_DEG)
    assert lat == pytest.approx(SITE[1], abs=PICK_TOLERANCE_DEG)
    cx, cy, shown = marker_at(driver)
    assert shown == "visible"
    assert (cx, cy) == pytest.approx(map_frame().xy(lon, lat), abs=0.06)  # written to 0.1 px
    assert driver.find_elements(By.CSS_SELECTOR, "rect.layer-domain")
    driver.save_screenshot(str(shots / "form.png"))
    # typing moves the marker too
    for name, value in (("lon", SITE[0]), ("lat", SITE[1])):
        field = driver.find_element(By.NAME, name)
        field.clear()
        field.send_keys(str(value))
    assert marker_at(driver)[:2] == pytest.approx(map_frame().xy(*SITE), abs=0.06)
    driver.find_element(By.NAME, "project_name").send_keys("Pudong substation")
    driver.find_element(By.NAME, "ground_elevation_m").send_keys("4.2")
    driver.find_element(By.NAME, "protection_level_m").send_keys("6.0")
    driver.find_element(By.CSS_SELECTOR, "form.check button[type='submit']").click()
    WebDriverWait(driver, 120).until(lambda d: d.current_url.rsplit("/", 1)[-1].isdigit())
    check_id = int(driver.current_url.rsplit("/", 1)[-1])
    result = load_stored_check(world["engine"], check_id)[0].result
    assert driver.find_element(By.ID, "verdict").text == result.verdict
    assert result.submission.lon == SITE[0] and result.submission.lat == SITE[1]
    figures = driver.find_elements(By.CSS_SELECTOR, "figure.check-figure svg.figure")
    assert len(figures) >= 3
    assert all(f.size["width"] > 200 and f.size["height"] > 100 for f in figures)
    assert marker_at(driver)[2] != "hidden"
    driver.save_screenshot(str(shots / "result.png"))
    driver.execute_script("arguments[0].scrollIntoView();", figures[0])
    driver.save_screenshot(str(shots / "curves.png"))
    driver.find_element(By.ID, "report-html").click()
    WebDriverWait(driver, 60).until(lambda d: d.current_url.endswith("/report.html"))
    assert "Pudong substation" in driver.find_element(By.TAG_NAME, "h1").text
    driver.save_screenshot(str(shots / "report.png"))
    for png in shots.glob("*.png"):
        assert browser.non_white_share(png) > 0.05, f"{png} looks blank"
    urls = browser.requested_urls(driver)
    assert any(u.endswith("/web/static/checks.js") for u in urls)
    outside = browser.outside_loopback(urls)
    assert outside == [], f"requests left 127.0.0.1: {outside}"
