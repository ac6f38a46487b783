"""The warnings pages in a real browser: Debian's chromium (selenium) against uvicorn on
127.0.0.1; screenshots saved under the test's folder, and no request leaves the loopback."""

from __future__ import annotations

import shutil

import pytest

AT = "2026-07-20T20:30:00+08:00"


@pytest.fixture
def server(web_app, browser):
    with browser.serve(web_app("2026-12-07T12:00:00+08:00")) as root:
        yield root


@pytest.mark.slow
def test_warnings_and_detail_pages_in_chromium(server, chromium, browser, tmp_path):
    from selenium.webdriver.common.by import By

    driver = chromium
    driver.get(f"{server}/?at={AT.replace('+', '%2B')}")
    assert "2026-07-20 20:30 (北京时间)" in driver.find_element(By.TAG_NAME, "h1").text
    coloured = driver.find_elements(By.CSS_SELECTOR, "path[data-level='orange']")
    assert coloured, "no district coloured orange at the exercise time"
    fill = coloured[0].value_of_css_property("fill")
    assert fill.replace(" ", "") in {"rgb(255,127,0)", "#ff7f00"}
    items = driver.find_elements(By.CSS_SELECTOR, "li.warning a")
    assert len(items) >= 10
    shutil.rmtree(tmp_path / "shots", ignore_errors=True)
    (tmp_path / "shots").mkdir()
    index_png = tmp_path / "shots" / "warnings.png"
    driver.save_screenshot(str(index_png))
    detail_href = next(a.get_attribute("href") for a in items if "暴雨" in a.text)
    driver.get(detail_href)
    zh = driver.find_element(By.CSS_SELECTOR, "article[lang='zh-CN']").text
    en = driver.find_element(By.CSS_SELECTOR, "article[lang='en']").text
    assert "暴雨" in zh and "防御指南" in zh
    assert "Rainstorm" in en and "Instruction" in en
    detail_png = tmp_path / "shots" / "detail.png"
    driver.save_screenshot(str(detail_png))
    for png in (index_png, detail_png):
        assert browser.non_white_share(png) > 0.05, f"{png} looks blank"
    urls = browser.requested_urls(driver)
    assert urls
    outside = browser.outside_loopback(urls)
    assert outside == [], f"requests left 127.0.0.1: {outside}"


def _listed(driver) -> set[str]:
    from selenium.webdriver.common.by import By

    return {a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "li.warning a")}


@pytest.mark.slow
def test_time_slider_reloads_the_page_at_the_chosen_time(server, chromium, browser):
    from datetime import datetime

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium
    driver.get(f"{server}/?at={AT.replace('+', '%2B')}&level=orange")
    slider = driver.find_element(By.ID, "time-slider")
    assert slider.is_displayed(), "the script did not show the slider"
    evening = _listed(driver)
    assert evening, "no orange warning listed on the typhoon evening"
    heat_day = int(datetime.fromisoformat("2026-07-22T12:00:00+08:00").timestamp())
    assert int(slider.get_attribute("min")) < heat_day < int(slider.get_attribute("max"))
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));"
        "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        slider,
        str(heat_day),
    )
    WebDriverWait(driver, 10).until(lambda d: "at=2026-07-22T12%3A00" in d.current_url)
    assert "level=orange" in driver.current_url  # the filters are kept
    h1 = driver.find_element(By.TAG_NAME, "h1").text
    assert "2026-07-22 12:00 (北京时间)" in h1
    assert driver.find_element(By.ID, "at-field").get_attribute("value") == "2026-07-22T12:00"
    assert _listed(driver) != evening  # another set of warnings: the map and list moved on
    # the keyboard: one arrow step is half an hour later
    driver.find_element(By.ID, "time-slider").send_keys(Keys.ARROW_RIGHT)
    WebDriverWait(driver, 10).until(lambda d: "at=2026-07-22T12%3A30" in d.current_url)
    assert "2026-07-22 12:30 (北京时间)" in driver.find_element(By.TAG_NAME, "h1").text
    outside = browser.outside_loopback(browser.requested_urls(driver))
    assert outside == [], f"requests left 127.0.0.1: {outside}"


@pytest.mark.slow
def test_hour_links_and_the_field_work_without_script(server, browser):
    """Script off: the slider stays hidden, the hour links and the time field still work."""
    from selenium.webdriver.common.by import By

    driver = browser.chromium_or_skip()
    try:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
        driver.get(f"{server}/?at={AT.replace('+', '%2B')}")
        assert not driver.find_element(By.ID, "time-slider").is_displayed()
        driver.find_element(By.ID, "next-hour").click()
        h1 = driver.find_element(By.TAG_NAME, "h1").text
        assert "2026-07-20 21:30 (北京时间)" in h1
        assert driver.find_element(By.ID, "at-field").get_attribute("value") == "2026-07-20T21:30"
        driver.find_element(By.ID, "previous-hour").click()
        driver.find_element(By.ID, "previous-hour").click()
        driver.find_element(By.CSS_SELECTOR, "#view-form button[type=submit]").click()
        assert "at=2026-07-20T19%3A30" in driver.current_url  # the field, sent by the form
        assert "2026-07-20 19:30 (北京时间)" in driver.find_element(By.TAG_NAME, "h1").text
    finally:
        driver.quit()
